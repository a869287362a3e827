import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { Packr } from 'msgpackr';
import { Server, type Socket as ServerSocket } from 'socket.io';
import { type Socket as ClientSocket, io as connect } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  APP_EVENT,
  ConcordDecoder,
  ConcordEncoder,
  concordParser,
  decodeClientMessage,
  decodeServerMessage,
  encodeClientMessage,
  encodeServerMessage,
  ProtocolError,
  type ServerMessage,
  type SocketIoPacket,
} from './index.ts';
import { TAG_APP, TAG_PACKET } from './socketio-parser.ts';

const packr = new Packr({ useRecords: false });
/** Writes Set, RegExp, Error and typed arrays as msgpackr extensions, as a hostile peer could. */
const exoticPackr = new Packr({ useRecords: false, moreTypes: true });
const withTag = (tag: number, body: Uint8Array) => new Uint8Array([tag, ...body]);

/** Decodes one frame with a fresh decoder; returns the emitted packets. */
function decodeFrame(frame: unknown): SocketIoPacket[] {
  const decoder = new ConcordDecoder();
  const packets: SocketIoPacket[] = [];
  decoder.on('decoded', (p) => packets.push(p));
  decoder.add(frame);
  return packets;
}

function expectRefused(frame: unknown): void {
  let err: unknown;
  try {
    decodeFrame(frame);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(ProtocolError);
  expect((err as ProtocolError).code).toBe('MALFORMED');
}

describe('ConcordEncoder / ConcordDecoder', () => {
  const encoder = new ConcordEncoder();

  it('writes an app message as one frame: the tag and the payload bytes, nothing else', () => {
    const payload = encodeClientMessage({
      kind: 'input',
      frame: 1234,
      input: new Uint8Array([1, 2, 3, 4]),
      currentFrame: 1232,
    });
    const frames = encoder.encode({ type: 2, nsp: '/', data: [APP_EVENT, payload] });
    expect(frames).toHaveLength(1);
    expect(frames[0].length).toBe(1 + payload.length);
    expect(frames[0][0]).toBe(TAG_APP);
    expect(frames[0].subarray(1)).toEqual(payload);
    const [packet] = decodeFrame(frames[0]);
    expect(packet.type).toBe(2);
    expect(packet.nsp).toBe('/');
    expect(packet.id).toBeUndefined();
    expect((packet.data as unknown[])[0]).toBe(APP_EVENT);
    expect(new Uint8Array((packet.data as Uint8Array[])[1])).toEqual(payload);
  });

  it('carries every other packet as one msgpackr frame', () => {
    const packets: SocketIoPacket[] = [
      { type: 0, nsp: '/' },
      { type: 0, nsp: '/', data: { sid: 'abc', pid: 'def' } },
      { type: 0, nsp: '/admin', data: { token: 'x' } },
      { type: 1, nsp: '/' },
      { type: 2, nsp: '/', data: ['hello', { a: [1, 'two', null, true, 2.5] }], id: 7 },
      { type: 2, nsp: '/', data: [APP_EVENT, new Uint8Array([1])], id: 0 }, // with an ack: general path
      { type: 2, nsp: '/chat', data: [APP_EVENT, new Uint8Array([9, 9])] }, // other namespace
      { type: 2, nsp: '/', data: [APP_EVENT, 'not bytes'] },
      { type: 2, nsp: '/', data: [5, 'numeric event'] },
      { type: 3, nsp: '/', data: ['ok'], id: 7 },
      { type: 4, nsp: '/', data: { message: 'not authorized' } },
      { type: 4, nsp: '/', data: 'Invalid namespace' },
    ];
    for (const packet of packets) {
      const frames = encoder.encode({ ...packet, options: { compress: true } } as SocketIoPacket);
      expect(frames).toHaveLength(1);
      expect(frames[0][0]).toBe(TAG_PACKET);
      const decoded = decodeFrame(frames[0]);
      expect(decoded).toHaveLength(1);
      expect(JSON.stringify(decoded[0], (_k, v) => (v instanceof Uint8Array ? [...v] : v))).toBe(
        JSON.stringify(packet, (_k, v) => (v instanceof Uint8Array ? [...v] : v)),
      );
    }
  });

  it('accepts ArrayBuffer and other views of a frame', () => {
    const frame = encoder.encode({
      type: 2,
      nsp: '/',
      data: [APP_EVENT, new Uint8Array([5, 6])],
    })[0];
    const buffer = frame.buffer.slice(frame.byteOffset, frame.byteOffset + frame.length);
    expect(decodeFrame(buffer)).toHaveLength(1);
    expect(decodeFrame(new DataView(buffer))).toHaveLength(1);
    expect(decodeFrame(Buffer.from(frame))).toHaveLength(1);
  });

  it('refuses packets it could not carry faithfully, at the sender', () => {
    const bad: SocketIoPacket[] = [
      { type: 5, nsp: '/', data: ['x'] },
      { type: 2, nsp: 'no-slash', data: ['x'] },
      { type: 2, nsp: '/', data: ['disconnect'] },
      { type: 2, nsp: '/', data: [] },
      { type: 2, nsp: '/', data: ['x', new Date(0)] },
      { type: 2, nsp: '/', data: ['x', new Map()] },
      { type: 2, nsp: '/', data: ['x', 10n] },
      { type: 2, nsp: '/', data: ['x', new Set([1])] },
      { type: 2, nsp: '/', data: ['x'], id: -1 },
      { type: 1, nsp: '/', data: 'x' },
    ];
    for (const packet of bad) {
      expect(() => encoder.encode(packet)).toThrow(ProtocolError);
    }
  });

  it('refuses text frames, empty frames, unknown tags and invalid packets', () => {
    expectRefused('2["m","x"]');
    expectRefused(new Uint8Array(0));
    expectRefused(new Uint8Array([0]));
    expectRefused(new Uint8Array([3, 1, 2]));
    expectRefused(null);
    expectRefused(42);
    expectRefused(withTag(TAG_PACKET, new Uint8Array([0xc1])));
    expectRefused(withTag(TAG_PACKET, new Uint8Array(0)));
    const invalid: unknown[] = [
      [2, '/', ['x']], // not a map
      { type: 9, nsp: '/' },
      { type: 2.5, nsp: '/', data: ['x'] },
      { type: 2, nsp: 'x', data: ['x'] },
      { type: 2, data: ['x'] },
      { type: 2, nsp: '/', data: ['connect'] },
      { type: 2, nsp: '/', data: 'x' },
      { type: 2, nsp: '/', data: ['x'], id: 'one' },
      { type: 2, nsp: '/', data: ['x'], extra: 1 },
      { type: 1, nsp: '/', data: {} },
      { type: 0, nsp: '/', data: 'x' },
      { type: 2, nsp: '/', data: ['x', new Date(0)] },
      { type: 2, nsp: '/', data: ['x', new Set([1])] },
      { type: 2, nsp: '/', data: ['x', new Float32Array(2)] },
      { type: 2, nsp: '/', data: ['x', /re/g] },
      { type: 2, nsp: '/', data: ['x', new Error('boom')] },
    ];
    for (const packet of invalid) expectRefused(withTag(TAG_PACKET, exoticPackr.pack(packet)));
    // Nesting past 32 levels.
    let deep: unknown = 1;
    for (let i = 0; i < 40; i++) deep = [deep];
    expectRefused(withTag(TAG_PACKET, packr.pack({ type: 2, nsp: '/', data: ['x', deep] })));
  });

  it('decodes any bytes to a packet or a ProtocolError, nothing else', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 3 }),
        fc.uint8Array({ maxLength: 200 }),
        (tag, body) => {
          try {
            const packets = decodeFrame(withTag(tag, body));
            expect(packets).toHaveLength(1);
            if (tag === TAG_PACKET) expect(() => encoder.encode(packets[0])).not.toThrow();
          } catch (err) {
            if (!(err instanceof ProtocolError)) throw err;
          }
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('supports on, off and removeListener as socket.io uses them', () => {
    const decoder = new ConcordDecoder();
    const seen: string[] = [];
    const a = () => seen.push('a');
    const b = () => seen.push('b');
    decoder.on('decoded', a).on('decoded', b);
    const frame = withTag(TAG_APP, new Uint8Array([0x91, 0x01]));
    decoder.add(frame);
    decoder.off('decoded', a);
    decoder.add(frame);
    decoder.removeListener('decoded', b);
    decoder.add(frame);
    expect(seen).toEqual(['a', 'b', 'b']);
    decoder.on('decoded', a);
    decoder.off();
    decoder.add(frame);
    decoder.destroy();
    expect(seen).toEqual(['a', 'b', 'b']);
  });
});

// ---------------------------------------------------------------- a real socket.io server and client

/** Resolves with the first `event` of `emitter`, or rejects after `ms`. */
function nextEvent<T>(
  emitter: { once(event: string, listener: (value: T) => void): unknown },
  event: string,
  ms = 2000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} within ${ms} ms`)), ms);
    emitter.once(event, (value: T) => {
      clearTimeout(timer);
      resolve(value);
    });
  });
}

/** An encoder that records the frames it produces. */
class SpyEncoder extends ConcordEncoder {
  static frames: Uint8Array[][] = [];
  override encode(packet: SocketIoPacket): Uint8Array[] {
    const frames = super.encode(packet);
    SpyEncoder.frames.push(frames);
    return frames;
  }
}

describe('concordParser over a real socket.io connection', () => {
  const http = createServer();
  const server = new Server(http, { parser: concordParser, transports: ['websocket'] });
  const clients: ClientSocket[] = [];
  const serverErrors: unknown[] = [];
  /** Raw websocket messages the server received: [isBinary, bytes]. */
  const wsFrames: [boolean, Uint8Array][] = [];
  let url = '';

  beforeAll(async () => {
    server.on('connection', (socket: ServerSocket) => {
      const ws = (socket.conn.transport as unknown as { socket: NodeJS.EventEmitter }).socket;
      ws.on('message', (data: Uint8Array, isBinary: boolean) => wsFrames.push([isBinary, data]));
      socket.on('error', (err) => serverErrors.push(err));
      socket.on(APP_EVENT, (bytes: Uint8Array) => {
        const m = decodeClientMessage(bytes);
        if (m.kind === 'input') {
          socket.emit(APP_EVENT, encodeServerMessage({ ...m, slot: 1 }));
        } else if (m.kind === 'ping') {
          socket.emit(APP_EVENT, encodeServerMessage({ kind: 'pong', id: m.id, sentMs: m.sentMs }));
        }
      });
      socket.on('hello', (payload: unknown, ack: (reply: unknown) => void) =>
        ack({ got: payload }),
      );
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    for (const client of clients) client.close();
    await server.close();
  });

  async function open(parser: unknown = concordParser): Promise<ClientSocket> {
    const client = connect(url, {
      parser,
      transports: ['websocket'],
      forceNew: true,
      reconnection: false,
    });
    clients.push(client);
    await nextEvent(client, 'connect');
    return client;
  }

  it('exchanges app messages both ways, each as one binary frame of 1 + payload bytes', async () => {
    const client = await open({ Encoder: SpyEncoder, Decoder: ConcordDecoder });
    const payload = encodeClientMessage({
      kind: 'input',
      frame: 300,
      input: new Uint8Array([9, 8, 7, 6]),
      currentFrame: 298,
    });
    SpyEncoder.frames = [];
    wsFrames.length = 0;
    const reply = nextEvent<Uint8Array>(client, APP_EVENT);
    client.emit(APP_EVENT, payload);
    const bytes = await reply;
    expect(bytes).toBeInstanceOf(Uint8Array);
    const expected: ServerMessage = {
      kind: 'input',
      slot: 1,
      frame: 300,
      input: new Uint8Array([9, 8, 7, 6]),
      currentFrame: 298,
    };
    expect(decodeServerMessage(bytes)).toEqual(expected);

    // What the client's encoder produced, and what arrived at the server's websocket.
    expect(SpyEncoder.frames).toHaveLength(1);
    expect(SpyEncoder.frames[0]).toHaveLength(1);
    expect(SpyEncoder.frames[0][0].length).toBe(1 + payload.length);
    expect(wsFrames).toHaveLength(1);
    const [isBinary, frame] = wsFrames[0];
    expect(isBinary).toBe(true);
    expect(frame.length).toBe(1 + payload.length);
    expect(frame[0]).toBe(TAG_APP);
    expect(new Uint8Array(frame.subarray(1))).toEqual(payload);

    // Several in a row arrive in order.
    const replies: Uint8Array[] = [];
    const all = new Promise<void>((resolve) =>
      client.on(APP_EVENT, (b: Uint8Array) => {
        replies.push(b);
        if (replies.length === 20) resolve();
      }),
    );
    for (let i = 0; i < 20; i++)
      client.emit(APP_EVENT, encodeClientMessage({ kind: 'ping', id: i, sentMs: i * 1.5 }));
    await all;
    expect(replies.map((b) => decodeServerMessage(b))).toEqual(
      Array.from({ length: 20 }, (_, i) => ({ kind: 'pong', id: i, sentMs: i * 1.5 })),
    );
  });

  it('carries other events and acks through the general path', async () => {
    const client = await open();
    const reply = await client
      .timeout(2000)
      .emitWithAck('hello', { n: 1, list: ['a', null, true] });
    expect(reply).toEqual({ got: { n: 1, list: ['a', null, true] } });
  });

  it('closes a client that sends garbage, and keeps serving the others', async () => {
    const good = await open();
    const garbage: unknown[] = [
      new Uint8Array([0xff, 0x00]),
      'not a binary frame',
      withTag(TAG_PACKET, new Uint8Array([0xc1])),
      withTag(TAG_PACKET, packr.pack({ type: 2, nsp: '/', data: ['x'], evil: true })),
      new Uint8Array(0),
    ];
    for (const frame of garbage) {
      const bad = await open();
      const errorsBefore = serverErrors.length;
      const closed = nextEvent<string>(bad, 'disconnect');
      (bad.io.engine as unknown as { write(data: unknown): void }).write(frame);
      expect(await closed).toBe('transport close');
      expect(serverErrors.length).toBe(errorsBefore + 1);
      const err = serverErrors[serverErrors.length - 1];
      expect(err).toBeInstanceOf(ProtocolError);
      expect((err as ProtocolError).code).toBe('MALFORMED');
    }
    const reply = nextEvent<Uint8Array>(good, APP_EVENT);
    good.emit(APP_EVENT, encodeClientMessage({ kind: 'ping', id: 99, sentMs: 5 }));
    expect(decodeServerMessage(await reply)).toEqual({ kind: 'pong', id: 99, sentMs: 5 });
  });
});
