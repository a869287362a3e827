/**
 * The ranges of experiment-file fields that protocol/ does not export yet. Each mirrors the
 * check of the same field in `protocol/fields.ts` (`SCENE_SETTINGS_FIELDS`), so that an
 * experiment file is refused at load time, with its field's path, for exactly what the wire
 * would refuse later.
 *
 * TODO(limits): move to protocol's table
 *
 * @packageDocumentation
 */
import { MAX_EPISODES } from '../../sim/index.ts';

/** An inclusive integer range `min..max`. */
export interface IntRange {
  /** Smallest allowed value. */
  readonly min: number;
  /** Largest allowed value. */
  readonly max: number;
}

/** Frames per second of the fixed-timestep sim. */
export const TICK_RATE: IntRange = { min: 1, max: 240 }; // TODO(limits): move to protocol's table
/** Input delay D, in frames. */
export const INPUT_DELAY: IntRange = { min: 0, max: 30 }; // TODO(limits): move to protocol's table
/** Maximum prediction window W, in frames. */
export const PREDICTION_WINDOW: IntRange = { min: 0, max: 60 }; // TODO(limits): move to protocol's table
/** K_min and K_max of the state-hash schedule, in frames. */
export const HASH_INTERVAL: IntRange = { min: 1, max: 65_536 }; // TODO(limits): move to protocol's table
/** How long a lost player may come back, in ms (0: never). */
export const RECONNECT_GRACE_MS: IntRange = { min: 0, max: 600_000 }; // TODO(limits): move to protocol's table
/** Match length in frames on the wire (0 there means unlimited; an episode needs at least 1). */
export const MATCH_FRAMES: IntRange = { min: 0, max: 10_000_000 }; // TODO(limits): move to protocol's table
/** Longest sim spec on the wire, in printable ASCII characters. */
export const MAX_SIM_SPEC_LENGTH = 200; // TODO(limits): move to protocol's table

/**
 * Ids of experiments, scenes and survey questions: a lowercase letter or digit, then up to 63 of
 * `a-z 0-9 _ -`. The protocol's scene-name pattern, since a game scene's id is its scene name
 * on the wire.
 */
export const ID_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/; // TODO(limits): move to protocol's table

/** Names of condition factors: an identifier of up to 64 characters. */
export const FACTOR_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/** Episodes (matches played in a row) of one game scene; the episode wrapper's own limit. */
export const EPISODES: IntRange = { min: 1, max: MAX_EPISODES };
/** How long a participant waits for partners before `waitingRoom.onTimeout`, in ms (0: forever). */
export const WAITING_TIMEOUT_MS: IntRange = { min: 0, max: 3_600_000 };
/** Levels of one condition factor. */
export const FACTOR_LEVELS: IntRange = { min: 1, max: 64 };
/** Cells of the conditions' cross product (the product of every factor's level count). */
export const MAX_CONDITION_CELLS = 1024;
/** Points of a likert scale (answers are `1..scale`). */
export const LIKERT_SCALE: IntRange = { min: 2, max: 11 };
/** Options of a choice question. */
export const CHOICE_OPTIONS: IntRange = { min: 2, max: 100 };
/** Longest text of a question, an option or a completion code's redirect, in characters. */
export const MAX_PROMPT_LENGTH = 2000;
/** `maxLength` of a text answer, in characters. */
export const TEXT_ANSWER_LENGTH: IntRange = { min: 1, max: 100_000 };
/** Default `maxLength` of a text answer, in characters. */
export const DEFAULT_TEXT_ANSWER_LENGTH = 5000;
/** A completion code: 1..64 characters of `A-Z a-z 0-9 _ -`. */
export const COMPLETION_CODE_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
