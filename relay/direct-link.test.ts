import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server, type Socket as ServerSocket } from 'socket.io';
import { io as connect } from 'socket.io-client';
import { afterEach, describe, expect, it } from 'vitest';
import { APP_EVENT, concordParser } from '../protocol/index.ts';
import { attachAppHandler, DirectLinkError, detachAppHandler, directLink } from './direct-link.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A socket.io server on loopback with the given parser, and one connected client. */
async function pair(parser: typeof concordParser | null = concordParser) {
  const http = createServer();
  const server = new Server(http, { transports: ['websocket'], ...(parser ? { parser } : {}) });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  const serverSocket = new Promise<ServerSocket>((resolve) => server.once('connection', resolve));
  const client = connect(url, {
    transports: ['websocket'],
    ...(parser ? { parser } : {}),
    reconnection: false,
  });
  cleanups.push(() => {
    client.close();
  });
  return { server, client, socket: await serverSocket };
}

/** Polls `check` every 5 ms until it holds, up to `ms`. */
async function until(check: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms; // clock-ok: test deadline
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time'); // clock-ok
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('directLink and attachAppHandler over a real socket.io connection', () => {
  it('delivers messages in send order, mixed with socket.emit, through bursts that fill engine.io', async () => {
    const { client, socket } = await pair();
    const link = directLink(socket);
    const received: number[] = [];
    client.on(APP_EVENT, (bytes: ArrayBuffer | Uint8Array) => {
      const b = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
      received.push(b[0] | (b[1] << 8) | (b[2] << 16));
    });
    const n = 3000;
    const message = (i: number) => new Uint8Array([i & 0xff, (i >> 8) & 0xff, i >> 16, 0xab]);
    for (let i = 0; i < n; i++) {
      // Every third message through socket.io and engine.io, the rest straight to the websocket:
      // engine.io queues while its own write is in flight, and nothing may overtake that queue.
      if (i % 3 === 0) socket.emit(APP_EVENT, message(i));
      else link.send(message(i));
      if (i % 500 === 0) await new Promise((r) => setImmediate(r));
    }
    await until(() => received.length === n);
    expect(received).toEqual(Array.from({ length: n }, (_, i) => i));
  });

  it('hands app frames to the handler instead of socket.io listeners, until detached', async () => {
    const { client, socket } = await pair();
    const viaHandler: number[] = [];
    const viaSocketIo: number[] = [];
    socket.on(APP_EVENT, (b: Uint8Array) => viaSocketIo.push(b[0]));
    attachAppHandler(socket, (b) => viaHandler.push(b[0]));
    client.emit(APP_EVENT, new Uint8Array([1]));
    client.emit(APP_EVENT, new Uint8Array([2]));
    await until(() => viaHandler.length === 2);
    detachAppHandler(socket);
    client.emit(APP_EVENT, new Uint8Array([3]));
    await until(() => viaSocketIo.length === 1);
    expect(viaHandler).toEqual([1, 2]);
    expect(viaSocketIo).toEqual([3]);
  });

  it('drops messages once the connection is closed, as socket.emit does', async () => {
    const { socket } = await pair();
    const link = directLink(socket);
    socket.disconnect(true);
    expect(() => link.send(new Uint8Array([1]))).not.toThrow();
  });

  it('leaves every other packet to socket.io while attached, and refuses a second handler', async () => {
    const { client, socket } = await pair();
    const viaHandler: number[] = [];
    const other: unknown[] = [];
    attachAppHandler(socket, (b) => viaHandler.push(b[0]));
    expect(() => attachAppHandler(socket, () => {})).toThrow(DirectLinkError);
    socket.on('other', (x: unknown) => other.push(x));
    client.emit('other', { a: 1 });
    client.emit(APP_EVENT, new Uint8Array([4]));
    await until(() => other.length === 1 && viaHandler.length === 1);
    expect(other).toEqual([{ a: 1 }]);
    expect(viaHandler).toEqual([4]);
  });

  it('refuses a connection that is not engine.io over a websocket', () => {
    const fake = { conn: { transport: { name: 'polling' }, writeBuffer: [] } } as unknown;
    expect(() => directLink(fake as ServerSocket)).toThrow(DirectLinkError);
    expect(() => attachAppHandler(fake as ServerSocket, () => {})).toThrow(DirectLinkError);
  });
});
