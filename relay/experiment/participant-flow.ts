/**
 * The participant flow: given a loaded experiment and one participant's record, what that
 * participant may do now and what each step leads to. Pure (no clock, no I/O), so that every
 * rule is asserted without a database and the database only writes what this module decided.
 *
 * The rules, in one place:
 * - A participant moves through the scenes in file order, one at a time. Every step names the
 *   scene it was taken in; a step for any other scene (a stale page, a second submission, an
 *   attempt to skip) is refused, so nothing a page sends can skip a scene.
 * - Info scenes take `continue`; a consent scene takes `accept` or `decline`, and declining
 *   ends the study at once with outcome `declined`.
 * - Survey scenes take `answer`; the answers are checked by `checkAnswers` (./survey.ts) and
 *   refused, every problem named by its question, when they do not fit.
 * - Game scenes take `gameEnd`, which only the relay sends (a page's steps are parsed by
 *   {@link parsePageAction}, which knows no `gameEnd`): `completed` goes on to the next scene;
 *   `timeout` (the waiting room timed out, `onTimeout: end`) ends the study at once with outcome
 *   `timeout`; `partnerLeft` (`onPartnerLost: end`) goes on to the next scene, as the issue has
 *   it, and the study's outcome stays `partnerLeft` whatever comes after. Each is accepted only
 *   when the scene, under the participant's condition, can produce it.
 * - The end scene takes nothing: the participant sees their outcome's completion code again,
 *   and cannot start over.
 * - An administrator may remove a participant who has not finished, from any scene
 *   ({@link decideRemoval}, which only the study server calls; no page step leads to it): the
 *   study ends at once with outcome `removed`, whatever outcome came before, and the end
 *   scene's `completionCodes.removed`, or no code when it has none.
 * - The condition is assigned at enrolment, balanced in arrival order in blocks of the match
 *   size by `nextCell` (./conditions.ts, block {@link matchBlockSize}), so that participants
 *   who arrive together share a condition and can be matched; it never changes and no step
 *   carries one.
 *
 * @packageDocumentation
 */
import { ConcordError } from '../../sim/index.ts';
import { assignmentBlockSize, type Condition, conditionKey, nextCell } from './conditions.ts';
import type { Experiment, GameScene, Scene } from './load.ts';
import { ID_PATTERN } from './ranges.ts';
import { type ConditionLevel, type EndScene, type Outcome, showValue } from './schema.ts';
import { gameSceneFor } from './settings.ts';
import { type Answers, checkAnswers } from './survey.ts';

/**
 * A participant id, a Prolific `STUDY_ID` or `SESSION_ID`: 1–128 characters of
 * `A-Z a-z 0-9 _ -` (Prolific's are 24 hex digits).
 */
export const PARTICIPANT_ID_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;

/** Where a participant's id came from: Prolific's `PROLIFIC_PID`, the URL's `participant`, or generated. */
export type IdSource = 'prolific' | 'participant' | 'generated';

/** A participant arriving: their id and, from Prolific, the study and session ids. */
export interface Arrival {
  /** The participant id ({@link PARTICIPANT_ID_PATTERN}). */
  readonly id: string;
  /** Where the id came from. */
  readonly source: IdSource;
  /** Prolific's `STUDY_ID`, or null. */
  readonly studyId: string | null;
  /** Prolific's `SESSION_ID`, or null. */
  readonly sessionId: string | null;
}

/** How a scene was left: normally, or with one of the outcomes that cut a study short. */
export type LeftWith = Outcome;

/** One participant's place in the study: what the database holds, as the flow needs it. */
export interface ParticipantRecord extends Arrival {
  /** Arrival order: 0 for the first participant enrolled, then 1, 2, … with no gaps. */
  readonly arrival: number;
  /** The condition cell's index in `experiment.cells`. */
  readonly cell: number;
  /** The condition cell: factor name → level index. `{}` without conditions. */
  readonly condition: Condition;
  /** The index in `experiment.scenes` of the scene the participant is in. */
  readonly sceneIndex: number;
  /**
   * The study's outcome so far: null while everything went normally and the end is not
   * reached; `partnerLeft` from the step that lost a partner on; at the end scene always set
   * (`completed` when nothing cut the study short).
   */
  readonly outcome: Outcome | null;
  /**
   * The completion code, set when the participant reaches the end scene; null before, and at
   * the end after a removal when the end scene has no `completionCodes.removed`.
   */
  readonly completionCode: string | null;
}

