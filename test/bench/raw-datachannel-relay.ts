/**
 * Child process of the relay benchmark: the floor for any DataChannel relay in Node. Each bot
 * sends its offer as JSON text on a bare `ws` connection; the relay answers with a
 * node-datachannel PeerConnection (as Concord's relay does: the DTLS server role, the peer's
 * candidates unused), pairs
 * the channels in arrival order into rooms of two, and forwards every binary datagram to the
 * partner's channel as it is: no parsing, no checks, no acknowledgement, no log.
 *
 * The gap between this relay and raw `ws` is what DTLS, SCTP and libdatachannel's threads cost
 * per input; the gap between Concord's WebRTC path and this relay is Concord's own.
 *
 * `node --import tsx test/bench/raw-datachannel-relay.ts`; driven by {@link RelayProcess}.
 */
import type { AddressInfo } from 'node:net';
import nodeDataChannel, { type DataChannel } from 'node-datachannel';
import { WebSocketServer } from 'ws';
import { peerOfferSdp } from '../../relay/datachannel.ts';
import { serveRelayProcess } from './relay-process.ts';

await serveRelayProcess(async () => {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const peers: nodeDataChannel.PeerConnection[] = [];
  /** The channel waiting for a partner, and where to tell it who that is. */
  let waiting: { readonly peer: { partner: DataChannel | null }; readonly dc: DataChannel } | null =
    null;
  let forwarded = 0;
  server.on('connection', (ws) => {
    ws.once('message', (data: Buffer) => {
      const offer = JSON.parse(data.toString()) as { sdp: string; candidates: string[] };
      const pc = new nodeDataChannel.PeerConnection('raw-relay', {
        iceServers: [],
        bindAddress: '127.0.0.1',
      });
      peers.push(pc);
      const candidates: string[] = [];
      pc.onLocalCandidate((c) => candidates.push(c));
      pc.onGatheringStateChange((state) => {
        const local = pc.localDescription();
        if (state === 'complete' && local !== null)
          ws.send(JSON.stringify({ sdp: local.sdp, candidates }));
      });
      pc.onDataChannel((dc) => {
        const peer: { partner: DataChannel | null } = { partner: null };
        const pair = (): void => {
          if (waiting === null) waiting = { peer, dc };
          else {
            peer.partner = waiting.dc;
            waiting.peer.partner = dc;
            waiting = null;
          }
        };
        if (dc.isOpen()) pair();
        else dc.onOpen(pair);
        dc.onMessage((msg) => {
          const partner = peer.partner;
          if (typeof msg === 'string' || partner === null) return;
          try {
            if (partner.sendMessageBinary(msg as Buffer)) forwarded++;
          } catch {
            // The partner's channel closed: nothing to forward to.
          }
        });
      });
      // As Concord's relay: the DTLS server, learning the peer's address from its checks.
      pc.setRemoteDescription(peerOfferSdp(offer.sdp), 'offer');
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}`,
    forwarded: () => forwarded,
    refused: () => 0,
    datagramsOut: () => forwarded,
    close: () =>
      new Promise<void>((resolve) => {
        for (const pc of peers) pc.close();
        nodeDataChannel.cleanup();
        for (const c of server.clients) c.terminate();
        server.close(() => resolve());
      }),
  };
});
