/**
 * A peer's connection to the relay whose inputs take a WebRTC DataChannel when they can: a
 * {@link Transport} around the socket.io one, so that the match runner and the session run over
 * it unchanged.
 *
 * - Everything but inputs (join, hashes, verdicts, state transfers, control) stays on socket.io.
 * - At the relay's `start` (or `rejoined`), unless the scene's `transport` is `websocket`, it
 *   offers a DataChannel over socket.io (`rtcOffer`/`rtcAnswer`). Once a datagram from the relay
 *   has crossed it, it says `inputPath webrtc` and sends each input in a datagram that repeats
 *   every input the relay has not acknowledged, with the highest frame it holds of every other
 *   player; the relay answers with its acknowledgement and every input this peer lacks. A lost,
 *   duplicated or late datagram holds nothing up (GGPO's and Photon Quantum's input redundancy;
 *   the unordered, unreliable channel is geckos.io's choice for Node servers).
 * - When the channel closes or the relay falls silent for `silentMs`, it says `inputPath
 *   websocket`, resends its unacknowledged inputs on socket.io (the relay drops what it holds
 *   already) and keeps probing the channel (or signals a new one); the first datagram back
 *   returns the inputs to it.
 * - Every input received, on either path, goes to the session exactly once and in frame order
 *   per player ({@link InputReceiver}).
 */
import {
  type ClientMessage,
  checkDataChannelSignal,
  decodeServerDatagram,
  encodeClientDatagram,
  type InputPath,
  type InputTransportSetting,
  MAX_DATAGRAM_INPUTS,
  type ServerMessage,
} from '../../protocol/index.ts';
import type { Transport, TransportState } from '../../sim/sync/index.ts';
import { ImpairedLink, type LinkImpairment, type Scheduler, type TimerId } from '../net/index.ts';
import type { PeerDataChannel } from './datachannel.ts';
import { InputReceiver, RedundantInputSender } from './redundant-inputs.ts';

type RelayTransport = Transport<ClientMessage, ServerMessage>;

/** Settings of a {@link DatagramTransport}. */
export interface DatagramTransportOptions {
  /** The clock of the silence checks, probes and retries (a `RealClock` outside tests). */
  readonly clock: Scheduler;
  /**
   * Makes this peer's end of a new DataChannel (its offer ready): `PeerDataChannel.create` with
   * the browser's RTCPeerConnection, or node-datachannel's polyfill in Node.
   */
  readonly createChannel: () => Promise<PeerDataChannel>;
  /** Overrides the scene's `transport` setting (the bots' `--transport`). */
  readonly transport?: InputTransportSetting;
  /**
   * Impairment of the DataChannel, both ways, as a datagram link (`ordered` is forced false:
   * loss drops one datagram and nothing waits; duplication; reorder), seeded by `seed`.
   */
  readonly impairment?: LinkImpairment;
  /** Seed of the impairment's draws (default 1). */
  readonly seed?: number;
  /** Give up on a DataChannel that has not opened after this long, ms (default 5000). */
  readonly openTimeoutMs?: number;
  /** Fall back to websocket after this long without a datagram from the relay, ms (default 1000). */
  readonly silentMs?: number;
  /** First wait before signalling a new DataChannel after one failed or closed, ms (default 1000; doubles up to 8000). */
  readonly retryMs?: number;
  /** Send a datagram at least this often while inputs go over the channel, ms (default 20). */
  readonly keepaliveMs?: number;
}

/** One change of {@link DatagramTransport.inputPath}. */
export interface InputPathChange {
  readonly path: InputPath;
  /** Why, in words: `open`, `silent`, `closed`, `window full`, `back`. */
  readonly reason: string;
  /** When, on the transport's clock, ms. */
  readonly atMs: number;
}

