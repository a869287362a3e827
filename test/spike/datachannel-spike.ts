/**
 * Spike (not a test): can a node-datachannel PeerConnection ("relay") and a standard
 * RTCPeerConnection ("peer": node-datachannel's polyfill, or Chromium) exchange unordered,
 * unreliable DataChannel messages on loopback only, with no STUN/TURN server?
 *
 * Run: `npx tsx test/spike/datachannel-spike.ts [node|chromium|both]` (env `SKIP_MDNS=1`: the
 * relay ignores the peer's `.local` candidates; `MUX=1`: ICE UDP mux).
 *
 * Found (node-datachannel 0.33.4, Chromium 156, no network but loopback):
 * - Node polyfill peer: connects with `{ iceServers: [], bindAddress: '127.0.0.1' }` (the
 *   polyfill passes unknown config keys on to libdatachannel); 100/100 echoed on loopback.
 * - Default Chromium (no flags): its host candidates are mDNS names (`<uuid>.local`) that the
 *   relay cannot resolve, but none are needed: the relay answers with its own host candidate
 *   (`bindAddress: '127.0.0.1'`), Chromium's connectivity checks reach it, and libjuice learns
 *   Chromium's address as a peer-reflexive candidate (selected pair: relay host 127.0.0.1 ↔
 *   peer prflx 127.0.0.1). Same result with the `.local` candidates dropped before
 *   `addRemoteCandidate` (so the relay never tries to resolve them) and with ICE UDP mux.
 *   So: a relay with a reachable host candidate (its public address) works for browsers
 *   without flags, as long as the browser can reach that address.
 */
import nodeDataChannel, { type DescriptionType } from 'node-datachannel';
import { RTCPeerConnection as PolyfillPeerConnection } from 'node-datachannel/polyfill';
import { launchChromium } from '../support/chromium.ts';

interface Offer {
  sdp: string;
  candidates: string[];
}

/** The relay side: answers an offer, echoes every binary message back. */
function relayAnswer(offer: Offer, log: (s: string) => void): Promise<Offer> & { close(): void } {
  const pc = new nodeDataChannel.PeerConnection('relay', {
    iceServers: [],
    bindAddress: '127.0.0.1',
    portRangeBegin: 40000,
    portRangeEnd: 40100,
    enableIceUdpMux: process.env.MUX === '1',
  });
  const candidates: string[] = [];
  let sdp = '';
  const done = new Promise<Offer>((resolve) => {
    pc.onLocalDescription((s: string, type: DescriptionType) => {
      log(`relay local ${type}`);
      sdp = s;
    });
    pc.onLocalCandidate((c: string) => {
      log(`relay candidate ${c}`);
      candidates.push(c);
    });
    pc.onGatheringStateChange((state: string) => {
      if (state === 'complete') resolve({ sdp, candidates });
    });
  }) as Promise<Offer> & { close(): void };
  pc.onStateChange((s: string) => {
    log(`relay state ${s}`);
    if (s === 'connected')
      log(`relay selected pair ${JSON.stringify(pc.getSelectedCandidatePair())}`);
  });
  pc.onDataChannel((dc) => {
    log(`relay got channel ${dc.getLabel()}`);
    dc.onMessage((msg) => {
      if (typeof msg !== 'string') dc.sendMessageBinary(new Uint8Array(msg as ArrayBuffer));
    });
  });
  pc.setRemoteDescription(offer.sdp, 'offer');
  for (const c of offer.candidates) {
    if (process.env.SKIP_MDNS === '1' && /\.local /.test(c)) {
      log(`relay skips mDNS candidate ${c}`);
      continue;
    }
    log(`relay remote candidate ${c}`);
    try {
      pc.addRemoteCandidate(c, '0');
    } catch (e) {
      log(`relay refused candidate: ${(e as Error).message}`);
    }
  }
  done.close = () => pc.close();
  return done;
}

/** The peer, as page code: only the standard API. Returns echoed count after `n` sends. */
const PEER_SOURCE = `async (RTC, signal, n, config) => {
  const pc = new RTC(config);
  const dc = pc.createDataChannel('inputs', { ordered: false, maxRetransmits: 0 });
  dc.binaryType = 'arraybuffer';
  const cands = [];
  pc.onicecandidate = (e) => { if (e.candidate) cands.push(e.candidate.candidate); };
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((r) => {
    if (pc.iceGatheringState === 'complete') r();
    pc.onicegatheringstatechange = () => { if (pc.iceGatheringState === 'complete') r(); };
    setTimeout(r, 3000);
  });
  const answer = await signal({ sdp: pc.localDescription.sdp, candidates: cands });
  await pc.setRemoteDescription({ type: 'answer', sdp: answer.sdp });
  for (const c of answer.candidates) await pc.addIceCandidate({ candidate: c, sdpMid: '0' });
  await new Promise((res, rej) => { dc.onopen = res; setTimeout(() => rej(new Error('open timeout: ' + pc.connectionState + '/' + pc.iceConnectionState)), 10000); });
  let got = 0;
  dc.onmessage = () => { got++; };
  for (let i = 0; i < n; i++) dc.send(new Uint8Array([i & 255, 1, 2, 3]));
  await new Promise((r) => setTimeout(r, 500));
  const result = { got, offerCandidates: cands, ordered: dc.ordered, maxRetransmits: dc.maxRetransmits };
  pc.close();
  return result;
}`;

async function nodePeer(): Promise<void> {
  const log = (s: string) => console.log(`[node] ${s}`);
  let relay: ReturnType<typeof relayAnswer> | undefined;
  // The same source runs in Chromium (page.evaluate) and here.
  const peer = new Function(`return ${PEER_SOURCE}`)();
  const result = await peer(
    PolyfillPeerConnection,
    (offer: Offer) => {
      log(`offer candidates ${JSON.stringify(offer.candidates)}`);
      relay = relayAnswer(offer, log);
      return relay;
    },
    100,
    { iceServers: [], bindAddress: '127.0.0.1' },
  );
  log(`result ${JSON.stringify(result)}`);
  relay?.close();
}

async function chromiumPeer(): Promise<void> {
  const log = (s: string) => console.log(`[chromium] ${s}`);
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    page.on('console', (m) => log(`console ${m.text()}`));
    let relay: ReturnType<typeof relayAnswer> | undefined;
    await page.exposeFunction('signal', async (offer: Offer) => {
      log(`offer candidates ${JSON.stringify(offer.candidates)}`);
      log(
        `offer sdp candidate lines ${offer.sdp
          .split('\n')
          .filter((l) => l.includes('candidate'))
          .join(' | ')}`,
      );
      relay = relayAnswer(offer, log);
      return relay;
    });
    const result = await page.evaluate(
      `(${PEER_SOURCE})(RTCPeerConnection, window.signal, 100, { iceServers: [] })`,
    );
    log(`result ${JSON.stringify(result)}`);
    relay?.close();
  } finally {
    await browser.close();
  }
}

const which = process.argv[2] ?? 'both';
try {
  if (which !== 'chromium') await nodePeer();
  if (which !== 'node') await chromiumPeer();
} catch (e) {
  console.error(e);
  process.exitCode = 1;
} finally {
  nodeDataChannel.cleanup();
}
