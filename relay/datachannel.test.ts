import dgram from 'node:dgram';
import type { AddressInfo } from 'node:net';
import nodeDataChannel from 'node-datachannel';
import { RTCPeerConnection as PolyfillPeerConnection } from 'node-datachannel/polyfill';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { PeerDataChannel } from '../client/transport/datachannel.ts';
import { checkDataChannelSignal } from '../protocol/datachannel-signal.ts';
import { ProtocolError } from '../protocol/index.ts';
import { DataChannelEndpoint, peerOfferSdp, shutdownDataChannels } from './datachannel.ts';

/** A stand-in for the relay's socket.io session: the endpoint only compares it by identity. */
interface Session {
  readonly slot: number;
}

/** A Node peer on loopback only. */
const peerOptions = {
  RTCPeerConnection: PolyfillPeerConnection as unknown as typeof RTCPeerConnection,
  configuration: { iceServers: [], bindAddress: '127.0.0.1' } as RTCConfiguration,
  openTimeoutMs: 5000,
};

async function until(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function recorder() {
  const log: string[] = [];
  const packets: [Session, number[]][] = [];
  return {
    log,
    packets,
    events: {
      packet: (s: Session, b: Uint8Array) => packets.push([s, [...b]]),
      open: (s: Session) => log.push(`open ${s.slot}`),
      close: (s: Session, reason: string) => log.push(`close ${s.slot} ${reason}`),
    },
  };
}

const endpoints: DataChannelEndpoint<Session>[] = [];
const peers: PeerDataChannel[] = [];
function endpoint(events: ReturnType<typeof recorder>['events'], options = {}) {
  const e = new DataChannelEndpoint<Session>(events, options);
  endpoints.push(e);
  return e;
}
async function peer() {
  const p = await PeerDataChannel.create(peerOptions);
  peers.push(p);
  return p;
}
async function connect(e: DataChannelEndpoint<Session>, session: Session) {
  const p = await peer();
  const answer = checkDataChannelSignal(await e.answer(session, p.offer), 'rtcAnswer');
  await p.accept(answer);
  return p;
}

afterEach(() => {
  for (const p of peers.splice(0)) p.close();
  for (const e of endpoints.splice(0)) e.close();
});
afterAll(() => shutdownDataChannels());

describe('DataChannelEndpoint', () => {
  it('delivers each packet with the session that signalled it, and sends back', async () => {
    const r = recorder();
    const e = endpoint(r.events);
    const a = { slot: 0 };
    const b = { slot: 1 };
    const pa = await connect(e, a);
    const pb = await connect(e, b);
    await until(() => e.isOpen(a) && e.isOpen(b), 'both open');
    const back: number[][] = [];
    pa.onPacket((bytes) => back.push([...bytes]));
    expect(pa.send(new Uint8Array([1, 1]))).toBe(true);
    expect(pb.send(new Uint8Array([2, 2, 2]))).toBe(true);
    await until(() => r.packets.length === 2, 'two packets');
    expect(r.packets.find(([s]) => s === a)?.[1]).toEqual([1, 1]);
    expect(r.packets.find(([s]) => s === b)?.[1]).toEqual([2, 2, 2]);
    expect(e.send(a, new Uint8Array([9]))).toBe(true);
    await until(() => back.length === 1, 'a packet back');
    expect(back).toEqual([[9]]);
    expect(r.log.sort()).toEqual(['open 0', 'open 1']);
    expect(e.stats()).toMatchObject({ sessions: 2, packets: 2, droppedPackets: 0 });
  });

  it('drops oversize and text packets, and closes further channels', async () => {
    const r = recorder();
    const e = endpoint(r.events, { maxPacketBytes: 8 });
    const s = { slot: 0 };
    const pc = new PolyfillPeerConnection({
      iceServers: [],
      bindAddress: '127.0.0.1',
    } as RTCConfiguration);
    try {
      const first = pc.createDataChannel('concord-inputs', { ordered: false, maxRetransmits: 0 });
      await pc.setLocalDescription(await pc.createOffer());
      await until(() => pc.iceGatheringState === 'complete', 'gathering');
      const answer = await e.answer(s, { sdp: pc.localDescription!.sdp, candidates: [] });
      await pc.setRemoteDescription({ type: 'answer', sdp: answer.sdp });
      await until(() => first.readyState === 'open' && e.isOpen(s), 'open');
      const second = pc.createDataChannel('concord-inputs');
      await until(() => e.stats().extraChannels === 1, 'the extra channel refused');
      second.close();
      first.send(new Uint8Array(9));
      first.send('text');
      first.send(new Uint8Array(8));
      await until(() => r.packets.length === 1, 'the valid packet');
      await until(() => e.stats().droppedPackets === 2, 'two drops');
      expect(r.packets[0][1]).toHaveLength(8);
      expect(e.isOpen(s)).toBe(true);
    } finally {
      pc.close();
    }
  });

  it('refuses invalid offers with ProtocolError codes, before making a connection', async () => {
    const e = endpoint(recorder().events);
    const s = { slot: 0 };
    const code = async (offer: unknown) => {
      try {
        await e.answer(s, offer);
        return 'none';
      } catch (err) {
        expect(err).toBeInstanceOf(ProtocolError);
        return (err as ProtocolError).code;
      }
    };
    expect(await code('sdp')).toBe('MALFORMED');
    expect(await code({ sdp: 'v=0', candidates: 'x' })).toBe('MALFORMED');
    expect(await code({ sdp: 'x'.repeat(9000), candidates: [] })).toBe('OVERSIZE');
    expect(await code({ sdp: 'v=0', candidates: Array(33).fill('candidate:1') })).toBe('OVERSIZE');
    expect(await code({ sdp: 'v=0\u0000', candidates: [] })).toBe('BAD_FIELD');
    expect(await code({ sdp: 'not an sdp', candidates: [] })).toBe('BAD_FIELD');
    expect(e.stats().sessions).toBe(0);
  });

  it('keeps one connection per session, bounds sessions, and times out unopened ones', async () => {
    const r = recorder();
    const e = endpoint(r.events, { maxSessions: 1, openTimeoutMs: 300 });
    const s = { slot: 3 };
    const offer = (await peer()).offer;
    await e.answer(s, offer);
    await e.answer(s, offer);
    expect(r.log).toEqual(['close 3 replaced']);
    await expect(e.answer({ slot: 4 }, offer)).rejects.toMatchObject({ code: 'RATE_LIMIT' });
    await until(() => r.log.length === 2, 'the timeout');
    expect(r.log[1]).toBe('close 3 timeout');
    expect(e.stats().sessions).toBe(0);
  });

  it('reports the close of a peer, and closes every session at close()', async () => {
    const r = recorder();
    const e = endpoint(r.events);
    const a = { slot: 0 };
    const b = { slot: 1 };
    const pa = await connect(e, a);
    await connect(e, b);
    await until(() => e.isOpen(a) && e.isOpen(b), 'both open');
    pa.close();
    await until(() => r.log.some((l) => l.startsWith('close 0')), 'the close of a');
    e.close();
    expect(r.log.filter((l) => l.startsWith('close 1'))).toEqual(['close 1 endpoint closed']);
    expect(e.send(b, new Uint8Array([1]))).toBe(false);
    await expect(e.answer(a, { sdp: 'v=0', candidates: [] })).rejects.toMatchObject({
      code: 'INTERNAL',
    });
  });

  it('opens channels whose peers get the answer late, the relay using none of their candidates', async () => {
    // A busy relay's answer can cross socket.io seconds after the offer. Were the relay to check
    // the peer's candidates meanwhile, ICE could be up on the peer before its answer, and
    // libdatachannel would start DTLS without the relay's fingerprint, fail the handshake, drop
    // the ICE transport, and throw "Got a remote candidate without ICE transport" at the answer.
    const r = recorder();
    const e = endpoint(r.events);
    const pcs: nodeDataChannel.PeerConnection[] = [];
    try {
      const opened = await Promise.all(
        [0, 1, 2, 3, 4, 5].map(async (slot) => {
          const pc = new nodeDataChannel.PeerConnection(`late-${slot}`, {
            iceServers: [],
            bindAddress: '127.0.0.1',
          });
          pcs.push(pc);
          const dc = pc.createDataChannel('concord-inputs', { unordered: true, maxRetransmits: 0 });
          let open = false;
          dc.onOpen(() => {
            open = true;
          });
          const candidates: string[] = [];
          pc.onLocalCandidate((c) => candidates.push(c));
          await until(() => pc.gatheringState() === 'complete', 'gathering');
          const offer = { sdp: pc.localDescription()!.sdp, candidates };
          expect(offer.sdp + candidates.join('\n')).toContain('127.0.0.1');
          const answer = await e.answer({ slot }, offer);
          // The relay's answer arrives late: a second after the relay made it.
          await new Promise((done) => setTimeout(done, 1000));
          expect(pc.iceState()).not.toBe('connected');
          pc.setRemoteDescription(answer.sdp, 'answer');
          for (const c of answer.candidates) pc.addRemoteCandidate(c, '0');
          await until(() => open, `channel ${slot} open`, 10_000);
          return slot;
        }),
      );
      expect(opened).toEqual([0, 1, 2, 3, 4, 5]);
      expect(r.log.filter((l) => l.startsWith('open')).length).toBe(6);
      expect(e.stats().skippedCandidates).toBeGreaterThanOrEqual(6);
    } finally {
      for (const pc of pcs) pc.close();
    }
  }, 30_000);

  it('never sends to the peer first: not one ICE check before the peer has its answer', async () => {
    // Where the peer says it is: a UDP socket of the test's own, which counts what reaches it.
    const socket = dgram.createSocket('udp4');
    let received = 0;
    socket.on('message', () => received++);
    await new Promise<void>((done) => socket.bind(0, '127.0.0.1', done));
    const { port } = socket.address() as AddressInfo;
    const candidate = `candidate:1 1 UDP 2122317823 127.0.0.1 ${port} typ host`;
    const e = endpoint(recorder().events);
    const p = await peer();
    try {
      const sdp = p.offer.sdp.replace(/^a=(candidate:|end-of-candidates).*\r?\n/gm, '');
      await e.answer(
        { slot: 0 },
        { sdp: sdp.replace(/(a=mid:\S+\r?\n)/, `$1a=${candidate}\r\n`), candidates: [candidate] },
      );
      await new Promise((done) => setTimeout(done, 1500));
      expect(received).toBe(0);
    } finally {
      socket.close();
    }
  });

  it('applies an offer as the DTLS client and without candidates', () => {
    const sdp = [
      'v=0',
      'a=setup:actpass',
      'a=candidate:1 1 UDP 2122317823 127.0.0.1 5000 typ host',
      'a=end-of-candidates',
      'a=mid:0',
      '',
    ].join('\r\n');
    expect(peerOfferSdp(sdp)).toBe(['v=0', 'a=setup:active', 'a=mid:0', ''].join('\r\n'));
  });

  it('uses none of the peer candidates, and announces the public address it is given', async () => {
    const e = endpoint(recorder().events, {
      publicAddress: '203.0.113.7',
      portRangeBegin: 50000,
      portRangeEnd: 50100,
    });
    const offer = (await peer()).offer;
    const answer = await e.answer(
      { slot: 0 },
      {
        sdp: offer.sdp,
        candidates: [
          'candidate:1 1 udp 2113937151 0f1e2d3c-0000-4000-8000-000000000000.local 5000 typ host',
        ],
      },
    );
    const inSdp = offer.sdp.match(/^a=candidate:/gm)?.length ?? 0;
    expect(e.stats().skippedCandidates).toBe(1 + inSdp);
    expect(answer.candidates.length).toBeGreaterThan(0);
    for (const c of answer.candidates) {
      expect(c).toMatch(/^candidate:\S+ 1 UDP \d+ 203\.0\.113\.7 (50\d\d\d) typ host/);
    }
    expect(answer.sdp).not.toContain('127.0.0.1 ');
    expect(() => new DataChannelEndpoint(recorder().events, { portRangeBegin: 80 })).toThrow(
      RangeError,
    );
  });
});
