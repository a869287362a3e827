import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBots } from '../relay/bots.ts';
import { BUILTIN_SCENES } from '../relay/index.ts';
import { readMatchLog, replayMatchLog } from '../relay/log/index.ts';

// The built-in duel scene, unchanged but for its mode (runBots' `mode`), through a real relay with
// its sim host; bots on real sockets and DataChannels.
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'concord-authoritative-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('mode: authoritative, end to end', () => {
  it('the same scene runs switched between rollback and authoritative, with no other change', async () => {
    const common = { matches: 1, players: 2, frames: 240, seed: 3, logsDir: dir };
    const impairment = { latencyMs: 0, jitterMs: 0, lossPct: 0 };
    const rollback = await runBots({ ...common, ...impairment, mode: 'rollback' });
    expect(rollback.failures).toEqual([]);
    expect(rollback.perMatch[0].authoritative).toBeNull();
    const authoritative = await runBots({ ...common, ...impairment, mode: 'authoritative' });
    expect(authoritative.failures).toEqual([]);
    const a = authoritative.perMatch[0].authoritative!;
    expect(a.checks).toBeGreaterThan(0);
    expect(a.mismatches).toBe(0);
    expect(a.replayed).toBe(true);
    // The two logs' scenes differ in the mode alone.
    const [r, h] = await Promise.all(
      [rollback, authoritative].map((x) => readMatchLog(x.perMatch[0].logPath!)),
    );
    expect({ ...h.header.scene, mode: 'rollback' }).toEqual(r.header.scene);
    expect(h.header.scene).toEqual({ ...BUILTIN_SCENES.duel, mode: 'authoritative' });
    // The authoritative log holds the host's states, and no peer hash check.
    expect(h.records.some((x) => x.type === 'host')).toBe(true);
    expect(h.records.some((x) => x.type === 'hash' || x.type === 'verdict')).toBe(false);
  }, 120_000);

  it('under 75 ms each way, 20 ms jitter and 1 % loss every reconciled state at an acknowledged frame equals the host’s, and the log replays', async () => {
    const report = await runBots({
      matches: 1,
      players: 2,
      frames: 600,
      seed: 7,
      latencyMs: 75,
      jitterMs: 20,
      lossPct: 1,
      mode: 'authoritative',
      logsDir: dir,
    });
    expect(report.failures).toEqual([]);
    const m = report.perMatch[0];
    const a = m.authoritative!;
    expect(a.mismatches).toBe(0);
    expect(a.checks).toBeGreaterThan(20);
    // Every state a bot reconciled is one the host logged, with the same hash.
    expect(a.inLog).toBe(a.checks);
    expect(a.replayed).toBe(true);
    // The clients reconciled over the round trip: their own inputs re-simulated on host states.
    expect(a.maxResimulatedFrames).toBeGreaterThan(0);
    const replay = await replayMatchLog(m.logPath!);
    expect(replay.mismatches).toEqual([]);
    expect(replay.checks + replay.unchecked).toBeGreaterThanOrEqual(a.hostRecords);
    expect(replay.checks).toBeGreaterThan(20);
  }, 180_000);

  it('a client whose connection drops rejoins: it gets the host’s state in full and plays on, and the log replays', async () => {
    const report = await runBots({
      matches: 1,
      players: 2,
      frames: 600,
      seed: 11,
      latencyMs: 20,
      jitterMs: 5,
      lossPct: 0,
      mode: 'authoritative',
      dropPeer: 1,
      dropAt: 200,
      dropForMs: 1500,
      logsDir: dir,
    });
    expect(report.failures).toEqual([]);
    expect(report.rejoins).toBe(1);
    const a = report.perMatch[0].authoritative!;
    expect(a.mismatches).toBe(0);
    expect(a.inLog).toBeGreaterThan(0);
    expect(a.replayed).toBe(true);
  }, 180_000);
});
