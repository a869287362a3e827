/**
 * A match's per-frame table, from replaying its log (`relay/log/replay.ts`): one row per frame
 * S(0)..S(final), with every player's input decoded into the scene's action names, a Python
 * environment's rewards, terminations and truncations, the state hash at check frames, the log's
 * events on their frame, and (optionally) the state every N frames. The replay checks every hash
 * the log records; the table is built only when all of them are reproduced.
 *
 * @packageDocumentation
 */
import {
  type ActionMap,
  type ActionTable,
  actionMapFromRecord,
  type CanonicalValue,
  canonicalDecode,
  createActionMap,
  type EpisodicSim,
  episodeOf,
  getSimFactory,
  type Input,
  type Sim,
} from '../../sim/index.ts';
import type { JsonValue, PythonSim } from '../../sim/python/index.ts';
import {
  type BodyRecord,
  type HeaderRecord,
  type MatchLog,
  type ReplayResult,
  readMatchLog,
  replayLog,
} from '../log/index.ts';
import { importSimBundle } from '../sim-bundle.ts';
import { type Column, column } from './columns.ts';
import { csvField, csvRecord } from './csv.ts';
import { ExportError } from './errors.ts';

/** Settings of {@link matchFrames}. */
export interface MatchFramesOptions {
  /**
   * Adds a `state` column holding the state as JSON at every frame that is a multiple of this
   * (1: every frame); 0 or absent: no state column.
   */
  readonly statesEvery?: number;
  /**
   * The action map of a match whose header records none (logs before format 5, or written by a
   * relay that did not add the scene's keys and actions), e.g. its game scene's in the experiment
   * file, built over `simActions`, the sim's own named actions; null or absent: the sim's own.
   */
  readonly actionsFor?: (header: HeaderRecord, simActions: ActionTable) => ActionMap | null;
}

/** A value of a frame row: a CSV-able scalar, an event list or a JSON state. */
export type FrameValue = string | number | boolean | null | readonly BodyRecord[] | JsonValue;

/** A match's per-frame table. */
export interface MatchFrames {
  readonly matchId: string;
  /** The log's header (scene settings, sim, seed, players). */
  readonly header: HeaderRecord;
  /** The columns, in order. */
  readonly columns: readonly Column[];
  /** One row per frame from 0 to the final frame, its values in column order. */
  readonly rows: readonly (readonly FrameValue[])[];
  /** What the replay found (every recorded hash reproduced). */
  readonly replay: ReplayResult;
}

/** Record types that become events of the frame table (a row lists them in log order). */
const EVENT_TYPES = new Set<BodyRecord['type']>([
  'desync',
  'resync',
  'converged',
  'away',
  'rejoin',
  'left',
  'fault',
  'end',
]);

/**
 * The frame of the per-frame table an event record belongs to (before clamping to the table):
 * a desync or resync at its check frame `f`, converged at `at`, away and left at the first frame
 * the player's own input is missing (`lastFrame + 1`), a rejoin at the frame of the state it
 * received, a fault at the frame the sim threw on, the end at the final frame (null here).
 */
function eventFrame(r: BodyRecord): number | null {
  switch (r.type) {
    case 'desync':
    case 'resync':
    case 'rejoin':
    case 'fault':
      return r.f;
    case 'converged':
      return r.at;
    case 'away':
    case 'left':
      return Math.max(0, r.lastFrame + 1);
    default:
      return null;
  }
}

/**
 * The CSV token of an event: its type, then the slots concerned after a colon (`+`-joined):
 * `desync:1`, `resync:1+2`, `away:0`, `rejoin:0`, `left:1`, `fault:1`, `converged`, `end`.
 */
export function eventToken(r: BodyRecord): string {
  switch (r.type) {
    case 'desync':
      return `desync:${r.differing.join('+')}`;
    case 'resync':
      return `resync:${r.s.join('+')}`;
    case 'away':
    case 'rejoin':
    case 'left':
    case 'fault':
      return `${r.type}:${r.s}`;
    default:
      return r.type;
  }
}

