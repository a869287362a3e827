import type { PyodideInterface } from 'pyodide';
import type { PyCallable, PyProxy } from 'pyodide/ffi';
import { type CanonicalValue, canonicalDecode, canonicalEncode } from '../canonical.ts';
import { ConcordError } from '../errors.ts';
import { type Input, NEUTRAL_INPUT } from '../input.ts';
import type { Frame, PlayerSlot, Sim, SimConfig, SimFactory } from '../sim.ts';
import { type ActionMapping, discreteActionMapping, type JsonValue } from './actions.ts';
import { DRIVER_SOURCE } from './driver.ts';
import { sharedPyodide } from './pyodide.ts';
import { checkDrawPrimitives, type DrawPrimitive } from './render.ts';

/**
 * A snapshot of a Python sim: plain JSON data, so that it can be kept in a ring, encoded,
 * sent and loaded into another interpreter.
 */
export interface PythonSnap {
  /** The frame of the state; counted on the TypeScript side. */
  readonly frame: Frame;
  /** What the environment's `get_state()` returned, as JSON. */
  readonly env: JsonValue;
  /**
   * The state of Python's global `random` module (`random.getstate()` as
   * `[version, [625 ints], gauss_next]`), for environments that call it directly.
   */
  readonly random: JsonValue;
}

/** What the environment's last `step` returned, as JSON (dicts keyed by agent id). */
export interface PythonStepResult {
  readonly observations: JsonValue;
  readonly rewards: JsonValue;
  readonly terminateds: JsonValue;
  readonly truncateds: JsonValue;
  readonly infos: JsonValue;
}

/** Where the environment comes from and how to run it; shared by the sim and its factory. */
export interface PythonEnvOptions {
  /** Python source text that defines the environment class (standard library only). */
  readonly source: string;
  /**
   * The class to instantiate. When omitted, the source must define exactly one class with a
   * `step` attribute.
   */
  readonly className?: string;
  /** Keyword arguments for the class's constructor (default none). */
  readonly kwargs?: { readonly [name: string]: JsonValue };
  /** The scene's mapping from a player's input to its agent's action (default {@link discreteActionMapping}). */
  readonly actionMapping?: ActionMapping;
  /**
   * Check every `get_state()` result strictly (string keys, finite floats, integers within
   * 2^53, JSON types only) and name the path of the first offence. Costs time per frame; meant
   * for tests and development. The initial state is always checked at load.
   */
  readonly strictStates?: boolean;
  /** The sim id for scenes and logs (default `python:<ClassName>`). */
  readonly id?: string;
  /** The interpreter to run in (default the process's shared one, see `sharedPyodide`). */
  readonly pyodide?: PyodideInterface;
}

/** Options of {@link loadPythonSim}. */
export interface PythonSimOptions extends PythonEnvOptions {
  /** Number of players; must equal the environment's agent count when it lists its agents. */
  readonly players: number;
  /** The match seed, a 32-bit unsigned integer. */
  readonly seed: number;
}

/**
 * A Python environment run as a Concord sim, with what bots, views and exports need. When the
 * environment's own code raises in `step`, `get_state`, `set_state` or `render`, the calls throw
 * ConcordError `ENV_ERROR` with the Python traceback; a state or step result that JSON cannot
 * carry unchanged throws `BAD_STATE`.
 */
export interface PythonSim extends Sim<PythonSnap> {
  /** The environment's class name. */
  readonly className: string;
  /** The agent id of each player slot (`possible_agents`, `agents`, or the slots 0..N-1). */
  readonly agentIds: readonly (string | number)[];
  /**
   * Per player slot, the number of discrete actions of its agent (`action_space(agent).n`, as
   * PettingZoo spells it, or Gymnasium's attribute `action_space.n`; actions are 0..n-1), or null
   * when the environment has no action space or not a discrete one. Bots draw from it.
   */
  readonly actionCounts: readonly (number | null)[];
  /** Whether the environment has a `render()` method. */
  readonly hasRender: boolean;
  /**
   * Advances one frame per entry of `inputs` in a single call into Python (for re-simulation).
   * Equivalent to calling {@link Sim.step} for each entry.
   */
  stepMany(inputs: readonly (readonly Input[])[]): void;
  /**
   * Frame 0 of a match seeded `seed`: seeds Python's global `random` as at load and calls the
   * environment's `reset(seed=seed)`, in the same interpreter (no reload of the source), so the
   * state equals that of a sim created with this seed. What an episode start calls.
   * @throws ConcordError `BAD_CONFIG` for a seed out of range; `ENV_ERROR` when `reset` raises.
   */
  reset(seed: number): void;
  /** What the last step returned, or null before the first step and after a load. */
  lastStep(): PythonStepResult | null;
  /** The environment's draw primitives for the current state, or null without `render()`. */
  render(): DrawPrimitive[] | null;
  /** Releases the Python objects. The sim cannot be used afterwards. */
  dispose(): void;
}

