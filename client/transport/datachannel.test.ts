import { RTCPeerConnection as PolyfillPeerConnection } from 'node-datachannel/polyfill';
import { afterAll, describe, expect, it } from 'vitest';
import { checkDataChannelSignal, DATACHANNEL_LABEL } from '../../protocol/datachannel-signal.ts';
import { DataChannelEndpoint, shutdownDataChannels } from '../../relay/datachannel.ts';
import { PeerDataChannel, type PeerDataChannelState } from './datachannel.ts';

const peerOptions = {
  RTCPeerConnection: PolyfillPeerConnection as unknown as typeof RTCPeerConnection,
  configuration: { iceServers: [], bindAddress: '127.0.0.1' } as RTCConfiguration,
};

async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

afterAll(() => shutdownDataChannels());

describe('PeerDataChannel', () => {
  it('offers an unordered channel, opens on the answer, exchanges binary packets, closes', async () => {
    const received: Uint8Array[] = [];
    const closes: string[] = [];
    const relay = new DataChannelEndpoint<object>({
      packet: (s, bytes) => {
        received.push(bytes);
        relay.send(
          s,
          bytes.map((b) => b + 1),
        );
      },
      close: (_s, reason) => closes.push(reason),
    });
    const peer = await PeerDataChannel.create(peerOptions);
    try {
      const states: PeerDataChannelState[] = [];
      peer.onState((s) => states.push(s));
      expect(peer.state).toBe('connecting');
      expect(peer.offer.sdp).toContain('m=application');
      expect(peer.offer.sdp).toContain('webrtc-datachannel');
      expect(peer.send(new Uint8Array([1]))).toBe(false);
      const session = {};
      await peer.accept(checkDataChannelSignal(await relay.answer(session, peer.offer), 'a'));
      expect(peer.state).toBe('open');
      const back: number[][] = [];
      peer.onPacket((b) => back.push([...b]));
      // A view into a larger buffer is sent as its own bytes only.
      expect(peer.send(new Uint8Array([0, 5, 6, 0]).subarray(1, 3))).toBe(true);
      await until(() => back.length === 1, 'the echo');
      expect([...received[0]]).toEqual([5, 6]);
      expect(back).toEqual([[6, 7]]);
      peer.close();
      peer.close();
      expect(states).toEqual(['open', 'closed']);
      expect(peer.send(new Uint8Array([1]))).toBe(false);
      await until(() => closes.length === 1, 'the relay to see the close');
    } finally {
      peer.close();
      relay.close();
    }
  });

  it('fails accept when the channel does not open in time, and closes itself', async () => {
    const peer = await PeerDataChannel.create({ ...peerOptions, openTimeoutMs: 200 });
    // An answer from a connection that is closed at once: ICE never completes.
    const other = new PolyfillPeerConnection({
      iceServers: [],
      bindAddress: '127.0.0.1',
    } as RTCConfiguration);
    try {
      await other.setRemoteDescription({ type: 'offer', sdp: peer.offer.sdp });
      await other.setLocalDescription(await other.createAnswer());
      const sdp = other.localDescription!.sdp;
      other.close();
      await expect(peer.accept({ sdp, candidates: [] })).rejects.toThrow(/not open|closed/);
      expect(peer.state).toBe('closed');
    } finally {
      other.close();
      peer.close();
    }
  });

  it('says so when there is no RTCPeerConnection', async () => {
    await expect(
      PeerDataChannel.create({
        RTCPeerConnection: undefined as unknown as typeof RTCPeerConnection,
      }),
    ).rejects.toThrow(/no RTCPeerConnection/);
    expect(DATACHANNEL_LABEL).toBe('concord-inputs');
  });
});
