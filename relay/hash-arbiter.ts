/**
 * The hash arbiter: the relay's side of desync detection (ARCHITECTURE.md, "Desync detection and
 * resync"), pure: hash reports in, verdicts out. No I/O, no timers, no members: the room tells it
 * who votes and carries out what its verdicts say (log, broadcast, ask the host for states).
 */
import type { Frame, PlayerSlot } from '../protocol/index.ts';

/** What the arbiter decided about one check frame. */
export interface Verdict {
  /** The check frame judged. */
  readonly frame: Frame;
  /** True when every voter reported the host's hash. */
  readonly agreed: boolean;
  /** Each slot's report for `frame`, by slot; null for a slot that did not vote. */
  readonly hashes: readonly (string | null)[];
  /** The voter whose hash is taken as right: the lowest voting slot (the host). */
  readonly host: PlayerSlot;
  /** Slots whose hash differed from the host's, ascending (empty when `agreed`). */
  readonly differing: readonly PlayerSlot[];
  /** `differing` as a bit mask (bit s set for slot s), as the `verdict` message carries it. */
  readonly differingMask: number;
  /** The next check frame: the next multiple of the new interval after `frame`. */
  readonly next: Frame;
  /** K after this verdict, frames. */
  readonly interval: Frame;
  /**
   * On the first agreed verdict after a desync: the frame of that desync (its repair is
   * confirmed); else null.
   */
  readonly converged: Frame | null;
}

/**
 * Judges state-hash checks with an adaptive interval K. Checks fall on frames f with f mod K = 0;
 * K starts at `hashInterval` (K_min), doubles after each check on which every voter agreed, up
 * to `hashIntervalMax` (K_max), and falls back to K_min after a desync. Its `differing` takes the
 * host (the lowest voting slot) as right; on a desync the room's referee decides which copies are
 * right (`arbitrate`), and falls back to this host rule where it cannot run.
 *
 * Use: {@link report} each `hash` message (it says why it refuses one), then {@link judge} with
 * the slots that vote now; judge again whenever the voters change (a member went away or left),
 * since the missing report may have been the last one awaited.
 */
export class HashArbiter {
  /** K: the current interval between checks, frames. */
  interval: Frame;
  /** The frame of the next check. */
  nextCheck: Frame;
  /** The last frame on which every voter agreed (frame 0, the shared start, to begin with). */
  lastAgreed: Frame = 0;
  private reports: (string | null)[];
  /** First check frame each slot votes on (a rejoining slot skips the check under way). */
  private readonly voteFrom: Frame[];
  /** The desync awaiting its first agreed check. */
  private converging: Frame | null = null;

  /**
   * @param players slots in the match, 1..16
   * @param hashInterval K_min, frames, >= 1
   * @param hashIntervalMax K_max, frames, >= K_min
   */
  constructor(
    private readonly players: number,
    private readonly hashInterval: Frame,
    private readonly hashIntervalMax: Frame,
  ) {
    this.interval = hashInterval;
    this.nextCheck = hashInterval;
    this.reports = new Array(players).fill(null);
    this.voteFrom = new Array(players).fill(0);
  }

  /**
   * Takes slot `slot`'s hash of `frame`.
   * @returns null when taken; else why it is refused (not the announced check frame, already
   *   reported, or a slot that skips this check)
   */
  report(slot: PlayerSlot, frame: Frame, hash: string): string | null {
    if (frame !== this.nextCheck)
      return `hash for frame ${frame}; the next check is frame ${this.nextCheck}`;
    if (this.reports[slot] !== null || this.voteFrom[slot] > frame)
      return `hash for frame ${frame} already reported or not asked`;
    this.reports[slot] = hash;
    return null;
  }

  /** Slot `slot` (rejoining, its state not yet checked) votes from the check after the current one. */
  skipCurrentCheck(slot: PlayerSlot): void {
    this.voteFrom[slot] = this.nextCheck + 1;
  }

  /**
   * True when slot `slot`'s report counts on the check of `frame` (default the current one): false
   * for a rejoining slot on the check under way when it rejoined. The room takes its host (the
   * peer asked for states, the reference of the host rule) among the slots that vote, the same
   * rule as {@link judge}'s `host`.
   */
  votes(slot: PlayerSlot, frame: Frame = this.nextCheck): boolean {
    return this.voteFrom[slot] <= frame;
  }

  /**
   * Judges the current check once every voter has reported.
   * @param voters the slots that vote now, ascending (connected and synced); slots that skip
   *   this check are left out here
   * @returns the verdict, or null while a report is missing (or nobody votes)
   */
  judge(voters: readonly PlayerSlot[]): Verdict | null {
    const frame = this.nextCheck;
    let host = -1;
    for (const s of voters) {
      if (this.voteFrom[s] > frame) continue;
      if (this.reports[s] === null) return null;
      if (host < 0) host = s;
    }
    if (host < 0) return null;
    const hashes = this.reports;
    const hostHash = hashes[host];
    const differing: PlayerSlot[] = [];
    let differingMask = 0;
    for (const s of voters) {
      if (this.voteFrom[s] <= frame && hashes[s] !== hostHash) {
        differing.push(s);
        differingMask |= 1 << s;
      }
    }
    const agreed = differing.length === 0;
    let converged: Frame | null = null;
    if (agreed) {
      this.lastAgreed = frame;
      this.interval = Math.min(this.interval * 2, this.hashIntervalMax);
      converged = this.converging;
      this.converging = null;
    } else {
      this.interval = this.hashInterval;
      this.converging = frame;
    }
    this.nextCheck = (Math.floor(frame / this.interval) + 1) * this.interval;
    this.reports = new Array(this.players).fill(null);
    return {
      frame,
      agreed,
      hashes,
      host,
      differing,
      differingMask,
      next: this.nextCheck,
      interval: this.interval,
      converged,
    };
  }
}
