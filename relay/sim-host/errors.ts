/**
 * Codes of {@link SimHostError}, stable so that the relay and tests can match on them.
 *
 * - `WORKER_EXITED`: the worker that held the match died (crash, out of memory, terminated);
 *   every call it had not answered is rejected with this code and the worker is replaced.
 * - `WORKER_STALLED`: the worker answered nothing for `stallTimeoutMs` while it had calls to
 *   answer (a sim that never returns); it is terminated and replaced.
 * - `POOL_CLOSED`: the pool was closed before or while the call ran.
 * - `MATCH_CLOSED`: the match's handle was closed.
 * - `NO_VOTES`: an arbitration was asked for a check frame on which no slot voted.
 */
export type SimHostErrorCode =
  | 'WORKER_EXITED'
  | 'WORKER_STALLED'
  | 'POOL_CLOSED'
  | 'MATCH_CLOSED'
  | 'NO_VOTES';

/**
 * The error of the sim host's own boundary (the pool and its workers). Errors thrown by a sim
 * itself come back unchanged as the sim's `ConcordError` (e.g. `ENV_ERROR`, `BAD_STATE`).
 */
export class SimHostError extends Error {
  /** The kind of failure; see {@link SimHostErrorCode}. */
  readonly code: SimHostErrorCode;

  constructor(code: SimHostErrorCode, message: string) {
    super(message);
    this.name = 'SimHostError';
    this.code = code;
  }
}
