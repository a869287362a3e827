/**
 * The header fields of log format 5: a sim module's bundle, the scene's keys and actions and its
 * episodes. Each is checked when the header is read, and older formats may not carry them.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { createActionMap, DUEL_ACTIONS, initStateHash, simBundleHash } from '../../sim/index.ts';
import { sampleDuelMatch } from '../../test/support/sample-match.ts';
import { LogError, parseRecord } from './records.ts';

// The sample match hashes states, so it is made once the hasher is ready.
let header: ReturnType<typeof sampleDuelMatch>['header'];
beforeAll(async () => {
  await initStateHash();
  header = sampleDuelMatch({ frames: 200 }).header;
});

function refusal(header: unknown): string {
  try {
    parseRecord(JSON.stringify(header), 1);
  } catch (err) {
    expect(err).toBeInstanceOf(LogError);
    expect((err as LogError).code).toBe('DAMAGED');
    return (err as Error).message;
  }
  throw new Error('the header was accepted');
}

describe('log format 5 header', () => {
  const actions = createActionMap(
    { actions: { 'ArrowLeft+ArrowUp': 'UPLEFT', Space: 'FIRE' }, defaultAction: 'NOOP' },
    DUEL_ACTIONS,
  ).toRecord();

  it('reads the keys and actions and the episodes', () => {
    const h = { ...header, actions, episodes: { episodes: 2, framesPerEpisode: 100 } };
    const back = parseRecord(JSON.stringify(h), 1);
    expect(back).toEqual(h);
    expect(actions.inputs).toEqual({ UPLEFT: '05000000', FIRE: '10000000', NOOP: '00000000' });
  });

  it('refuses them in older formats, and when they do not add up', () => {
    expect(refusal({ ...header, format: 4, actions })).toMatch(/"actions" needs log format 5/);
    expect(
      refusal({ ...header, format: 4, episodes: { episodes: 2, framesPerEpisode: 100 } }),
    ).toMatch(/"episodes" needs log format 5/);
    expect(refusal({ ...header, episodes: { episodes: 3, framesPerEpisode: 100 } })).toMatch(
      /"scene.frames" must be episodes × framesPerEpisode \(300\)/,
    );
    expect(refusal({ ...header, actions: { ...actions, inputs: { NOOP: '00000000' } } })).toMatch(
      /"actions": .*UPLEFT/,
    );
  });

  it('takes a bundle only for a module sim, and only when it hashes to the code hash', () => {
    const bundle = 'export const sim = {};\n';
    const scene = { ...header.scene, sim: './pong.ts' };
    const ok = {
      ...header,
      scene,
      sim: { id: './pong.ts', codeHash: simBundleHash(bundle), bundle },
    };
    expect(parseRecord(JSON.stringify(ok), 1)).toEqual(ok);
    expect(refusal({ ...ok, sim: { ...ok.sim, bundle: `${bundle} ` } })).toMatch(
      /"sim.bundle" hashes to [0-9a-f]{16}, not the recorded codeHash/,
    );
    expect(refusal({ ...ok, sim: { id: './pong.ts', codeHash: ok.sim.codeHash } })).toMatch(
      /"sim.bundle" must be the bundle of the sim module/,
    );
    expect(refusal({ ...header, sim: { ...header.sim, bundle } })).toMatch(
      /"sim.bundle" is only for sim modules/,
    );
  });
});
