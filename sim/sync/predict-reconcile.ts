import { ConcordError, type Frame, type Input, NEUTRAL_INPUT, type PlayerSlot } from '../index.ts';
import type { AdvanceResult } from './session.ts';
import type { SessionRequest } from './types.ts';

/**
 * Settings of a {@link PredictReconcileSession}. Frames unless the name says Ms.
 */
export interface PredictReconcileSettings {
  /** Players in the match, at least 1. */
  readonly players: number;
  /** This client's slot, 0..players-1. */
  readonly localSlot: PlayerSlot;
  /**
   * Frames below it play every slot's default input, as on the host (the scene's input delay: the
   * same scene runs in every mode). A local input is applied at the frame it is captured.
   */
  readonly inputDelay?: number;
  /**
   * Most frames this client may run past the last host state it loaded before it stalls
   * (default 120: two seconds at 60 Hz). At least 1.
   */
  readonly maxPredictionWindow?: number;
  /** The sim's default input for a slot (default: the neutral input). */
  readonly defaultInput?: (slot: PlayerSlot) => Input;
  /**
   * The first frame whose local input is sent (default: the input delay). A rejoining client
   * passes the relay's `resumeFrame`: the relay played its inputs before it.
   */
  readonly firstInputFrame?: Frame;
}

/** A state of the authoritative host, as the client rebuilt and checked it. */
export interface HostStateIn {
  /** The frame of the state. */
  readonly frame: Frame;
  /** S(frame), canonical bytes (checked against the host's hash by the caller). */
  readonly state: Uint8Array;
  /** The input each slot had applied at frame - 1 (repeated to predict the other players). */
  readonly inputs: readonly Input[];
}

/** The counters of a {@link PredictReconcileSession}. */
export interface PredictReconcileStats {
  /** The current (predicted) frame. */
  readonly frame: Frame;
  /** The frame of the last host state loaded (-1: none yet). */
  readonly hostFrame: Frame;
  /** Host states loaded (one reconciliation each). */
  readonly reconciliations: number;
  /** Frames re-simulated after them, in all, and the most at once. */
  readonly resimulatedFrames: number;
  readonly maxResimulatedFrames: number;
  /** Host states older than one already loaded (dropped). */
  readonly staleStates: number;
  /** Times this client jumped ahead to a host state of a later frame than its own. */
  readonly jumps: number;
  /** Ticks that did not advance: the client ran {@link PredictReconcileSettings.maxPredictionWindow} past the host. */
  readonly stalls: number;
}

/** What {@link PredictReconcileSession.advanceFrame} asks to send: this client's input. */
export interface PredictedInputMessage {
  readonly kind: 'input';
  readonly frame: Frame;
  readonly input: Input;
  readonly currentFrame: Frame;
}

/**
 * The client's side of an authoritative match: prediction and reconciliation. Each tick it applies
 * the local input at once (the frame it is captured, so the player's own movement shows that very
 * frame), predicting the other players by repeating the last inputs the host applied for them.
 * When a host state arrives it is loaded at the next tick, and the client's own inputs the host has
 * not applied yet (frames from the state's on) are re-simulated on top of it: a rollback whose
 * base comes from the host instead of a snapshot of its own. Like {@link SyncSession} it returns
 * the requests a {@link SimRunner} carries out (restore, save, hash, advance, free), so a test can
 * assert the exact sequence; the restored frame is saved and hashed, so that the caller can check
 * its reconciled S(frame) against the host's hash.
 *
 * Idea: client-side prediction and server reconciliation (Valve's Source networking; Gabriel
 * Gambetta's "Fast-Paced Multiplayer"); GGPO's rollback for the re-simulation.
 */
export class PredictReconcileSession {
  readonly players: number;
  readonly localSlot: PlayerSlot;
  readonly inputDelay: number;
  readonly maxPredictionWindow: number;
  private readonly defaultInput: (slot: PlayerSlot) => Input;
  /** This client's inputs for frames the host has not reported a state past, by frame. */
  private readonly own = new Map<Frame, Input>();
  /** The other players' inputs as the host last applied them (the prediction). */
  private readonly remote: Input[];
  private pending: HostStateIn | null = null;
  /** The next frame whose input goes out: sent inputs are contiguous, whatever the jumps. */
  private nextToSend: Frame;
  private current: Frame = 0;
  private hostFrame: Frame = -1;
  private readonly outgoing: PredictedInputMessage[] = [];
  private reconciliations = 0;
  private resimulatedFrames = 0;
  private maxResimulatedFrames = 0;
  private staleStates = 0;
  private jumps = 0;
  private stalls = 0;

