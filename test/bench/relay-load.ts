/**
 * The load side of the relay benchmark: many lean bots in one process, each a bare `ws`
 * connection, sending one input per frame at the tick rate and timing the partner's inputs.
 *
 * socket.io-client took 20 µs of CPU per message sent or received here (200 bots), so 500 bots
 * (60,000 messages/s) would need more than a core beside the relay on a 2-core machine; these
 * bots speak the wire directly instead, at about 11 µs per message. Against
 * Concord's relay that is engine.io v4 over websocket (the server's text `0{…}` open packet,
 * text `2` pings answered with `3`) carrying socket.io packets in Concord's single-frame binary
 * parser (CONNECT sent after the open packet, app messages as `[1, ...message]` frames). Against
 * the raw `ws` relay a bot sends the very same frames and nothing else.
 *
 * Every bot writes its own index into its 4 input bytes, so a receiver knows the sender (and
 * when the sender was stamped) without knowing how the relay paired them.
 */
import { performance } from 'node:perf_hooks';
import { WebSocket } from 'ws';
import { checkDataChannelSignal } from '../../protocol/datachannel-signal.ts';
import {
  APP_EVENT,
  ConcordDecoder,
  ConcordEncoder,
  decodeClientMessage,
  decodeServerMessage,
  encodeClientMessage,
  INPUT_BYTES,
  ProtocolError,
  type SocketIoPacket,
} from '../../protocol/index.ts';
import { BotChannel } from './datachannel-bot.ts';

/**
 * Which relay the bots talk to and how their inputs travel:
 * - `concord`: Concord's relay, inputs on socket.io (websocket);
 * - `concord-webrtc`: Concord's relay, inputs as datagrams on each bot's DataChannel to it
 *   (joined and signalled over socket.io, as a peer does);
 * - `raw-ws`: the bare `ws` floor (test/bench/raw-ws-relay.ts);
 * - `raw-dc`: the bare DataChannel floor (test/bench/raw-datachannel-relay.ts): each datagram
 *   forwarded to the partner's channel as it is, signalled over a plain `ws` connection.
 */
export type RelayKind = 'concord' | 'concord-webrtc' | 'raw-ws' | 'raw-dc';

/** The relay kinds whose bots send their inputs over DataChannels. */
export const DATAGRAM_KINDS: readonly RelayKind[] = ['concord-webrtc', 'raw-dc'];

/** Settings of {@link RelayLoad.connect}. */
export interface RelayLoadOptions {
  readonly kind: RelayKind;
  /** `http://…` of Concord's relay, `ws://…` of a raw relay. */
  readonly url: string;
  /** How many bots; an even number (rooms of 2). */
  readonly bots: number;
  /** Scene joined on Concord's relay (2 players). */
  readonly scene: string;
  /** First input frame (the scene's input delay; the relay expects it first). */
  readonly inputDelayFrames: number;
  readonly tickRate: number;
  /**
   * The frame period is cut into this many slots and bot `i` sends in slot `i % slotsPerFrame`,
   * so the load is spread over the period as independent players' frame loops would spread it,
   * instead of one burst of every bot per frame.
   */
  readonly slotsPerFrame: number;
  /** Connections being opened at once (default 50). */
  readonly connectConcurrency?: number;
  /** Give up when the bots have not all started after this long, ms (default 60 000). */
  readonly connectTimeoutMs?: number;
}

/** The sending schedule of {@link RelayLoad.run}. */
export interface LoadPlan {
  /** Sending before the measured window, ms. */
  readonly warmupMs: number;
  /** The measured window, ms. */
  readonly measureMs: number;
  /** Called when the measured window opens and when it closes (e.g. to sample the relay). */
  readonly onWindowStart: () => void;
  readonly onWindowEnd: () => void;
}

/** Percentiles of a sample, ms. */
export interface LatencyMs {
  readonly p50: number;
  readonly p99: number;
  readonly p999: number;
  readonly max: number;
  readonly samples: number;
}

