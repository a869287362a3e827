import { ConcordError, type Frame, type Sim, stateHash } from '../../sim/index.ts';
import type { ChecksumReport, SessionRequest } from './types.ts';

const MAX_POOLED = 64;

/**
 * Carries out a session's requests on a sim in this thread, keeping the saved snapshots by
 * frame. (In the browser a Python sim runs in a Worker instead, which answers the same requests
 * in one message per tick.) `initStateHash()` must have completed before a checksum request.
 */
export class SimRunner<Snap> {
  private readonly snapshots = new Map<Frame, Snap>();
  /** Freed snapshots, handed back to the sim's `save` to overwrite instead of allocating. */
  private readonly pool: Snap[] = [];
  /** Steps taken, re-simulated ones included. */
  steps = 0;

  constructor(readonly sim: Sim<Snap>) {}

  /**
   * Runs the requests in order.
   * @returns the state hash of every `checksum` request, in order
   * @throws ConcordError `SNAPSHOT_MISSING` when a load or checksum names a frame not saved, and
   * `BAD_STATE` when a request's frame does not match the sim's (a session bug, never ignored).
   */
  run(requests: readonly SessionRequest[]): ChecksumReport[] {
    const reports: ChecksumReport[] = [];
    for (const r of requests) {
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
        case 'advance':
          this.expectFrame(r.frame, 'advance');
          this.sim.step(r.inputs);
          this.steps++;
          break;
        case 'checksum': {
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
