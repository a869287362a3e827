/**
 * The match runner: one peer's whole match lifecycle, shared by the duel page, the Python
 * Worker and the headless bots. Hosts supply only what differs (the sim, the local input of a
 * tick) and read the runner's state and events to draw; nothing they do reaches back into the
 * runner's decisions.
 */
import {
  type ClientMessage,
  MAX_FAULT_REASON_LENGTH,
  PRESENCE,
  type SceneSettings,
  type ServerMessage,
} from '../protocol/index.ts';
import { type Frame, type Input, NEUTRAL_INPUT, type PlayerSlot, type Sim } from '../sim/index.ts';
import {
  type AdvanceResult,
  FixedTimestep,
  slowdownFor,
  type Transport,
} from '../sim/sync/index.ts';
import { MatchClient, type MatchObservers, type MatchStart } from './match-client.ts';
import type { Scheduler, TimerId } from './net/index.ts';

/** A client's connection to the relay, whatever carries it. */
export type RelayTransport = Transport<ClientMessage, ServerMessage>;

/** Real time the "3-2-1" countdown lasts, in ms (turned into whole frames per tick rate). */
export const COUNTDOWN_MS = 2400;

/** After this peer finished at the frame limit, how long to wait for the relay's `end`, in ms. */
export const END_GRACE_MS = 30_000;

/** First wait between two failed reconnect attempts, in ms; it doubles up to {@link MAX_RETRY_MS}. */
export const FIRST_RETRY_MS = 250;
/** Longest wait between two failed reconnect attempts, in ms. */
export const MAX_RETRY_MS = 2000;

/**
 * Frames of the "3-2-1" countdown of a scene: `countdownMs` (default {@link COUNTDOWN_MS}) in
 * whole frames at its tick rate, at most half of its frame limit (when it has one). Local inputs
 * of these frames are the sim's default input on every peer, so nobody moves before "GO".
 */
export function countdownFramesFor(
  settings: { readonly tickRate: number; readonly frames: Frame },
  countdownMs = COUNTDOWN_MS,
): Frame {
  const countdown = Math.round((countdownMs / 1000) * settings.tickRate);
  return settings.frames > 0 ? Math.min(countdown, Math.floor(settings.frames / 2)) : countdown;
}

/**
 * A seat in a running match: what a peer needs to rejoin it after a dropped connection or a
 * reload (the browser page keeps it in `sessionStorage` while the match runs). `token` is the
 * secret of the relay's `start` message; `rejoinGraceMs` and `onPlayerLost` are the scene's, so
 * that a reloaded page knows how long to try and what to say when it is too late.
 */
export interface Seat {
  readonly matchId: string;
  readonly token: string;
  readonly slot: PlayerSlot;
  readonly scene: string;
  readonly participantId: string | null;
  /** The scene's grace period for a rejoin, ms (0: none). */
  readonly rejoinGraceMs: number;
  /** What the match does without a player lost for good. */
  readonly onPlayerLost: SceneSettings['onPlayerLost'];
  /** Times this seat was rejoined so far (a reloaded page counts on from it; default 0). */
  readonly rejoins?: number;
}

/**
 * Where the runner is:
 * - `idle`: not queued (before {@link MatchRunner.join}, after a cancel or a refused join);
 * - `connecting`: opening the connection to join;
 * - `waiting`: queued while the room fills ({@link MatchRunner.queue});
 * - `countdown`, `playing`: the match runs (local inputs are the sim's default in the countdown);
 * - `reconnecting`: the connection dropped (or the page reloaded) and the runner is getting its
 *   seat back, until the state transfer is in and it ticks again;
 * - `ended`: the match is over for this peer ({@link MatchRunner.end}).
 */
export type RunnerPhase =
  | 'idle'
  | 'connecting'
  | 'waiting'
  | 'countdown'
  | 'playing'
  | 'reconnecting'
  | 'ended';

/** Why and how the match ended for this peer. */
export interface RunnerEnd {
  /**
   * - `frame-limit`: this peer reached its frame limit and reported that frame's hash (`done`);
   * - `relay`: the relay ended the match;
   * - `alone`: every other player left;
   * - `lost`: the connection dropped and the seat could not be rejoined (refused, or the grace
   *   period passed): the match went on without this peer, or ended, per `onPlayerLost`;
   * - `left`: the host left the match ({@link MatchRunner.leave});
   * - `error`: the sim threw (the relay was told with a `fault`), or the sim could not be made.
   */
  readonly kind: 'frame-limit' | 'relay' | 'alone' | 'lost' | 'left' | 'error';
  /** Why, in words, for the participant (e.g. "the match went on without you"). */
  readonly reason: string;
  /** What lay behind it, when known (the close reason, the relay's refusal, what the sim threw). */
  readonly detail: string | null;
}