/** What the bots saw. */
export interface LoadResult {
  readonly bots: number;
  /** Inputs sent, from the first frame on (warm-up included). */
  readonly sent: number;
  /** Inputs received by the partners (warm-up and drain included). */
  readonly received: number;
  /** `sent − received` once the drain ended. */
  readonly lost: number;
  /** Inputs that arrived out of order, twice, or from a bot that is not the first sender seen. */
  readonly misdelivered: number;
  /** Error messages from the relay, and the first one's text. */
  readonly relayErrors: number;
  readonly firstRelayError: string | null;
  /** Frames the bots could not decode. */
  readonly undecodable: number;
  /** Connections that closed before the end. */
  readonly closedEarly: number;
  /** Send-to-receive time of the inputs sent in the measured window, ms. */
  readonly latencyMs: LatencyMs;
  /** How late the load process sent a slot's inputs after its scheduled time (in the window), ms. */
  readonly scheduleLagMs: { readonly p99: number; readonly max: number };
  /** CPU time of this (the load) process over the window, µs, and its event loop utilization. */
  readonly loadCpuUs: number;
  readonly loadLoopUtilization: number;
  /** Length of the measured window as it happened, ms. */
  readonly windowMs: number;
  /** Inputs sent in the window, and how many of them arrived. */
  readonly windowSent: number;
  readonly windowReceived: number;
}

/** engine.io v4 packet types, as the first character of a text frame. */
const EIO_OPEN = '0';
const EIO_CLOSE = '1';
const EIO_PING = '2';
const EIO_PONG = '3';
/** socket.io packet types. */
const SIO_CONNECT = 0;
const SIO_DISCONNECT = 1;
const SIO_EVENT = 2;
const SIO_CONNECT_ERROR = 4;

class Bot {
  readonly decoder = new ConcordDecoder();
  /** `performance.now()` when each frame's input was sent (0: not sent). */
  readonly sentAt: Float64Array;
  /** The 4 input bytes: this bot's index, little-endian. */
  readonly input = new Uint8Array(INPUT_BYTES);
  nextExpected: number;
  sender = -1;
  started = false;
  closing = false;
  /** The bot's input DataChannel (DataChannel kinds only). */
  channel: BotChannel | null = null;
  /** Concord only: `start` has arrived (the relay answers datagrams from then on). */
  seated = false;
  /** The last frame this bot sent an input for (-1: none). */
  lastFrame = -1;
  /** Called when the bot has joined a queue (Concord) or connected (raw), and when it started. */
  onJoined: (() => void) | null = null;
  onStarted: (() => void) | null = null;
  onFailed: ((err: Error) => void) | null = null;

  constructor(
    readonly index: number,
    readonly ws: WebSocket,
    frames: number,
    firstFrame: number,
  ) {
    this.sentAt = new Float64Array(firstFrame + frames);
    this.nextExpected = firstFrame;
    new DataView(this.input.buffer).setUint32(0, index, true);
  }
}

/** How often bots that wait for the others are kept alive (the relay's silence limit is 2 s), ms. */
const KEEPALIVE_MS = 250;

const encoder = new ConcordEncoder();

/** The socket.io frame carrying one Concord message: `[1, ...bytes]`. */
const appFrame = (bytes: Uint8Array): Uint8Array =>
  encoder.encode({ type: SIO_EVENT, nsp: '/', data: [APP_EVENT, bytes] })[0];

/** The p-th quantile (0..1) of sorted values, nearest rank. */
function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

/**
 * N bots connected to one relay, in rooms of two: connect, {@link run} the schedule,
 * {@link drain}, read the {@link result}, {@link close}.
 */
export class RelayLoad {
  private readonly bots: Bot[] = [];
  private readonly firstFrame: number;
  private readonly maxFrames: number;
  private sent = 0;
  private received = 0;
  private misdelivered = 0;
  private relayErrors = 0;
  private firstRelayError: string | null = null;
  private undecodable = 0;
  private closedEarly = 0;
  private windowStart = Number.POSITIVE_INFINITY;
  private windowEnd = Number.POSITIVE_INFINITY;
  private windowSent = 0;
  private latencies: Float64Array = new Float64Array(0);
  private latencyCount = 0;
  private lags: Float64Array = new Float64Array(0);
  private lagCount = 0;
  private loadCpuUs = 0;
  private loadLoopUtilization = 0;
  private windowMs = 0;

  private constructor(
    private readonly o: RelayLoadOptions,
    maxFrames: number,
  ) {
    this.firstFrame = o.inputDelayFrames;
    this.maxFrames = maxFrames;
  }

