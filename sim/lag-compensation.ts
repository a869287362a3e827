import { ConcordError } from './errors.ts';
import type { Frame, PlayerSlot } from './sim.ts';

/** Default of the scene setting `maxRewindMs`: how far back the host keeps states, ms. */
export const DEFAULT_MAX_REWIND_MS = 200;
/** Largest `maxRewindMs`: a player more than a second behind is judged as of a second ago. */
export const MAX_REWIND_MS = 1000;

/**
 * What a sim may ask while stepping frame f in an authoritative match: the world a given player
 * saw when it acted. Player `slot`'s input for f was produced while its screen showed the others
 * as of frame `seenFrame(slot)` = f − its view delay (its interpolation delay plus how far its
 * predicted frame ran ahead of the last state it had); `seenState(slot)` is S(seenFrame). A sim
 * judges an action of that player (a shot) against those positions, so that a hit on the
 * shooter's screen is a hit (favour the shooter), within the rewind cap.
 *
 * Passed to `Sim.step` only by the host of an authoritative match; rollback and lockstep never
 * pass it, so their steps are unchanged.
 *
 * Idea: Valve, "Latency Compensating Methods in Client/Server In-game Protocol Design and
 * Optimization" (Bernier, 2001): "command execution time = server time − packet latency −
 * client view interpolation", the server moving the other players back to where the shooter saw
 * them for the hit test only.
 */
export interface RewindView<Snap> {
  /** The frame being stepped. */
  readonly frame: Frame;
  /**
   * The frame whose state `slot` saw when it acted: f − its view delay, never before the oldest
   * state held (the rewind cap) nor after f. Equal to `frame` when there is nothing to rewind.
   */
  seenFrame(slot: PlayerSlot): Frame;
  /**
   * S(seenFrame(slot)), or undefined when `seenFrame(slot)` is the frame being stepped (then the
   * sim uses its live state).
   */
  seenState(slot: PlayerSlot): Snap | undefined;
}

/**
 * The rewind cap in frames for `maxRewindMs` at `tickRate` frames per second (rounded down).
 * @throws ConcordError `BAD_CONFIG` when `maxRewindMs` is not an integer in 0..{@link MAX_REWIND_MS}
 *   or `tickRate` not a positive integer.
 */
export function rewindFrames(maxRewindMs: number, tickRate: number): number {
  if (!Number.isInteger(maxRewindMs) || maxRewindMs < 0 || maxRewindMs > MAX_REWIND_MS) {
    throw new ConcordError(
      'BAD_CONFIG',
      `maxRewindMs must be an integer in 0..${MAX_REWIND_MS}, got ${maxRewindMs}`,
    );
  }
  if (!Number.isInteger(tickRate) || tickRate < 1) {
    throw new ConcordError('BAD_CONFIG', `tickRate must be a positive integer, got ${tickRate}`);
  }
  return Math.floor((maxRewindMs * tickRate) / 1000);
}

/**
 * The rewind cap in frames of a match with these scene settings, 0 when it has no lag
 * compensation: only `authoritative` matches rewind, and only TypeScript sims (a Python sim's
 * save costs milliseconds, too much to take every frame; its actions are judged as of now). The
 * host and replay both decide with it, so that a replay rewinds exactly when the host did.
 * @param scene `mode`, `sim` (its id), `tickRate` and `maxRewindMs` (absent: {@link DEFAULT_MAX_REWIND_MS}).
 */
export function lagCompensationFrames(scene: {
  readonly mode: string;
  readonly sim: string;
  readonly tickRate: number;
  readonly maxRewindMs?: number;
}): number {
  if (scene.mode !== 'authoritative' || scene.sim.startsWith('python:')) return 0;
  return rewindFrames(scene.maxRewindMs ?? DEFAULT_MAX_REWIND_MS, scene.tickRate);
}

/**
 * A player's view delay in frames, as the host estimates it (Valve's "packet latency + client
 * view interpolation"): how far the other players on its screen lag the frame its input is
 * stamped for. A predicting client stamps its input about a round trip ahead of the last state it
 * received (so that the input arrives in time), and draws the others `interpolationDelayMs`
 * behind that state: the delay is `rttMs + interpolationDelayMs`, in frames, rounded to nearest.
 * @param rttMs the player's round trip to the host, ms (≥ 0).
 * @param interpolationDelayMs how far behind its latest state the client draws the others, ms (≥ 0).
 * @param tickRate frames per second.
 */
export function viewDelayFrames(
  rttMs: number,
  interpolationDelayMs: number,
  tickRate: number,
): number {
  const ms = Math.max(0, rttMs) + Math.max(0, interpolationDelayMs);
  return Math.round((ms * tickRate) / 1000);
}

/**
 * The host's history for lag compensation: a ring of the snapshots S(f − capacity) .. S(f), and each player's current view delay. Before stepping frame f, the host
 * {@link record}s S(f) and passes {@link viewAt}(f) to `Sim.step`.
 *
 * The view delays decide hits, so they are part of what the match follows from: the host logs
 * every change ({@link setViewDelay} returns whether it changed) and replay sets them at the same
 * frames, which makes an authoritative match with lag compensation replay exactly.
 */
export class SnapshotHistory<Snap> {
  private readonly frames: Int32Array;
  private readonly snaps: (Snap | undefined)[];
  private readonly delays: Int32Array;

