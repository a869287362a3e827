import { readFile } from 'node:fs/promises';
import { type Frame, initStateHash } from '../../sim/index.ts';
import {
  type BodyRecord,
  type HeaderRecord,
  LogError,
  type LogRecord,
  parseRecord,
  validateRecord,
} from './records.ts';

/** Where a log stops being readable. */
export interface LogDamage {
  /** 1-based line of the first bad record. */
  readonly line: number;
  /** What is wrong with it, starting with `line N:`. */
  readonly message: string;
}

/** A match log as read: everything before the first damage, and what stopped the reading. */
export interface MatchLog {
  /** The file read, or null for a log parsed from memory. */
  readonly path: string | null;
  /** Line 1. */
  readonly header: HeaderRecord;
  /**
   * Every whole, valid record after the header up to the first damage, in file order;
   * `records[i]` is on line {@link recordLine}(i) (the format has no blank lines). They are
   * consistent with the header and with each other (see {@link parseMatchLog}).
   */
  readonly records: readonly BodyRecord[];
  /** True when the file's last line has no '\n': a record cut by a crash, ignored. */
  readonly truncated: boolean;
  /** The line number of that cut record, or null. */
  readonly truncatedLine: number | null;
  /** The first bad whole line, where reading stopped; null when every whole line is good. */
  readonly damaged: LogDamage | null;
}

/** The 1-based line of `records[index]` of a {@link MatchLog}. */
export function recordLine(index: number): number {
  return index + 2;
}

/**
 * Reads a match log file; see {@link parseMatchLog}.
 * @throws LogError `IO` when the file cannot be read, and whatever {@link parseMatchLog} throws.
 */
export async function readMatchLog(path: string): Promise<MatchLog> {
  await initStateHash(); // a Python header's source is checked against its hash
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw new LogError('IO', `cannot read match log ${path}: ${(err as Error).message}`, null, err);
  }
  return parseMatchLog(bytes, path);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Parses the bytes of a match log. Reading stops at the first complete line that is not a
 * valid record or that contradicts the records before it (reported in `damaged`, with the
 * records before it returned). Those contradictions are:
 * a second header; any record after the end record; a slot outside the header's players; a
 * verdict whose hash list is not one per player; an input that is not the next frame of its
 * slot (inputs start at the scene's inputDelay and are contiguous: a gap or a duplicate is
 * damage); an input of a slot after it left; a second left record of a slot; a left record
 * whose lastFrame is not the slot's last input frame (or, when it sent none, below inputDelay).
 *
 * A last line without '\n' is a record cut by a crash: it is ignored and reported in
 * `truncated`/`truncatedLine`.
 *
 * A header of a Python sim carries the environment's source; it must hash to the header's
 * `codeHash` (a changed or damaged source is `DAMAGED`, naming the header), which needs
 * `initStateHash()` to have completed ({@link readMatchLog} sees to it).
 *
 * @throws LogError `NO_HEADER` for an empty log or one whose first record is not a header;
 *   `TRUNCATED` when the header line itself is cut; `BAD_FORMAT_VERSION` for another format;
 *   `DAMAGED` when the header line is not a valid header. ConcordError `HASH_NOT_READY` for a
 *   Python header before `initStateHash()`.
 */
export function parseMatchLog(bytes: Uint8Array, path: string | null = null): MatchLog {
  const name = path ?? 'match log';
  if (bytes.length === 0) throw new LogError('NO_HEADER', `${name} is empty`, 1);
  const lastNewline = bytes.lastIndexOf(0x0a);
  if (lastNewline < 0) {
    throw new LogError('TRUNCATED', `${name}: line 1 (the header) is cut off`, 1);
  }
  const lines = decodeLines(bytes.subarray(0, lastNewline));
  const truncated = lastNewline < bytes.length - 1;

  const header = parseHeader(lines[0] ?? '', name);
  const checker = new Consistency(header);
  const records: BodyRecord[] = [];
  let damaged: LogDamage | null = null;
  for (let i = 1; i < lines.length; i++) {
    const lineNo = i + 1;
    try {
      const line = lines[i];
      if (typeof line !== 'string')
        throw new LogError('DAMAGED', `line ${lineNo}: not UTF-8`, lineNo);
      if (line.length === 0) throw new LogError('DAMAGED', `line ${lineNo}: empty line`, lineNo);
      const record = parseRecord(line, lineNo);
      const problem = checker.check(record);
      if (problem !== null) {
        throw new LogError('DAMAGED', `line ${lineNo}: ${record.type} record: ${problem}`, lineNo);
      }
      records.push(record as BodyRecord);
    } catch (err) {
      if (!(err instanceof LogError)) throw err;
      damaged = { line: lineNo, message: err.message };
      break;
    }
  }
  return {
    path,
    header,
    records,
    truncated,
    truncatedLine: truncated ? lines.length + 1 : null,
    damaged,
  };
}

