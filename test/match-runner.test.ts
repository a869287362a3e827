import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MatchRunner, RealClock, RelayConnection, type RunnerPhase } from '../client/index.ts';
import type { SceneSettings } from '../protocol/index.ts';
import { readMatchLog, replayMatchLog } from '../relay/log/index.ts';
import { BUILTIN_SCENES } from '../relay/scenes.ts';
import { type Relay, startRelay } from '../relay/server.ts';
import { getSimFactory, initStateHash, Prng, randomDuelInput } from '../sim/index.ts';

// The match runner through the real relay on loopback (socket.io over real sockets, the real
// room): joining, a connection cut mid-match and the rejoin of the same seat, and a rejoin that
// comes too late. Duel at 240 frames per second, so that a match passes frame 1024 in seconds.
const fast: SceneSettings = {
  ...BUILTIN_SCENES.duel,
  name: 'fast',
  tickRate: 240,
  hashInterval: 60,
  hashIntervalMax: 240,
};
const scenes: Record<string, SceneSettings> = {
  fast,
  'short-grace': { ...fast, name: 'short-grace', rejoinGraceMs: 500 },
};

let dir: string;
let relay: Relay;

beforeAll(async () => {
  await initStateHash();
  dir = await mkdtemp(path.join(os.tmpdir(), 'concord-runner-'));
  relay = await startRelay({ port: 0, host: '127.0.0.1', logsDir: dir, scenes });
});

afterAll(async () => {
  await relay?.close();
  await rm(dir, { recursive: true, force: true });
});

/**
 * A minimal host: seeded random duel inputs, and a connection the test can cut (`cut(ms)` closes
 * it and holds new connections back for `ms`, as a network that went away).
 */
function host(scene: string, seed: number, frames: number) {
  const rng = Prng.fromSeed(seed);
  let conn: RelayConnection | null = null;
  let heldUntil = 0;
  const phases: RunnerPhase[] = [];
  const runner = new MatchRunner<unknown>({
    connect: async () => {
      const wait = heldUntil - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      conn = await RelayConnection.connect(relay.url);
      return conn;
    },
    scheduler: new RealClock(),
    scene,
    participantId: `p${seed}`,
    createSim: (start) =>
      getSimFactory(start.settings.sim).create({
        players: start.settings.players,
        seed: start.seed,
      }),
    input: () => randomDuelInput(rng.nextU32()),
    countdownMs: 0,
    frames,
  });
  runner.on((e) => {
    if (e.type === 'phase') phases.push(e.phase);
  });
  return {
    runner,
    phases,
    cut(ms: number) {
      heldUntil = performance.now() + ms;
      conn?.close();
    },
  };
}

/** Polls `cond` every 5 ms until it holds, or fails after `timeoutMs`. */
async function until(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const frameOf = (h: ReturnType<typeof host>) => h.runner.match?.peer.session.frame ?? 0;

describe('MatchRunner through the real relay', () => {
  it('a connection cut past frame 1024: reconnecting, the same seat back, and the match agrees to its end', async () => {
    const a = host('fast', 1, 2400);
    const b = host('fast', 2, 2400);
    a.runner.join();
    b.runner.join();
    await until(() => frameOf(b) >= 1100, 30_000, 'frame 1100');
    const seat = b.runner.seat!;
    b.cut(300);
    expect(b.runner.phase).toBe('reconnecting');
    await until(() => b.runner.phase === 'playing', 10_000, 'the rejoin');
    expect(b.runner.rejoins).toBe(1);
    expect(b.runner.match?.matchId).toBe(seat.matchId);
    expect(b.runner.match?.slot).toBe(seat.slot);
    expect(b.runner.seat?.token).toBe(seat.token);
    const [endA, endB] = await Promise.all([a.runner.closed, b.runner.closed]);
    expect(endA).toMatchObject({ kind: 'frame-limit' });
    expect(endB).toMatchObject({ kind: 'frame-limit' });
    expect(b.runner.finalHash).toMatch(/^[0-9a-f]{16}$/);
    expect(a.runner.finalHash).toBe(b.runner.finalHash);
    expect(b.phases).toEqual([
      'connecting',
      'waiting',
      'playing',
      'reconnecting',
      'playing',
      'ended',
    ]);
    expect(b.runner.matches.length).toBe(2);
    // The relay logged the away and the rejoin, and the log replays to the same hashes.
    const logPath = path.join(dir, `${seat.matchId}.jsonl`);
    const log = await waitForEnd(logPath);
    const types = log.records.map((r) => r.type);
    expect(types).toContain('away');
    expect(types).toContain('rejoin');
    // Hash checks go on after the rejoin, with the rejoined seat voting.
    const rejoinAt = types.indexOf('rejoin');
    const later = log.records.slice(rejoinAt).filter((r) => r.type === 'verdict');
    expect(later.some((v) => v.type === 'verdict' && v.agreed && !v.hashes.includes(null))).toBe(
      true,
    );
    expect((await replayMatchLog(logPath)).ok).toBe(true);
  });

  it('past the grace period the seat is lost: the runner gives up, and the relay refuses a reloaded page', async () => {
    const a = host('short-grace', 3, 1200);
    const b = host('short-grace', 4, 1200);
    a.runner.join();
    b.runner.join();
    await until(() => frameOf(b) >= 200, 30_000, 'frame 200');
    const seat = b.runner.seat!;
    b.cut(1_500);
    const endB = await b.runner.closed;
    expect(endB).toMatchObject({ kind: 'lost', reason: 'the match went on without you' });
    expect(endB?.detail).toMatch(/not rejoined within 500 ms/);
    expect(b.runner.rejoins).toBe(0);
    // A page reloaded later still holds the seat; the relay refuses it, and the runner says so.
    const reloaded = new MatchRunner<unknown>({
      connect: () => RelayConnection.connect(relay.url),
      scheduler: new RealClock(),
      scene: 'short-grace',
      participantId: seat.participantId,
      seat: { ...seat, rejoinGraceMs: 10_000 },
      createSim: () => {
        throw new Error('no match to play');
      },
      input: () => null,
    });
    reloaded.join();
    const endReloaded = await reloaded.closed;
    expect(endReloaded).toMatchObject({ kind: 'lost', reason: 'the match went on without you' });
    expect(endReloaded?.detail).toMatch(/the relay refused the rejoin/);
    // The other saw it leave for good, and its match ended there (a page's rule: not alone).
    expect(await a.runner.closed).toMatchObject({ kind: 'alone' });
  });
});

async function waitForEnd(logPath: string) {
  const deadline = performance.now() + 10_000;
  for (;;) {
    const log = await readMatchLog(logPath).catch(() => null);
    if (log?.records.at(-1)?.type === 'end') return log;
    if (performance.now() > deadline) throw new Error(`${logPath} has no end record`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
