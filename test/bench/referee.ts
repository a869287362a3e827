import { readFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { packInputs, SimHostPool } from '../../relay/sim-host/index.ts';
import {
  decodeInput,
  duel,
  encodeInput,
  type Input,
  initStateHash,
  Prng,
  randomDuelInput,
  type Sim,
  stateHash,
} from '../../sim/index.ts';
import { createPythonSim, sharedPyodide } from '../../sim/python/index.ts';
import { printTable } from './measure.ts';

const FRAME_COUNTS = [30, 240, 1000] as const;
/** Frames played before the checkpoint, so that the state is a mid-match one. */
const LEAD_IN = 600;
/** Time spent on each scenario and side, ms; at least MIN_SAMPLES calls. */
const TIME_MS = 700;
const MIN_SAMPLES = 5;
const KITCHEN = fileURLToPath(new URL('../../examples/kitchen.py', import.meta.url));

interface Scenario {
  readonly name: string;
  readonly sim: string;
  readonly players: number;
  readonly create: () => Promise<Sim>;
  readonly input: (rng: Prng) => Uint8Array;
  readonly python?: { readonly source: string };
}

/** Median and p99 of a sample, in the sample's unit. */
function quantiles(xs: number[]): { p50: number; p99: number } {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))];
  return { p50: at(0.5), p99: at(0.99) };
}

async function sample(fn: () => unknown): Promise<number[]> {
  await fn(); // warm-up
  await fn();
  const out: number[] = [];
  const end = performance.now() + TIME_MS; // clock-ok: a benchmark
  while (out.length < MIN_SAMPLES || performance.now() < end) {
    const t = performance.now(); // clock-ok
    await fn();
    out.push((performance.now() - t) * 1000); // clock-ok
  }
  return out;
}

/**
 * The cost of one arbitration by the referee: re-simulating 30, 240 and 1000 frames from a
 * checkpoint (decode and load S(from), step, save, encode, hash S(to)) for 2- and 4-player duel
 * and for the kitchen Python sim, as a round trip through the sim host pool (a worker thread)
 * beside the same work done in-process on the main thread, in the same run. Times are medians
 * in µs; `npm run bench -- referee`. The worker figures also give the time the worker reports
 * for its steps alone, and the rest of the call (decode, load, save, encode, hash, and the
 * messages both ways). A Python sim steps in one `stepMany` call in the worker and frame by frame
 * in-process, as a peer's re-simulation does.
 */
export async function refereeBench(): Promise<Record<string, unknown>> {
  await initStateHash();
  const kitchenSource = readFileSync(KITCHEN, 'utf8');
  const duelInput = (rng: Prng) => encodeInput(randomDuelInput(rng.nextU32()));
  const kitchenInput = (rng: Prng) => {
    const a = rng.nextInt(6);
    return encodeInput({ buttons: a === 0 ? 0 : 1 << (a - 1), x: 0, y: 0 });
  };
  const scenarios: Scenario[] = [
    {
      name: 'duel 2p',
      sim: 'duel',
      players: 2,
      create: async () => duel.create({ players: 2, seed: 1 }),
      input: duelInput,
    },
    {
      name: 'duel 4p',
      sim: 'duel',
      players: 4,
      create: async () => duel.create({ players: 4, seed: 1 }),
      input: duelInput,
    },
    {
      name: 'kitchen 2p',
      sim: 'python:examples/kitchen.py',
      players: 2,
      create: async () =>
        createPythonSim(await sharedPyodide(), { source: kitchenSource, players: 2, seed: 1 }),
      input: kitchenInput,
      python: { source: kitchenSource },
    },
  ];

  const pool = new SimHostPool({ size: 1 });
  const rows: (string | number)[][] = [];
  const results: Record<string, unknown>[] = [];
  try {
    for (const sc of scenarios) {
      const local = await sc.create();
      const rng = Prng.fromSeed(42);
      const row = () => Array.from({ length: sc.players }, () => sc.input(rng));
      for (let f = 0; f < LEAD_IN; f++) local.step(row().map(decodeInput));
      const checkpoint = local.encode(local.save());
      const maxFrames = FRAME_COUNTS[FRAME_COUNTS.length - 1];
      const allRows = Array.from({ length: maxFrames }, row);
      const match = await pool.openMatch({
        sim: sc.sim,
        players: sc.players,
        seed: 1,
        matchId: sc.name,
        python: sc.python,
      });
      for (const frames of FRAME_COUNTS) {
        const rowsN = allRows.slice(0, frames);
        const decoded: Input[][] = rowsN.map((r) => r.map(decodeInput));
        const packed = packInputs(rowsN, sc.players);
        let localHash = '';
        // In-process: the same steps as the worker's, on the main thread.
        const inProcess = await sample(() => {
          local.load(local.decode(checkpoint));
          for (const r of decoded) local.step(r);
          localHash = stateHash(local.encode(local.save()));
        });
        let workerHash = '';
        const stepUs: number[] = [];
        const worker = await sample(async () => {
          const r = await match.referee({
            fromFrame: LEAD_IN,
            fromState: checkpoint,
            inputs: packed,
            toFrame: LEAD_IN + frames,
          });
          workerHash = r.hash;
          stepUs.push(r.cost.stepUs);
        });
        if (workerHash !== localHash) {
          throw new Error(`${sc.name} ${frames} frames: worker hash ${workerHash} ≠ ${localHash}`);
        }
        const a = quantiles(inProcess);
        const w = quantiles(worker);
        const s = quantiles(stepUs);
        rows.push([
          sc.name,
          frames,
          a.p50.toFixed(0),
          w.p50.toFixed(0),
          w.p99.toFixed(0),
          s.p50.toFixed(0),
          (w.p50 - s.p50).toFixed(0),
          (s.p50 / frames).toFixed(2),
          (w.p50 / a.p50).toFixed(2),
        ]);
        results.push({
          scenario: sc.name,
          frames,
          inProcessP50Us: a.p50,
          inProcessP99Us: a.p99,
          workerP50Us: w.p50,
          workerP99Us: w.p99,
          workerStepP50Us: s.p50,
          samples: { inProcess: inProcess.length, worker: worker.length },
        });
      }
      await match.close();
      (local as Sim & { dispose?: () => void }).dispose?.();
    }
  } finally {
    await pool.close();
  }
  printTable(
    `referee: one arbitration, re-simulating from a checkpoint (${os.cpus()[0]?.model ?? 'cpu'}, ${os.cpus().length} cores, node ${process.version})`,
    [
      'sim',
      'frames',
      'in-process p50 µs',
      'worker p50 µs',
      'worker p99 µs',
      'worker step p50 µs',
      'rest of call µs',
      'step µs/frame',
      'worker / in-process',
    ],
    rows,
  );
  const stats = pool.stats();
  return {
    machine: { cpu: os.cpus()[0]?.model, cores: os.cpus().length, node: process.version },
    leadIn: LEAD_IN,
    results,
    pool: { calls: stats.calls, framesStepped: stats.framesStepped, usPerFrame: stats.usPerFrame },
  };
}
