import { ConcordError, type Frame, type Input, NEUTRAL_INPUT, type PlayerSlot } from '../index.ts';
import { InputQueue } from './input-queue.ts';
import { TimeSync } from './time-sync.ts';
import type {
  HashReport,
  SaveStrategy,
  SessionEvent,
  SessionMessage,
  SessionRequest,
  SessionStats,
  SyncMode,
} from './types.ts';

/**
 * Settings of a {@link SyncSession}; every field but `players` and `localSlot` has a default.
 * The ranges of scene settings are protocol's table of scene limits (`SCENE_LIMITS`), checked
 * where settings enter (the wire, the experiment file, the command line); the session checks only
 * what its own logic needs (integers, a slot among the players, a window of at least one frame
 * in rollback).
 */
export interface SessionSettings {
  /** Players in the match, at least 1. */
  readonly players: number;
  /** This peer's slot, 0..players-1. */
  readonly localSlot: PlayerSlot;
  /** Frames per second (default 60), used only to turn round trips into frames for time sync. */
  readonly tickRate?: number;
  /** Default `rollback`. */
  readonly mode?: SyncMode;
  /** D: a local input captured at frame f is stamped for f + D. Frames, default 2, at least 0. */
  readonly inputDelay?: number;
  /**
   * W: most frames whose inputs may be predicted; past it the session stalls. Frames, default 8,
   * at least 1; lockstep forces 0.
   */
  readonly maxPredictionWindow?: number;
  /**
   * Remote inputs stamped further than this past the current frame are refused and counted (a
   * memory bound). Frames; default unbounded. The match client passes protocol's
   * `SCENE_LIMITS.framesAhead.max`, the bound the relay enforces too.
   */
  readonly maxFramesAhead?: number;
  /** Default `ring`. */
  readonly saveStrategy?: SaveStrategy;
  /** K: hash the confirmed frames f with f mod K = 0. Frames, default 1 (every frame), >= 1. */
  readonly hashInterval?: number;
  /**
   * How to predict a missing remote input: `repeat-last` (the last confirmed input of that
   * player; GGPO's default) or `default` (the sim's default input). Default `repeat-last`.
   */
  readonly prediction?: 'repeat-last' | 'default';
  /** The sim's default input for a slot (default: the neutral input). */
  readonly defaultInput?: (slot: PlayerSlot) => Input;
  /** Interval between round-trip probes, in ms (default 500). */
  readonly pingIntervalMs?: number;
}

/** The outcome of one {@link SyncSession.advanceFrame} call. */
export interface AdvanceResult {
  /** What the sim must do, in order. */
  readonly requests: SessionRequest[];
  /** True when the session could not advance this tick. */
  readonly stalled: boolean;
}

/**
 * One peer's sync session, independent of transport and of the sim: each tick it takes the local
 * input and whatever remote inputs arrived, and returns the ordered requests (save, load, advance,
 * hash) that keep this peer's copy equal to every other peer's. Lockstep and rollback share
 * it; a state arriving from elsewhere (a host's resync, an authoritative relay) is a load plus a
 * re-simulation, exactly like a rollback ({@link loadState}).
 *
 * Idea: GGPO's `SyncLayer` and GGRS's `P2PSession::advance_frame`, which returns requests
 * rather than calling back into the game.
 */
export class SyncSession {
  readonly players: number;
  readonly localSlot: PlayerSlot;
  readonly mode: SyncMode;
  readonly inputDelay: number;
  readonly maxPredictionWindow: number;
  readonly saveStrategy: SaveStrategy;
  readonly hashInterval: number;

  private readonly queues: InputQueue[];
  private readonly timeSync: TimeSync;
  private readonly defaultInput: (slot: PlayerSlot) => Input;
  private readonly predictDefault: boolean;
  private readonly pingIntervalMs: number;
  private readonly maxFramesAhead: number;
  private readonly listeners: ((e: SessionEvent) => void)[] = [];
  private readonly outgoing: SessionMessage[] = [];
  private readonly saved = new Set<Frame>();
  private readonly hashes = new Map<Frame, string>();

