/**
 * The experiment file's schema (zod 4): every field, its range and its default, in one place.
 * The ranges come from `protocol/` (or, until it exports them, `./ranges.ts`), so a file that
 * passes here also passes the wire's `validateSceneSettings`. Objects are strict: an unknown
 * key is an error naming it, never a silently ignored typo. Defaults are filled on parse.
 *
 * Cross-field rules (unique ids, one `end` scene, completion codes for every outcome, paths
 * that exist) are not here but in `./load.ts`, which also turns zod's issues into the
 * field-named lines of one error.
 *
 * @packageDocumentation
 */
import { z } from 'zod';
import { MAX_PLAYERS, SCENE_LIMITS } from '../../protocol/index.ts';
import { MAX_DISCRETE_ACTION } from '../../sim/index.ts';
import { BUILTIN_SCENES } from '../scenes.ts';
import {
  CHOICE_OPTIONS,
  COMPLETION_CODE_PATTERN,
  DEFAULT_TEXT_ANSWER_LENGTH,
  EPISODES,
  FACTOR_LEVELS,
  FACTOR_NAME_PATTERN,
  HASH_INTERVAL,
  ID_PATTERN,
  INPUT_DELAY,
  type IntRange,
  LIKERT_SCALE,
  MATCH_FRAMES,
  MAX_PROMPT_LENGTH,
  MAX_SIM_SPEC_LENGTH,
  PREDICTION_WINDOW,
  RECONNECT_GRACE_MS,
  TEXT_ANSWER_LENGTH,
  TICK_RATE,
  WAITING_TIMEOUT_MS,
} from './ranges.ts';

/**
 * Sync modes a game scene may name (the protocol's `SceneSettings.mode`): see docs/sync-modes.md.
 */
export const SYNC_MODES = ['lockstep', 'rollback', 'authoritative'] as const;
/** Snapshot saving strategies: every frame in a ring, or only at the confirmed frame. */
export const SAVE_STRATEGIES = ['ring', 'sparse'] as const;
/** What carries the inputs (the protocol's `SceneSettings.transport`); see docs/transports.md. */
export const INPUT_TRANSPORTS = ['auto', 'websocket', 'webrtc'] as const;
/** What happens when the waiting room times out: the participant leaves, or plays with bots. */
export const WAITING_TIMEOUT_ACTIONS = ['end', 'bot'] as const;
/** What happens when a partner is lost for good: end the match, play on without, or a bot plays. */
export const PARTNER_LOST_ACTIONS = ['end', 'continue', 'bot'] as const;
/** Built-in bot policies; any other `bot` is a module path. */
export const BUILTIN_BOTS = ['random', 'idle'] as const;
/**
 * How a participant's study can end; each needs a completion code when the scenes can produce it,
 * but for `removed` (an administrator ended the participant's study, from the admin view), whose
 * code is optional: without one the participant sees no code.
 */
export const OUTCOMES = ['completed', 'timeout', 'partnerLeft', 'declined', 'removed'] as const;
/** One of {@link OUTCOMES}. */
export type Outcome = (typeof OUTCOMES)[number];

const duel = BUILTIN_SCENES.duel;

/**
 * Defaults of a game scene's `sync`: those of the built-in `duel` scene (relay/scenes.ts).
 * Frames unless the name says Ms.
 */
export const SYNC_DEFAULTS = Object.freeze({
  mode: duel.mode as (typeof SYNC_MODES)[number],
  inputDelay: duel.inputDelay,
  maxPredictionWindow: duel.maxPredictionWindow,
  saveStrategy: duel.saveStrategy,
  hashInterval: duel.hashInterval,
  hashIntervalMax: duel.hashIntervalMax,
  rejoinGraceMs: duel.rejoinGraceMs,
  transport: duel.transport,
});

/**
 * Defaults of a game scene's other settings. `framesPerEpisode` 3600 is one minute at 60 fps
 * (an episode must end, so 0, the wire's "unlimited", is not allowed); `defaultAction` null
 * means the sim's neutral input.
 */
