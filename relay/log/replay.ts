import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type ActionMap,
  actionMapFromRecord,
  decodeInput,
  episodicFactory,
  type Frame,
  getSimFactory,
  type Input,
  initStateHash,
  lagCompensationFrames,
  NEUTRAL_INPUT,
  type PlayerSlot,
  type Sim,
  type SimFactory,
  SnapshotHistory,
  simBundleHash,
  stateHash,
} from '../../sim/index.ts';
import {
  type PythonSim,
  type PythonStepResult,
  parsePythonSimSpec,
  pythonSimFactory,
  pythonSourceHash,
  sharedPyodide,
} from '../../sim/python/index.ts';
import { importSimBundle } from '../sim-bundle.ts';
import { type LogDamage, type MatchLog, readMatchLog, recordLine } from './reader.ts';
import type { ArbitrationMethod, HeaderRecord } from './records.ts';
import { simCodeHash } from './sim-code.ts';

/** What {@link ReplayOptions.onFrame} sees of one frame. */
export interface ReplayFrame {
  /** The frame f; `sim` holds S(f). */
  readonly frame: Frame;
  /**
   * The sim at S(f). Read it, do not step or load it, and do not keep it: a Python sim is
   * disposed when the replay returns.
   */
  readonly sim: Sim;
  /** Every slot's input for frame f (what takes S(f) to S(f+1)); null at the final frame. */
  readonly inputs: readonly Input[] | null;
  /**
   * The state hash of S(f) (16 lowercase hex digits) when the replay computed it: at every frame
   * a hash, done, verdict or referee record names, and at the final frame; else null.
   */
  readonly hash: string | null;
  /**
   * The recorded hashes of frame f that differ from `hash` and that no repaired desync explains
   * (the entries of {@link ReplayResult.mismatches} of this frame); empty when all match. An
   * export stops here: the replay does not reproduce the match from this frame on.
   */
  readonly mismatches: readonly ReplayMismatch[];
}

/** What {@link ReplayOptions.onStep} sees of one step, S(f) to S(f+1). */
export interface ReplayStep {
  /** The frame f stepped from; the sim now holds S(f+1). */
  readonly frame: Frame;
  /** Every slot's input for frame f. */
  readonly inputs: readonly Input[];
  /**
   * For a Python environment, what its `step` returned on this step (observations, rewards,
   * terminateds, truncateds, infos, as JSON, dicts keyed by agent id), read before an episode
   * reset; null for other sims.
   */
  readonly result: PythonStepResult | null;
  /** For a Python environment, the agent id of each slot (keys of `result`'s dicts); else null. */
  readonly agentIds: readonly (string | number)[] | null;
}

/** Settings of {@link replayMatchLog}. */
export interface ReplayOptions {
  /** Called for every frame from 0 to the final frame, in order (for exports). */
  readonly onFrame?: (frame: ReplayFrame) => void;
  /**
   * Called after every step, in order, once the sim holds S(f+1) (after the `onFrame` of f and
   * before that of f+1). With it, a Python environment's step result is read on every step (one
   * more JSON round trip into Python per frame; without it, none).
   */
  readonly onStep?: (step: ReplayStep) => void;
}

/** Where a recorded hash came from (`referee`: the relay's re-simulated S(f) of a dispute). */
export type CheckSource = 'hash' | 'done' | 'verdict' | 'referee' | 'host';

/** A recorded hash that differs from the replayed state's hash. */
export interface ReplayMismatch {
  readonly frame: Frame;
  /** The slot that reported it (for a verdict, the slot of that entry; -1 for the referee). */
  readonly slot: PlayerSlot;
  readonly recorded: string;
  readonly computed: string;
  readonly source: CheckSource;
  /** The log line of the record. */
  readonly line: number;
}

/** A desync the relay found in the match. */
export interface ReplayDesync {
  readonly frame: Frame;
  readonly host: PlayerSlot;
  readonly differing: readonly PlayerSlot[];
  /** True when the host's state was sent to the differing slots. */
  repaired: boolean;
  /** Frames from the desync to the next check on which every peer agreed, when logged. */
  framesToConverge: number | null;
}

