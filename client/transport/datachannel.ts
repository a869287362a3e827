/**
 * A peer's input DataChannel to the relay, on the standard WebRTC API only, so that the same code
 * runs in every browser as it is and in Node with node-datachannel's polyfill given by the
 * caller. The channel is unordered and never retransmits (`ordered: false, maxRetransmits: 0`):
 * a late input is worth nothing, and the input redundancy of `redundant-inputs.ts` makes a lost
 * datagram harmless. Signalling is one offer and one answer, carried by the caller over the
 * peer's socket.io connection.
 */
import { DATACHANNEL_LABEL, type DataChannelSignal } from '../../protocol/datachannel-signal.ts';

/** The life of a {@link PeerDataChannel}: `connecting` until the channel opens, then `open`, then `closed` for good. */
export type PeerDataChannelState = 'connecting' | 'open' | 'closed';

/** Settings of {@link PeerDataChannel.create}. */
export interface PeerDataChannelOptions {
  /**
   * The RTCPeerConnection constructor: default `globalThis.RTCPeerConnection` (browsers); in Node,
   * node-datachannel's `RTCPeerConnection` from `node-datachannel/polyfill`.
   */
  readonly RTCPeerConnection?: typeof RTCPeerConnection;
  /**
   * The connection's configuration (default `{ iceServers: [] }`: the relay's host candidate is
   * reachable, so no STUN is needed). Node's polyfill also takes libdatachannel's settings here,
   * e.g. `bindAddress: '127.0.0.1'`.
   */
  readonly configuration?: RTCConfiguration;
  /** Send the offer after this long even if gathering has not completed, ms (default 2000). */
  readonly gatherTimeoutMs?: number;
  /** {@link PeerDataChannel.accept} fails when the channel has not opened by then, ms (default 10 000). */
  readonly openTimeoutMs?: number;
}

/**
 * One peer's DataChannel to the relay. Create it with {@link PeerDataChannel.create}, send its
 * {@link offer} to the relay, then {@link accept} the relay's answer.
 */
export class PeerDataChannel {
  private current: PeerDataChannelState = 'connecting';
  private readonly packetHandlers: ((bytes: Uint8Array) => void)[] = [];
  private readonly stateHandlers: ((state: PeerDataChannelState) => void)[] = [];
  /** Text messages received (the relay sends only binary ones): dropped. */
  droppedPackets = 0;

  private constructor(
    private readonly pc: RTCPeerConnection,
    private readonly channel: RTCDataChannel,
    /** The offer to send to the relay over socket.io. */
    readonly offer: DataChannelSignal,
    private readonly openTimeoutMs: number,
  ) {
    channel.binaryType = 'arraybuffer';
    channel.onopen = () => this.setState('open');
    channel.onclose = () => this.close();
    channel.onmessage = (e: MessageEvent) => {
      if (!(e.data instanceof ArrayBuffer)) {
        this.droppedPackets++;
        return;
      }
      const bytes = new Uint8Array(e.data);
      for (const h of this.packetHandlers) h(bytes);
    };
    pc.onconnectionstatechange = () => {
      if (pc.connectionState === 'failed' || pc.connectionState === 'closed') this.close();
    };
  }

