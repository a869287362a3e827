/**
 * Sim modules: a researcher's own TypeScript sim, named in a game scene as `sim: ./games/pong.ts`.
 *
 * At relay start each module is bundled with esbuild into one self-contained ESM file (the
 * module, the parts of Concord's `sim/` it imports, and any browser-safe package it uses), whose
 * xxhash64 is the sim's code hash. Everyone runs that one bundle: the relay and the bots import
 * it in Node ({@link importSimBundle}), the page imports it from the relay (the wiring serves
 * `code`), and the log header carries it ({@link moduleHeaderSim}), so `concord replay` runs
 * the match from the log alone, whatever has become of the source folder since.
 *
 * @packageDocumentation
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Message, type Plugin } from 'esbuild';
import {
  type ActionMap,
  ConcordError,
  createActionMap,
  getSimFactory,
  initStateHash,
  isSimModuleSpec,
  type SimModule,
  simBundleHash,
} from '../sim/index.ts';
import { isPythonSimSpec } from '../sim/python/index.ts';
import { type Experiment, type GameScene, gameSceneFor } from './experiment/index.ts';
import type { HeaderSim } from './log/index.ts';
import { importSimBundle } from './sim-bundle.ts';

export { importSimBundle };

/** The `sim/` folder of this checkout: what `concord/sim` in a module resolves to. */
const SIM_ROOT = fileURLToPath(new URL('../sim/', import.meta.url));

/** Largest bundle accepted, in UTF-16 code units (a log header carries it; see `MAX_LOG_SOURCE`). */
export const MAX_BUNDLE_LENGTH = 4 * 1024 * 1024;

/** A sim module bundled: what every host of the match loads, and what the log header carries. */
export interface SimBundle {
  /** The absolute path of the module's source file. */
  readonly file: string;
  /** The bundle: one ES module (ES2022, browser platform), no imports left. */
  readonly code: string;
  /**
   * xxhash64 of `code` as UTF-8, 16 lowercase hex digits (`simBundleHash`). Besides the source,
   * it depends on the esbuild version and on where Concord's `sim/` lies relative to the module
   * (esbuild names bundled files in comments).
   */
  readonly codeHash: string;
}

/** A sim module bundled and loaded. */
export interface LoadedSimModule extends SimModule {
  readonly bundle: SimBundle;
}

/**
 * Resolves `concord/sim` (and `concord/sim/...`) to this checkout's `sim/`, so that a module in
 * any folder imports Concord's sim contract by name, and marks Concord's `sim/` files free of
 * side effects, so that the bundle holds only what the module uses (not the built-in registry).
 */
const concordSim: Plugin = {
  name: 'concord-sim',
  setup(b) {
    b.onResolve({ filter: /^concord\/sim(\/.*)?$/ }, (args) => {
      const rest = args.path.slice('concord/sim'.length);
      if (rest.startsWith('/python')) {
        return {
          errors: [
            {
              text: 'a TypeScript sim cannot import concord/sim/python (Pyodide); write a Python environment instead (sim: python:FILE)',
            },
          ],
        };
      }
      const target = rest === '' || rest === '/' ? 'index.ts' : rest.slice(1);
      return { path: path.join(SIM_ROOT, target), sideEffects: false };
    });
    b.onResolve({ filter: /\.ts$/ }, (args) => {
      if (!args.path.startsWith('.') && !path.isAbsolute(args.path)) return undefined;
      const abs = path.resolve(args.resolveDir, args.path);
      if (abs.startsWith(SIM_ROOT)) return { path: abs, sideEffects: false };
      return undefined;
    });
  },
};

function formatMessages(messages: readonly Message[]): string {
  return messages
    .map((m) => {
      const loc = m.location
        ? `${m.location.file}:${m.location.line}:${m.location.column + 1}: `
        : '';
      return `${loc}${m.text}`;
    })
    .join('\n');
}

/**
 * Bundles a sim module with esbuild into one ES module for the browser platform (so that an
 * import of a Node built-in fails here, at relay start, not in a participant's page), not
 * minified (the log carries it readable), with `concord/sim` resolved to this checkout's `sim/`.
 * @param file the module's path (absolute, or relative to the working directory)
 * @throws ConcordError `BAD_CONFIG` naming the file and esbuild's messages (with file, line and
 *   column) when it does not build, or when the bundle exceeds {@link MAX_BUNDLE_LENGTH}
 */
