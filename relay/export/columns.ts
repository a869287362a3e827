/**
 * The columns of the export's tables, described once: what the CSV header names, what the
 * codebook says of each, and how a JSON Lines row types it.
 *
 * @packageDocumentation
 */

/**
 * The type of a column, as the codebook names it:
 * - `integer`, `number` (a decimal number), `boolean` (`true`/`false`), `string`;
 * - `time` (ISO 8601 UTC, `2026-12-06T17:00:00.000Z`);
 * - `hex` (lowercase hexadecimal digits);
 * - `action` (an action name, or a discrete action number when the scene names none);
 * - `events` (a list of events: `;`-separated tokens in CSV, an array of log records in JSONL);
 * - `json` (a JSON value: its text in CSV, the value itself in JSONL).
 */
export type ColumnType =
  | 'integer'
  | 'number'
  | 'boolean'
  | 'string'
  | 'time'
  | 'hex'
  | 'action'
  | 'events'
  | 'json';

/** One column of an exported table. */
export interface Column {
  /** The header's name of the column. */
  readonly name: string;
  readonly type: ColumnType;
  /** Its unit (`frames`, `ms`, …), or `-` when it has none. */
  readonly unit: string;
  /** What it means, one or two sentences of Markdown; empty field = what, when it is empty. */
  readonly meaning: string;
}

/** A column with its type and meaning (unit `-`). */
export function column(name: string, type: ColumnType, meaning: string, unit = '-'): Column {
  return { name, type, unit, meaning };
}