/** Counters of a {@link DatagramTransport}. */
export interface DatagramTransportStats {
  readonly datagramsSent: number;
  readonly datagramBytesSent: number;
  readonly datagramsReceived: number;
  readonly datagramBytesReceived: number;
  /** Datagrams from the relay that did not decode (dropped). */
  readonly undecodable: number;
  /** Inputs sent on socket.io (while the channel was not up, and resent at a fallback). */
  readonly socketInputs: number;
  /** Inputs received again (on either path): dropped. */
  readonly duplicateInputs: number;
  /** DataChannels offered to the relay. */
  readonly offers: number;
}

/** A {@link DatagramTransportStats} at zero. */
export function emptyDatagramStats(): { -readonly [K in keyof DatagramTransportStats]: number } {
  return {
    datagramsSent: 0,
    datagramBytesSent: 0,
    datagramsReceived: 0,
    datagramBytesReceived: 0,
    undecodable: 0,
    socketInputs: 0,
    duplicateInputs: 0,
    offers: 0,
  };
}

/**
 * The counters of several transports added up (a bot's connections before and after a rejoin).
 */
export function sumDatagramStats(all: readonly DatagramTransportStats[]): DatagramTransportStats {
  const out = emptyDatagramStats();
  for (const s of all) {
    for (const k of Object.keys(out) as (keyof DatagramTransportStats)[]) out[k] += s[k];
  }
  return out;
}

const TICK_MS = 10;

/** See the module comment. */
export class DatagramTransport implements RelayTransport {
  /** What carries this peer's inputs now. */
  inputPath: InputPath = 'websocket';
  /** Every change of {@link inputPath}, oldest first. */
  readonly pathChanges: InputPathChange[] = [];
  /** Why the DataChannel is not used, when it cannot be (refused, failed), or null. */
  channelProblem: string | null = null;

  private readonly o: DatagramTransportOptions;
  private readonly clock: Scheduler;
  private readonly handlers: ((m: ServerMessage) => void)[] = [];
  private readonly queued: ServerMessage[] = [];
  private readonly pathHandlers: ((c: InputPathChange) => void)[] = [];
  private setting: InputTransportSetting = 'websocket';
  private players = 0;
  private slot = -1;
  private receivers: (InputReceiver | null)[] = [];
  private sender: RedundantInputSender | null = null;
  private nextInputFrame = 0;
  private currentFrame = 0;
  private channel: PeerDataChannel | null = null;
  private pending: PeerDataChannel | null = null;
  private channelGen = 0;
  private retryWaitMs: number;
  private retryAtMs: number | null = null;
  private openDeadlineMs: number | null = null;
  private lastHeardMs = 0;
  private lastSentMs = Number.NEGATIVE_INFINITY;
  private timer: TimerId | null = null;
  private closed = false;
  private gaveUp = false;
  private readonly out: ImpairedLink<Uint8Array> | null;
  private readonly inbound: ImpairedLink<Uint8Array> | null;
  private readonly counts = emptyDatagramStats();

  /**
   * @param inner the peer's socket.io connection to the relay (a fresh one, before `join`)
   * @throws RangeError from the impairment's check
   */
  constructor(
    private readonly inner: RelayTransport,
    options: DatagramTransportOptions,
  ) {
    this.o = options;
    this.clock = options.clock;
    this.retryWaitMs = options.retryMs ?? 1000;
    const imp = options.impairment;
    if (imp && (imp.latencyMs > 0 || imp.jitterMs > 0 || imp.lossPct > 0 || imp.duplicatePct)) {
      const impairment = { ...imp, ordered: false };
      const seed = options.seed ?? 1;
      this.out = new ImpairedLink<Uint8Array>({
        clock: this.clock,
        impairment,
        seed: seed ^ 0x2545f491,
        deliver: (bytes) => this.channel?.send(bytes),
      });
      this.inbound = new ImpairedLink<Uint8Array>({
        clock: this.clock,
        impairment,
        seed: seed ^ 0x68e31da4,
        deliver: (bytes) => this.datagram(bytes),
      });
    } else {
      this.out = null;
      this.inbound = null;
    }
    inner.onMessage((m) => this.fromSocket(m));
  }

