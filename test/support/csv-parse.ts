/**
 * A strict RFC 4180 reader for tests: CRLF record ends (the last one required), `,` between
 * fields, quoted fields with doubled quotes inside, nothing after a closing quote but `,` or
 * CRLF, and every record as long as the header. Throws on anything else, so a test that reads
 * the export's CSV with it also checks that the CSV is well formed.
 */
export function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let i = 0;
  const n = text.length;
  if (n === 0) return records;
  for (;;) {
    let field = '';
    if (text[i] === '"') {
      i++;
      for (;;) {
        if (i >= n) throw new Error('CSV: a quoted field is not closed');
        const c = text[i];
        if (c === '"') {
          if (text[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        field += c;
        i++;
      }
    } else {
      while (i < n && text[i] !== ',' && text[i] !== '\r' && text[i] !== '\n') {
        if (text[i] === '"') throw new Error(`CSV: a quote inside a bare field at ${i}`);
        field += text[i];
        i++;
      }
    }
    record.push(field);
    if (text[i] === ',') {
      i++;
      continue;
    }
    if (text[i] === '\r' && text[i + 1] === '\n') {
      i += 2;
      records.push(record);
      record = [];
      if (i >= n) break;
      continue;
    }
    throw new Error(
      `CSV: expected , or CRLF at ${i}, got ${JSON.stringify(text.slice(i, i + 10))}`,
    );
  }
  const width = records[0].length;
  records.forEach((r, k) => {
    if (r.length !== width)
      throw new Error(`CSV: record ${k} has ${r.length} fields, the header ${width}`);
  });
  return records;
}

/** The records of a CSV text as objects keyed by the header's names. */
export function csvObjects(text: string): Record<string, string>[] {
  const [header, ...rows] = parseCsv(text);
  return rows.map((r) => Object.fromEntries(header.map((h, i) => [h, r[i]])));
}
