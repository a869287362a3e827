/**
 * sim/: the deterministic world. The only folder every other folder may import; it imports none.
 */
export {
  type Action,
  type ActionMap,
  type ActionMapRecord,
  type ActionMapSpec,
  type ActionTable,
  actionMapFromRecord,
  createActionMap,
  discreteActionInput,
  type KeyBinding,
  MAX_COMBO_KEYS,
  MAX_DISCRETE_ACTION,
} from './action-map.ts';
export { type CanonicalValue, canonicalDecode, canonicalEncode } from './canonical.ts';
export {
  applyStateDelta,
  createStateDelta,
  createStateDeltaFromSignature,
  createStateSignature,
  makeStateTransfer,
  resolveStateTransfer,
  type StateTransfer,
} from './delta.ts';
export {
  DUEL_ACTIONS,
  DUEL_ARENA,
  DUEL_BUTTONS,
  type DuelView,
  duel,
  duelView,
  randomDuelInput,
} from './duel/index.ts';
export {
  type EpisodeSettings,
  type EpisodeSnap,
  type EpisodicSim,
  type EpisodicSimFactory,
  episodeOf,
  episodeSeed,
  episodeStartFrame,
  episodicFactory,
  MAX_EPISODES,
  matchFrames,
} from './episodes.ts';
export { ConcordError, type ConcordErrorCode } from './errors.ts';
export { FIELD_RULES, field } from './field/index.ts';
export { initStateHash, stateHash, stateHashReady } from './hash.ts';
export {
  decodeInput,
  encodeInput,
  INPUT_BYTES,
  type Input,
  inputsEqual,
  isValidInput,
  NEUTRAL_INPUT,
} from './input.ts';
export type { InputRuleVerdict, SimInputRules } from './input-rules.ts';
export type { EntityInterest, EntityTable } from './interest.ts';
export {
  DEFAULT_MAX_REWIND_MS,
  lagCompensationFrames,
  MAX_REWIND_MS,
  type RewindView,
  rewindFrames,
  SnapshotHistory,
  ViewDelayEstimator,
  viewDelayFrames,
} from './lag-compensation.ts';
export {
  checkSimModule,
  type DrawPrimitive,
  isSimModuleSpec,
  MAX_VIEW_SIZE,
  type SimModule,
  type SimView,
  simBundleHash,
  type ViewContext,
} from './module.ts';
export { Prng, type PrngState } from './prng.ts';
export { getSimFactory, simIds } from './registry.ts';
export type { Frame, PlayerSlot, Sim, SimConfig, SimFactory } from './sim.ts';
export { runSyncTest, type SyncTestOptions, type SyncTestResult } from './sync-test.ts';