/** Step types a page may send. */
export const PAGE_STEP_TYPES = ['accept', 'decline', 'continue', 'answer'] as const;

/** A step sent by the participant's page, as parsed by {@link parsePageAction}. */
export type PageAction =
  | { readonly type: 'accept' | 'decline' | 'continue'; readonly scene: string }
  | { readonly type: 'answer'; readonly scene: string; readonly answers: unknown };

/** The end of a game scene for one participant, as the relay reports it (never a page). */
export interface GameEnd {
  readonly type: 'gameEnd';
  /** The game scene's id. */
  readonly scene: string;
  /** `completed`: every episode played; `timeout`: the waiting room timed out; `partnerLeft`. */
  readonly outcome: 'completed' | 'timeout' | 'partnerLeft';
}

/** Any step a participant's record can take. */
export type FlowAction = PageAction | GameEnd;

/** The step types the participant's current scene takes (empty at the end). */
export type StepType = FlowAction['type'];

/** What a participant may do now: see {@link whatNow}. */
export interface Now {
  /** The index of the current scene in `experiment.scenes`. */
  readonly sceneIndex: number;
  /** The current scene. */
  readonly scene: Scene;
  /**
   * The only scene a normal step leads to (the one after this, or the end scene after a
   * `decline` or `timeout`); null at the end.
   */
  readonly next: Scene | null;
  /** The step types the current scene takes; empty at the end scene. */
  readonly accepts: readonly StepType[];
  /** True at the end scene. */
  readonly finished: boolean;
  /** As {@link ParticipantRecord.outcome}. */
  readonly outcome: Outcome | null;
  /** The completion code at the end scene, else null. */
  readonly completionCode: string | null;
  /** The end scene's `redirect` with `{code}` replaced, at the end scene when it has one. */
  readonly redirect: string | null;
}

/** A step decided by {@link decide}: what the database writes, in one transaction. */
export interface Step {
  /** The scene left (its index). */
  readonly from: number;
  /** The scene entered (its index): `from + 1`, or the end scene's. */
  readonly to: number;
  /** How scene `from` was left. */
  readonly leftWith: LeftWith;
  /** The checked answers of a survey step (answered questions only, scene order); else null. */
  readonly answers: Answers | null;
  /** The record's outcome after the step. */
  readonly outcome: Outcome | null;
  /** The completion code when `to` is the end scene; else null. */
  readonly completionCode: string | null;
}

/** A seat in a match, reported by the relay when it forms the match. */
export interface Seat {
  /** The game scene's id. */
  readonly scene: string;
  /** The match's id (1–64 printable ASCII characters, the match log's name). */
  readonly matchId: string;
  /** The player slot, `0..players-1` under the participant's condition. */
  readonly slot: number;
  /** The episode, `0..episodes-1`. */
  readonly episode: number;
}

const MATCH_ID = /^[\x21-\x7e]{1,64}$/;

function stepError(message: string): ConcordError {
  return new ConcordError('BAD_STEP', message);
}

/** The index of the end scene: the last scene (the loader checks it is the only `end`). */
export function endIndex(experiment: Experiment): number {
  return experiment.scenes.length - 1;
}

function endScene(experiment: Experiment): EndScene {
  const end = experiment.scenes[endIndex(experiment)];
  if (end.kind !== 'end') {
    throw new ConcordError(
      'BAD_CONFIG',
      `experiment "${experiment.id}": the last scene is not an end scene`,
    );
  }
  return end;
}

/**
 * The completion code of `outcome` in the experiment's end scene.
 * @throws ConcordError `BAD_CONFIG` when the end scene has none for it (the loader refuses such
 *   a file when the scenes can produce the outcome, so this means a bug).
 */