  private current: Frame = 0;
  private started = false;
  private lastChecked: Frame = -1;
  private lastConfirmedSave: Frame = 0;
  private lastPingMs = Number.NEGATIVE_INFINITY;
  private pendingRestore: { frame: Frame; state: Uint8Array; fastForward: boolean } | null = null;
  private retainFrom: Frame = 0;
  private requests: SessionRequest[] = [];

  private rollbacks = 0;
  private lastRollbackDepth = 0;
  private maxRollbackDepth = 0;
  private rollbackFrames = 0;
  private stalls = 0;
  private maxPredictedFrames = 0;
  private refusedInputs = 0;
  private restores = 0;

  /** @throws ConcordError `BAD_CONFIG` when a setting is out of its range. */
  constructor(settings: SessionSettings) {
    const s = settings;
    this.players = s.players;
    this.localSlot = s.localSlot;
    this.mode = s.mode ?? 'rollback';
    this.inputDelay = s.inputDelay ?? 2;
    this.maxPredictionWindow = this.mode === 'lockstep' ? 0 : (s.maxPredictionWindow ?? 8);
    this.saveStrategy = s.saveStrategy ?? 'ring';
    this.hashInterval = s.hashInterval ?? 1;
    this.defaultInput = s.defaultInput ?? (() => NEUTRAL_INPUT);
    this.predictDefault = s.prediction === 'default';
    this.pingIntervalMs = s.pingIntervalMs ?? 500;
    this.maxFramesAhead = s.maxFramesAhead ?? Number.POSITIVE_INFINITY;
    const any = Number.MAX_SAFE_INTEGER;
    checkRange('players', this.players, 1, any);
    checkRange('localSlot', this.localSlot, 0, this.players - 1);
    checkRange('inputDelay', this.inputDelay, 0, any);
    if (this.mode === 'rollback')
      checkRange('maxPredictionWindow', this.maxPredictionWindow, 1, any);
    checkRange('hashInterval', this.hashInterval, 1, any);
    this.timeSync = new TimeSync(this.players, this.localSlot, s.tickRate ?? 60);
    this.queues = [];
    for (let p = 0; p < this.players; p++) {
      const q = new InputQueue();
      // Nobody stamps inputs before the input delay: every peer knows them to be the default.
      for (let f = 0; f < this.inputDelay; f++) q.add(f, this.defaultInput(p));
      this.queues.push(q);
    }
  }

  /** Subscribes to session events; returns the unsubscribe function. */
  on(listener: (e: SessionEvent) => void): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  /** The current frame: the state the sim holds after the last requests is S(frame). */
  get frame(): Frame {
    return this.current;
  }

  /** The confirmed frame: every player's input for every frame up to it is known. */
  get confirmedFrame(): Frame {
    let c = Number.POSITIVE_INFINITY;
    for (const q of this.queues) c = Math.min(c, q.lastConfirmedFrame);
    return c;
  }

  /** The state hash of confirmed frame `frame` (16 hex digits), or null if not hashed. */
  hashAt(frame: Frame): string | null {
    return this.hashes.get(frame) ?? null;
  }

  /** Every confirmed-frame hash recorded so far, by frame. */
  confirmedHashes(): ReadonlyMap<Frame, string> {
    return this.hashes;
  }

  /** The confirmed input of `slot` at `frame`, or undefined when not (yet) known. */
  confirmedInput(slot: PlayerSlot, frame: Frame): Input | undefined {
    return this.queues[slot].get(frame);
  }

