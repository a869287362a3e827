import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConcordError, type ConcordErrorCode } from '../../sim/index.ts';
import { assignCells } from './conditions.ts';
import { checkExperiment, loadExperiment } from './load.ts';
import {
  type Arrival,
  applyStep,
  checkSeat,
  checkWaited,
  decide,
  decideRemoval,
  enrol,
  type FlowAction,
  matchBlockSize,
  type ParticipantRecord,
  parsePageAction,
  whatNow,
} from './participant-flow.ts';

const STUDY = fileURLToPath(new URL('../../examples/coop-study/study.yaml', import.meta.url));
const study = loadExperiment(STUDY);

function arrival(id: string): Arrival {
  return { id, source: 'prolific', studyId: 'STUDY1', sessionId: `S-${id}` };
}

/** The error `f` throws, checked to be a ConcordError with `code`. */
function refused(code: ConcordErrorCode, f: () => unknown): string {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(ConcordError);
    expect((err as ConcordError).code).toBe(code);
    return (err as Error).message;
  }
  throw new Error(`expected a ${code} error`);
}

function run(record: ParticipantRecord, ...actions: FlowAction[]): ParticipantRecord {
  let r = record;
  for (const a of actions) r = applyStep(r, decide(study, r, a));
  return r;
}

const fresh = () => enrol(study, arrival('p1'), []);

