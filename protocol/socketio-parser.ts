/**
 * A socket.io parser (the `parser` option of socket.io's `Server` and of socket.io-client's
 * `io()`) that sends every packet as ONE binary websocket frame, never a text frame followed by
 * binary attachments as the default parser does. Modelled on socket.io-msgpack-parser, with a
 * fast path for Concord's own traffic:
 *
 * - an EVENT on namespace `/` whose data is exactly `[APP_EVENT, Uint8Array]` (no ack) is the
 *   frame `[TAG_APP, ...payload]`: one tag byte and the already encoded message, not re-encoded;
 * - any other packet (CONNECT, DISCONNECT, CONNECT_ERROR, other events, acks) is the frame
 *   `[TAG_PACKET, ...msgpackr({ type, nsp, data, id })]`.
 *
 * The decoder refuses text frames, unknown tags and invalid packets by throwing
 * {@link ProtocolError}; socket.io catches that in `Client.ondata` (server) and
 * `Manager.ondata` (client) and closes that one connection.
 */

import { packr, unpackr } from './codec.ts';
import { describeValue, ProtocolError } from './errors.ts';

/** The socket.io event name that carries Concord's encoded messages. */
export const APP_EVENT = 'm';

/** First byte of a frame holding an app message: the rest is the message's bytes. */
export const TAG_APP = 1;
/** First byte of a frame holding any other packet: the rest is msgpackr `{type, nsp, data, id}`. */
export const TAG_PACKET = 2;

/** socket.io packet types this parser carries (the BINARY_* types of the default parser never occur). */
const CONNECT = 0;
const DISCONNECT = 1;
const EVENT = 2;
const ACK = 3;
const CONNECT_ERROR = 4;

/** Event names socket.io reserves (as in socket.io-parser). */
const RESERVED_EVENTS = new Set([
  'connect',
  'connect_error',
  'disconnect',
  'disconnecting',
  'newListener',
  'removeListener',
]);

/** Deepest nesting of packet data accepted (socket.io's own packets nest 2 deep). */
const MAX_DEPTH = 32;

/**
 * A socket.io packet as socket.io hands it to a parser and expects it back: `type` 0..4
 * (CONNECT, DISCONNECT, EVENT, ACK, CONNECT_ERROR), namespace, optional data and ack id.
 * Other properties (socket.io-client adds `options`) are not sent.
 */
