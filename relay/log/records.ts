/**
 * The records of a match log (formats 1 to 5) and their validation. A log is JSON Lines: one record
 * per line, UTF-8, each line ended by '\n'; the first record is the header. See
 * `docs/match-logs.md` for the meaning of every field.
 *
 * Validation is strict: a record with a missing, unknown or out-of-range field, or a hex string
 * of the wrong shape, is refused with a {@link LogError} naming its line. Checks that need more
 * than one record (slots against the header's player count, contiguous inputs) live in the
 * reader.
 */

import { SCENE_LIMITS as L } from '../../protocol/index.ts';
import {
  type ActionMapRecord,
  actionMapFromRecord,
  type EpisodeSettings,
  isSimModuleSpec,
  MAX_EPISODES,
  simBundleHash,
} from '../../sim/index.ts';
import { isPythonSimSpec, parsePythonSimSpec, pythonSourceHash } from '../../sim/python/index.ts';

/**
 * The log format version this code writes. It reads this one and every earlier one: format 2
 * added the desync, resync, converged, away and rejoin records to format 1; format 3 added
 * Python sims to the header (`sim.source`, `sim.className`, `sim.packages`); format 4 renamed
 * the `disconnect` and `reconnect` records and the scene's `reconnectGraceMs` (see
 * {@link renameOldWords}); format 5 added the `reason` of away records (`closed` or `silent`),
 * sim modules to the header (`sim.bundle`) and the header's optional `actions` and `episodes`;
 * format 6 added the `referee` record (how each disputed check was decided), the `inputPath`
 * record (which path carries a player's inputs) and the scene's `transport` setting; format 7
 * added the `handover` record (a bot takes a lost player's seat in a study), the `host` record (the
 * state hash of an authoritative match's sim host, and its late inputs), the scene's
 * `broadcastDivisor` and `interpolationDelayMs`, the `violation` record (an input the host of an
 * authoritative match refused or corrected) and the `viewDelay` record (a player's view delay for
 * lag compensation).
 */
export const LOG_FORMAT = 7;
/** The formats this code reads. */
const READABLE_FORMATS: readonly number[] = [1, 2, 3, 4, 5, 6, 7];

/**
 * Words that formats 1 to 3 wrote and format 4 renamed (one word per concept): records of type
 * `disconnect` are `left` records, `reconnect` records are `rejoin` records, and the scene's
 * `reconnectGraceMs` is `rejoinGraceMs`. A record read under an old name is renamed in place
 * before it is checked, so that readers and replay see one vocabulary whatever the log's age.
 */
function renameOldWords(value: Obj): void {
  if (value.type === 'disconnect') value.type = 'left';
  else if (value.type === 'reconnect') value.type = 'rejoin';
  else if (value.type === 'header' && isObject(value.scene) && 'reconnectGraceMs' in value.scene) {
    const scene = value.scene as Obj;
    if (!('rejoinGraceMs' in scene)) {
      // Keep the keys' order: the header is written back as read by tools that copy it.
      const renamed: Obj = {};
      for (const [k, v] of Object.entries(scene))
        renamed[k === 'reconnectGraceMs' ? 'rejoinGraceMs' : k] = v;
      value.scene = renamed;
    }
  }
}

/** Most players a match can have (protocol's table of scene limits). */
export const MAX_LOG_PLAYERS = L.players.max;

/** Longest string field (scene name, participant id, end reason, …), in UTF-16 code units. */
export const MAX_LOG_STRING = 1024;

/**
 * Kinds of {@link LogError}:
 * - `DAMAGED`: a complete line that is not a valid record, or a record that contradicts the
 *   ones before it.
 * - `TRUNCATED`: the log ends inside its header line (a crash before the header was written).
 * - `NO_HEADER`: the log is empty or its first record is not a header.
 * - `BAD_FORMAT_VERSION`: the header names a format this code does not read.
 * - `IO`: the file could not be created, read, written or closed.
 * - `BAD_RECORD`: a writer was given a record that is not valid (nothing was written).
 * - `CLOSED`: a writer was used after it was closed or after its end record.
 */
export type LogErrorCode =
  | 'DAMAGED'
  | 'TRUNCATED'
  | 'NO_HEADER'
  | 'BAD_FORMAT_VERSION'
  | 'IO'
  | 'BAD_RECORD'
  | 'CLOSED';

/** The one error type of match logs: a stable `code`, a human message and the line concerned. */
export class LogError extends Error {
  /** The kind of failure; see {@link LogErrorCode}. */
  readonly code: LogErrorCode;
  /** The 1-based line of the log the error concerns, or null when it concerns no line. */
  readonly line: number | null;

  constructor(code: LogErrorCode, message: string, line: number | null = null, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'LogError';
    this.code = code;
    this.line = line;
  }
}