  /**
   * Takes a message from the peer in `from` (delivered by the transport), at local time `nowMs`.
   * Inputs for frames already known are ignored; inputs stamped more than `maxFramesAhead` frames
   * ahead of the current frame (or of a state loaded with {@link loadState} but not yet restored)
   * are refused and counted.
   */
  receive(from: PlayerSlot, msg: SessionMessage, nowMs: number): void {
    if (from === this.localSlot || from < 0 || from >= this.players) return;
    switch (msg.kind) {
      case 'input': {
        // Ahead of the frame this peer is about to be at: a rejoining peer gets the inputs since
        // its state right after the state, before the tick that loads it moves it there.
        const at = Math.max(this.current, this.pendingRestore?.frame ?? 0);
        if (msg.frame > at + this.maxFramesAhead) {
          this.refusedInputs++;
          return;
        }
        const q = this.queues[from];
        const conflicts = q.conflicts;
        q.add(msg.frame, msg.input);
        if (q.conflicts !== conflicts) this.refusedInputs++;
        this.timeSync.onRemoteFrame(from, msg.currentFrame, this.current);
        return;
      }
      case 'ping':
        this.outgoing.push({ kind: 'pong', to: from, sentMs: msg.sentMs });
        return;
      case 'pong':
        if (msg.to === this.localSlot) this.timeSync.setRtt(from, Math.max(0, nowMs - msg.sentMs));
        return;
    }
  }

  /**
   * The player in `slot` left after its input for `lastFrame` (-1 when it sent none), as the
   * relay reports it: from then on its input is the sim's default, confirmed, so the match goes
   * on without it and every peer computes the same frames.
   */
  playerLeft(slot: PlayerSlot, lastFrame: Frame): void {
    if (slot === this.localSlot || slot < 0 || slot >= this.players) return;
    this.queues[slot].leaveAfter(Math.max(lastFrame, this.inputDelay - 1), this.defaultInput(slot));
  }

  /** Messages to send to every other peer, in order; the queue is emptied. */
  drainOutgoing(): SessionMessage[] {
    return this.outgoing.splice(0, this.outgoing.length);
  }

  /**
   * Loads S(frame) from its canonical encoding at the next {@link advanceFrame}, then
   * re-simulates to the present with the inputs this peer holds (or jumps ahead to `frame` when
   * it lies in this peer's future). Serves host resync, the authoritative relay and rejoins.
   * With `fastForward` it then re-simulates on to the confirmed frame in the same tick (a
   * rejoining peer catching up with inputs it already holds).
   */
  loadState(frame: Frame, state: Uint8Array, options: { fastForward?: boolean } = {}): void {
    this.pendingRestore = { frame, state, fastForward: options.fastForward === true };
  }

  /**
   * Records this peer's own input for `frame` as the relay holds it (a rejoining peer learns
   * the inputs the relay played for it while it was away). Local stamping continues after them.
   */
  receiveOwnInput(frame: Frame, input: Input): void {
    this.queues[this.localSlot].add(frame, input);
  }

  /**
   * Keeps every input from `frame` on (the last agreed checkpoint): a resync loads a state that
   * old and re-simulates from it. Frames, default 0.
   */
  retainInputsFrom(frame: Frame): void {
    this.retainFrom = Math.max(this.retainFrom, frame);
  }

  /**
   * Runs one tick: stamps `localInput` for frame + D, rolls back if a remote input contradicted a
   * prediction (at most once, however many arrived), advances one frame unless the prediction
   * window is full, and asks for the hashes of newly confirmed frames. Carry out the returned
   * requests in order, then pass the hash reports to {@link recordHashes}.
   * @param nowMs the local clock, used only for round-trip probes
   */
  advanceFrame(localInput: Input, nowMs: number): AdvanceResult {
    this.requests = [];
    if (!this.started) {
      this.started = true;
      this.save(0);
    }
    // A state from elsewhere first: a peer that jumps ahead stamps its input after the jump.
    const restored = this.pendingRestore !== null;
    if (restored) this.restore();
    this.stampLocalInput(localInput);
    if (nowMs - this.lastPingMs >= this.pingIntervalMs) {
      this.lastPingMs = nowMs;
      this.outgoing.push({ kind: 'ping', sentMs: nowMs });
    }
    if (!restored) this.rollbackIfMispredicted();

    const confirmed = this.confirmedFrame;
    let stalled = false;
    if (this.current - confirmed > this.maxPredictionWindow) {
      stalled = true;
      this.stalls++;
      this.emit({ type: 'stall', frame: this.current });
    } else {
      this.advanceOne(confirmed);
    }
    this.maxPredictedFrames = Math.max(this.maxPredictedFrames, this.predictedFrames(confirmed));
    this.requestHashes(Math.min(confirmed, this.current));
    this.freeSnapshots(confirmed);
    let oldestSaved = Math.min(confirmed, this.retainFrom);
    for (const f of this.saved) oldestSaved = Math.min(oldestSaved, f);
    for (const q of this.queues) q.discardBefore(oldestSaved);
    return { requests: this.requests, stalled };
  }