  get state(): TransportState {
    return this.inner.state;
  }

  /** A snapshot of the counters. */
  stats(): DatagramTransportStats {
    return { ...this.counts };
  }

  /**
   * Calls `handler` on every change of {@link inputPath}.
   * @returns a function that unregisters it
   */
  onInputPath(handler: (c: InputPathChange) => void): () => void {
    this.pathHandlers.push(handler);
    return () => {
      const i = this.pathHandlers.indexOf(handler);
      if (i >= 0) this.pathHandlers.splice(i, 1);
    };
  }

  send(m: ClientMessage): void {
    if (this.closed) return;
    if (m.kind !== 'input') {
      this.inner.send(m);
      // With the setting known up front, the channel opens while the room fills.
      const early = this.o.transport !== undefined && this.o.transport !== 'websocket';
      if ((m.kind === 'join' || m.kind === 'rejoin') && early && this.channelGen === 0) {
        this.signal();
        this.schedule();
      }
      return;
    }
    this.nextInputFrame = m.frame + 1;
    this.currentFrame = m.currentFrame;
    const sender = this.sender;
    if (this.inputPath === 'webrtc' && sender) {
      if (sender.canPush() && m.frame === sender.nextFrame) {
        sender.push(m.frame, m.input);
        this.sendDatagram();
        return;
      }
      this.fallBack('window full');
    }
    this.counts.socketInputs++;
    this.inner.send(m);
  }

  onMessage(handler: (m: ServerMessage) => void): () => void {
    this.handlers.push(handler);
    for (const m of this.queued.splice(0, this.queued.length)) this.deliver(m);
    return () => {
      const i = this.handlers.indexOf(handler);
      if (i >= 0) this.handlers.splice(i, 1);
    };
  }

  onClose(handler: (reason: string) => void): () => void {
    return this.inner.onClose((reason) => {
      this.stop();
      handler(reason);
    });
  }

  close(): void {
    this.stop();
    this.inner.close();
  }

  /**
   * Closes the current DataChannel as if the network had (inputs fall back to websocket; unless
   * the setting is `websocket`, a new channel is signalled after `retryMs`): for tests and for a
   * page that wants to see the fallback.
   */
  dropChannel(): void {
    this.channel?.close();
  }

  // -------------------------------------------------------------------------------------------
  // From the relay

  private fromSocket(m: ServerMessage): void {
    switch (m.kind) {
      case 'start':
      case 'rejoined':
        this.begin(m);
        break;
      case 'rtcAnswer':
        this.answered(m);
        return;
      case 'error':
        if (m.refused === 'rtcOffer' || m.refused === 'inputPath') {
          this.problem(`the relay refused ${m.refused}: ${m.message}`, m.refused === 'rtcOffer');
        }
        break;
      case 'input':
        this.receive(m.slot, m.frame, [m.input], m.currentFrame);
        return;
      case 'end':
        this.stop();
        break;
      default:
        break;
    }
    this.deliver(m);
  }

  private deliver(m: ServerMessage): void {
    if (this.handlers.length === 0) this.queued.push(m);
    else for (const h of [...this.handlers]) h(m);
  }

  /** Inputs of `slot` from `startFrame`, from either path: each delivered once, in order. */
  private receive(
    slot: number,
    startFrame: number,
    inputs: readonly Uint8Array[],
    currentFrame: number,
  ): void {
    // After a rejoin the relay's inputs start at its last agreed checkpoint: begin there.
    let r = this.receivers[slot];
    if (!r) {
      r = new InputReceiver(startFrame, MAX_DATAGRAM_INPUTS, 4 * MAX_DATAGRAM_INPUTS);
      this.receivers[slot] = r;
    }
    const before = r.stats().duplicates;
    for (const got of r.receive(startFrame, inputs)) {
      this.deliver({ kind: 'input', slot, frame: got.frame, input: got.input, currentFrame });
    }
    this.counts.duplicateInputs += r.stats().duplicates - before;
  }