/** The scene settings as the header records them (the relay's scene object, copied as is). */
export interface LogSceneSettings {
  /** Scene name, non-empty. */
  readonly name: string;
  /** Sim id; equals the header's `sim.id`. */
  readonly sim: string;
  /** Players, 1–16. */
  readonly players: number;
  /** Frames per second, 1–240. */
  readonly tickRate: number;
  readonly mode: 'lockstep' | 'rollback' | 'authoritative';
  /** Input delay D in frames, 0–30: inputs of every slot start at frame D. */
  readonly inputDelay: number;
  /** Prediction window W in frames, 0–60. */
  readonly maxPredictionWindow: number;
  readonly saveStrategy: 'ring' | 'sparse';
  /** Hash report interval K in frames, at least 1. */
  readonly hashInterval: number;
  /** Match length in frames (the match ends at state S(frames)); 0 means no limit. */
  readonly frames: number;
}

/** One player of the match. */
export interface LogPlayer {
  /** 0..players-1, equal to the entry's index. */
  readonly slot: number;
  /** The experiment's participant id, or null when the player gave none. */
  readonly participantId: string | null;
}

/**
 * The sim of a match as its header records it. For a built-in sim, its id and the code hash of
 * its TypeScript source (see `simCodeHash`). For a Python environment (id `python:FILE[:CLASS]`),
 * the environment travels with the log: its source text, `codeHash` = `pythonSourceHash(source)`,
 * the class to run and any extra Pyodide packages, so that a replay needs nothing but the log.
 */
export interface HeaderSim {
  /** The sim id, equal to the scene's `sim`. */
  readonly id: string;
  /** xxhash64 of the sim's source, 16 lowercase hex digits. */
  readonly codeHash: string;
  /** Python sims only (required for them): the environment's source text, at most 4 MiB. */
  readonly source?: string;
  /** Python sims only (required for them): CLASS of the sim spec, or null when it names none. */
  readonly className?: string | null;
  /** Python sims only, optional: extra Pyodide packages loaded before the environment. */
  readonly packages?: readonly string[];
  /**
   * Sim modules only (id a module path such as `./pong.ts`; required for them, format 5 on):
   * the esbuild bundle that every peer ran, one self-contained ES module of at most 4 Mi
   * characters; `codeHash` = `simBundleHash(bundle)`.
   */
  readonly bundle?: string;
}

/** Longest Python source a header may carry, in UTF-16 code units. */
export const MAX_LOG_SOURCE = 4 * 1024 * 1024;

/** First record of every log. */
export interface HeaderRecord {
  readonly type: 'header';
  /** {@link LOG_FORMAT} when written by this code; 1 for older logs. */
  readonly format: number;
  /** The match id, also the file name: 1–128 of `A–Z a–z 0–9 _ -`. */
  readonly matchId: string;
  readonly scene: LogSceneSettings;
  /** The sim and the xxhash64 of its source; see {@link HeaderSim}. */
  readonly sim: HeaderSim;
  /** Match seed, a 32-bit unsigned integer. */
  readonly seed: number;
  /** One entry per slot, in slot order. */
  readonly players: readonly LogPlayer[];
  /** Wall-clock start of the match, ISO 8601 UTC (`2026-11-21T23:00:00.000Z`). */
  readonly startTime: string;
  /**
   * Optional (format 5 on): the scene's keys and actions (`ActionMapRecord`), so an export turns
   * every logged input into an action name, and a replay plays a departed player's
   * `defaultAction` as the relay did.
   */
  readonly actions?: ActionMapRecord;
  /**
   * Optional (format 5 on): the match is `episodes` episodes of `framesPerEpisode` frames, the
   * sim reset at each episode's first frame with `episodeSeed(seed, e)` (sim/episodes.ts);
   * then `scene.frames` is `episodes × framesPerEpisode`. Absent: one episode.
   */
  readonly episodes?: EpisodeSettings;
}

/** An input the relay forwarded. */
export interface InputRecord {
  readonly type: 'input';
  /** Frame the input is stamped for. */
  readonly f: number;
  /** Slot of the player. */
  readonly s: number;
  /** The 4 input bytes as 8 lowercase hex digits. */
  readonly in: string;
  /** Arrival at the relay, ms since the match start. */
  readonly ms: number;
}

/** A peer's state hash report for confirmed frame `f`. */
export interface HashRecord {
  readonly type: 'hash';
  readonly f: number;
  readonly s: number;
  /** State hash of S(f), 16 lowercase hex digits. */
  readonly h: string;
  readonly ms: number;
}

/** The relay's comparison of the reports for frame `f`, once every connected peer reported. */
export interface VerdictRecord {
  readonly type: 'verdict';
  readonly f: number;
  /** True when every reported hash is equal. */
  readonly agreed: boolean;
  /** Reported hashes by slot; null for a slot that did not report. */
  readonly hashes: readonly (string | null)[];
}

