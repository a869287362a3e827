import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ConcordError,
  duel,
  encodeInput,
  initStateHash,
  Prng,
  randomDuelInput,
  type Sim,
  stateHash,
} from '../../sim/index.ts';
import { createPythonSim, type PythonSim, sharedPyodide } from '../../sim/python/index.ts';
import { SimHostError } from './errors.ts';
import { packInputs, SimHostPool } from './pool.ts';
import { arbitrate } from './referee.ts';

const KITCHEN_SPEC = 'python:examples/kitchen.py';
const KITCHEN = readFileSync(new URL('../../examples/kitchen.py', import.meta.url), 'utf8');

/** Seeded random duel inputs: `frames` rows of `players` 4-byte inputs. */
function duelInputs(players: number, frames: number, seed: number): Uint8Array[][] {
  const rng = Prng.fromSeed(seed);
  return Array.from({ length: frames }, () =>
    Array.from({ length: players }, () => encodeInput(randomDuelInput(rng.nextU32()))),
  );
}

/** Seeded random kitchen inputs (buttons 0..5, as the default discrete mapping reads them). */
function kitchenInputs(players: number, frames: number, seed: number): Uint8Array[][] {
  const rng = Prng.fromSeed(seed);
  return Array.from({ length: frames }, () =>
    Array.from({ length: players }, () => {
      const a = rng.nextInt(6);
      return encodeInput({ buttons: a === 0 ? 0 : 1 << (a - 1), x: 0, y: 0 });
    }),
  );
}

function stepAll(sim: Sim, rows: readonly Uint8Array[][]): void {
  for (const row of rows) {
    sim.step(
      row.map((b) => ({
        buttons: b[0] | (b[1] << 8),
        x: (b[2] << 24) >> 24,
        y: (b[3] << 24) >> 24,
      })),
    );
  }
}

const encoded = (sim: Sim): Uint8Array => sim.encode(sim.save());

let pool: SimHostPool;

beforeAll(async () => {
  await initStateHash();
  pool = new SimHostPool({ size: 2 });
});

afterAll(async () => {
  await pool?.close();
});

