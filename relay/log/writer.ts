import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Frame, PlayerSlot } from '../../protocol/index.ts';
import { ConcordError } from '../../sim/index.ts';
import {
  type BodyRecord,
  type EndRecord,
  formatRecord,
  type HeaderRecord,
  isValidMatchId,
  LogError,
  MAX_LOG_PLAYERS,
  validateRecord,
} from './records.ts';

/** Settings of a {@link MatchLogWriter}. */
export interface MatchLogWriterOptions {
  /**
   * Longest time a record waits in memory before its write starts, in ms (default 200, range
   * 1–60000). A crash loses at most this much of the match.
   */
  readonly flushIntervalMs?: number;
  /**
   * Milliseconds since the match start, for the `ms` of end records that {@link LogDirectory}
   * writes. Default: counted from the header's `startTime` on the wall clock at open, then on
   * the monotonic clock. Pass the relay's own match clock so that all `ms` share one origin.
   */
  readonly clock?: () => number;
  /**
   * Called once, from the flush timer, when a write fails. The failure is also thrown by every
   * later `append`, `flush` and `close`.
   */
  readonly onError?: (error: LogError) => void;
}

/** Bytes handed to the write chain, with the file offset they belong at. */
interface Chunk {
  readonly data: Buffer;
  readonly position: number;
}

/** Where a writer is in its life. */
export type WriterState =
  /** accepting records */
  | 'open'
  /** an end record was appended; the file is still open and being flushed */
  | 'ended'
  /** `close` or `closeSync` was called */
  | 'closed';

const DEFAULT_FLUSH_MS = 200;

/**
 * One timer for every writer with the same flush interval: started by the first writer that
 * waits, it flushes every waiting writer when it fires (so no record waits longer than the
 * interval), and stops when no writer waits.
 */
class FlushTicker {
  private readonly waiting = new Set<MatchLogWriter>();
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly intervalMs: number) {}

  add(writer: MatchLogWriter): void {
    this.waiting.add(writer);
    if (this.timer === null) this.timer = setTimeout(this.fire, this.intervalMs);
  }

  remove(writer: MatchLogWriter): void {
    this.waiting.delete(writer);
    if (this.waiting.size === 0 && this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
  }

  private readonly fire = (): void => {
    this.timer = null;
    const writers = [...this.waiting];
    this.waiting.clear();
    for (const w of writers) w.onTick();
  };
}

const tickers = new Map<number, FlushTicker>();

/** The flush ticker of an interval, ms (created on first use; intervals are few). */
function flushTicker(intervalMs: number): FlushTicker {
  let ticker = tickers.get(intervalMs);
  if (ticker === undefined) {
    ticker = new FlushTicker(intervalMs);
    tickers.set(intervalMs, ticker);
  }
  return ticker;
}

const INPUT_PREFIX = Buffer.from('{"type":"input","f":', 'latin1');
const INPUT_SLOT = Buffer.from(',"s":', 'latin1');
const INPUT_BYTES_KEY = Buffer.from(',"in":"', 'latin1');
const INPUT_MS = Buffer.from('","ms":', 'latin1');
/** The longest input line: the fixed parts, 4 hex bytes, two safe integers and a number's text. */
const INPUT_LINE_MAX_BYTES = 40 + 8 + 2 * 16 + 32;
/** ASCII codes of the lowercase hex digits. */
const HEX_DIGIT = Uint8Array.from('0123456789abcdef', (c) => c.charCodeAt(0));

/** Writes the decimal digits of a safe integer ≥ 0 at `p`; returns the position after them. */
function writeDecimal(b: Buffer, p: number, n: number): number {
  if (n < 10) {
    b[p] = 0x30 + n;
    return p + 1;
  }
  let digits = 1;
  for (let x = n; x >= 10; x = Math.floor(x / 10)) digits++;
  let x = n;
  for (let i = p + digits - 1; i >= p; i--) {
    b[i] = 0x30 + (x % 10);
    x = Math.floor(x / 10);
  }
  return p + digits;
}

