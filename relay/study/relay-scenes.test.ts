import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeInput, discreteActionInput } from '../../sim/index.ts';
import { loadExperiment, type ParticipantRecord } from '../experiment/index.ts';
import { defaultInputsOf, relaySceneName, studyRelayScenes } from './relay-scenes.ts';
import { StudyViews } from './views.ts';
import { parseHello, parseStep } from './wire.ts';

const COOP = path.join(import.meta.dirname, '..', '..', 'examples', 'coop-study', 'study.yaml');

function record(sceneIndex: number, cell: number, extra: Partial<ParticipantRecord> = {}) {
  return {
    id: 'p',
    source: 'participant',
    studyId: null,
    sessionId: null,
    arrival: 0,
    cell,
    condition: { delay: cell },
    sceneIndex,
    outcome: null,
    completionCode: null,
    ...extra,
  } as ParticipantRecord;
}

describe('the relay scenes of a study', () => {
  it('are one per game scene and condition cell, with the cell’s settings and the whole match as frames', () => {
    const e = loadExperiment(COOP);
    const scenes = studyRelayScenes(e);
    expect([...scenes.keys()]).toEqual(['arena-c0', 'arena-c1', 'kitchen-c0', 'kitchen-c1']);
    const a0 = scenes.get('arena-c0')!;
    const a1 = scenes.get('arena-c1')!;
    expect(a0.settings).toMatchObject({ name: 'arena-c0', inputDelay: 2, frames: 1200 });
    expect(a1.settings).toMatchObject({ name: 'arena-c1', inputDelay: 6, frames: 1200 });
    expect(a1).toMatchObject({ sceneId: 'arena', sceneIndex: 1, cell: 1 });
    expect(scenes.get('kitchen-c1')?.settings).toMatchObject({ inputDelay: 6, frames: 300 });
  });

  it('names a scene by its id alone without conditions, and refuses a name too long for the wire', () => {
    expect(relaySceneName('arena', 0, 1)).toBe('arena');
    expect(relaySceneName('arena', 3, 4)).toBe('arena-c3');
    expect(() => relaySceneName('a'.repeat(63), 1, 2)).toThrow(/longer than 64 characters/);
  });

  it("plays the scene's defaultAction for an away or lost player", () => {
    const kitchen = studyRelayScenes(loadExperiment(COOP)).get('kitchen-c0')!;
    const inputs = defaultInputsOf(kitchen);
    expect(inputs).toHaveLength(2);
    expect(decodeInput(inputs[0])).toEqual(discreteActionInput(0));
    expect(kitchen.actionsRecord.keys).toMatchObject({ ArrowUp: 1, Space: 5 });
  });
});

describe("a participant's view", () => {
  const e = loadExperiment(COOP);
  const views = new StudyViews(e, studyRelayScenes(e));

  it('renders an info scene’s Markdown and preloads the Python game scenes ahead', () => {
    const v = views.view(record(0, 1));
    expect(v).toMatchObject({ experimentId: 'coop-study', sceneIndex: 0, sceneCount: 5 });
    expect(v.scene.kind).toBe('info');
    if (v.scene.kind === 'info') {
      expect(v.scene.consent).toBe(true);
      expect(v.scene.html).toMatch(/<h1|<p>/);
    }
    expect(v.preload).toEqual(['kitchen-c1']);
  });

  it('gives a game scene its relay scene under the participant’s cell, its episodes and its keys', () => {
    const arena = views.view(record(1, 0)).scene;
    expect(arena).toMatchObject({
      kind: 'game',
      relayScene: 'arena-c0',
      episodes: 2,
      framesPerEpisode: 600,
      waitingTimeoutMs: 120_000,
      actions: null,
    });
    const kitchen = views.view(record(2, 1), 'Your partner left.');
    expect(kitchen.notice).toBe('Your partner left.');
    expect(kitchen.scene).toMatchObject({
      kind: 'game',
      relayScene: 'kitchen-c1',
      actions: {
        map: { ArrowUp: 1, ArrowDown: 2, ArrowLeft: 3, ArrowRight: 4, Space: 5 },
        defaultAction: 0,
      },
    });
  });

  it('fills the survey’s defaults and shows the end scene’s code and redirect', () => {
    const survey = views.view(record(3, 0)).scene;
    expect(survey.kind === 'survey' && survey.questions[0]).toEqual({
      id: 'enjoy',
      type: 'likert',
      text: 'I enjoyed playing.',
      scale: 7,
      required: true,
    });
    expect(survey.kind === 'survey' && survey.questions[2]).toMatchObject({
      maxLength: 5000,
      required: false,
    });
    const end = views.view(record(4, 0, { outcome: 'partnerLeft', completionCode: 'PL3FT' })).scene;
    expect(end).toEqual({
      kind: 'end',
      id: 'done',
      outcome: 'partnerLeft',
      completionCode: 'PL3FT',
      redirect: 'https://app.prolific.com/submissions/complete?cc=PL3FT',
    });
  });
});

describe('the study wire at the edge', () => {
  it('takes the id from PROLIFIC_PID, else participant, else makes one', () => {
    expect(parseHello({ tabId: 't', PROLIFIC_PID: 'abc', STUDY_ID: 's', SESSION_ID: 'x' })).toEqual(
      {
        tabId: 't',
        arrival: { id: 'abc', source: 'prolific', studyId: 's', sessionId: 'x' },
      },
    );
    expect(parseHello({ tabId: 't', participant: 'me' })).toMatchObject({
      arrival: { id: 'me', source: 'participant' },
    });
    const made = parseHello({ tabId: 't' });
    expect(typeof made !== 'string' && made.arrival).toMatchObject({ source: 'generated' });
  });

  it('refuses malformed hellos and steps, naming the field', () => {
    expect(parseHello(null)).toMatch(/must be an object/);
    expect(parseHello({ tabId: 't', condition: 1 })).toBe('hello.condition: unknown key');
    expect(parseHello({ tabId: 't', participant: 'a b' })).toMatch(/hello.participant: must be/);
    expect(parseHello({})).toBe('hello.tabId: required');
    expect(parseStep({ sceneId: 'post', type: 'skip' })).toMatch(/step.type: must be one of/);
    expect(parseStep({ sceneId: 'post', type: 'continue', sceneIndex: 4 })).toBe(
      'step.sceneIndex: unknown key',
    );
    expect(parseStep({ sceneId: 'post', type: 'answer' })).toBe('step.answers: required');
    expect(parseStep({ sceneId: 'post', type: 'leave' })).toEqual({
      sceneId: 'post',
      type: 'leave',
    });
  });
});