/** A player left. From `lastFrame + 1` on its input is the sim's default input. */
export interface LeftRecord {
  readonly type: 'left';
  readonly s: number;
  /** Its last forwarded input frame (below the input delay, e.g. -1, when it sent none). */
  readonly lastFrame: number;
  readonly ms: number;
}

/** A peer finished: the hash it saw at confirmed frame `f`. */
export interface DoneRecord {
  readonly type: 'done';
  readonly s: number;
  readonly f: number;
  readonly h: string;
  readonly ms: number;
}

/**
 * The relay found the hashes of check frame `f` differ: the slots `differing` are repaired. Up to
 * format 5 the host's copy was always the right one; from format 6 a `referee` record just before
 * says how the right copy was found and where the repair came from (the host may be repaired).
 */
export interface DesyncRecord {
  readonly type: 'desync';
  readonly f: number;
  /** The host: the lowest slot that voted (the reference when the host rule decided). */
  readonly host: number;
  /** Reported hashes by slot; null for a slot that did not report. */
  readonly hashes: readonly (string | null)[];
  /** Slots repaired: their hash differed from the right one (the host's, or the referee's). */
  readonly differing: readonly number[];
  readonly ms: number;
}

/** How a disputed check was decided (see {@link RefereeRecord}). */
export type ArbitrationMethod = 'agreed' | 'referee' | 'host';

/**
 * How the relay decided the disputed check of frame `f` (format 6 on; one per desync record,
 * just before it). `method`: `referee` when the sim host re-simulated S(f) from the last agreed
 * checkpoint `from` with the logged inputs and its hash (`referee`) named the right copies;
 * `host` when the referee was off or could not run (`reason` says why) and the host's copy was
 * taken as right. `right` are the voting slots whose copy is right, `differing` those repaired,
 * and `source` the slot whose S(f) repairs them, `"referee"` for the relay's own S(f), or null
 * when none is repaired.
 */
export interface RefereeRecord {
  readonly type: 'referee';
  readonly f: number;
  /** The checkpoint the referee re-simulated from, or null when it did not. */
  readonly from: number | null;
  readonly method: ArbitrationMethod;
  /** Reported hashes by slot; null for a slot that did not vote. */
  readonly hashes: readonly (string | null)[];
  /** The referee's hash of S(f), or null when it did not run or could not. */
  readonly referee: string | null;
  /** Why the host rule decided (`method` is `host`), else null. */
  readonly reason: string | null;
  readonly right: readonly number[];
  readonly differing: readonly number[];
  readonly source: number | 'referee' | null;
  readonly ms: number;
}

/** The host's state of frame `f` went to slots `s`: a delta against frame `base` (-1: full). */
export interface ResyncRecord {
  readonly type: 'resync';
  readonly f: number;
  readonly s: readonly number[];
  readonly base: number;
  /** Bytes sent (the delta, or the full state). */
  readonly bytes: number;
  /** Size of the full state, bytes. */
  readonly full: number;
  readonly ms: number;
}

/** The first check after the desync at `f` on which every peer agreed: frame `at`. */
export interface ConvergedRecord {
  readonly type: 'converged';
  readonly f: number;
  readonly at: number;
  /** `at - f`. */
  readonly frames: number;
  readonly ms: number;
}

/** Why a slot went away: its connection closed, or the relay heard nothing from it for too long. */
export type AwayReason = 'closed' | 'silent';

/**
 * Slot `s` went away after its input for `lastFrame` (-1: none); the relay plays its default
 * input while it is away. `reason` (format 5 on; absent in older logs, where it was always
 * `closed`): `closed` when its connection closed, `silent` when the relay heard nothing from it
 * for `PRESENCE.awayAfterSilentMs` and closed the connection itself.
 */
export interface AwayRecord {
  readonly type: 'away';
  readonly s: number;
  readonly lastFrame: number;
  readonly reason?: AwayReason;
  readonly ms: number;
}

/** Slot `s` came back and received the state of frame `f` (`bytes` long) and the inputs since. */
export interface RejoinRecord {
  readonly type: 'rejoin';
  readonly s: number;
  readonly f: number;
  readonly bytes: number;
  readonly ms: number;
}

/**
 * Slot `s`'s sim threw while stepping to frame `f` and the peer gave up (`reason`, what was
 * thrown). A `left` record follows: the match goes on without it or ends, as the scene says.
 */
export interface FaultRecord {
  readonly type: 'fault';
  readonly s: number;
  readonly f: number;
  readonly reason: string;
  readonly ms: number;
}

/**
 * From here on slot `s`'s inputs travel over `path` (format 6 on): `webrtc`, its unordered,
 * unreliable DataChannel to the relay, or `websocket` (socket.io). `reason`: `peer` when the peer
 * switched (its channel opened, fell silent or came back), `channel <why>` when the relay saw the
 * channel close. Every player starts on `websocket`. Replay ignores it: the inputs are the same.
 */