export async function bundleSimModule(file: string): Promise<SimBundle> {
  const abs = path.resolve(file);
  await initStateHash();
  let code: string;
  try {
    const result = await build({
      entryPoints: [abs],
      absWorkingDir: path.dirname(abs),
      bundle: true,
      write: false,
      format: 'esm',
      platform: 'browser',
      target: 'es2022',
      minify: false,
      legalComments: 'inline',
      charset: 'utf8',
      logLevel: 'silent',
      plugins: [concordSim],
    });
    code = result.outputFiles[0].text;
  } catch (err) {
    const e = err as { errors?: Message[]; message?: string };
    const detail = e.errors?.length ? formatMessages(e.errors) : String(e.message ?? err);
    const hint = /Could not resolve "(node:)?[a-z_]+"/.test(detail)
      ? '\n(a sim runs in every browser: it may not import Node built-ins)'
      : '';
    throw new ConcordError(
      'BAD_CONFIG',
      `${abs}: the sim module does not build:\n${detail}${hint}`,
    );
  }
  if (code.length > MAX_BUNDLE_LENGTH) {
    throw new ConcordError(
      'BAD_CONFIG',
      `${abs}: the sim module's bundle is ${code.length} characters, more than ${MAX_BUNDLE_LENGTH}`,
    );
  }
  return Object.freeze({ file: abs, code, codeHash: simBundleHash(code) });
}

/**
 * Bundles and loads a sim module: {@link bundleSimModule} then {@link importSimBundle}.
 * @throws ConcordError `BAD_CONFIG` as those two
 */
export async function loadSimModule(file: string): Promise<LoadedSimModule> {
  const bundle = await bundleSimModule(file);
  const module = await importSimBundle(bundle.code, bundle.file);
  return Object.freeze({ ...module, bundle });
}

/**
 * Every sim module the experiment's game scenes name, bundled and loaded once per file, keyed
 * by the absolute path (`GameScene.simPath`); then every game scene's `actions` and
 * `defaultAction` checked against its sim's named actions under every condition cell (a module's
 * names can only be checked once it is loaded). What the relay does at start, before it listens,
 * so that a module that does not build, or an action it does not name, never reaches a
 * participant.
 * @throws ConcordError `BAD_CONFIG` naming the scene's field (`scenes[1].sim: FILE: …`) for the
 *   first module that does not build or load; then every action problem of every scene, one
 *   per line (`scenes[1].actions.ArrowUp: action "UPP" is not one of the sim's actions (…)`)
 */
export async function loadExperimentSims(
  experiment: Experiment,
): Promise<ReadonlyMap<string, LoadedSimModule>> {
  const out = new Map<string, LoadedSimModule>();
  for (const [i, scene] of experiment.scenes.entries()) {
    if (scene.kind !== 'game' || !isSimModuleSpec(scene.sim) || scene.simPath === null) continue;
    if (out.has(scene.simPath)) continue;
    try {
      out.set(scene.simPath, await loadSimModule(scene.simPath));
    } catch (err) {
      if (err instanceof ConcordError) {
        throw new ConcordError('BAD_CONFIG', `scenes[${i}].sim: ${err.message}`);
      }
      throw err;
    }
  }
  const problems = new Set<string>();
  for (const [i, scene] of experiment.scenes.entries()) {
    if (scene.kind !== 'game') continue;
    const module = scene.simPath === null ? null : (out.get(scene.simPath) ?? null);
    const table = module ?? (isPythonSimSpec(scene.sim) ? null : builtinTable(scene.sim));
    for (const cell of experiment.cells) {
      const played = gameSceneFor(experiment, scene.id, cell);
      try {
        sceneActionMap(played, table, `scenes[${i}]`);
      } catch (err) {
        if (!(err instanceof ConcordError)) throw err;
        for (const line of err.message.split('\n')) problems.add(line);
      }
    }
  }
  if (problems.size > 0) {
    throw new ConcordError('BAD_CONFIG', `${experiment.file}:\n${[...problems].join('\n')}`);
  }
  return out;
}

function builtinTable(id: string): Pick<SimModule, 'actions'> {
  return { actions: getSimFactory(id).actions ?? {} };
}

/**
 * The log header's `sim` for a match of a sim module: the spec as the scene names it, the
 * bundle's code hash and the bundle itself (log format 5), so the log alone replays the match.
 * @param spec the scene's `sim` as written (`./pong.ts`)
 */
export function moduleHeaderSim(spec: string, bundle: SimBundle): HeaderSim {
  return { id: spec, codeHash: bundle.codeHash, bundle: bundle.code };
}

/**
 * A game scene's keys and actions, checked against its sim's named actions (a module's
 * `actions` export; none for built-in and Python sims, whose actions are then numbers).
 * @param where the scene's path in the file, for errors (`scenes[1]`)
 * @throws ConcordError `BAD_CONFIG` with one line per problem, each named by field
 *   (`scenes[1].actions["ArrowLeft+ArrowUp"]: action "UPLFT" is not one of the sim's actions (…)`)
 */
export function sceneActionMap(
  scene: Pick<GameScene, 'actions' | 'defaultAction'>,
  module: Pick<SimModule, 'actions'> | null,
  where: string,
): ActionMap {
  try {
    return createActionMap(
      { actions: scene.actions, defaultAction: scene.defaultAction },
      module?.actions ?? {},
    );
  } catch (err) {
    if (!(err instanceof ConcordError)) throw err;
    const lines = err.message.split('\n').map((l) => `${where}.${l}`);
    throw new ConcordError('BAD_CONFIG', lines.join('\n'));
  }
}