export interface SocketIoPacket {
  type: number;
  nsp: string;
  data?: unknown;
  id?: number;
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' &&
  value !== null &&
  (Object.getPrototypeOf(value) === Object.prototype || Object.getPrototypeOf(value) === null);

/**
 * Whether `value` is JSON-like data (null, undefined, booleans, numbers, strings, `Uint8Array`s
 * and `ArrayBuffer`s, arrays and plain objects), at most {@link MAX_DEPTH} deep and `budget` values
 * in all: what the default parser would carry, and nothing msgpackr extensions could add
 * (`Date`, `Set`, `RegExp`, `Error`, typed arrays, BigInt).
 */
function isPlainData(value: unknown, depth: number, budget: { left: number }): boolean {
  if (--budget.left < 0) return false;
  switch (typeof value) {
    case 'string':
    case 'number':
    case 'boolean':
    case 'undefined':
      return true;
    case 'object':
      if (value === null || value instanceof Uint8Array || value instanceof ArrayBuffer)
        return true;
      if (depth >= MAX_DEPTH) return false;
      if (Array.isArray(value)) {
        for (const item of value) if (!isPlainData(item, depth + 1, budget)) return false;
        return true;
      }
      if (isPlainObject(value)) {
        for (const key of Object.keys(value))
          if (!isPlainData(value[key], depth + 1, budget)) return false;
        return true;
      }
      return false;
    default:
      return false;
  }
}

function isDataValid(type: number, data: unknown): boolean {
  switch (type) {
    case CONNECT:
      return data === undefined || isPlainObject(data);
    case DISCONNECT:
      return data === undefined;
    case EVENT:
      return (
        Array.isArray(data) &&
        (typeof data[0] === 'number' ||
          (typeof data[0] === 'string' && !RESERVED_EVENTS.has(data[0])))
      );
    case ACK:
      return Array.isArray(data);
    case CONNECT_ERROR:
      return typeof data === 'string' || isPlainObject(data);
    default:
      return false;
  }
}

/** Throws `MALFORMED` unless `packet` is a packet socket.io could have sent. */
function checkPacket(packet: SocketIoPacket, budget: number): void {
  const { type, nsp, data, id } = packet;
  let problem: string | undefined;
  if (!Number.isInteger(type) || type < CONNECT || type > CONNECT_ERROR)
    problem = `type ${describeValue(type)}`;
  else if (typeof nsp !== 'string' || !nsp.startsWith('/'))
    problem = `namespace ${describeValue(nsp)}`;
  else if (id !== undefined && !(Number.isSafeInteger(id) && id >= 0))
    problem = `ack id ${describeValue(id)}`;
  else if (!isDataValid(type, data))
    problem = `data ${describeValue(data)} for packet type ${type}`;
  else if (!isPlainData(data, 0, { left: budget })) problem = 'data: not JSON-like, or too deep';
  if (problem !== undefined)
    throw new ProtocolError('MALFORMED', `socket.io packet: invalid ${problem}`);
}

function withTag(tag: number, body: Uint8Array): Uint8Array {
  const frame = new Uint8Array(body.length + 1);
  frame[0] = tag;
  frame.set(body, 1);
  return frame;
}

/**
 * Encodes socket.io packets, one binary frame each (see the module comment for the format).
 * socket.io calls `new Encoder()` once per server or client and `encode(packet)` per packet.
 */
export class ConcordEncoder {
  /**
   * @returns a single frame: `[TAG_APP, ...payload]` for an app message, else
   *   `[TAG_PACKET, ...msgpackr packet]`.
   * @throws {@link ProtocolError} `MALFORMED` for a packet the decoder would refuse (e.g. data
   *   holding a `Date` or a `Map`), so that the bad packet fails at its sender.
   */
  encode(packet: SocketIoPacket): Uint8Array[] {
    const data = packet.data;
    if (
      packet.type === EVENT &&
      packet.nsp === '/' &&
      packet.id === undefined &&
      Array.isArray(data) &&
      data.length === 2 &&
      data[0] === APP_EVENT &&
      data[1] instanceof Uint8Array
    ) {
      return [withTag(TAG_APP, data[1])];
    }
    checkPacket(packet, Number.POSITIVE_INFINITY);
    const wire: SocketIoPacket = { type: packet.type, nsp: packet.nsp };
    if (data !== undefined) wire.data = data;
    if (packet.id !== undefined) wire.id = packet.id;
    return [withTag(TAG_PACKET, packr.pack(wire))];
  }
}

type DecodedListener = (packet: SocketIoPacket) => void;

/**
 * Decodes frames from {@link ConcordEncoder} into socket.io packets, emitting each as
 * `'decoded'`. Stateless: every frame is a whole packet. Carries the small emitter API that
 * socket.io uses on a decoder (`on`, `off`, `removeListener`, `emit`).
 */
export class ConcordDecoder {
  #listeners = new Map<string, DecodedListener[]>();

