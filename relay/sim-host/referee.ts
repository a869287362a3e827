import type { Frame, PlayerSlot } from '../../sim/index.ts';
import type { ArbitrationMethod, RefereeRecord as LogRefereeRecord } from '../log/index.ts';
import { SimHostError } from './errors.ts';

/**
 * What the referee found for a disputed check frame f:
 * - `hash`: it re-simulated S(f) from the last agreed checkpoint with the logged inputs, and this
 *   is the hash of S(f) (16 hex digits);
 * - `unavailable`: it could not (the sim cannot run on the relay, the worker failed, inputs of
 *   the range are missing); `reason` says why, for the log and the operator.
 */
export type RefereeOutcome =
  | { readonly kind: 'hash'; readonly hash: string }
  | { readonly kind: 'unavailable'; readonly reason: string };

/** Where a slot that must be repaired gets the right S(f) from. */
export type RepairSource =
  | { readonly kind: 'peer'; readonly slot: PlayerSlot }
  | { readonly kind: 'referee' };

/**
 * How the verdict was reached:
 * - `agreed`: every voter reported the same hash (and the referee, if it ran, found it too);
 * - `referee`: the referee's re-simulated hash decided which copies are right;
 * - `host`: the referee was unavailable or not run, so the host's hash (the lowest voting slot:
 *   slot 0, or the next connected one) was taken as right.
 */
export type { ArbitrationMethod };

/** The facts of one check, as the room holds them once every voter has reported. */
export interface ArbitrationFacts {
  /** The check frame f. */
  readonly frame: Frame;
  /** The last agreed checkpoint, the frame the referee re-simulates from (below `frame`). */
  readonly fromFrame: Frame;
  /**
   * Each slot's reported hash of S(f) (16 hex digits), indexed by slot; null for a slot that
   * does not vote on this check (away, left, still syncing after a rejoin).
   */
  readonly reports: readonly (string | null)[];
  /**
   * The referee's outcome, or null when it was not run. The room needs to run it only when the
   * votes disagree ({@link votesAgree} is false); a disputed check without it falls back to the
   * host rule, and the record says so.
   */
  readonly referee: RefereeOutcome | null;
}

/**
 * The log record of an arbitration (relay/log's `referee` record without its `ms`, which the room
 * adds): one line, beside the desync record. `differing` has the meaning of the desync record's
 * field of that name (the slots repaired), so that a replay explains their hashes in the same
 * way; `source` is the slot whose state repairs them, `"referee"` for the relay's own
 * re-simulated state, or null when nothing is repaired.
 */
export type RefereeRecord = Omit<LogRefereeRecord, 'ms'>;

/** What the room must do after a check: the verdict and its repairs. */
export interface Arbitration {
  readonly frame: Frame;
  readonly method: ArbitrationMethod;
  /** True when nothing is to be repaired: the frame becomes the last agreed checkpoint. */
  readonly agreed: boolean;
  /** The hash of the right S(f). */
  readonly rightHash: string;
  /** Voting slots whose hash is the right one, ascending (may be empty: every copy is damaged). */
  readonly right: readonly PlayerSlot[];
  /** Voting slots that must load the right S(f), ascending. */
  readonly repair: readonly PlayerSlot[];
  /**
   * Where the repairs come from, best first: the right peers by ascending slot, then the
   * referee's own state when it ran (`referee`). The room asks the first and moves down the list
   * when a source leaves before it answers. Empty when nothing is to be repaired.
   */
  readonly sources: readonly RepairSource[];
  /** Slots that did not vote (null report), ascending: neither right nor repaired. */
  readonly absent: readonly PlayerSlot[];
  /** The record for the match log. */
  readonly record: RefereeRecord;
}

/** True when every voting slot (non-null report) reported the same hash, and at least one voted. */
export function votesAgree(reports: readonly (string | null)[]): boolean {
  let first: string | null = null;
  for (const h of reports) {
    if (h === null) continue;
    if (first === null) first = h;
    else if (h !== first) return false;
  }
  return first !== null;
}

/**
 * Decides a check: which copies are right, which must be repaired and from where. Pure: it takes
 * the facts and returns what to do, as GGRS's `advance_frame()` returns its requests; the room
 * carries it out (asks the source for S(f) as a delta against the checkpoint, logs the record).
 *
 * The rule (ARCHITECTURE.md, "Desync detection and resync"):
 * - the referee ran (`referee.kind === 'hash'`): right are the voters whose hash equals the
 *   referee's, whether or not the host is among them; every other voter is repaired, from the
 *   lowest right slot, or from the referee's own state when no voter is right (the host rule
 *   would repair every peer onto a damaged line, and the log would no longer replay);
 * - otherwise, when the votes agree, the frame is agreed;
 * - otherwise the host rule: the lowest voting slot is right, with every voter that agrees with
 *   it; the others are repaired from it. `reason` records why the referee did not decide.
 *
 * A referee hash that differs from unanimous votes means every copy is damaged alike: all are
 * repaired from the referee, which is the only copy that follows from the inputs.
 * @throws SimHostError `NO_VOTES` when no slot voted.
 */
export function arbitrate(facts: ArbitrationFacts): Arbitration {
  const { frame, fromFrame, reports, referee } = facts;
  const voters: PlayerSlot[] = [];
  const absent: PlayerSlot[] = [];
  reports.forEach((h, slot) => {
    (h === null ? absent : voters).push(slot);
  });
  if (voters.length === 0) {
    throw new SimHostError('NO_VOTES', `no slot reported a hash for check frame ${frame}`);
  }
  const agree = votesAgree(reports);

  let method: ArbitrationMethod;
  let rightHash: string;
  let reason: string | null = null;
  if (referee?.kind === 'hash') {
    rightHash = referee.hash;
    method = agree && reports[voters[0]] === rightHash ? 'agreed' : 'referee';
  } else if (agree) {
    method = 'agreed';
    rightHash = reports[voters[0]]!;
  } else {
    method = 'host';
    rightHash = reports[voters[0]]!;
    reason = referee === null ? 'referee not run' : referee.reason;
  }

  const right = voters.filter((s) => reports[s] === rightHash);
  const repair = voters.filter((s) => reports[s] !== rightHash);
  const sources: RepairSource[] = [];
  if (repair.length > 0) {
    for (const slot of right) sources.push({ kind: 'peer', slot });
    if (referee?.kind === 'hash') sources.push({ kind: 'referee' });
  }
  const first = sources[0];
  const record: RefereeRecord = {
    type: 'referee',
    f: frame,
    from: referee?.kind === 'hash' ? fromFrame : null,
    method,
    hashes: [...reports],
    referee: referee?.kind === 'hash' ? referee.hash : null,
    reason,
    right,
    differing: repair,
    source: first === undefined ? null : first.kind === 'peer' ? first.slot : 'referee',
  };
  return {
    frame,
    method,
    agreed: repair.length === 0,
    rightHash,
    right,
    repair,
    sources,
    absent,
    record,
  };
}
