/**
 * Rough per-frame costs of the kitchen example under the Python adapter in Node.
 * Run: npx tsx examples/measure-python.ts
 * A measurement for docs/python-environments.md, not a benchmark suite (see test/bench).
 */
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { type Input, initStateHash, Prng, stateHash } from '../sim/index.ts';
import { createPythonSim, loadConcordPyodide } from '../sim/python/index.ts';

const source = readFileSync(new URL('kitchen.py', import.meta.url), 'utf8');
await initStateHash();

let t = performance.now();
const pyodide = await loadConcordPyodide();
const loadMs = performance.now() - t;
t = performance.now();
const sim = createPythonSim(pyodide, { source, players: 2, seed: 1 });
const createMs = performance.now() - t;

const rng = Prng.fromSeed(5);
const press = (a: number): Input => ({ buttons: a === 0 ? 0 : 1 << (a - 1), x: 0, y: 0 });
const inputs = Array.from({ length: 4096 }, () => [press(rng.nextInt(6)), press(rng.nextInt(6))]);
let f = 0;
const next = () => inputs[f++ % inputs.length];

/** Median microseconds of `fn` over `n` runs, after a warm-up. */
function median(n: number, fn: () => void): number {
  for (let i = 0; i < Math.min(n, 200); i++) fn();
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const s = performance.now();
    fn();
    times.push((performance.now() - s) * 1000);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(n / 2)];
}

const stepUs = median(2000, () => sim.step(next()));
const saveUs = median(2000, () => sim.save());
const snap = sim.save();
const encodeHashUs = median(2000, () => stateHash(sim.encode(snap)));
const loadUs = median(2000, () => sim.load(snap));
const rollbackUs = median(500, () => {
  sim.load(snap);
  for (let i = 0; i < 8; i++) {
    sim.step(next());
    sim.save();
  }
});
const batchUs = median(500, () => {
  sim.load(snap);
  sim.stepMany(Array.from({ length: 8 }, next));
  sim.save();
});
const bytes = sim.encode(sim.save()).length;

const row = (name: string, us: number) => console.log(`${name.padEnd(48)} ${us.toFixed(0)} µs`);
console.log(`${cpus()[0].model} x${cpus().length}, Node ${process.version}`);
console.log(`${'Pyodide load (fresh interpreter)'.padEnd(48)} ${loadMs.toFixed(0)} ms`);
console.log(`${'kitchen load (exec, reset, checks)'.padEnd(48)} ${createMs.toFixed(1)} ms`);
row('step', stepUs);
row('save (get_state + random state, JSON)', saveUs);
row('encode + hash', encodeHashUs);
row('load (set_state + random.setstate)', loadUs);
row('8-frame rollback: load + 8 x (step + save)', rollbackUs);
row('8-frame rollback batched: load + stepMany(8) + save', batchUs);
console.log(`encoded state: ${bytes} bytes`);
sim.dispose();