  /**
   * Decodes one frame and emits the packet as `'decoded'`. An app message's payload is a view
   * of `chunk`, not a copy.
   *
   * @param chunk - a binary frame (`Uint8Array`/`Buffer`, `ArrayBuffer` or another
   *   `ArrayBufferView`).
   * @throws {@link ProtocolError} `MALFORMED` for a text frame, an empty frame, an unknown tag,
   *   bytes that are not MessagePack, or a packet that is not valid (wrong type, namespace, ack
   *   id, data shape, extra fields, data that is not JSON-like).
   */
  add(chunk: unknown): void {
    let bytes: Uint8Array;
    if (chunk instanceof Uint8Array) bytes = chunk;
    else if (chunk instanceof ArrayBuffer) bytes = new Uint8Array(chunk);
    else if (ArrayBuffer.isView(chunk))
      bytes = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    else if (typeof chunk === 'string')
      throw new ProtocolError('MALFORMED', 'socket.io frame: text frames are not accepted');
    else
      throw new ProtocolError(
        'MALFORMED',
        `socket.io frame: expected binary data, got ${describeValue(chunk)}`,
      );

    if (bytes.length === 0) throw new ProtocolError('MALFORMED', 'socket.io frame: empty');
    const tag = bytes[0];
    if (tag === TAG_APP) {
      this.emit('decoded', { type: EVENT, nsp: '/', data: [APP_EVENT, bytes.subarray(1)] });
      return;
    }
    if (tag !== TAG_PACKET)
      throw new ProtocolError('MALFORMED', `socket.io frame: unknown tag ${tag}`);
    let decoded: unknown;
    try {
      decoded = unpackr.unpack(bytes.subarray(1));
    } catch {
      throw new ProtocolError('MALFORMED', 'socket.io packet: invalid MessagePack');
    }
    if (!isPlainObject(decoded)) {
      throw new ProtocolError(
        'MALFORMED',
        `socket.io packet: expected a map, got ${describeValue(decoded)}`,
      );
    }
    for (const key of Object.keys(decoded)) {
      if (key !== 'type' && key !== 'nsp' && key !== 'data' && key !== 'id') {
        throw new ProtocolError(
          'MALFORMED',
          `socket.io packet: unknown field ${describeValue(key)}`,
        );
      }
    }
    const packet: SocketIoPacket = { type: decoded.type as number, nsp: decoded.nsp as string };
    if (decoded.data !== undefined) packet.data = decoded.data;
    if (decoded.id !== undefined) packet.id = decoded.id as number;
    // Without shared references every decoded value takes at least one byte.
    checkPacket(packet, bytes.length);
    this.emit('decoded', packet);
  }

  /** Releases nothing: the decoder keeps no partial packet between frames. */
  destroy(): void {}

  /** Adds a listener; socket.io listens to `'decoded'`. */
  on(event: string, listener: DecodedListener): this {
    const list = this.#listeners.get(event);
    if (list === undefined) this.#listeners.set(event, [listener]);
    else list.push(listener);
    return this;
  }

  /** Removes one listener, all listeners of `event`, or (with no argument) all listeners. */
  off(event?: string, listener?: DecodedListener): this {
    if (event === undefined) this.#listeners.clear();
    else if (listener === undefined) this.#listeners.delete(event);
    else {
      const list = this.#listeners.get(event);
      const i = list === undefined ? -1 : list.indexOf(listener);
      if (list !== undefined && i >= 0) list.splice(i, 1);
    }
    return this;
  }

  /** Same as {@link ConcordDecoder.off} (the name socket.io's server uses). */
  removeListener(event?: string, listener?: DecodedListener): this {
    return this.off(event, listener);
  }

  /** Calls the listeners of `event` with `packet`; returns whether there were any. */
  emit(event: string, packet: SocketIoPacket): boolean {
    const list = this.#listeners.get(event);
    if (list === undefined || list.length === 0) return false;
    for (const listener of [...list]) listener(packet);
    return true;
  }
}

/**
 * Concord's socket.io parser: pass it as `parser` to both `new Server(http, { parser:
 * concordParser })` and `io(url, { parser: concordParser })`; the two ends must agree.
 * Send Concord messages with `socket.emit(APP_EVENT, bytes)` and receive them with
 * `socket.on(APP_EVENT, (bytes: Uint8Array) => ...)`.
 */
export const concordParser: {
  readonly Encoder: typeof ConcordEncoder;
  readonly Decoder: typeof ConcordDecoder;
} = Object.freeze({ Encoder: ConcordEncoder, Decoder: ConcordDecoder });
