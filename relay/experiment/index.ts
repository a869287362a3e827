/**
 * relay/experiment/: the experiment file (schema, loading, per-condition scene settings),
 * balanced condition assignment, survey answer checks and the participant database. What
 * the experiment runner and the `concord` command use; the rest of the folder is internal.
 *
 * @packageDocumentation
 */
export {
  assignCells,
  type Condition,
  type ConditionFactor,
  checkCondition,
  conditionCells,
  conditionKey,
  nextCell,
} from './conditions.ts';
export {
  checkExperiment,
  type Experiment,
  formatPath,
  type GameScene,
  type InfoScene,
  loadExperiment,
  type Scene,
} from './load.ts';
export {
  type Action,
  type ConditionLevel,
  type EndScene,
  ExperimentFileSchema,
  experimentJsonSchema,
  OUTCOMES,
  type Outcome,
  type Question,
  type SurveyScene,
  SYNC_DEFAULTS,
  SYNC_MODES,
  type SyncSettings,
} from './schema.ts';
export { gameSceneFor, sceneSettingsFor, toSceneSettings } from './settings.ts';