export function completionCodeFor(experiment: Experiment, outcome: Outcome): string {
  const code = endScene(experiment).completionCodes[outcome];
  if (code === undefined) {
    throw new ConcordError(
      'BAD_CONFIG',
      `experiment "${experiment.id}" has no completion code for outcome ${outcome}`,
    );
  }
  return code;
}

/**
 * The end scene's `redirect` for `code`: every `{code}` replaced by the code (URL-encoded),
 * or null when the end scene has no redirect.
 */
export function redirectFor(experiment: Experiment, code: string): string | null {
  const redirect = endScene(experiment).redirect;
  return redirect === null ? null : redirect.replaceAll('{code}', encodeURIComponent(code));
}

/** The settings a condition cell overrides, merged factor by factor (a later factor wins). */
export function conditionValues(experiment: Experiment, condition: Condition): ConditionLevel {
  const out: Record<string, unknown> = {};
  for (const f of experiment.factors) {
    for (const [k, v] of Object.entries(f.levels[condition[f.name]] ?? {})) {
      if (v !== undefined) out[k] = v;
    }
  }
  return out as ConditionLevel;
}

/**
 * Checks an arrival's ids.
 * @throws ConcordError `BAD_STEP` naming the field (`id`, `studyId`, `sessionId`, `source`).
 */
export function checkArrival(arrival: Arrival): Arrival {
  const bad = (field: string, v: unknown) =>
    stepError(`arrival.${field}: must be 1–128 characters of A-Z a-z 0-9 _ -, got ${showValue(v)}`);
  if (typeof arrival.id !== 'string' || !PARTICIPANT_ID_PATTERN.test(arrival.id))
    throw bad('id', arrival.id);
  for (const f of ['studyId', 'sessionId'] as const) {
    const v = arrival[f];
    if (v !== null && (typeof v !== 'string' || !PARTICIPANT_ID_PATTERN.test(v))) throw bad(f, v);
  }
  if (!['prolific', 'participant', 'generated'].includes(arrival.source)) {
    throw stepError(
      `arrival.source: must be prolific, participant or generated, got ${showValue(arrival.source)}`,
    );
  }
  return {
    id: arrival.id,
    source: arrival.source,
    studyId: arrival.studyId,
    sessionId: arrival.sessionId,
  };
}

/**
 * The experiment's assignment block: {@link assignmentBlockSize} of every game scene's
 * `players` under every condition cell (a condition may set `players`). 2 for the example
 * study (one two-player game scene), 1 without a multi-player game scene.
 */
export function matchBlockSize(experiment: Experiment): number {
  const sizes: number[] = [];
  for (const scene of experiment.scenes) {
    if (scene.kind !== 'game') continue;
    for (const cell of experiment.cells)
      sizes.push(gameSceneFor(experiment, scene.id, cell).players);
  }
  return assignmentBlockSize(sizes);
}

/**
 * The record of a participant enrolled now: the next arrival, the condition cell by
 * `nextCell` (balanced, in arrival order, in blocks of {@link matchBlockSize}), in the first
 * scene.
 * @param assignedCells the cell index of every participant enrolled before, in arrival order
 * @throws ConcordError `BAD_STEP` for malformed ids ({@link checkArrival}).
 */
export function enrol(
  experiment: Experiment,
  arrival: Arrival,
  assignedCells: readonly number[],
): ParticipantRecord {
  const a = checkArrival(arrival);
  const cell = nextCell(experiment.cells.length, assignedCells, matchBlockSize(experiment));
  const record: ParticipantRecord = {
    ...a,
    arrival: assignedCells.length,
    cell,
    condition: experiment.cells[cell],
    sceneIndex: 0,
    outcome: null,
    completionCode: null,
  };
  // A study of only an end scene: the participant has completed it on arrival.
  if (endIndex(experiment) === 0) {
    return {
      ...record,
      outcome: 'completed',
      completionCode: completionCodeFor(experiment, 'completed'),
    };
  }
  return record;
}