  /** Takes the hashes the sim reported for `hash` requests and publishes them. */
  recordHashes(reports: readonly HashReport[]): void {
    for (const r of reports) {
      this.hashes.set(r.frame, r.hash);
      this.emit({ type: 'confirmedHash', frame: r.frame, hash: r.hash, state: r.state });
    }
  }

  /** The counters as they stand. */
  stats(): SessionStats {
    const confirmed = this.confirmedFrame;
    let rtt = 0;
    for (let p = 0; p < this.players; p++)
      if (p !== this.localSlot) rtt = Math.max(rtt, this.timeSync.rtt(p));
    return {
      frame: this.current,
      confirmedFrame: confirmed,
      predictedFrames: this.predictedFrames(confirmed),
      maxPredictedFrames: this.maxPredictedFrames,
      rollbacks: this.rollbacks,
      lastRollbackDepth: this.lastRollbackDepth,
      maxRollbackDepth: this.maxRollbackDepth,
      rollbackFrames: this.rollbackFrames,
      stalls: this.stalls,
      frameAdvantage: this.timeSync.frameAdvantage(),
      rttMs: rtt,
      inputDelay: this.inputDelay,
      refusedInputs: this.refusedInputs,
      restores: this.restores,
    };
  }

  /** Frames this peer runs ahead of the slowest other peer (averaged); see `slowdownFor`. */
  frameAdvantage(): number {
    return this.timeSync.frameAdvantage();
  }

  private predictedFrames(confirmed: Frame): number {
    return Math.max(0, this.current - 1 - confirmed);
  }

  private emit(e: SessionEvent): void {
    for (const l of this.listeners) l(e);
  }

  private stampLocalInput(input: Input): void {
    const q = this.queues[this.localSlot];
    const target = this.current + this.inputDelay;
    const last = q.lastConfirmedFrame;
    // A stalled tick already stamped this frame; after a jump ahead, fill the gap.
    for (let f = last + 1; f <= target; f++) {
      const stamped = f === target ? input : (q.get(f - 1) ?? this.defaultInput(this.localSlot));
      q.add(f, stamped);
      this.outgoing.push({ kind: 'input', frame: f, input: stamped, currentFrame: this.current });
    }
  }

  private restore(): void {
    const { frame, state, fastForward } = this.pendingRestore!;
    this.pendingRestore = null;
    this.restores++;
    let target = Math.max(this.current, frame);
    this.requests.push({ kind: 'restore', frame, state });
    for (const q of this.queues) {
      q.settleBefore(frame);
      q.clearIncorrect();
    }
    this.freeFrames([...this.saved]);
    this.current = frame;
    // Frames from here on are hashed again on the restored line of play.
    this.lastChecked = frame - 1;
    this.save(frame);
    this.lastConfirmedSave = frame;
    this.emit({ type: 'restore', frame });
    // A rejoining peer catches up at once through every frame whose inputs are known.
    if (fastForward) target = Math.max(target, Math.min(this.confirmedFrame, frame + 1_000_000));
    this.resimulateTo(target);
  }

