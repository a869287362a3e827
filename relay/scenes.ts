import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type SceneSettings, validateSceneSettings } from '../protocol/index.ts';
import { ConcordError } from '../sim/index.ts';
import { isPythonSimSpec, parsePythonSimSpec, pythonSourceHash } from '../sim/python/index.ts';

/** The root of the installed Concord package (where `examples/` is), found from this module. */
export const PACKAGE_ROOT = fileURLToPath(new URL('..', import.meta.url));

const duelBase = {
  sim: 'duel',
  tickRate: 60,
  mode: 'rollback',
  inputDelay: 2,
  maxPredictionWindow: 8,
  saveStrategy: 'ring',
  hashInterval: 30,
  hashIntervalMax: 240,
  frames: 0,
  rejoinGraceMs: 10_000,
  onPlayerLost: 'continue',
  transport: 'auto',
} as const;

/**
 * The scenes a relay serves when no experiment file names others: duel for 2, 3 and 4 players
 * (`duel`, `duel-3`, `duel-4`) and a lockstep variant (`duel-lockstep`). Sixty frames per second,
 * input delay 2 frames, prediction window 8 frames, state-hash checks every 30 to 240 frames
 * (0.5 to 4 s), 10 s to rejoin, no frame limit.
 *
 * And `kitchen`, the cooperative two-chef Python example (`python:examples/kitchen.py`, resolved
 * against the package root, see {@link BUILTIN_PYTHON_SCENES}): 10 frames per second, input
 * delay 1 frame, prediction window 8 frames, sparse saving (Python snapshots are expensive),
 * hash checks every 10 to 80 frames (1 to 8 s).
 */
export const BUILTIN_SCENES: Readonly<Record<string, SceneSettings>> = Object.freeze({
  duel: { ...duelBase, name: 'duel', players: 2 },
  'duel-3': { ...duelBase, name: 'duel-3', players: 3 },
  'duel-4': { ...duelBase, name: 'duel-4', players: 4 },
  'duel-lockstep': {
    ...duelBase,
    name: 'duel-lockstep',
    players: 2,
    mode: 'lockstep',
    maxPredictionWindow: 0,
    inputDelay: 3,
  },
  kitchen: {
    name: 'kitchen',
    sim: 'python:examples/kitchen.py',
    players: 2,
    tickRate: 10,
    mode: 'rollback',
    inputDelay: 1,
    maxPredictionWindow: 8,
    saveStrategy: 'sparse',
    hashInterval: 10,
    hashIntervalMax: 80,
    frames: 0,
    rejoinGraceMs: 10_000,
    onPlayerLost: 'continue',
    transport: 'auto',
  },
});

/** Relay-side settings of a Python scene, beside its {@link SceneSettings} (not on the wire). */
export interface PythonSceneOptions {
  /** Directory a relative FILE of the sim spec is resolved against (default: the cwd). */
  readonly baseDir?: string;
  /**
   * Extra Pyodide packages (names from Pyodide's lock file, e.g. `"numpy"`) that peers load
   * with `pyodide.loadPackage` before the environment. Default none. Loading them needs a
   * Pyodide distribution that has them (a full one, or network access to the CDN's).
   */
  readonly packages?: readonly string[];
}

/** The Python options of the built-in scenes: `kitchen`'s file lives in the package. */
export const BUILTIN_PYTHON_SCENES: Readonly<Record<string, PythonSceneOptions>> = Object.freeze({
  kitchen: { baseDir: PACKAGE_ROOT },
});

/** A Python scene's environment as the relay read it at startup and serves at `/sims/<scene>`. */
export interface PythonSceneSource {
  /** The scene's sim spec, `python:FILE[:CLASS]`. */
  readonly sim: string;
  /** CLASS of the spec, or null. */
  readonly className: string | null;
  /** The file's text. */
  readonly source: string;
  /** `pythonSourceHash(source)`. */
  readonly codeHash: string;
  readonly packages: readonly string[];
  /** The absolute path read. */
  readonly path: string;
}

const PACKAGE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

