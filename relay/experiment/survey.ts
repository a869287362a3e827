/**
 * Checking one participant's answers to a survey scene, at the edge (the page's submission),
 * so that the database only ever holds answers the scene allows. Pure.
 *
 * @packageDocumentation
 */
import { formatPath } from './load.ts';
import type { Question, SurveyScene } from './schema.ts';
import { showValue } from './schema.ts';

/** One answer: an integer for likert, an option for choice, text for text. */
export type AnswerValue = number | string;

/** Answers by question id; unanswered optional questions are absent. */
export type Answers = Readonly<Record<string, AnswerValue>>;

/** The outcome of {@link checkAnswers}. */
export type AnswerCheck =
  | { readonly ok: true; readonly answers: Answers }
  | { readonly ok: false; readonly errors: readonly string[] };

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Not answered: absent, null, or (for text) only white space. */
function unanswered(q: Question, value: unknown): boolean {
  if (value === undefined || value === null) return true;
  return q.type === 'text' && typeof value === 'string' && value.trim() === '';
}

/** The problem with `value` as an answer to `q`, or null. */
function answerProblem(q: Question, value: unknown): string | null {
  switch (q.type) {
    case 'likert':
      return Number.isInteger(value) && (value as number) >= 1 && (value as number) <= q.scale
        ? null
        : `must be an integer 1–${q.scale}, got ${showValue(value)}`;
    case 'choice':
      return typeof value === 'string' && q.options.includes(value)
        ? null
        : `must be one of ${q.options.map((o) => JSON.stringify(o)).join(', ')}, got ${showValue(value)}`;
    case 'text':
      if (typeof value !== 'string') return `must be text, got ${showValue(value)}`;
      // Characters are Unicode code points, as a participant counts them.
      return [...value].length <= q.maxLength
        ? null
        : `must be at most ${q.maxLength} characters, got ${[...value].length}`;
  }
}

/**
 * Checks one participant's answers to `scene`.
 * @param scene the survey scene, as loaded
 * @param answers what the page sent: an object of question id → answer. Likert answers are
 *   integers `1..scale`, choice answers one of the options (exactly), text answers strings of
 *   at most `maxLength` code points. An optional question may be absent or null (or, for text,
 *   blank); a required one may not.
 * @returns `{ ok: true, answers }` with the answered questions in scene order (unanswered ones
 *   left out), or `{ ok: false, errors }`: every problem, one line each, named by its path
 *   (`answers.enjoy: must be an integer 1–7, got 9`, `answers.colour: unknown question`).
 */
export function checkAnswers(scene: SurveyScene, answers: unknown): AnswerCheck {
  if (!isPlainObject(answers)) {
    return {
      ok: false,
      errors: [`answers: must be an object of answers, got ${showValue(answers)}`],
    };
  }
  const errors: string[] = [];
  const known = new Set(scene.questions.map((q) => q.id));
  for (const id of Object.keys(answers)) {
    if (!known.has(id)) errors.push(`${formatPath(['answers', id])}: unknown question`);
  }
  const out: Record<string, AnswerValue> = {};
  for (const q of scene.questions) {
    const value = Object.hasOwn(answers, q.id) ? answers[q.id] : undefined;
    const where = formatPath(['answers', q.id]);
    if (unanswered(q, value)) {
      if (q.required) errors.push(`${where}: required`);
      continue;
    }
    const problem = answerProblem(q, value);
    if (problem !== null) errors.push(`${where}: ${problem}`);
    else out[q.id] = value as AnswerValue;
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, answers: out };
}
