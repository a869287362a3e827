/**
 * The relay's fast path through socket.io, for the traffic that dominates it (every input, to
 * every other member of its room):
 *
 * - in: {@link attachAppHandler} takes each binary websocket message that is an app message
 *   frame (`[TAG_APP, ...payload]`) from the connection's websocket before engine.io sees it and
 *   hands the payload straight to the relay: no engine.io packet and its four events, no
 *   socket.io decoder, packet object, `process.nextTick` and listeners. Every other message
 *   (CONNECT, pongs, anything malformed) goes to engine.io as before;
 * - out: {@link directLink} writes each message as one pre-built frame, `[TAG_APP, ...bytes]`
 *   (exactly what `socket.emit(APP_EVENT, bytes)` would put on the wire), straight to the
 *   connection's websocket when engine.io has nothing queued, skipping socket.io's packet and
 *   encoder and engine.io's packet, write buffer, events and per-write callback.
 *
 * The wire is unchanged: socket.io clients see the same frames in the same order. Engine.io
 * queues packets only while a write of its own is in flight; a message sent then joins that
 * queue, so frames never overtake one another.
 *
 * Both reach into engine.io internals (`Socket.writeBuffer`, the websocket transport's `socket`
 * and its one `message` listener), checked once per connection: {@link DirectLinkError} at
 * connection time if an engine.io upgrade moved them, rather than a silently slower relay.
 */
import type { EventEmitter } from 'node:events';
import type { Socket } from 'socket.io';
import { TAG_APP } from '../protocol/index.ts';
import type { MemberLink } from './room-state.ts';

/** engine.io no longer looks as this module expects. */
export class DirectLinkError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DirectLinkError';
  }
}

/** The parts of a `ws` WebSocket used here. */
interface WebSocketLike extends EventEmitter {
  readonly readyState: number;
  send(data: Buffer): void;
}

type MessageListener = (data: unknown, isBinary: boolean) => void;

/** Receives the payload of an app message frame: one encoded Concord message. */
export type AppMessageHandler = (payload: Uint8Array) => void;

/** The parts of an engine.io socket used here (`writeBuffer` is private in its typings). */
interface EngineSocketInternals {
  readonly readyState: string;
  readonly writeBuffer: readonly unknown[];
  readonly transport: { readonly name: string; readonly socket?: unknown };
  write(data: Buffer): unknown;
}

/** `ws`'s `WebSocket.OPEN`. */
const WS_OPEN = 1;

/** A new buffer holding the app message frame of `bytes`: `[TAG_APP, ...bytes]`. */
export function appFrame(bytes: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(bytes.length + 1);
  frame[0] = TAG_APP;
  frame.set(bytes, 1);
  return frame;
}

/**
 * A link that sends Concord messages (encoded bytes) to `socket`'s client as app message frames,
 * straight to its websocket whenever engine.io has nothing queued (see the module comment).
 * Sending on a closed connection drops the message, as `socket.emit` does.
 * @throws DirectLinkError when the connection is not engine.io over a `ws` websocket
 */
export function directLink(socket: Socket): MemberLink {
  const { conn, ws } = internals(socket);
  return {
    send(bytes: Uint8Array): void {
      if (conn.readyState !== 'open') return;
      const frame = appFrame(bytes);
      if (conn.writeBuffer.length === 0 && ws.readyState === WS_OPEN) ws.send(frame);
      else conn.write(frame);
    },
  };
}

/** Where {@link attachAppHandler} put itself, by websocket, to undo it. */
const attached = new WeakMap<
  WebSocketLike,
  { readonly ours: MessageListener; readonly engine: MessageListener }
>();

/**
 * Hands `socket`'s app message frames (binary websocket messages whose first byte is `TAG_APP`)
 * to `handler` from now on, past engine.io and socket.io; {@link detachAppHandler} undoes it
 * (call it on `disconnect`). The handler gets a view of the message without its tag byte, and
 * should catch its own errors.
 * @throws DirectLinkError when the connection is not engine.io over a `ws` websocket with
 *   exactly one `message` listener (engine.io's), or a handler is attached already
 */
export function attachAppHandler(socket: Socket, handler: AppMessageHandler): void {
  const { conn, ws } = internals(socket);
  const listeners = ws.listeners('message') as MessageListener[];
  if (attached.has(ws) || listeners.length !== 1) {
    throw new DirectLinkError(
      `expected engine.io's one message listener on the websocket, found ${listeners.length}${attached.has(ws) ? ' and a handler attached already' : ''}`,
    );
  }
  const engine = listeners[0];
  const ours: MessageListener = (data, isBinary) => {
    if (isBinary && data instanceof Uint8Array && data[0] === TAG_APP && conn.readyState === 'open')
      handler(data.subarray(1));
    else engine.call(ws, data, isBinary);
  };
  ws.removeListener('message', engine);
  ws.on('message', ours);
  attached.set(ws, { ours, engine });
}

/** Gives `socket`'s messages back to engine.io alone (does nothing when none was attached). */
export function detachAppHandler(socket: Socket): void {
  const ws = (socket.conn as unknown as EngineSocketInternals).transport?.socket as
    | WebSocketLike
    | undefined;
  const a = ws === undefined ? undefined : attached.get(ws);
  if (ws === undefined || a === undefined) return;
  ws.removeListener('message', a.ours);
  ws.on('message', a.engine);
  attached.delete(ws);
}

/** The engine.io socket of `socket` and its `ws` websocket, checked. */
function internals(socket: Socket): { conn: EngineSocketInternals; ws: WebSocketLike } {
  const conn = socket.conn as unknown as EngineSocketInternals;
  const transport = conn.transport;
  const ws = transport?.socket as WebSocketLike | undefined;
  if (
    transport?.name !== 'websocket' ||
    !Array.isArray(conn.writeBuffer) ||
    typeof ws?.send !== 'function' ||
    typeof ws.listeners !== 'function' ||
    typeof ws.readyState !== 'number'
  ) {
    throw new DirectLinkError(
      'the relay needs engine.io over a ws websocket (transport "websocket", a write buffer, a ws socket): has engine.io changed?',
    );
  }
  return { conn, ws };
}