describe('SimHostPool with duel', () => {
  for (const players of [2, 4]) {
    it(`re-simulates ${players}-player duel from a checkpoint over 120 frames like stepping in-process`, async () => {
      const match = await pool.openMatch({
        sim: 'duel',
        players,
        seed: 7,
        matchId: `duel-${players}`,
      });
      const local = duel.create({ players, seed: 7 });
      stepAll(local, duelInputs(players, 60, 1));
      const checkpoint = encoded(local);
      const rows = duelInputs(players, 120, 2);
      stepAll(local, rows);
      const expected = encoded(local);

      const r = await match.referee({
        fromFrame: 60,
        fromState: checkpoint,
        inputs: packInputs(rows, players),
        toFrame: 180,
      });
      expect(r.frame).toBe(180);
      expect(r.hash).toBe(stateHash(expected));
      expect(r.state).toEqual(expected);
      expect(r.cost.frames).toBe(120);

      // From the match's own S(0) (no state given) over the whole range.
      const fromStart = await match.referee({
        fromFrame: 0,
        fromState: null,
        inputs: packInputs([...duelInputs(players, 60, 1), ...rows], players),
        toFrame: 180,
      });
      expect(fromStart.hash).toBe(r.hash);
      await match.close();
    });
  }

  it('tells a corrupted peer copy apart from the line that follows from the inputs', async () => {
    const players = 3;
    const match = await pool.openMatch({ sim: 'duel', players, seed: 11 });
    const before = duelInputs(players, 60, 3);
    const after = duelInputs(players, 120, 4);
    // Three peers play the same inputs; the host's (slot 0) state is damaged at frame 90.
    const peers = [0, 1, 2].map(() => duel.create({ players, seed: 11 }));
    for (const p of peers) stepAll(p, before);
    const checkpoint = encoded(peers[1]);
    for (const p of peers) stepAll(p, after.slice(0, 30));
    const snap = peers[0].save();
    // Bit flips in the state words, as a memory fault or a non-deterministic write would leave.
    for (let i = 8; i < snap.length; i += 16) snap[i] ^= 1;
    peers[0].load(snap);
    for (const p of peers) stepAll(p, after.slice(30));
    const reports = peers.map((p) => stateHash(encoded(p)));
    expect(reports[0]).not.toBe(reports[1]);
    expect(reports[1]).toBe(reports[2]);

    const r = await match.referee({
      fromFrame: 60,
      fromState: checkpoint,
      inputs: packInputs(after, players),
      toFrame: 180,
    });
    const a = arbitrate({
      frame: 180,
      fromFrame: 60,
      reports,
      referee: { kind: 'hash', hash: r.hash },
    });
    expect(a.method).toBe('referee');
    expect(a.right).toEqual([1, 2]);
    expect(a.repair).toEqual([0]);
    expect(a.sources[0]).toEqual({ kind: 'peer', slot: 1 });
    // Today's rule would have taken the damaged host as right.
    const old = arbitrate({ frame: 180, fromFrame: 60, reports, referee: null });
    expect(old.right).toEqual([0]);
    await match.close();
  });

  it('rejects a call whose sim throws, and keeps serving', async () => {
    const match = await pool.openMatch({ sim: 'duel', players: 2, seed: 1 });
    const garbage = new Uint8Array([1, 2, 3, 4, 5]);
    const bad = match.referee({
      fromFrame: 10,
      fromState: garbage,
      inputs: new Uint8Array(0),
      toFrame: 10,
    });
    await expect(bad).rejects.toBeInstanceOf(ConcordError);
    await expect(bad).rejects.toMatchObject({ code: 'BAD_STATE' });
    // A state of another frame than fromFrame is refused by the worker, too.
    const s0 = encoded(duel.create({ players: 2, seed: 1 }));
    await expect(
      match.referee({ fromFrame: 5, fromState: s0, inputs: new Uint8Array(0), toFrame: 5 }),
    ).rejects.toMatchObject({ code: 'BAD_STATE' });
    // Inputs of the wrong size never reach the worker.
    await expect(
      match.referee({ fromFrame: 0, fromState: null, inputs: new Uint8Array(3), toFrame: 1 }),
    ).rejects.toMatchObject({ code: 'BAD_INPUT' });

    const rows = duelInputs(2, 30, 5);
    const local = duel.create({ players: 2, seed: 1 });
    stepAll(local, rows);
    const ok = await match.referee({
      fromFrame: 0,
      fromState: null,
      inputs: packInputs(rows, 2),
      toFrame: 30,
    });
    expect(ok.hash).toBe(stateHash(encoded(local)));
    await match.close();
    await expect(
      match.referee({ fromFrame: 0, fromState: null, inputs: new Uint8Array(0), toFrame: 0 }),
    ).rejects.toMatchObject({ code: 'MATCH_CLOSED' });
  });

  it('refuses a sim that cannot load at open', async () => {
    await expect(pool.openMatch({ sim: 'nope', players: 2, seed: 1 })).rejects.toMatchObject({
      code: 'UNKNOWN_SIM',
    });
    await expect(pool.openMatch({ sim: 'duel', players: 9, seed: 1 })).rejects.toMatchObject({
      code: 'BAD_CONFIG',
    });
    await expect(pool.openMatch({ sim: KITCHEN_SPEC, players: 2, seed: 1 })).rejects.toMatchObject({
      code: 'BAD_CONFIG',
    });
  });

  it('rejects the calls of a worker that dies, replaces it and moves its matches', async () => {
    const p = new SimHostPool({ size: 1 });
    try {
      const match = await p.openMatch({ sim: 'duel', players: 2, seed: 3 });
      const rows = duelInputs(2, 20_000, 6);
      const pending = match.referee({
        fromFrame: 0,
        fromState: null,
        inputs: packInputs(rows, 2),
        toFrame: 20_000,
      });
      const outcome = pending.then(
        () => null,
        (e: unknown) => e,
      );
      const worker = p.stats().perMatch[0].worker!;
      await p.terminateWorker(worker);
      const err = await outcome;
      expect(err).toBeInstanceOf(SimHostError);
      expect(err).toMatchObject({ code: 'WORKER_EXITED' });
      expect(p.stats().restarts).toBe(1);
      expect(p.stats().perMatch[0].worker).toBeNull();

      const short = rows.slice(0, 50);
      const local = duel.create({ players: 2, seed: 3 });
      stepAll(local, short);
      const r = await match.referee({
        fromFrame: 0,
        fromState: null,
        inputs: packInputs(short, 2),
        toFrame: 50,
      });
      expect(r.hash).toBe(stateHash(encoded(local)));
      expect(p.stats().workers).toBe(1);
      expect(p.stats().perMatch[0].worker).toBe(0);
    } finally {
      await p.close();
    }
  });

  it('terminates and replaces a worker that stalls', async () => {
    const p = new SimHostPool({ size: 1, stallTimeoutMs: 50 });
    try {
      const match = await p.openMatch({ sim: 'duel', players: 2, seed: 3 });
      // About ten times the watchdog's 50 ms of stepping (under 1 µs a frame on a fast core).
      const frames = 1_000_000;
      const stuck = match.referee({
        fromFrame: 0,
        fromState: null,
        inputs: new Uint8Array(frames * 8),
        toFrame: frames,
      });
      await expect(stuck).rejects.toMatchObject({ code: 'WORKER_STALLED' });
      expect(p.stats().restarts).toBe(1);
      const r = await match.referee({
        fromFrame: 0,
        fromState: null,
        inputs: new Uint8Array(8),
        toFrame: 1,
      });
      expect(r.frame).toBe(1);
    } finally {
      await p.close();
    }
  });

  it('rejects calls once the pool is closed', async () => {
    const p = new SimHostPool({ size: 1 });
    const match = await p.openMatch({ sim: 'duel', players: 2, seed: 1 });
    await p.close();
    await expect(
      match.referee({ fromFrame: 0, fromState: null, inputs: new Uint8Array(0), toFrame: 0 }),
    ).rejects.toMatchObject({ code: 'POOL_CLOSED' });
    await expect(p.openMatch({ sim: 'duel', players: 2, seed: 1 })).rejects.toMatchObject({
      code: 'POOL_CLOSED',
    });
    expect(p.stats().workers).toBe(0);
  });

  it('keeps the main thread running timers while a worker steps 10 000 duel frames', async () => {
    const match = await pool.openMatch({ sim: 'duel', players: 4, seed: 9 });
    const inputs = packInputs(duelInputs(4, 10_000, 8), 4);
    let done = false;
    const call = match
      .referee({ fromFrame: 0, fromState: null, inputs, toFrame: 10_000 })
      .finally(() => {
        done = true;
      });
    let ticks = 0;
    while (!done) {
      await new Promise((r) => setTimeout(r, 1));
      if (!done) ticks++;
    }
    expect((await call).cost.frames).toBe(10_000);
    // In-process the steps would have run in one go, with no timer in between.
    expect(ticks).toBeGreaterThanOrEqual(1);
    await match.close();
  });

  it('reports per-match and total costs', async () => {
    const match = await pool.openMatch({ sim: 'duel', players: 2, seed: 2, matchId: 'stats' });
    const rows = duelInputs(2, 100, 1);
    await match.referee({
      fromFrame: 0,
      fromState: null,
      inputs: packInputs(rows, 2),
      toFrame: 100,
    });
    await match.referee({
      fromFrame: 0,
      fromState: null,
      inputs: packInputs(rows, 2),
      toFrame: 100,
    });
    const s = pool.stats();
    const m = s.perMatch.find((x) => x.matchId === 'stats')!;
    expect(m).toMatchObject({ sim: 'duel', players: 2, calls: 2, framesStepped: 200, queued: 0 });
    expect(m.usPerFrame).toBeGreaterThan(0);
    expect(m.usPerCall).toBeGreaterThan(0);
    expect(s.framesStepped).toBeGreaterThanOrEqual(200);
    expect(s.usPerFrame).toBeGreaterThan(0);
    expect(s.queueLength).toBe(0);
    expect(s.workers).toBeLessThanOrEqual(2);
    expect(JSON.parse(JSON.stringify(s))).toEqual(s);
    await match.close();
    expect(pool.stats().perMatch.find((x) => x.matchId === 'stats')).toBeUndefined();
  });
});

