import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBots } from '../relay/bots.ts';
import { BUILTIN_SCENES } from '../relay/index.ts';
import type { InputRecord, ViolationRecord } from '../relay/log/index.ts';
import { readMatchLog, replayMatchLog } from '../relay/log/index.ts';
import { field } from '../sim/index.ts';
import { NETWORK_RULES } from '../sim/sync/index.ts';

// The built-in duel scene in authoritative mode through a real relay with its sim host, bots on
// real sockets: the host's input checks and lag compensation, as logged and replayed.
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'concord-guards-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const FIRE = 16;

describe('authoritative host: input checks and lag compensation', () => {
  it('corrects a bot that sends impossible moves and, past the threshold, removes it; the log replays', async () => {
    const report = await runBots({
      matches: 1,
      players: 2,
      frames: 900,
      seed: 11,
      latencyMs: 20,
      jitterMs: 0,
      lossPct: 0,
      mode: 'authoritative',
      logsDir: dir,
      cheatPeer: 1,
      cheatFrom: 120,
      transport: 'websocket',
    });
    const logPath = report.perMatch[0]?.logPath;
    expect(logPath).toBeTruthy();
    const log = await readMatchLog(logPath as string);
    const violations = log.records.filter((r): r is ViolationRecord => r.type === 'violation');
    const cheats = violations.filter((v) => v.s === 1 && !NETWORK_RULES.includes(v.rule));
    // The cheater's impossible moves are counted under the duel's own rules, from the frame it
    // starts cheating, and corrected (the input applied is the corrected one).
    expect(cheats.length).toBeGreaterThan(10);
    expect(cheats.every((v) => v.f >= 120 && v.outcome === 'corrected')).toBe(true);
    expect(new Set(cheats.map((v) => v.rule))).toEqual(new Set(['fireRate', 'unknownButtons']));
    // Warned at 10 (the default), removed at 30.
    const mine = violations.filter((v) => v.s === 1);
    expect(mine.find((v) => v.action === 'warned')?.count).toBe(10);
    expect(mine.filter((v) => v.action === 'removed').map((v) => v.count)).toEqual([30]);
    // The honest bot breaks no rule of the sim and is never removed: at most a few late or
    // bunched inputs on a busy machine (a run of them counts once, and counts decay).
    const honest = violations.filter((v) => v.s === 0);
    expect(honest.every((v) => NETWORK_RULES.includes(v.rule) && v.action !== 'removed')).toBe(
      true,
    );
    const left = log.records.find((r) => r.type === 'left' && r.s === 1);
    expect(left).toBeDefined();
    // The inputs applied (the log's) never hold an unknown button, and never press fire again
    // sooner than 6 frames after the last press.
    const cheater = log.records.filter((r): r is InputRecord => r.type === 'input' && r.s === 1);
    let lastFire = false;
    let lastPress = Number.NEGATIVE_INFINITY;
    for (const r of cheater) {
      const buttons = Number.parseInt(r.in.slice(2, 4) + r.in.slice(0, 2), 16);
      expect(buttons & ~31).toBe(0);
      const fire = (buttons & FIRE) !== 0;
      if (fire && !lastFire) {
        expect(r.f - lastPress).toBeGreaterThanOrEqual(6);
        lastPress = r.f;
      }
      lastFire = fire;
    }
    // The match replays from its log alone.
    const replay = await replayMatchLog(logPath as string);
    expect(replay.mismatches).toEqual([]);
    expect(replay.checks).toBeGreaterThan(5);
  }, 180_000);

  it('logs each player view delay at 75 ms each way, and the lag-compensated match replays', async () => {
    const report = await runBots({
      matches: 1,
      players: 2,
      frames: 600,
      seed: 5,
      latencyMs: 75,
      jitterMs: 10,
      lossPct: 0,
      mode: 'authoritative',
      logsDir: dir,
    });
    expect(report.failures).toEqual([]);
    const logPath = report.perMatch[0].logPath as string;
    const log = await readMatchLog(logPath);
    const delays = log.records.filter((r) => r.type === 'viewDelay');
    expect(delays.length).toBeGreaterThan(0);
    // 150 ms round trip + 100 ms interpolation + the input's lead is past the 200 ms cap: the
    // host rewinds both players by the whole cap, 12 frames at 60 Hz.
    for (const slot of [0, 1]) {
      const last = delays.filter((d) => d.type === 'viewDelay' && d.s === slot).at(-1);
      expect(last?.type === 'viewDelay' && last.frames).toBe(12);
    }
    const replay = await replayMatchLog(logPath);
    expect(replay.mismatches).toEqual([]);
    expect(replay.checks).toBeGreaterThan(20);
  }, 180_000);

  it('sends each client of the field sim interest updates instead of whole states; the log replays', async () => {
    const players = 4;
    const scene = { ...BUILTIN_SCENES.duel, name: 'field', sim: 'field', players };
    const report = await runBots({
      matches: 1,
      players,
      frames: 600,
      seed: 9,
      latencyMs: 20,
      jitterMs: 0,
      lossPct: 0,
      mode: 'authoritative',
      scene: 'field',
      scenes: { ...BUILTIN_SCENES, field: scene },
      logsDir: dir,
      transport: 'websocket',
    });
    expect(report.failures).toEqual([]);
    const a = report.perMatch[0].authoritative;
    expect(a?.replayed).toBe(true);
    // Every state the clients loaded came as an interest update...
    expect(a?.interestStates).toBeGreaterThan(players * 20);
    expect(a?.interestStates).toBe(a?.statesReceived);
    // ...and cost well under the whole state at each broadcast (20 Hz).
    const sim = field.create({ players, seed: 9 });
    const fullPerS = sim.encode(sim.save()).length * 20;
    expect(a?.stateBytesPerClientPerS).toBeLessThan(fullPerS * 0.6);
  }, 180_000);
});
