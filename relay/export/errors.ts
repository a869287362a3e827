/**
 * The one error type of the export (`concord export`, `concord replay --export`).
 *
 * @packageDocumentation
 */

/**
 * Kinds of {@link ExportError}:
 * - `REPLAY_MISMATCH`: replaying a match's log did not reproduce a hash it records (the match and
 *   the frame are named): its per-frame rows cannot be trusted from that frame on;
 * - `DAMAGED_LOG`: a match log has a bad line (the match and line are named);
 * - `NO_EXPERIMENT`: the data directory has a participant database but no experiment file was
 *   given (the database does not store it), or the file given is not that database's;
 * - `NOT_FOUND`: the data directory, its logs or the database the experiment names are missing;
 * - `BAD_OPTION`: an option out of range, or an export file name that is neither `.csv` nor `.jsonl`.
 */
export type ExportErrorCode =
  | 'REPLAY_MISMATCH'
  | 'DAMAGED_LOG'
  | 'NO_EXPERIMENT'
  | 'NOT_FOUND'
  | 'BAD_OPTION';

/** The export's error: a stable `code`, a human message, and the match and frame concerned. */
export class ExportError extends Error {
  /** The kind of failure; see {@link ExportErrorCode}. */
  readonly code: ExportErrorCode;
  /** The match concerned, or null. */
  readonly matchId: string | null;
  /** The frame concerned (`REPLAY_MISMATCH`), or null. */
  readonly frame: number | null;

  constructor(
    code: ExportErrorCode,
    message: string,
    where: { matchId?: string; frame?: number } = {},
    cause?: unknown,
  ) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'ExportError';
    this.code = code;
    this.matchId = where.matchId ?? null;
    this.frame = where.frame ?? null;
  }
}