export interface InputPathRecord {
  readonly type: 'inputPath';
  readonly s: number;
  readonly path: 'websocket' | 'webrtc';
  readonly reason: string;
  readonly ms: number;
}

/**
 * From frame `f` on (format 7), slot `s` is played by a bot with policy `bot` (`random`, `idle`
 * or the module path the experiment file names): a study scene's `onPartnerLost: bot` gave the
 * seat of a player lost for good to a bot, which rejoined it from the exact state. A `rejoin`
 * record follows when its state transfer is done; until `f` the relay played the lost player's
 * default input. Replay ignores it: the inputs are all logged.
 */
export interface HandoverRecord {
  readonly type: 'handover';
  readonly s: number;
  readonly f: number;
  readonly bot: string;
  readonly ms: number;
}

/**
 * The state hash of S(`f`) on an authoritative match's sim host (format 7 on), written at each
 * state it sent the clients; `late[s]` counts slot s's inputs so far that arrived after the host
 * had stepped their frame (each confirmed with that slot's previous input, "confirm or replace").
 * The match's input records are the inputs as the host applied them, so replay checks each `h`.
 */
export interface HostRecord {
  readonly type: 'host';
  readonly f: number;
  readonly h: string;
  readonly late: readonly number[];
  readonly ms: number;
}

/**
 * The host of an authoritative match refused or corrected an input of slot `s` stamped for
 * frame `f` (format 7 on; -1 when the frame itself was malformed): it broke `rule` (`malformed`,
 * `rate`, `tooOld`, `tooFarAhead`, `conflicting`, or a rule of the sim's such as duel's
 * `fireRate`). `outcome` `refused`: dropped (the slot's previous input was confirmed for that
 * frame); `corrected`: the sim's rule changed it, and the input record of `f` holds what was
 * applied. `count` is the slot's violation count after it, `action` what followed: `counted`,
 * `warned` (the count reached the warning threshold) or `removed` (the removal threshold: a
 * `left` record follows). Replay ignores it: the inputs recorded are those applied.
 */
export interface ViolationRecord {
  readonly type: 'violation';
  readonly s: number;
  readonly f: number;
  readonly rule: string;
  readonly outcome: 'refused' | 'corrected';
  readonly count: number;
  readonly action: 'counted' | 'warned' | 'removed';
  readonly ms: number;
}

/**
 * From frame `f` on, the host of an authoritative match judges slot `s`'s actions against the
 * world `frames` frames before the frame being stepped (lag compensation; format 7 on). Replay
 * sets the same view delays at the same frames, so lag-compensated hits replay exactly.
 */
export interface ViewDelayRecord {
  readonly type: 'viewDelay';
  readonly s: number;
  readonly f: number;
  readonly frames: number;
  readonly ms: number;
}

/** Last record of a log that was closed properly. */
export interface EndRecord {
  readonly type: 'end';
  /** Why the match ended, non-empty. */
  readonly reason: string;
  readonly ms: number;
}

/** Every record after the header. */
export type BodyRecord =
  | InputRecord
  | HashRecord
  | VerdictRecord
  | LeftRecord
  | DoneRecord
  | DesyncRecord
  | RefereeRecord
  | ResyncRecord
  | ConvergedRecord
  | AwayRecord
  | RejoinRecord
  | FaultRecord
  | InputPathRecord
  | HandoverRecord
  | HostRecord
  | ViolationRecord
  | ViewDelayRecord
  | EndRecord;

/** Any record of a match log. */
export type LogRecord = HeaderRecord | BodyRecord;

const HEX8 = /^[0-9a-f]{8}$/;
const HEX16 = /^[0-9a-f]{16}$/;
const MATCH_ID = /^[A-Za-z0-9_-]{1,128}$/;
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;

/** True when `id` can name a match and its log file (`A–Z a–z 0–9 _ -`, 1–128 characters). */
export function isValidMatchId(id: unknown): id is string {
  return typeof id === 'string' && MATCH_ID.test(id);
}

/** Thrown inside validation; turned into a LogError with the line by the caller. */
class Invalid extends Error {}

type Obj = Record<string, unknown>;

function isObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Refuses a key outside `allowed` (so a typo or a future field never passes unnoticed). */
function onlyKeys(o: Obj, allowed: readonly string[], what: string): void {
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) throw new Invalid(`${what} has an unknown field "${k}"`);
  }
}

function int(o: Obj, key: string, min: number, max: number): number {
  const v = o[key];
  if (!Number.isSafeInteger(v) || (v as number) < min || (v as number) > max) {
    throw new Invalid(`"${key}" must be an integer in ${min}..${max}, got ${JSON.stringify(v)}`);
  }
  return v as number;
}

