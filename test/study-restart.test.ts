/**
 * The relay restarted mid-study, over real sockets on loopback and the same SQLite file: the
 * participants resume where the database says, and the two whose match died with the relay go
 * back to that game scene's waiting room, play a new match and finish.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { playStudy, StudyConnection } from '../client/index.ts';
import { type StudyRelay, startStudy } from '../relay/study/index.ts';
import { type StudyFixture, writeStudy } from './support/study-fixture.ts';

let fx: StudyFixture | null = null;
let served: StudyRelay | null = null;

afterEach(async () => {
  await served?.close();
  served = null;
  await fx?.remove();
  fx = null;
});

describe('a relay restarted mid-study', () => {
  it('resumes every participant: mid-match ones play a new match, the others stay where they were', async () => {
    fx = await writeStudy({
      framesPerEpisode: 600,
      waitingRoom: { timeoutMs: 60_000, onTimeout: 'end' },
    });
    const start = (port: number) =>
      startStudy({
        experiment: fx!.file,
        dataDir: fx!.dataDir,
        port,
        host: '127.0.0.1',
        webrtc: false,
      });
    served = await start(0);
    const port = served.relay.port;
    const url = served.url;

    // A participant who only accepted consent (at the game scene, not playing).
    const idle = await StudyConnection.connect(url);
    await idle.hello('idle-tab', { participant: 'idle' });
    await idle.step({ sceneId: 'consent', type: 'accept' });
    idle.close();

    let playing = 0;
    let restarted: Promise<void> | null = null;
    const restart = async () => {
      await served!.close('restart');
      served = await start(port);
    };
    const players = [1, 2].map((i) =>
      playStudy({
        url,
        seed: i,
        ids: { participant: `p${i}` },
        reconnectMs: 30_000,
        onRunner: (runner) => {
          let counted = false;
          runner.on((e) => {
            if (e.type !== 'tick' || counted || e.frame < 120) return;
            counted = true;
            playing++;
            // Both are mid-match: the relay goes down and comes back on the same port.
            if (playing === 2 && restarted === null) restarted = restart();
          });
        },
      }),
    );
    const results = await Promise.all(players);
    expect(restarted).not.toBeNull();
    await restarted;
    for (const r of results) {
      expect(r.error).toBeNull();
      expect(r).toMatchObject({ finished: true, outcome: 'completed', completionCode: 'DONE1' });
      // The game scene was shown again after the restart: a second match.
      expect(r.games.length).toBe(2);
      expect(r.games[0].matchId).not.toBe(r.games[1].matchId);
    }
    const db = served!.study.db;
    for (const id of ['p1', 'p2']) {
      const seats = db.seats(id);
      expect(seats.map((x) => x.episode)).toEqual([0, 0]);
      expect(seats[0].matchId).not.toBe(seats[1].matchId);
      expect(db.participant(id).completionCode).toBe('DONE1');
    }
    // The idle one is still at the game scene, and is shown it again.
    const back = await StudyConnection.connect(served!.url);
    const reply = await back.hello('idle-tab-2', { participant: 'idle' });
    back.close();
    expect(reply.ok && reply.view.scene.id).toBe('arena');
  }, 60_000);
});
