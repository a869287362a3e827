/**
 * What `concord check EXPERIMENT` prints: the loaded experiment back as an experiment file with
 * every default filled in, as YAML or JSON, and a one-line summary saying which. The printed
 * file loads to the same experiment when it sits where the original does (its paths stay
 * relative to the original's directory).
 *
 * @packageDocumentation
 */
import { stringify } from 'yaml';
import type { Experiment } from './load.ts';
import type { ConditionLevel, ExperimentFile, SceneFile } from './schema.ts';

/** Output formats of `concord check`. */
export type CheckFormat = 'yaml' | 'json';

/** A scene as the file has it: the loader's resolved paths (`path`, `simPath`, `botPath`) left out. */
function sceneFile(scene: Experiment['scenes'][number]): SceneFile {
  const out: Record<string, unknown> = { ...scene };
  delete out.path;
  delete out.simPath;
  delete out.botPath;
  return out as SceneFile;
}

/**
 * The experiment as a file with every default filled in: `id`, `conditions` (factor → levels,
 * in file order) and `scenes` with every field of each.
 */
export function filledExperimentFile(experiment: Experiment): ExperimentFile {
  const conditions: Record<string, ConditionLevel[]> = {};
  for (const f of experiment.factors) conditions[f.name] = [...f.levels];
  return { id: experiment.id, conditions, scenes: experiment.scenes.map(sceneFile) };
}

/** {@link filledExperimentFile} as text: YAML (block style) or JSON (2-space indent), ending in a newline. */
export function formatExperiment(experiment: Experiment, format: CheckFormat): string {
  const file = filledExperimentFile(experiment);
  return format === 'json'
    ? `${JSON.stringify(file, null, 2)}\n`
    : stringify(file, { lineWidth: 0, aliasDuplicateObjects: false });
}

/**
 * The summary line: `examples/study.yaml: experiment "coop-study" is valid: 5 scenes (info,
 * game, game, survey, end), 2 condition cells; every default filled in, as YAML (--json for
 * JSON)`.
 */
export function checkSummary(file: string, experiment: Experiment, format: CheckFormat): string {
  const kinds = experiment.scenes.map((s) => s.kind).join(', ');
  const cells = experiment.cells.length;
  const as = format === 'json' ? 'JSON (without --json: YAML)' : 'YAML (--json for JSON)';
  return `${file}: experiment "${experiment.id}" is valid: ${experiment.scenes.length} scenes (${kinds}), ${cells} condition cell${cells === 1 ? '' : 's'}; every default filled in, as ${as}`;
}