function frame(o: Obj, key: string, min = 0): number {
  return int(o, key, min, Number.MAX_SAFE_INTEGER);
}

function slot(o: Obj, key: string): number {
  return int(o, key, 0, MAX_LOG_PLAYERS - 1);
}

function ms(o: Obj): number {
  const v = o.ms;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
    throw new Invalid(`"ms" must be a finite number ≥ 0, got ${JSON.stringify(v)}`);
  }
  return v;
}

function str(o: Obj, key: string): string {
  const v = o[key];
  if (typeof v !== 'string' || v.length === 0 || v.length > MAX_LOG_STRING) {
    throw new Invalid(
      `"${key}" must be a non-empty string of at most ${MAX_LOG_STRING} characters`,
    );
  }
  return v;
}

function hex(o: Obj, key: string, shape: RegExp, digits: number): string {
  const v = o[key];
  if (typeof v !== 'string' || !shape.test(v)) {
    throw new Invalid(`"${key}" must be ${digits} lowercase hex digits, got ${JSON.stringify(v)}`);
  }
  return v;
}

function oneOf<T extends string>(o: Obj, key: string, values: readonly T[]): T {
  const v = o[key];
  if (!values.includes(v as T)) {
    throw new Invalid(`"${key}" must be one of ${values.join(', ')}, got ${JSON.stringify(v)}`);
  }
  return v as T;
}

/**
 * Checks the scene's known fields. Fields beyond them are kept as they are: the scene object is
 * the relay's, and a newer relay may carry settings this reader does not need.
 */
function checkScene(v: unknown): void {
  if (!isObject(v)) throw new Invalid('"scene" must be an object');
  try {
    str(v, 'name');
    str(v, 'sim');
    int(v, 'players', L.players.min, L.players.max);
    int(v, 'tickRate', L.tickRate.min, L.tickRate.max);
    oneOf(v, 'mode', ['lockstep', 'rollback', 'authoritative']);
    int(v, 'inputDelay', L.inputDelay.min, L.inputDelay.max);
    int(v, 'maxPredictionWindow', L.maxPredictionWindow.min, L.maxPredictionWindow.max);
    oneOf(v, 'saveStrategy', ['ring', 'sparse']);
    frame(v, 'hashInterval', 1);
    frame(v, 'frames');
  } catch (err) {
    if (err instanceof Invalid) throw new Invalid(`scene: ${err.message}`);
    throw err;
  }
}

function checkHeader(o: Obj): void {
  onlyKeys(
    o,
    [
      'type',
      'format',
      'matchId',
      'scene',
      'sim',
      'seed',
      'players',
      'startTime',
      'actions',
      'episodes',
    ],
    'header',
  );
  if (!isValidMatchId(o.matchId)) {
    throw new Invalid(
      `"matchId" must be 1–128 of A–Z a–z 0–9 _ -, got ${JSON.stringify(o.matchId)}`,
    );
  }
  checkScene(o.scene);
  const scene = o.scene as unknown as LogSceneSettings;
  if (!isObject(o.sim)) throw new Invalid('"sim" must be an object {id, codeHash}');
  onlyKeys(o.sim, ['id', 'codeHash', 'source', 'className', 'packages', 'bundle'], '"sim"');
  const simId = str(o.sim, 'id');
  hex(o.sim, 'codeHash', HEX16, 16);
  if (simId !== scene.sim) {
    throw new Invalid(`"sim.id" is "${simId}" but the scene's sim is "${scene.sim}"`);
  }
  checkHeaderSim(o.sim, simId, o.format as number);
  int(o, 'seed', 0, 0xffffffff);
  const players = o.players;
  if (!Array.isArray(players) || players.length !== scene.players) {
    throw new Invalid(`"players" must be an array of ${scene.players} entries (scene.players)`);
  }
  players.forEach((p: unknown, i) => {
    if (!isObject(p)) throw new Invalid(`players[${i}] must be an object {slot, participantId}`);
    onlyKeys(p, ['slot', 'participantId'], `players[${i}]`);
    if (p.slot !== i) throw new Invalid(`players[${i}].slot must be ${i}`);
    if (p.participantId !== null) str(p, 'participantId');
  });
  const t = o.startTime;
  if (typeof t !== 'string' || !ISO_UTC.test(t) || !Number.isFinite(Date.parse(t))) {
    throw new Invalid(`"startTime" must be an ISO 8601 UTC time, got ${JSON.stringify(t)}`);
  }
  const format = o.format as number;
  if ('actions' in o) {
    if (format < 5) throw new Invalid('"actions" needs log format 5 or later');
    checkHeaderActions(o.actions);
  }
  if ('episodes' in o) {
    if (format < 5) throw new Invalid('"episodes" needs log format 5 or later');
    checkHeaderEpisodes(o.episodes, scene);
  }
}

