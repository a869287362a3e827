import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  duel,
  type Frame,
  type Input,
  initStateHash,
  Prng,
  randomDuelInput,
  type Sim,
  stateHash,
} from '../../sim/index.ts';
import { createPythonSim, loadConcordPyodide } from '../../sim/python/index.ts';
import type { SaveStrategy, SessionEvent, SessionRequest } from '../../sim/sync/index.ts';
import { type BatchStepper, SimRunner, SyncSession } from '../../sim/sync/index.ts';
import { type Measured, measure, printTable, QUIET_CPU_PCT, waitForQuiet } from './measure.ts';

const WINDOW = 8;
const PLAYERS = 2;
/** The kitchen scene's session settings (relay scene table): what a peer of that scene runs. */
const SCENE = { inputDelay: 1, maxPredictionWindow: WINDOW, hashInterval: 10 } as const;
const LOAD_RUNS = 3;
const CREATE_RUNS = 7;
const SESSION_TICKS = 400;
const SESSION_RUNS = 3;
const KITCHEN = fileURLToPath(new URL('../../examples/kitchen.py', import.meta.url));
const PYODIDE_MODULE = fileURLToPath(new URL('../../sim/python/pyodide.ts', import.meta.url));

/**
 * What a Python sim costs a peer, beside the built-in duel sim in the same run (both 2 players):
 * Pyodide load time in Node (a fresh process per run, median of 3), environment create time, per
 * frame step / save (`get_state`) / load (`set_state`) / encode / hash, and one full-window
 * (8-frame) rollback as a peer's {@link SimRunner} carries out the requests a real
 * {@link SyncSession} makes: ring saving (load + 8 × (step + save)), sparse saving frame by frame
 * (load + 8 × step + 1 save) and sparse saving batched (load + `stepMany(8)` + 1 save; duel has
 * no `stepMany`, so for it this is the frame-by-frame path again), and a whole lagged session's
 * sim time per tick for ring and sparse saving. Times are medians (p50) in µs;
 * `npm run bench -- python [--quiet-wait=S]`. Prints a table and a verdict line and returns
 * every figure (the `--json` object).
 * @throws Error when a scenario does not produce the rollback it is built for, or when the
 * strategies' results disagree (a session or runner bug: the figures would be meaningless).
 */