/** What a runner tells its host; listeners only read, they never steer the runner. */
export type RunnerEvent<Snap = unknown> =
  | { readonly type: 'phase'; readonly phase: RunnerPhase }
  /** The relay's queue count: `waiting` of `players` are queued. */
  | { readonly type: 'queue'; readonly waiting: number; readonly players: number }
  /**
   * A new match client: at the relay's `start` (`rejoin` false) or after a rejoin (true; its state
   * transfer follows, and it ticks once {@link MatchClient.ready}).
   */
  | { readonly type: 'match'; readonly match: MatchClient<Snap>; readonly rejoin: boolean }
  /** One tick ran; `changed`: the sim's state changed (anything but hashing and freeing). */
  | {
      readonly type: 'tick';
      readonly frame: Frame;
      readonly result: AdvanceResult;
      readonly changed: boolean;
      /** Time the tick took on the runner's clock, in ms (0 on a virtual clock). */
      readonly durationMs: number;
    }
  /** One pass of the loop ran `ticks` ticks at `nowMs`; `changed` as for `tick`. */
  | {
      readonly type: 'pass';
      readonly ticks: number;
      readonly changed: boolean;
      readonly nowMs: number;
    }
  /** The slots that are away (their connection dropped; the relay plays their default input). */
  | { readonly type: 'away'; readonly away: ReadonlySet<PlayerSlot> }
  /** The relay refused something, or a connection failed, in words. */
  | { readonly type: 'error'; readonly message: string; readonly refused: string | null }
  | { readonly type: 'ended'; readonly end: RunnerEnd }
  /** The runner closed its connection for good and does nothing more. */
  | { readonly type: 'closed' };

/** Settings of a {@link MatchRunner}. */
export interface MatchRunnerOptions<Snap> {
  /** Opens a new connection to the relay (called again for every rejoin attempt). */
  readonly connect: () => Promise<RelayTransport>;
  /**
   * The clock that drives the loop, the heartbeat, the reconnect attempts and the grace period:
   * a `RealClock` for bots and the Worker, a clock the page pumps from its display frames, a
   * `VirtualClock` in tests.
   */
  readonly scheduler: Scheduler;
  /** The scene to join. */
  readonly scene: string;
  /** The experiment's id for this person, sent with `join` and `rejoin`. */
  readonly participantId: string | null;
  /** Rejoin this seat (a reloaded page) instead of joining the queue; see {@link MatchRunner.join}. */
  readonly seat?: Seat | null;
  /**
   * The sim for a match, from the relay's `start` (or `rejoined`) message: called once per match
   * client, so again after each rejoin (the state transfer then loads into it).
   * @throws anything: the runner ends with `error`
   */
  readonly createSim: (start: MatchStart) => Sim<Snap>;
  /**
   * The local input for the tick that steps from `frame`; null for the sim's default input (a
   * hidden page, say). Called on every tick, also during the countdown (when the runner plays the
   * default input whatever it returns), so that a press during the countdown does not act at "GO".
   */
  readonly input: (frame: Frame) => Input | null;
  /** Length of the countdown, ms (default {@link COUNTDOWN_MS}; 0: none). */
  readonly countdownMs?: number;
  /**
   * Frames to play: at this confirmed frame (rounded up to a multiple of the scene's
   * hashInterval, the frames whose hash peers keep) the runner reports `done` and the match ends
   * for it with `frame-limit`. Default: the scene's frame limit (0: none).
   */
  readonly frames?: Frame;
  /**
   * Play on when every other player has left (headless bots measuring to their frame limit);
   * by default the match then ends with `alone`.
   */
  readonly playAlone?: boolean;
  /** Observers of every match client, for measurement. */
  readonly observers?: MatchObservers;
  /** Interval of the loop's passes, ms (default a quarter tick, within 4..16). */
  readonly passMs?: number;
  /** After `frame-limit`, how long to wait for the relay's `end` before closing, ms. */
  readonly endGraceMs?: number;
}