/** How the relay decided a disputed check (a `referee` record, log format 6 on). */
export interface ReplayArbitration {
  readonly frame: Frame;
  readonly method: ArbitrationMethod;
  /** The checkpoint the referee re-simulated from, or null when it did not. */
  readonly from: Frame | null;
  /** The referee's hash of S(frame), or null; the replay checks it like a reported hash. */
  readonly referee: string | null;
  /** Why the host rule decided, or null. */
  readonly reason: string | null;
  readonly right: readonly PlayerSlot[];
  readonly differing: readonly PlayerSlot[];
  readonly source: PlayerSlot | 'referee' | null;
}

/** A slot that left the match. */
export interface ReplayLeft {
  readonly slot: PlayerSlot;
  /** Its last input frame; from the next frame on it used the sim's default input. */
  readonly lastFrame: Frame;
}

/**
 * How the Python file a log's sim id names compares with the source the log carries (the replay
 * always runs the log's source).
 */
export interface PythonSourceFile {
  /** The file looked at: FILE of the sim id against the cwd, else against the package root. */
  readonly path: string;
  /** `same`: its text hashes to the log's codeHash; `changed`: it differs; `missing`: unreadable. */
  readonly state: 'same' | 'changed' | 'missing';
}

/** What a replay found. */
export interface ReplayResult {
  readonly path: string | null;
  readonly matchId: string;
  /**
   * The scene's keys and actions when the header records them (format 5 on), for turning the
   * replayed inputs into action names (`actionOf`); null otherwise.
   */
  readonly actions: ActionMap | null;
  /** The episodes of the match when the header records them, else null (one episode). */
  readonly episodes: { readonly episodes: number; readonly framesPerEpisode: number } | null;
  /** The sim as the header records it (without a Python source text). */
  readonly sim: { readonly id: string; readonly codeHash: string };
  /** For a Python sim: the file its id names, as it is now; null for other sims. */
  readonly sourceFile: PythonSourceFile | null;
  readonly players: number;
  readonly seed: number;
  /**
   * The code hash of the source replayed: the sim's source in this checkout, or for a Python sim
   * the source the log carries (then always equal to the recorded one).
   */
  readonly codeHash: string;
  /** False when the sim's source differs from the one that played the match. */
  readonly codeHashMatches: boolean;
  /** Frames re-simulated (S(0) to S(finalFrame)). */
  readonly frames: number;
  /**
   * The last frame replayed: the match's end frame (the frame of its done records, where every
   * player finished) when the log has done records, else the scene's frame limit; lower when the
   * log does not hold every slot's input for every frame below it (then the highest such frame).
   */
  readonly finalFrame: Frame;
  /** State hash of S(finalFrame). */
  readonly finalHash: string;
  /** Recorded hashes compared (each hash record, done record and non-null verdict entry). */
  readonly checks: number;
  readonly passed: number;
  /** Recorded hashes of frames beyond finalFrame, which could not be compared. */
  readonly unchecked: number;
  /** Every failed comparison not explained by a repaired desync, by frame, then by line. */
  readonly mismatches: readonly ReplayMismatch[];
  /** Comparisons that failed on a slot a desync record names, at or before that desync. */
  readonly repaired: readonly ReplayMismatch[];
  /** The desyncs the relay found, and whether each was repaired (a resync record follows). */
  readonly desyncs: readonly ReplayDesync[];
  /** How each disputed check was decided (empty for logs before format 6). */
  readonly arbitrations: readonly ReplayArbitration[];
  /** Input records replayed. */
  readonly inputs: number;
  readonly left: readonly ReplayLeft[];
  /** Peers whose sim threw and who gave up (fault records), in log order. */
  readonly faults: readonly {
    readonly slot: PlayerSlot;
    readonly frame: Frame;
    readonly reason: string;
  }[];
  /** Whole records replayed after the header (everything before the damage, if any). */
  readonly records: number;
  /** True when the log has its end record (it was closed properly). */
  readonly ended: boolean;
  /** The reason of the end record, or null when the log has none. */
  readonly endReason: string | null;
  /** True when the log's last line was cut (a crash); the replay stops before it. */
  readonly truncated: boolean;
  /** The first bad line; the replay covers only the records before it. */
  readonly damaged: LogDamage | null;
  /** True when nothing mismatched and the log is not damaged (a truncated log can be ok). */
  readonly ok: boolean;
}

interface Check {
  readonly slot: PlayerSlot;
  readonly hash: string;
  readonly source: CheckSource;
  readonly line: number;
}