  private begin(m: Extract<ServerMessage, { kind: 'start' | 'rejoined' }>): void {
    this.setting = this.o.transport ?? m.settings.transport;
    this.players = m.settings.players;
    this.slot = m.slot;
    this.receivers = new Array(this.players).fill(null);
    if (m.kind === 'start') {
      for (let s = 0; s < this.players; s++) {
        this.receivers[s] = new InputReceiver(
          m.settings.inputDelay,
          MAX_DATAGRAM_INPUTS,
          4 * MAX_DATAGRAM_INPUTS,
        );
      }
    }
    this.nextInputFrame = m.kind === 'start' ? m.settings.inputDelay : m.resumeFrame;
    if (this.setting === 'websocket' || this.closed) return;
    if (this.channel)
      this.sendDatagram(); // opened while waiting: its answer switches the path
    else if (this.channelGen === 0) this.signal();
    this.schedule();
  }

  // -------------------------------------------------------------------------------------------
  // The DataChannel

  private signal(): void {
    const gen = ++this.channelGen;
    this.retryAtMs = null;
    this.counts.offers++;
    this.o.createChannel().then(
      (ch) => {
        if (gen !== this.channelGen || this.closed) {
          ch.close();
          return;
        }
        this.pending = ch;
        this.openDeadlineMs = this.clock.now() + (this.o.openTimeoutMs ?? 5000);
        this.inner.send({ kind: 'rtcOffer', sdp: ch.offer.sdp, candidates: ch.offer.candidates });
      },
      (err: unknown) => {
        if (gen === this.channelGen) this.problem(`no DataChannel here: ${String(err)}`, true);
      },
    );
  }

  private answered(m: Extract<ServerMessage, { kind: 'rtcAnswer' }>): void {
    const ch = this.pending;
    if (!ch) return;
    this.pending = null;
    const gen = this.channelGen;
    const answer = checkDataChannelSignal(m, 'rtcAnswer');
    ch.accept(answer).then(
      () => {
        if (gen !== this.channelGen || this.closed) {
          ch.close();
          return;
        }
        this.openDeadlineMs = null;
        this.channel = ch;
        this.retryWaitMs = this.o.retryMs ?? 1000;
        this.lastHeardMs = this.clock.now();
        ch.onPacket((bytes) => {
          if (this.channel !== ch) return;
          if (this.inbound) this.inbound.send(bytes);
          else this.datagram(bytes);
        });
        ch.onState((s) => {
          if (s === 'closed' && this.channel === ch) this.channelClosed();
        });
        this.sendDatagram();
      },
      () => {
        if (gen === this.channelGen) this.retryLater('did not open');
      },
    );
  }

  /** A datagram from the relay (after the impairment). */
  private datagram(bytes: Uint8Array): void {
    if (this.closed) return;
    let d: ReturnType<typeof decodeServerDatagram>;
    try {
      d = decodeServerDatagram(bytes);
    } catch {
      this.counts.undecodable++;
      return;
    }
    this.counts.datagramsReceived++;
    this.counts.datagramBytesReceived += bytes.length;
    this.lastHeardMs = this.clock.now();
    this.sender?.ack(d.ack);
    for (const run of d.runs) {
      if (run.slot < this.players)
        this.receive(run.slot, run.startFrame, run.inputs, run.currentFrame);
    }
    if (this.inputPath === 'websocket' && this.channel) {
      this.setPath('webrtc', this.pathChanges.length === 0 ? 'open' : 'back');
    }
  }