interface DriverCalls {
  step: PyCallable;
  run_steps: PyCallable;
  save_env: PyCallable;
  save_random: PyCallable;
  load: PyCallable;
  reset: PyCallable;
  render: PyCallable;
  last_step: PyCallable;
  dispose: PyCallable;
}
const DRIVER_CALLS: readonly (keyof DriverCalls)[] = [
  'step',
  'run_steps',
  'save_env',
  'save_random',
  'load',
  'reset',
  'render',
  'last_step',
  'dispose',
];

// The Driver class of each interpreter, created once (no source text runs per frame).
const driverClasses = new WeakMap<PyodideInterface, PyCallable>();

function driverClass(pyodide: PyodideInterface): PyCallable {
  let cls = driverClasses.get(pyodide);
  if (!cls) {
    const namespace = pyodide.globals.get('dict')() as PyProxy;
    try {
      pyodide.runPython(DRIVER_SOURCE, { globals: namespace });
      cls = (namespace as unknown as { get(name: string): PyCallable }).get('Driver');
    } finally {
      namespace.destroy();
    }
    driverClasses.set(pyodide, cls);
  }
  return cls;
}

/**
 * Python's exception as a ConcordError: the driver's own kinds by their message (a config
 * problem is `BAD_CONFIG`, a state without a canonical encoding `BAD_STATE`, or `BAD_CONFIG`
 * while loading), anything the environment's own code raised with its traceback, as `code`:
 * `BAD_CONFIG` while loading, `ENV_ERROR` afterwards.
 */
function fromPython(err: unknown, code: 'BAD_CONFIG' | 'ENV_ERROR', what: string, frame?: number) {
  if (err instanceof ConcordError) return err;
  const e = err as { type?: unknown; message?: unknown };
  const text = typeof e?.message === 'string' ? e.message.trimEnd() : String(err);
  if (e?.type === 'ConcordConfigError' || e?.type === 'ConcordStateError') {
    const last = text.slice(text.lastIndexOf('\n') + 1);
    const message = last.slice(last.indexOf(': ') + 2);
    // A state problem found while loading is a configuration problem of the environment.
    const kind =
      e.type === 'ConcordConfigError' || code === 'BAD_CONFIG' ? 'BAD_CONFIG' : 'BAD_STATE';
    return new ConcordError(kind, message, frame);
  }
  return new ConcordError(code, `${what} raised:\n${text}`, frame);
}

function checkConfig(players: number, seed: number): void {
  if (!Number.isInteger(players) || players < 1) {
    throw new ConcordError('BAD_CONFIG', `players must be a positive integer, got ${players}`);
  }
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw new ConcordError('BAD_CONFIG', `seed must be a 32-bit unsigned integer, got ${seed}`);
  }
}

class PythonSimImpl implements PythonSim {
  readonly id: string;
  readonly players: number;
  readonly className: string;
  readonly agentIds: readonly (string | number)[];
  readonly actionCounts: readonly (number | null)[];
  readonly hasRender: boolean;
  frame: Frame = 0;
  private readonly driver: PyProxy;
  private readonly py: DriverCalls;
  private readonly mapping: ActionMapping;
  private readonly strict: boolean;
  /** The JSON of the global random state as Python last reported it (unchanged ones are reused). */
  private lastRandom: JsonValue = null;

  constructor(pyodide: PyodideInterface, options: PythonSimOptions) {
    checkConfig(options.players, options.seed);
    const Driver = driverClass(pyodide);
    try {
      this.driver = Driver(
        options.source,
        options.className ?? undefined,
        options.players,
        options.seed,
        JSON.stringify(options.kwargs ?? {}),
      ) as PyProxy;
    } catch (err) {
      throw fromPython(err, 'BAD_CONFIG', 'loading the Python environment');
    }
    const driver = this.driver as unknown as Record<string, PyCallable>;
    const infoCall = driver.info as unknown as PyCallable;
    const info = JSON.parse(infoCall() as string) as {
      className: string;
      agentIds: (string | number)[];
      actionCounts: (number | null)[];
      hasRender: boolean;
    };
    (infoCall as unknown as PyProxy).destroy();
    this.py = Object.fromEntries(
      DRIVER_CALLS.map((name) => [name, driver[name]]),
    ) as unknown as DriverCalls;
    this.className = info.className;
    this.agentIds = Object.freeze(info.agentIds);
    this.actionCounts = Object.freeze(info.actionCounts);
    this.hasRender = info.hasRender;
    this.id = options.id ?? `python:${info.className}`;
    this.players = options.players;
    this.mapping = options.actionMapping ?? discreteActionMapping;
    this.strict = options.strictStates ?? false;
  }