  /**
   * Opens `bots` connections, `connectConcurrency` at a time, and resolves once every bot is
   * in a room: on Concord's relay when it got `start`, on the raw relay when its socket opened
   * (the raw relay pairs on arrival).
   * @param maxFrames most frames any later {@link run} sends (sizes the send-time tables)
   * @throws Error when a bot cannot connect or join, or not all started in time
   */
  static async connect(o: RelayLoadOptions, maxFrames: number): Promise<RelayLoad> {
    if (o.bots <= 0 || o.bots % 2 !== 0) throw new Error(`bots must be even, got ${o.bots}`);
    const load = new RelayLoad(o, maxFrames);
    const deadline = performance.now() + (o.connectTimeoutMs ?? 60_000);
    const concurrency = o.connectConcurrency ?? 50;
    let failure: Error | null = null;
    let started = 0;
    let next = 0;
    // A worker waits for its bot to be queued, not started: a bot starts only once its partner
    // has joined, which another worker may be opening.
    const worker = async (): Promise<void> => {
      while (next < o.bots && failure === null) {
        const bot = load.open(next++);
        await new Promise<void>((resolve) => {
          bot.onJoined = resolve;
          bot.onStarted = () => started++;
          bot.onFailed = (err) => {
            failure ??= err;
            resolve();
          };
        });
      }
    };
    const timeout = new Promise<void>((resolve) => {
      const poll = (): void => {
        if (failure !== null || started === o.bots) resolve();
        else if (performance.now() > deadline) {
          failure = new Error(`${started} of ${o.bots} bots started in time`);
          resolve();
        } else setTimeout(poll, 5);
      };
      poll();
    });
    for (let i = 0; i < Math.min(concurrency, o.bots); i++) void worker();
    // DataChannels take seconds to open for hundreds of bots: meanwhile the rooms that started
    // first would fall silent, so their bots ping (and probe their channel) until the run.
    const keepalive = setInterval(() => load.keepAlive(), KEEPALIVE_MS);
    try {
      await timeout;
    } finally {
      clearInterval(keepalive);
    }
    if (failure !== null) {
      load.close();
      throw failure;
    }
    return load;
  }

  /** Pings from bots already in a room, and probes of open channels still unanswered. */
  private keepAlive(): void {
    if (this.o.kind !== 'concord' && this.o.kind !== 'concord-webrtc') return;
    for (const bot of this.bots) {
      if (!bot.seated || bot.ws.readyState !== WebSocket.OPEN) continue;
      const ping = encodeClientMessage({ kind: 'ping', id: 0, sentMs: 0 });
      bot.ws.send(appFrame(ping));
      if (bot.channel?.isOpen && bot.channel.datagramsIn === 0) this.probe(bot);
    }
  }

  /** A datagram of no inputs: the relay's answer shows the channel works both ways. */
  private probe(bot: Bot): void {
    bot.channel?.sendInput(this.firstFrame - 1, 0, this.firstFrame - 1);
  }