/**
 * The per-frame table of the match log at `log` (a path or a log already read), from one replay.
 * Rows: S(0)..S(final) (the frame of the peers' done records, or the scene's limit). Row f holds
 * the inputs I(f, p) that take S(f) to S(f+1) (none at the final frame) and, for a Python
 * environment, what `step` returned on that step.
 *
 * @throws ExportError `DAMAGED_LOG` naming the match and line when the log has a bad line;
 *   `REPLAY_MISMATCH` naming the match and the frame as soon as the replayed state's hash differs
 *   from a recorded one (a hash a repaired desync explains is no mismatch); `BAD_OPTION` for a
 *   `statesEvery` that is not a whole number ≥ 0. LogError when the log cannot be read or has no
 *   header; ConcordError when its sim cannot run (as `replayMatchLog`).
 */
export async function matchFrames(
  log: MatchLog | string,
  options: MatchFramesOptions = {},
): Promise<MatchFrames> {
  const statesEvery = options.statesEvery ?? 0;
  if (!Number.isInteger(statesEvery) || statesEvery < 0) {
    throw new ExportError(
      'BAD_OPTION',
      `statesEvery must be a whole number of frames ≥ 0, got ${statesEvery}`,
    );
  }
  const read = typeof log === 'string' ? await readMatchLog(log) : log;
  const { header } = read;
  const matchId = header.matchId;
  if (read.damaged) {
    throw new ExportError(
      'DAMAGED_LOG',
      `match ${matchId}: the log ${read.path ?? ''} is damaged at line ${read.damaged.line} (${read.damaged.message}); export refused`,
      { matchId },
    );
  }
  const players = header.scene.players;
  const python = header.sim.source !== undefined;
  let actions: ActionMap;
  if (header.actions) actions = actionMapFromRecord(header.actions);
  else {
    const table = await simActionTable(header);
    actions =
      options.actionsFor?.(header, table) ??
      createActionMap({ actions: {}, defaultAction: null }, table);
  }
  const columns = frameColumns(header, statesEvery > 0);
  const at = (name: string) => columns.findIndex((c) => c.name === name);
  // Where each slot's reward sits; its termination and truncation follow it.
  const rewardAt = Array.from({ length: players }, (_, s) => at(`p${s}_reward`));
  const lastInput = lastInputFrames(read);

  // rows[f] is frame f's row: the replay calls onFrame for frames 0, 1, 2, … in order.
  const rows: FrameValue[][] = [];
  const replay = await replayLog(read, {
    onFrame: ({ frame, sim, inputs, hash, mismatches }) => {
      if (mismatches.length > 0) {
        const m = mismatches[0];
        const who = m.slot < 0 ? "the relay's referee" : `slot ${m.slot}`;
        throw new ExportError(
          'REPLAY_MISMATCH',
          `match ${matchId}: the replay does not reproduce the recorded state hash at frame ${frame} ` +
            `(${who} recorded ${m.recorded}, the replay computes ${m.computed}; ${m.source} record on line ${m.line}); export stopped`,
          { matchId, frame },
        );
      }
      const row: FrameValue[] = [
        matchId,
        frame,
        header.episodes ? episodeOf(frame, header.episodes) : 0,
      ];
      for (let s = 0; s < players; s++) {
        const input: Input | null = inputs ? inputs[s] : null;
        const last = lastInput[s];
        const isDefault =
          input === null
            ? null
            : frame < header.scene.inputDelay || (last !== null && frame > last);
        row.push(
          input === null ? null : actions.actionOf(input),
          input?.buttons ?? null,
          input?.x ?? null,
          input?.y ?? null,
          isDefault,
        );
        if (python) row.push(null, null, null);
      }
      row.push(hash, []);
      if (statesEvery > 0) row.push(frame % statesEvery === 0 ? stateJson(sim) : null);
      rows.push(row);
    },
    onStep: python
      ? ({ frame, result, agentIds }) => {
          const row = rows[frame];
          if (!row || !result || !agentIds) return;
          for (let s = 0; s < players; s++) {
            const r = rewardAt[s];
            row[r] = numberOrNull(perAgent(result.rewards, agentIds[s], s));
            row[r + 1] = booleanOrNull(perAgent(result.terminateds, agentIds[s], s));
            row[r + 2] = booleanOrNull(perAgent(result.truncateds, agentIds[s], s));
          }
        }
      : undefined,
  });
  // Events on their frame, clamped to the rows (a player who leaves after the end: the last row).
  const eventsAt = at('events');
  const lastRow = rows.length - 1;
  for (const r of read.records) {
    if (!EVENT_TYPES.has(r.type)) continue;
    const f = eventFrame(r) ?? lastRow;
    (rows[Math.min(Math.max(f, 0), lastRow)][eventsAt] as BodyRecord[]).push(r);
  }
  return { matchId, header, columns, rows, replay };
}

