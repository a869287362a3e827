import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { validateSceneSettings } from '../../protocol/index.ts';
import { ConcordError } from '../../sim/index.ts';
import { BUILTIN_SCENES } from '../scenes.ts';
import { checkExperiment, loadExperiment } from './load.ts';
import { gameSceneFor, sceneSettingsFor } from './settings.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'concord-experiment-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
mkdirSync(path.join(dir, 'study'));
writeFileSync(path.join(dir, 'study', 'consent.md'), '# Consent\n');
writeFileSync(path.join(dir, 'env.py'), 'class Env:\n    def step(self, a): pass\n');
writeFileSync(path.join(dir, 'study', 'bot.ts'), 'export default {};\n');

let n = 0;
function write(text: string, name = `e${n++}.yaml`): string {
  const file = path.join(dir, 'study', name);
  writeFileSync(file, text);
  return file;
}

/** The problem lines of the ConcordError that `f` throws. */
function problems(f: () => unknown): string[] {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(ConcordError);
    expect((err as ConcordError).code).toBe('BAD_CONFIG');
    return (err as Error).message.split('\n').slice(1);
  }
  throw new Error('expected a ConcordError');
}

const END = '  - { kind: end, id: done, completionCodes: { completed: OK } }\n';
const MINIMAL = `id: tiny\nscenes:\n  - { kind: game, id: solo, players: 1 }\n${END}`;

const FULL = `
id: coop-study
conditions:
  delay: [{ inputDelay: 2 }, { inputDelay: 6 }]
  reveal: [{ revealBot: false }, { revealBot: true, bot: ./bot.ts }]
scenes:
  - { kind: info, id: consent, file: consent.md, consent: true }
  - kind: game
    id: arena
    sim: duel
    players: 2
    episodes: 2
    framesPerEpisode: 1800
    actions: { ArrowLeft+ArrowUp: UPLEFT }
    defaultAction: NOOP
    sync: { mode: lockstep, inputDelay: 3 }
    waitingRoom: { timeoutMs: 120000, onTimeout: end }
    onPartnerLost: end
  - { kind: game, id: env, sim: "python:../env.py:Env", tickRate: 10, onPartnerLost: bot }
  - kind: survey
    id: post
    questions:
      - { id: enjoy, type: likert, text: "I enjoyed playing.", scale: 7, required: true }
      - { id: partner, type: choice, text: "A person?", options: [yes, no, unsure] }
      - { id: notes, type: text, text: "Anything else?" }
  - kind: end
    id: done
    completionCodes: { completed: C0MPL3T, timeout: T1MEOUT, partnerLeft: PL3FT, declined: N0C0NS }
    redirect: "https://app.prolific.com/submissions/complete?cc={code}"
`;