  /**
   * @param capacity frames of history, the rewind cap (`rewindFrames(maxRewindMs, tickRate)`), 0..
   * @param players players in the match.
   * @throws ConcordError `BAD_CONFIG` for a negative or fractional capacity or player count.
   */
  constructor(
    readonly capacity: number,
    players: number,
  ) {
    if (!Number.isInteger(capacity) || capacity < 0 || !Number.isInteger(players) || players < 1) {
      throw new ConcordError(
        'BAD_CONFIG',
        `snapshot history of ${capacity} frames for ${players} players`,
      );
    }
    // S(f - capacity) .. S(f): capacity + 1 states.
    this.frames = new Int32Array(capacity + 1).fill(-1);
    this.snaps = new Array(capacity + 1).fill(undefined);
    this.delays = new Int32Array(players);
  }

  /**
   * Sets the view delay of `slot`, frames (clamped to 0..capacity).
   * @returns true when it changed (the host logs the change).
   */
  setViewDelay(slot: PlayerSlot, frames: number): boolean {
    const d = Math.max(0, Math.min(this.capacity, Math.round(frames)));
    if (this.delays[slot] === d) return false;
    this.delays[slot] = d;
    return true;
  }

  /** The view delay of `slot`, frames. */
  viewDelay(slot: PlayerSlot): number {
    return this.delays[slot];
  }

  /**
   * Keeps S(`frame`); call before stepping `frame`. The snapshot must not be mutated afterwards
   * (the sim's `save()` contract), and replaces the one `capacity` frames older.
   */
  record(frame: Frame, snap: Snap): void {
    if (this.capacity === 0) return;
    const i = frame % this.frames.length;
    this.frames[i] = frame;
    this.snaps[i] = snap;
  }

  /**
   * The snapshot that {@link record}ing `frame` will replace, to hand to `Sim.save` as `reuse`
   * (so the history allocates nothing once full), or undefined.
   */
  reusable(frame: Frame): Snap | undefined {
    if (this.capacity === 0) return undefined;
    return this.snaps[frame % this.frames.length];
  }

  /** S(`frame`) if held, else undefined. */
  at(frame: Frame): Snap | undefined {
    if (this.capacity === 0 || frame < 0) return undefined;
    const i = frame % this.frames.length;
    return this.frames[i] === frame ? this.snaps[i] : undefined;
  }

  /** The view to pass to `Sim.step` when stepping `frame`. */
  viewAt(frame: Frame): RewindView<Snap> {
    const seenFrame = (slot: PlayerSlot): Frame => {
      let seen = frame - this.delays[slot];
      // Never before the oldest state held: a late joiner's history is short.
      while (seen < frame && this.at(seen) === undefined) seen++;
      return seen;
    };
    return {
      frame,
      seenFrame,
      seenState: (slot) => {
        const seen = seenFrame(slot);
        return seen === frame ? undefined : this.at(seen);
      },
    };
  }
}

/**
 * The host's estimate of each player's view delay (frames), from what it sees arrive, with no
 * clock and no message of its own (see {@link viewDelayFrames} for the model):
 * - the lead of its inputs: frame stamped − host frame on arrival (how far ahead the client
 *   stamps so that its input arrives in time);
 * - its round trip: host frame when a state's acknowledgement arrives − that state's frame;
 * - the scene's interpolation delay, frames.
 *
 * delay = lead + round trip + interpolation delay: the frame the player saw when it stamped an
 * input for F is F − delay, i.e. the host frame when the input arrived minus a round trip minus
 * the interpolation delay. Each part is smoothed (an exponential average over about 16 samples)
 * and the delay handed out moves only when the estimate is 1.5 frames away from it, so that
 * jitter does not change it (and log a change) every frame.
 */
export class ViewDelayEstimator {
  private readonly lead: number[];
  private readonly rtt: number[];
  private readonly current: Int32Array;

  /**
   * @param players players in the match.
   * @param interpolationFrames the scene's interpolation delay in frames (≥ 0).
   */
  constructor(
    players: number,
    private readonly interpolationFrames: number,
  ) {
    this.lead = new Array(players).fill(Number.NaN);
    this.rtt = new Array(players).fill(Number.NaN);
    this.current = new Int32Array(players).fill(Math.max(0, Math.round(interpolationFrames)));
  }

  /** An input of `slot` stamped for `frame` arrived while the host was at `hostFrame`. */
  onInput(slot: PlayerSlot, frame: Frame, hostFrame: Frame): void {
    this.lead[slot] = smooth(this.lead[slot], Math.max(0, frame - hostFrame));
  }

  /** The acknowledgement of S(`ackedFrame`) by `slot` arrived while the host was at `hostFrame`. */
  onAck(slot: PlayerSlot, ackedFrame: Frame, hostFrame: Frame): void {
    if (ackedFrame < 0 || ackedFrame > hostFrame) return;
    this.rtt[slot] = smooth(this.rtt[slot], hostFrame - ackedFrame);
  }

  /** The view delay of `slot` now, frames (the interpolation delay until samples arrived). */
  delay(slot: PlayerSlot): number {
    const lead = Number.isNaN(this.lead[slot]) ? 0 : this.lead[slot];
    const rtt = Number.isNaN(this.rtt[slot]) ? 0 : this.rtt[slot];
    const estimate = lead + rtt + this.interpolationFrames;
    if (Math.abs(estimate - this.current[slot]) >= 1.5) this.current[slot] = Math.round(estimate);
    return this.current[slot];
  }
}

function smooth(average: number, sample: number): number {
  return Number.isNaN(average) ? sample : average + (sample - average) / 16;
}