/**
 * One peer's match through the relay, from join to end, rejoins included:
 *
 * - **join**: connect, `join` the scene, show the queue count, start at the relay's `start`;
 * - **tick loop** on the injected {@link Scheduler}: a fixed timestep turns elapsed time into
 *   ticks, slowed down gently while this peer runs ahead (time sync); the local input is the
 *   sim's default during the countdown;
 * - **heartbeat**: a `ping` at least every `PRESENCE.heartbeatMs` while in a match, so that the
 *   relay can tell a stalled peer from an absent one (and the overlay shows the round trip);
 * - **end**: at the frame limit (after reporting `done`), when the relay ends the match, or when
 *   every other player left;
 * - **rejoin**: when the connection closes mid-match, `reconnecting`: new connections are tried
 *   until the scene's `rejoinGraceMs` has passed, then `rejoin {matchId, token, participantId}`;
 *   at `rejoined` a new {@link MatchClient} takes the state transfer and the inputs since. A
 *   refused rejoin, or none within the grace period, ends the match for this peer (`lost`) with
 *   the reason the scene's `onPlayerLost` gives: "the match went on without you" or "the match
 *   ended".
 *
 * Hosts read {@link phase}, {@link match}, {@link seat}, {@link away} and the events of
 * {@link on}; they command only {@link join}, {@link cancel} and {@link leave}.
 */
export class MatchRunner<Snap = unknown> {
  /** Where the runner is; see {@link RunnerPhase}. */
  phase: RunnerPhase = 'idle';
  /** The current match client (after a rejoin, the new one), once a match started. */
  match: MatchClient<Snap> | null = null;
  /** Every match client of this seat, oldest first (one more per rejoin). */
  readonly matches: MatchClient<Snap>[] = [];
  /** The seat while the match runs for this peer (null before the start and after the end). */
  seat: Seat | null;
  /** The relay's last queue count while waiting. */
  queue: { readonly waiting: number; readonly players: number } | null = null;
  /** Times this peer got its seat back after a drop. */
  rejoins = 0;
  /** Slots of the other players who are away now. */
  readonly away = new Set<PlayerSlot>();
  /** How the match ended for this peer, once it has. */
  end: RunnerEnd | null = null;
  /** Frames of the countdown of the current match. */
  countdownFrames: Frame = 0;
  /** The frame whose hash this peer reports with `done` (null: no frame limit). */
  finalFrame: Frame | null = null;
  /** The hash reported with `done`, once reported. */
  finalHash: string | null = null;
  /** Resolves once the runner closed its connection for good, with how the match ended. */
  readonly closed: Promise<RunnerEnd | null>;

  private readonly o: MatchRunnerOptions<Snap>;
  private readonly clock: Scheduler;
  private readonly listeners: ((e: RunnerEvent<Snap>) => void)[] = [];
  private transport: RelayTransport | null = null;
  /** Bumped whenever an attempt (connect, rejoin) is superseded, so a late answer is dropped. */
  private generation = 0;
  private timestep: FixedTimestep | null = null;
  private idleInput: Input = NEUTRAL_INPUT;
  private passTimer: TimerId | null = null;
  private graceTimer: TimerId | null = null;
  private retryTimer: TimerId | null = null;
  private endTimer: TimerId | null = null;
  private lastPassMs: number | null = null;
  private nextPingMs = Number.NEGATIVE_INFINITY;
  private pingId = 0;
  private aloneSince: Frame | null = null;
  /** The match client that has been ready (see {@link ready}). */
  private readyMatch: MatchClient<Snap> | null = null;
  private retryMs = FIRST_RETRY_MS;
  private resolveClosed: (end: RunnerEnd | null) => void = () => {};
  private isClosed = false;

  constructor(options: MatchRunnerOptions<Snap>) {
    this.o = options;
    this.clock = options.scheduler;
    this.seat = options.seat ?? null;
    this.rejoins = this.seat?.rejoins ?? 0;
    this.closed = new Promise((resolve) => {
      this.resolveClosed = resolve;
    });
  }

  /**
   * Follows the runner: `listener` gets every event from now on.
   * @returns a function that stops following
   */
  on(listener: (e: RunnerEvent<Snap>) => void): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  /** The interpolation fraction (0..1) between the last two states, for drawing. */
  get alpha(): number {
    return this.timestep?.alpha ?? 0;
  }

