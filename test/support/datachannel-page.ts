/**
 * The page of test/datachannel-browser.test.ts: opens the input DataChannel to the relay with
 * the client module as it is (signalling through `window.signal`, which the test exposes), sends
 * `n` packets and counts the relay's echoes.
 */
import { PeerDataChannel } from '../../client/transport/datachannel.ts';
import type { DataChannelSignal } from '../../protocol/datachannel-signal.ts';

declare global {
  interface Window {
    signal(offer: DataChannelSignal): Promise<DataChannelSignal>;
    runDataChannel(n: number): Promise<{ echoed: number; state: string }>;
  }
}

window.runDataChannel = async (n) => {
  const peer = await PeerDataChannel.create();
  await peer.accept(await window.signal(peer.offer));
  let echoed = 0;
  peer.onPacket((bytes) => {
    if (bytes.length === 2 && bytes[1] === 0xee) echoed++;
  });
  for (let i = 0; i < n; i++) peer.send(new Uint8Array([i & 0xff, 0xee]));
  const deadline = performance.now() + 3000;
  while (echoed < n * 0.9 && performance.now() < deadline) {
    await new Promise((r) => setTimeout(r, 10));
  }
  const state = peer.state;
  peer.close();
  return { echoed, state };
};