  /**
   * Creates the PeerConnection and its channel (label {@link DATACHANNEL_LABEL},
   * `ordered: false, maxRetransmits: 0`), and the offer once its candidates are gathered.
   * @throws whatever the RTCPeerConnection throws (e.g. no WebRTC in this browser), or an
   *   Error when no RTCPeerConnection is available
   */
  static async create(options: PeerDataChannelOptions = {}): Promise<PeerDataChannel> {
    const RTC = options.RTCPeerConnection ?? globalThis.RTCPeerConnection;
    if (typeof RTC !== 'function') throw new Error('PeerDataChannel: no RTCPeerConnection here');
    const pc = new RTC(options.configuration ?? { iceServers: [] });
    try {
      const channel = pc.createDataChannel(DATACHANNEL_LABEL, {
        ordered: false,
        maxRetransmits: 0,
      });
      const candidates: string[] = [];
      const gathered = new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, options.gatherTimeoutMs ?? 2000);
        pc.onicecandidate = (e) => {
          if (e.candidate?.candidate) candidates.push(e.candidate.candidate);
        };
        pc.onicegatheringstatechange = () => {
          if (pc.iceGatheringState === 'complete') {
            clearTimeout(timer);
            resolve();
          }
        };
      });
      await pc.setLocalDescription(await pc.createOffer());
      if (pc.iceGatheringState !== 'complete') await gathered;
      const sdp = pc.localDescription?.sdp;
      if (!sdp) throw new Error('PeerDataChannel: no local description');
      return new PeerDataChannel(pc, channel, { sdp, candidates }, options.openTimeoutMs ?? 10_000);
    } catch (e) {
      pc.close();
      throw e;
    }
  }

  /** Where the channel is: `connecting`, `open` or `closed`. */
  get state(): PeerDataChannelState {
    return this.current;
  }

  /**
   * Applies the relay's answer and waits for the channel to open.
   * @param answer the relay's answer, already checked with `checkDataChannelSignal`
   * @throws Error when the answer is refused, the connection fails or closes, or the channel has
   *   not opened within `openTimeoutMs` (the channel is then closed)
   */
  async accept(answer: DataChannelSignal): Promise<void> {
    try {
      await this.pc.setRemoteDescription({ type: 'answer', sdp: answer.sdp });
      const sdpMid = /^a=mid:(\S+)/m.exec(answer.sdp)?.[1] ?? '0';
      for (const c of answer.candidates) {
        await this.pc.addIceCandidate({
          candidate: c.startsWith('a=') ? c.slice(2) : c,
          sdpMid,
        });
      }
      await new Promise<void>((resolve, reject) => {
        if (this.current === 'open') return resolve();
        const timer = setTimeout(
          () => reject(new Error(`PeerDataChannel: not open after ${this.openTimeoutMs} ms`)),
          this.openTimeoutMs,
        );
        this.onState((s) => {
          clearTimeout(timer);
          if (s === 'open') resolve();
          else reject(new Error('PeerDataChannel: closed before it opened'));
        });
      });
    } catch (e) {
      this.close();
      throw e;
    }
  }

  /**
   * Sends one binary packet, unordered and unreliable.
   * @returns false when the channel is not open (nothing is sent)
   */
  send(bytes: Uint8Array): boolean {
    if (this.current !== 'open') return false;
    try {
      // The bytes alone: a view into a larger (or shared) buffer is copied first.
      const own =
        bytes.buffer instanceof ArrayBuffer && bytes.byteLength === bytes.buffer.byteLength
          ? (bytes as Uint8Array<ArrayBuffer>)
          : new Uint8Array(bytes);
      this.channel.send(own);
      return true;
    } catch {
      return false;
    }
  }

  /** Calls `handler` with every binary packet from the relay (a view of a fresh buffer). */
  onPacket(handler: (bytes: Uint8Array) => void): void {
    this.packetHandlers.push(handler);
  }

  /** Calls `handler` on each change of {@link state}. */
  onState(handler: (state: PeerDataChannelState) => void): void {
    this.stateHandlers.push(handler);
  }

  /** Closes the channel and the connection; the state becomes `closed`. Idempotent. */
  close(): void {
    if (this.current === 'closed') return;
    this.setState('closed');
    try {
      this.channel.close();
      this.pc.close();
    } catch {
      // Already closed underneath: nothing left to release.
    }
  }

  private setState(state: PeerDataChannelState): void {
    if (this.current === state || this.current === 'closed') return;
    this.current = state;
    for (const h of [...this.stateHandlers]) h(state);
  }
}