export const GAME_DEFAULTS = Object.freeze({
  sim: 'duel',
  players: 2,
  episodes: 1,
  framesPerEpisode: 3600,
  tickRate: duel.tickRate,
  defaultAction: null,
  onPartnerLost: 'end',
  bot: 'random',
  revealBot: false,
  waitingRoom: Object.freeze({ timeoutMs: 120_000, onTimeout: 'end' }),
} as const);

/** `value` for an error message: JSON, cut at 60 characters. */
export function showValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  let s: string;
  try {
    s = JSON.stringify(value) ?? String(value);
  } catch {
    s = String(value);
  }
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/** zod error params whose message reads `must be <what>, got <value>` (or `required`). */
function expected(what: string) {
  return {
    error: (iss: { input?: unknown }) =>
      iss.input === undefined ? 'required' : `must be ${what}, got ${showValue(iss.input)}`,
  };
}

function int(range: IntRange) {
  const e = expected(`an integer ${range.min}–${range.max}`);
  return z.int(e).min(range.min, e).max(range.max, e);
}

function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  return z.enum(values, expected(`one of ${values.join(', ')}`));
}

function pattern(re: RegExp, what: string, maxLength = 64) {
  const e = expected(what);
  return z.string(e).max(maxLength, e).regex(re, e);
}

function text(min: number, max: number) {
  const e = expected(`a string of ${min}–${max} characters`);
  return z.string(e).min(min, e).max(max, e);
}

const bool = z.boolean(expected('true or false'));

/** An experiment, scene or question id: `[a-z0-9][a-z0-9_-]{0,63}`. */
export const IdSchema = pattern(ID_PATTERN, 'an id [a-z0-9][a-z0-9_-]{0,63}');

/**
 * A sim: a built-in sim id (`duel`), `python:FILE[:CLASS]` or a module path (`./sim.ts`) that
 * exports a SimFactory; paths are relative to the experiment file. Which of these it is, and
 * whether the file exists, is checked at load.
 */
export const SimSpecSchema = pattern(
  /^[\x21-\x7e]+$/,
  `a sim id, python:FILE[:CLASS] or a module path (1–${MAX_SIM_SPEC_LENGTH} printable characters)`,
  MAX_SIM_SPEC_LENGTH,
);

/** A bot policy: `random`, `idle`, or a module path (`./bot.ts`) relative to the experiment file. */
export const BotSpecSchema = pattern(
  /^(random|idle|\.{0,2}\/[\x21-\x7e]+)$/,
  'random, idle or a module path starting with ./, ../ or /',
  MAX_SIM_SPEC_LENGTH,
);

/**
 * A sim action: a name the sim declares (`UPLEFT`, an identifier) or a discrete action number
 * 0–16 (the input with only button bit n−1 held, which a Python environment receives as n; see
 * `discreteActionInput` in sim/action-map.ts).
 */
const actionExpected = expected(
  `an action name (an identifier) or an integer 0–${MAX_DISCRETE_ACTION}`,
);
export const ActionSchema = z.union(
  [
    z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/),
    z.int(actionExpected).min(0, actionExpected).max(MAX_DISCRETE_ACTION, actionExpected),
  ],
  actionExpected,
);

/**
 * A key or a key combination: `KeyboardEvent.code` names joined by `+` (`ArrowLeft+ArrowUp`,
 * `KeyW`, `Space`), so that the mapping does not depend on the keyboard layout.
 */
export const KeyComboSchema = pattern(
  /^[A-Za-z0-9]+(\+[A-Za-z0-9]+){0,3}$/,
  'a key or up to 4 keys joined by + (KeyboardEvent.code names: ArrowLeft+ArrowUp)',
  128,
);