describe('SimHostPool with a Python sim', () => {
  let local: PythonSim;
  beforeAll(async () => {
    local = createPythonSim(await sharedPyodide(), { source: KITCHEN, players: 2, seed: 5 });
  });
  afterAll(() => local?.dispose());

  it('gives the same hash for kitchen in the worker as in-process', async () => {
    const match = await pool.openMatch({
      sim: KITCHEN_SPEC,
      players: 2,
      seed: 5,
      python: { source: KITCHEN, className: null, packages: [] },
    });
    stepAll(local, kitchenInputs(2, 40, 1));
    const checkpoint = encoded(local);
    const rows = kitchenInputs(2, 120, 2);
    stepAll(local, rows);
    const expected = encoded(local);
    const r = await match.referee({
      fromFrame: 40,
      fromState: checkpoint,
      inputs: packInputs(rows, 2),
      toFrame: 160,
    });
    expect(r.hash).toBe(stateHash(expected));
    expect(r.state).toEqual(expected);
    expect(pool.stats().perWorker.some((w) => w.python)).toBe(true);
    await match.close();
  });

  it('fires a 50 ms timer on the main thread before the worker has stepped 10 000 kitchen frames', async () => {
    const match = await pool.openMatch({
      sim: KITCHEN_SPEC,
      players: 2,
      seed: 5,
      python: { source: KITCHEN },
    });
    const inputs = packInputs(kitchenInputs(2, 10_000, 3), 2);
    const order: string[] = [];
    const timer = new Promise<void>((r) =>
      setTimeout(() => {
        order.push('timer');
        r();
      }, 50),
    );
    const call = match.referee({ fromFrame: 0, fromState: null, inputs, toFrame: 10_000 });
    const r = await call.then((x) => {
      order.push('call');
      return x;
    });
    await timer;
    // The worker stepped for far longer than 50 ms (tens of µs a frame): a blocked main thread
    // would have fired the timer only after the call.
    expect(r.cost.stepUs).toBeGreaterThan(50_000);
    expect(order).toEqual(['timer', 'call']);
    await match.close();
  });

  it('rejects with the environment’s error when it raises, and keeps serving', async () => {
    const source = `${KITCHEN}\n\nclass Broken(Kitchen):\n    def step(self, actions):\n        raise ValueError("broken on purpose")\n`;
    const broken = await pool.openMatch({
      sim: 'python:broken.py:Broken',
      players: 2,
      seed: 5,
      python: { source, className: 'Broken' },
    });
    const call = broken.referee({
      fromFrame: 0,
      fromState: null,
      inputs: new Uint8Array(8),
      toFrame: 1,
    });
    await expect(call).rejects.toMatchObject({ code: 'ENV_ERROR' });
    await expect(call).rejects.toThrow(/broken on purpose/);
    const zero = await broken.referee({
      fromFrame: 0,
      fromState: null,
      inputs: new Uint8Array(0),
      toFrame: 0,
    });
    expect(zero.hash).toMatch(/^[0-9a-f]{16}$/);
    await broken.close();
  });
});