/**
 * Appends the records of one match to `<dir>/<matchId>.jsonl`.
 *
 * `append` only validates, stringifies and buffers: it never touches the file, so the relay can
 * call it on its forward path. The buffer is written at most `flushIntervalMs` after its first
 * record, on a flush tick shared by every writer of the process with the same interval: one
 * timer for all of them, and their writes handed to libuv's thread pool in one burst. Each
 * write handed to an idle pool wakes a thread, which cost about 80 µs of CPU per write when
 * hundreds of matches each flushed on their own timer, and about 16 µs in a burst.
 *
 * Ordering: every chunk gets its file offset when it leaves the buffer, and is written there
 * with a positional write (the file is opened without O_APPEND). Asynchronous writes run one at
 * a time through a promise chain, in buffer order. {@link closeSync}, the last resort when the
 * process is about to exit, writes again synchronously every chunk not yet known to be on disk
 * (including one being written by the thread pool: same bytes at the same offset, so it does
 * not matter which lands last), then the rest of the buffer after them, so the file always
 * holds the records in append order. It closes the descriptor only when no asynchronous write
 * is in flight; otherwise that write's completion closes it.
 */
export class MatchLogWriter {
  /** The log file. */
  readonly path: string;
  /** The match id (the file's base name). */
  readonly matchId: string;
  /** The header, line 1 of the file. */
  readonly header: HeaderRecord;
  /** Resolves once the writer is closed, by {@link close} or {@link closeSync}; never rejects. */
  readonly closed: Promise<void>;

  private readonly fd: number;
  private readonly flushIntervalMs: number;
  private readonly clock: () => number;
  private readonly onError: ((error: LogError) => void) | undefined;
  /** Records not yet handed to the write chain, as the file's bytes (UTF-8). */
  private pending: Buffer = Buffer.allocUnsafe(4096);
  private pendingBytes = 0;
  /** True while this writer waits for its interval's shared flush tick. */
  private ticking = false;
  /** The write chain; never rejects (failures are kept in `failure`). */
  private tail: Promise<void> = Promise.resolve();
  /** Chunks handed to the chain and not yet written, in file order. */
  private readonly queued: Chunk[] = [];
  private inFlight = false;
  private nextPosition = 0;
  private failure: LogError | null = null;
  private lifecycle: WriterState = 'open';
  private closing: Promise<void> | null = null;
  private syncClosed = false;
  private fdClosed = false;
  private markClosed: () => void = () => {};
  private recordCount = 0;
  private byteCount = 0;
  private flushCount = 0;

  private constructor(
    file: string,
    fd: number,
    header: HeaderRecord,
    options: MatchLogWriterOptions,
  ) {
    this.path = file;
    this.fd = fd;
    this.header = header;
    this.matchId = header.matchId;
    this.flushIntervalMs = options.flushIntervalMs ?? DEFAULT_FLUSH_MS;
    this.onError = options.onError;
    if (options.clock) {
      this.clock = options.clock;
    } else {
      const alreadyMs = Date.now() - Date.parse(header.startTime); // clock-ok: log timestamps
      const base = performance.now(); // clock-ok
      this.clock = () => Math.round((alreadyMs + performance.now() - base) * 10) / 10; // clock-ok
    }
    this.closed = new Promise((resolve) => {
      this.markClosed = resolve;
    });
  }

