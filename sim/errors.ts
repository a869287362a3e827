/**
 * Codes of {@link ConcordError}. One code per kind of failure, stable across versions so that
 * tools and tests can match on them. `ENV_ERROR`: a Python environment's own code raised while
 * the sim ran it (`step`, `get_state`, `set_state`, `render`); the message holds the Python
 * traceback. Distinct from `BAD_STATE` (a state that has no canonical encoding) and `BAD_CONFIG`
 * (a sim or environment that cannot load).
 *
 * A study's participants (relay/experiment/): `UNKNOWN_PARTICIPANT` (no participant has that
 * id), `DUPLICATE_PARTICIPANT` (enrolling an id that is enrolled), `SESSION_MISMATCH` (a known
 * participant id arriving with another Prolific session), `SECOND_TAB` (a tab that is not the
 * participant's active one), `BAD_STEP` (a step the participant's current scene does not allow:
 * another scene's, a skipped one, after the end, or malformed), `BAD_ANSWER` (survey answers that
 * do not fit their questions; the message names each), `BAD_DATABASE` (a participant database
 * that is not this experiment's, or of an unknown schema version).
 */
export type ConcordErrorCode =
  | 'SYNC_TEST_MISMATCH'
  | 'NON_CANONICAL_VALUE'
  | 'BAD_INPUT'
  | 'BAD_STATE'
  | 'BAD_CONFIG'
  | 'ENV_ERROR'
  | 'HASH_NOT_READY'
  | 'SNAPSHOT_MISSING'
  | 'UNKNOWN_SIM'
  | 'UNKNOWN_PARTICIPANT'
  | 'DUPLICATE_PARTICIPANT'
  | 'SESSION_MISMATCH'
  | 'SECOND_TAB'
  | 'BAD_STEP'
  | 'BAD_ANSWER'
  | 'BAD_DATABASE';

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