  private rollbackIfMispredicted(): void {
    let first: Frame | null = null;
    for (const q of this.queues) {
      const f = q.firstIncorrectFrame;
      if (f !== null && (first === null || f < first)) first = f;
      q.clearIncorrect();
    }
    const confirmed = this.confirmedFrame;
    if (first === null || first >= this.current) {
      // Sparse saving: re-simulate from the confirmed save before it falls out of the window.
      if (
        this.saveStrategy === 'sparse' &&
        this.mode === 'rollback' &&
        this.current - this.lastConfirmedSave > this.maxPredictionWindow &&
        confirmed > this.lastConfirmedSave
      ) {
        this.rollbackTo(this.lastConfirmedSave);
      }
      return;
    }
    let load = -1;
    for (const f of this.saved) if (f <= first && f > load) load = f;
    if (load < 0) {
      throw new ConcordError(
        'SNAPSHOT_MISSING',
        `no snapshot at or before frame ${first} to roll back to`,
        first,
      );
    }
    this.rollbackTo(load);
  }

  private rollbackTo(load: Frame): void {
    const target = this.current;
    const depth = target - load;
    this.requests.push({ kind: 'load', frame: load });
    this.current = load;
    this.rollbacks++;
    this.lastRollbackDepth = depth;
    this.maxRollbackDepth = Math.max(this.maxRollbackDepth, depth);
    this.rollbackFrames += depth;
    this.resimulateTo(target);
    this.emit({ type: 'rollback', fromFrame: load, toFrame: target, depth });
  }

  private resimulateTo(target: Frame): void {
    const confirmed = this.confirmedFrame;
    while (this.current < target) this.advanceOne(confirmed, target);
  }

  /** Steps from S(current) to S(current+1), saving as the strategy says. */
  private advanceOne(confirmed: Frame, target: Frame = this.current + 1): void {
    const f = this.current;
    const inputs: Input[] = new Array(this.players);
    for (let p = 0; p < this.players; p++) {
      inputs[p] = this.queues[p].inputFor(f, (last) =>
        this.predictDefault || last === undefined ? this.defaultInput(p) : last,
      );
    }
    this.requests.push({ kind: 'advance', frame: f, inputs });
    this.current = f + 1;
    const g = this.current;
    if (this.saveStrategy === 'ring') {
      this.save(g);
    } else if (g <= confirmed && g === Math.min(confirmed, target)) {
      this.save(g);
      this.lastConfirmedSave = g;
    } else if (g % this.hashInterval === 0 && g > this.lastChecked) {
      this.save(g);
    }
  }

  private save(frame: Frame): void {
    this.requests.push({ kind: 'save', frame });
    this.saved.add(frame);
  }

  private requestHashes(upTo: Frame): void {
    for (let f = this.lastChecked + 1; f <= upTo; f++) {
      if (f % this.hashInterval === 0) this.requests.push({ kind: 'hash', frame: f });
    }
    if (upTo > this.lastChecked) this.lastChecked = upTo;
  }

  private freeSnapshots(confirmed: Frame): void {
    const stale: Frame[] = [];
    if (this.saveStrategy === 'ring') {
      // A future rollback loads a frame after the confirmed one; hash requests need the rest.
      const keepFrom = Math.min(confirmed + 1, this.lastChecked + 1, this.current);
      for (const f of this.saved) if (f < keepFrom) stale.push(f);
    } else {
      for (const f of this.saved) {
        const unverified = f > this.lastChecked && f % this.hashInterval === 0;
        if (f !== this.lastConfirmedSave && !unverified) stale.push(f);
      }
    }
    this.freeFrames(stale);
  }

  private freeFrames(frames: Frame[]): void {
    if (frames.length === 0) return;
    for (const f of frames) this.saved.delete(f);
    this.requests.push({ kind: 'free', frames });
  }
}

function checkRange(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConcordError(
      'BAD_CONFIG',
      `${name} must be an integer in ${min}..${max}, got ${value}`,
    );
  }
}
