import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBot } from '../client/index.ts';
import { replayMatchLog } from '../relay/log/index.ts';

let dir: string;
let child: ChildProcess | null = null;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'concord-sigterm-'));
});

afterAll(async () => {
  child?.kill('SIGKILL');
  await rm(dir, { recursive: true, force: true });
});

async function until<T>(get: () => T | Promise<T>, timeoutMs: number): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await get();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('concord serve under SIGTERM', () => {
  it('flushes and closes every open log, which then replays to its last record', async () => {
    const bin = path.join(import.meta.dirname, '..', 'bin', 'concord.js');
    const proc = spawn(
      process.execPath,
      [bin, 'serve', '--port', '0', '--host', '127.0.0.1', '--logs', dir],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    child = proc;
    let out = '';
    proc.stdout?.on('data', (d) => {
      out += d;
    });
    proc.stderr?.on('data', (d) => {
      out += d;
    });
    const url = await until(() => /listening on (http:\/\/\S+)/.exec(out)?.[1], 20_000);
    const bots = [0, 1].map((i) =>
      runBot({ url, scene: 'duel', frames: 1_000_000, seed: 100 + i, timeoutMs: 60_000 }).catch(
        (e) => e,
      ),
    );
    // Let the match run for a while: wait until the log holds a few hundred inputs.
    const logPath = await until(async () => {
      const files = (await readdir(dir)).filter((f) => f.endsWith('.jsonl'));
      if (files.length !== 1) return null;
      const p = path.join(dir, files[0]);
      const text = await readFile(p, 'utf8');
      return text.split('\n').filter((l) => l.includes('"input"')).length > 300 ? p : null;
    }, 20_000);
    proc.kill('SIGTERM');
    const code = await new Promise<number | null>((resolve) =>
      proc.once('exit', (c) => resolve(c)),
    );
    expect(code).toBe(0);
    const results = await Promise.all(bots);
    for (const r of results) expect(r.endReason ?? String(r)).toMatch(/SIGTERM|closed/);

    const text = await readFile(logPath, 'utf8');
    expect(text.endsWith('\n')).toBe(true);
    const last = JSON.parse(text.trimEnd().split('\n').at(-1)!);
    expect(last).toMatchObject({ type: 'end' });
    expect(last.reason).toMatch(/SIGTERM/);
    const replay = await replayMatchLog(logPath);
    expect(replay.damaged).toBeNull();
    expect(replay.truncated).toBe(false);
    expect(replay.mismatches).toEqual([]);
    expect(replay.frames).toBeGreaterThan(100);
    expect(replay.checks).toBeGreaterThan(5);
  });
});
