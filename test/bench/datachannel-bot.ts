/**
 * A load bot's input DataChannel, for the relay benchmark's WebRTC runs: node-datachannel's own
 * API (no `RTCPeerConnection` polyfill, no `DatagramTransport`), datagrams written and read in
 * place, so that 500 of them fit beside the relay on a 2-core machine.
 *
 * A bot's datagram is exactly a peer's (`protocol/datagram.ts`): every input the relay has not
 * acknowledged, from the oldest to the newest (at most 64), and the highest frame it holds of its
 * partner. Against Concord's relay the answers are relay datagrams (an acknowledgement and runs of
 * the partner's inputs); against the raw DataChannel relay, which forwards each datagram as it
 * is, the answers are the partner's own datagrams, whose `held` acknowledges this bot's inputs.
 */
import nodeDataChannel, { type DataChannel, type PeerConnection } from 'node-datachannel';
import { DATACHANNEL_LABEL, type DataChannelSignal } from '../../protocol/datachannel-signal.ts';
import { DATAGRAM_INPUTS_CODE, INPUT_BYTES, MAX_DATAGRAM_INPUTS } from '../../protocol/index.ts';

/** Which side's datagrams a {@link BotChannel} reads: Concord's relay's, or a raw partner's. */
export type DatagramFormat = 'relay' | 'peer';

/** Called with each run of the partner's inputs: frames `startFrame ..` (4 bytes each at `at`). */
export type InputRunHandler = (
  startFrame: number,
  count: number,
  bytes: Uint8Array,
  at: number,
) => void;

if (process.env.CONCORD_BENCH_RTC_LOG)
  nodeDataChannel.initLogger(process.env.CONCORD_BENCH_RTC_LOG as 'Info', (level, message) =>
    process.stderr.write(`rtc ${level} ${message}\n`),
  );

const CLIENT_HEADER_BYTES = 10;
const SERVER_HEADER_BYTES = 6;
const RUN_HEADER_BYTES = 10;

/** One bot's DataChannel: {@link offer}, {@link accept}, then {@link sendInput} per frame. */
export class BotChannel {
  private readonly pc: PeerConnection;
  private readonly dc: DataChannel;
  private readonly out: Uint8Array;
  private readonly dv: DataView;
  private opened = false;
  private closed = false;
  /** The highest frame of this bot's inputs the other side acknowledged (-1: none). */
  acked = -1;
  /** Datagrams that came back, of any kind (the first one means the path works both ways). */
  datagramsIn = 0;
  /** Datagrams that could not be read. */
  undecodable = 0;
  onOpen: (() => void) | null = null;
  onFirstDatagram: (() => void) | null = null;
  onClose: (() => void) | null = null;

  /**
   * @param slot this bot's slot in its match (Concord), or 0 (raw: `held` has one entry, the
   *   partner)
   * @param players entries of `held` in each datagram: the match's players (Concord), or 1 (raw)
   * @param onRun receives the partner's inputs as they arrive, repeats included
   */
  constructor(
    name: string,
    private readonly format: DatagramFormat,
    public slot: number,
    public players: number,
    private readonly input: Uint8Array,
    private readonly onRun: InputRunHandler,
  ) {
    this.pc = new nodeDataChannel.PeerConnection(name, {
      iceServers: [],
      bindAddress: '127.0.0.1',
    });
    this.dc = this.pc.createDataChannel(DATACHANNEL_LABEL, { unordered: true, maxRetransmits: 0 });
    this.out = new Uint8Array(CLIENT_HEADER_BYTES + MAX_DATAGRAM_INPUTS * INPUT_BYTES + 1 + 16 * 4);
    this.dv = new DataView(this.out.buffer);
    this.pc.onStateChange((st) => this.note(st));
    this.pc.onIceStateChange((st) => this.note(`ice:${st}`));
    this.dc.onOpen(() => {
      this.opened = true;
      this.onOpen?.();
    });
    this.dc.onClosed(() => this.close());
    this.dc.onMessage((msg) => {
      if (typeof msg === 'string') {
        this.undecodable++;
        return;
      }
      const bytes = msg instanceof ArrayBuffer ? new Uint8Array(msg) : msg;
      if (this.datagramsIn++ === 0) this.onFirstDatagram?.();
      this.read(bytes);
    });
  }