export async function pythonBench(): Promise<Record<string, unknown>> {
  await initStateHash();
  const machine = {
    cpu: os.cpus()[0]?.model ?? 'cpu',
    cores: os.cpus().length,
    node: process.version,
  };

  const waitMs = quietWaitSeconds() * 1000;
  /** The machine's busy share (% of a core) in the second before each group of measurements. */
  const otherCpuPct: Record<string, number> = {};
  const quiet = async (group: string) => {
    if (waitMs > 0) otherCpuPct[group] = Math.round(await waitForQuiet(waitMs));
  };

  // Pyodide load: a fresh Node process each time, as a bot, a replay or the relay pays it.
  await quiet('pyodideLoad');
  const loadMs: number[] = [];
  for (let i = 0; i < LOAD_RUNS; i++) loadMs.push(await pyodideLoadInFreshProcess());
  let t = performance.now(); // clock-ok: a benchmark
  const pyodide = await loadConcordPyodide();
  const inProcessLoadMs = performance.now() - t; // clock-ok

  const source = readFileSync(KITCHEN, 'utf8');
  const createMs: number[] = [];
  for (let i = 0; i < CREATE_RUNS; i++) {
    t = performance.now(); // clock-ok
    const s = createPythonSim(pyodide, { source, players: PLAYERS, seed: i + 1 });
    createMs.push(performance.now() - t); // clock-ok
    s.dispose();
  }
  const duelCreateRuns: number[] = [];
  for (let i = 0; i < CREATE_RUNS; i++) {
    t = performance.now(); // clock-ok
    duel.create({ players: PLAYERS, seed: i + 1 });
    duelCreateRuns.push(performance.now() - t); // clock-ok
  }
  const duelCreateMs = median(duelCreateRuns);

  const kitchen = () => createPythonSim(pyodide, { source, players: PLAYERS, seed: 1 });
  const duelSim = () => duel.create({ players: PLAYERS, seed: 1 });
  const rngK = Prng.fromSeed(5);
  const kitchenInput = (): Input[] => Array.from({ length: PLAYERS }, () => press(rngK.nextInt(6)));
  const rngD = Prng.fromSeed(5);
  const duelInput = (): Input[] =>
    Array.from({ length: PLAYERS }, () => randomDuelInput(rngD.nextU32()));

  await quiet('perFrameKitchen');
  const kitchenFrame = await perFrameCosts(kitchen(), kitchenInput);
  await quiet('perFrameDuel');
  const perFrame = { kitchen: kitchenFrame, duel: await perFrameCosts(duelSim(), duelInput) };

  const ring = rollbackScenario('ring');
  const sparse = rollbackScenario('sparse');
  await quiet('rollbackKitchen');
  const kitchenRollback = await rollbackCosts(kitchen, ring, sparse);
  await quiet('rollbackDuel');
  const rollback = { kitchen: kitchenRollback, duel: await rollbackCosts(duelSim, ring, sparse) };

  await quiet('session');
  const session = {
    kitchen: sessionCosts(kitchen),
    duel: sessionCosts(duelSim),
  };

  const us = (m: Measured) => m.p50Us;
  const rows: string[][] = [];
  const row = (name: string, k: Measured | number | null, d: Measured | number | null) => {
    const v = (x: Measured | number | null) =>
      x === null ? '-' : fixed(typeof x === 'number' ? x : us(x));
    const ratio =
      k !== null && d !== null
        ? ((typeof k === 'number' ? k : us(k)) / (typeof d === 'number' ? d : us(d))).toFixed(0)
        : '-';
    rows.push([name, v(k), v(d), ratio === '-' ? '-' : `${ratio}×`]);
  };
  const loadMedianMs = median(loadMs);
  const createMedianMs = median(createMs);
  row('Pyodide load, fresh process (ms, median of 3)', loadMedianMs, null);
  row('Pyodide load in this process (ms)', inProcessLoadMs, null);
  row(`create env (ms, median of ${CREATE_RUNS})`, createMedianMs, duelCreateMs);
  row('step', perFrame.kitchen.step, perFrame.duel.step);
  row('save (get_state)', perFrame.kitchen.save, perFrame.duel.save);
  row('load (set_state)', perFrame.kitchen.load, perFrame.duel.load);
  row('encode (canonical bytes)', perFrame.kitchen.encode, perFrame.duel.encode);
  row('hash (xxhash64 of the bytes)', perFrame.kitchen.hash, perFrame.duel.hash);
  row(`load + ${WINDOW} × step (${WINDOW} calls)`, perFrame.kitchen.stepsSeparately, null);
  row(`load + stepMany(${WINDOW}) (1 call)`, perFrame.kitchen.stepsBatched, null);
  row('rollback ring: load + 8 × (step + save)', rollback.kitchen.ring, rollback.duel.ring);
  row('rollback sparse: load + 8 × step + save', rollback.kitchen.sparse, rollback.duel.sparse);
  row(
    'rollback sparse batched: load + stepMany(8) + save',
    rollback.kitchen.sparseBatched,
    rollback.duel.sparseBatched,
  );
  row(
    `session, ring: sim µs per tick (${SESSION_TICKS} ticks)`,
    session.kitchen.ring,
    session.duel.ring,
  );
  row(
    `session, sparse: sim µs per tick (${SESSION_TICKS} ticks)`,
    session.kitchen.sparse,
    session.duel.sparse,
  );
  printTable(
    `Python (kitchen) vs TypeScript (duel), ${PLAYERS} players, rollback window ${WINDOW}, ` +
      `p50 µs unless marked (${machine.cpu}, ${machine.cores} cores, node ${machine.node}, ` +
      (waitMs > 0
        ? `other processes before each group: ${Object.values(otherCpuPct).join(', ')} % of a core)`
        : 'machine load not checked: --quiet-wait=0)'),
    ['operation', 'kitchen', 'duel', 'kitchen/duel'],
    rows,
  );

  const ringUs = us(rollback.kitchen.ring);
  const sparseUs = us(rollback.kitchen.sparse);
  const batchedUs = us(rollback.kitchen.sparseBatched);
  // The session's runner batches a sparse re-simulation (stepMany); frame by frame is the control.
  const sparseBest = Math.min(sparseUs, batchedUs);
  const sparseWins = sparseBest <= ringUs;
  const factor = sparseWins ? ringUs / sparseBest : sparseBest / ringUs;
  const best = Math.min(ringUs, sparseBest);
  const ms = (x: number) => `${(x / 1000).toFixed(2)} ms`;
  const batchGainPct = ((sparseUs - batchedUs) / sparseUs) * 100;
  const stepsUs = perFrame.kitchen.stepsSeparately ? us(perFrame.kitchen.stepsSeparately) : 0;
  const stepManyUs = perFrame.kitchen.stepsBatched ? us(perFrame.kitchen.stepsBatched) : 0;
  const verdict =
    `verdict: for the Python kitchen sim ${sparseWins ? 'sparse' : 'ring'} saving is cheaper, ` +
    `${factor.toFixed(1)}× per 8-frame rollback (ring ${ms(ringUs)}, sparse ${ms(sparseUs)} frame by frame, ` +
    `${ms(batchedUs)} batched) and ${(session.kitchen.ring / session.kitchen.sparse).toFixed(1)}× per tick ` +
    `over a whole session with remote inputs 1-7 frames late (ring ${session.kitchen.ring.toFixed(0)} µs, ` +
    `sparse ${session.kitchen.sparse.toFixed(0)} µs). An 8-frame rollback is ` +
    `${best < 2000 ? 'under' : 'OVER'} 2 ms with ${sparseWins ? 'sparse' : 'ring'} saving (${ms(best)}); ` +
    `ring is ${ringUs < 2000 ? 'under' : 'over'} 2 ms. Batching the re-simulation into one stepMany ` +
    `call makes the sparse rollback ${Math.abs(batchGainPct).toFixed(0)} % ${batchGainPct >= 0 ? 'cheaper' : 'dearer'} (8 steps: ${stepsUs.toFixed(0)} µs ` +
    `as 8 calls, ${stepManyUs.toFixed(0)} µs as one, load included). Duel: ring ` +
    `${fixed(us(rollback.duel.ring))} µs, sparse ${fixed(us(rollback.duel.sparse))} µs.`;
  console.log(`\n${verdict}`);

  return {
    machine,
    otherCpuPct,
    players: PLAYERS,
    window: WINDOW,
    pyodideLoadMs: { runs: loadMs, median: loadMedianMs, inProcess: inProcessLoadMs },
    createMs: { kitchen: { runs: createMs, median: createMedianMs }, duel: duelCreateMs },
    stateBytes: { kitchen: perFrame.kitchen.stateBytes, duel: perFrame.duel.stateBytes },
    perFrameUs: { kitchen: perFrame.kitchen.measured, duel: perFrame.duel.measured },
    rollbackUs: {
      kitchen: { ring: ringUs, sparse: sparseUs, sparseBatched: batchedUs },
      duel: {
        ring: us(rollback.duel.ring),
        sparse: us(rollback.duel.sparse),
        sparseBatched: us(rollback.duel.sparseBatched),
      },
      details: { kitchen: rollback.kitchen, duel: rollback.duel },
    },
    sessionUsPerTick: session,
    cheaperSaveStrategy: sparseWins ? 'sparse' : 'ring',
    cheaperByFactor: factor,
    rollbackUnder2Ms: best < 2000,
    verdict,
  };
}

