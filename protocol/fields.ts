import { describeValue, ProtocolError } from './errors.ts';
import {
  HASH_HEX_DIGITS,
  INPUT_BYTES,
  type IntRange,
  MAX_FRAME,
  MAX_PARTICIPANT_ID_LENGTH,
  MAX_PLAYERS,
  SCENE_LIMITS,
} from './limits.ts';
import type { SceneSettings } from './messages.ts';

/**
 * A field check: returns the value if it is valid, else throws {@link ProtocolError}
 * `BAD_FIELD` naming `path` (`input.frame`, `start.settings.tickRate`).
 */
export type Check<T> = (value: unknown, path: string, kind: string | undefined) => T;

/** Throws `BAD_FIELD`: `<path>: expected <expected>, got <value>`. */
export function badField(
  path: string,
  expected: string,
  got: unknown,
  kind: string | undefined,
): never {
  throw new ProtocolError(
    'BAD_FIELD',
    `${path}: expected ${expected}, got ${describeValue(got)}`,
    kind,
  );
}

/** An integer in `lo..hi` (a JS number; NaN, infinities and fractions are refused). */
export function integer(lo: number, hi: number): Check<number> {
  const expected = `an integer in ${lo}..${hi}`;
  return (value, path, kind) =>
    Number.isInteger(value) && (value as number) >= lo && (value as number) <= hi
      ? (value as number)
      : badField(path, expected, value, kind);
}

/** Any finite number (NaN and infinities are refused). */
export const finiteNumber: Check<number> = (value, path, kind) =>
  typeof value === 'number' && Number.isFinite(value)
    ? value
    : badField(path, 'a finite number', value, kind);

/** `true` or `false`. */
export const boolean: Check<boolean> = (value, path, kind) =>
  typeof value === 'boolean' ? value : badField(path, 'a boolean', value, kind);

const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

/** A string of `min..max` printable ASCII characters (0x20..0x7e). */
export function printableAscii(min: number, max: number): Check<string> {
  const expected = `${min}..${max} printable ASCII characters`;
  return (value, path, kind) =>
    typeof value === 'string' &&
    value.length >= min &&
    value.length <= max &&
    PRINTABLE_ASCII.test(value)
      ? value
      : badField(path, expected, value, kind);
}

/** Any string of at most `max` UTF-16 code units. */
export function text(max: number): Check<string> {
  const expected = `a string of at most ${max} characters`;
  return (value, path, kind) =>
    typeof value === 'string' && value.length <= max
      ? value
      : badField(path, expected, value, kind);
}

/** A string matching `pattern` (anchored), described as `expected` in errors. */
export function matching(pattern: RegExp, expected: string): Check<string> {
  return (value, path, kind) =>
    typeof value === 'string' && pattern.test(value)
      ? value
      : badField(path, expected, value, kind);
}

/** One of the given strings. */
export function oneOf<T extends string>(values: readonly T[]): Check<T> {
  const expected = `one of ${values.map((v) => `'${v}'`).join(', ')}`;
  return (value, path, kind) =>
    (values as readonly unknown[]).includes(value)
      ? (value as T)
      : badField(path, expected, value, kind);
}

/** `null` or a value that passes `check`. */
export function nullable<T>(check: Check<T>): Check<T | null> {
  return (value, path, kind) => (value === null ? null : check(value, path, kind));
}

/** A frame number: an integer in `0..MAX_FRAME`. */
export const frame = integer(0, MAX_FRAME);
/** A player slot: an integer in `0..MAX_PLAYERS-1`. */
export const slot = integer(0, MAX_PLAYERS - 1);
/** An unsigned 32-bit integer. */
export const u32 = integer(0, 0xffff_ffff);

/** Scene names: a lowercase letter or digit, then up to 63 of `a-z 0-9 _ -`. */
export const SCENE_NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/;
/** A scene name, see {@link SCENE_NAME}. */
export const sceneName = matching(SCENE_NAME, 'a scene name [a-z0-9][a-z0-9_-]{0,63}');

/** A state hash: exactly 16 lowercase hex digits. */
export const hash = matching(
  new RegExp(`^[0-9a-f]{${HASH_HEX_DIGITS}}$`),
  `exactly ${HASH_HEX_DIGITS} lowercase hex digits`,
);

/** A participant id: 1..128 printable ASCII characters. */
export const participantId = printableAscii(1, MAX_PARTICIPANT_ID_LENGTH);

/** One input: a `Uint8Array` of exactly {@link INPUT_BYTES} bytes (returned as is). */
export const inputBytes: Check<Uint8Array> = (value, path, kind) =>
  value instanceof Uint8Array && value.length === INPUT_BYTES
    ? value
    : badField(path, `a Uint8Array of exactly ${INPUT_BYTES} bytes`, value, kind);

/** An integer in one of {@link SCENE_LIMITS}' ranges. */
function inRange(range: IntRange): Check<number> {
  return integer(range.min, range.max);
}

/** The optional fields of {@link SceneSettings}: absent in an object, `null` on the wire. */
const OPTIONAL_SETTINGS = new Set<string>([
  'referee',
  'broadcastDivisor',
  'interpolationDelayMs',
  'maxRewindMs',
  'violationWarnAt',
  'violationRemoveAt',
  'violationDecayFrames',
]);