/**
 * Reads the file of every Python scene (sim `python:FILE[:CLASS]`) once. FILE is resolved
 * against the scene's `baseDir` in `python` (default the cwd).
 * @param scenes the relay's scenes by name
 * @param python relay-side options of Python scenes, by scene name
 * @returns the sources by scene name (only Python scenes)
 * @throws ConcordError `BAD_CONFIG` naming the scene and the file when a spec is malformed, the
 *   file cannot be read or is not UTF-8, or a package name is not one; `HASH_NOT_READY` before
 *   `initStateHash()`.
 */
export function loadPythonScenes(
  scenes: Readonly<Record<string, SceneSettings>>,
  python: Readonly<Record<string, PythonSceneOptions>> = {},
): Map<string, PythonSceneSource> {
  const out = new Map<string, PythonSceneSource>();
  for (const [name, settings] of Object.entries(scenes)) {
    if (!isPythonSimSpec(settings.sim)) continue;
    const options = Object.hasOwn(python, name) ? python[name] : {};
    let spec: ReturnType<typeof parsePythonSimSpec>;
    try {
      spec = parsePythonSimSpec(settings.sim);
    } catch (err) {
      throw new ConcordError('BAD_CONFIG', `scene "${name}": ${(err as Error).message}`);
    }
    const file = path.resolve(options.baseDir ?? process.cwd(), spec.file);
    let source: string;
    try {
      source = new TextDecoder('utf-8', { fatal: true }).decode(readFileSync(file));
    } catch (err) {
      throw new ConcordError(
        'BAD_CONFIG',
        `scene "${name}": cannot read the Python file ${file} (${settings.sim}): ${(err as Error).message}`,
      );
    }
    const packages = [...(options.packages ?? [])];
    for (const p of packages) {
      if (!PACKAGE_NAME.test(p)) {
        throw new ConcordError(
          'BAD_CONFIG',
          `scene "${name}": bad Pyodide package name ${JSON.stringify(p)}`,
        );
      }
    }
    out.set(name, {
      sim: settings.sim,
      className: spec.className,
      source,
      codeHash: pythonSourceHash(source),
      packages,
      path: file,
    });
  }
  return out;
}

/** Settings of {@link pythonSceneSettings}. */
export interface PythonSceneDefaults {
  /** Scene name (default: derived from the file's name, see {@link pythonSceneName}). */
  readonly name?: string;
  /** Players per match (default 2). */
  readonly players?: number;
  /** Frames per second (default 30). */
  readonly tickRate?: number;
}

/**
 * The scene name derived from a Python sim spec: the file's base name without `.py`, lower
 * case, with every character outside `a-z 0-9 _ -` replaced by `-` (`python:envs/GridWorld.py`
 * → `gridworld`).
 * @throws ConcordError `BAD_CONFIG` for a malformed spec or a name that comes out empty.
 */
export function pythonSceneName(sim: string): string {
  const { file } = parsePythonSimSpec(sim);
  const name = path
    .basename(file, '.py')
    .toLowerCase()
    .replace(/[^a-z0-9_-]/g, '-')
    .slice(0, 64);
  if (!/^[a-z0-9]/.test(name)) {
    throw new ConcordError('BAD_CONFIG', `cannot derive a scene name from ${sim}; give one`);
  }
  return name;
}

/**
 * A scene for a Python environment with the defaults for Python sims: 30 frames per second
 * (unless `tickRate`), rollback with input delay 2 and prediction window 8, sparse saving,
 * hash checks every 30 to 240 frames, 10 s to rejoin, no frame limit.
 * @throws ConcordError `BAD_CONFIG` for a malformed spec or settings out of range.
 */
export function pythonSceneSettings(sim: string, o: PythonSceneDefaults = {}): SceneSettings {
  parsePythonSimSpec(sim);
  try {
    return validateSceneSettings({
      name: o.name ?? pythonSceneName(sim),
      sim,
      players: o.players ?? 2,
      tickRate: o.tickRate ?? 30,
      mode: 'rollback',
      inputDelay: 2,
      maxPredictionWindow: 8,
      saveStrategy: 'sparse',
      hashInterval: 30,
      hashIntervalMax: 240,
      frames: 0,
      rejoinGraceMs: 10_000,
      onPlayerLost: 'continue',
      transport: 'auto',
    });
  } catch (err) {
    throw new ConcordError('BAD_CONFIG', `Python scene for ${sim}: ${(err as Error).message}`);
  }
}