/**
 * Splits complete lines. Decodes everything at once when it is valid UTF-8 (the usual case);
 * otherwise line by line, with `null` for a line that is not UTF-8. A '\n' byte never occurs
 * inside a multi-byte UTF-8 sequence, so splitting the text or the bytes is the same.
 */
function decodeLines(bytes: Uint8Array): (string | null)[] {
  try {
    return utf8.decode(bytes).split('\n');
  } catch {
    const lines: (string | null)[] = [];
    let start = 0;
    while (start <= bytes.length) {
      let end = bytes.indexOf(0x0a, start);
      if (end < 0) end = bytes.length;
      try {
        lines.push(utf8.decode(bytes.subarray(start, end)));
      } catch {
        lines.push(null);
      }
      start = end + 1;
    }
    return lines;
  }
}

function parseHeader(line: string | null, name: string): HeaderRecord {
  if (line === null) throw new LogError('DAMAGED', `${name}: line 1: not UTF-8`, 1);
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (err) {
    throw new LogError('DAMAGED', `${name}: line 1: not JSON (${(err as Error).message})`, 1);
  }
  if (typeof value !== 'object' || value === null || (value as LogRecord).type !== 'header') {
    throw new LogError('NO_HEADER', `${name}: line 1 is not a header record`, 1);
  }
  return validateRecord(value, 1) as HeaderRecord;
}

/** The checks across records: see {@link parseMatchLog}. */
class Consistency {
  private readonly players: number;
  private readonly inputDelay: number;
  /** Next input frame expected per slot. */
  private readonly nextFrame: Frame[];
  private readonly hasLeft: boolean[];
  private ended = false;

  constructor(header: HeaderRecord) {
    this.players = header.scene.players;
    this.inputDelay = header.scene.inputDelay;
    this.nextFrame = new Array(this.players).fill(this.inputDelay);
    this.hasLeft = new Array(this.players).fill(false);
  }

  /** What is wrong with `r` given the records before it, or null. */
  check(r: LogRecord): string | null {
    if (this.ended) return 'a record after the end record';
    if (r.type === 'header') return 'a second header';
    const slots = 's' in r ? (Array.isArray(r.s) ? r.s : [r.s]) : [];
    for (const slot of slots as number[]) {
      if (slot >= this.players)
        return `slot ${slot} is outside the match's ${this.players} players`;
    }
    switch (r.type) {
      case 'desync':
        return r.hashes.length === this.players && r.host < this.players
          ? null
          : `${r.hashes.length} hashes for ${this.players} players`;
      case 'input': {
        if (this.hasLeft[r.s]) return `an input of slot ${r.s} after it left`;
        const expected = this.nextFrame[r.s];
        if (r.f < this.inputDelay) {
          return `an input of slot ${r.s} for frame ${r.f}, below the input delay ${this.inputDelay}`;
        }
        if (r.f < expected) {
          return `duplicate input of slot ${r.s} for frame ${r.f} (the next expected is ${expected})`;
        }
        if (r.f > expected) {
          return `gap: slot ${r.s} has no input for frame ${expected}, got frame ${r.f}`;
        }
        this.nextFrame[r.s]++;
        return null;
      }
      case 'referee': {
        const named = [
          ...r.right,
          ...r.differing,
          ...(typeof r.source === 'number' ? [r.source] : []),
        ];
        const outside = named.find((s) => s >= this.players);
        if (outside !== undefined)
          return `slot ${outside} is outside the match's ${this.players} players`;
        return r.hashes.length === this.players
          ? null
          : `${r.hashes.length} hashes for ${this.players} players`;
      }
      case 'verdict':
        return r.hashes.length === this.players
          ? null
          : `${r.hashes.length} hashes for ${this.players} players`;
      case 'left': {
        if (this.hasLeft[r.s]) return `slot ${r.s} left twice`;
        const last = this.nextFrame[r.s] - 1;
        const sentNone = last < this.inputDelay;
        if (sentNone ? r.lastFrame >= this.inputDelay : r.lastFrame !== last) {
          return sentNone
            ? `lastFrame ${r.lastFrame} but slot ${r.s} sent no input`
            : `lastFrame ${r.lastFrame} but the last input of slot ${r.s} is frame ${last}`;
        }
        this.hasLeft[r.s] = true;
        return null;
      }
      case 'end':
        this.ended = true;
        return null;
      default:
        return null;
    }
  }
}
