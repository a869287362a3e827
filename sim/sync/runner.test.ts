import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { duel, type Input, initStateHash, type Sim } from '../index.ts';
import { createPythonSim, loadConcordPyodide } from '../python/index.ts';
import { SimRunner } from './runner.ts';
import { SyncSession } from './session.ts';
import type { SaveStrategy, SessionRequest } from './types.ts';

beforeAll(initStateHash);

const press = (buttons: number): Input => ({ buttons, x: 0, y: 0 });

/**
 * The request lists of `ticks` ticks of slot 0 in a 2-player session whose remote inputs arrive
 * 1..7 ticks late and change every few frames, so that predictions fail and rollbacks of
 * several frames happen.
 */
function sessionTicks(saveStrategy: SaveStrategy, ticks: number): SessionRequest[][] {
  const s = new SyncSession({
    players: 2,
    localSlot: 0,
    inputDelay: 1,
    maxPredictionWindow: 8,
    saveStrategy,
    hashInterval: 10,
  });
  const remote = (f: number) => press(1 << (Math.floor(f / 3) % 5));
  const lagOf = (f: number) => 1 + ((f * 5 + (f >> 3)) % 7);
  const out: SessionRequest[][] = [];
  let sentUpTo = 0; // the remote peer stamps frames from its input delay on
  for (let t = 0; t < ticks; t++) {
    // Deliver in frame order every remote input whose lag has passed.
    while (sentUpTo + lagOf(sentUpTo) <= t && sentUpTo <= s.frame + 1) {
      s.receive(
        1,
        { kind: 'input', frame: sentUpTo, input: remote(sentUpTo), currentFrame: sentUpTo },
        t,
      );
      sentUpTo++;
    }
    out.push(s.advanceFrame(press(1 << (Math.floor(t / 4) % 5)), t).requests);
  }
  return out;
}

/** Runs the ticks on `sim` and returns every requested hash and the final state's encoding. */
function play(sim: Sim<unknown>, ticks: SessionRequest[][], batchSteps: boolean) {
  const runner = new SimRunner(sim, { batchSteps });
  const hashes: string[] = [];
  for (const requests of ticks) for (const r of runner.run(requests)) hashes.push(r.hash);
  return { hashes, state: sim.encode(sim.save()), steps: runner.steps, batches: runner.batches };
}

/** Duel with a `stepMany` that counts its calls (stepping frame by frame underneath). */
function batchingDuel() {
  const sim = duel.create({ players: 2, seed: 9 });
  const calls: number[] = [];
  return Object.assign(sim, {
    calls,
    stepMany(inputs: readonly (readonly Input[])[]) {
      calls.push(inputs.length);
      for (const i of inputs) sim.step(i);
    },
  });
}

describe('SimRunner batches re-simulation into stepMany', () => {
  it('sparse saving: consecutive advances go to stepMany, with the same hashes as per frame', () => {
    const ticks = sessionTicks('sparse', 400);
    const batched = batchingDuel();
    const a = play(batched, ticks, true);
    const b = play(duel.create({ players: 2, seed: 9 }), ticks, false);
    expect(a.batches).toBeGreaterThan(10);
    expect(Math.max(...batched.calls)).toBeGreaterThanOrEqual(4);
    expect(a.steps).toBe(b.steps);
    expect(a.hashes.length).toBeGreaterThan(30);
    expect(a.hashes).toEqual(b.hashes);
    expect(a.state).toEqual(b.state);
  });

  it('ring saving saves after every frame, so nothing is batched', () => {
    const sim = batchingDuel();
    const a = play(sim, sessionTicks('ring', 200), true);
    expect(a.batches).toBe(0);
    expect(sim.calls).toEqual([]);
  });

  it('batchSteps false and sims without stepMany step frame by frame', () => {
    const sim = batchingDuel();
    expect(play(sim, sessionTicks('sparse', 100), false).batches).toBe(0);
    expect(sim.calls).toEqual([]);
    expect(
      play(duel.create({ players: 2, seed: 9 }), sessionTicks('sparse', 100), true).batches,
    ).toBe(0);
  });

  it('refuses a run of advances that skips a frame', () => {
    const runner = new SimRunner(batchingDuel());
    const i = [press(0), press(0)];
    expect(() =>
      runner.run([
        { kind: 'advance', frame: 0, inputs: i },
        { kind: 'advance', frame: 2, inputs: i },
      ]),
    ).toThrow(/advance for frame 2 but the sim will be at frame 1/);
  });

  it('the kitchen Python sim: stepMany re-simulation gives the per-frame hashes', async () => {
    const pyodide = await loadConcordPyodide();
    const source = readFileSync(new URL('../../examples/kitchen.py', import.meta.url), 'utf8');
    const make = () => createPythonSim(pyodide, { source, players: 2, seed: 3 });
    const ticks = sessionTicks('sparse', 300);
    const a = play(make(), ticks, true);
    const b = play(make(), ticks, false);
    expect(a.batches).toBeGreaterThan(10);
    expect(b.batches).toBe(0);
    expect(a.hashes.length).toBeGreaterThan(20);
    expect(a.hashes).toEqual(b.hashes);
    expect(a.state).toEqual(b.state);
  }, 60_000);
});