/** The last input frame each slot sent before it left, or null for a slot that did not leave. */
function lastInputFrames(log: MatchLog): (number | null)[] {
  const out: (number | null)[] = new Array(log.header.scene.players).fill(null);
  for (const r of log.records) if (r.type === 'left') out[r.s] = r.lastFrame;
  return out;
}

/**
 * The sim's own named actions: a built-in sim's or a sim module's table; none for a Python
 * environment (every input is then named by its discrete action number, when it is one).
 */
async function simActionTable(header: HeaderRecord): Promise<ActionTable> {
  if (header.sim.bundle !== undefined) {
    const module = await importSimBundle(header.sim.bundle, `the sim module ${header.sim.id}`);
    return module.actions ?? {};
  }
  if (header.sim.source !== undefined) return {};
  try {
    return getSimFactory(header.sim.id).actions ?? {};
  } catch {
    return {}; // the replay names the unknown sim
  }
}

/** The value of agent `agentId` (slot `slot`) in a step result's dict, list or scalar. */
function perAgent(v: JsonValue, agentId: string | number, slot: number): JsonValue | undefined {
  if (Array.isArray(v)) return v[slot];
  if (v !== null && typeof v === 'object') return (v as Record<string, JsonValue>)[String(agentId)];
  return v; // one value for every agent (a single-agent Gymnasium environment)
}

function numberOrNull(v: JsonValue | undefined): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

function booleanOrNull(v: JsonValue | undefined): boolean | null {
  return typeof v === 'boolean' ? v : null;
}

/**
 * The state S(f) as JSON: for a Python environment what its `get_state()` returned; for other
 * sims their canonical state decoded (byte strings as lowercase hex). An episodic match gives the
 * state of the episode's sim (the episode is a column of its own).
 */
export function stateJson(sim: Sim): JsonValue {
  const s = 'inner' in sim && 'settings' in sim ? (sim as EpisodicSim).inner : sim;
  if ('lastStep' in s && 'agentIds' in s) return (s as PythonSim).save().env;
  return toJson(canonicalDecode(s.encode(s.save())) as CanonicalValue);
}

function toJson(v: CanonicalValue): JsonValue {
  if (v instanceof Uint8Array) return Buffer.from(v).toString('hex');
  if (Array.isArray(v)) return v.map(toJson);
  if (v !== null && typeof v === 'object') {
    const out: Record<string, JsonValue> = {};
    for (const [k, x] of Object.entries(v)) out[k] = toJson(x as CanonicalValue);
    return out;
  }
  return v as JsonValue;
}

/**
 * The columns of a match's frame table (see docs/your-data.md): `match_id`, `frame`, `episode`;
 * per slot s `p{s}_action`, `p{s}_buttons`, `p{s}_x`, `p{s}_y`, `p{s}_default` and, for a Python
 * environment, `p{s}_reward`, `p{s}_terminated`, `p{s}_truncated`; `state_hash`, `events`; and
 * `state` when states are written.
 */