  /**
   * Creates `dir` if missing, creates `<dir>/<matchId>.jsonl` (refusing to overwrite) and writes
   * the header to it; resolves once the header is written.
   * @throws LogError `BAD_RECORD` for an invalid match id or header, or a header whose matchId
   *   differs; `IO` when the directory or file cannot be created (also when the file exists).
   * @throws ConcordError `BAD_CONFIG` for a flush interval outside 1–60000 ms.
   */
  static async open(
    dir: string,
    matchId: string,
    header: HeaderRecord,
    options: MatchLogWriterOptions = {},
  ): Promise<MatchLogWriter> {
    if (!isValidMatchId(matchId)) {
      throw new LogError(
        'BAD_RECORD',
        `match id ${JSON.stringify(matchId)} is not 1–128 of A–Z a–z 0–9 _ -`,
      );
    }
    const record = validateRecord(header, null, 'BAD_RECORD');
    if (record.type !== 'header' || header.matchId !== matchId) {
      throw new LogError('BAD_RECORD', `the first record must be the header of match ${matchId}`);
    }
    const interval = options.flushIntervalMs ?? DEFAULT_FLUSH_MS;
    if (!Number.isFinite(interval) || interval < 1 || interval > 60_000) {
      throw new ConcordError('BAD_CONFIG', `flushIntervalMs must be in 1..60000, got ${interval}`);
    }
    const file = path.join(dir, `${matchId}.jsonl`);
    let fd: number;
    try {
      await fs.promises.mkdir(dir, { recursive: true });
      fd = await new Promise<number>((resolve, reject) => {
        fs.open(file, 'wx', 0o644, (err, handle) => (err ? reject(err) : resolve(handle)));
      });
    } catch (err) {
      throw new LogError(
        'IO',
        `cannot create match log ${file}: ${(err as Error).message}`,
        null,
        err,
      );
    }
    const writer = new MatchLogWriter(file, fd, header, options);
    writer.pushText(formatRecord(header));
    writer.recordCount = 1;
    try {
      await writer.flush();
    } catch (err) {
      fs.close(fd, () => {}); // the header write failed: that is the error to report
      throw err;
    }
    return writer;
  }

  /** Records accepted so far, the header included. */
  get records(): number {
    return this.recordCount;
  }

  /** Bytes written to the file so far. */
  get bytes(): number {
    return this.byteCount;
  }

  /** Writes completed so far (each carries every record buffered when it started). */
  get flushes(): number {
    return this.flushCount;
  }

  /** See {@link WriterState}. */
  get state(): WriterState {
    return this.lifecycle;
  }

  /** Milliseconds since the match start on the writer's clock (never negative). */
  elapsedMs(): number {
    return Math.max(0, this.clock());
  }

  /**
   * Buffers one record; synchronous, no I/O. An end record is the last one the writer accepts.
   * @throws LogError `BAD_RECORD` for an invalid record (nothing is buffered); `CLOSED` after an
   *   end record or after close; `IO` once a write has failed.
   */
  append(record: BodyRecord): void {
    if (this.lifecycle !== 'open') {
      throw new LogError('CLOSED', `match log ${this.matchId} is ${this.lifecycle}: cannot append`);
    }
    if (this.failure) throw this.failure;
    const valid = validateRecord(record, null, 'BAD_RECORD');
    if (valid.type === 'header') {
      throw new LogError('BAD_RECORD', 'a header can only be written by MatchLogWriter.open');
    }
    this.pushText(formatRecord(record));
    this.recordCount++;
    if (record.type === 'end') this.lifecycle = 'ended';
    if (!this.ticking) this.startTick();
  }

  /**
   * Buffers one input record, `{"type":"input","f":frame,"s":slot,"in":hex,"ms":ms}`, the very
   * line {@link append} would write for it: the relay's hot path. The line is built from a
   * template with a few number checks instead of the general validation and `JSON.stringify`
   * (about a tenth of the cost).
   * @param frame - the frame the input is stamped for (integer ≥ 0)
   * @param slot - the player's slot (0–15)
   * @param input - the 4 input bytes
   * @param ms - arrival time, ms since the match start (finite, ≥ 0)
   * @throws LogError `BAD_RECORD` for a field out of range (nothing is buffered); `CLOSED` and
   *   `IO` as {@link append}.
   */
  appendInput(frame: Frame, slot: PlayerSlot, input: Uint8Array, ms: number): void {
    if (this.lifecycle !== 'open') {
      throw new LogError('CLOSED', `match log ${this.matchId} is ${this.lifecycle}: cannot append`);
    }
    if (this.failure) throw this.failure;
    if (
      !Number.isSafeInteger(frame) ||
      frame < 0 ||
      !Number.isInteger(slot) ||
      slot < 0 ||
      slot >= MAX_LOG_PLAYERS ||
      input.length !== 4 ||
      !(ms >= 0 && ms < Number.POSITIVE_INFINITY)
    ) {
      throw new LogError(
        'BAD_RECORD',
        `input record: frame ${frame}, slot ${slot}, ${input.length} input bytes, ms ${ms} out of range`,
      );
    }
    this.pushInput(frame, slot, input, ms);
    this.recordCount++;
    if (!this.ticking) this.startTick();
  }