  /** @throws ConcordError `BAD_CONFIG` when a setting is out of its range. */
  constructor(s: PredictReconcileSettings) {
    this.players = s.players;
    this.localSlot = s.localSlot;
    this.inputDelay = s.inputDelay ?? 0;
    this.maxPredictionWindow = s.maxPredictionWindow ?? 120;
    this.defaultInput = s.defaultInput ?? (() => NEUTRAL_INPUT);
    for (const [name, v, lo, hi] of [
      ['players', this.players, 1, Number.MAX_SAFE_INTEGER],
      ['localSlot', this.localSlot, 0, this.players - 1],
      ['inputDelay', this.inputDelay, 0, Number.MAX_SAFE_INTEGER],
      ['maxPredictionWindow', this.maxPredictionWindow, 1, Number.MAX_SAFE_INTEGER],
    ] as const) {
      if (!Number.isInteger(v) || v < lo || v > hi) {
        throw new ConcordError(
          'BAD_CONFIG',
          `${name} must be an integer in ${lo}..${hi}, got ${v}`,
        );
      }
    }
    this.remote = Array.from({ length: this.players }, (_, p) => this.defaultInput(p));
    this.nextToSend = Math.max(this.inputDelay, s.firstInputFrame ?? 0);
  }

  /** The current frame: after the last requests the sim holds S(frame), predicted. */
  get frame(): Frame {
    return this.current;
  }

  /** The frame of the last host state loaded, or -1. */
  get lastHostFrame(): Frame {
    return this.hostFrame;
  }

  /**
   * A host state to load at the next {@link advanceFrame}. A state older than one already loaded
   * or pending is dropped and counted (states may arrive out of order after a reconnect).
   * @returns whether it will be loaded
   */
  receiveState(s: HostStateIn): boolean {
    const newest = Math.max(this.hostFrame, this.pending?.frame ?? -1);
    if (s.frame <= newest) {
      this.staleStates++;
      return false;
    }
    if (s.inputs.length !== this.players) {
      throw new ConcordError(
        'BAD_INPUT',
        `a host state with ${s.inputs.length} inputs for ${this.players} players`,
      );
    }
    this.pending = s;
    return true;
  }

  /** Messages to send to the host, in order; the queue is emptied. */
  drainOutgoing(): PredictedInputMessage[] {
    return this.outgoing.splice(0, this.outgoing.length);
  }

  /**
   * One tick: loads a pending host state and re-simulates this client's unacknowledged inputs on
   * it (`restore`, `save`, `hash`, `free`, then one `advance` per frame back up to the present; a
   * state of a frame past the present moves this client there), then applies `localInput` at the
   * current frame and advances one frame, unless this client already runs
   * {@link PredictReconcileSettings.maxPredictionWindow} frames past the host (a stall).
   * Carry out the requests in order with a `SimRunner`; its hash report is S(host frame) as this
   * client rebuilt it.
   */
  advanceFrame(localInput: Input): AdvanceResult {
    const requests: SessionRequest[] = [];
    const p = this.pending;
    if (p !== null) {
      this.pending = null;
      this.reconcile(p, requests);
    }
    let stalled = false;
    if (this.hostFrame >= 0 && this.current - this.hostFrame >= this.maxPredictionWindow) {
      stalled = true;
      this.stalls++;
    } else {
      const f = this.current;
      const input = f < this.inputDelay ? this.defaultInput(this.localSlot) : localInput;
      this.own.set(f, input);
      if (f >= this.nextToSend) {
        // After a jump ahead to the host's frame the skipped frames go out too (the host counts
        // them late), so that the relay, which takes each player's inputs in order, never waits.
        for (let g = this.nextToSend; g < f; g++) {
          this.outgoing.push({ kind: 'input', frame: g, input, currentFrame: f });
        }
        this.outgoing.push({ kind: 'input', frame: f, input, currentFrame: f });
        this.nextToSend = f + 1;
      }
      requests.push({ kind: 'advance', frame: f, inputs: this.inputsAt(f) });
      this.current = f + 1;
    }
    return { requests, stalled };
  }

