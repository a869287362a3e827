import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBots } from '../relay/bots.ts';
import { type Relay, startRelay } from '../relay/index.ts';
import { replayMatchLog } from '../relay/log/index.ts';
import { stateHash } from '../sim/index.ts';

let dir: string;
let relay: Relay;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'concord-relay-'));
  relay = await startRelay({ port: 0, host: '127.0.0.1', logsDir: dir });
});

afterAll(async () => {
  await relay?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('relay and headless bots over loopback', () => {
  it('2-player and 4-player matches of 600 frames under latency and jitter agree, and their logs replay to the same hash', async () => {
    const common = {
      url: relay.url,
      frames: 600,
      latencyMs: 40,
      jitterMs: 15,
      lossPct: 1,
      logsDir: dir,
    };
    const [two, four] = await Promise.all([
      runBots({ ...common, matches: 1, players: 2, seed: 11 }),
      runBots({ ...common, matches: 1, players: 4, seed: 12 }),
    ]);
    for (const report of [two, four]) {
      expect(report.failures).toEqual([]);
      expect(report.desyncs).toBe(0);
      expect(report.matches).toBe(1);
      expect(report.rollbacks).toBeGreaterThan(0);
      // Two legs of 40 ± 15 ms; over DataChannels an input's first copy to arrive counts, so the
      // floor is what bounds it, not the mean.
      expect(report.inputLatencyMs.p50).toBeGreaterThanOrEqual(50);
      const m = report.perMatch[0];
      expect(new Set(m.finalHashes).size).toBe(1);
      expect(m.finalHashes[0]).toMatch(/^[0-9a-f]{16}$/);
      // A relay given by url keeps its log directory to itself: the report invents no path.
      expect(m.logPath).toBeNull();
      // The relay closes the log when the match ends; wait for the end record.
      const replay = await waitForReplay(path.join(dir, `${m.matchId}.jsonl`));
      expect(replay.damaged).toBeNull();
      expect(replay.mismatches).toEqual([]);
      expect(replay.passed).toBe(replay.checks);
      expect(replay.checks).toBeGreaterThan(10);
      // The state the replay computes at the final frame is the one every peer reported.
      expect(replay.finalFrame).toBeGreaterThanOrEqual(600);
      expect(replay.hashes.get(600)).toBe(m.finalHashes[0]);
    }
  });

  it('with a relay of its own, reports the path of each log that relay wrote', async () => {
    const logsDir = path.join(dir, 'own');
    const report = await runBots({
      matches: 1,
      players: 2,
      frames: 60,
      latencyMs: 0,
      jitterMs: 0,
      lossPct: 0,
      seed: 3,
      logsDir,
    });
    expect(report.failures).toEqual([]);
    const m = report.perMatch[0];
    expect(m.logPath).toBe(path.join(logsDir, `${m.matchId}.jsonl`));
    expect((await replayMatchLog(m.logPath ?? '')).damaged).toBeNull();
  });
});

async function waitForReplay(logPath: string) {
  const deadline = Date.now() + 5000;
  for (;;) {
    const hashes = new Map<number, string>();
    const r = await replayMatchLog(logPath, {
      onFrame: ({ frame, sim }) => {
        if (frame === 600) hashes.set(frame, stateHash(sim.encode(sim.save())));
      },
    });
    if (r.ended || Date.now() > deadline) return { ...r, hashes };
    await new Promise((res) => setTimeout(res, 50));
  }
}
