import { readFileSync } from 'node:fs';
import type { PyodideInterface } from 'pyodide';
import { beforeAll, describe, expect, it } from 'vitest';
import { episodeSeed, episodicFactory } from '../episodes.ts';
import { initStateHash, stateHash } from '../hash.ts';
import type { Input } from '../input.ts';
import { Prng } from '../prng.ts';
import { runSyncTest } from '../sync-test.ts';
import { type PythonSim, pythonSimFactory, sharedPyodide } from './index.ts';

const KITCHEN = readFileSync(new URL('../../examples/kitchen.py', import.meta.url), 'utf8');
let pyodide: PyodideInterface;

beforeAll(async () => {
  await initStateHash();
  pyodide = await sharedPyodide();
}, 60_000);

/** Seeded random kitchen actions (0..5 through the discrete mapping), a pure function of f. */
function inputsFor(seed: number, frames: number): (f: number) => Input[] {
  const rng = Prng.fromSeed(seed);
  const press = (a: number): Input => ({ buttons: a === 0 ? 0 : 1 << (a - 1), x: 0, y: 0 });
  const all = Array.from({ length: frames }, () => [press(rng.nextInt(6)), press(rng.nextInt(6))]);
  return (f) => all[f];
}

const hashOf = (sim: PythonSim): string => stateHash(sim.encode(sim.save()));

describe('a Python environment reset with a seed (the kitchen)', () => {
  it('reset(seed) gives the state of a sim created with that seed', async () => {
    const factory = await pythonSimFactory({ id: 'python:kitchen.py', source: KITCHEN, pyodide });
    const played = factory.create({ players: 2, seed: 1 });
    const fresh = factory.create({ players: 2, seed: 4242 });
    try {
      const inputs = inputsFor(1, 60);
      for (let f = 0; f < 60; f++) played.step(inputs(f));
      played.reset(4242);
      expect(played.frame).toBe(0);
      expect(hashOf(played)).toBe(hashOf(fresh));
      // And it plays on the same: the environment's own generator was reseeded too.
      for (let f = 0; f < 60; f++) {
        played.step(inputs(f));
        fresh.step(inputs(f));
      }
      expect(hashOf(played)).toBe(hashOf(fresh));
    } finally {
      played.dispose();
      fresh.dispose();
    }
  });

  it('plays episodes: each starts as a fresh sim with the episode seed, and the sync test passes across the boundaries', async () => {
    const inner = await pythonSimFactory({ id: 'python:kitchen.py', source: KITCHEN, pyodide });
    const factory = episodicFactory(inner, { episodes: 3, framesPerEpisode: 25 });
    const sim = factory.create({ players: 2, seed: 9 });
    try {
      const inputs = inputsFor(2, 75);
      for (let f = 0; f < 25; f++) sim.step(inputs(f));
      expect(sim.episodeStarted).toBe(1);
      const fresh = inner.create({ players: 2, seed: episodeSeed(9, 1) });
      expect(stateHash(sim.inner.encode(sim.inner.save()))).toBe(hashOf(fresh));
      fresh.dispose();

      const checked = factory.create({ players: 2, seed: 9 });
      try {
        const r = runSyncTest(checked, { frames: 75, checkDistance: 4, inputs });
        expect(r.checks).toBeGreaterThan(0);
        expect(checked.episode).toBe(2);
      } finally {
        checked.dispose();
      }
    } finally {
      sim.dispose();
    }
  }, 60_000);
});