  /** The counters as they stand. */
  stats(): PredictReconcileStats {
    return {
      frame: this.current,
      hostFrame: this.hostFrame,
      reconciliations: this.reconciliations,
      resimulatedFrames: this.resimulatedFrames,
      maxResimulatedFrames: this.maxResimulatedFrames,
      staleStates: this.staleStates,
      jumps: this.jumps,
      stalls: this.stalls,
    };
  }

  private reconcile(p: HostStateIn, requests: SessionRequest[]): void {
    this.reconciliations++;
    this.hostFrame = p.frame;
    for (let s = 0; s < this.players; s++) if (s !== this.localSlot) this.remote[s] = p.inputs[s];
    // Inputs before the state's frame are in it, as the host applied them.
    for (const f of [...this.own.keys()]) if (f < p.frame) this.own.delete(f);
    requests.push({ kind: 'restore', frame: p.frame, state: p.state });
    requests.push({ kind: 'save', frame: p.frame });
    requests.push({ kind: 'hash', frame: p.frame });
    requests.push({ kind: 'free', frames: [p.frame] });
    if (p.frame >= this.current) {
      // This client was behind the host: it starts again from the host's frame.
      if (p.frame > this.current) this.jumps++;
      this.current = p.frame;
      return;
    }
    const depth = this.current - p.frame;
    for (let f = p.frame; f < this.current; f++) {
      requests.push({ kind: 'advance', frame: f, inputs: this.inputsAt(f) });
    }
    this.resimulatedFrames += depth;
    this.maxResimulatedFrames = Math.max(this.maxResimulatedFrames, depth);
  }

  /** Every slot's input at `f`: this client's own, the others' predicted. */
  private inputsAt(f: Frame): Input[] {
    const inputs: Input[] = new Array(this.players);
    for (let s = 0; s < this.players; s++) {
      if (s === this.localSlot) inputs[s] = this.own.get(f) ?? this.defaultInput(s);
      else inputs[s] = f < this.inputDelay ? this.defaultInput(s) : this.remote[s];
    }
    return inputs;
  }
}

/**
 * How far ahead of the host an authoritative client runs: its inputs must reach the host before
 * the host steps their frame, so the client runs about a round trip plus a margin ahead of the
 * last host state it received. Fed with each host state's frame and arrival time; clock-free
 * (the caller passes the time in). The estimate of the host's frame is smoothed, and the margin
 * grows with the jitter seen.
 *
 * Idea: Overwatch's and Photon Quantum's clients run ahead of the server by half the round trip
 * plus a buffer ("Overwatch Gameplay Architecture and Netcode", GDC 2017).
 */
export class HostLead {
  private readonly tickMs: number;
  /** Smoothed (host frame − local time in frames) at arrival. */
  private offset: number | null = null;
  private jitterFrames = 0;

  /**
   * @param tickRate frames per second
   * @param marginFrames frames kept in hand beyond the round trip (default 3: a lost datagram is
   *   repeated one frame later, and jitter comes on top)
   */
  constructor(
    tickRate: number,
    private readonly marginFrames = 3,
  ) {
    this.tickMs = 1000 / tickRate;
  }

  /** A host state of `frame` arrived at local time `nowMs`; `rttMs` is the round trip to the relay. */
  sample(frame: Frame, nowMs: number, rttMs: number): void {
    // The host was at about `frame + one-way` when this arrived.
    const value = frame + rttMs / 2 / this.tickMs - nowMs / this.tickMs;
    if (this.offset === null) {
      this.offset = value;
      return;
    }
    const dev = value - this.offset;
    this.jitterFrames += (Math.abs(dev) - this.jitterFrames) / 16;
    // Late arrivals pull the estimate back slowly, early ones forward faster.
    this.offset += dev * (dev > 0 ? 0.25 : 0.05);
  }

  /** The host's estimated frame at local time `nowMs` (fractional); null before the first sample. */
  hostFrame(nowMs: number): number | null {
    return this.offset === null ? null : this.offset + nowMs / this.tickMs;
  }

  /**
   * The frame this client should show now: the host's estimated frame, plus the one-way time its
   * inputs take, plus the margin and twice the jitter; null before the first sample.
   */
  targetFrame(nowMs: number, rttMs: number): number | null {
    if (this.offset === null) return null;
    const host = this.offset + nowMs / this.tickMs;
    return host + rttMs / 2 / this.tickMs + this.marginFrames + 2 * this.jitterFrames;
  }
}