  /**
   * Starts writing everything buffered and resolves when it and every earlier write are on
   * disk (handed to the operating system).
   * @throws LogError `IO` when a write failed.
   */
  flush(): Promise<void> {
    this.schedule();
    return this.tail.then(() => {
      if (this.failure) throw this.failure;
    });
  }

  /**
   * Appends `end` if given, writes everything, and closes the file. Calling it again returns
   * the same promise.
   * @throws LogError `CLOSED` when given an end record after an end record or close; `IO` when
   *   a write or the close failed (the descriptor is released anyway); `BAD_RECORD` for an
   *   invalid end record.
   */
  close(end?: EndRecord): Promise<void> {
    if (this.closing) {
      if (end) {
        return Promise.reject(
          new LogError('CLOSED', `match log ${this.matchId} is already closed: cannot end it`),
        );
      }
      return this.closing;
    }
    try {
      if (end) this.append(end);
    } catch (err) {
      return Promise.reject(err);
    }
    this.lifecycle = 'closed';
    this.closing = (async () => {
      try {
        await this.flush();
      } finally {
        try {
          await this.releaseFd();
        } finally {
          this.markClosed();
        }
      }
    })();
    return this.closing;
  }

  /**
   * Last-resort synchronous close, for a process `exit` handler: appends `end` if given, writes
   * every record not yet on disk with synchronous writes, in order (see the class comment), and
   * closes the file. Blocks the event loop for the duration of the writes. Does nothing when
   * already closed.
   * @throws LogError `IO` when a write fails or an earlier one had failed; `CLOSED` when given
   *   an end record after an end record or close.
   */
  closeSync(end?: EndRecord): void {
    if (this.syncClosed || this.fdClosed) return;
    if (end) this.append(end);
    this.lifecycle = 'closed';
    this.syncClosed = true;
    this.clearTimer();
    const chunks = [...this.queued];
    this.queued.length = 0;
    if (this.pendingBytes > 0) chunks.push(this.takeBuffer());
    try {
      if (this.failure) throw this.failure;
      for (const chunk of chunks) writeAllSync(this.fd, chunk);
      this.byteCount = this.nextPosition;
      if (chunks.length > 0) this.flushCount++;
    } catch (err) {
      throw err instanceof LogError
        ? err
        : new LogError(
            'IO',
            `cannot write match log ${this.path}: ${(err as Error).message}`,
            null,
            err,
          );
    } finally {
      if (!this.inFlight) this.closeFdSync();
      this.markClosed();
    }
  }

  /** Makes room for `bytes` more pending bytes. */
  private reserve(bytes: number): void {
    const need = this.pendingBytes + bytes;
    if (need <= this.pending.length) return;
    const grown = Buffer.allocUnsafe(Math.max(need, 2 * this.pending.length));
    this.pending.copy(grown, 0, 0, this.pendingBytes);
    this.pending = grown;
  }

  private pushText(line: string): void {
    this.reserve(Buffer.byteLength(line, 'utf8'));
    this.pendingBytes += this.pending.write(line, this.pendingBytes, 'utf8');
  }

