/**
 * A Python game scene in a study, over a real relay on loopback: the participant's headless page
 * and the bot partner beside the relay (`onTimeout: bot`) both run the environment in Node's
 * Pyodide, and the match log replays.
 */
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { playStudy } from '../client/index.ts';
import { replayMatchLog } from '../relay/log/index.ts';
import { type StudyRelay, startStudy } from '../relay/study/index.ts';
import { type StudyFixture, writeStudy } from './support/study-fixture.ts';

const KITCHEN = path.join(import.meta.dirname, '..', 'examples', 'kitchen.py');
let fx: StudyFixture | null = null;
let served: StudyRelay | null = null;

afterEach(async () => {
  await served?.close();
  served = null;
  await fx?.remove();
  fx = null;
});

describe('a Python game scene', () => {
  it('is played by the participant and a bot partner, both in Pyodide, and its log replays', async () => {
    fx = await writeStudy({
      sim: `python:${KITCHEN}`,
      tickRate: 10,
      framesPerEpisode: 60,
      actions: { ArrowUp: 1, ArrowDown: 2, ArrowLeft: 3, ArrowRight: 4, Space: 5 },
      defaultAction: 0,
      sync: { inputDelay: 1, saveStrategy: 'sparse', hashInterval: 10, hashIntervalMax: 20 },
      waitingRoom: { timeoutMs: 1000, onTimeout: 'bot' },
    });
    served = await startStudy({
      experiment: fx.file,
      dataDir: fx.dataDir,
      port: 0,
      host: '127.0.0.1',
      webrtc: false,
    });
    const r = await playStudy({ url: served.url, seed: 5, ids: { participant: 'chef' } });
    expect(r.error).toBeNull();
    expect(r).toMatchObject({ finished: true, outcome: 'completed', completionCode: 'DONE1' });
    expect(served.study.stats.botsStarted).toBe(1);
    const seat = served.study.db.seats('chef')[0];
    const replay = await replayMatchLog(path.join(served.relay.logsDir, `${seat.matchId}.jsonl`));
    expect(replay.sim.id).toMatch(/^python:/);
    expect(replay.finalFrame).toBe(60);
    expect(replay.mismatches).toEqual([]);
    expect(replay.passed).toBeGreaterThan(0);
  }, 90_000);
});
