/**
 * What the sim host of an authoritative match adds around confirm-or-replace (`authority.ts`):
 * input validation (sim/sync's `InputValidator` with the sim's own rules) and lag compensation
 * (sim/'s `SnapshotHistory` and `ViewDelayEstimator`). Pure and clock-free, so that tests drive
 * it frame by frame; the worker calls it from its loop (`worker.ts`) and reports what it returns
 * with each broadcast, and the main thread logs it and removes players (`authoritative-host.ts`).
 *
 * Idea: Valve, "Latency Compensating Methods in Client/Server In-game Protocol Design and
 * Optimization" (2001): validate every user command on the server, and judge a command against
 * the world its sender saw.
 */
import {
  encodeInput,
  type Frame,
  getSimFactory,
  type PlayerSlot,
  type RewindView,
  type Sim,
  SnapshotHistory,
  ViewDelayEstimator,
} from '../../sim/index.ts';
import { InputValidator, type Violation } from '../../sim/sync/index.ts';

/** How the host checks inputs (from the scene's settings). Frames at the tick rate. */
export interface InputCheckSettings {
  /** Inputs stamped further than this behind the host's frame are refused (`tooOld`). */
  readonly maxRewindFrames: number;
  /** Inputs stamped further than this past the host's frame are refused (`tooFarAhead`). */
  readonly maxAheadFrames: number;
  readonly warnAt: number;
  readonly removeAt: number;
  readonly decayFrames: number;
  /** Inputs a player may send beyond one per frame in a burst (sim/sync's `INPUT_BURST` at the least). */
  readonly burst: number;
}

/** Lag compensation's settings (from the scene's), or absent for none. */
export interface RewindSettings {
  /** The rewind cap, frames (`maxRewindMs` at the tick rate), ≥ 1. */
  readonly maxRewindFrames: number;
  /** The clients' interpolation delay, frames. */
  readonly interpolationFrames: number;
}

/** A change of a slot's view delay, effective from `frame` on (logged as a `viewDelay` record). */
export interface ViewDelayChange {
  readonly slot: PlayerSlot;
  readonly frame: Frame;
  readonly frames: number;
}

/**
 * A player removed for its violations: the host makes it leave (`InputAuthority.leave`) before
 * stepping `frame`, so from `frame` on it plays its default input, as any player who left.
 */
export interface Removal {
  readonly slot: PlayerSlot;
  readonly frame: Frame;
}

/** See the module comment. One per authoritative match. */
export class HostGuards {
  private readonly validator: InputValidator | null;
  private readonly history: SnapshotHistory<unknown> | null;
  private readonly estimator: ViewDelayEstimator | null;
  private violations: Violation[] = [];
  private viewDelays: ViewDelayChange[] = [];
  private removals: Removal[] = [];
  /** By slot, the first frame played with the default input after a removal (Infinity: none). */
  private readonly removedFrom: number[];

  /**
   * @param simId the match's sim (its factory's `inputRules`, when it has some, join the checks)
   * @param players players in the match
   * @param checks input validation, or null for none
   * @param rewind lag compensation, or null for none
   */
  constructor(
    simId: string,
    private readonly players: number,
    checks: InputCheckSettings | null,
    rewind: RewindSettings | null,
  ) {
    let rules: ReturnType<NonNullable<ReturnType<typeof getSimFactory>['inputRules']>> | undefined;
    try {
      rules = getSimFactory(simId).inputRules?.(players);
    } catch {
      rules = undefined; // a Python or module sim: no built-in rules
    }
    this.validator =
      checks === null
        ? null
        : new InputValidator({
            players,
            maxRewindFrames: checks.maxRewindFrames,
            maxAheadFrames: checks.maxAheadFrames,
            warnAt: checks.warnAt,
            removeAt: checks.removeAt,
            decayFrames: checks.decayFrames,
            burst: checks.burst,
            rules,
          });
    this.history =
      rewind === null || rewind.maxRewindFrames < 1
        ? null
        : new SnapshotHistory(rewind.maxRewindFrames, players);
    this.estimator =
      this.history === null || rewind === null
        ? null
        : new ViewDelayEstimator(players, rewind.interpolationFrames);
    this.removedFrom = new Array(players).fill(Number.POSITIVE_INFINITY);
  }

  /**
   * An input of `slot` stamped for `frame` arrived while the host's next frame to step is
   * `hostFrame` and its clock has reached `clockFrame` (its frames due; the rate of inputs is
   * measured against it, so that a stalled host does not take the inputs that queued up while
   * it stalled for too many).
   * @returns the input to hand to confirm-or-replace (the one sent, or the sim's correction), or
   *   null when it is refused or dropped (violations are kept for {@link drain}).
   */
  input(
    slot: PlayerSlot,
    frame: Frame,
    input: Uint8Array,
    hostFrame: Frame,
    clockFrame: Frame,
  ): Uint8Array | null {
    this.estimator?.onInput(slot, frame, hostFrame);
    if (this.validator === null) return input;
    this.validator.advance(clockFrame);
    const verdict = this.validator.check(slot, frame, input, hostFrame);
    if (
      (verdict.outcome === 'refused' || verdict.outcome === 'corrected') &&
      verdict.violation.action === 'removed'
    ) {
      this.removedFrom[slot] = hostFrame;
      this.removals.push({ slot, frame: hostFrame });
    }
    switch (verdict.outcome) {
      case 'accepted':
        return input;
      case 'corrected':
        this.violations.push(verdict.violation);
        return encodeInput(verdict.input);
      case 'refused':
        this.violations.push(verdict.violation);
        return null;
      default:
        return null;
    }
  }

  /** `slot` acknowledged S(`frame`) while the host's next frame to step is `hostFrame`. */
  ack(slot: PlayerSlot, frame: Frame, hostFrame: Frame): void {
    this.estimator?.onAck(slot, frame, hostFrame);
  }

  /**
   * Before stepping the sim's current frame: keeps its state, updates the view delays (changes
   * kept for {@link drain}), and returns the rewind view to pass to `Sim.step` (undefined without
   * lag compensation).
   */
  beforeStep(sim: Sim): RewindView<unknown> | undefined {
    const f = sim.frame;
    this.validator?.advance(f);
    const history = this.history;
    const estimator = this.estimator;
    if (history === null || estimator === null) return undefined;
    for (let slot = 0; slot < this.players; slot++) {
      if (history.setViewDelay(slot, estimator.delay(slot))) {
        this.viewDelays.push({ slot, frame: f, frames: history.viewDelay(slot) });
      }
    }
    history.record(f, sim.save(history.reusable(f)));
    return history.viewAt(f);
  }

  /** True when `slot` was removed and `frame` is played with its default input. */
  isRemovedAt(slot: PlayerSlot, frame: Frame): boolean {
    return frame >= this.removedFrom[slot];
  }

  /** The violations, view delay changes and removals since the last call, oldest first. */
  drain(): { violations: Violation[]; viewDelays: ViewDelayChange[]; removals: Removal[] } {
    const out = {
      violations: this.violations,
      viewDelays: this.viewDelays,
      removals: this.removals,
    };
    this.violations = [];
    this.viewDelays = [];
    this.removals = [];
    return out;
  }
}