/**
 * Reads a match log and re-simulates the match from its header and inputs alone, comparing
 * the state hash at every frame a hash, done or verdict record names with the recorded ones.
 * A damaged log is replayed up to its damage, which the result reports; it does not throw.
 *
 * Input of slot s at frame f: the sim's default (`defaultInput(s)`, else neutral) when f is
 * below the scene's inputDelay or above the slot's left record's `lastFrame`, else its input record.
 *
 * A Python sim (id `python:FILE[:CLASS]`) runs from the source in the header, in the process's
 * shared Pyodide (loaded on first use, 2–3 s), whether or not FILE still exists or still holds
 * that source; `sourceFile` says how FILE compares. A sim module (id `./FILE.ts`, format 5 on)
 * runs from the bundle in the header, imported into this process, whatever the source folder
 * holds now. A header with `episodes` replays the sim reset at every episode start
 * (sim/episodes.ts); one with `actions` plays a departed slot's `defaultAction`.
 *
 * @throws LogError when the log cannot be read or has no valid header (see `readMatchLog`);
 *   ConcordError `UNKNOWN_SIM` for a sim this checkout does not have; `BAD_CONFIG` when a Python
 *   environment cannot load; `ENV_ERROR` when it raises.
 */
export async function replayMatchLog(
  path: string,
  options: ReplayOptions = {},
): Promise<ReplayResult> {
  return replayLog(await readMatchLog(path), options);
}

/** {@link replayMatchLog} for a log already read. */
export async function replayLog(log: MatchLog, options: ReplayOptions = {}): Promise<ReplayResult> {
  await initStateHash();
  const { header } = log;
  const prepared = await prepareSim(header);
  const recorder =
    options.onStep && header.sim.source !== undefined ? new StepRecorder(prepared.factory) : null;
  const inner = recorder ?? prepared.factory;
  const factory = header.episodes ? episodicFactory(inner, header.episodes) : inner;
  const sim = factory.create({ players: header.scene.players, seed: header.seed });
  try {
    return replayWith(log, sim, prepared.codeHash, prepared.sourceFile, options, recorder);
  } finally {
    (sim as Sim & { dispose?: () => void }).dispose?.();
  }
}

/** The package root, for a Python file that the built-in scenes resolve against it. */
const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));

interface PreparedSim {
  readonly factory: SimFactory;
  readonly codeHash: string;
  readonly sourceFile: PythonSourceFile | null;
}

/**
 * The factory of the header's sim: a built-in one, the bundle of a sim module or the Python
 * source the header carries.
 */
async function prepareSim(header: HeaderRecord): Promise<PreparedSim> {
  const { id, source, className, packages, bundle } = header.sim;
  if (bundle !== undefined) {
    const module = await importSimBundle(bundle, `the sim module ${id} in log ${header.matchId}`);
    return { factory: module.sim, codeHash: simBundleHash(bundle), sourceFile: null };
  }
  if (source === undefined) {
    return { factory: getSimFactory(id), codeHash: simCodeHash(id), sourceFile: null };
  }
  const pyodide = await sharedPyodide();
  if (packages && packages.length > 0) await pyodide.loadPackage([...packages]);
  const factory = await pythonSimFactory({
    id,
    source,
    className: className ?? undefined,
    pyodide,
  });
  return {
    factory,
    codeHash: pythonSourceHash(source),
    sourceFile: await compareSourceFile(id, header.sim.codeHash),
  };
}

async function compareSourceFile(simId: string, codeHash: string): Promise<PythonSourceFile> {
  const { file } = parsePythonSimSpec(simId);
  const candidates = path.isAbsolute(file)
    ? [file]
    : [path.resolve(file), path.resolve(PACKAGE_ROOT, file)];
  for (const p of candidates) {
    let text: string;
    try {
      text = await readFile(p, 'utf8');
    } catch {
      continue;
    }
    return { path: p, state: pythonSourceHash(text) === codeHash ? 'same' : 'changed' };
  }
  return { path: candidates[0], state: 'missing' };
}

/**
 * A Python sim factory whose sims keep what the environment's `step` returned on their last
 * step, read right after it: the episodic wrapper resets the environment inside the step that
 * ends an episode, which clears Python's own copy of the episode's last result.
 */
class StepRecorder implements SimFactory {
  readonly id: string;
  readonly minPlayers: number;
  readonly maxPlayers: number;
  /** The last step's result, or null before the first step. */
  last: PythonStepResult | null = null;
  /** The agent ids of the sim made last. */
  agentIds: readonly (string | number)[] | null = null;

