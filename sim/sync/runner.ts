import { ConcordError, type Frame, type Input, type Sim, stateHash } from '../index.ts';
import type { HashReport, SessionRequest } from './types.ts';

const MAX_POOLED = 64;

type AdvanceRequest = Extract<SessionRequest, { kind: 'advance' }>;

/**
 * A sim that can advance several frames in one call, equivalent to calling `step` once per entry
 * (a Python sim's `stepMany`: one call across the JavaScript–Python boundary per re-simulation
 * instead of one per frame).
 */
export interface BatchStepper {
  stepMany(inputs: readonly (readonly Input[])[]): void;
}

/** Options of {@link SimRunner}. */
export interface SimRunnerOptions {
  /**
   * Run consecutive `advance` requests (those with no save, load or hash between them, as a
   * sparse-saving re-simulation asks) as one `stepMany` call when the sim has one. Default true;
   * false steps frame by frame (for comparisons). Sims without `stepMany` always step per frame.
   */
  readonly batchSteps?: boolean;
}

function batchStepper(sim: object): BatchStepper | null {
  const s = sim as Partial<BatchStepper>;
  return typeof s.stepMany === 'function' ? (s as BatchStepper) : null;
}

/**
 * Carries out a session's requests on a sim in this thread, keeping the saved snapshots by
 * frame. (In the browser a Python sim runs in a Worker instead, which answers the same requests
 * in one message per tick.) `initStateHash()` must have completed before a hash request.
 */
export class SimRunner<Snap> {
  private readonly snapshots = new Map<Frame, Snap>();
  /** Freed snapshots, handed back to the sim's `save` to overwrite instead of allocating. */
  private readonly pool: Snap[] = [];
  /** Steps taken, re-simulated ones included. */
  steps = 0;
  /** `stepMany` calls made (each for two or more consecutive advances). */
  batches = 0;
  private readonly stepper: BatchStepper | null;

  constructor(
    readonly sim: Sim<Snap>,
    options: SimRunnerOptions = {},
  ) {
    this.stepper = options.batchSteps === false ? null : batchStepper(sim);
  }

  /**
   * Runs the requests in order; a run of consecutive `advance` requests goes to the sim's
   * `stepMany` in one call when it has one (see {@link SimRunnerOptions.batchSteps}).
   * @returns the state hash of every `hash` request, in order
   * @throws ConcordError `SNAPSHOT_MISSING` when a load or hash names a frame not saved, and
   * `BAD_STATE` when a request's frame does not match the sim's (a session bug, never ignored).
   */
  run(requests: readonly SessionRequest[]): HashReport[] {
    const reports: HashReport[] = [];
    for (let i = 0; i < requests.length; i++) {
      const r = requests[i];
      switch (r.kind) {
        case 'save':
          this.expectFrame(r.frame, 'save');
          this.snapshots.set(r.frame, this.sim.save(this.pool.pop()));
          break;
        case 'load':
          this.sim.load(this.snapshot(r.frame));
          break;
        case 'restore':
          this.sim.load(this.sim.decode(r.state));
          this.expectFrame(r.frame, 'restore');
          break;
        case 'advance': {
          this.expectFrame(r.frame, 'advance');
          let end = i + 1;
          while (end < requests.length && requests[end].kind === 'advance') end++;
          if (this.stepper && end - i > 1) {
            this.stepMany(requests.slice(i, end) as AdvanceRequest[]);
            i = end - 1;
          } else {
            this.sim.step(r.inputs);
            this.steps++;
          }
          break;
        }
        case 'hash': {
          const state = this.sim.encode(this.snapshot(r.frame));
          reports.push({ frame: r.frame, hash: stateHash(state), state });
          break;
        }
        case 'free':
          for (const f of r.frames) {
            const s = this.snapshots.get(f);
            if (s === undefined) continue;
            this.snapshots.delete(f);
            if (this.pool.length < MAX_POOLED) this.pool.push(s);
          }
          break;
      }
    }
    return reports;
  }

  /** Number of snapshots held. */
  get snapshotCount(): number {
    return this.snapshots.size;
  }

  /** The canonical encoding of the snapshot saved under `frame`, or null. */
  encodedSnapshot(frame: Frame): Uint8Array | null {
    const s = this.snapshots.get(frame);
    return s === undefined ? null : this.sim.encode(s);
  }

  /** Consecutive advances from the sim's frame, checked to follow on from each other. */
  private stepMany(advances: readonly AdvanceRequest[]): void {
    const first = advances[0].frame;
    advances.forEach((a, k) => {
      if (a.frame !== first + k) {
        throw new ConcordError(
          'BAD_STATE',
          `advance for frame ${a.frame} but the sim will be at frame ${first + k}`,
          a.frame,
        );
      }
    });
    this.stepper!.stepMany(advances.map((a) => a.inputs));
    this.steps += advances.length;
    this.batches++;
    this.expectFrame(first + advances.length, 'stepMany');
  }

  private snapshot(frame: Frame): Snap {
    const s = this.snapshots.get(frame);
    if (s === undefined) {
      throw new ConcordError('SNAPSHOT_MISSING', `no snapshot saved for frame ${frame}`, frame);
    }
    return s;
  }

  private expectFrame(frame: Frame, what: string): void {
    if (this.sim.frame !== frame) {
      throw new ConcordError(
        'BAD_STATE',
        `${what} for frame ${frame} but the sim is at frame ${this.sim.frame}`,
        frame,
      );
    }
  }
}