/** The fields of {@link SceneSettings} with their checks, in wire order (append only). */
export const SCENE_SETTINGS_FIELDS: readonly (readonly [keyof SceneSettings, Check<unknown>])[] = [
  ['name', sceneName],
  ['sim', printableAscii(1, 200)],
  ['players', inRange(SCENE_LIMITS.players)],
  ['tickRate', inRange(SCENE_LIMITS.tickRate)],
  ['mode', oneOf(['lockstep', 'rollback', 'authoritative'] as const)],
  ['inputDelay', inRange(SCENE_LIMITS.inputDelay)],
  ['maxPredictionWindow', inRange(SCENE_LIMITS.maxPredictionWindow)],
  ['saveStrategy', oneOf(['ring', 'sparse'] as const)],
  ['hashInterval', inRange(SCENE_LIMITS.hashInterval)],
  ['frames', inRange(SCENE_LIMITS.frames)],
  ['hashIntervalMax', inRange(SCENE_LIMITS.hashInterval)],
  ['rejoinGraceMs', inRange(SCENE_LIMITS.rejoinGraceMs)],
  ['onPlayerLost', oneOf(['continue', 'end'] as const)],
  ['referee', boolean],
  ['transport', oneOf(['auto', 'websocket', 'webrtc'] as const)],
  ['broadcastDivisor', inRange(SCENE_LIMITS.broadcastDivisor)],
  ['interpolationDelayMs', inRange(SCENE_LIMITS.interpolationDelayMs)],
  ['maxRewindMs', inRange(SCENE_LIMITS.maxRewindMs)],
  ['violationWarnAt', inRange(SCENE_LIMITS.violationCount)],
  ['violationRemoveAt', inRange(SCENE_LIMITS.violationCount)],
  ['violationDecayFrames', inRange(SCENE_LIMITS.violationDecayFrames)],
];

/** Default of {@link SceneSettings.broadcastDivisor}: a state every 3 frames (20 Hz at 60 Hz). */
export const DEFAULT_BROADCAST_DIVISOR = 3;
/** Default of {@link SceneSettings.interpolationDelayMs}: 100 ms. */
export const DEFAULT_INTERPOLATION_DELAY_MS = 100;
/** `authState.baseFrame` of an interest update (see `ServerMessage`'s `authState`). */
export const INTEREST_UPDATE_BASE = -2;

const SETTINGS_KEYS = new Set<string>(SCENE_SETTINGS_FIELDS.map(([name]) => name));

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** {@link validateSceneSettings} with the path prefix and kind used in error messages. */
export function checkSceneSettings(
  value: unknown,
  path: string,
  kind: string | undefined,
): SceneSettings {
  if (!isPlainObject(value)) badField(path, 'an object of scene settings', value, kind);
  for (const key of Object.keys(value)) {
    if (!SETTINGS_KEYS.has(key)) {
      throw new ProtocolError('BAD_FIELD', `${path}: unknown field ${describeValue(key)}`, kind);
    }
  }
  const out: Record<string, unknown> = {};
  for (const [name, check] of SCENE_SETTINGS_FIELDS) {
    if (OPTIONAL_SETTINGS.has(name) && value[name] === undefined) continue;
    out[name] = check(value[name], `${path}.${name}`, kind);
  }
  return checkIntervals(out as unknown as SceneSettings, path, kind);
}

function checkIntervals(s: SceneSettings, path: string, kind: string | undefined): SceneSettings {
  // Absent thresholds take the defaults of sim/sync's InputValidator (10 and 30).
  const warnAt = s.violationWarnAt ?? 10;
  const removeAt = s.violationRemoveAt ?? 30;
  if (removeAt < warnAt) {
    throw new ProtocolError(
      'BAD_FIELD',
      `${path}.violationRemoveAt: expected at least violationWarnAt (${warnAt}), got ${removeAt}`,
      kind,
    );
  }
  if (s.hashIntervalMax < s.hashInterval) {
    throw new ProtocolError(
      'BAD_FIELD',
      `${path}.hashIntervalMax: expected at least hashInterval (${s.hashInterval}), got ${s.hashIntervalMax}`,
      kind,
    );
  }
  return s;
}

/** A byte string of at most `max` bytes (returned as a fresh copy on decode by the caller). */
export function bytesUpTo(max: number): Check<Uint8Array> {
  return (value, path, kind) =>
    value instanceof Uint8Array && value.length <= max
      ? value
      : badField(path, `a Uint8Array of at most ${max} bytes`, value, kind);
}

/**
 * Checks scene settings, from an experiment file or from the wire, and returns a fresh copy
 * holding exactly the fields of {@link SceneSettings}.
 *
 * @param value - anything; must be a plain object with every field of {@link SceneSettings}
 *   in its range and no other field (a misspelt `tickrate` is an error, not a default).
 * @returns the settings, copied.
 * @throws {@link ProtocolError} `BAD_FIELD` naming the first bad, missing or unknown field
 *   (`settings.tickRate: expected an integer in 1..240, got 0`).
 */
export function validateSceneSettings(value: unknown): SceneSettings {
  return checkSceneSettings(value, 'settings', undefined);
}

/** Scene settings as their wire array, in {@link SCENE_SETTINGS_FIELDS} order. */
export function sceneSettingsToWire(value: unknown, path: string, kind: string): unknown[] {
  const settings = checkSceneSettings(value, path, kind);
  return SCENE_SETTINGS_FIELDS.map(([name]) => settings[name] ?? null);
}

/** Scene settings from their wire array, checked. */
export function sceneSettingsFromWire(value: unknown, path: string, kind: string): SceneSettings {
  if (!Array.isArray(value) || value.length !== SCENE_SETTINGS_FIELDS.length) {
    badField(path, `an array of ${SCENE_SETTINGS_FIELDS.length} scene settings`, value, kind);
  }
  const out: Record<string, unknown> = {};
  SCENE_SETTINGS_FIELDS.forEach(([name, check], i) => {
    if (OPTIONAL_SETTINGS.has(name) && value[i] === null) return;
    out[name] = check(value[i], `${path}.${name}`, kind);
  });
  return checkIntervals(out as unknown as SceneSettings, path, kind);
}
