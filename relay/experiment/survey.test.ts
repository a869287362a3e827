import { describe, expect, it } from 'vitest';
import { SurveySceneSchema } from './schema.ts';
import { checkAnswers } from './survey.ts';

const scene = SurveySceneSchema.parse({
  kind: 'survey',
  id: 'post',
  questions: [
    { id: 'enjoy', type: 'likert', text: 'I enjoyed playing.', scale: 7, required: true },
    { id: 'partner', type: 'choice', text: 'A person?', options: ['yes', 'no', 'unsure'] },
    { id: 'notes', type: 'text', text: 'Anything else?', maxLength: 5 },
  ],
});

describe('checkAnswers', () => {
  it('accepts valid answers, in scene order', () => {
    const r = checkAnswers(scene, { notes: 'ok', partner: 'no', enjoy: 7 });
    expect(r).toEqual({ ok: true, answers: { enjoy: 7, partner: 'no', notes: 'ok' } });
    expect(Object.keys(r.ok ? r.answers : {})).toEqual(['enjoy', 'partner', 'notes']);
  });

  it('leaves out unanswered optional questions', () => {
    expect(checkAnswers(scene, { enjoy: 1, partner: null, notes: '  ' })).toEqual({
      ok: true,
      answers: { enjoy: 1 },
    });
  });

  it('names every problem by its question', () => {
    const r = checkAnswers(scene, { enjoy: 8, partner: 'maybe', notes: 'too long', colour: 'red' });
    expect(r).toEqual({
      ok: false,
      errors: [
        'answers.colour: unknown question',
        'answers.enjoy: must be an integer 1–7, got 8',
        'answers.partner: must be one of "yes", "no", "unsure", got "maybe"',
        'answers.notes: must be at most 5 characters, got 8',
      ],
    });
  });

  it('needs required answers', () => {
    expect(checkAnswers(scene, {})).toEqual({ ok: false, errors: ['answers.enjoy: required'] });
    expect(checkAnswers(scene, { enjoy: null })).toEqual({
      ok: false,
      errors: ['answers.enjoy: required'],
    });
  });

  it('refuses wrong types', () => {
    const r = checkAnswers(scene, { enjoy: '7', partner: 1, notes: 3 });
    expect(r.ok ? [] : r.errors).toEqual([
      'answers.enjoy: must be an integer 1–7, got "7"',
      'answers.partner: must be one of "yes", "no", "unsure", got 1',
      'answers.notes: must be text, got 3',
    ]);
    expect(checkAnswers(scene, { enjoy: 2.5 }).ok).toBe(false);
    expect(checkAnswers(scene, [1])).toEqual({
      ok: false,
      errors: ['answers: must be an object of answers, got [1]'],
    });
  });

  it('counts text length in code points', () => {
    expect(checkAnswers(scene, { enjoy: 1, notes: '😀😀😀😀😀' }).ok).toBe(true);
  });

  it('does not take inherited properties for answers', () => {
    const answers = Object.create(null) as Record<string, unknown>;
    answers.enjoy = 3;
    expect(checkAnswers(scene, answers)).toEqual({ ok: true, answers: { enjoy: 3 } });
  });
});