  /** The offer (SDP and candidates) once gathering completes (host candidates: milliseconds). */
  offer(timeoutMs = 10_000): Promise<DataChannelSignal> {
    const candidates: string[] = [];
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('gathering did not complete')), timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        const local = this.pc.localDescription();
        if (local === null) reject(new Error('no local description'));
        else resolve({ sdp: local.sdp, candidates });
      };
      this.pc.onLocalCandidate((c) => candidates.push(c));
      this.pc.onGatheringStateChange((state) => {
        if (state === 'complete') done();
      });
      if (this.pc.gatheringState() === 'complete') done();
    });
  }

  /** Applies the other side's answer; {@link onOpen} follows when the channel opens. */
  accept(answer: DataChannelSignal): void {
    this.note('answer');
    this.pc.setRemoteDescription(answer.sdp, 'answer');
    const mid = /^a=mid:(\S+)/m.exec(answer.sdp)?.[1] ?? '0';
    for (const c of answer.candidates) this.pc.addRemoteCandidate(c.replace(/^a=/, ''), mid);
  }

  /** What happened to the connection, ms after its creation (`connecting@4 answer@2100`), for errors. */
  readonly states: string[] = [];
  private readonly createdMs = performance.now();

  private note(what: string): void {
    this.states.push(`${what}@${Math.round(performance.now() - this.createdMs)}`);
  }

  get isOpen(): boolean {
    return this.opened && !this.closed;
  }

  /**
   * Sends one datagram: this bot's inputs from the first unacknowledged frame to `frame` (at
   * most 64; every input is the bot's own 4 bytes) and `held`, the highest frame it holds of its
   * partner. With `frame` below the first unacknowledged one, a datagram of no inputs (a probe).
   * @returns false when the channel is not open or libdatachannel refused the datagram
   */
  sendInput(frame: number, currentFrame: number, held: number): boolean {
    if (!this.isOpen) return false;
    const start = Math.max(this.acked + 1, frame - MAX_DATAGRAM_INPUTS + 1);
    const count = Math.max(0, frame - start + 1);
    const out = this.out;
    const dv = this.dv;
    out[0] = DATAGRAM_INPUTS_CODE;
    dv.setUint32(1, currentFrame);
    dv.setUint32(5, count > 0 ? start : frame + 1);
    out[9] = count;
    let p = CLIENT_HEADER_BYTES;
    for (let i = 0; i < count; i++, p += INPUT_BYTES) out.set(this.input, p);
    out[p++] = this.players;
    for (let s = 0; s < this.players; s++, p += 4) dv.setInt32(p, s === this.slot ? -1 : held);
    try {
      // libdatachannel copies the bytes before sendMessageBinary returns.
      return this.dc.sendMessageBinary(out.subarray(0, p));
    } catch {
      return false;
    }
  }

  private read(b: Uint8Array): void {
    if (b.length < 1 || b[0] !== DATAGRAM_INPUTS_CODE) {
      this.undecodable++;
      return;
    }
    const dv = new DataView(b.buffer, b.byteOffset, b.length);
    if (this.format === 'relay') {
      if (b.length < SERVER_HEADER_BYTES) {
        this.undecodable++;
        return;
      }
      const ack = dv.getInt32(1);
      if (ack > this.acked) this.acked = ack;
      let p = SERVER_HEADER_BYTES;
      for (let r = b[5]; r > 0; r--) {
        const count = b[p + 9];
        if (b.length < p + RUN_HEADER_BYTES + count * INPUT_BYTES) {
          this.undecodable++;
          return;
        }
        this.onRun(dv.getUint32(p + 1), count, b, p + RUN_HEADER_BYTES);
        p += RUN_HEADER_BYTES + count * INPUT_BYTES;
      }
      return;
    }
    // The partner's own datagram, forwarded as it is: its held[0] acknowledges ours.
    const count = b[9];
    const heldAt = CLIENT_HEADER_BYTES + count * INPUT_BYTES + 1;
    if (b.length < heldAt + 4) {
      this.undecodable++;
      return;
    }
    const ack = dv.getInt32(heldAt);
    if (ack > this.acked) this.acked = ack;
    if (count > 0) this.onRun(dv.getUint32(5), count, b, CLIENT_HEADER_BYTES);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.onClose?.();
    try {
      this.dc.close();
      this.pc.close();
    } catch {
      // Already closed underneath.
    }
  }
}
