import fs, { existsSync, readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { initStateHash } from '../../sim/index.ts';
import { tempDir, waitFor } from '../../test/support/log-files.ts';
import { sampleDuelMatch } from '../../test/support/sample-match.ts';
import { readMatchLog } from './reader.ts';
import type { BodyRecord, HeaderRecord, InputRecord } from './records.ts';
import { LogDirectory, MatchLogWriter } from './writer.ts';

let dir: string;
let remove: () => Promise<void>;
let baseHeader: HeaderRecord;

beforeAll(async () => {
  await initStateHash();
  ({ dir, remove } = await tempDir());
  baseHeader = sampleDuelMatch({ frames: 10 }).header;
});

afterAll(async () => {
  await remove?.();
});

afterEach(() => {
  vi.restoreAllMocks(); // a failed test must not leave fs.write mocked for the next one
});

let next = 0;
/** A header with a fresh match id. */
function header(): HeaderRecord {
  return { ...baseHeader, matchId: `w${next++}` };
}

function input(f: number, s = 0): InputRecord {
  return { type: 'input', f, s, in: '01000000', ms: f * 16.7 };
}

describe('MatchLogWriter', () => {
  it('writes the header at open and refuses to overwrite a log', async () => {
    const h = header();
    const w = await MatchLogWriter.open(path.join(dir, 'new', 'sub'), h.matchId, h);
    expect(w.path).toBe(path.join(dir, 'new', 'sub', `${h.matchId}.jsonl`));
    expect(readFileSync(w.path, 'utf8')).toBe(`${JSON.stringify(h)}\n`);
    expect(w.records).toBe(1);
    expect(w.bytes).toBe(readFileSync(w.path).length);
    await w.close();
    await expect(
      MatchLogWriter.open(path.join(dir, 'new', 'sub'), h.matchId, h),
    ).rejects.toMatchObject({ code: 'IO' });
  });

  it('refuses a bad match id, a header of another match and a bad interval', async () => {
    const h = header();
    await expect(MatchLogWriter.open(dir, '../x', h)).rejects.toMatchObject({ code: 'BAD_RECORD' });
    await expect(MatchLogWriter.open(dir, 'other', h)).rejects.toMatchObject({
      code: 'BAD_RECORD',
    });
    await expect(MatchLogWriter.open(dir, h.matchId, { ...h, seed: -1 })).rejects.toMatchObject({
      code: 'BAD_RECORD',
    });
    await expect(
      MatchLogWriter.open(dir, h.matchId, h, { flushIntervalMs: 0 }),
    ).rejects.toMatchObject({ code: 'BAD_CONFIG' });
    expect(existsSync(path.join(dir, `${h.matchId}.jsonl`))).toBe(false);
  });

  it('append does no I/O; the timer writes the record within the flush interval', async () => {
    const h = header();
    const w = await MatchLogWriter.open(dir, h.matchId, h);
    const headerBytes = readFileSync(w.path).length;
    const started = performance.now();
    w.append(input(2));
    // Nothing was written on the caller's stack.
    expect(readFileSync(w.path).length).toBe(headerBytes);
    await waitFor(() => readFileSync(w.path, 'utf8').includes('"f":2,'), 2000, 'timer flush');
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(150);
    expect(elapsed).toBeLessThan(1000);
    // The bytes can be visible before the write's completion callback has run.
    await waitFor(() => w.flushes === 2, 1000, "the timer's write completes"); // header + timer
    expect(w.records).toBe(2);
    await w.close();
  });

  it('writers of one interval share a flush tick: a later record is written with an earlier one', async () => {
    const ha = header();
    const hb = header();
    const a = await MatchLogWriter.open(dir, ha.matchId, ha, { flushIntervalMs: 1000 });
    const b = await MatchLogWriter.open(dir, hb.matchId, hb, { flushIntervalMs: 1000 });
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      a.append(input(2));
      vi.advanceTimersByTime(500);
      b.append(input(2));
      vi.advanceTimersByTime(499);
      expect(a.flushes + b.flushes).toBe(2); // the headers only
      vi.advanceTimersByTime(1); // the tick a started: b's record goes too, 500 ms early
    } finally {
      vi.useRealTimers();
    }
    await waitFor(() => a.flushes === 2 && b.flushes === 2, 2000, 'both writes complete');
    expect(readFileSync(b.path, 'utf8')).toContain('"f":2,');
    await a.close();
    await b.close();
  });

  it('keeps records in append order across many timer flushes, and counts them', async () => {
    const h = header();
    const w = await MatchLogWriter.open(dir, h.matchId, h, { flushIntervalMs: 5 });
    for (let f = 2; f < 202; f++) {
      w.append(input(f));
      if (f % 40 === 0) {
        const before = w.flushes;
        await waitFor(() => w.flushes > before);
      }
    }
    await w.close({ type: 'end', reason: 'done', ms: 5000 });
    const log = await readMatchLog(w.path);
    expect(log.records.map((r) => (r.type === 'input' ? r.f : r.type))).toEqual([
      ...Array.from({ length: 200 }, (_, i) => i + 2),
      'end',
    ]);
    expect(w.records).toBe(202);
    expect(w.bytes).toBe(readFileSync(w.path).length);
    expect(w.flushes).toBeGreaterThanOrEqual(6);
    expect(w.state).toBe('closed');
  });

  it('refuses invalid records, appends after the end record and after close', async () => {
    const h = header();
    const w = await MatchLogWriter.open(dir, h.matchId, h);
    expect(() => w.append({ ...input(2), in: 'ABCDEF01' })).toThrow(
      expect.objectContaining({ code: 'BAD_RECORD' }),
    );
    expect(() => w.append(h as unknown as BodyRecord)).toThrow(
      expect.objectContaining({ code: 'BAD_RECORD' }),
    );
    expect(w.records).toBe(1);
    w.append({ type: 'end', reason: 'over', ms: 1 });
    expect(w.state).toBe('ended');
    expect(() => w.append(input(2))).toThrow(expect.objectContaining({ code: 'CLOSED' }));
    await w.close();
    expect(() => w.append(input(2))).toThrow(expect.objectContaining({ code: 'CLOSED' }));
    await expect(w.close({ type: 'end', reason: 'again', ms: 2 })).rejects.toMatchObject({
      code: 'CLOSED',
    });
    await w.close(); // closing again is harmless
    const log = await readMatchLog(w.path);
    expect(log.records).toEqual([{ type: 'end', reason: 'over', ms: 1 }]);
  });

  it('appendInput writes the very line append writes, and refuses fields out of range', async () => {
    const cases: [number, number, number[], number][] = [
      [0, 0, [0, 0, 0, 0], 0],
      [7, 1, [1, 0x0a, 0xff, 0x10], 116.7],
      [123_456_789, 15, [0xde, 0xad, 0xbe, 0xef], 1e21],
      [5, 3, [9, 8, 7, 6], 5e-7],
      [6, 2, [0, 1, 2, 3], 0.30000000000000004],
      // Times in tenths of a ms, as the relay writes them.
      ...Array.from({ length: 500 }, (_, i): [number, number, number[], number] => [
        i + 10,
        i % 16,
        [i & 0xff, 1, 2, 3],
        Math.round(i * 1234.567) / 10,
      ]),
    ];
    const viaAppend = header();
    const viaTemplate = header();
    const a = await MatchLogWriter.open(dir, viaAppend.matchId, viaAppend);
    const b = await MatchLogWriter.open(dir, viaTemplate.matchId, viaTemplate);
    for (const [f, s, bytes, ms] of cases) {
      const hex = bytes.map((x) => x.toString(16).padStart(2, '0')).join('');
      a.append({ type: 'input', f, s, in: hex, ms });
      b.appendInput(f, s, new Uint8Array(bytes), ms);
    }
    const bad: [number, number, Uint8Array, number][] = [
      [-1, 0, new Uint8Array(4), 0],
      [1.5, 0, new Uint8Array(4), 0],
      [1, 16, new Uint8Array(4), 0],
      [1, 0, new Uint8Array(3), 0],
      [1, 0, new Uint8Array(4), Number.NaN],
      [1, 0, new Uint8Array(4), -1],
    ];
    for (const [f, s, bytes, ms] of bad) {
      expect(() => b.appendInput(f, s, bytes, ms)).toThrow(
        expect.objectContaining({ code: 'BAD_RECORD' }),
      );
    }
    expect(b.records).toBe(a.records);
    await a.close();
    await b.close();
    const lines = (file: string) => readFileSync(file, 'utf8').split('\n').slice(1);
    expect(lines(b.path)).toEqual(lines(a.path));
    expect(lines(b.path)).toHaveLength(cases.length + 1); // the last line is empty
    expect(() => b.appendInput(1, 0, new Uint8Array(4), 0)).toThrow(
      expect.objectContaining({ code: 'CLOSED' }),
    );
  });

  it('closeSync while an asynchronous write is in flight keeps every record, in order', async () => {
    const h = header();
    const w = await MatchLogWriter.open(dir, h.matchId, h);
    // A slow disk: each write reaches the file 50 ms after it was issued.
    const realWrite = fs.write;
    const write = vi.spyOn(fs, 'write').mockImplementation(((...args: unknown[]) => {
      setTimeout(() => (realWrite as (...a: unknown[]) => void)(...args), 50);
    }) as unknown as typeof fs.write);
    for (let f = 2; f < 2002; f++) w.append(input(f));
    const flushing = w.flush();
    await waitFor(() => write.mock.calls.length === 1); // the write is in flight
    for (let f = 2002; f < 2100; f++) w.append(input(f));
    w.closeSync({ type: 'end', reason: 'exit', ms: 1 });
    // Everything is on disk already, before the slow write lands (again, at the same offset).
    expect(readFileSync(w.path, 'utf8').trimEnd().split('\n')).toHaveLength(2100);
    await flushing;
    await w.closed;
    expect(write).toHaveBeenCalledTimes(1);
    write.mockRestore();
    const log = await readMatchLog(w.path);
    expect(log.damaged).toBeNull();
    expect(log.truncated).toBe(false);
    expect(log.records).toHaveLength(2099);
    expect(log.records.slice(0, -1).map((r) => (r as InputRecord).f)).toEqual(
      Array.from({ length: 2098 }, (_, i) => i + 2),
    );
    expect(log.records.at(-1)).toEqual({ type: 'end', reason: 'exit', ms: 1 });
  });

  it('reports a failed write once and refuses records after it', async () => {
    const h = header();
    const errors: unknown[] = [];
    const w = await MatchLogWriter.open(dir, h.matchId, h, {
      flushIntervalMs: 5,
      onError: (e) => errors.push(e),
    });
    // The disk fills up: every write from now on fails.
    const write = vi.spyOn(fs, 'write').mockImplementation(((...args: unknown[]) => {
      const callback = args.at(-1) as (err: Error) => void;
      process.nextTick(
        callback,
        Object.assign(new Error('ENOSPC: no space left'), { code: 'ENOSPC' }),
      );
    }) as unknown as typeof fs.write);
    w.append(input(2));
    await waitFor(() => errors.length > 0);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: 'IO' });
    expect(() => w.append(input(3))).toThrow(expect.objectContaining({ code: 'IO' }));
    await expect(w.flush()).rejects.toMatchObject({ code: 'IO' });
    await expect(w.close()).rejects.toMatchObject({ code: 'IO' });
    await w.closed;
    expect(write).toHaveBeenCalledTimes(1);
    write.mockRestore();
  });
});