function currentScene(experiment: Experiment, record: ParticipantRecord): Scene {
  const scene = experiment.scenes[record.sceneIndex];
  if (scene === undefined || !Number.isInteger(record.sceneIndex)) {
    throw new ConcordError(
      'BAD_DATABASE',
      `participant ${record.id} is at scene index ${record.sceneIndex}, but experiment "${experiment.id}" has ${experiment.scenes.length} scenes`,
    );
  }
  return scene;
}

/** The game scene `scene` as this participant plays it (their condition applied). */
function played(experiment: Experiment, record: ParticipantRecord, scene: GameScene): GameScene {
  return gameSceneFor(experiment, scene.id, record.condition);
}

/** Which `gameEnd` outcomes a game scene can produce under the participant's condition. */
export function gameOutcomes(
  experiment: Experiment,
  record: ParticipantRecord,
  scene: GameScene,
): GameEnd['outcome'][] {
  const g = played(experiment, record, scene);
  const out: GameEnd['outcome'][] = ['completed'];
  if (g.players > 1 && g.waitingRoom.timeoutMs > 0 && g.waitingRoom.onTimeout === 'end')
    out.push('timeout');
  if (g.players > 1 && g.onPartnerLost === 'end') out.push('partnerLeft');
  return out;
}

function acceptsOf(scene: Scene): StepType[] {
  switch (scene.kind) {
    case 'info':
      return scene.consent ? ['accept', 'decline'] : ['continue'];
    case 'game':
      return ['gameEnd'];
    case 'survey':
      return ['answer'];
    case 'end':
      return [];
  }
}

/**
 * What the participant may do now: the current scene, the only next scene, the step types it
 * takes, and at the end the outcome, completion code and redirect.
 * @throws ConcordError `BAD_DATABASE` when the record's scene index is not a scene of the
 *   experiment.
 */
export function whatNow(experiment: Experiment, record: ParticipantRecord): Now {
  const scene = currentScene(experiment, record);
  const finished = scene.kind === 'end';
  const code = finished ? record.completionCode : null;
  return {
    sceneIndex: record.sceneIndex,
    scene,
    next: finished ? null : experiment.scenes[record.sceneIndex + 1],
    accepts: acceptsOf(scene),
    finished,
    outcome: record.outcome,
    completionCode: code,
    redirect: code === null ? null : redirectFor(experiment, code),
  };
}

/** The step to scene `to`, leaving with `leftWith`. */
function stepTo(
  experiment: Experiment,
  record: ParticipantRecord,
  to: number,
  leftWith: LeftWith,
  answers: Answers | null,
): Step {
  // The first outcome that cut the study short stays the study's outcome.
  let outcome: Outcome | null = record.outcome ?? (leftWith === 'completed' ? null : leftWith);
  let completionCode: string | null = null;
  if (to === endIndex(experiment)) {
    outcome ??= 'completed';
    completionCode = completionCodeFor(experiment, outcome);
  }
  return { from: record.sceneIndex, to, leftWith, answers, outcome, completionCode };
}

/**
 * Decides one step of a participant: checks it against the current scene and returns what
 * changes. Pure: apply the result with {@link applyStep} (the database writes it).
 * @param action a page's step (parsed by {@link parsePageAction}) or the relay's `gameEnd`
 * @throws ConcordError `BAD_STEP` when the participant has finished, the step names another
 *   scene than the current one, or the current scene does not take this step (or this game
 *   outcome); `BAD_ANSWER` when survey answers do not fit, every problem on its own line named
 *   by its question (`answers.enjoy: must be an integer 1–7, got 9`).
 */
