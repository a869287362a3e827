/**
 * Inputs over a real DataChannel on loopback, through a seeded impaired datagram link (5% loss,
 * duplication and reorder each way): the relay side reconstructs every input exactly once, in
 * frame order, from the peer's redundant datagrams.
 */
import { RTCPeerConnection as PolyfillPeerConnection } from 'node-datachannel/polyfill';
import { afterAll, expect, it } from 'vitest';
import { ImpairedLink, type LinkImpairment, RealClock } from '../client/net/index.ts';
import { PeerDataChannel } from '../client/transport/datachannel.ts';
import { InputReceiver, RedundantInputSender } from '../client/transport/redundant-inputs.ts';
import { checkDataChannelSignal } from '../protocol/datachannel-signal.ts';
import {
  decodeClientDatagram,
  decodeServerDatagram,
  encodeClientDatagram,
  encodeServerDatagram,
} from '../protocol/datagram.ts';
import { DataChannelEndpoint, shutdownDataChannels } from '../relay/datachannel.ts';

const FRAMES = 600;
const IMPAIRMENT: LinkImpairment = {
  ordered: false,
  latencyMs: 4,
  jitterMs: 3,
  lossPct: 5,
  duplicatePct: 5,
  reorderPct: 5,
  reorderDelayMs: 10,
};
const input = (f: number) => new Uint8Array([f & 0xff, (f >> 8) & 0xff, 0xa5, f % 7]);

afterAll(() => shutdownDataChannels());

it('every input crosses an impaired DataChannel exactly once, in frame order', async () => {
  const clock = new RealClock();
  const receiver = new InputReceiver(0);
  const got: number[] = [];
  const session = { slot: 0 };
  let relayOut: ImpairedLink<Uint8Array> | undefined;
  const relay = new DataChannelEndpoint<typeof session>({
    packet: (s, bytes) => {
      expect(s).toBe(session);
      const d = decodeClientDatagram(bytes);
      for (const r of receiver.receive(d.startFrame, d.inputs)) {
        expect(r.input).toEqual(input(r.frame));
        got.push(r.frame);
      }
      relayOut?.send(encodeServerDatagram({ kind: 'inputs', ack: receiver.ack, runs: [] }));
    },
  });
  relayOut = new ImpairedLink<Uint8Array>({
    clock,
    impairment: IMPAIRMENT,
    seed: 2,
    deliver: (bytes) => relay.send(session, bytes),
  });
  const peer = await PeerDataChannel.create({
    RTCPeerConnection: PolyfillPeerConnection as unknown as typeof RTCPeerConnection,
    configuration: { iceServers: [], bindAddress: '127.0.0.1' } as RTCConfiguration,
  });
  const peerOut = new ImpairedLink<Uint8Array>({
    clock,
    impairment: IMPAIRMENT,
    seed: 1,
    deliver: (bytes) => peer.send(bytes),
  });
  const sender = new RedundantInputSender(0);
  peer.onPacket((bytes) => sender.ack(decodeServerDatagram(bytes).ack));
  let timer: ReturnType<typeof setInterval> | undefined;
  try {
    await peer.accept(checkDataChannelSignal(await relay.answer(session, peer.offer), 'a'));
    let sent = 0;
    await new Promise<void>((resolve, reject) => {
      const deadline = Date.now() + 30_000;
      timer = setInterval(() => {
        if (receiver.ack === FRAMES - 1) return resolve();
        if (Date.now() > deadline) return reject(new Error(`stuck at ack ${receiver.ack}`));
        if (sender.nextFrame < FRAMES && sender.canPush()) {
          sender.push(sender.nextFrame, input(sender.nextFrame));
        }
        peerOut.send(encodeClientDatagram(sender.datagram(sender.nextFrame, [])));
        sent++;
      }, 2);
    });
    expect(sent).toBeGreaterThanOrEqual(FRAMES);
    expect(got).toEqual(Array.from({ length: FRAMES }, (_, f) => f));
    expect(receiver.stats().conflicts).toBe(0);
    expect(receiver.stats().duplicates).toBeGreaterThan(0);
    // The impairment did its part: datagrams were lost, duplicated and reordered both ways.
    for (const link of [peerOut, relayOut]) {
      expect(link.stats().dropped).toBeGreaterThan(0);
      expect(link.stats().duplicated).toBeGreaterThan(0);
      expect(link.stats().reordered).toBeGreaterThan(0);
    }
  } finally {
    clearInterval(timer);
    peerOut.close();
    relayOut.close();
    peer.close();
    relay.close();
  }
});