describe('LogDirectory', () => {
  it('closeAll ends, flushes and closes every open log, and refuses new ones', async () => {
    const logs = new LogDirectory(path.join(dir, 'many'));
    const a = await logs
      .open(header().matchId, { ...header(), matchId: 'dir-a' })
      .catch(() => null);
    expect(a).toBeNull(); // the id and the header's matchId must agree
    const hA = { ...header(), matchId: 'dir-a' };
    const hB = { ...header(), matchId: 'dir-b' };
    const hC = { ...header(), matchId: 'dir-c' };
    const [wa, wb, wc] = await Promise.all([
      logs.open('dir-a', hA),
      logs.open('dir-b', hB),
      logs.open('dir-c', hC),
    ]);
    expect(logs.size).toBe(3);
    await expect(logs.open('dir-a', hA)).rejects.toMatchObject({ code: 'IO' });
    wa.append(input(2));
    wb.append(input(2, 1));
    // The relay already ended match c itself: it keeps its own end record only.
    await wc.close({ type: 'end', reason: 'every player finished', ms: 10 });
    await waitFor(() => logs.size === 2);
    expect(logs.get('dir-c')).toBeUndefined();
    const pendingOpen = logs.open('dir-d', { ...header(), matchId: 'dir-d' });
    await logs.closeAll('SIGTERM');
    await expect(pendingOpen).resolves.toBeInstanceOf(MatchLogWriter);
    await waitFor(() => logs.size === 0);
    for (const id of ['dir-a', 'dir-b', 'dir-d']) {
      const log = await readMatchLog(path.join(dir, 'many', `${id}.jsonl`));
      const end = log.records.at(-1);
      expect(end).toMatchObject({ type: 'end', reason: 'SIGTERM' });
      expect(log.records.filter((r) => r.type === 'end')).toHaveLength(1);
    }
    const c = await readMatchLog(path.join(dir, 'many', 'dir-c.jsonl'));
    expect(c.records).toEqual([{ type: 'end', reason: 'every player finished', ms: 10 }]);
    expect(wa.state).toBe('closed');
    expect(wb.state).toBe('closed');
    await expect(logs.open('dir-e', { ...header(), matchId: 'dir-e' })).rejects.toMatchObject({
      code: 'CLOSED',
    });
  });

  it('closeAllSync ends every log synchronously', async () => {
    const logs = new LogDirectory(path.join(dir, 'sync'));
    const w = await logs.open('sync-a', { ...header(), matchId: 'sync-a' });
    w.append(input(2));
    logs.closeAllSync('exit');
    expect(logs.size).toBe(0);
    const text = await readFile(w.path, 'utf8');
    expect(
      text
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l).type),
    ).toEqual(['header', 'input', 'end']);
    // The file is complete and closed: writing to its path again is a plain overwrite.
    await writeFile(w.path, text);
  });
});