/** The kitchen's discrete action `a` (0 noop .. 5 interact) as the input that maps to it. */
function press(a: number): Input {
  return { buttons: a === 0 ? 0 : 1 << (a - 1), x: 0, y: 0 };
}

/** One decimal, or two below 1 (duel's figures are fractions of a µs). */
function fixed(x: number): string {
  return x < 1 ? x.toFixed(2) : x.toFixed(1);
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Imports the adapter's loader and loads Pyodide in a new Node process; returns its ms. */
async function pyodideLoadInFreshProcess(): Promise<number> {
  const script =
    'const t = performance.now();' +
    `const { loadConcordPyodide } = await import(${JSON.stringify(PYODIDE_MODULE)});` +
    'await loadConcordPyodide();' +
    'console.log(JSON.stringify({ ms: performance.now() - t }));';
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', '--input-type=module', '-e', script],
    { timeout: 120_000 },
  );
  const ms = (JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as { ms?: unknown }).ms;
  if (typeof ms !== 'number') throw new Error(`Pyodide load child printed ${stdout}`);
  return ms;
}

interface PerFrame {
  readonly stateBytes: number;
  /** Sims with `stepMany` only: the same 8 frames as 8 calls and as one. */
  readonly stepsSeparately: Measured | null;
  readonly stepsBatched: Measured | null;
  readonly step: Measured;
  readonly save: Measured;
  readonly load: Measured;
  readonly encode: Measured;
  readonly hash: Measured;
  readonly measured: Record<string, Measured>;
}

