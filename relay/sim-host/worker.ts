/**
 * The sim host worker's entry: holds the sims of several matches and answers the pool's
 * requests (see `messages.ts`) one at a time, in order. A sim's own error is caught and sent
 * back as data; nothing a sim throws ends the worker. Python sims run in this thread's own
 * Pyodide, loaded on the first Python match (about 3 s).
 *
 * Started by the pool through a bootstrap that registers tsx first (see `pool.ts`).
 */
import { parentPort } from 'node:worker_threads';
import {
  ConcordError,
  decodeInput,
  episodicFactory,
  getSimFactory,
  INPUT_BYTES,
  type Input,
  initStateHash,
  type Sim,
  type SimFactory,
  stateHash,
} from '../../sim/index.ts';
import type {
  MatchSpec,
  RefereeReply,
  RefereeRequest,
  WorkerErrorData,
  WorkerReply,
  WorkerRequest,
} from './messages.ts';

interface HostedMatch {
  readonly spec: MatchSpec;
  readonly sim: Sim;
  /** S(0), for a referee call from the start of the match. */
  readonly initial: unknown;
  /** A snapshot the sim may overwrite (duel reuses its arrays). */
  scratch: unknown;
  /** One call into the sim for many frames, where the sim has it (Python sims). */
  readonly stepMany?: (inputs: readonly (readonly Input[])[]) => void;
}

const port = parentPort;
if (!port) throw new Error('relay/sim-host/worker.ts runs only as a worker thread');

const matches = new Map<number, HostedMatch>();
// The requests run one after another: an open may wait for Pyodide, and the calls after it wait.
let queue: Promise<void> = initStateHash();

port.on('message', (req: WorkerRequest) => {
  queue = queue.then(() => answer(req));
});

async function answer(req: WorkerRequest): Promise<void> {
  let reply: WorkerReply;
  try {
    reply = { call: req.call, ok: true, value: await run(req) };
  } catch (err) {
    reply = { call: req.call, ok: false, error: errorData(err) };
  }
  if (reply.ok && reply.value) port!.postMessage(reply, [reply.value.state.buffer as ArrayBuffer]);
  else port!.postMessage(reply);
}

async function run(req: WorkerRequest): Promise<RefereeReply | null> {
  switch (req.op) {
    case 'open':
      matches.set(req.match, await open(req.spec));
      return null;
    case 'close': {
      const m = matches.get(req.match);
      matches.delete(req.match);
      (m?.sim as { dispose?: () => void } | undefined)?.dispose?.();
      return null;
    }
    case 'referee': {
      const m = matches.get(req.match);
      if (!m) throw new ConcordError('BAD_CONFIG', `match ${req.match} is not open on this worker`);
      return referee(m, req);
    }
  }
}

/** `factory` in the episode wrapper when the match has more than one episode, as the peers run it. */
function episodic(factory: SimFactory, spec: MatchSpec): SimFactory {
  const ep = spec.episodes;
  return ep && ep.episodes > 1 ? (episodicFactory(factory, ep) as SimFactory) : factory;
}

async function open(spec: MatchSpec): Promise<HostedMatch> {
  let sim: Sim;
  if (spec.sim.startsWith('python:')) {
    if (!spec.python) {
      throw new ConcordError('BAD_CONFIG', `sim "${spec.sim}" needs its Python source`);
    }
    // Loaded here, not at the top: a worker that never runs Python never loads Pyodide.
    const py = await import('../../sim/python/index.ts');
    const pyodide = await py.sharedPyodide();
    const packages = spec.python.packages ?? [];
    if (packages.length > 0) await pyodide.loadPackage([...packages]);
    const factory = await py.pythonSimFactory({
      id: spec.sim,
      source: spec.python.source,
      className: spec.python.className ?? undefined,
      pyodide,
    });
    sim = episodic(factory, spec).create({ players: spec.players, seed: spec.seed });
  } else {
    if (spec.python) {
      throw new ConcordError(
        'BAD_CONFIG',
        `sim "${spec.sim}" is built in: it takes no Python source`,
      );
    }
    sim = episodic(getSimFactory(spec.sim), spec).create({
      players: spec.players,
      seed: spec.seed,
    });
  }
  const many = (sim as { stepMany?: HostedMatch['stepMany'] }).stepMany;
  return {
    spec,
    sim,
    initial: sim.save(),
    scratch: undefined,
    stepMany: many?.bind(sim),
  };
}

function referee(m: HostedMatch, req: RefereeRequest): RefereeReply {
  const t0 = performance.now(); // clock-ok: the host measures the sim's cost
  const { sim } = m;
  const players = m.spec.players;
  const frames = req.toFrame - req.fromFrame;
  if (req.inputs.length !== frames * players * INPUT_BYTES) {
    throw new ConcordError(
      'BAD_INPUT',
      `${frames} frames of ${players} players need ${frames * players * INPUT_BYTES} input bytes, got ${req.inputs.length}`,
    );
  }
  if (req.fromState === null) {
    if (req.fromFrame !== 0) {
      throw new ConcordError('BAD_STATE', `no state given for frame ${req.fromFrame}`);
    }
    sim.load(m.initial);
  } else {
    sim.load(sim.decode(req.fromState));
  }
  if (sim.frame !== req.fromFrame) {
    throw new ConcordError(
      'BAD_STATE',
      `the state given is of frame ${sim.frame}, not of fromFrame ${req.fromFrame}`,
      sim.frame,
    );
  }
  const perFrame: Input[][] = new Array(frames);
  for (let f = 0; f < frames; f++) {
    const row: Input[] = new Array(players);
    for (let s = 0; s < players; s++) {
      const at = (f * players + s) * INPUT_BYTES;
      row[s] = decodeInput(req.inputs.subarray(at, at + INPUT_BYTES));
    }
    perFrame[f] = row;
  }
  const t1 = performance.now(); // clock-ok
  if (m.stepMany && frames > 0) m.stepMany(perFrame);
  else for (const row of perFrame) sim.step(row);
  const t2 = performance.now(); // clock-ok
  m.scratch = sim.save(m.scratch);
  // A copy: the encoding may share memory with the sim, and the reply transfers its buffer.
  const state = sim.encode(m.scratch).slice();
  const hash = stateHash(state);
  const t3 = performance.now(); // clock-ok
  return {
    hash,
    state,
    cost: { frames, stepUs: (t2 - t1) * 1000, callUs: (t3 - t0) * 1000 },
  };
}

function errorData(err: unknown): WorkerErrorData {
  if (err instanceof Error) {
    const e = err as Error & { code?: unknown; frame?: unknown };
    return {
      name: err.name,
      message: err.message,
      code: typeof e.code === 'string' ? e.code : undefined,
      frame: typeof e.frame === 'number' ? e.frame : undefined,
      stack: err.stack,
    };
  }
  return { name: 'Error', message: String(err) };
}