export function frameColumns(header: HeaderRecord, withStates: boolean): Column[] {
  const python = header.sim.source !== undefined;
  const out: Column[] = [
    column('match_id', 'string', 'The match: its log is `logs/<match_id>.jsonl`.'),
    column(
      'frame',
      'integer',
      'The frame f: the row describes the state S(f) and the inputs that take it to S(f+1). ' +
        'Seconds since the match start: frame / tick rate (`matches.csv`).',
      'frames',
    ),
    column(
      'episode',
      'integer',
      'The episode of the frame, from 0 (always 0 for a match of one episode).',
    ),
  ];
  for (let s = 0; s < header.scene.players; s++) {
    const who = `Player slot ${s}'s`;
    out.push(
      column(
        `p${s}_action`,
        'action',
        `${who} input for this frame, named by the scene's actions (or the sim's), else its discrete action number; empty when the input is none of them (e.g. an aim) and at the final frame.`,
      ),
      column(
        `p${s}_buttons`,
        'integer',
        `${who} raw input: the 16-bit field of held buttons (0–65535; each sim names its bits); empty at the final frame.`,
      ),
      column(
        `p${s}_x`,
        'integer',
        `${who} raw input: the x axis (−128–127, e.g. an aim); empty at the final frame.`,
      ),
      column(
        `p${s}_y`,
        'integer',
        `${who} raw input: the y axis (−128–127); empty at the final frame.`,
      ),
      column(
        `p${s}_default`,
        'boolean',
        `True when no input of slot ${s} is logged for this frame and the sim's default input was played: before the input delay, or after the player left. (While a player is away the relay logs the default input it plays for them: see the away and rejoin events.)`,
      ),
    );
    if (python) {
      out.push(
        column(
          `p${s}_reward`,
          'number',
          `The reward the Python environment's \`step\` returned for slot ${s}'s agent on this frame's step; empty at the final frame.`,
        ),
        column(
          `p${s}_terminated`,
          'boolean',
          `The termination \`step\` returned for slot ${s}'s agent on this frame's step.`,
        ),
        column(
          `p${s}_truncated`,
          'boolean',
          `The truncation \`step\` returned for slot ${s}'s agent on this frame's step.`,
        ),
      );
    }
  }
  out.push(
    column(
      'state_hash',
      'hex',
      "The xxhash64 of S(f) (16 hex digits) at the frames the log records a hash for (check frames, the peers' final frame) and at the last row; empty elsewhere. Equal to every hash recorded there.",
    ),
    column(
      'events',
      'events',
      "What the log records on this frame: `desync:SLOTS` (the check of this frame found SLOTS differing), `resync:SLOTS` (the state of this frame sent to them), `converged` (first agreed check after a desync), `away:SLOT` (from this frame on the player was away), `rejoin:SLOT` (came back, receiving this frame's state), `left:SLOT` (gone for good from this frame), `fault:SLOT` (its sim threw here), `end` (the match's end record). CSV: tokens joined by `;`; JSONL: the log records themselves.",
    ),
  );
  if (withStates) {
    out.push(
      column(
        'state',
        'json',
        "The state S(f) as JSON every N frames (`--states-every N`): a Python environment's `get_state()`, else the sim's canonical state (byte strings as hex); empty at other frames.",
      ),
    );
  }
  return out;
}

/** The CSV text of a frame table: the header record, then one record per row. */
export function framesCsv(frames: Pick<MatchFrames, 'columns' | 'rows'>): string {
  const parts: string[] = [csvRecord(frames.columns.map((c) => c.name))];
  const types = frames.columns.map((c) => c.type);
  for (const row of frames.rows) {
    let line = '';
    for (let i = 0; i < row.length; i++) {
      if (i > 0) line += ',';
      const v = row[i];
      if (types[i] === 'events') line += csvField((v as BodyRecord[]).map(eventToken).join(';'));
      else if (types[i] === 'json') line += csvField(v === null ? null : JSON.stringify(v));
      else line += csvField(v as string | number | boolean | null);
    }
    parts.push(`${line}\r\n`);
  }
  return parts.join('');
}

/** The JSON Lines text of a frame table: one object per row, keyed by column name. */
export function framesJsonl(frames: Pick<MatchFrames, 'columns' | 'rows'>): string {
  const names = frames.columns.map((c) => c.name);
  const parts: string[] = [];
  for (const row of frames.rows) {
    const o: Record<string, FrameValue> = {};
    for (let i = 0; i < names.length; i++) o[names[i]] = row[i];
    parts.push(`${JSON.stringify(o)}\n`);
  }
  return parts.join('');
}