describe('loadExperiment', () => {
  it('fills every default of a minimal file', () => {
    const e = loadExperiment(write(MINIMAL));
    expect(e.id).toBe('tiny');
    expect(e.factors).toEqual([]);
    expect(e.cells).toEqual([{}]);
    const game = e.scenes[0];
    expect(game).toEqual({
      kind: 'game',
      id: 'solo',
      sim: 'duel',
      players: 1,
      episodes: 1,
      framesPerEpisode: 3600,
      tickRate: 60,
      actions: {},
      defaultAction: null,
      sync: {
        mode: 'rollback',
        inputDelay: 2,
        maxPredictionWindow: 8,
        saveStrategy: 'ring',
        hashInterval: 30,
        hashIntervalMax: 240,
        rejoinGraceMs: 10_000,
        transport: 'auto',
      },
      waitingRoom: { timeoutMs: 120_000, onTimeout: 'end' },
      onPartnerLost: 'end',
      bot: 'random',
      revealBot: false,
      simPath: null,
      botPath: null,
    });
    expect(e.scenes[1]).toEqual({
      kind: 'end',
      id: 'done',
      completionCodes: { completed: 'OK' },
      redirect: null,
    });
  });

  it('gives the sync defaults of the built-in duel scene', () => {
    const e = loadExperiment(write(MINIMAL));
    const { name: _n, players: _p, frames: _f, onPlayerLost: _o, ...duel } = BUILTIN_SCENES.duel;
    const {
      name: _n2,
      players: _p2,
      frames: _f2,
      onPlayerLost: _o2,
      ...ours
    } = sceneSettingsFor(e, 'solo', {});
    expect(ours).toEqual(duel);
  });

  it('loads the full example shape, resolving paths against the file', () => {
    const e = loadExperiment(write(FULL));
    expect(e.factors.map((f) => f.name)).toEqual(['delay', 'reveal']);
    expect(e.cells).toHaveLength(4);
    const info = e.scenes[0];
    expect(info.kind === 'info' && info.path).toBe(path.join(dir, 'study', 'consent.md'));
    const env = e.scenes[2];
    expect(env.kind === 'game' && env.simPath).toBe(path.join(dir, 'env.py'));
    const survey = e.scenes[3];
    expect(survey.kind === 'survey' && survey.questions[2]).toEqual({
      id: 'notes',
      type: 'text',
      text: 'Anything else?',
      required: false,
      maxLength: 5000,
    });
  });

  it('reads JSON too', () => {
    const json = JSON.stringify({
      $schema: '../../docs/experiment.schema.json',
      id: 'j',
      scenes: [
        { kind: 'game', id: 'g', players: 1 },
        { kind: 'end', id: 'done', completionCodes: { completed: 'X' } },
      ],
    });
    expect(loadExperiment(write(json, 'e.json')).scenes).toHaveLength(2);
  });

  it('reports YAML syntax errors with line and column', () => {
    const lines = problems(() => loadExperiment(write('id: x\nscenes:\n  - { kind: end\n')));
    expect(lines.length).toBeGreaterThan(0);
    expect(lines[0]).toMatch(/^line \d+, column \d+: /);
  });

  it('refuses a file it cannot read', () => {
    expect(() => loadExperiment(path.join(dir, 'missing.yaml'))).toThrow(/cannot read/);
  });

  it('lists every problem at once, each named by its path', () => {
    const lines = problems(() =>
      loadExperiment(
        write(`
id: Bad Id
colour: blue
conditions:
  delay: [{ inputDelay: 2 }, { colour: 6 }]
scenes:
  - { kind: info, id: consent, file: missing.md, consent: true }
  - kind: game
    id: arena
    tickRate: 0
    sync: { inputDelay: -3, mode: server }
    waitingRoom: { onTimeout: wait }
  - { kind: game, id: arena, sim: nosuch, colour: red }
  - { kind: game, id: py, sim: "python:nosuch.py" }
  - { kind: party, id: x }
  - kind: survey
    id: post
    questions:
      - { id: q, type: likert, text: "?", scale: 7 }
      - { id: q, type: choice, text: "?", options: [a, a] }
  - { kind: end, id: done }
  - { kind: info, id: after, file: consent.md }
`),
      ),
    );
    expect(lines).toEqual(
      expect.arrayContaining([
        'id: must be an id [a-z0-9][a-z0-9_-]{0,63}, got "Bad Id"',
        'colour: unknown key',
        expect.stringMatching(
          /^conditions\.delay\[1\]\.colour: unknown key: a condition overrides only game settings \(mode, inputDelay,/,
        ),
        'scenes[0].file: no such file ' + path.join(dir, 'study', 'missing.md'),
        'scenes[1].sync.inputDelay: must be an integer 0–30, got -3',
        'scenes[1].sync.mode: must be one of lockstep, rollback, authoritative, got "server"',
        'scenes[1].waitingRoom.onTimeout: must be one of end, bot, got "wait"',
        'scenes[2].colour: unknown key',
        'scenes[4].kind: must be one of info, game, survey, end, got "party"',
        'scenes[1].tickRate: must be an integer 1–240, got 0',
        `scenes[3].sim: no such file ${path.join(dir, 'study', 'nosuch.py')}`,
        'scenes[5].questions[1].id: "q" is also the id of scenes[5].questions[0]',
        'scenes[5].questions[1].options[1]: "a" is listed twice',
        'scenes[6].kind: the end scene must be the last scene',
      ]),
    );
  });

  it('checks the rules across fields once the fields are valid', () => {
    const lines = problems(() =>
      loadExperiment(
        write(`
id: x
scenes:
  - { kind: info, id: consent, file: consent.md, consent: true }
  - kind: game
    id: arena
    actions: { ArrowLeft+ArrowUp: UPLEFT, ArrowUp+ArrowLeft: LEFTUP, KeyA+KeyA: A }
    sync: { hashInterval: 300 }
  - { kind: game, id: arena, sim: nosuch, bot: ./nobot.ts }
  - { kind: game, id: py, sim: "python:nosuch.py" }
  - { kind: game, id: ts, sim: ./nosim.ts }
  - { kind: end, id: done }
  - { kind: end, id: done2, completionCodes: { completed: A } }
`),
      ),
    );
    expect(lines).toEqual([
      'scenes[1].actions["ArrowUp+ArrowLeft"]: the same keys as ArrowLeft+ArrowUp',
      'scenes[1].actions["KeyA+KeyA"]: a key is repeated in the combination',
      'scenes[1].sync.hashIntervalMax: must be at least hashInterval (300), got 240',
      'scenes[2].id: "arena" is also the id of scenes[1]',
      expect.stringMatching(/^scenes\[2\]\.sim: unknown sim "nosuch" \(built-in: duel, field; /),
      `scenes[2].bot: no such file ${path.join(dir, 'study', 'nobot.ts')}`,
      `scenes[3].sim: no such file ${path.join(dir, 'study', 'nosuch.py')}`,
      `scenes[4].sim: no such file ${path.join(dir, 'study', 'nosim.ts')}`,
      'scenes[5].kind: the end scene must be the last scene',
      'scenes[6]: a second end scene (scenes[5] is one)',
      'scenes[6].completionCodes.declined: required, since scenes[0]: it is a consent scene',
      'scenes[6].completionCodes.timeout: required, since scenes[1]: waitingRoom can time out with onTimeout end',
      'scenes[6].completionCodes.partnerLeft: required, since scenes[1]: onPartnerLost is end',
    ]);
  });

  it('needs an end scene', () => {
    expect(
      problems(() =>
        loadExperiment(write('id: x\nscenes:\n  - { kind: game, id: g, players: 1 }\n')),
      ),
    ).toEqual(['scenes: no end scene (the last scene must have kind end)']);
  });

  it('asks for the timeout and partnerLeft codes only when the scenes can produce them', () => {
    const ok = `id: x
scenes:
  - kind: game
    id: g
    waitingRoom: { onTimeout: bot }
    onPartnerLost: continue
${END}`;
    expect(loadExperiment(write(ok)).scenes).toHaveLength(2);
    const neverTimesOut = `id: x
scenes:
  - { kind: game, id: g, waitingRoom: { timeoutMs: 0 }, onPartnerLost: bot }
${END}`;
    expect(loadExperiment(write(neverTimesOut)).scenes).toHaveLength(2);
  });

  it('checks every game scene under every condition cell', () => {
    const lines = problems(() =>
      loadExperiment(
        write(`id: x
conditions:
  k: [{ hashInterval: 30 }, { hashInterval: 500 }]
  lost: [{ onPartnerLost: continue }, { onPartnerLost: end }]
  bots: [{ bot: ./nobot.ts }]
scenes:
  - { kind: game, id: g, onPartnerLost: continue }
${END}`),
      ),
    );
    expect(lines).toEqual([
      `conditions.bots[0].bot: no such file ${path.join(dir, 'study', 'nobot.ts')}`,
      'conditions (cell k=1,lost=0,bots=0): scenes[0].sync.hashIntervalMax: must be at least hashInterval (500), got 240',
      'scenes[1].completionCodes.timeout: required, since scenes[0]: waitingRoom can time out with onTimeout end',
      'scenes[1].completionCodes.partnerLeft: required, since scenes[0]: onPartnerLost is end',
    ]);
  });

  it('names unknown keys at every depth', () => {
    const lines = problems(() =>
      checkExperiment(
        {
          id: 'x',
          scenes: [
            { kind: 'game', id: 'g', players: 1, sync: { inputdelay: 2 }, waitingRoom: { x: 1 } },
            { kind: 'end', id: 'done', completionCodes: { completed: 'A', finished: 'B' } },
          ],
        },
        path.join(dir, 'study', 'inline.yaml'),
      ),
    );
    expect(lines).toEqual([
      'scenes[0].sync.inputdelay: unknown key',
      'scenes[0].waitingRoom.x: unknown key',
      'scenes[1].completionCodes.finished: unknown key',
    ]);
  });

  it('says what is required', () => {
    expect(problems(() => checkExperiment({ scenes: [{ kind: 'end' }] }, 'x.yaml'))).toEqual([
      'id: required',
      'scenes[0].id: required',
    ]);
    expect(problems(() => checkExperiment({ id: 'x', scenes: [{ id: 'a' }] }, 'x.yaml'))).toEqual([
      'scenes[0].kind: required',
    ]);
  });
});

describe('sceneSettingsFor', () => {
  it('applies a condition and passes the protocol check', () => {
    const e = loadExperiment(write(FULL));
    const s = sceneSettingsFor(e, 'arena', { delay: 1, reveal: 0 });
    expect(s).toEqual({
      name: 'arena',
      sim: 'duel',
      players: 2,
      tickRate: 60,
      mode: 'lockstep',
      inputDelay: 6,
      maxPredictionWindow: 8,
      saveStrategy: 'ring',
      hashInterval: 30,
      hashIntervalMax: 240,
      rejoinGraceMs: 10_000,
      onPlayerLost: 'end',
      frames: 1800,
      transport: 'auto',
    });
    expect(validateSceneSettings(s)).toEqual(s);
    const env = sceneSettingsFor(e, 'env', { delay: 0, reveal: 0 });
    expect(env).toMatchObject({
      sim: 'python:../env.py:Env',
      tickRate: 10,
      onPlayerLost: 'continue',
    });
  });

  it('resolves an overridden bot module', () => {
    const e = loadExperiment(write(FULL));
    const played = gameSceneFor(e, 'arena', { delay: 0, reveal: 1 });
    expect(played.revealBot).toBe(true);
    expect(played.botPath).toBe(path.join(dir, 'study', 'bot.ts'));
    expect(gameSceneFor(e, 'arena', { delay: 0, reveal: 0 }).botPath).toBeNull();
  });

  it('refuses unknown scenes, non-game scenes and conditions that are not cells', () => {
    const e = loadExperiment(write(FULL));
    expect(() => sceneSettingsFor(e, 'nope', { delay: 0, reveal: 0 })).toThrow(/no scene "nope"/);
    expect(() => sceneSettingsFor(e, 'post', { delay: 0, reveal: 0 })).toThrow(/survey scene/);
    expect(() => sceneSettingsFor(e, 'arena', { delay: 2, reveal: 0 })).toThrow(
      /delay must be a level index 0–1, got 2/,
    );
    expect(() => sceneSettingsFor(e, 'arena', { delay: 0 })).toThrow(/reveal must be/);
    expect(() => sceneSettingsFor(e, 'arena', { delay: 0, reveal: 0, x: 1 })).toThrow(
      /unknown factor "x"/,
    );
  });
});

describe('the coop-study example', () => {
  it('loads', () => {
    const e = loadExperiment(
      path.join(import.meta.dirname, '../../examples/coop-study/study.yaml'),
    );
    expect(e.scenes.map((s) => `${s.kind}:${s.id}`)).toEqual([
      'info:consent',
      'game:arena',
      'game:kitchen',
      'survey:post',
      'end:done',
    ]);
    for (const cell of e.cells) {
      expect(sceneSettingsFor(e, 'kitchen', cell).sim).toBe('python:../kitchen.py');
    }
  });
});
