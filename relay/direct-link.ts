/**
 * The relay's fast path through socket.io, for the traffic that dominates it (every input, to
 * every other member of its room):
 *
 * - in: {@link attachAppHandler} makes the connection's {@link ConcordDecoder} hand each app
 *   message frame straight to the relay, skipping socket.io's event dispatch (a packet object,
 *   `process.nextTick`, middlewares, listeners);
 * - out: {@link directLink} writes each message as one pre-built frame, `[TAG_APP, ...bytes]`
 *   (exactly what `socket.emit(APP_EVENT, bytes)` would put on the wire), straight to the
 *   connection's websocket when engine.io has nothing queued, skipping socket.io's packet and
 *   encoder and engine.io's packet, write buffer, events and per-write callback.
 *
 * The wire is unchanged: socket.io clients see the same frames in the same order. Engine.io
 * queues packets only while a write of its own is in flight; a message sent then joins that
 * queue, so frames never overtake one another.
 *
 * Both reach into socket.io and engine.io internals (`Client.decoder`, `Socket.writeBuffer`,
 * the websocket transport's `socket`), checked once per connection: {@link DirectLinkError} at
 * connection time if a socket.io upgrade moved them, rather than a silently slower relay.
 */
import type { Socket } from 'socket.io';
import { type AppMessageHandler, ConcordDecoder, TAG_APP } from '../protocol/index.ts';
import type { MemberLink } from './room.ts';

/** socket.io or engine.io no longer look as this module expects. */
export class DirectLinkError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DirectLinkError';
  }
}

/** The parts of a `ws` WebSocket used here. */
interface WebSocketLike {
  readonly readyState: number;
  send(data: Buffer): void;
}

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
  const conn = socket.conn as unknown as EngineSocketInternals;
  const transport = conn.transport;
  const ws = transport?.socket as WebSocketLike | undefined;
  if (
    transport?.name !== 'websocket' ||
    !Array.isArray(conn.writeBuffer) ||
    typeof ws?.send !== 'function' ||
    typeof ws.readyState !== 'number'
  ) {
    throw new DirectLinkError(
      'the relay needs engine.io over a ws websocket (transport "websocket", a write buffer, a ws socket): has socket.io changed?',
    );
  }
  return {
    send(bytes: Uint8Array): void {
      if (conn.readyState !== 'open') return;
      const frame = appFrame(bytes);
      if (conn.writeBuffer.length === 0 && ws.readyState === WS_OPEN) ws.send(frame);
      else conn.write(frame);
    },
  };
}

/**
 * Routes `socket`'s app message frames to `handler` from now on, past socket.io's event
 * dispatch; {@link detachAppHandler} undoes it (call it on `disconnect`).
 * @throws DirectLinkError when the server was not created with Concord's parser
 */
export function attachAppHandler(socket: Socket, handler: AppMessageHandler): void {
  decoderOf(socket).setAppHandler(handler);
}

/** Stops routing `socket`'s app message frames past socket.io (they reach its listeners again). */
export function detachAppHandler(socket: Socket): void {
  decoderOf(socket).setAppHandler(null);
}

function decoderOf(socket: Socket): ConcordDecoder {
  const decoder = (socket.client as unknown as { decoder?: unknown }).decoder;
  if (!(decoder instanceof ConcordDecoder)) {
    throw new DirectLinkError(
      "the connection's socket.io decoder is not Concord's: create the server with { parser: concordParser }",
    );
  }
  return decoder;
}