export function decide(
  experiment: Experiment,
  record: ParticipantRecord,
  action: FlowAction,
): Step {
  const now = whatNow(experiment, record);
  const scene = now.scene;
  if (now.finished) {
    throw stepError(
      `participant ${record.id} has finished the study (outcome ${record.outcome}, code ${record.completionCode}); a finished study cannot be started over`,
    );
  }
  if (action.scene !== scene.id) {
    const i = experiment.scenes.findIndex((s) => s.id === action.scene);
    const where =
      i < 0
        ? 'no scene of this experiment'
        : i < record.sceneIndex
          ? 'a scene already left'
          : 'a scene not reached yet';
    throw stepError(
      `participant ${record.id} is in scene "${scene.id}"; ${action.type} for scene "${action.scene}" (${where}) is refused`,
    );
  }
  if (!now.accepts.includes(action.type)) {
    throw stepError(
      `scene "${scene.id}" (${scene.kind}${scene.kind === 'info' && scene.consent ? ', consent' : ''}) takes ${now.accepts.join(' or ')}, not ${action.type}`,
    );
  }
  const next = record.sceneIndex + 1;
  const end = endIndex(experiment);
  switch (action.type) {
    case 'accept':
    case 'continue':
      return stepTo(experiment, record, next, 'completed', null);
    case 'decline':
      return stepTo(experiment, record, end, 'declined', null);
    case 'answer': {
      if (scene.kind !== 'survey') throw stepError(`scene "${scene.id}" is not a survey`);
      const checked = checkAnswers(scene, action.answers);
      if (!checked.ok) {
        const n = checked.errors.length;
        throw new ConcordError(
          'BAD_ANSWER',
          `scene "${scene.id}": ${n} answer${n === 1 ? '' : 's'} refused\n${checked.errors.join('\n')}`,
        );
      }
      return stepTo(experiment, record, next, 'completed', checked.answers);
    }
    case 'gameEnd': {
      if (scene.kind !== 'game') throw stepError(`scene "${scene.id}" is not a game`);
      const allowed = gameOutcomes(experiment, record, scene);
      if (!allowed.includes(action.outcome)) {
        throw stepError(
          `game scene "${scene.id}" under condition ${conditionKey(experiment.factors, record.condition)} cannot end with ${showValue(action.outcome)} (it can end with ${allowed.join(', ')})`,
        );
      }
      if (action.outcome === 'timeout') return stepTo(experiment, record, end, 'timeout', null);
      return stepTo(experiment, record, next, action.outcome, null);
    }
  }
}

/**
 * Decides the removal of a participant by an administrator: from the current scene, whatever it
 * is, to the end scene, left with `removed`; the outcome becomes `removed` (replacing a
 * `partnerLeft` before it) with the end scene's `completionCodes.removed`, or no code (null)
 * when it has none. Pure, applied with {@link applyStep} like any step. Only the study server
 * calls it: no page step ({@link parsePageAction}) leads here.
 * @throws ConcordError `BAD_STEP` when the participant has finished the study already.
 */
export function decideRemoval(experiment: Experiment, record: ParticipantRecord): Step {
  const now = whatNow(experiment, record);
  if (now.finished) {
    throw stepError(
      `participant ${record.id} has finished the study (outcome ${record.outcome}); there is nothing to remove them from`,
    );
  }
  return {
    from: record.sceneIndex,
    to: endIndex(experiment),
    leftWith: 'removed',
    answers: null,
    outcome: 'removed',
    completionCode: endScene(experiment).completionCodes.removed ?? null,
  };
}

/**
 * The record after `step` (as {@link decide} returned it for this record).
 * @throws ConcordError `BAD_STEP` when `step` starts from another scene than the record's.
 */
export function applyStep(record: ParticipantRecord, step: Step): ParticipantRecord {
  if (step.from !== record.sceneIndex) {
    throw stepError(
      `participant ${record.id} is at scene index ${record.sceneIndex}, the step starts at ${step.from}`,
    );
  }
  return {
    ...record,
    sceneIndex: step.to,
    outcome: step.outcome,
    completionCode: step.completionCode,
  };
}

/**
 * Checks a seat the relay reports for this participant: they are in that game scene, the slot
 * and episode exist under their condition, the match id is well formed.
 * @returns the seat
 * @throws ConcordError `BAD_STEP` naming what does not fit.
 */
