/**
 * `codebook.md`: every column of every file an export wrote, with its type, unit and meaning,
 * made from the same column descriptions the files were written from.
 *
 * @packageDocumentation
 */
import type { Column } from './columns.ts';

/** One file (or family of files) of the export and its columns. */
export interface CodebookSection {
  /** The file's path in the export, e.g. `participants.csv`. */
  readonly file: string;
  /** What one row is, one sentence. */
  readonly about: string;
  readonly columns: readonly Column[];
}

/** A Markdown table cell: pipes escaped, no line breaks. */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ');
}

const TYPES = `## Types

- \`integer\`, \`number\` (decimal), \`boolean\` (\`true\`/\`false\`), \`string\`.
- \`time\`: ISO 8601 in UTC, \`2026-12-06T17:00:00.000Z\` (pandas: \`pd.to_datetime\`; R: \`as.POSIXct(x, format = "%Y-%m-%dT%H:%M:%OSZ", tz = "UTC")\`).
- \`hex\`: lowercase hexadecimal digits (a state hash: 16).
- \`action\`: an action name (\`UP\`), or a discrete action number when the scene names none.
- \`events\`: in CSV, tokens joined by \`;\` (\`desync:1;resync:1\`); in JSONL, a list of the log's records (see docs/match-logs.md).
- \`json\`: in CSV, JSON text in one field; in JSONL, the value itself.

An empty CSV field (JSONL \`null\`) is a missing value. CSV files follow RFC 4180 (UTF-8, a header
line, CRLF line ends, fields with \`,\` \`"\` or line breaks quoted).
`;

/**
 * The codebook's Markdown: a title, one table per section (columns in file order; a column name
 * that recurs in a section, as frame tables of several matches share theirs, is listed once), and
 * the types.
 */
export function codebookMarkdown(title: string, sections: readonly CodebookSection[]): string {
  const out: string[] = [`# ${title}`, ''];
  for (const s of sections) {
    out.push(
      `## ${s.file}`,
      '',
      s.about,
      '',
      '| column | type | unit | meaning |',
      '|---|---|---|---|',
    );
    const seen = new Set<string>();
    for (const c of s.columns) {
      if (seen.has(c.name)) continue;
      seen.add(c.name);
      out.push(`| \`${c.name}\` | ${c.type} | ${cell(c.unit)} | ${cell(c.meaning)} |`);
    }
    out.push('');
  }
  out.push(TYPES);
  return out.join('\n');
}
