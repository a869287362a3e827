/**
 * relay/export/: a study's data as tidy tables (`concord export`, `concord replay --export`):
 * `participants.csv` from the participant database, per-frame tables of every match from
 * replaying its log, `matches.csv` and `codebook.md`. See docs/your-data.md.
 *
 * @packageDocumentation
 */

export { type CodebookSection, codebookMarkdown } from './codebook.ts';
export { type Column, type ColumnType, column } from './columns.ts';
export { type CsvValue, csvField, csvRecord } from './csv.ts';
export { ExportError, type ExportErrorCode } from './errors.ts';
export {
  type ExportedMatch,
  type ExportOptions,
  type ExportSummary,
  exportDataDir,
  exportMatchLog,
  MATCH_COLUMNS,
  tableCsv,
} from './export.ts';
export {
  eventToken,
  type FrameValue,
  frameColumns,
  framesCsv,
  framesJsonl,
  type MatchFrames,
  type MatchFramesOptions,
  matchFrames,
  stateJson,
} from './frames.ts';
export { participantsTable, type Table } from './participants.ts';