/** Per-frame costs of `sim` after 300 frames of play, each operation measured on its own. */
async function perFrameCosts<Snap>(sim: Sim<Snap>, next: () => Input[]): Promise<PerFrame> {
  for (let f = 0; f < 300; f++) sim.step(next());
  const inputs = Array.from({ length: 1024 }, next);
  let i = 0;
  const snap = sim.save();
  const bytes = sim.encode(snap);
  let sink: unknown;
  const stepper = sim as Partial<BatchStepper>;
  const eight = Array.from({ length: WINDOW }, (_, k) => inputs[k]);
  const batch: Record<string, () => void> = stepper.stepMany
    ? {
        // The same 8 frames from the same state, once as 8 calls and once as one.
        [`load + ${WINDOW} × step`]: () => {
          sim.load(snap);
          for (const x of eight) sim.step(x);
        },
        [`load + stepMany(${WINDOW})`]: () => {
          sim.load(snap);
          stepper.stepMany?.(eight);
        },
      }
    : {};
  const m = await measure({
    ...batch,
    step: () => sim.step(inputs[i++ & 1023]),
    save: () => {
      sink = sim.save();
    },
    load: () => sim.load(snap),
    encode: () => {
      sink = sim.encode(snap);
    },
    hash: () => {
      sink = stateHash(bytes);
    },
  });
  void sink;
  return {
    stateBytes: bytes.length,
    stepsSeparately: m[`load + ${WINDOW} × step`] ?? null,
    stepsBatched: m[`load + stepMany(${WINDOW})`] ?? null,
    step: m.step,
    save: m.save,
    load: m.load,
    encode: m.encode,
    hash: m.hash,
    measured: m,
  };
}

/** Slot 0's ticks up to a rollback of exactly {@link WINDOW} frames, and that rollback. */
interface RollbackScenario {
  readonly strategy: SaveStrategy;
  /** Every tick's requests before the rollback tick. */
  readonly before: readonly SessionRequest[][];
  /** The rollback: load, advances and saves, as the session asked for them. */
  readonly rollback: readonly SessionRequest[];
  readonly loadFrame: Frame;
}

/**
 * Drives a 2-player session with the kitchen scene's settings until one tick rolls back exactly
 * {@link WINDOW} frames, and cuts that rollback's requests out of the tick (load through the last
 * re-simulated frame's save; the tick's own new frame, hashes and frees left out so that the
 * slice can run again and again).
 * @throws Error when the session does not roll back as planned or asks for other requests than
 * the strategy's (ring: load + 8 × (advance, save); sparse: load + 8 × advance + save)
 */
