/**
 * Child process of the relay benchmark: the floor for any relay in Node. A bare `ws` server that
 * pairs connections in arrival order into rooms of two and forwards every binary message to the
 * partner as it is: no parsing, no validation, no log, no engine.io or socket.io framing.
 *
 * `node --import tsx test/bench/raw-ws-relay.ts`; driven by {@link RelayProcess}.
 */
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { serveRelayProcess } from './relay-process.ts';

await serveRelayProcess(async () => {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  /** The connection waiting for a partner, and where to tell it who that is. */
  let waiting: { readonly ws: WebSocket; readonly peer: { partner: WebSocket | null } } | null =
    null;
  let forwarded = 0;
  server.on('connection', (ws) => {
    const peer: { partner: WebSocket | null } = { partner: null };
    if (waiting === null) {
      waiting = { ws, peer };
    } else {
      peer.partner = waiting.ws;
      waiting.peer.partner = ws;
      waiting = null;
    }
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      const partner = peer.partner;
      if (!isBinary || partner === null || partner.readyState !== WebSocket.OPEN) return;
      partner.send(data);
      forwarded++;
    });
    ws.on('close', () => {
      if (waiting?.ws === ws) waiting = null;
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}`,
    forwarded: () => forwarded,
    refused: () => 0,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of server.clients) c.terminate();
        server.close(() => resolve());
      }),
  };
});