describe('the participant flow', () => {
  it('takes a participant consent → games → survey → end, with the completed code', () => {
    let r = fresh();
    expect(whatNow(study, r)).toMatchObject({
      sceneIndex: 0,
      next: { id: 'arena' },
      accepts: ['accept', 'decline'],
      finished: false,
      completionCode: null,
    });
    r = run(
      r,
      { type: 'accept', scene: 'consent' },
      { type: 'gameEnd', scene: 'arena', outcome: 'completed' },
      { type: 'gameEnd', scene: 'kitchen', outcome: 'completed' },
    );
    expect(whatNow(study, r).scene.id).toBe('post');
    const step = decide(study, r, {
      type: 'answer',
      scene: 'post',
      answers: { enjoy: 6, partner: 'unsure', notes: '' },
    });
    expect(step).toEqual({
      from: 3,
      to: 4,
      leftWith: 'completed',
      answers: { enjoy: 6, partner: 'unsure' },
      outcome: 'completed',
      completionCode: 'C0MPL3T',
    });
    const now = whatNow(study, applyStep(r, step));
    expect(now).toMatchObject({
      finished: true,
      accepts: [],
      next: null,
      outcome: 'completed',
      completionCode: 'C0MPL3T',
      redirect: 'https://app.prolific.com/submissions/complete?cc=C0MPL3T',
    });
  });

  it('ends the study at once on decline and on a waiting-room timeout, each with its code', () => {
    const declined = run(fresh(), { type: 'decline', scene: 'consent' });
    expect(whatNow(study, declined)).toMatchObject({ finished: true, completionCode: 'N0C0NS' });
    const timedOut = run(
      fresh(),
      { type: 'accept', scene: 'consent' },
      { type: 'gameEnd', scene: 'arena', outcome: 'timeout' },
    );
    expect(whatNow(study, timedOut)).toMatchObject({
      finished: true,
      outcome: 'timeout',
      completionCode: 'T1MEOUT',
    });
  });

  it('goes on to the next scene when a partner left, and ends with the partnerLeft code', () => {
    let r = run(
      fresh(),
      { type: 'accept', scene: 'consent' },
      { type: 'gameEnd', scene: 'arena', outcome: 'partnerLeft' },
    );
    expect(whatNow(study, r)).toMatchObject({ scene: { id: 'kitchen' }, outcome: 'partnerLeft' });
    r = run(
      r,
      { type: 'gameEnd', scene: 'kitchen', outcome: 'completed' },
      { type: 'answer', scene: 'post', answers: { enjoy: 1 } },
    );
    expect(whatNow(study, r)).toMatchObject({ outcome: 'partnerLeft', completionCode: 'PL3FT' });
  });

  it('accepts only the game outcomes the scene can produce', () => {
    const r = run(
      fresh(),
      { type: 'accept', scene: 'consent' },
      { type: 'gameEnd', scene: 'arena', outcome: 'completed' },
    );
    // kitchen: onTimeout bot, onPartnerLost bot.
    expect(
      refused('BAD_STEP', () =>
        decide(study, r, { type: 'gameEnd', scene: 'kitchen', outcome: 'timeout' }),
      ),
    ).toContain('cannot end with "timeout" (it can end with completed)');
    refused('BAD_STEP', () =>
      decide(study, r, { type: 'gameEnd', scene: 'kitchen', outcome: 'partnerLeft' }),
    );
  });

  it('refuses a step for any scene but the current one: no skipping, no going back', () => {
    const r = fresh();
    expect(
      refused('BAD_STEP', () => decide(study, r, { type: 'answer', scene: 'post', answers: {} })),
    ).toBe(
      'participant p1 is in scene "consent"; answer for scene "post" (a scene not reached yet) is refused',
    );
    const later = run(r, { type: 'accept', scene: 'consent' });
    expect(
      refused('BAD_STEP', () => decide(study, later, { type: 'accept', scene: 'consent' })),
    ).toContain('a scene already left');
    expect(
      refused('BAD_STEP', () => decide(study, later, { type: 'continue', scene: 'nowhere' })),
    ).toContain('no scene of this experiment');
    expect(
      refused('BAD_STEP', () => decide(study, r, { type: 'continue', scene: 'consent' })),
    ).toBe('scene "consent" (info, consent) takes accept or decline, not continue');
  });

  it('refuses every step after the end: a finished study cannot be started over', () => {
    const done = run(fresh(), { type: 'decline', scene: 'consent' });
    for (const scene of ['consent', 'done']) {
      expect(refused('BAD_STEP', () => decide(study, done, { type: 'accept', scene }))).toContain(
        'has finished the study (outcome declined, code N0C0NS)',
      );
    }
  });

  it('refuses survey answers that do not fit, naming every question', () => {
    const r = run(
      fresh(),
      { type: 'accept', scene: 'consent' },
      { type: 'gameEnd', scene: 'arena', outcome: 'completed' },
      { type: 'gameEnd', scene: 'kitchen', outcome: 'completed' },
    );
    const message = refused('BAD_ANSWER', () =>
      decide(study, r, { type: 'answer', scene: 'post', answers: { partner: 'maybe', age: 3 } }),
    );
    expect(message.split('\n')).toEqual([
      'scene "post": 3 answers refused',
      'answers.age: unknown question',
      'answers.enjoy: required',
      'answers.partner: must be one of "yes", "no", "unsure", got "maybe"',
    ]);
  });

  it('assigns condition cells balanced in arrival order, a match (2 players) per block', () => {
    expect(matchBlockSize(study)).toBe(2);
    const cells: number[] = [];
    const records = [];
    for (let i = 0; i < 7; i++) {
      const r = enrol(study, arrival(`p${i}`), cells);
      expect(r.arrival).toBe(i);
      cells.push(r.cell);
      records.push(r);
    }
    expect(cells).toEqual(assignCells(study.cells.length, 7, 2));
    // Two participants arriving one after the other share a cell, so they can be matched.
    expect(records.map((r) => r.condition.delay)).toEqual([0, 0, 1, 1, 0, 0, 1]);
  });

  it('sizes the block by every game scene under every condition', () => {
    const game = (id: string, players: number) => ({
      kind: 'game',
      id,
      sim: 'duel',
      players,
      waitingRoom: { timeoutMs: 0 },
    });
    const end = {
      kind: 'end',
      id: 'done',
      completionCodes: { completed: 'OK', partnerLeft: 'PL' },
    };
    const check = (file: Record<string, unknown>) => checkExperiment({ id: 'b', ...file }, STUDY);
    expect(matchBlockSize(check({ scenes: [game('solo', 1), end] }))).toBe(1);
    expect(matchBlockSize(check({ scenes: [game('a', 2), game('b', 3), end] }))).toBe(6);
    // A condition that seats 4 in the same scene: lcm(2, 4).
    const byPlayers = check({
      conditions: { size: [{}, { players: 4 }] },
      scenes: [game('a', 2), end],
    });
    expect(matchBlockSize(byPlayers)).toBe(4);
    const cells: number[] = [];
    for (let i = 0; i < 10; i++) cells.push(enrol(byPlayers, arrival(`q${i}`), cells).cell);
    expect(cells).toEqual([0, 0, 0, 0, 1, 1, 1, 1, 0, 0]);
  });

  it('removes a participant from any scene to the end, with the removed code or none', () => {
    let r = run(fresh(), { type: 'accept', scene: 'consent' });
    r = run(r, { type: 'gameEnd', scene: 'arena', outcome: 'partnerLeft' });
    const step = decideRemoval(study, r);
    expect(step).toEqual({
      from: 2,
      to: 4,
      leftWith: 'removed',
      answers: null,
      outcome: 'removed',
      completionCode: null,
    });
    const gone = applyStep(r, step);
    expect(whatNow(study, gone)).toMatchObject({
      finished: true,
      outcome: 'removed',
      completionCode: null,
      redirect: null,
    });
    expect(refused('BAD_STEP', () => decideRemoval(study, gone))).toMatch(/has finished/);
    // With a `removed` code, the participant gets it (and the redirect with it).
    const withCode = checkExperiment(
      {
        id: 'rm',
        scenes: [
          { kind: 'info', id: 'hi', file: 'consent.md' },
          {
            kind: 'end',
            id: 'done',
            completionCodes: { completed: 'OK', removed: 'GONE' },
            redirect: 'https://example.org/?cc={code}',
          },
        ],
      },
      STUDY,
    );
    const out = applyStep(
      enrol(withCode, arrival('x'), []),
      decideRemoval(withCode, enrol(withCode, arrival('x'), [])),
    );
    expect(whatNow(withCode, out)).toMatchObject({
      outcome: 'removed',
      completionCode: 'GONE',
      redirect: 'https://example.org/?cc=GONE',
    });
  });

  it('completes a study of only an end scene on arrival', () => {
    const bare = checkExperiment(
      { id: 'bare', scenes: [{ kind: 'end', id: 'done', completionCodes: { completed: 'OK' } }] },
      STUDY,
    );
    const r = enrol(bare, arrival('p'), []);
    expect(whatNow(bare, r)).toMatchObject({
      finished: true,
      outcome: 'completed',
      completionCode: 'OK',
    });
    refused('BAD_STEP', () => decide(bare, r, { type: 'continue', scene: 'done' }));
  });

  it('checks arrivals, seats and time waited', () => {
    refused('BAD_STEP', () => enrol(study, { ...arrival('p1'), id: 'a b' }, []));
    refused('BAD_STEP', () => enrol(study, { ...arrival('p1'), sessionId: '' }, []));
    const r = fresh();
    expect(
      refused('BAD_STEP', () =>
        checkSeat(study, r, { scene: 'arena', matchId: 'm1', slot: 0, episode: 0 }),
      ),
    ).toContain('is in scene "consent", not in game scene "arena"');
    const inArena = run(r, { type: 'accept', scene: 'consent' });
    expect(
      checkSeat(study, inArena, { scene: 'arena', matchId: 'm1', slot: 1, episode: 1 }),
    ).toEqual({ scene: 'arena', matchId: 'm1', slot: 1, episode: 1 });
    expect(
      refused('BAD_STEP', () =>
        checkSeat(study, inArena, { scene: 'arena', matchId: 'm1', slot: 2, episode: 0 }),
      ),
    ).toBe('seat.slot: must be an integer 0–1, got 2');
    expect(
      refused('BAD_STEP', () =>
        checkSeat(study, inArena, { scene: 'arena', matchId: 'm1', slot: 0, episode: 2 }),
      ),
    ).toBe('seat.episode: must be an integer 0–1, got 2');
    checkWaited(study, inArena, 'arena', 1500);
    refused('BAD_STEP', () => checkWaited(study, inArena, 'arena', -1));
    refused('BAD_STEP', () => checkWaited(study, inArena, 'kitchen', 10));
  });
});