function rollbackScenario(strategy: SaveStrategy): RollbackScenario {
  const s = new SyncSession({ players: PLAYERS, localSlot: 0, saveStrategy: strategy, ...SCENE });
  const events: SessionEvent[] = [];
  s.on((e) => events.push(e));
  const remote = (f: Frame) => press(1 + (Math.floor(f / 5) % 5));
  const send = (f: Frame, input: Input) =>
    s.receive(1, { kind: 'input', frame: f, input, currentFrame: f }, 0);
  const before: SessionRequest[][] = [];
  // Every remote input up to frame 41 is known from the start, so frame 41 gets confirmed; 41 is
  // chosen so that no hash-check frame (a multiple of 10) falls inside the window that follows.
  const settled = 41;
  for (let f = SCENE.inputDelay; f <= settled; f++) send(f, remote(f));
  while (s.frame < settled + 1) before.push(s.advanceFrame(press(0), 0).requests);
  // Withhold the remote inputs while this peer predicts ahead: the ring rolls back to the first
  // mispredicted frame, sparse saving to its confirmed save.
  const target = strategy === 'ring' ? settled + 1 + WINDOW : settled + WINDOW;
  while (s.frame < target) before.push(s.advanceFrame(press(0), 0).requests);
  const predicted = remote(settled);
  for (let f = settled + 1; f <= target; f++) send(f, press(predicted.buttons === 1 ? 2 : 1));
  const tick = s.advanceFrame(press(0), 0).requests;
  const rb = events.find((e) => e.type === 'rollback');
  if (rb?.type !== 'rollback' || rb.depth !== WINDOW || rb.toFrame !== target) {
    throw new Error(
      `${strategy} scenario did not roll back ${WINDOW} frames: ${JSON.stringify(rb)}`,
    );
  }
  const end = tick.findIndex((r) => r.kind === 'advance' && r.frame === target);
  const rollback = tick.slice(0, end).filter((r) => r.kind !== 'free' && r.kind !== 'hash');
  const shape = rollback.map((r) => r.kind).join(',');
  const expected =
    strategy === 'ring'
      ? ['load', ...Array(WINDOW).fill('advance,save')].join(',')
      : ['load', ...Array(WINDOW).fill('advance'), 'save'].join(',');
  if (shape !== expected) throw new Error(`${strategy} rollback requests are ${shape}`);
  return { strategy, before, rollback, loadFrame: rb.fromFrame };
}

/** A runner that has carried out the scenario's ticks before the rollback on a fresh sim. */
function runnerAt<Snap>(sim: Sim<Snap>, sc: RollbackScenario, batchSteps: boolean) {
  const runner = new SimRunner(sim, { batchSteps });
  for (const requests of sc.before) runner.run(requests);
  return runner;
}

/** The rollback requests of each strategy carried out by a peer's runner, repeatedly. */
async function rollbackCosts<Snap>(
  make: () => Sim<Snap>,
  ring: RollbackScenario,
  sparse: RollbackScenario,
): Promise<{ ring: Measured; sparse: Measured; sparseBatched: Measured; batches: number }> {
  const r = runnerAt(make(), ring, true);
  const sp = runnerAt(make(), sparse, false);
  const sb = runnerAt(make(), sparse, true);
  const m = await measure({
    ring: () => r.run(ring.rollback),
    sparse: () => sp.run(sparse.rollback),
    sparseBatched: () => sb.run(sparse.rollback),
  });
  // Each runner re-simulated to the same frame from the same state: their results must agree.
  const hashOf = (x: SimRunner<Snap>) => stateHash(x.sim.encode(x.sim.save()));
  const target = sparse.loadFrame + WINDOW;
  if (sp.sim.frame !== target || sb.sim.frame !== target || hashOf(sp) !== hashOf(sb)) {
    throw new Error('sparse rollback batched and frame by frame ended in different states');
  }
  return { ring: m.ring, sparse: m.sparse, sparseBatched: m.sparseBatched, batches: sb.batches };
}