/** The header's `actions`: an `ActionMapRecord` that rebuilds (names with inputs, combos valid). */
function checkHeaderActions(v: unknown): void {
  if (!isObject(v)) throw new Invalid('"actions" must be an object {keys, defaultAction, inputs}');
  onlyKeys(v, ['keys', 'defaultAction', 'inputs'], '"actions"');
  if (!isObject(v.keys) || !isObject(v.inputs)) {
    throw new Invalid('"actions.keys" and "actions.inputs" must be objects');
  }
  const d = v.defaultAction;
  if (d !== null && typeof d !== 'string' && typeof d !== 'number') {
    throw new Invalid('"actions.defaultAction" must be an action name, a number or null');
  }
  try {
    actionMapFromRecord(v as unknown as ActionMapRecord);
  } catch (err) {
    throw new Invalid(`"actions": ${(err as Error).message.replace(/\n/g, '; ')}`);
  }
}

/** The header's `episodes`: counts in range, and the scene's frame limit their product. */
function checkHeaderEpisodes(v: unknown, scene: LogSceneSettings): void {
  if (!isObject(v)) throw new Invalid('"episodes" must be an object {episodes, framesPerEpisode}');
  onlyKeys(v, ['episodes', 'framesPerEpisode'], '"episodes"');
  int(v, 'episodes', 1, MAX_EPISODES);
  int(v, 'framesPerEpisode', 1, Number.MAX_SAFE_INTEGER);
  const total = (v.episodes as number) * (v.framesPerEpisode as number);
  if (scene.frames !== total) {
    throw new Invalid(
      `"scene.frames" must be episodes × framesPerEpisode (${total}) when the header has "episodes", got ${scene.frames}`,
    );
  }
}

/**
 * The Python fields of a header's sim: present exactly for `python:` ids, the class as the spec
 * names it, and a source that hashes to the recorded code hash (so a damaged or edited source
 * is refused before a replay runs it).
 */
function checkHeaderSim(sim: Obj, simId: string, format: number): void {
  const module = isSimModuleSpec(simId);
  if (module && format >= 5) {
    checkHeaderBundle(sim, simId);
    return;
  }
  if ('bundle' in sim) {
    throw new Invalid(`"sim.bundle" is only for sim modules (id a module path such as ./sim.ts)`);
  }
  const python = isPythonSimSpec(simId);
  if (!python) {
    for (const k of ['source', 'className', 'packages']) {
      if (k in sim) throw new Invalid(`"sim.${k}" is only for Python sims (id python:...)`);
    }
    return;
  }
  if (format < 3) throw new Invalid(`a Python sim ("${simId}") needs log format 3 or later`);
  let spec: { className: string | null };
  try {
    spec = parsePythonSimSpec(simId);
  } catch (err) {
    throw new Invalid(`"sim.id": ${(err as Error).message}`);
  }
  const source = sim.source;
  if (typeof source !== 'string' || source.length > MAX_LOG_SOURCE) {
    throw new Invalid(
      `"sim.source" must be the Python environment's source (a string of at most ${MAX_LOG_SOURCE} characters)`,
    );
  }
  if (sim.className !== spec.className) {
    throw new Invalid(
      `"sim.className" must be ${JSON.stringify(spec.className)} (from "${simId}"), got ${JSON.stringify(sim.className)}`,
    );
  }
  if ('packages' in sim) {
    const p = sim.packages;
    if (
      !Array.isArray(p) ||
      p.length > 64 ||
      !p.every((x) => typeof x === 'string' && x.length > 0 && x.length <= 100)
    ) {
      throw new Invalid('"sim.packages" must be an array of at most 64 package names');
    }
  }
  const computed = pythonSourceHash(source);
  if (computed !== sim.codeHash) {
    throw new Invalid(
      `"sim.source" hashes to ${computed}, not the recorded codeHash ${String(sim.codeHash)}: the source in the header was changed or damaged`,
    );
  }
}

/** A sim module's bundle: present, a string of bounded size that hashes to the code hash. */
function checkHeaderBundle(sim: Obj, simId: string): void {
  for (const k of ['source', 'className', 'packages']) {
    if (k in sim) throw new Invalid(`"sim.${k}" is only for Python sims (id python:...)`);
  }
  const bundle = sim.bundle;
  if (typeof bundle !== 'string' || bundle.length === 0 || bundle.length > MAX_LOG_SOURCE) {
    throw new Invalid(
      `"sim.bundle" must be the bundle of the sim module ${simId} (a string of 1 to ${MAX_LOG_SOURCE} characters)`,
    );
  }
  const computed = simBundleHash(bundle);
  if (computed !== sim.codeHash) {
    throw new Invalid(
      `"sim.bundle" hashes to ${computed}, not the recorded codeHash ${String(sim.codeHash)}: the bundle in the header was changed or damaged`,
    );
  }
}