describe('parsePageAction', () => {
  it('takes exactly what a page may send', () => {
    expect(parsePageAction({ type: 'accept', scene: 'consent' })).toEqual({
      type: 'accept',
      scene: 'consent',
    });
    expect(parsePageAction({ type: 'answer', scene: 'post', answers: { enjoy: 3 } })).toEqual({
      type: 'answer',
      scene: 'post',
      answers: { enjoy: 3 },
    });
  });

  it('refuses a game end, a condition, a participant id or a scene index from a page', () => {
    expect(
      refused('BAD_STEP', () =>
        parsePageAction({ type: 'gameEnd', scene: 'arena', outcome: 'completed' }),
      ),
    ).toBe('step.type: must be one of accept, decline, continue, answer, got "gameEnd"');
    // Nor a removal: only the study server removes, for an administrator.
    for (const type of ['removed', 'remove']) {
      expect(refused('BAD_STEP', () => parsePageAction({ type, scene: 'post' }))).toMatch(
        /^step.type: must be one of/,
      );
    }
    refused('BAD_STEP', () =>
      decide(study, fresh(), { type: 'removed', scene: 'consent' } as unknown as FlowAction),
    );
    expect(
      refused('BAD_STEP', () =>
        parsePageAction({
          type: 'accept',
          scene: 'consent',
          condition: { delay: 1 },
          sceneIndex: 3,
        }),
      ).split('\n'),
    ).toEqual(['step.condition: unknown key', 'step.sceneIndex: unknown key']);
    refused('BAD_STEP', () => parsePageAction({ type: 'continue', scene: 'x', participant: 'p2' }));
    expect(refused('BAD_STEP', () => parsePageAction({ type: 'answer', scene: 'post' }))).toBe(
      'step.answers: required',
    );
    expect(refused('BAD_STEP', () => parsePageAction('accept'))).toContain(
      'step: must be an object',
    );
  });

  it('never returns anything but a page step, whatever it is given (property)', () => {
    fc.assert(
      fc.property(fc.anything(), (raw) => {
        try {
          const a = parsePageAction(raw);
          expect(['accept', 'decline', 'continue', 'answer']).toContain(a.type);
          expect(Object.keys(a).sort()).toEqual(
            a.type === 'answer' ? ['answers', 'scene', 'type'] : ['scene', 'type'],
          );
        } catch (err) {
          expect((err as ConcordError).code).toBe('BAD_STEP');
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('the flow under any sequence of steps (property)', () => {
  const sceneIds = study.scenes.map((s) => s.id);
  const action: fc.Arbitrary<FlowAction> = fc.oneof(
    fc.record({
      type: fc.constantFrom('accept' as const, 'decline' as const, 'continue' as const),
      scene: fc.constantFrom(...sceneIds),
    }),
    fc.record({
      type: fc.constant('answer' as const),
      scene: fc.constantFrom(...sceneIds),
      answers: fc.oneof(
        fc.constant({ enjoy: 4 }),
        fc.record({ enjoy: fc.integer({ min: -1, max: 9 }), partner: fc.string() }),
      ),
    }),
    fc.record({
      type: fc.constant('gameEnd' as const),
      scene: fc.constantFrom(...sceneIds),
      outcome: fc.constantFrom('completed' as const, 'timeout' as const, 'partnerLeft' as const),
    }),
  );

  it('moves one scene forward or to the end, keeps the condition and the first outcome', () => {
    fc.assert(
      fc.property(fc.nat(20), fc.array(action, { maxLength: 40 }), (arrived, actions) => {
        const cells = assignCells(study.cells.length, arrived, 2);
        let r = enrol(study, arrival('p'), cells);
        const condition = r.condition;
        const end = study.scenes.length - 1;
        for (const a of actions) {
          let step: ReturnType<typeof decide>;
          try {
            step = decide(study, r, a);
          } catch (err) {
            expect(['BAD_STEP', 'BAD_ANSWER']).toContain((err as ConcordError).code);
            continue;
          }
          expect(r.sceneIndex).toBeLessThan(end);
          expect(a.scene).toBe(study.scenes[r.sceneIndex].id);
          expect(step.to === r.sceneIndex + 1 || step.to === end).toBe(true);
          if (r.outcome !== null) expect(step.outcome).toBe(r.outcome);
          const next = applyStep(r, step);
          expect(next.condition).toBe(condition);
          expect(next.completionCode !== null).toBe(next.sceneIndex === end);
          if (next.sceneIndex === end) {
            expect(next.completionCode).toBe(
              study.scenes[end].kind === 'end'
                ? study.scenes[end].completionCodes[next.outcome ?? 'completed']
                : null,
            );
          }
          r = next;
        }
      }),
      { numRuns: 300 },
    );
  });
});
