/**
 * Codes of {@link ConcordError}. One code per kind of failure, stable across versions so that
 * tools and tests can match on them.
 */
export type ConcordErrorCode =
  | 'SYNC_TEST_MISMATCH'
  | 'NON_CANONICAL_VALUE'
  | 'BAD_INPUT'
  | 'BAD_STATE'
  | 'BAD_CONFIG'
  | 'HASH_NOT_READY'
  | 'SNAPSHOT_MISSING'
  | 'UNKNOWN_SIM';

/**
 * The one error type of Concord's core: a stable `code` and a human message. Modelled on GGRS's
 * single `GgrsError` enum.
 */
export class ConcordError extends Error {
  /** The kind of failure; see {@link ConcordErrorCode}. */
  readonly code: ConcordErrorCode;
  /** The frame the error concerns, when there is one. */
  readonly frame: number | undefined;

  constructor(code: ConcordErrorCode, message: string, frame?: number) {
    super(message);
    this.name = 'ConcordError';
    this.code = code;
    this.frame = frame;
  }
}
