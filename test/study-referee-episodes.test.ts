/**
 * The relay's referee runs a study game of several episodes as the peers do (the episode
 * wrapper): two headless participants play a duel of two episodes, and the referee's
 * re-simulated hash of every agreed check equals the peers' (no `referee-diverged` notice).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { playStudy } from '../client/index.ts';
import { type StudyRelay, startStudy } from '../relay/study/index.ts';
import { type StudyFixture, writeStudy } from './support/study-fixture.ts';

let fixture: StudyFixture;
let study: StudyRelay;

afterAll(async () => {
  await study?.close();
  await fixture?.remove();
});

describe('the referee of a match with episodes', () => {
  it('agrees with the peers on every check across the episode boundary', async () => {
    fixture = await writeStudy({ episodes: 2, framesPerEpisode: 150 });
    const events: { event: string; detail: Record<string, unknown> }[] = [];
    study = await startStudy({
      experiment: fixture.file,
      dataDir: fixture.dataDir,
      port: 0,
      host: '127.0.0.1',
      webrtc: false,
      onEvent: (event, detail) => events.push({ event, detail }),
    });
    const results = await Promise.all(
      [1, 2].map((seed) => playStudy({ url: study.url, ids: { participant: `p${seed}` }, seed })),
    );
    expect(results.map((r) => r.sceneId)).toEqual(['done', 'done']);
    expect(events.filter((e) => e.event === 'match-start')).toHaveLength(1);
    expect(events.filter((e) => e.event.startsWith('referee-'))).toEqual([]);
  }, 120_000);
});