  private actions(inputs: readonly Input[]): JsonValue[] {
    if (inputs.length !== this.players) {
      throw new ConcordError(
        'BAD_INPUT',
        `${this.id} step needs ${this.players} inputs, got ${inputs.length}`,
        this.frame,
      );
    }
    return inputs.map((input, slot) => this.mapping(input, slot));
  }

  step(inputs: readonly Input[]): void {
    const text = JSON.stringify(this.actions(inputs));
    try {
      this.py.step(text);
    } catch (err) {
      throw fromPython(err, 'ENV_ERROR', `${this.className}.step`, this.frame);
    }
    this.frame++;
  }

  stepMany(inputs: readonly (readonly Input[])[]): void {
    const text = JSON.stringify(inputs.map((frameInputs) => this.actions(frameInputs)));
    try {
      this.py.run_steps(text);
    } catch (err) {
      throw fromPython(err, 'ENV_ERROR', `${this.className}.step`, this.frame);
    }
    this.frame += inputs.length;
  }

  save(): PythonSnap {
    let envText: string;
    let randomText: string | undefined;
    try {
      envText = this.py.save_env(this.strict) as string;
      randomText = this.py.save_random() as string | undefined;
    } catch (err) {
      throw fromPython(err, 'ENV_ERROR', `${this.className}.get_state`, this.frame);
    }
    if (randomText !== undefined) this.lastRandom = JSON.parse(randomText) as JsonValue;
    return { frame: this.frame, env: JSON.parse(envText) as JsonValue, random: this.lastRandom };
  }

  load(snapshot: PythonSnap): void {
    try {
      // The random state rarely changes (most environments keep their own generator): when the
      // snapshot holds the very one Python reported last, Python restores it from its own copy.
      const randomText =
        snapshot.random === this.lastRandom && this.lastRandom !== null
          ? undefined // arrives as None (null would arrive as JsNull)
          : JSON.stringify(snapshot.random);
      this.py.load(JSON.stringify(snapshot.env), randomText);
    } catch (err) {
      throw fromPython(err, 'ENV_ERROR', `${this.className}.set_state`, snapshot.frame);
    }
    this.lastRandom = snapshot.random;
    this.frame = snapshot.frame;
  }

  encode(snapshot: PythonSnap): Uint8Array {
    return canonicalEncode({
      frame: snapshot.frame,
      env: snapshot.env,
      random: snapshot.random,
    } as CanonicalValue);
  }

  decode(bytes: Uint8Array): PythonSnap {
    const v = canonicalDecode(bytes) as Record<string, CanonicalValue> | null;
    if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Uint8Array) {
      throw new ConcordError('BAD_STATE', `not a ${this.id} state`);
    }
    const keys = Object.keys(v).sort().join(',');
    if (keys !== 'env,frame,random') {
      throw new ConcordError('BAD_STATE', `not a ${this.id} state (fields ${keys})`);
    }
    const { frame, env, random } = v;
    if (!Number.isInteger(frame) || (frame as number) < 0) {
      throw new ConcordError('BAD_STATE', `${this.id} state: bad frame ${String(frame)}`);
    }
    if (!isRandomState(random)) {
      throw new ConcordError('BAD_STATE', `${this.id} state: random is not a random.getstate()`);
    }
    const bytesAt = findBytes(env, '$');
    if (bytesAt) {
      throw new ConcordError('BAD_STATE', `${this.id} state: binary data at env ${bytesAt}`);
    }
    return { frame: frame as number, env: env as JsonValue, random };
  }

  defaultInput(_slot: PlayerSlot): Input {
    return NEUTRAL_INPUT;
  }

  reset(seed: number): void {
    checkConfig(this.players, seed);
    try {
      this.py.reset(seed);
    } catch (err) {
      throw fromPython(err, 'ENV_ERROR', `${this.className}.reset`, this.frame);
    }
    this.lastRandom = null;
    this.frame = 0;
  }

  lastStep(): PythonStepResult | null {
    let text: string | undefined;
    try {
      text = this.py.last_step() as string | undefined;
    } catch (err) {
      throw fromPython(err, 'ENV_ERROR', `${this.className}.step result`, this.frame);
    }
    return text === undefined ? null : (JSON.parse(text) as PythonStepResult);
  }

  render(): DrawPrimitive[] | null {
    let text: string | undefined;
    try {
      text = this.py.render() as string | undefined;
    } catch (err) {
      throw fromPython(err, 'ENV_ERROR', `${this.className}.render`, this.frame);
    }
    if (text === undefined) return null;
    return checkDrawPrimitives(JSON.parse(text), `${this.className}.render()`);
  }

  dispose(): void {
    this.py.dispose();
    for (const name of DRIVER_CALLS) (this.py[name] as unknown as PyProxy).destroy();
    this.driver.destroy();
  }
}