  /** Real time given up because the loop fell more than a second behind, in ms. */
  get droppedMs(): number {
    return this.timestep?.droppedMs ?? 0;
  }

  /**
   * Joins the scene's queue, or, when the runner was given a seat, rejoins that seat. Does
   * nothing unless `idle`. A connection kept from a cancelled wait is reused.
   */
  join(): void {
    if (this.phase !== 'idle' || this.isClosed) return;
    if (this.seat) {
      this.reconnect('rejoining the seat this page held');
      return;
    }
    if (this.transport?.state === 'open') {
      this.sendJoin(this.transport);
      return;
    }
    this.setPhase('connecting');
    const gen = ++this.generation;
    this.open().then(
      (t) => {
        if (gen !== this.generation || this.phase !== 'connecting') {
          t.close();
          return;
        }
        this.attach(t);
        this.sendJoin(t);
      },
      (err: unknown) => {
        if (gen !== this.generation) return;
        this.emit({ type: 'error', message: messageOf(err), refused: null });
        this.setPhase('idle');
      },
    );
  }

  /** Leaves the queue (only while `waiting` or `connecting`); the connection is kept. */
  cancel(): void {
    if (this.phase === 'connecting') this.generation++;
    else if (this.phase === 'waiting') this.transport?.send({ kind: 'cancel' });
    else return;
    this.queue = null;
    this.setPhase('idle');
  }

  /**
   * Leaves for good, now: a match under way ends with `left` (the relay keeps the seat for the
   * grace period, then goes on without it); before a match, the runner just closes.
   */
  leave(reason = 'left the match'): void {
    if (this.isClosed) return;
    this.generation++;
    if (this.match && this.phase !== 'ended') {
      this.finish({ kind: 'left', reason, detail: null }, true);
      return;
    }
    if (this.phase !== 'ended') this.setPhase('ended');
    this.shutdown();
  }

  // -------------------------------------------------------------------------------------------
  // Connections

  private open(): Promise<RelayTransport> {
    // A connect that throws at once becomes a rejected promise like any failed connect.
    return Promise.resolve().then(() => this.o.connect());
  }

  private attach(t: RelayTransport): void {
    this.transport = t;
    t.onMessage((m) => {
      if (t === this.transport) this.onMessage(m);
    });
    t.onClose((reason) => {
      if (t === this.transport) this.onClose(reason);
    });
  }

  private sendJoin(t: RelayTransport): void {
    this.queue = null;
    this.setPhase('waiting');
    t.send({ kind: 'join', scene: this.o.scene, participantId: this.o.participantId });
  }

  private onClose(reason: string): void {
    this.transport = null;
    switch (this.phase) {
      case 'countdown':
      case 'playing':
        this.reconnect(`the connection to the relay closed (${reason})`);
        return;
      case 'reconnecting':
        // A new connection closed before the seat was back: try again while the grace lasts.
        this.scheduleRetry();
        return;
      case 'ended':
        this.shutdown();
        return;
      default:
        this.emit({
          type: 'error',
          message: `lost the connection to the relay (${reason})`,
          refused: null,
        });
        this.queue = null;
        if (this.phase !== 'idle') this.setPhase('idle');
    }
  }

  /** Starts getting the seat back: reconnect attempts until the grace period has passed. */
  private reconnect(why: string): void {
    const seat = this.seat;
    if (!seat) return;
    this.stopLoop();
    this.setPhase('reconnecting');
    if (seat.rejoinGraceMs <= 0) {
      this.lose(`${why}; this scene has no grace period for a rejoin`);
      return;
    }
    this.cancelTimer('graceTimer');
    this.graceTimer = this.clock.at(this.clock.now() + seat.rejoinGraceMs, () => {
      this.graceTimer = null;
      this.lose(`${why}, and the seat was not rejoined within ${seat.rejoinGraceMs} ms`);
    });
    this.retryMs = FIRST_RETRY_MS;
    this.tryRejoin();
  }

  private tryRejoin(): void {
    this.retryTimer = null;
    const seat = this.seat;
    if (this.phase !== 'reconnecting' || !seat) return;
    const gen = ++this.generation;
    this.open().then(
      (t) => {
        if (gen !== this.generation || this.phase !== 'reconnecting') {
          t.close();
          return;
        }
        this.attach(t);
        t.send({
          kind: 'rejoin',
          matchId: seat.matchId,
          token: seat.token,
          participantId: seat.participantId,
        });
      },
      () => {
        if (gen === this.generation) this.scheduleRetry();
      },
    );
  }