/** The `hashes` of a verdict or desync record: by slot, 16 hex digits or null. */
function hashList(o: Obj): readonly (string | null)[] {
  const hashes = o.hashes;
  if (!Array.isArray(hashes) || hashes.length < 1 || hashes.length > MAX_LOG_PLAYERS) {
    throw new Invalid(`"hashes" must be an array of 1..${MAX_LOG_PLAYERS} entries`);
  }
  for (const h of hashes) {
    if (h !== null && (typeof h !== 'string' || !HEX16.test(h))) {
      throw new Invalid(`"hashes" entries must be 16 lowercase hex digits or null`);
    }
  }
  return hashes;
}

function slotList(o: Obj, key: string): void {
  const v = o[key];
  if (!Array.isArray(v) || v.length > MAX_LOG_PLAYERS) {
    throw new Invalid(`"${key}" must be an array of slots`);
  }
  v.forEach((x: unknown, i) => {
    if (!Number.isInteger(x) || (x as number) < 0 || (x as number) >= MAX_LOG_PLAYERS) {
      throw new Invalid(`"${key}"[${i}] must be a slot, got ${JSON.stringify(x)}`);
    }
  });
}

function checkBody(o: Obj): void {
  switch (o.type) {
    case 'input':
      onlyKeys(o, ['type', 'f', 's', 'in', 'ms'], 'input record');
      frame(o, 'f');
      slot(o, 's');
      hex(o, 'in', HEX8, 8);
      ms(o);
      return;
    case 'hash':
      onlyKeys(o, ['type', 'f', 's', 'h', 'ms'], 'hash record');
      frame(o, 'f');
      slot(o, 's');
      hex(o, 'h', HEX16, 16);
      ms(o);
      return;
    case 'verdict': {
      onlyKeys(o, ['type', 'f', 'agreed', 'hashes'], 'verdict record');
      frame(o, 'f');
      if (typeof o.agreed !== 'boolean') throw new Invalid('"agreed" must be a boolean');
      const hashes = hashList(o);
      const present = hashes.filter((h) => h !== null);
      if (o.agreed && present.some((h) => h !== present[0])) {
        throw new Invalid('"agreed" is true but the hashes differ');
      }
      return;
    }
    case 'left':
      onlyKeys(o, ['type', 's', 'lastFrame', 'ms'], 'left record');
      slot(o, 's');
      frame(o, 'lastFrame', -1);
      ms(o);
      return;
    case 'done':
      onlyKeys(o, ['type', 's', 'f', 'h', 'ms'], 'done record');
      slot(o, 's');
      frame(o, 'f');
      hex(o, 'h', HEX16, 16);
      ms(o);
      return;
    case 'desync': {
      onlyKeys(o, ['type', 'f', 'host', 'hashes', 'differing', 'ms'], 'desync record');
      frame(o, 'f');
      slot(o, 'host');
      hashList(o);
      slotList(o, 'differing');
      ms(o);
      return;
    }
    case 'referee': {
      onlyKeys(
        o,
        [
          'type',
          'f',
          'from',
          'method',
          'hashes',
          'referee',
          'reason',
          'right',
          'differing',
          'source',
          'ms',
        ],
        'referee record',
      );
      frame(o, 'f');
      if (o.from !== null) frame(o, 'from');
      oneOf(o, 'method', ['agreed', 'referee', 'host']);
      hashList(o);
      if (o.referee !== null) hex(o, 'referee', HEX16, 16);
      if (o.reason !== null) str(o, 'reason');
      slotList(o, 'right');
      slotList(o, 'differing');
      if (o.source !== null && o.source !== 'referee') slot(o, 'source');
      ms(o);
      return;
    }
    case 'resync':
      onlyKeys(o, ['type', 'f', 's', 'base', 'bytes', 'full', 'ms'], 'resync record');
      frame(o, 'f');
      slotList(o, 's');
      frame(o, 'base', -2);
      frame(o, 'bytes');
      frame(o, 'full');
      ms(o);
      return;
    case 'converged':
      onlyKeys(o, ['type', 'f', 'at', 'frames', 'ms'], 'converged record');
      frame(o, 'f');
      frame(o, 'at');
      frame(o, 'frames');
      ms(o);
      return;
    case 'away':
      onlyKeys(o, ['type', 's', 'lastFrame', 'reason', 'ms'], 'away record');
      slot(o, 's');
      frame(o, 'lastFrame', -1);
      if ('reason' in o) oneOf(o, 'reason', ['closed', 'silent']);
      ms(o);
      return;
    case 'rejoin':
      onlyKeys(o, ['type', 's', 'f', 'bytes', 'ms'], 'rejoin record');
      slot(o, 's');
      frame(o, 'f');
      frame(o, 'bytes');
      ms(o);
      return;
    case 'fault':
      onlyKeys(o, ['type', 's', 'f', 'reason', 'ms'], 'fault record');
      slot(o, 's');
      frame(o, 'f');
      str(o, 'reason');
      ms(o);
      return;
    case 'inputPath':
      onlyKeys(o, ['type', 's', 'path', 'reason', 'ms'], 'inputPath record');
      slot(o, 's');
      oneOf(o, 'path', ['websocket', 'webrtc']);
      str(o, 'reason');
      ms(o);
      return;
    case 'handover':
      onlyKeys(o, ['type', 's', 'f', 'bot', 'ms'], 'handover record');
      slot(o, 's');
      frame(o, 'f');
      str(o, 'bot');
      ms(o);
      return;
    case 'host': {
      onlyKeys(o, ['type', 'f', 'h', 'late', 'ms'], 'host record');
      frame(o, 'f');
      hex(o, 'h', HEX16, 16);
      const late = o.late;
      if (
        !Array.isArray(late) ||
        late.length > MAX_LOG_PLAYERS ||
        !late.every((n) => Number.isSafeInteger(n) && n >= 0)
      ) {
        throw new Invalid(`"late" must be an array of at most ${MAX_LOG_PLAYERS} counts`);
      }
      ms(o);
      return;
    }
    case 'violation':
      onlyKeys(
        o,
        ['type', 's', 'f', 'rule', 'outcome', 'count', 'action', 'ms'],
        'violation record',
      );
      slot(o, 's');
      frame(o, 'f', -1);
      if (typeof o.rule !== 'string' || !/^[A-Za-z][A-Za-z0-9]{0,31}$/.test(o.rule)) {
        throw new Invalid(
          `"rule" must be a rule name (1-32 letters and digits), got ${JSON.stringify(o.rule)}`,
        );
      }
      oneOf(o, 'outcome', ['refused', 'corrected']);
      frame(o, 'count', 1);
      oneOf(o, 'action', ['counted', 'warned', 'removed']);
      ms(o);
      return;
    case 'viewDelay':
      onlyKeys(o, ['type', 's', 'f', 'frames', 'ms'], 'viewDelay record');
      slot(o, 's');
      frame(o, 'f');
      int(o, 'frames', 0, 1000);
      ms(o);
      return;
    case 'end':
      onlyKeys(o, ['type', 'reason', 'ms'], 'end record');
      str(o, 'reason');
      ms(o);
      return;
    default:
      throw new Invalid(`unknown record type ${JSON.stringify(o.type)}`);
  }
}