  /**
   * Writes an input record's line straight into the pending bytes: no string per record (the
   * relay appends tens of thousands a second, and strings kept until the flush cost the
   * garbage collector more than building them).
   */
  private pushInput(frame: Frame, slot: PlayerSlot, input: Uint8Array, ms: number): void {
    this.reserve(INPUT_LINE_MAX_BYTES);
    const b = this.pending;
    let p = this.pendingBytes;
    b.set(INPUT_PREFIX, p);
    p += INPUT_PREFIX.length; // {"type":"input","f":
    p = writeDecimal(b, p, frame);
    b.set(INPUT_SLOT, p);
    p += INPUT_SLOT.length; // ,"s":
    p = writeDecimal(b, p, slot);
    b.set(INPUT_BYTES_KEY, p);
    p += INPUT_BYTES_KEY.length; // ,"in":"
    for (let i = 0; i < 4; i++) {
      b[p++] = HEX_DIGIT[input[i] >> 4];
      b[p++] = HEX_DIGIT[input[i] & 15];
    }
    b.set(INPUT_MS, p);
    p += INPUT_MS.length; // ","ms":
    const tenths = Math.round(ms * 10);
    if (Number.isSafeInteger(ms)) p = writeDecimal(b, p, ms);
    else if (tenths / 10 === ms && tenths < 1e15) {
      // The relay's times are in tenths of a ms: ms is the double nearest to "a.d", so that is
      // its shortest round-trip form, JSON.stringify's.
      p = writeDecimal(b, p, Math.floor(tenths / 10));
      b[p++] = 0x2e; // .
      b[p++] = 0x30 + (tenths % 10);
    } else p += b.write(String(ms), p, 'latin1'); // JSON.stringify's form of a finite number
    b[p++] = 0x7d; // }
    b[p++] = 0x0a; // \n
    this.pendingBytes = p;
  }

  private startTick(): void {
    this.ticking = true;
    flushTicker(this.flushIntervalMs).add(this);
  }

  /** The shared flush tick of this writer's interval fired: write the buffer. */
  onTick(): void {
    this.ticking = false;
    this.schedule();
  }

  private clearTimer(): void {
    if (this.ticking) {
      this.ticking = false;
      flushTicker(this.flushIntervalMs).remove(this);
    }
  }

  private takeBuffer(): Chunk {
    const data = Buffer.from(this.pending.subarray(0, this.pendingBytes));
    this.pendingBytes = 0;
    const chunk = { data, position: this.nextPosition };
    this.nextPosition += data.length;
    return chunk;
  }

  /** Moves the buffer onto the write chain. */
  private schedule(): void {
    this.clearTimer();
    if (this.pendingBytes === 0 || this.failure || this.syncClosed) return;
    const chunk = this.takeBuffer();
    this.queued.push(chunk);
    this.tail = this.tail.then(() => this.write(chunk));
  }

  private async write(chunk: Chunk): Promise<void> {
    if (this.failure || this.syncClosed) return;
    this.inFlight = true;
    try {
      await writeAll(this.fd, chunk);
      this.byteCount = chunk.position + chunk.data.length;
      this.flushCount++;
    } catch (err) {
      this.fail(err);
    } finally {
      this.inFlight = false;
      const i = this.queued.indexOf(chunk);
      if (i >= 0) this.queued.splice(i, 1);
      // closeSync left the descriptor to this write.
      if (this.syncClosed) this.closeFdSync();
    }
  }

  private fail(err: unknown): void {
    if (this.failure) return;
    this.failure = new LogError(
      'IO',
      `cannot write match log ${this.path}: ${(err as Error).message}`,
      null,
      err,
    );
    this.pendingBytes = 0;
    this.onError?.(this.failure);
  }

  private async releaseFd(): Promise<void> {
    if (this.fdClosed || this.syncClosed) return;
    this.fdClosed = true;
    await new Promise<void>((resolve, reject) => {
      fs.close(this.fd, (err) =>
        err
          ? reject(
              new LogError('IO', `cannot close match log ${this.path}: ${err.message}`, null, err),
            )
          : resolve(),
      );
    });
  }

  private closeFdSync(): void {
    if (this.fdClosed) return;
    this.fdClosed = true;
    fs.closeSync(this.fd);
  }
}

function writeAt(fd: number, data: Buffer, offset: number, position: number): Promise<number> {
  return new Promise((resolve, reject) => {
    fs.write(fd, data, offset, data.length - offset, position, (err, written) =>
      err ? reject(err) : resolve(written),
    );
  });
}

/** Writes the whole chunk at its offset (a write may take fewer bytes than offered). */
async function writeAll(fd: number, chunk: Chunk): Promise<void> {
  let done = 0;
  while (done < chunk.data.length) {
    done += await writeAt(fd, chunk.data, done, chunk.position + done);
  }
}