/** `[version, [ints], gauss_next]`, the JSON form of `random.getstate()`. */
function isRandomState(v: CanonicalValue | undefined): v is JsonValue {
  if (!Array.isArray(v) || v.length !== 3) return false;
  const [version, internal, gauss] = v as CanonicalValue[];
  return (
    Number.isInteger(version) &&
    Array.isArray(internal) &&
    internal.every((w) => Number.isInteger(w)) &&
    (gauss === null || typeof gauss === 'number')
  );
}

function findBytes(v: CanonicalValue | undefined, path: string): string | null {
  if (v instanceof Uint8Array) return path;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const found = findBytes(v[i], `${path}[${i}]`);
      if (found) return found;
    }
  } else if (typeof v === 'object' && v !== null) {
    for (const [k, x] of Object.entries(v)) {
      const found = findBytes(x as CanonicalValue, `${path}.${k}`);
      if (found) return found;
    }
  }
  return null;
}

/**
 * Runs a Python environment class as a Concord sim in an already loaded interpreter
 * (synchronous: the interpreter does the slow part once).
 *
 * At load it runs the source in a module of its own, instantiates the class, checks that
 * `reset`, `step`, `get_state` and `set_state` exist, seeds Python's global `random` and calls
 * `reset(seed=seed)`, takes the agent ids, and checks that `set_state(get_state())` restores
 * what `get_state()` returns.
 * @throws ConcordError `BAD_CONFIG` naming what is missing or wrong (e.g. "Python environment
 * Kitchen has no set_state method"), or when the interpreter's string hashing is not fixed.
 */
export function createPythonSim(pyodide: PyodideInterface, options: PythonSimOptions): PythonSim {
  return new PythonSimImpl(pyodide, options);
}

/**
 * {@link createPythonSim} in `options.pyodide`, or in the process's shared interpreter (loaded
 * on first use, about 2–3 s in Node).
 */
export async function loadPythonSim(options: PythonSimOptions): Promise<PythonSim> {
  const pyodide = options.pyodide ?? (await sharedPyodide());
  return createPythonSim(pyodide, options);
}

/** Options of {@link pythonSimFactory}. */
export interface PythonSimFactoryOptions extends PythonEnvOptions {
  /** The sim id (required: scenes and logs look the factory up by it). */
  readonly id: string;
  /** The smallest and largest player count (default 1..8; the agent count must also match). */
  readonly minPlayers?: number;
  readonly maxPlayers?: number;
}

/** A {@link SimFactory} whose sims are {@link PythonSim}s. */
export interface PythonSimFactory extends SimFactory<PythonSnap> {
  /**
   * Creates a sim at frame 0 in the factory's interpreter.
   * @throws ConcordError `BAD_CONFIG` when the player count is out of range or the environment
   * cannot load (see {@link createPythonSim}).
   */
  create(config: SimConfig): PythonSim;
}

/**
 * A {@link SimFactory} for one Python environment, with the interpreter loaded up front so that
 * `create` is synchronous like every other factory's.
 */
export async function pythonSimFactory(
  options: PythonSimFactoryOptions,
): Promise<PythonSimFactory> {
  const pyodide = options.pyodide ?? (await sharedPyodide());
  const minPlayers = options.minPlayers ?? 1;
  const maxPlayers = options.maxPlayers ?? 8;
  return {
    id: options.id,
    minPlayers,
    maxPlayers,
    create(config: SimConfig): PythonSim {
      if (config.players < minPlayers || config.players > maxPlayers) {
        throw new ConcordError(
          'BAD_CONFIG',
          `${options.id} takes ${minPlayers}..${maxPlayers} players, got ${config.players}`,
        );
      }
      return createPythonSim(pyodide, { ...options, ...config });
    },
  };
}