  private open(index: number): Bot {
    const kind = this.o.kind;
    const concord = kind === 'concord' || kind === 'concord-webrtc';
    const url = concord
      ? `${this.o.url.replace(/^http/, 'ws')}/socket.io/?EIO=4&transport=websocket`
      : this.o.url;
    const ws = new WebSocket(url, { perMessageDeflate: false });
    const bot = new Bot(index, ws, this.maxFrames, this.firstFrame);
    this.bots.push(bot);
    const fail = (why: string): void => {
      if (!bot.started) bot.onFailed?.(new Error(`bot ${index}: ${why}`));
    };
    ws.on('error', (err) => fail(err.message));
    ws.on('close', () => {
      if (!bot.closing) this.closedEarly++;
      fail('connection closed before the start');
    });
    if (concord) {
      bot.decoder.on('decoded', (p) => this.onPacket(bot, p));
    } else if (kind === 'raw-ws') {
      bot.decoder.on('decoded', (p) => this.onRawPacket(bot, p));
      ws.on('open', () => {
        bot.onJoined?.();
        this.markStarted(bot);
      });
    } else {
      // raw-dc: the offer as JSON text on the ws; the channel's opening starts the bot.
      ws.on('open', () => {
        const ch = this.openChannel(bot, 'peer', 0, 1);
        ch.onOpen = () => {
          bot.onJoined?.();
          this.markStarted(bot);
        };
        ch.offer().then(
          (offer) => ws.send(JSON.stringify(offer)),
          (err: Error) => fail(err.message),
        );
      });
    }
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (!isBinary) {
        if (kind === 'raw-dc') this.onRawAnswer(bot, data.toString());
        else this.onText(bot, data.toString());
        return;
      }
      try {
        bot.decoder.add(data);
      } catch (err) {
        if (!(err instanceof ProtocolError)) throw err;
        this.undecodable++;
      }
    });
    return bot;
  }

  /** Creates the bot's DataChannel; its inputs arrive through {@link onRun}. */
  private openChannel(
    bot: Bot,
    format: 'relay' | 'peer',
    slot: number,
    players: number,
  ): BotChannel {
    const ch = new BotChannel(`bot${bot.index}`, format, slot, players, bot.input, (s, n, b, at) =>
      this.onRun(bot, s, n, b, at),
    );
    ch.onClose = () => {
      if (!bot.closing) this.closedEarly++;
      if (!bot.started) bot.onFailed?.(new Error(`bot ${bot.index}: its DataChannel closed`));
    };
    bot.channel = ch;
    return ch;
  }

  private onRawAnswer(bot: Bot, text: string): void {
    try {
      bot.channel?.accept(checkDataChannelSignal(JSON.parse(text), 'answer'));
    } catch (err) {
      bot.onFailed?.(new Error(`bot ${bot.index}: answer refused (${String(err)})`));
    }
  }

  /**
   * Concord over WebRTC: once seated and the channel is open, a probe; the relay's answer moves
   * the bot's inputs to the channel (`inputPath webrtc`), and the bot has started.
   */
  private channelReady(bot: Bot): void {
    const ch = bot.channel;
    if (!bot.seated || !ch?.isOpen) return;
    if (ch.datagramsIn === 0) {
      this.probe(bot);
      return;
    }
    bot.ws.send(appFrame(encodeClientMessage({ kind: 'inputPath', path: 'webrtc' })));
    this.markStarted(bot);
  }

  private markStarted(bot: Bot): void {
    if (bot.started) return;
    bot.started = true;
    bot.onStarted?.();
  }

  private onText(bot: Bot, text: string): void {
    switch (text[0]) {
      case EIO_OPEN:
        bot.ws.send(encoder.encode({ type: SIO_CONNECT, nsp: '/' })[0]);
        return;
      case EIO_PING:
        bot.ws.send(EIO_PONG);
        return;
      case EIO_CLOSE:
        bot.ws.close();
        return;
      default:
        return;
    }
  }

  /** A socket.io packet from Concord's relay. */
  private onPacket(bot: Bot, p: SocketIoPacket): void {
    if (p.type === SIO_EVENT) {
      const data = p.data as unknown[];
      if (data[0] === APP_EVENT && data[1] instanceof Uint8Array)
        this.onServerMessage(bot, data[1]);
      else this.undecodable++;
    } else if (p.type === SIO_CONNECT) {
      const join = encodeClientMessage({ kind: 'join', scene: this.o.scene, participantId: null });
      bot.ws.send(appFrame(join));
      if (this.o.kind === 'concord-webrtc') {
        // As a peer that knows the scene's transport: the channel opens while the room fills.
        const ch = this.openChannel(bot, 'relay', 0, 0);
        // A connect worker waits for the channel, so that at most `connectConcurrency`
        // handshakes are under way at once (the relay closes a channel not open in 10 s).
        ch.onOpen = () => {
          bot.onJoined?.();
          this.channelReady(bot);
        };
        ch.onFirstDatagram = () => this.channelReady(bot);
        ch.offer().then(
          (offer) => {
            const m = encodeClientMessage({ kind: 'rtcOffer', ...offer });
            bot.ws.send(appFrame(m));
          },
          (err: Error) => bot.onFailed?.(new Error(`bot ${bot.index}: ${err.message}`)),
        );
      } else bot.onJoined?.();
    } else if (p.type === SIO_CONNECT_ERROR) {
      bot.onFailed?.(new Error(`bot ${bot.index}: socket.io refused the connection`));
    } else if (p.type === SIO_DISCONNECT) {
      bot.ws.close();
    }
  }

  private onServerMessage(bot: Bot, bytes: Uint8Array): void {
    let m: ReturnType<typeof decodeServerMessage>;
    try {
      m = decodeServerMessage(bytes);
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      this.undecodable++;
      return;
    }
    switch (m.kind) {
      case 'input':
        this.onInput(bot, m.frame, m.input, 0);
        return;
      case 'start':
        bot.seated = true;
        if (bot.channel) {
          bot.channel.slot = m.slot;
          bot.channel.players = m.settings.players;
          this.channelReady(bot);
        } else this.markStarted(bot);
        return;
      case 'rtcAnswer':
        try {
          bot.channel?.accept(m);
        } catch (err) {
          bot.onFailed?.(
            new Error(
              `bot ${bot.index}: answer refused (${String(err)}) ${bot.channel?.states.join(' ')}`,
            ),
          );
        }
        return;
      case 'error':
        this.relayErrors++;
        this.firstRelayError ??= `${m.code}: ${m.message}`;
        return;
      default:
        return;
    }
  }

  /** A frame from the raw relay: the partner's own client message, as it sent it. */
  private onRawPacket(bot: Bot, p: SocketIoPacket): void {
    const data = p.data as unknown[];
    if (p.type !== SIO_EVENT || !(data[1] instanceof Uint8Array)) {
      this.undecodable++;
      return;
    }
    let m: ReturnType<typeof decodeClientMessage>;
    try {
      m = decodeClientMessage(data[1]);
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      this.undecodable++;
      return;
    }
    if (m.kind === 'input') this.onInput(bot, m.frame, m.input, 0);
    else this.undecodable++;
  }

  /**
   * A run of the partner's inputs from a datagram: repeats of inputs already received are
   * skipped (redundancy), the rest must follow on from the last one received.
   */
  private onRun(bot: Bot, startFrame: number, count: number, bytes: Uint8Array, at: number): void {
    for (let i = 0; i < count; i++) {
      const frame = startFrame + i;
      if (frame < bot.nextExpected) continue;
      if (frame > bot.nextExpected) {
        this.misdelivered++;
        return;
      }
      this.onInput(bot, frame, bytes, at + i * INPUT_BYTES);
    }
  }

  /** One input of the partner for `frame` (its 4 bytes at `at` in `input`), first arrival. */
  private onInput(bot: Bot, frame: number, input: Uint8Array, at: number): void {
    const now = performance.now();
    this.received++;
    const sender =
      (input[at] | (input[at + 1] << 8) | (input[at + 2] << 16) | (input[at + 3] << 24)) >>> 0;
    if (sender >= this.bots.length || frame >= bot.sentAt.length) {
      this.misdelivered++;
      return;
    }
    if (bot.sender === -1) bot.sender = sender;
    if (sender !== bot.sender || sender === bot.index || frame !== bot.nextExpected)
      this.misdelivered++;
    bot.nextExpected = frame + 1;
    const sentAt = this.bots[sender].sentAt[frame];
    if (sentAt >= this.windowStart && sentAt < this.windowEnd) {
      if (this.latencyCount < this.latencies.length)
        this.latencies[this.latencyCount++] = now - sentAt;
    }
  }

  private sendInput(bot: Bot, frame: number): void {
    if (bot.channel) {
      const now = performance.now();
      bot.sentAt[frame] = now;
      bot.lastFrame = frame;
      if (!bot.channel.sendInput(frame, frame - this.firstFrame, bot.nextExpected - 1)) return;
      this.sent++;
      if (now >= this.windowStart && now < this.windowEnd) this.windowSent++;
      return;
    }
    if (bot.ws.readyState !== WebSocket.OPEN) return;
    const bytes = encodeClientMessage({
      kind: 'input',
      frame,
      input: bot.input,
      currentFrame: frame - this.firstFrame,
    });
    const now = performance.now();
    bot.sentAt[frame] = now;
    bot.ws.send(appFrame(bytes));
    this.sent++;
    if (now >= this.windowStart && now < this.windowEnd) this.windowSent++;
  }

  /**
   * Sends every bot's inputs, one per frame from the first frame on, for `warmupMs +
   * measureMs`. The period of a frame is cut into {@link RelayLoadOptions.slotsPerFrame} slots;
   * a 1 ms timer sends every slot that is due (catching up when late, and recording how late),
   * so the rate holds even when a timer fires late.
   * @throws Error when the plan needs more frames than `maxFrames` given to connect
   */
  run(plan: LoadPlan): Promise<void> {
    const o = this.o;
    const frameMs = 1000 / o.tickRate;
    const slotMs = frameMs / o.slotsPerFrame;
    const frames = Math.ceil((plan.warmupMs + plan.measureMs) / frameMs);
    if (frames > this.maxFrames) throw new Error(`${frames} frames exceed ${this.maxFrames}`);
    const groups: Bot[][] = Array.from({ length: o.slotsPerFrame }, () => []);
    for (const b of this.bots) groups[b.index % o.slotsPerFrame].push(b);
    const totalSlots = frames * o.slotsPerFrame;
    const windowFrames = Math.ceil(plan.measureMs / frameMs) + 1;
    this.latencies = new Float64Array(this.bots.length * windowFrames);
    this.latencyCount = 0;
    this.lags = new Float64Array(totalSlots);
    this.lagCount = 0;
    const t0 = performance.now() + 10;
    this.windowStart = t0 + plan.warmupMs;
    this.windowEnd = this.windowStart + plan.measureMs;
    let cpuAtStart = process.cpuUsage();
    let loopAtStart = performance.eventLoopUtilization();
    let openedAt = 0;
    let opened = false;
    let closed = false;
    let next = 0;
    return new Promise((resolve) => {
      const tick = (): void => {
        let now = performance.now();
        if (!opened && now >= this.windowStart) {
          opened = true;
          openedAt = now;
          cpuAtStart = process.cpuUsage();
          loopAtStart = performance.eventLoopUtilization();
          plan.onWindowStart();
        }
        const due = Math.min(totalSlots, Math.floor((now - t0) / slotMs) + 1);
        while (next < due) {
          now = performance.now();
          const scheduled = t0 + next * slotMs;
          if (scheduled >= this.windowStart && scheduled < this.windowEnd)
            this.lags[this.lagCount++] = now - scheduled;
          const frame = this.firstFrame + Math.floor(next / o.slotsPerFrame);
          for (const b of groups[next % o.slotsPerFrame]) this.sendInput(b, frame);
          next++;
        }
        now = performance.now();
        if (!closed && now >= this.windowEnd) {
          closed = true;
          const cpu = process.cpuUsage(cpuAtStart);
          this.loadCpuUs = cpu.user + cpu.system;
          this.loadLoopUtilization = performance.eventLoopUtilization(loopAtStart).utilization;
          this.windowMs = now - openedAt;
          plan.onWindowEnd();
        }
        if (next < totalSlots || !closed) setTimeout(tick, 1);
        else resolve();
      };
      setTimeout(tick, Math.max(0, t0 - performance.now()));
    });
  }

  /** Waits until every input sent has arrived, or `timeoutMs` has passed. */
  async drain(timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    let resentAt = performance.now();
    while (this.received < this.sent && performance.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
      // Datagrams: as a peer's keepalive, every 20 ms a datagram with what the bot has not had
      // acknowledged and what it holds, so that a lost datagram either way is repaired.
      if (performance.now() - resentAt < 20) continue;
      resentAt = performance.now();
      for (const b of this.bots) {
        if (b.channel !== null && b.lastFrame >= 0)
          b.channel.sendInput(b.lastFrame, b.lastFrame - this.firstFrame, b.nextExpected - 1);
      }
    }
  }

  /** What the bots saw (call after {@link run} and {@link drain}). */
  result(): LoadResult {
    const lat = this.latencies.subarray(0, this.latencyCount).sort();
    const lags = this.lags.subarray(0, this.lagCount).sort();
    return {
      bots: this.bots.length,
      sent: this.sent,
      received: this.received,
      lost: this.sent - this.received,
      misdelivered: this.misdelivered,
      relayErrors: this.relayErrors,
      firstRelayError: this.firstRelayError,
      undecodable: this.undecodable,
      closedEarly: this.closedEarly,
      latencyMs: {
        p50: quantile(lat, 0.5),
        p99: quantile(lat, 0.99),
        p999: quantile(lat, 0.999),
        max: lat.length > 0 ? lat[lat.length - 1] : Number.NaN,
        samples: lat.length,
      },
      scheduleLagMs: {
        p99: quantile(lags, 0.99),
        max: lags.length > 0 ? lags[lags.length - 1] : Number.NaN,
      },
      loadCpuUs: this.loadCpuUs,
      loadLoopUtilization: this.loadLoopUtilization,
      windowMs: this.windowMs,
      windowSent: this.windowSent,
      windowReceived: this.latencyCount,
    };
  }

  /** Drops every connection at once (no close handshake). */
  close(): void {
    for (const b of this.bots) {
      b.closing = true;
      b.channel?.close();
      b.ws.terminate();
    }
  }
}