export function checkSeat(experiment: Experiment, record: ParticipantRecord, seat: Seat): Seat {
  const scene = currentScene(experiment, record);
  if (scene.id !== seat.scene || scene.kind !== 'game') {
    throw stepError(
      `participant ${record.id} is in scene "${scene.id}", not in game scene "${seat.scene}"; no seat there`,
    );
  }
  const g = played(experiment, record, scene);
  if (typeof seat.matchId !== 'string' || !MATCH_ID.test(seat.matchId)) {
    throw stepError(
      `seat.matchId: must be 1–64 printable ASCII characters, got ${showValue(seat.matchId)}`,
    );
  }
  if (!Number.isInteger(seat.slot) || seat.slot < 0 || seat.slot >= g.players) {
    throw stepError(
      `seat.slot: must be an integer 0–${g.players - 1}, got ${showValue(seat.slot)}`,
    );
  }
  if (!Number.isInteger(seat.episode) || seat.episode < 0 || seat.episode >= g.episodes) {
    throw stepError(
      `seat.episode: must be an integer 0–${g.episodes - 1}, got ${showValue(seat.episode)}`,
    );
  }
  return { scene: seat.scene, matchId: seat.matchId, slot: seat.slot, episode: seat.episode };
}

/**
 * Checks time waited that the relay reports: the participant is in that game scene and the
 * time is a whole number of ms, 0 to one day.
 * @throws ConcordError `BAD_STEP` naming what does not fit.
 */
export function checkWaited(
  experiment: Experiment,
  record: ParticipantRecord,
  sceneId: string,
  waitedMs: number,
): void {
  const scene = currentScene(experiment, record);
  if (scene.id !== sceneId || scene.kind !== 'game') {
    throw stepError(
      `participant ${record.id} is in scene "${scene.id}", not in game scene "${sceneId}"; no waiting there`,
    );
  }
  if (!Number.isInteger(waitedMs) || waitedMs < 0 || waitedMs > 86_400_000) {
    throw stepError(`waitedMs: must be an integer 0–86400000, got ${showValue(waitedMs)}`);
  }
}

const STEP_KEYS: Record<PageAction['type'], readonly string[]> = {
  accept: ['type', 'scene'],
  decline: ['type', 'scene'],
  continue: ['type', 'scene'],
  answer: ['type', 'scene', 'answers'],
};

/**
 * Parses a step sent by a page, at the edge: exactly `{type, scene}` (`type` accept, decline or
 * continue) or `{type: 'answer', scene, answers}`. Anything else, a `gameEnd`, a condition, a
 * participant id or a scene index among them, is refused: a page names only the scene it shows
 * and what the participant did there.
 * @throws ConcordError `BAD_STEP`: `step.type: must be one of accept, decline, continue, answer,
 *   got "gameEnd"`, or `step.condition: unknown key`.
 */
export function parsePageAction(raw: unknown): PageAction {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw stepError(`step: must be an object {type, scene}, got ${showValue(raw)}`);
  }
  const m = raw as Record<string, unknown>;
  const type = m.type;
  if (typeof type !== 'string' || !Object.hasOwn(STEP_KEYS, type)) {
    throw stepError(
      `step.type: must be one of ${PAGE_STEP_TYPES.join(', ')}, got ${showValue(type)}`,
    );
  }
  const keys = STEP_KEYS[type as PageAction['type']];
  const problems: string[] = [];
  for (const k of Object.keys(m)) if (!keys.includes(k)) problems.push(`step.${k}: unknown key`);
  if (typeof m.scene !== 'string' || !ID_PATTERN.test(m.scene)) {
    problems.push(`step.scene: must be a scene id, got ${showValue(m.scene)}`);
  }
  if (type === 'answer' && !Object.hasOwn(m, 'answers')) problems.push('step.answers: required');
  if (problems.length > 0) throw stepError(problems.join('\n'));
  return type === 'answer'
    ? { type, scene: m.scene as string, answers: m.answers }
    : { type: type as 'accept' | 'decline' | 'continue', scene: m.scene as string };
}
