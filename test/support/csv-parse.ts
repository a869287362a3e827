/**
 * Reading the export's CSV in tests with csv-parse (node-csv), strictly: CRLF record ends,
 * quoted fields with doubled quotes inside, nothing after a closing quote but `,` or CRLF, and
 * every record as long as the header. It throws on anything else, so a test that reads the
 * export's CSV with it also checks that the CSV is well formed.
 */
import { parse } from 'csv-parse/sync';

/** The records of `text`, each a list of its fields as strings. */
export function parseCsv(text: string): string[][] {
  return parse(text, { record_delimiter: '\r\n', relax_quotes: false, skip_empty_lines: false });
}

/** The records after the header, as objects keyed by the header's names. */
export function csvObjects(text: string): Record<string, string>[] {
  const [header, ...rows] = parseCsv(text);
  return rows.map((r) => Object.fromEntries(header.map((h, i) => [h, r[i]])));
}
