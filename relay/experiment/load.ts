/**
 * Loading an experiment file: YAML or JSON text → schema → cross-field rules → paths checked
 * on disk → a typed {@link Experiment} with every default filled. Every problem found is
 * reported at once, one line each, named by its field's path, in one `ConcordError`.
 *
 * @packageDocumentation
 */
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { transformSync } from 'esbuild';
import { LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import {
  type ActionTable,
  ConcordError,
  createActionMap,
  getSimFactory,
  isSimModuleSpec,
  simIds,
} from '../../sim/index.ts';
import { isPythonSimSpec, parsePythonSimSpec } from '../../sim/python/index.ts';
import {
  type Condition,
  type ConditionFactor,
  conditionCells,
  conditionKey,
} from './conditions.ts';
import { MATCH_FRAMES, MAX_CONDITION_CELLS } from './ranges.ts';
import {
  ConditionLevelSchema,
  type EndScene,
  ExperimentFileSchema,
  type GameSceneFile,
  type InfoSceneFile,
  type Outcome,
  OVERRIDABLE_SETTINGS,
  type SceneFile,
  SceneSchema,
  type SurveyScene,
  showValue,
} from './schema.ts';
import { applyCondition, resolveBotPath, toSceneSettings } from './settings.ts';

/** An info scene, its `file` resolved. */
export interface InfoScene extends InfoSceneFile {
  /** The absolute path of `file` (checked to exist at load). */
  readonly path: string;
}

/** A game scene, every default filled, its files resolved. */
export interface GameScene extends GameSceneFile {
  /**
   * The absolute path of the sim's file for `python:FILE[:CLASS]` and module sims (checked to
   * exist at load); null for a built-in sim.
   */
  readonly simPath: string | null;
  /** The absolute path of a module `bot` (checked to exist at load); null for `random`/`idle`. */
  readonly botPath: string | null;
}

/** One scene of an {@link Experiment}, by `kind`. */
export type Scene = InfoScene | GameScene | SurveyScene | EndScene;

/** A loaded, checked experiment. Frames unless a name says Ms. */
export interface Experiment {
  /** The experiment's id (`[a-z0-9][a-z0-9_-]{0,63}`). */
  readonly id: string;
  /** The absolute path of the file it was loaded from. */
  readonly file: string;
  /** The file's directory: relative paths in the file are relative to it. */
  readonly baseDir: string;
  /** The condition factors in file order (empty when the file has no `conditions`). */
  readonly factors: readonly ConditionFactor[];
  /** Every cell of the factors' cross product, in {@link conditionCells} order. */
  readonly cells: readonly Condition[];
  /** The scenes in order; the last is the `end` scene. */
  readonly scenes: readonly Scene[];
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** A path in the file as a string: `scenes[1].sync.inputDelay`. */
export function formatPath(p: readonly PropertyKey[]): string {
  let out = '';
  for (const part of p) {
    if (typeof part === 'number') out += `[${part}]`;
    else if (!IDENTIFIER.test(String(part))) out += `[${JSON.stringify(String(part))}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out === '' ? '(top level)' : out;
}

function at(base: readonly PropertyKey[], key: PropertyKey): string {
  return formatPath([...base, key]);
}

function valueAt(data: unknown, p: readonly PropertyKey[]): unknown {
  let v = data;
  for (const part of p) {
    if (typeof v !== 'object' || v === null) return undefined;
    v = (v as Record<PropertyKey, unknown>)[part];
  }
  return v;
}

/** zod issues as problem lines, `path: message`, one per unknown key. */
function issueLines(
  issues: readonly z.core.$ZodIssue[],
  prefix: readonly PropertyKey[],
  data: unknown,
): string[] {
  const out: string[] = [];
  for (const issue of issues) {
    const p = [...prefix, ...issue.path];
    if (issue.code === 'invalid_union' && 'options' in issue && issue.discriminator) {
      const got = valueAt(data, p);
      const options = (issue.options ?? []).join(', ');
      out.push(
        `${formatPath(p)}: ${got === undefined ? 'required' : `must be one of ${options}, got ${showValue(got)}`}`,
      );
    } else if (issue.code === 'unrecognized_keys') {
      const hint =
        p[0] === 'conditions'
          ? `unknown key: a condition overrides only game settings (${OVERRIDABLE_SETTINGS.join(', ')})`
          : 'unknown key';
      for (const key of issue.keys) out.push(`${at(p, key)}: ${hint}`);
    } else if (issue.code === 'invalid_key') {
      out.push(
        ...issueLines(issue.issues, p, data).map((l) => l.replace(/^([^:]*):/, '$1 (key):')),
      );
    } else {
      out.push(`${formatPath(p)}: ${issue.message}`);
    }
  }
  return out;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkFile(file: string): string | null {
  try {
    return statSync(file).isFile() ? null : `${file} is not a file`;
  } catch {
    return `no such file ${file}`;
  }
}

const MODULE_PATH = /^\.{0,2}\//;
const MODULE_EXT = /\.(ts|mts|js|mjs)$/;

/**
 * Resolves and checks a game scene's sim: a built-in id, `python:FILE[:CLASS]` or a module path.
 * @returns the absolute file (null for built-in) and the problems found.
 */
function resolveSim(sim: string, baseDir: string, where: string): [string | null, string[]] {
  if (isPythonSimSpec(sim)) {
    try {
      const file = path.resolve(baseDir, parsePythonSimSpec(sim).file);
      const problem = checkFile(file);
      return [file, problem ? [`${where}: ${problem}`] : []];
    } catch (err) {
      return [null, [`${where}: ${(err as Error).message}`]];
    }
  }
  if (MODULE_PATH.test(sim)) {
    const file = path.resolve(baseDir, sim);
    const problems: string[] = [];
    if (!MODULE_EXT.test(sim)) {
      problems.push(`${where}: a sim module must end in .ts, .mts, .js or .mjs, got "${sim}"`);
    }
    const problem = checkFile(file);
    if (problem) problems.push(`${where}: ${problem}`);
    else if (problems.length === 0) {
      const syntax = moduleSyntaxProblem(file);
      if (syntax) problems.push(`${where}: ${syntax}`);
    }
    return [file, problems];
  }
  if (simIds().includes(sim)) return [null, []];
  if (MODULE_EXT.test(sim)) {
    return [
      null,
      [`${where}: unknown sim "${sim}": a module path starts with ./, ../ or / (./${sim})`],
    ];
  }
  return [
    null,
    [
      `${where}: unknown sim "${sim}" (built-in: ${simIds().join(', ')}; or python:FILE[:CLASS], or a module path such as ./sim.ts)`,
    ],
  ];
}

/**
 * Whether a sim module's file parses as an ES module (esbuild, TypeScript or JavaScript by its
 * extension): `FILE:line:column: message` for the first syntax error, else null. Its imports
 * and exports are checked when the relay bundles and loads it (relay/sim-modules.ts).
 */
function moduleSyntaxProblem(file: string): string | null {
  try {
    transformSync(readFileSync(file, 'utf8'), {
      loader: /\.m?ts$/.test(file) ? 'ts' : 'js',
      format: 'esm',
      sourcefile: file,
      logLevel: 'silent',
    });
    return null;
  } catch (err) {
    const first = (
      err as { errors?: { text: string; location?: { line: number; column: number } | null }[] }
    ).errors?.[0];
    if (!first) return `${file}: ${(err as Error).message}`;
    const at = first.location ? `:${first.location.line}:${first.location.column + 1}` : '';
    return `${file}${at}: ${first.text} (a sim module must be an ES module in TypeScript or JavaScript)`;
  }
}

/**
 * The named actions a scene's sim declares, when known before the relay starts: a built-in
 * sim's table; none for a Python environment (its actions are numbers); null for a sim module,
 * whose table is its export, checked when the relay loads it.
 */
function knownActionTable(sim: string): ActionTable | null {
  if (isSimModuleSpec(sim)) return null;
  if (isPythonSimSpec(sim)) return {};
  try {
    return getSimFactory(sim).actions ?? {};
  } catch {
    return {}; // an unknown sim is reported on its own
  }
}

/**
 * A game scene's `actions` and `defaultAction` against its sim's table (sim/action-map.ts):
 * combinations, discrete numbers, and names when the table is known. Lines `actions["…"]: …`
 * and `defaultAction: …` without the scene's prefix.
 */
function actionProblems(scene: Pick<GameSceneFile, 'sim' | 'actions' | 'defaultAction'>): string[] {
  const table = knownActionTable(scene.sim);
  try {
    createActionMap({ actions: scene.actions, defaultAction: scene.defaultAction }, table ?? {});
    return [];
  } catch (err) {
    if (!(err instanceof ConcordError)) throw err;
    const lines = err.message.split('\n');
    // A module's names are checked against its exports at relay start.
    return table === null ? lines.filter((l) => !l.includes('the sim names no actions')) : lines;
  }
}

function resolveBot(bot: string, baseDir: string, where: string): [string | null, string[]] {
  const file = resolveBotPath(bot, baseDir);
  if (file === null) return [null, []];
  const problems: string[] = [];
  if (!MODULE_EXT.test(bot)) {
    problems.push(`${where}: a bot module must end in .ts, .mts, .js or .mjs, got "${bot}"`);
  }
  const problem = checkFile(file);
  if (problem) problems.push(`${where}: ${problem}`);
  return [file, problems];
}

/** Rules within one scene that the schema cannot say: unique question ids, options, key combos. */
function sceneProblems(scene: SceneFile, i: number): string[] {
  const out: string[] = [];
  if (scene.kind === 'survey') {
    const seen = new Map<string, number>();
    scene.questions.forEach((q, j) => {
      const first = seen.get(q.id);
      if (first !== undefined) {
        out.push(
          `scenes[${i}].questions[${j}].id: "${q.id}" is also the id of scenes[${i}].questions[${first}]`,
        );
      } else seen.set(q.id, j);
      if (q.type === 'choice') {
        q.options.forEach((o, k) => {
          if (q.options.indexOf(o) !== k) {
            out.push(`scenes[${i}].questions[${j}].options[${k}]: "${o}" is listed twice`);
          }
        });
      }
    });
  }
  if (scene.kind === 'game') {
    for (const line of actionProblems(scene)) out.push(`scenes[${i}].${line}`);
    const total = scene.episodes * scene.framesPerEpisode;
    if (total > MATCH_FRAMES.max) {
      out.push(
        `scenes[${i}].framesPerEpisode: episodes × framesPerEpisode must be at most ${MATCH_FRAMES.max} frames, got ${scene.episodes} × ${scene.framesPerEpisode} = ${total}`,
      );
    }
    if (scene.sync.hashIntervalMax < scene.sync.hashInterval) {
      out.push(
        `scenes[${i}].sync.hashIntervalMax: must be at least hashInterval (${scene.sync.hashInterval}), got ${scene.sync.hashIntervalMax}`,
      );
    }
  }
  return out;
}

/** What a game scene can end a participant's study with, beside `completed`. */
function outcomesOf(scene: GameScene): Outcome[] {
  const out: Outcome[] = [];
  if (scene.players > 1 && scene.waitingRoom.timeoutMs > 0 && scene.waitingRoom.onTimeout === 'end')
    out.push('timeout');
  if (scene.players > 1 && scene.onPartnerLost === 'end') out.push('partnerLeft');
  return out;
}

/** Where a wire setting lives in a game scene of the file. */
const FILE_FIELD: Record<string, string> = {
  name: 'id',
  frames: 'framesPerEpisode',
  onPlayerLost: 'onPartnerLost',
  mode: 'sync.mode',
  inputDelay: 'sync.inputDelay',
  maxPredictionWindow: 'sync.maxPredictionWindow',
  saveStrategy: 'sync.saveStrategy',
  hashInterval: 'sync.hashInterval',
  hashIntervalMax: 'sync.hashIntervalMax',
  rejoinGraceMs: 'sync.rejoinGraceMs',
  referee: 'sync.referee',
};

/**
 * The protocol's complaint about a game scene's wire settings, as `field: must be …` with the
 * field named as in the file, or null when the protocol accepts them.
 */
function wireProblem(scene: GameScene): string | null {
  try {
    toSceneSettings(scene);
    return null;
  } catch (err) {
    const m = /settings\.(\w+): expected (.*)$/s.exec((err as Error).message);
    if (m === null) return (err as Error).message;
    return `${FILE_FIELD[m[1]] ?? m[1]}: must be ${m[2]}`;
  }
}

/** Sort key of a problem line: top-level fields, conditions, then scenes by index. */
function problemOrder(line: string): number {
  const m = /^(\w+)(?:\[(\d+)\])?/.exec(line);
  if (m === null) return 0;
  if (m[1] === 'scenes') return 2 + Number(m[2] ?? -1);
  if (m[1] === 'conditions') return 1;
  return 0;
}

const OUTCOME_CAUSE: Record<Outcome, string> = {
  completed: 'every participant who finishes gets it',
  timeout: 'waitingRoom can time out with onTimeout end',
  partnerLeft: 'onPartnerLost is end',
  declined: 'it is a consent scene',
  removed: 'an administrator removed the participant (never required)',
};

/**
 * Checks parsed experiment data and builds the {@link Experiment}. Exported for tests and for
 * callers that hold the data already (a JSON body); most callers want {@link loadExperiment}.
 * @param data the file's contents, as parsed from YAML or JSON
 * @param file the file's path (relative paths in it are resolved against its directory)
 * @throws ConcordError `BAD_CONFIG`: the first line names the file and the number of problems,
 *   each further line one problem, `path: what is wrong`.
 */
export function checkExperiment(data: unknown, file: string): Experiment {
  const absFile = path.resolve(file);
  const baseDir = path.dirname(absFile);
  const problems: string[] = [];

  const whole = ExperimentFileSchema.safeParse(data);
  if (!whole.success) problems.push(...issueLines(whole.error.issues, [], data));

  // When the whole does not parse, check what does, so that one round shows every problem.
  const raw = isRecord(data) ? data : {};
  const rawScenes = Array.isArray(raw.scenes) ? raw.scenes : [];
  const parsedScenes: (SceneFile | null)[] = whole.success
    ? whole.data.scenes
    : rawScenes.map((s) => {
        const r = SceneSchema.safeParse(s);
        return r.success ? r.data : null;
      });
  let factors: ConditionFactor[] | null = null;
  if (whole.success) {
    factors = Object.entries(whole.data.conditions).map(([name, levels]) => ({ name, levels }));
  } else if (raw.conditions === undefined) {
    factors = [];
  } else if (isRecord(raw.conditions)) {
    const entries = Object.entries(raw.conditions).map(([name, levels]) => ({
      name,
      levels: Array.isArray(levels) ? levels.map((l) => ConditionLevelSchema.safeParse(l)) : null,
    }));
    if (entries.every((e) => e.levels?.every((l) => l.success))) {
      factors = entries.map((e) => ({
        name: e.name,
        levels: (e.levels ?? []).map((l) => (l.success ? l.data : {})),
      }));
    }
  }

  // Ids and the end scene.
  const ids = new Map<string, number>();
  const endAt: number[] = [];
  parsedScenes.forEach((s, i) => {
    if (s === null) return;
    const first = ids.get(s.id);
    if (first !== undefined) {
      problems.push(`scenes[${i}].id: "${s.id}" is also the id of scenes[${first}]`);
    } else ids.set(s.id, i);
    if (s.kind === 'end') endAt.push(i);
    problems.push(...sceneProblems(s, i));
  });
  const allScenesParsed = parsedScenes.length > 0 && parsedScenes.every((s) => s !== null);
  if (allScenesParsed && endAt.length === 0) {
    problems.push('scenes: no end scene (the last scene must have kind end)');
  }
  for (const i of endAt) {
    if (i !== parsedScenes.length - 1) {
      problems.push(`scenes[${i}].kind: the end scene must be the last scene`);
    }
  }
  if (endAt.length > 1) {
    problems.push(`scenes[${endAt[1]}]: a second end scene (scenes[${endAt[0]}] is one)`);
  }

  // Files on disk.
  const scenes: (Scene | null)[] = parsedScenes.map((s, i) => {
    if (s === null) return null;
    if (s.kind === 'info') {
      const p = path.resolve(baseDir, s.file);
      const problem = checkFile(p);
      if (problem) problems.push(`scenes[${i}].file: ${problem}`);
      return { ...s, path: p };
    }
    if (s.kind === 'game') {
      const [simPath, simProblems] = resolveSim(s.sim, baseDir, `scenes[${i}].sim`);
      const [botPath, botProblems] = resolveBot(s.bot, baseDir, `scenes[${i}].bot`);
      problems.push(...simProblems, ...botProblems);
      return { ...s, simPath, botPath };
    }
    return s;
  });

  // Conditions: their size, their bot modules, and every game scene under every cell.
  let cells: Condition[] = [{}];
  if (factors !== null) {
    const size = factors.reduce((n, f) => n * f.levels.length, 1);
    if (size > MAX_CONDITION_CELLS) {
      problems.push(
        `conditions: ${size} cells in the cross product, more than ${MAX_CONDITION_CELLS}`,
      );
      factors = null;
    } else {
      cells = conditionCells(factors);
      for (const f of factors) {
        f.levels.forEach((level, j) => {
          if (level.bot === undefined) return;
          problems.push(...resolveBot(level.bot, baseDir, `conditions.${f.name}[${j}].bot`)[1]);
        });
      }
    }
  }

  const outcomes = new Map<Outcome, string>([['completed', 'the study']]);
  scenes.forEach((s, i) => {
    if (s?.kind === 'info' && s.consent && !outcomes.has('declined'))
      outcomes.set('declined', `scenes[${i}]`);
    if (s?.kind !== 'game' || factors === null) return;
    const reported = new Set<string>([wireProblem(s) ?? '']);
    for (const cell of cells) {
      const played = applyCondition(s, factors, cell, baseDir);
      for (const o of outcomesOf(played)) if (!outcomes.has(o)) outcomes.set(o, `scenes[${i}]`);
      const cellProblems = [wireProblem(played)];
      // A level may override defaultAction: check it against the scene's sim too.
      if (played.defaultAction !== s.defaultAction) cellProblems.push(...actionProblems(played));
      for (const problem of cellProblems) {
        if (problem === null || reported.has(problem)) continue;
        reported.add(problem);
        problems.push(`conditions (cell ${conditionKey(factors, cell)}): scenes[${i}].${problem}`);
      }
    }
  });

  // Completion codes for every outcome the scenes can produce.
  const last = scenes[scenes.length - 1];
  if (allScenesParsed && factors !== null && last?.kind === 'end') {
    for (const [outcome, source] of outcomes) {
      if (last.completionCodes[outcome] === undefined) {
        problems.push(
          `scenes[${scenes.length - 1}].completionCodes.${outcome}: required, since ${source === 'the study' ? '' : `${source}: `}${OUTCOME_CAUSE[outcome]}`,
        );
      }
    }
  }

  if (problems.length > 0) {
    problems.sort((a, b) => problemOrder(a) - problemOrder(b));
    const n = problems.length;
    throw new ConcordError(
      'BAD_CONFIG',
      `${file}: ${n} problem${n === 1 ? '' : 's'}\n${problems.join('\n')}`,
    );
  }
  const parsed = whole.data as z.output<typeof ExperimentFileSchema>;
  return {
    id: parsed.id,
    file: absFile,
    baseDir,
    factors: factors ?? [],
    cells,
    scenes: scenes as Scene[],
  };
}

/**
 * Reads and checks an experiment file (YAML, or JSON, which is YAML too).
 * @param file path of the file; relative paths inside it are resolved against its directory
 * @returns the experiment with every default filled and its files resolved
 * @throws ConcordError `BAD_CONFIG` when the file cannot be read, is not valid YAML (each
 *   syntax error with its line and column), or breaks any rule: the message's first line
 *   names the file and the count, each further line one problem as `path: what is wrong`
 *   (`scenes[1].sync.inputDelay: must be an integer 0–30, got -3`).
 */
export function loadExperiment(file: string): Experiment {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConcordError(
      'BAD_CONFIG',
      `cannot read experiment file ${file}: ${(err as Error).message}`,
    );
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  if (doc.errors.length > 0) {
    const lines = doc.errors.map((e) => {
      const pos = e.linePos?.[0] ?? lineCounter.linePos(e.pos[0]);
      return `line ${pos.line}, column ${pos.col}: ${e.message}`;
    });
    const n = lines.length;
    throw new ConcordError(
      'BAD_CONFIG',
      `${file}: ${n} YAML syntax error${n === 1 ? '' : 's'}\n${lines.join('\n')}`,
    );
  }
  return checkExperiment(doc.toJS({ maxAliasCount: 100 }), file);
}