  constructor(private readonly factory: SimFactory) {
    this.id = factory.id;
    this.minPlayers = factory.minPlayers;
    this.maxPlayers = factory.maxPlayers;
  }

  create(config: Parameters<SimFactory['create']>[0]): Sim {
    const sim = this.factory.create(config) as PythonSim;
    this.agentIds = sim.agentIds;
    const step = sim.step.bind(sim);
    // An own property over the prototype's step: the sim is this replay's alone.
    sim.step = (inputs) => {
      step(inputs);
      this.last = sim.lastStep();
    };
    return sim;
  }
}

function replayWith(
  log: MatchLog,
  sim: Sim,
  codeHash: string,
  sourceFile: PythonSourceFile | null,
  options: ReplayOptions,
  recorder: StepRecorder | null,
): ReplayResult {
  const { header, records } = log;
  const players = header.scene.players;
  const inputDelay = header.scene.inputDelay;
  const actions = header.actions ? actionMapFromRecord(header.actions) : null;
  // The relay plays a departed or away slot's defaultAction when the scene names one.
  const defaults = Array.from({ length: players }, (_, s) =>
    actions && actions.defaultAction !== null
      ? actions.defaultInput
      : (sim.defaultInput?.(s) ?? NEUTRAL_INPUT),
  );

  // The reader guarantees inputs contiguous from inputDelay, so slot s's input for frame f is
  // inputs[s][f - inputDelay].
  const inputs: Input[][] = Array.from({ length: players }, () => []);
  const lastFrame: (Frame | null)[] = new Array(players).fill(null);
  const left: ReplayLeft[] = [];
  const checks = new Map<Frame, Check[]>();
  const desyncs: ReplayDesync[] = [];
  const arbitrations: ReplayArbitration[] = [];
  let inputCount = 0;
  let maxInputFrame = -1;
  let maxCheckFrame = -1;
  let doneFrame = -1;
  let endReason: string | null = null;
  const faults: { slot: PlayerSlot; frame: Frame; reason: string }[] = [];
  // Lag compensation (authoritative matches of TypeScript sims): the host's snapshot history and
  // the view delays it logged, set at the frames it set them.
  const rewindCap = lagCompensationFrames(header.scene);
  const rewind = rewindCap > 0 ? new SnapshotHistory<unknown>(rewindCap, players) : null;
  const viewDelays = new Map<Frame, { slot: PlayerSlot; frames: number }[]>();
  const addCheck = (frame: Frame, check: Check): void => {
    const list = checks.get(frame);
    if (list) list.push(check);
    else checks.set(frame, [check]);
    maxCheckFrame = Math.max(maxCheckFrame, frame);
  };
  records.forEach((r, i) => {
    const line = recordLine(i);
    switch (r.type) {
      case 'input':
        inputs[r.s].push(decodeInput(hexBytes(r.in)));
        inputCount++;
        maxInputFrame = Math.max(maxInputFrame, r.f);
        break;
      case 'left':
        lastFrame[r.s] = r.lastFrame;
        left.push({ slot: r.s, lastFrame: r.lastFrame });
        break;
      case 'hash':
      case 'done':
        addCheck(r.f, { slot: r.s, hash: r.h, source: r.type, line });
        if (r.type === 'done') doneFrame = Math.max(doneFrame, r.f);
        break;
      case 'verdict':
        r.hashes.forEach((h, slot) => {
          if (h !== null) addCheck(r.f, { slot, hash: h, source: 'verdict', line });
        });
        break;
      case 'referee':
        arbitrations.push({
          frame: r.f,
          method: r.method,
          from: r.from,
          referee: r.referee,
          reason: r.reason,
          right: [...r.right],
          differing: [...r.differing],
          source: r.source,
        });
        if (r.referee !== null)
          addCheck(r.f, { slot: -1, hash: r.referee, source: 'referee', line });
        break;
      case 'desync':
        desyncs.push({
          frame: r.f,
          host: r.host,
          differing: [...r.differing],
          repaired: false,
          framesToConverge: null,
        });
        break;
      case 'resync': {
        const d = [...desyncs].reverse().find((x) => x.frame === r.f);
        if (d) d.repaired = true;
        break;
      }
      case 'converged': {
        const d = [...desyncs].reverse().find((x) => x.frame === r.f);
        if (d) d.framesToConverge = r.frames;
        break;
      }
      case 'host':
        addCheck(r.f, { slot: -1, hash: r.h, source: 'host', line });
        break;
      case 'viewDelay': {
        const list = viewDelays.get(r.f) ?? [];
        list.push({ slot: r.s, frames: r.frames });
        viewDelays.set(r.f, list);
        break;
      }
      case 'fault':
        faults.push({ slot: r.s, frame: r.f, reason: r.reason });
        break;
      case 'end':
        endReason = r.reason;
        break;
    }
  });

  // Frames below `known` have every input; a departed slot's are known for ever after.
  let known = Number.POSITIVE_INFINITY;
  for (let s = 0; s < players; s++) {
    if (lastFrame[s] === null) known = Math.min(known, inputDelay + inputs[s].length);
  }
  // Every slot left: nothing happened after the last thing the log names.
  if (known === Number.POSITIVE_INFINITY) known = Math.max(maxInputFrame + 1, maxCheckFrame, 0);
  // Peers send inputs a few frames past the end (their input delay ahead), and the relay logs
  // them: the match still ended where the players finished, the frame whose hash they reported.
  const endFrame =
    doneFrame >= 0 ? doneFrame : header.scene.frames > 0 ? header.scene.frames : null;
  const finalFrame = endFrame === null ? known : Math.min(known, endFrame);

  const inputsAt = (f: Frame): Input[] =>
    defaults.map((d, s) => {
      const last = lastFrame[s];
      return f < inputDelay || (last !== null && f > last) ? d : inputs[s][f - inputDelay];
    });

  const mismatches: ReplayMismatch[] = [];
  const repaired: ReplayMismatch[] = [];
  // A hash that a desync record names as differing from the host's, at or before that desync,
  // is the damage the relay found and repaired, not a failure of the replay: the replay follows
  // the host's line of play, and every later hash of that slot must match it again.
  const explained = (slot: PlayerSlot, frame: Frame): boolean =>
    desyncs.some((d) => d.repaired && d.differing.includes(slot) && frame <= d.frame);
  let compared = 0;
  let snapshot: unknown;
  let finalHash = '';
  /** The last frame replayed: the final frame, or the frame where the sim threw (a fault). */
  let replayedTo = finalFrame;
  const none: readonly ReplayMismatch[] = [];
  for (let f = 0; f <= finalFrame; f++) {
    const due = checks.get(f);
    let hash: string | null = null;
    let frameMismatches = none;
    if (due || f === finalFrame) {
      snapshot = sim.save(snapshot);
      const computed = stateHash(sim.encode(snapshot));
      hash = computed;
      for (const c of due ?? []) {
        compared++;
        if (c.hash !== computed) {
          const m = {
            frame: f,
            slot: c.slot,
            recorded: c.hash,
            computed,
            source: c.source,
            line: c.line,
          };
          if (explained(c.slot, f)) repaired.push(m);
          else {
            mismatches.push(m);
            frameMismatches = frameMismatches === none ? [m] : [...frameMismatches, m];
          }
        }
      }
      if (f === finalFrame) finalHash = computed;
    }
    const stepInputs = f < finalFrame ? inputsAt(f) : null;
    options.onFrame?.({ frame: f, sim, inputs: stepInputs, hash, mismatches: frameMismatches });
    if (!stepInputs) continue;
    try {
      if (rewind === null) sim.step(stepInputs);
      else {
        for (const d of viewDelays.get(f) ?? []) rewind.setViewDelay(d.slot, d.frames);
        rewind.record(f, sim.save(rewind.reusable(f)));
        sim.step(stepInputs, rewind.viewAt(f));
      }
    } catch (err) {
      // A log with fault records ends where a peer's sim threw: the replay's sim throws there too
      // (the same code on the same inputs), and the match is replayed up to that frame.
      if (faults.length === 0) throw err;
      replayedTo = f;
      finalHash = stateHash(sim.encode(sim.save()));
      break;
    }
    options.onStep?.({
      frame: f,
      inputs: stepInputs,
      result: recorder?.last ?? null,
      agentIds: recorder?.agentIds ?? null,
    });
  }
  let unchecked = 0;
  for (const [f, list] of checks) if (f > replayedTo) unchecked += list.length;

  return {
    path: log.path,
    matchId: header.matchId,
    actions,
    episodes: header.episodes ?? null,
    sim: { id: header.sim.id, codeHash: header.sim.codeHash },
    sourceFile,
    players,
    seed: header.seed,
    codeHash,
    codeHashMatches: codeHash === header.sim.codeHash,
    frames: replayedTo,
    finalFrame: replayedTo,
    finalHash,
    checks: compared,
    passed: compared - mismatches.length - repaired.length,
    repaired,
    desyncs,
    arbitrations,
    unchecked,
    mismatches,
    inputs: inputCount,
    left,
    faults,
    records: records.length,
    ended: endReason !== null,
    endReason,
    truncated: log.truncated,
    damaged: log.damaged,
    ok: mismatches.length === 0 && log.damaged === null,
  };
}

function hexBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Most mismatches {@link formatReplay} lists one by one. */
const LISTED_MISMATCHES = 10;

/** The human-readable report of a replay, as `concord replay` prints it (lines, no final '\n'). */
export function formatReplay(r: ReplayResult): string {
  const out: string[] = [];
  out.push(
    `match ${r.matchId}: ${r.sim.id}, ${r.players} players, seed ${r.seed}` +
      (r.path ? ` (${r.path})` : ''),
  );
  out.push(
    `replayed ${r.frames} frames from ${r.records} records (${plural(r.inputs, 'input')}, ` +
      `${r.left.length} left); final hash ${r.finalHash} at frame ${r.finalFrame}`,
  );
  out.push(
    `checks: ${r.passed} of ${r.checks} recorded hashes match` +
      (r.unchecked > 0 ? `; ${r.unchecked} beyond frame ${r.finalFrame} not checked` : ''),
  );
  for (const d of r.desyncs) {
    const a = r.arbitrations.find((x) => x.frame === d.frame);
    const from =
      a === undefined || a.source === null
        ? "the host's state"
        : a.source === 'referee'
          ? "the referee's state"
          : `slot ${a.source}'s state`;
    const how =
      a === undefined
        ? `differed from host slot ${d.host}`
        : a.method === 'referee'
          ? `differed from the referee's re-simulation from frame ${a.from}`
          : `differed from host slot ${d.host} (host rule: ${a.reason})`;
    out.push(
      `desync at frame ${d.frame}: slot(s) ${d.differing.join(', ')} ${how}; ` +
        (d.repaired
          ? `repaired from ${from}${d.framesToConverge !== null ? `, agreed again ${d.framesToConverge} frames later` : ''}`
          : 'NOT repaired'),
    );
  }
  if (r.repaired.length > 0) {
    out.push(
      `${r.repaired.length} recorded hashes belong to repaired desyncs (the damaged peers' line of play)`,
    );
  }
  if (r.sourceFile && r.sourceFile.state !== 'same') {
    out.push(
      `note: replayed the Python source carried by the log; the file ${r.sourceFile.path} ` +
        (r.sourceFile.state === 'missing' ? 'is gone' : 'now holds a different source'),
    );
  }
  if (!r.codeHashMatches) {
    out.push(
      `warning: the sim's source differs from the one that played the match ` +
        `(recorded ${r.sim.codeHash}, now ${r.codeHash}); mismatches may come from that change`,
    );
  }
  if (r.mismatches.length > 0) {
    const first = r.mismatches[0];
    out.push(
      `MISMATCH: ${r.mismatches.length} recorded hashes differ, first at frame ${first.frame}`,
    );
    for (const m of r.mismatches.slice(0, LISTED_MISMATCHES)) {
      out.push(
        `  frame ${m.frame} slot ${m.slot} (${m.source}, line ${m.line}): ` +
          `recorded ${m.recorded}, replayed ${m.computed}`,
      );
    }
    if (r.mismatches.length > LISTED_MISMATCHES) {
      out.push(`  … and ${r.mismatches.length - LISTED_MISMATCHES} more`);
    }
  }
  if (r.truncated) {
    out.push(
      'note: the last line of the log is cut off (the relay stopped mid-write); ' +
        'replayed up to the last whole record',
    );
  }
  if (r.damaged) {
    out.push(
      `DAMAGED: ${r.damaged.message}; replayed only the ${r.records} records before line ${r.damaged.line}`,
    );
  }
  for (const f of r.faults)
    out.push(`fault: slot ${f.slot}'s sim threw at frame ${f.frame} and it left: ${f.reason}`);
  if (r.endReason === null && !r.damaged) out.push('note: the log has no end record');
  out.push(r.ok ? 'ok' : 'FAILED');
  return out.join('\n');
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