/** The sync settings of a game scene, without defaults (conditions override them one by one). */
const syncFields = {
  mode: oneOf(SYNC_MODES),
  inputDelay: int(INPUT_DELAY),
  maxPredictionWindow: int(PREDICTION_WINDOW),
  saveStrategy: oneOf(SAVE_STRATEGIES),
  hashInterval: int(HASH_INTERVAL),
  hashIntervalMax: int(HASH_INTERVAL),
  rejoinGraceMs: int(RECONNECT_GRACE_MS),
  referee: bool,
  transport: oneOf(INPUT_TRANSPORTS),
  broadcastDivisor: int(SCENE_LIMITS.broadcastDivisor),
  interpolationDelayMs: int(SCENE_LIMITS.interpolationDelayMs),
  maxRewindMs: int(SCENE_LIMITS.maxRewindMs),
  violationWarnAt: int(SCENE_LIMITS.violationCount),
  violationRemoveAt: int(SCENE_LIMITS.violationCount),
  violationDecayFrames: int(SCENE_LIMITS.violationDecayFrames),
};

/** The other settings of a game scene that a condition may override, without defaults. */
const gameFields = {
  players: int({ min: 1, max: MAX_PLAYERS }),
  episodes: int(EPISODES),
  framesPerEpisode: int({ min: 1, max: MATCH_FRAMES.max }),
  tickRate: int(TICK_RATE),
  defaultAction: ActionSchema.nullable(),
  onPartnerLost: oneOf(PARTNER_LOST_ACTIONS),
  bot: BotSpecSchema,
  revealBot: bool,
};

/** Names of the game settings a condition may override (flat: `inputDelay`, not `sync.inputDelay`). */
export const OVERRIDABLE_SETTINGS = Object.freeze([
  ...Object.keys(syncFields),
  ...Object.keys(gameFields),
]) as readonly (keyof typeof syncFields | keyof typeof gameFields)[];

/** The sync settings of a game scene, defaults as {@link SYNC_DEFAULTS}. */
export const SyncSchema = z.strictObject({
  mode: syncFields.mode.default(SYNC_DEFAULTS.mode),
  inputDelay: syncFields.inputDelay.default(SYNC_DEFAULTS.inputDelay),
  maxPredictionWindow: syncFields.maxPredictionWindow.default(SYNC_DEFAULTS.maxPredictionWindow),
  saveStrategy: syncFields.saveStrategy.default(SYNC_DEFAULTS.saveStrategy),
  hashInterval: syncFields.hashInterval.default(SYNC_DEFAULTS.hashInterval),
  hashIntervalMax: syncFields.hashIntervalMax.default(SYNC_DEFAULTS.hashIntervalMax),
  rejoinGraceMs: syncFields.rejoinGraceMs.default(SYNC_DEFAULTS.rejoinGraceMs),
  // No default: absent means on wherever the relay can run the sim.
  referee: syncFields.referee.optional(),
  transport: syncFields.transport.default(SYNC_DEFAULTS.transport),
  // No defaults written in: absent, the protocol's apply (a state every 3 frames, 100 ms).
  broadcastDivisor: syncFields.broadcastDivisor.optional(),
  interpolationDelayMs: syncFields.interpolationDelayMs.optional(),
  // authoritative mode's lag compensation and input validation; absent: the defaults of
  // sim/'s DEFAULT_MAX_REWIND_MS and sim/sync's VIOLATION_DEFAULTS.
  maxRewindMs: syncFields.maxRewindMs.optional(),
  violationWarnAt: syncFields.violationWarnAt.optional(),
  violationRemoveAt: syncFields.violationRemoveAt.optional(),
  violationDecayFrames: syncFields.violationDecayFrames.optional(),
});

/** The waiting room of a game scene: how long to wait for partners, in ms, and then what. */
export const WaitingRoomSchema = z.strictObject({
  timeoutMs: int(WAITING_TIMEOUT_MS).default(GAME_DEFAULTS.waitingRoom.timeoutMs),
  onTimeout: oneOf(WAITING_TIMEOUT_ACTIONS).default(GAME_DEFAULTS.waitingRoom.onTimeout),
});

/** An info page (markdown `file`); with `consent: true`, declining ends the study (`declined`). */
export const InfoSceneSchema = z.strictObject({
  kind: z.literal('info'),
  id: IdSchema,
  file: text(1, 1000),
  consent: bool.default(false),
});

