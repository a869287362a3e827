import { ConcordError } from './errors.ts';
import { stateHash } from './hash.ts';
import type { Input } from './input.ts';
import type { Frame, Sim } from './sim.ts';

/** Options of {@link runSyncTest}. */
export interface SyncTestOptions {
  /** Frames to run (>= 1). */
  readonly frames: number;
  /** How far back each check rolls: every frame, load f-k and re-simulate k frames (>= 1). */
  readonly checkDistance: number;
  /** The inputs of every player for a frame; must be a pure function of the frame. */
  readonly inputs: (frame: Frame) => readonly Input[];
}

/** What a passing {@link runSyncTest} saw. */
export interface SyncTestResult {
  /** Frames run. */
  readonly frames: number;
  /** Hash comparisons made. */
  readonly checks: number;
  /** The hash of the last state, 16 hex digits. */
  readonly finalHash: string;
}

/**
 * Determinism check in the style of GGRS's `SyncTestSession`: step the sim, and every frame load
 * the snapshot from k frames back, re-simulate k frames with the same inputs, and compare each
 * re-simulated state's hash with the one first recorded. Catches state that the snapshot misses
 * (a hidden counter, a cache) and steps that read anything but the state and the inputs.
 *
 * `initStateHash()` must have completed.
 * @throws ConcordError `SYNC_TEST_MISMATCH` naming the first frame whose re-simulated hash differs.
 */
export function runSyncTest<Snap>(sim: Sim<Snap>, options: SyncTestOptions): SyncTestResult {
  const { frames, checkDistance: k } = options;
  if (!(frames >= 1 && k >= 1)) {
    throw new ConcordError('BAD_CONFIG', `frames and checkDistance must be >= 1`);
  }
  const start = sim.frame;
  const snaps = new Map<Frame, Snap>();
  const hashes = new Map<Frame, string>();
  const record = (): void => {
    const snap = sim.save();
    snaps.set(sim.frame, snap);
    if (!hashes.has(sim.frame)) hashes.set(sim.frame, stateHash(sim.encode(snap)));
  };
  record();
  let checks = 0;
  for (let i = 0; i < frames; i++) {
    const f = sim.frame;
    sim.step(options.inputs(f));
    record();
    const from = sim.frame - k;
    if (from < start) continue;
    const to = sim.frame;
    sim.load(snaps.get(from)!);
    for (let g = from; g < to; g++) {
      sim.step(options.inputs(g));
      const h = stateHash(sim.encode(sim.save()));
      checks++;
      const first = hashes.get(g + 1)!;
      if (h !== first) {
        throw new ConcordError(
          'SYNC_TEST_MISMATCH',
          `sync test: frame ${g + 1} re-simulated from frame ${from} hashes ${h}, first run hashed ${first}`,
          g + 1,
        );
      }
    }
    snaps.delete(from - 1);
  }
  return { frames, checks, finalHash: hashes.get(sim.frame)! };
}
