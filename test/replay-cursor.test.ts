import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ReplayCursor } from '../client/web/replay-cursor.ts';
import { runBots } from '../relay/bots.ts';
import { replayDataOf } from '../relay/index.ts';
import { parseMatchLog, readMatchLog, replayMatchLog } from '../relay/log/index.ts';
import { duel, initStateHash, stateHash } from '../sim/index.ts';
import { tempDir } from './support/log-files.ts';
import { sampleDuelMatch } from './support/sample-match.ts';

beforeAll(async () => {
  await initStateHash();
});

/** A sample duel log, as bytes, through the relay's reader and the viewer's data. */
function sampleData(options: Parameters<typeof sampleDuelMatch>[0] = {}) {
  const m = sampleDuelMatch(options);
  const text = [m.header, ...m.records, { type: 'end', reason: 'frame limit', ms: 9999 }]
    .map((r) => `${JSON.stringify(r)}\n`)
    .join('');
  return { m, data: replayDataOf(parseMatchLog(new TextEncoder().encode(text))) };
}

describe('the replay viewer engine', () => {
  it('recomputes every check frame hash equal to the recorded ones, going forward, back and far', () => {
    const { m, data } = sampleData({ players: 3, frames: 300, hashInterval: 10 });
    expect(data.finalFrame).toBe(300);
    expect(data.checks.length).toBeGreaterThan(20);
    const cursor = new ReplayCursor(duel.create({ players: 3, seed: data.seed }), data, 50);
    // Forward in one go: every check frame passed is hashed.
    const passed = cursor.goto(300);
    expect(passed.map((c) => c.frame)).toEqual(
      data.checks.map((c) => c.frame).filter((f) => f > 0),
    );
    for (const c of data.checks) {
      expect(cursor.hashAt(c.frame)).toBe(m.hashes[c.frame]);
      for (const r of c.recorded) expect(r.hash).toBe(cursor.hashAt(c.frame));
    }
    // Back to a check frame (from a kept snapshot) and forward by single steps.
    const back = cursor.goto(120);
    expect(back.at(-1)).toEqual({ frame: 120, hash: m.hashes[120] });
    expect(cursor.frame).toBe(120);
    cursor.goto(121);
    expect(cursor.frame).toBe(121);
    // The state at any frame equals the one the match reached (not only at check frames).
    for (const f of [0, 1, 77, 199, 250, 3]) {
      cursor.goto(f);
      expect(cursor.frame).toBe(f);
      expect(stateHash(cursor.current.encode(cursor.current.save()))).toBe(m.hashes[f]);
    }
    expect(cursor.snapshotCount).toBeGreaterThanOrEqual(6); // 0, 50, …, 300
    // Clamped to the match.
    cursor.goto(10_000);
    expect(cursor.frame).toBe(300);
  });

  it('marks the timeline: checks, the slot that left and the end', () => {
    const { data } = sampleData({ players: 3, frames: 200, leave: { slot: 1, lastFrame: 90 } });
    const kinds = new Set(data.events.map((e) => e.kind));
    expect(kinds).toEqual(new Set(['check', 'left', 'done', 'end']));
    expect(data.events.find((e) => e.kind === 'left')).toMatchObject({ frame: 91, slots: [1] });
    expect(data.events.at(-1)).toMatchObject({ kind: 'end', frame: 200 });
    expect(data.lastFrame).toEqual([null, 90, null]);
    const frames = data.events.map((e) => e.frame);
    expect(frames).toEqual([...frames].sort((a, b) => a - b));
  });

  it('a match with a desync: the timeline marks it, its referee and resync, and the viewer follows the repaired line', async () => {
    const { dir, remove } = await tempDir();
    try {
      const report = await runBots({
        matches: 1,
        players: 2,
        frames: 300,
        seed: 44,
        latencyMs: 5,
        jitterMs: 0,
        lossPct: 0,
        transport: 'websocket',
        desyncAt: 90,
        desyncPeer: 1,
        logsDir: dir,
      });
      expect(report.failures).toEqual([]);
      const file = path.join(dir, `${report.perMatch[0].matchId}.jsonl`);
      const data = replayDataOf(await readMatchLog(file));
      const desync = data.events.find((e) => e.kind === 'desync');
      expect(desync).toMatchObject({ slots: [1] });
      const kinds = data.events.filter((e) => e.frame === desync!.frame).map((e) => e.kind);
      expect(kinds).toEqual(expect.arrayContaining(['check', 'referee', 'desync', 'resync']));
      // The viewer's hashes are `concord replay`'s: the damaged peer's report at the desync
      // differs from them, every other recorded hash equals them.
      const replay = await replayMatchLog(file);
      const cursor = new ReplayCursor(duel.create({ players: 2, seed: data.seed }), data);
      cursor.goto(data.finalFrame);
      const differing: string[] = [];
      for (const c of data.checks) {
        for (const r of c.recorded) {
          if (r.hash !== cursor.hashAt(c.frame)) differing.push(`${c.frame}:${r.slot}`);
        }
      }
      expect(differing.length).toBeGreaterThan(0);
      expect(differing.every((d) => d.endsWith(':1'))).toBe(true);
      expect(differing).toEqual(replay.repaired.map((m) => `${m.frame}:${m.slot}`));
      expect(cursor.hashAt(data.finalFrame)).toBe(replay.finalHash);
    } finally {
      await remove();
    }
  }, 60_000);
});