/** A game: `episodes` matches of `framesPerEpisode` frames each of `sim`, with its sync settings. */
export const GameSceneSchema = z.strictObject({
  kind: z.literal('game'),
  id: IdSchema,
  sim: SimSpecSchema.default(GAME_DEFAULTS.sim),
  players: gameFields.players.default(GAME_DEFAULTS.players),
  episodes: gameFields.episodes.default(GAME_DEFAULTS.episodes),
  framesPerEpisode: gameFields.framesPerEpisode.default(GAME_DEFAULTS.framesPerEpisode),
  tickRate: gameFields.tickRate.default(GAME_DEFAULTS.tickRate),
  actions: z.record(KeyComboSchema, ActionSchema, expected('a map of keys to actions')).default({}),
  defaultAction: gameFields.defaultAction.default(GAME_DEFAULTS.defaultAction),
  sync: SyncSchema.prefault({}),
  waitingRoom: WaitingRoomSchema.prefault({}),
  onPartnerLost: gameFields.onPartnerLost.default(GAME_DEFAULTS.onPartnerLost),
  bot: gameFields.bot.default(GAME_DEFAULTS.bot),
  revealBot: gameFields.revealBot.default(GAME_DEFAULTS.revealBot),
});

const questionBase = {
  id: IdSchema,
  text: text(1, MAX_PROMPT_LENGTH),
  required: bool.default(false),
};

/** A likert question: an integer answer `1..scale`. */
export const LikertQuestionSchema = z.strictObject({
  ...questionBase,
  type: z.literal('likert'),
  scale: int(LIKERT_SCALE).default(7),
});

/** A choice question: one of `options` (strings: quote numbers). */
export const ChoiceQuestionSchema = z.strictObject({
  ...questionBase,
  type: z.literal('choice'),
  options: z
    .array(text(1, 200), expected('a list of options'))
    .min(CHOICE_OPTIONS.min, expected(`${CHOICE_OPTIONS.min}–${CHOICE_OPTIONS.max} options`))
    .max(CHOICE_OPTIONS.max, expected(`${CHOICE_OPTIONS.min}–${CHOICE_OPTIONS.max} options`)),
});

/** A free-text question: at most `maxLength` characters. */
export const TextQuestionSchema = z.strictObject({
  ...questionBase,
  type: z.literal('text'),
  maxLength: int(TEXT_ANSWER_LENGTH).default(DEFAULT_TEXT_ANSWER_LENGTH),
});

/** One survey question, by `type`. */
export const QuestionSchema = z.discriminatedUnion(
  'type',
  [LikertQuestionSchema, ChoiceQuestionSchema, TextQuestionSchema],
  expected('a question (an object with type likert, choice or text)'),
);

/** A survey: questions answered once, on one page. */
export const SurveySceneSchema = z.strictObject({
  kind: z.literal('survey'),
  id: IdSchema,
  questions: z
    .array(QuestionSchema, expected('a list of questions'))
    .min(1, expected('at least one question')),
});

const code = pattern(COMPLETION_CODE_PATTERN, 'a completion code [A-Za-z0-9_-]{1,64}');

/**
 * The last scene: the participant's completion code for their outcome, and where to send
 * them (`{code}` in `redirect` is replaced by the code).
 */
export const EndSceneSchema = z.strictObject({
  kind: z.literal('end'),
  id: IdSchema,
  completionCodes: z
    .strictObject({
      completed: code.optional(),
      timeout: code.optional(),
      partnerLeft: code.optional(),
      declined: code.optional(),
      removed: code.optional(),
    })
    .prefault({}),
  redirect: pattern(/^https?:\/\/\S+$/, 'an http(s) URL', MAX_PROMPT_LENGTH)
    .nullable()
    .default(null),
});