/**
 * Validates a parsed value as a record (formats 1 to 5) and returns it typed (the same object,
 * with the words of formats 1 to 3 renamed to today's).
 * @param lineNo the 1-based line it came from, for the error (null when it came from no line)
 * @param code the error code for an invalid record: `DAMAGED` when reading (default),
 *   `BAD_RECORD` when writing
 * @throws LogError `BAD_FORMAT_VERSION` for a header of another format; `code` for anything
 *   else wrong, with a message naming the field.
 */
export function validateRecord(
  value: unknown,
  lineNo: number | null,
  code: 'DAMAGED' | 'BAD_RECORD' = 'DAMAGED',
): LogRecord {
  const where = lineNo === null ? 'record' : `line ${lineNo}`;
  if (!isObject(value))
    throw new LogError(code, `${where}: a record must be a JSON object`, lineNo);
  if (value.type === 'header' && !READABLE_FORMATS.includes(value.format as number)) {
    throw new LogError(
      'BAD_FORMAT_VERSION',
      `${where}: log format ${JSON.stringify(value.format)}; this reader knows format ${LOG_FORMAT}`,
      lineNo,
    );
  }
  renameOldWords(value);
  try {
    if (value.type === 'header') checkHeader(value);
    else checkBody(value);
  } catch (err) {
    if (err instanceof Invalid) {
      const type = typeof value.type === 'string' ? `${value.type} record` : 'record';
      throw new LogError(code, `${where}: ${type}: ${err.message}`, lineNo);
    }
    throw err;
  }
  return value as unknown as LogRecord;
}

/**
 * Parses one line of a log (without its '\n') into a record.
 * @param lineNo its 1-based line number, named in the error
 * @throws LogError `DAMAGED` when the line is not JSON or not a valid record;
 *   `BAD_FORMAT_VERSION` for a header of another format.
 */
export function parseRecord(line: string, lineNo: number): LogRecord {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (err) {
    throw new LogError(
      'DAMAGED',
      `line ${lineNo}: not JSON (${(err as Error).message}): ${preview(line)}`,
      lineNo,
    );
  }
  return validateRecord(value, lineNo);
}

/** The start of a bad line, for messages. */
function preview(line: string): string {
  return JSON.stringify(line.length > 60 ? `${line.slice(0, 60)}…` : line);
}

/** The line of a record: its JSON and '\n'. */
export function formatRecord(record: LogRecord): string {
  return `${JSON.stringify(record)}\n`;
}
