/**
 * CSV text as RFC 4180 defines it: fields separated by `,`, records ended by CRLF, a field quoted
 * with `"` when it holds a comma, a quote, a CR or an LF (a quote inside doubled), every other
 * field written bare. A header record first. What pandas' `read_csv`, R's `read.csv` and readr's
 * `read_csv` read without options.
 *
 * Written by csv-stringify (node-csv); the export writes known columns of known
 * types. Values: strings as they are, finite numbers in JavaScript's shortest round-trip form, booleans as `true`/`false`, null and undefined as the empty field (missing).
 *
 * @packageDocumentation
 */
import { type Options as StringifyOptions, stringify } from 'csv-stringify/sync';

/** A value of a CSV field; null and undefined are written as an empty field (missing). */
export type CsvValue = string | number | boolean | null | undefined;

/**
 * csv-stringify's options for RFC 4180: CRLF record ends, and a field with a lone CR or LF quoted
 * too (csv-stringify quotes only the whole record delimiter by default).
 */
const RFC4180: StringifyOptions = {
  record_delimiter: 'windows',
  quoted_match: /[\r\n]/,
  cast: {
    boolean: (value) => (value ? 'true' : 'false'),
    number: (value) => {
      if (!Number.isFinite(value)) {
        throw new RangeError(`a CSV number must be finite, got ${value}`);
      }
      return String(value);
    },
  },
};

/**
 * One record: its fields joined by `,` and ended by CRLF (csv-stringify).
 * @throws RangeError for a number that is not finite (CSV has no agreed NaN or Infinity; a
 *   missing value is null).
 */
export function csvRecord(values: readonly CsvValue[]): string {
  return stringify([values.map((v) => (v === undefined ? null : v))], RFC4180);
}

/**
 * One field as RFC 4180 writes it (quoted when it holds a comma, a quote, a CR or an LF).
 * @throws RangeError as {@link csvRecord}.
 */
export function csvField(value: CsvValue): string {
  return csvRecord([value]).slice(0, -2);
}