  private scheduleRetry(): void {
    if (this.phase !== 'reconnecting' || this.retryTimer !== null) return;
    const wait = this.retryMs;
    this.retryMs = Math.min(MAX_RETRY_MS, this.retryMs * 2);
    this.retryTimer = this.clock.at(this.clock.now() + wait, () => this.tryRejoin());
  }

  /** The seat is lost for good: the match goes on without this peer, or ends. */
  private lose(detail: string): void {
    if (this.phase === 'ended') return;
    const ends = (this.seat?.onPlayerLost ?? this.match?.settings.onPlayerLost) === 'end';
    this.generation++;
    this.finish(
      {
        kind: 'lost',
        reason: ends ? 'the match ended' : 'the match went on without you',
        detail,
      },
      true,
    );
  }

  // -------------------------------------------------------------------------------------------
  // Messages

  private onMessage(m: ServerMessage): void {
    switch (m.kind) {
      case 'waiting':
        if (this.phase !== 'waiting') return;
        this.queue = { waiting: m.waiting, players: m.players };
        this.emit({ type: 'queue', waiting: m.waiting, players: m.players });
        return;
      case 'start':
        if (this.phase === 'waiting') this.begin(m);
        return;
      case 'rejoined':
        if (this.phase === 'reconnecting') this.begin(m);
        return;
      case 'error':
        this.emit({
          type: 'error',
          message: `${m.message} (${m.code})`,
          refused: m.refused ?? null,
        });
        if (m.refused === 'join' && this.phase === 'waiting') {
          this.queue = null;
          this.setPhase('idle');
        } else if (m.refused === 'rejoin' && this.phase === 'reconnecting') {
          this.lose(`the relay refused the rejoin: ${m.message}`);
        }
        return;
      case 'peerAway':
        this.away.add(m.slot);
        this.emit({ type: 'away', away: this.away });
        return;
      case 'peerRejoined':
        if (this.away.delete(m.slot)) this.emit({ type: 'away', away: this.away });
        return;
      case 'peerLeft':
        if (this.away.delete(m.slot)) this.emit({ type: 'away', away: this.away });
        break;
      default:
        break;
    }
    const match = this.match;
    if (!match) return;
    try {
      match.handle(m, this.clock.now());
    } catch (err) {
      this.fault(match, err);
      return;
    }
    if (m.kind !== 'end') return;
    // At once: the relay closes the connection next, which must not look like a drop.
    if (this.phase === 'ended') this.shutdown();
    else this.finish(this.checkEnd(match) ?? relayEnd(m.reason), true);
  }

  /** A match client for the relay's `start` or `rejoined`, and the loop for it. */
  private begin(start: MatchStart): void {
    const t = this.transport;
    if (!t) return;
    let match: MatchClient<Snap>;
    try {
      match = new MatchClient(t, start, this.o.observers ?? {}, this.o.createSim(start));
    } catch (err) {
      this.finish(
        { kind: 'error', reason: 'the sim could not be made', detail: messageOf(err) },
        true,
      );
      return;
    }
    const rejoin = start.kind === 'rejoined';
    const s = start.settings;
    this.cancelTimer('graceTimer');
    this.cancelTimer('retryTimer');
    this.match = match;
    this.matches.push(match);
    if (rejoin) this.rejoins++;
    this.seat = seatOf(
      start,
      this.seat?.scene ?? this.o.scene,
      this.seat?.participantId ?? this.o.participantId,
      this.rejoins,
    );
    this.timestep = new FixedTimestep({ tickRate: s.tickRate });
    this.countdownFrames = countdownFramesFor(s, this.o.countdownMs);
    const frames = this.o.frames ?? s.frames;
    // A peer-to-peer peer reports a frame whose hash every peer keeps; an authoritative client,
    // the first host state it loads from there on.
    const multiple = s.mode === 'authoritative' ? 1 : s.hashInterval;
    this.finalFrame = frames > 0 ? Math.ceil(frames / multiple) * multiple : null;
    const sim = match.sim;
    this.idleInput = sim.defaultInput?.(start.slot) ?? NEUTRAL_INPUT;
    this.aloneSince = null;
    if (!rejoin) this.away.clear();
    this.emit({ type: 'match', match, rejoin });
    if (!rejoin) this.setPhase(this.countdownFrames > 0 ? 'countdown' : 'playing');
    this.startLoop();
  }

