/**
 * The game scene fields that name what the sim is and how it is played: a module `sim`,
 * `actions` and `defaultAction` against the sim's named actions, and `episodes` ×
 * `framesPerEpisode`. Each problem is named by its field.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConcordError } from '../../sim/index.ts';
import { loadExperiment } from './load.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'concord-sim-fields-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
writeFileSync(path.join(dir, 'pong.ts'), 'export const sim = {};\n');
writeFileSync(path.join(dir, 'broken.ts'), 'export const sim = {\n  id: "x",,\n};\n');
writeFileSync(path.join(dir, 'env.py'), 'class Env:\n    def step(self, a): pass\n');

const END =
  '  - { kind: end, id: done, completionCodes: { completed: OK, partnerLeft: PL, timeout: TO } }\n';
let n = 0;

function load(scenes: string, conditions = ''): ReturnType<typeof loadExperiment> {
  const file = path.join(dir, `e${n++}.yaml`);
  writeFileSync(file, `id: x\n${conditions}scenes:\n${scenes}${END}`);
  return loadExperiment(file);
}

function problems(scenes: string, conditions = ''): string[] {
  try {
    load(scenes, conditions);
  } catch (err) {
    expect(err).toBeInstanceOf(ConcordError);
    return (err as Error).message.split('\n').slice(1);
  }
  throw new Error('expected a ConcordError');
}

describe('a module sim', () => {
  it('resolves a module path against the experiment file and accepts names it cannot check yet', () => {
    const e = load(
      '  - { kind: game, id: g, sim: ./pong.ts, actions: { ArrowUp: UP }, defaultAction: STAY }\n',
    );
    const game = e.scenes[0];
    expect(game.kind === 'game' && game.simPath).toBe(path.join(dir, 'pong.ts'));
  });

  it('names a file that is not an ES module, and a path without ./', () => {
    expect(
      problems(
        '  - { kind: game, id: g, sim: ./broken.ts }\n  - { kind: game, id: h, sim: pong.ts }\n',
      ),
    ).toEqual([
      expect.stringMatching(
        /^scenes\[0\]\.sim: .*broken\.ts:2:\d+: .* \(a sim module must be an ES module in TypeScript or JavaScript\)$/,
      ),
      'scenes[1].sim: unknown sim "pong.ts": a module path starts with ./, ../ or / (./pong.ts)',
    ]);
  });
});

describe('actions and defaultAction', () => {
  it("checks names against a built-in sim's actions", () => {
    expect(() =>
      load(
        '  - kind: game\n    id: g\n    actions: { ArrowLeft+ArrowUp: UPLEFT }\n    defaultAction: NOOP\n',
      ),
    ).not.toThrow();
    expect(problems('  - kind: game\n    id: g\n    actions: { Space: 17 }\n')).toEqual([
      'scenes[0].actions.Space: must be an action name (an identifier) or an integer 0–16, got 17',
    ]);
    expect(
      problems(
        '  - kind: game\n    id: g\n    actions: { ArrowUp: UPP }\n    defaultAction: STAY\n',
      ),
    ).toEqual([
      expect.stringMatching(
        /^scenes\[0\]\.actions\.ArrowUp: action "UPP" is not one of the sim's actions \(NOOP, UP, /,
      ),
      expect.stringMatching(
        /^scenes\[0\]\.defaultAction: action "STAY" is not one of the sim's actions/,
      ),
    ]);
  });

  it('takes numbers, not names, for a Python environment', () => {
    expect(
      problems(
        '  - kind: game\n    id: g\n    sim: "python:env.py"\n    actions: { ArrowUp: 1, KeyW: UP }\n    defaultAction: 0\n',
      ),
    ).toEqual([
      'scenes[0].actions.KeyW: action "UP": the sim names no actions (use discrete action numbers 0–16)',
    ]);
  });

  it('checks a defaultAction that a condition sets', () => {
    expect(
      problems(
        '  - { kind: game, id: g }\n',
        'conditions:\n  idle: [{ defaultAction: NOOP }, { defaultAction: SLEEP }]\n',
      ),
    ).toEqual([
      expect.stringMatching(
        /^conditions \(cell idle=1\): scenes\[0\]\.defaultAction: action "SLEEP" is not one of the sim's actions/,
      ),
    ]);
  });
});

describe('episodes', () => {
  it('bounds the whole match, episodes × framesPerEpisode', () => {
    expect(
      problems('  - { kind: game, id: g, episodes: 1000, framesPerEpisode: 20000 }\n'),
    ).toEqual([
      'scenes[0].framesPerEpisode: episodes × framesPerEpisode must be at most 10000000 frames, got 1000 × 20000 = 20000000',
    ]);
  });
});
