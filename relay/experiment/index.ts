/**
 * relay/experiment/: the experiment file (schema, loading, per-condition scene settings),
 * balanced condition assignment, survey answer checks and the participant database. What
 * the experiment runner and the `concord` command use; the rest of the folder is internal.
 *
 * @packageDocumentation
 */

export {
  type CheckFormat,
  checkSummary,
  filledExperimentFile,
  formatExperiment,
} from './check-report.ts';
export {
  assignCells,
  assignmentBlockSize,
  type Condition,
  type ConditionFactor,
  checkCondition,
  conditionCells,
  conditionKey,
  nextCell,
} from './conditions.ts';
export {
  type ArriveResult,
  DATABASE_SCHEMA_VERSION,
  type DatabaseOptions,
  databaseFile,
  ParticipantDatabase,
  type SceneVisit,
  type StepResult,
  type StoredAnswer,
  type StoredSeat,
} from './database.ts';
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
  type Arrival,
  applyStep,
  completionCodeFor,
  decide,
  decideRemoval,
  enrol,
  type FlowAction,
  type GameEnd,
  type IdSource,
  matchBlockSize,
  type Now,
  PARTICIPANT_ID_PATTERN,
  type PageAction,
  type ParticipantRecord,
  parsePageAction,
  redirectFor,
  type Seat,
  type Step,
  whatNow,
} from './participant-flow.ts';
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
export { type Answers, type AnswerValue, checkAnswers } from './survey.ts';