/**
 * `--quiet-wait=S` (or `CONCORD_BENCH_QUIET_WAIT_SECONDS`): before each group of measurements,
 * wait up to S seconds (default 30) for a second in which the machine's other processes used
 * less than {@link QUIET_CPU_PCT} % of a core. 0 measures at once.
 */
function quietWaitSeconds(): number {
  const flag = process.argv.find((a) => a.startsWith('--quiet-wait='));
  const text = flag
    ? flag.slice('--quiet-wait='.length)
    : process.env.CONCORD_BENCH_QUIET_WAIT_SECONDS;
  if (text === undefined || text === '') return 30;
  const v = Number(text);
  if (!Number.isFinite(v) || v < 0)
    throw new Error(`quiet-wait: expected seconds >= 0, got "${text}"`);
  return v;
}

/**
 * The request lists of {@link SESSION_TICKS} ticks of slot 0 in a 2-player session with the
 * kitchen scene's settings, whose remote inputs change every 3 frames and arrive 1-7 ticks
 * late: about one rollback every 4 ticks, 5-8 frames deep.
 */
function laggedSessionTicks(strategy: SaveStrategy): SessionRequest[][] {
  const s = new SyncSession({ players: PLAYERS, localSlot: 0, saveStrategy: strategy, ...SCENE });
  const remote = (f: Frame) => press(1 + (Math.floor(f / 3) % 5));
  const lagOf = (f: Frame) => 1 + ((f * 5 + (f >> 3)) % 7);
  const out: SessionRequest[][] = [];
  let sent = 0;
  for (let t = 0; t < SESSION_TICKS; t++) {
    while (sent + lagOf(sent) <= t && sent <= s.frame + 1) {
      s.receive(1, { kind: 'input', frame: sent, input: remote(sent), currentFrame: sent }, t);
      sent++;
    }
    out.push(s.advanceFrame(press(1 + (Math.floor(t / 4) % 5)), t).requests);
  }
  return out;
}

/**
 * A whole session's sim time per tick, µs: a fresh sim and runner carry out every tick of
 * {@link laggedSessionTicks} (steps, saves, loads, hashes), median of {@link SESSION_RUNS}
 * runs per strategy after one warm-up run, the strategies interleaved.
 */
function sessionCosts<Snap>(make: () => Sim<Snap>): { ring: number; sparse: number } {
  const ticks = { ring: laggedSessionTicks('ring'), sparse: laggedSessionTicks('sparse') };
  const runs: { ring: number[]; sparse: number[] } = { ring: [], sparse: [] };
  const hashes: { ring: string[]; sparse: string[] } = { ring: [], sparse: [] };
  // Run 0 warms up (JIT, allocations) and is not counted.
  for (let r = 0; r <= SESSION_RUNS; r++) {
    for (const strategy of ['ring', 'sparse'] as const) {
      const sim = make();
      const runner = new SimRunner(sim);
      const reports = [];
      const t = performance.now(); // clock-ok: a benchmark
      for (const requests of ticks[strategy]) reports.push(...runner.run(requests));
      if (r > 0) runs[strategy].push(((performance.now() - t) * 1000) / SESSION_TICKS); // clock-ok
      hashes[strategy] = reports.map((x) => `${x.frame}:${x.hash}`);
      (sim as { dispose?: () => void }).dispose?.();
    }
  }
  // Both strategies confirm the same frames with the same inputs: their hashes must agree.
  if (hashes.ring.length < 10 || hashes.ring.join() !== hashes.sparse.join()) {
    throw new Error('the ring and sparse sessions reported different confirmed hashes');
  }
  return { ring: median(runs.ring), sparse: median(runs.sparse) };
}
