/**
 * CSV text as RFC 4180 defines it: fields separated by `,`, records ended by CRLF, a field quoted
 * with `"` when it holds a comma, a quote, a CR or an LF (a quote inside doubled), every other
 * field written bare. A header record first. What pandas' `read_csv`, R's `read.csv` and readr's
 * `read_csv` read without options.
 *
 * Small on purpose (no streaming, no type guessing): the export writes known columns of known
 * types. Values: strings as they are, finite numbers in JavaScript's shortest round-trip form,
 * booleans as `true`/`false`, null and undefined as the empty field (missing).
 *
 * @packageDocumentation
 */

/** A value of a CSV field; null and undefined are written as an empty field (missing). */
export type CsvValue = string | number | boolean | null | undefined;

/** Characters that oblige a field to be quoted (RFC 4180 §2.6). */
const NEEDS_QUOTES = /[",\r\n]/;

/**
 * One field as RFC 4180 writes it.
 * @throws RangeError for a number that is not finite (CSV has no agreed NaN or Infinity; a
 *   missing value is null).
 */
export function csvField(value: CsvValue): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new RangeError(`a CSV number must be finite, got ${value}`);
    return String(value);
  }
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  return NEEDS_QUOTES.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

/** One record: its fields joined by `,` and ended by CRLF. */
export function csvRecord(values: readonly CsvValue[]): string {
  let out = '';
  for (let i = 0; i < values.length; i++) {
    if (i > 0) out += ',';
    out += csvField(values[i]);
  }
  return `${out}\r\n`;
}