  private sendDatagram(): void {
    const ch = this.channel;
    // Before the match, the relay has no seat to take the datagram's slot from.
    if (ch?.state !== 'open' || this.players === 0) return;
    const held: number[] = [];
    for (let s = 0; s < this.players; s++)
      held.push(s === this.slot ? -1 : (this.receivers[s]?.ack ?? -1));
    const bytes = encodeClientDatagram(
      this.sender
        ? this.sender.datagram(this.currentFrame, held)
        : {
            kind: 'inputs',
            currentFrame: this.currentFrame,
            startFrame: this.nextInputFrame,
            inputs: [],
            held,
          },
    );
    this.lastSentMs = this.clock.now();
    this.counts.datagramsSent++;
    this.counts.datagramBytesSent += bytes.length;
    if (this.out) this.out.send(bytes);
    else ch.send(bytes);
  }

  private setPath(path: InputPath, reason: string): void {
    if (path === this.inputPath) return;
    this.inputPath = path;
    this.inner.send({ kind: 'inputPath', path });
    if (path === 'webrtc') {
      this.sender = new RedundantInputSender(this.nextInputFrame);
    } else {
      // Resend what the relay may not hold; it drops what it has already.
      const d = this.sender?.datagram(this.currentFrame, []);
      this.sender = null;
      if (d) {
        d.inputs.forEach((input, i) => {
          this.counts.socketInputs++;
          this.inner.send({
            kind: 'input',
            frame: d.startFrame + i,
            input,
            currentFrame: this.currentFrame,
          });
        });
      }
    }
    const change = { path, reason, atMs: this.clock.now() };
    this.pathChanges.push(change);
    for (const h of [...this.pathHandlers]) h(change);
  }

  private fallBack(reason: string): void {
    if (this.inputPath === 'webrtc') this.setPath('websocket', reason);
  }

  private channelClosed(): void {
    this.channel = null;
    this.fallBack('closed');
    this.retryLater('closed');
  }

  private retryLater(why: string): void {
    this.pending?.close();
    this.pending = null;
    this.openDeadlineMs = null;
    if (this.closed || this.gaveUp) return;
    if (this.setting === 'webrtc' && this.pathChanges.length === 0) {
      this.channelProblem = `the DataChannel ${why}`;
    }
    this.retryAtMs = this.clock.now() + this.retryWaitMs;
    this.retryWaitMs = Math.min(8000, this.retryWaitMs * 2);
  }

  private problem(message: string, giveUp: boolean): void {
    this.channelProblem = message;
    if (giveUp) {
      this.gaveUp = true;
      this.pending?.close();
      this.pending = null;
      this.openDeadlineMs = null;
      this.retryAtMs = null;
    }
  }

  // -------------------------------------------------------------------------------------------
  // The timer: open deadline, silence, keepalive and probes, retries

  private schedule(): void {
    if (this.timer !== null || this.closed) return;
    this.timer = this.clock.at(this.clock.now() + TICK_MS, () => {
      this.timer = null;
      this.tick();
      this.schedule();
    });
  }

  private tick(): void {
    const now = this.clock.now();
    if (this.openDeadlineMs !== null && now >= this.openDeadlineMs) {
      this.channelGen++;
      this.retryLater('did not open in time');
    }
    if (this.retryAtMs !== null && now >= this.retryAtMs && !this.gaveUp) this.signal();
    if (!this.channel) return;
    if (this.inputPath === 'webrtc') {
      if (now - this.lastHeardMs > (this.o.silentMs ?? 1000)) {
        this.fallBack('silent');
      } else if (now - this.lastSentMs >= (this.o.keepaliveMs ?? 20)) {
        this.sendDatagram();
      }
    } else if (now - this.lastSentMs >= 250) {
      this.sendDatagram(); // a probe: the relay's answer returns the inputs to the channel
    }
  }

  private stop(): void {
    if (this.closed) return;
    this.closed = true;
    this.channelGen++;
    if (this.timer !== null) this.clock.cancel(this.timer);
    this.timer = null;
    this.out?.close();
    this.inbound?.close();
    this.pending?.close();
    this.channel?.close();
    this.pending = null;
    this.channel = null;
  }
}
