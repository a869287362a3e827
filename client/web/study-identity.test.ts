import { describe, expect, it } from 'vitest';
import type { StudyView } from '../../protocol/index.ts';
import {
  LAST_EXPERIMENT_KEY,
  newTabId,
  PARTICIPANTS_KEY,
  rememberParticipant,
  studyHello,
  TAB_ID_KEY,
  tabIdOf,
} from './study-identity.ts';

/** A `Storage` stand-in over a Map. */
function store(init: Record<string, string> = {}) {
  const m = new Map(Object.entries(init));
  return {
    getItem: (k: string) => m.get(k) ?? null,
    setItem: (k: string, v: string) => void m.set(k, v),
    map: m,
  };
}

function view(experimentId: string, participantId: string): StudyView {
  return {
    experimentId,
    participantId,
    sceneIndex: 0,
    sceneCount: 2,
    scene: { kind: 'info', id: 'consent', html: '<p>hi</p>', consent: true },
    preload: [],
    notice: null,
  };
}

describe('study identity', () => {
  it('keeps one tab id per tab, and makes a new one for a new tab', () => {
    const session = store();
    const first = tabIdOf(session);
    expect(first).toMatch(/^[0-9a-f]{32}$/);
    expect(tabIdOf(session)).toBe(first); // a reload
    expect(tabIdOf(store())).not.toBe(first); // another tab
    expect(tabIdOf(store({ [TAB_ID_KEY]: 'not an id!' }))).toMatch(/^[0-9a-f]{32}$/);
    expect(newTabId((b) => b.fill(255))).toBe('f'.repeat(32));
  });

  it("passes the URL's Prolific ids, or participant, as given", () => {
    const prolific = studyHello(
      new URLSearchParams('PROLIFIC_PID=abc&STUDY_ID=s1&SESSION_ID=x9&other=1'),
      store(),
      store({ [TAB_ID_KEY]: 't1' }),
    );
    expect(prolific).toEqual({
      tabId: 't1',
      PROLIFIC_PID: 'abc',
      STUDY_ID: 's1',
      SESSION_ID: 'x9',
    });
    const named = studyHello(new URLSearchParams('participant=A'), store(), store());
    expect(named.participant).toBe('A');
    expect(named.PROLIFIC_PID).toBeUndefined();
  });

  it('sends no id the first time, then the generated one for the same experiment', () => {
    const local = store();
    const search = new URLSearchParams('');
    const first = studyHello(search, local, store());
    expect(first.participant).toBeUndefined();
    rememberParticipant(local, search, view('coop-study', 'gen-123'));
    expect(studyHello(search, local, store()).participant).toBe('gen-123');
    expect(local.getItem(LAST_EXPERIMENT_KEY)).toBe('coop-study');
    // Another experiment on the same origin keeps its own id; the last one is sent.
    rememberParticipant(local, search, view('other', 'gen-456'));
    expect(JSON.parse(local.getItem(PARTICIPANTS_KEY) ?? '{}')).toEqual({
      'coop-study': 'gen-123',
      other: 'gen-456',
    });
    expect(studyHello(search, local, store()).participant).toBe('gen-456');
  });

  it('keeps no id that the URL gave, and ignores a damaged store', () => {
    const local = store({ [PARTICIPANTS_KEY]: '{not json', [LAST_EXPERIMENT_KEY]: 'x' });
    expect(studyHello(new URLSearchParams(''), local, store()).participant).toBeUndefined();
    rememberParticipant(local, new URLSearchParams('participant=B'), view('x', 'B'));
    expect(local.getItem(PARTICIPANTS_KEY)).toBe('{not json');
    expect(local.getItem(LAST_EXPERIMENT_KEY)).toBe('x');
  });
});