  // -------------------------------------------------------------------------------------------
  // The loop

  private startLoop(): void {
    this.stopLoop();
    this.lastPassMs = null;
    this.nextPingMs = Number.NEGATIVE_INFINITY;
    this.passTimer = this.clock.at(this.clock.now(), () => this.pass());
  }

  private stopLoop(): void {
    this.cancelTimer('passTimer');
  }

  private passInterval(): number {
    if (this.o.passMs !== undefined) return this.o.passMs;
    const tickMs = this.timestep?.tickMs ?? 16;
    return Math.max(4, Math.min(16, tickMs / 4));
  }

  private pass(): void {
    this.passTimer = null;
    const match = this.match;
    const t = this.transport;
    if (!match || !t || this.isClosed) return;
    const now = this.clock.now();
    this.heartbeat(t, now, match);
    if (this.phase === 'ended') {
      // Finished at the frame limit, waiting for the relay's end: only the heartbeat goes on.
      this.passTimer = this.clock.at(this.nextPingMs, () => this.pass());
      return;
    }
    const elapsed = this.lastPassMs === null ? 0 : now - this.lastPassMs;
    this.lastPassMs = now;
    let ticks = 0;
    let changed = false;
    if (this.ready(match)) {
      const timestep = this.timestep!;
      ticks = timestep.update(elapsed);
      // An authoritative client behind the host's frame plus a round trip catches up (its inputs
      // would arrive too late), a few extra ticks per pass; a peer-to-peer one only slows down.
      if (match.authoritative) ticks += catchUpTicks(match.frameAdvantage(now));
      for (let i = 0; i < ticks; i++) {
        const frame = match.frame;
        const sampled = this.o.input(frame);
        const input = frame < this.countdownFrames || sampled === null ? this.idleInput : sampled;
        const t0 = this.clock.now();
        let result: AdvanceResult;
        try {
          result = match.tick(input, now);
        } catch (err) {
          this.fault(match, err);
          return;
        }
        const tickChanged = result.requests.some((r) => r.kind !== 'hash' && r.kind !== 'free');
        changed ||= tickChanged;
        this.emit({
          type: 'tick',
          frame: match.frame,
          result,
          changed: tickChanged,
          durationMs: this.clock.now() - t0,
        });
        // A listener may have closed the connection (a bot's cut) or ended the match.
        if (this.superseded(t, match)) return;
      }
      timestep.setSlowdown(slowdownFor(match.frameAdvantage(now)));
      const phase = match.frame < this.countdownFrames ? 'countdown' : 'playing';
      if (this.phase !== phase) this.setPhase(phase);
    }
    this.emit({ type: 'pass', ticks, changed, nowMs: now });
    if (this.superseded(t, match)) return;
    const end = this.checkEnd(match);
    if (end) {
      this.finish(end, end.kind !== 'frame-limit' || match.endReason !== null);
      return;
    }
    const wait = Math.min(this.passInterval(), Math.max(0, this.nextPingMs - now));
    this.passTimer = this.clock.at(now + wait, () => this.pass());
  }

  /**
   * Whether `match` ticks: {@link MatchClient.ready}, latched. A rejoined client is ready once it
   * holds the state and its own inputs up to the frame it resumes at; those inputs are later
   * dropped (after an agreed check), which must not stop the match again.
   */
  private ready(match: MatchClient<Snap>): boolean {
    if (this.readyMatch === match) return true;
    if (!match.ready) return false;
    this.readyMatch = match;
    return true;
  }

  /** True when a listener closed the connection, ended the match, or a rejoin replaced it. */
  private superseded(t: RelayTransport, match: MatchClient<Snap>): boolean {
    return this.transport !== t || this.match !== match || this.phase === 'ended';
  }

  /**
   * A `ping` when one is due: at least every `PRESENCE.heartbeatMs` while in a match, with this
   * peer's round trip to the relay, rollbacks and stalls (`stats`, for the relay's admin view).
   */
  private heartbeat(t: RelayTransport, now: number, match: MatchClient<Snap>): void {
    if (now < this.nextPingMs) return;
    this.nextPingMs = now + PRESENCE.heartbeatMs;
    const s = match.peer.session.stats();
    const stats = {
      rttMs: Math.min(3_600_000, Math.max(0, Math.round(match.relayRttMs))),
      rollbacks: Math.min(0xffff_ffff, s.rollbacks),
      stalls: Math.min(0xffff_ffff, s.stalls),
    };
    t.send({ kind: 'ping', id: this.pingId, sentMs: now, stats });
    this.pingId = (this.pingId + 1) >>> 0;
  }