function writeAllSync(fd: number, chunk: Chunk): void {
  let done = 0;
  while (done < chunk.data.length) {
    done += fs.writeSync(fd, chunk.data, done, chunk.data.length - done, chunk.position + done);
  }
}

/**
 * The open logs of one relay, under one directory, so that a shutdown can end them all:
 *
 * ```ts
 * const logs = new LogDirectory('logs');
 * for (const signal of ['SIGINT', 'SIGTERM'] as const) {
 *   process.once(signal, () => void logs.closeAll(signal).finally(() => process.exit(0)));
 * }
 * process.once('exit', () => logs.closeAllSync('exit'));
 * ```
 */
export class LogDirectory {
  private readonly logs = new Map<string, MatchLogWriter>();
  private readonly opening = new Set<Promise<MatchLogWriter>>();
  private closingAll = false;

  /**
   * @param dir where the logs go; created when the first log opens
   * @param options defaults for every writer opened here
   */
  constructor(
    readonly dir: string,
    private readonly options: MatchLogWriterOptions = {},
  ) {}

  /** Logs open (not yet closed). */
  get size(): number {
    return this.logs.size;
  }

  /** The open log of a match, if any. */
  get(matchId: string): MatchLogWriter | undefined {
    return this.logs.get(matchId);
  }

  /**
   * Opens `<dir>/<matchId>.jsonl` with {@link MatchLogWriter.open} and keeps it until it closes.
   * @throws LogError `CLOSED` after {@link closeAll}; `IO` when the match already has an open
   *   log; and whatever {@link MatchLogWriter.open} throws.
   */
  open(
    matchId: string,
    header: HeaderRecord,
    options: MatchLogWriterOptions = {},
  ): Promise<MatchLogWriter> {
    if (this.closingAll) {
      return Promise.reject(new LogError('CLOSED', `log directory ${this.dir} is closed`));
    }
    if (this.logs.has(matchId)) {
      return Promise.reject(new LogError('IO', `match ${matchId} already has an open log`));
    }
    const opening = MatchLogWriter.open(this.dir, matchId, header, {
      ...this.options,
      ...options,
    }).then((writer) => {
      this.logs.set(matchId, writer);
      void writer.closed.then(() => {
        if (this.logs.get(matchId) === writer) this.logs.delete(matchId);
      });
      return writer;
    });
    this.opening.add(opening);
    const forget = () => this.opening.delete(opening);
    opening.then(forget, forget);
    return opening;
  }

  /**
   * Ends every open log with an end record `{reason, ms}` (unless it already has one), flushes
   * and closes it; logs still opening are waited for and closed too. Refuses new logs
   * afterwards. Every log is attempted even when one fails.
   * @throws LogError `IO` naming how many logs failed, with their errors as `cause`.
   */
  async closeAll(reason: string): Promise<void> {
    this.closingAll = true;
    await Promise.allSettled([...this.opening]);
    const results = await Promise.allSettled(
      [...this.logs.values()].map((w) =>
        w.state === 'open' ? w.close({ type: 'end', reason, ms: w.elapsedMs() }) : w.close(),
      ),
    );
    const errors = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    if (errors.length > 0) {
      throw new LogError(
        'IO',
        `${errors.length} of ${results.length} match logs failed to close: ${String(errors[0])}`,
        null,
        new AggregateError(errors),
      );
    }
  }

  /**
   * {@link closeAll} for a process `exit` handler, with {@link MatchLogWriter.closeSync}. Logs
   * still opening are not reached.
   * @throws LogError `IO` naming how many logs failed.
   */
  closeAllSync(reason: string): void {
    this.closingAll = true;
    const errors: unknown[] = [];
    const writers = [...this.logs.values()];
    for (const w of writers) {
      try {
        w.closeSync(w.state === 'open' ? { type: 'end', reason, ms: w.elapsedMs() } : undefined);
      } catch (err) {
        errors.push(err);
      }
      this.logs.delete(w.matchId);
    }
    if (errors.length > 0) {
      throw new LogError(
        'IO',
        `${errors.length} of ${writers.length} match logs failed to close: ${String(errors[0])}`,
        null,
        new AggregateError(errors),
      );
    }
  }
}