/** One scene, by `kind`. */
export const SceneSchema = z.discriminatedUnion(
  'kind',
  [InfoSceneSchema, GameSceneSchema, SurveySceneSchema, EndSceneSchema],
  expected('a scene (an object with kind info, game, survey or end)'),
);

/**
 * One level of a condition factor: game settings (flat names, {@link OVERRIDABLE_SETTINGS})
 * that replace those of every game scene for participants in it.
 */
export const ConditionLevelSchema = z.strictObject({
  mode: syncFields.mode.optional(),
  inputDelay: syncFields.inputDelay.optional(),
  maxPredictionWindow: syncFields.maxPredictionWindow.optional(),
  saveStrategy: syncFields.saveStrategy.optional(),
  hashInterval: syncFields.hashInterval.optional(),
  hashIntervalMax: syncFields.hashIntervalMax.optional(),
  rejoinGraceMs: syncFields.rejoinGraceMs.optional(),
  referee: syncFields.referee.optional(),
  transport: syncFields.transport.optional(),
  broadcastDivisor: syncFields.broadcastDivisor.optional(),
  interpolationDelayMs: syncFields.interpolationDelayMs.optional(),
  maxRewindMs: syncFields.maxRewindMs.optional(),
  violationWarnAt: syncFields.violationWarnAt.optional(),
  violationRemoveAt: syncFields.violationRemoveAt.optional(),
  violationDecayFrames: syncFields.violationDecayFrames.optional(),
  players: gameFields.players.optional(),
  episodes: gameFields.episodes.optional(),
  framesPerEpisode: gameFields.framesPerEpisode.optional(),
  tickRate: gameFields.tickRate.optional(),
  defaultAction: gameFields.defaultAction.optional(),
  onPartnerLost: gameFields.onPartnerLost.optional(),
  bot: gameFields.bot.optional(),
  revealBot: gameFields.revealBot.optional(),
});

const levels = expected(`a list of ${FACTOR_LEVELS.min}–${FACTOR_LEVELS.max} levels`);

/** The experiment file, as written (YAML or JSON). */
export const ExperimentFileSchema = z.strictObject({
  /** Lets editors find this schema in a JSON file; ignored. */
  $schema: z.string().optional(),
  id: IdSchema,
  conditions: z
    .record(
      pattern(FACTOR_NAME_PATTERN, 'a factor name (an identifier of up to 64 characters)'),
      z
        .array(ConditionLevelSchema, levels)
        .min(FACTOR_LEVELS.min, levels)
        .max(FACTOR_LEVELS.max, levels),
      expected('a map of factor names to lists of levels'),
    )
    .default({}),
  scenes: z.array(SceneSchema, expected('a list of scenes')).min(1, expected('at least one scene')),
});

/** An experiment file after parsing: every default filled, paths not yet resolved. */
export type ExperimentFile = z.output<typeof ExperimentFileSchema>;
/** A scene of {@link ExperimentFile}. */
export type SceneFile = z.output<typeof SceneSchema>;
/** A game scene as parsed, paths as written. */
export type GameSceneFile = z.output<typeof GameSceneSchema>;
/** An info scene as parsed. */
export type InfoSceneFile = z.output<typeof InfoSceneSchema>;
/** A survey scene as parsed. */
export type SurveyScene = z.output<typeof SurveySceneSchema>;
/** An end scene as parsed. */
export type EndScene = z.output<typeof EndSceneSchema>;
/** A survey question as parsed. */
export type Question = z.output<typeof QuestionSchema>;
/** A game scene's sync settings, filled. */
export type SyncSettings = z.output<typeof SyncSchema>;
/** One level of a condition factor: the settings it overrides. */
export type ConditionLevel = z.output<typeof ConditionLevelSchema>;
/** A sim action (name or number). */
export type Action = z.output<typeof ActionSchema>;

/**
 * The JSON Schema of the experiment file for editors (the input side: fields with defaults
 * are optional), as committed at `docs/experiment.schema.json`.
 */
export function experimentJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(ExperimentFileSchema, { io: 'input', target: 'draft-2020-12' }),
    title: 'Concord experiment file',
  };
}