  private checkEnd(match: MatchClient<Snap>): RunnerEnd | null {
    if (this.finalFrame !== null && this.finalHash === null && this.ready(match)) {
      this.finalHash = match.finishAt(this.finalFrame);
    }
    if (this.finalHash !== null) {
      return {
        kind: 'frame-limit',
        reason: `the match reached its ${this.finalFrame}-frame limit`,
        detail: null,
      };
    }
    if (match.endReason !== null) return relayEnd(match.endReason);
    const players = match.settings.players;
    if (!this.o.playAlone && players > 1 && match.departed.size >= players - 1) {
      // Wait for one tick after the news, so that the late inputs have been rolled back in.
      const frame = match.frame;
      this.aloneSince ??= frame;
      if (frame > this.aloneSince) {
        return { kind: 'alone', reason: 'every other player left', detail: null };
      }
    }
    return null;
  }

  /** The sim threw: tell the relay (`fault`), which logs it and goes on without this seat. */
  private fault(match: MatchClient<Snap>, err: unknown): void {
    const reason = messageOf(err).slice(0, MAX_FAULT_REASON_LENGTH);
    this.transport?.send({ kind: 'fault', frame: match.frame, reason });
    this.finish({ kind: 'error', reason: 'the sim threw', detail: reason }, true);
  }

  // -------------------------------------------------------------------------------------------
  // The end

  /**
   * The match is over for this peer. `close`: close the connection now; otherwise (at the frame
   * limit) keep it, with the heartbeat, until the relay's `end` or `endGraceMs`.
   */
  private finish(end: RunnerEnd, close: boolean): void {
    if (this.phase === 'ended') return;
    this.end = end;
    this.seat = null;
    this.cancelTimer('graceTimer');
    this.cancelTimer('retryTimer');
    this.stopLoop();
    this.setPhase('ended');
    this.emit({ type: 'ended', end });
    if (close || !this.transport) {
      this.shutdown();
      return;
    }
    this.endTimer = this.clock.at(this.clock.now() + (this.o.endGraceMs ?? END_GRACE_MS), () =>
      this.shutdown(),
    );
    this.passTimer = this.clock.at(this.nextPingMs, () => this.pass());
  }

  /** Closes the connection and every timer, for good. */
  private shutdown(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.generation++;
    for (const k of ['passTimer', 'graceTimer', 'retryTimer', 'endTimer'] as const) {
      this.cancelTimer(k);
    }
    const t = this.transport;
    this.transport = null;
    t?.close();
    this.emit({ type: 'closed' });
    this.resolveClosed(this.end);
  }

  private cancelTimer(k: 'passTimer' | 'graceTimer' | 'retryTimer' | 'endTimer'): void {
    const id = this[k];
    if (id !== null) this.clock.cancel(id);
    this[k] = null;
  }

  private setPhase(phase: RunnerPhase): void {
    this.phase = phase;
    this.emit({ type: 'phase', phase });
  }

  private emit(e: RunnerEvent<Snap>): void {
    for (const l of [...this.listeners]) l(e);
  }
}

/**
 * Extra ticks for a pass of an authoritative client `frameAdvantage` frames ahead of where it
 * should be: none unless more than a frame behind, then up to 4 per pass.
 */
export function catchUpTicks(frameAdvantage: number): number {
  return frameAdvantage < -1 ? Math.min(4, Math.floor(-frameAdvantage)) : 0;
}

function relayEnd(reason: string): RunnerEnd {
  return { kind: 'relay', reason: `the relay ended the match: ${reason}`, detail: reason };
}

function seatOf(
  start: MatchStart,
  scene: string,
  participantId: string | null,
  rejoins: number,
): Seat {
  return {
    rejoins,
    matchId: start.matchId,
    token: start.token,
    slot: start.slot,
    scene,
    participantId,
    rejoinGraceMs: start.settings.rejoinGraceMs,
    onPlayerLost: start.settings.onPlayerLost,
  };
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
