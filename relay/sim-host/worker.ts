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
import { frameDueAtMs, framesDue, type InterestBroadcaster } from '../../sim/sync/index.ts';
import { type HostState, InputAuthority, StateHistory, stateMessages } from './authority.ts';
import { HostGuards } from './host-guards.ts';
import { interestBroadcasterFor, interestMessages } from './interest-messages.ts';
import type {
  AuthBroadcastEvent,
  AuthoritativeSettings,
  AuthStartRequest,
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
  /** Set while the match runs as an authoritative match. */
  auth?: AuthoritativeRun;
}

/** An authoritative match's loop (see {@link startAuthoritative}). */
interface AuthoritativeRun {
  readonly id: number;
  readonly settings: AuthoritativeSettings;
  readonly authority: InputAuthority;
  readonly history: StateHistory;
  /** By slot, the frame of the last state the client acknowledged (-1: none). */
  readonly acked: number[];
  /** `performance.now()` at frame 0. */
  readonly t0: number;
  /** Inputs applied since the last report, one `players × 4` row per frame. */
  applied: Uint8Array[];
  fromFrame: number;
  lastApplied: Uint8Array;
  stepUs: number;
  busyUs: number;
  framesSinceReport: number;
  overruns: number;
  maxBehindFrames: number;
  stopped: boolean;
  /** Input validation and lag compensation. */
  readonly guards: HostGuards;
  /** Each client's interest updates, for a sim with entity interest; else null. */
  readonly interest: InterestBroadcaster<unknown> | null;
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
  // Inputs and acknowledgements are not answered: they arrive at the tick rate.
  if (
    req.call === 0 &&
    (req.op === 'authInput' || req.op === 'authAck' || req.op === 'authLeave')
  ) {
    try {
      await run(req);
    } catch {
      // Nothing to answer; a wrong slot or frame cannot reach here (the room checked them).
    }
    return;
  }
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
    case 'authStart': {
      const m = matches.get(req.match);
      if (!m) throw new ConcordError('BAD_CONFIG', `match ${req.match} is not open on this worker`);
      startAuthoritative(req.match, m, req);
      return null;
    }
    case 'authInput': {
      const run = matches.get(req.match)?.auth;
      if (!run || run.stopped) return null;
      const clockFrame = framesDue(performance.now() - run.t0, run.settings.tickRate); // clock-ok
      const input = run.guards.input(
        req.slot,
        req.frame,
        req.input,
        run.authority.frame,
        clockFrame,
      );
      // A player removed for its violations leaves at once: its default input from the next frame.
      if (run.guards.isRemovedAt(req.slot, run.authority.frame)) run.authority.leave(req.slot);
      else if (input !== null) run.authority.receive(req.slot, req.frame, input);
      return null;
    }
    case 'authLeave': {
      matches.get(req.match)?.auth?.authority.leave(req.slot);
      return null;
    }
    case 'authAck': {
      const run = matches.get(req.match)?.auth;
      if (run) {
        run.acked[req.slot] = req.frame;
        run.guards.ack(req.slot, req.frame, run.authority.frame);
        if (req.frame < 0) run.interest?.reset(req.slot);
        else run.interest?.ack(req.slot, req.frame);
      }
      return null;
    }
    case 'close': {
      const m = matches.get(req.match);
      matches.delete(req.match);
      stopAuthoritative(m);
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

/**
 * Runs match `id` as an authoritative match: a loop on a drift-free fixed timestep (the frames due
 * are computed from the loop's start, `framesDue`) that confirms every slot's input for each
 * frame due (confirm or replace), steps the sim, and every `broadcastDivisor` frames encodes the
 * state, keeps it in the history and reports each client's message to the main thread.
 */
function startAuthoritative(id: number, m: HostedMatch, req: AuthStartRequest): void {
  const s = req.settings;
  const players = m.spec.players;
  const defaults = Array.from({ length: players }, (_, slot) =>
    s.defaultInputs.slice(slot * INPUT_BYTES, (slot + 1) * INPUT_BYTES),
  );
  m.sim.load(m.initial);
  const guards = new HostGuards(m.spec.sim, players, s.checks ?? null, s.rewind ?? null);
  const run: AuthoritativeRun = {
    id,
    settings: s,
    authority: new InputAuthority(players, s.inputDelay, defaults),
    history: new StateHistory(s.historyStates),
    acked: new Array(players).fill(-1),
    t0: performance.now(), // clock-ok: the host's fixed timestep runs on the worker's clock
    applied: [],
    fromFrame: 0,
    lastApplied: s.defaultInputs.slice(),
    stepUs: 0,
    busyUs: 0,
    framesSinceReport: 0,
    overruns: 0,
    maxBehindFrames: 0,
    stopped: false,
    guards,
    interest: interestBroadcasterFor(m.spec.sim, players),
  };
  m.auth = run;
  running.set(run, m);
  // S(0) goes out at once, so that every client starts from the host's state.
  broadcast(m, run, false);
  scheduleLoops();
}

function stopAuthoritative(m: HostedMatch | undefined): void {
  const run = m?.auth;
  if (!run) return;
  run.stopped = true;
  running.delete(run);
}

/** The authoritative matches this worker runs; one timer wakes them all (see scheduleLoops). */
const running = new Map<AuthoritativeRun, HostedMatch>();
let loopTimer: ReturnType<typeof setTimeout> | null = null;
let loopAt = Number.POSITIVE_INFINITY;

/**
 * Sets the worker's one timer for the earliest frame due among its matches: a worker holding
 * many matches wakes once per tick for all, not once per match.
 */
function scheduleLoops(): void {
  let at = Number.POSITIVE_INFINITY;
  for (const run of running.keys()) {
    at = Math.min(at, run.t0 + frameDueAtMs(run.authority.frame + 1, run.settings.tickRate));
  }
  if (at === loopAt && loopTimer !== null) return;
  if (loopTimer !== null) clearTimeout(loopTimer);
  loopTimer = null;
  loopAt = at;
  if (at === Number.POSITIVE_INFINITY) return;
  const wait = Math.max(0, at - performance.now()); // clock-ok
  loopTimer = setTimeout(() => {
    loopTimer = null;
    loopAt = Number.POSITIVE_INFINITY;
    for (const [run, m] of [...running]) loop(m, run);
    scheduleLoops();
  }, wait);
}

function loop(m: HostedMatch, run: AuthoritativeRun): void {
  if (run.stopped) return;
  const s = run.settings;
  const a = run.authority;
  const woke = performance.now(); // clock-ok: the loop's busy time
  let due = framesDue(woke - run.t0, s.tickRate);
  if (s.frames > 0) due = Math.min(due, s.frames);
  const behind = due - a.frame;
  if (behind <= 0) return;
  if (behind >= 2) run.overruns++;
  run.maxBehindFrames = Math.max(run.maxBehindFrames, behind);
  try {
    while (a.frame < due) {
      const applied = a.confirm();
      const row: Input[] = new Array(m.spec.players);
      for (let slot = 0; slot < row.length; slot++) {
        row[slot] = decodeInput(applied.subarray(slot * INPUT_BYTES, (slot + 1) * INPUT_BYTES));
      }
      const t0 = performance.now(); // clock-ok: the sim's cost per frame
      const rewind = run.guards.beforeStep(m.sim);
      m.sim.step(row, rewind);
      run.stepUs += (performance.now() - t0) * 1000; // clock-ok
      run.framesSinceReport++;
      run.applied.push(applied);
      run.lastApplied = applied;
      const last = s.frames > 0 && a.frame >= s.frames;
      if (a.frame % s.broadcastDivisor === 0 || last) broadcast(m, run, last);
      if (last) {
        stopAuthoritative(m);
        return;
      }
    }
  } catch (err) {
    stopAuthoritative(m);
    port!.postMessage({ event: 'authFailed', match: run.id, error: errorData(err) });
    return;
  }
  // Reported with the next state (a wake-up that sent one counts in the report after it).
  run.busyUs += (performance.now() - woke) * 1000; // clock-ok
}

function broadcast(m: HostedMatch, run: AuthoritativeRun, last: boolean): void {
  const players = m.spec.players;
  m.scratch = m.sim.save(m.scratch);
  // A copy: the encoding may share memory with the sim.
  const bytes = m.sim.encode(m.scratch).slice();
  const state: HostState = { frame: m.sim.frame, hash: stateHash(bytes), bytes };
  run.history.push(state);
  const a = run.authority;
  const { messages, bytes: counts } = run.interest
    ? interestMessages(run.interest, m.scratch, state, a.lastInputFrames, run.lastApplied)
    : stateMessages(state, run.history, run.acked, a.lastInputFrames, run.lastApplied);
  const applied = new Uint8Array(run.applied.length * players * INPUT_BYTES);
  run.applied.forEach((row, i) => {
    applied.set(row, i * players * INPUT_BYTES);
  });
  const event: AuthBroadcastEvent = {
    event: 'authBroadcast',
    match: run.id,
    frame: state.frame,
    hash: state.hash,
    fromFrame: run.fromFrame,
    applied,
    messages: messages as Uint8Array[],
    leftAt: [...a.leftAt],
    late: [...a.late],
    replaced: [...a.replaced],
    deltaBytes: counts.deltaBytes,
    fullBytes: counts.fullBytes,
    allFullBytes: counts.allFullBytes,
    stepUs: run.stepUs,
    busyUs: run.busyUs,
    frames: run.framesSinceReport,
    overruns: run.overruns,
    maxBehindFrames: run.maxBehindFrames,
    last,
    ...run.guards.drain(),
  };
  run.applied = [];
  run.fromFrame = state.frame;
  run.stepUs = 0;
  run.busyUs = 0;
  run.framesSinceReport = 0;
  port!.postMessage(event);
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
