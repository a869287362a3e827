/**
 * The replay viewer's engine: a sim re-simulated from a logged match's inputs ({@link ReplayData})
 * that can be put at any frame. Going forward steps from where it is; going back, or far forward,
 * loads the nearest kept snapshot at or below the target and steps from there (snapshots are kept
 * every `snapshotEvery` frames as the cursor first passes them, so a seek costs at most that many
 * steps once the frames have been visited). At every check frame it passes it computes the state
 * hash, to show beside the recorded ones. Runs in the page's Worker; no DOM, no clock.
 */
import type { ReplayData } from '../../protocol/index.ts';
import {
  type ActionMapRecord,
  actionMapFromRecord,
  decodeInput,
  type Frame,
  type Input,
  NEUTRAL_INPUT,
  type Sim,
  stateHash,
} from '../../sim/index.ts';

/** Default of {@link ReplayCursor}'s `snapshotEvery`: frames between kept snapshots. */
export const REPLAY_SNAPSHOT_EVERY = 120;

/** A check frame's state hash as the viewer recomputed it. */
export interface ComputedHash {
  readonly frame: Frame;
  /** State hash of S(frame), 16 lowercase hex digits. */
  readonly hash: string;
}

/** Bytes of an 8-hex-digit input. */
function hexBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/**
 * Every slot's input for every frame of a logged match, as `concord replay` plays them: the
 * default input below the input delay and after a slot left, else its logged input. The
 * default is the scene's `defaultAction` when the header names one, else the sim's
 * `defaultInput(slot)`, else the neutral input.
 */
export class ReplayInputs {
  private readonly inputs: Input[][];
  private readonly defaults: Input[];

  /** @param sim a sim of the match (asked for its default inputs only) */
  constructor(
    private readonly data: ReplayData,
    sim: Sim,
  ) {
    this.inputs = data.inputs.map((list) => list.map((h) => decodeInput(hexBytes(h))));
    const actions = data.actions
      ? actionMapFromRecord(data.actions as unknown as ActionMapRecord)
      : null;
    this.defaults = Array.from({ length: data.scene.players }, (_, s) =>
      actions && actions.defaultAction !== null
        ? actions.defaultInput
        : (sim.defaultInput?.(s) ?? NEUTRAL_INPUT),
    );
  }

  /** Every slot's input for frame `f` (what takes S(f) to S(f+1)). */
  at(f: Frame): Input[] {
    const delay = this.data.scene.inputDelay;
    return this.defaults.map((d, s) => {
      const last = this.data.lastFrame[s];
      if (f < delay || (last !== null && f > last)) return d;
      return this.inputs[s][f - delay] ?? d;
    });
  }

  /** True when slot `s`'s input for frame `f` is its default (before the delay, after it left). */
  isDefault(f: Frame, s: number): boolean {
    const last = this.data.lastFrame[s];
    return (
      f < this.data.scene.inputDelay ||
      (last !== null && f > last) ||
      this.inputs[s][f - this.data.scene.inputDelay] === undefined
    );
  }
}

/** A sim put at any frame of a logged match; see the module comment. */
export class ReplayCursor<Snap = unknown> {
  /** Kept snapshots by frame (frame 0 and every `snapshotEvery`-th frame visited). */
  private readonly snapshots = new Map<Frame, Snap>();
  private readonly checkFrames: ReadonlySet<Frame>;
  private readonly computed = new Map<Frame, string>();
  readonly inputs: ReplayInputs;
  /** The frame the sim threw at (a fault), beyond which it cannot go; else null. */
  private faultAt: Frame | null = null;
  private faultMessage: string | null = null;

  /**
   * @param sim a fresh sim of the match at frame 0 (seeded with the header's seed)
   * @param snapshotEvery frames between kept snapshots, at least 1
   */
  constructor(
    private readonly sim: Sim<Snap>,
    readonly data: ReplayData,
    private readonly snapshotEvery = REPLAY_SNAPSHOT_EVERY,
  ) {
    this.inputs = new ReplayInputs(data, sim);
    this.checkFrames = new Set(data.checks.map((c) => c.frame));
    this.snapshots.set(0, sim.save());
    this.noteCheck([]);
  }

  /** The frame of the sim's state. */
  get frame(): Frame {
    return this.sim.frame;
  }

  /** The last frame the cursor can reach: the data's final frame, or the frame a fault stopped it. */
  get lastFrame(): Frame {
    return this.faultAt ?? this.data.finalFrame;
  }

  /** Why the sim stopped short of the final frame (what it threw), or null. */
  get fault(): string | null {
    return this.faultMessage;
  }

  /** The recomputed hash of check frame `f`, once the cursor has been there; else undefined. */
  hashAt(f: Frame): string | undefined {
    return this.computed.get(f);
  }

  /** Kept snapshots (for tests and the page's status line). */
  get snapshotCount(): number {
    return this.snapshots.size;
  }

  /** The sim at the cursor (read it, do not step or load it). */
  get current(): Sim<Snap> {
    return this.sim;
  }

  /**
   * Puts the sim at `target` (clamped to 0..{@link lastFrame}).
   * @returns the check frames' hashes computed on the way (the target's included), in frame order
   */
  goto(target: Frame): ComputedHash[] {
    const to = Math.max(0, Math.min(Math.trunc(target), this.lastFrame));
    const found: ComputedHash[] = [];
    const here = this.sim.frame;
    if (to < here || to - here > this.snapshotEvery) {
      const base = this.nearestSnapshot(to);
      if (base !== null && (to < here || base > here)) {
        this.sim.load(this.snapshots.get(base) as Snap);
      }
    }
    while (this.sim.frame < to) {
      const f = this.sim.frame;
      try {
        this.sim.step(this.inputs.at(f));
      } catch (err) {
        this.faultAt = f;
        this.faultMessage = err instanceof Error ? err.message : String(err);
        this.sim.load(this.snapshots.get(this.nearestSnapshot(f) ?? 0) as Snap);
        while (this.sim.frame < f) this.sim.step(this.inputs.at(this.sim.frame));
        break;
      }
      const now = this.sim.frame;
      if (now % this.snapshotEvery === 0 && !this.snapshots.has(now)) {
        this.snapshots.set(now, this.sim.save());
      }
      if (now < to) this.noteCheck(found);
    }
    this.noteCheck(found);
    return found;
  }

  /** Hashes the current state when it is a check frame (once per frame), adding it to `found`. */
  private noteCheck(found: ComputedHash[]): void {
    const f = this.sim.frame;
    if (!this.checkFrames.has(f)) return;
    let hash = this.computed.get(f);
    if (hash === undefined) {
      hash = stateHash(this.sim.encode(this.sim.save()));
      this.computed.set(f, hash);
    }
    found.push({ frame: f, hash });
  }

  private nearestSnapshot(f: Frame): Frame | null {
    let best: Frame | null = null;
    for (const k of this.snapshots.keys()) if (k <= f && (best === null || k > best)) best = k;
    return best;
  }
}
