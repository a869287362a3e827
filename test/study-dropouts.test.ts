/**
 * A partner who closes the tab mid-match, under each `onPartnerLost` (end, continue, bot), over a
 * real relay on loopback with a real SQLite file: what the remaining participant reaches, what
 * the database and the match log say.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  builtinPolicy,
  type PlayMatchResult,
  playMatch,
  playStudy,
  StudyConnection,
  type StudyResult,
} from '../client/index.ts';
import { replayMatchLog } from '../relay/log/index.ts';
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

/**
 * Serves the fixture study with `onPartnerLost`; `stayer` plays the whole study while `leaver`
 * plays the game until frame 60 and then closes its tab for good.
 */
async function partnerLeaves(
  onPartnerLost: 'end' | 'continue' | 'bot',
  extra: Record<string, unknown> = {},
): Promise<{
  stayer: StudyResult;
  leaver: PlayMatchResult;
  log: Record<string, unknown>[];
  file: string;
  notices: string[];
}> {
  fx = await writeStudy({ onPartnerLost, framesPerEpisode: 360, ...extra });
  served = await startStudy({
    experiment: fx.file,
    dataDir: fx.dataDir,
    port: 0,
    host: '127.0.0.1',
    webrtc: false,
  });
  const url = served.url;
  const notices: string[] = [];
  const leaving = (async () => {
    const tab = await StudyConnection.connect(url);
    const hello = await tab.hello('leaver-tab', { participant: 'leaver' });
    if (!hello.ok) throw new Error(hello.message);
    const step = await tab.step({ sceneId: 'consent', type: 'accept' });
    if (!step.ok || step.view.scene.kind !== 'game') throw new Error('not at the game');
    const result = await playMatch({
      url,
      scene: step.view.scene.relayScene,
      participantId: 'leaver',
      auth: { studyToken: step.token },
      policy: builtinPolicy('random', { sim: 'duel' }),
      seed: 7,
      onRunner: (runner) =>
        runner.on((e) => {
          if (e.type === 'tick' && e.frame >= 60) runner.leave('closed the tab');
        }),
    });
    tab.close();
    return result;
  })();
  const [stayer, leaver] = await Promise.all([
    playStudy({
      url,
      seed: 3,
      ids: { participant: 'stayer' },
      onEvent: (e) => {
        if (e.type === 'view' && e.view.notice !== null) notices.push(e.view.notice);
      },
    }),
    leaving,
  ]);
  const matchId = stayer.games[0]?.matchId ?? '';
  // The log closes just after the match's end.
  await new Promise((r) => setTimeout(r, 200));
  const file = path.join(served.relay.logsDir, `${matchId}.jsonl`);
  const log = readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { stayer, leaver, log, file, notices };
}

describe('a partner who closes the tab mid-match', () => {
  it('onPartnerLost end: the remaining participant goes on to the next scene with outcome partnerLeft', async () => {
    const { stayer, leaver, log, notices } = await partnerLeaves('end');
    expect(notices).toContain('Your partner left the game.');
    expect(leaver.end?.kind).toBe('left');
    expect(stayer.error).toBeNull();
    expect(stayer).toMatchObject({
      finished: true,
      outcome: 'partnerLeft',
      completionCode: 'LEFT1',
    });
    expect(stayer.scenes).toEqual(['consent', 'arena', 'post', 'done']);
    const db = served!.study.db;
    expect(db.visits('stayer').find((v) => v.sceneId === 'arena')?.leftWith).toBe('partnerLeft');
    // The one who left is still in the game scene: back, they would wait for a new match.
    expect(db.participant('leaver').sceneIndex).toBe(1);
    expect(log.at(-1)).toMatchObject({ type: 'end', reason: expect.stringMatching(/was lost/) });
  }, 60_000);

  it("onPartnerLost continue: the match plays on with the lost player's default input, and completes", async () => {
    const { stayer, log, file } = await partnerLeaves('continue');
    expect(stayer.error).toBeNull();
    expect(stayer).toMatchObject({ finished: true, outcome: 'completed', completionCode: 'DONE1' });
    const left = log.find((r) => r.type === 'left');
    expect(left).toBeDefined();
    // The match went on well past the departure, and replays from its log (the lost slot playing
    // its default input) with every recorded hash.
    const lastFrame = left?.lastFrame as number;
    expect(
      log.some((r) => r.type === 'input' && r.s !== left?.s && (r.f as number) > lastFrame + 120),
    ).toBe(true);
    const replay = await replayMatchLog(file);
    expect(replay.mismatches).toEqual([]);
    expect(replay.finalFrame).toBe(360);
    expect(log.at(-1)).toMatchObject({ type: 'end', reason: 'every player finished' });
  }, 60_000);

  it('onPartnerLost bot: a bot takes the seat from the exact state, the handover frame is logged, and the match completes', async () => {
    const { stayer, log, file, notices } = await partnerLeaves('bot', { revealBot: true });
    // revealBot: the stayer's page is told.
    expect(notices).toContain('Your partner left; a bot plays in their place.');
    expect(stayer.error).toBeNull();
    expect(stayer).toMatchObject({ finished: true, outcome: 'completed', completionCode: 'DONE1' });
    const handover = log.find((r) => r.type === 'handover');
    expect(handover).toMatchObject({ bot: 'random' });
    const slot = handover?.s as number;
    const rejoin = log.find((r) => r.type === 'rejoin' && r.s === slot);
    expect(rejoin).toBeDefined();
    // The bot's own inputs arrive for frames after the handover, and every check agreed.
    expect(log.filter((r) => r.type === 'desync')).toEqual([]);
    expect(log.find((r) => r.type === 'header')).toMatchObject({ format: 7 });
    expect(served!.study.stats.handovers).toBe(1);
    const replay = await replayMatchLog(file);
    expect(replay.mismatches).toEqual([]);
    expect(replay.passed).toBeGreaterThan(0);
    expect(log.at(-1)).toMatchObject({ type: 'end', reason: 'every player finished' });
  }, 60_000);
});

describe('a dropped game connection', () => {
  it('rejoins its seat within the grace period, admitted with its study token, and the match completes', async () => {
    fx = await writeStudy({
      framesPerEpisode: 360,
      sync: { hashInterval: 30, hashIntervalMax: 60, rejoinGraceMs: 8000 },
    });
    served = await startStudy({
      experiment: fx.file,
      dataDir: fx.dataDir,
      port: 0,
      host: '127.0.0.1',
      webrtc: false,
    });
    const url = served.url;
    let cut = false;
    const rejoins: number[] = [];
    const results = await Promise.all(
      [1, 2].map((i) =>
        playStudy({
          url,
          seed: 20 + i,
          ids: { participant: `r${i}` },
          onConnection: (c) => {
            if (i !== 2) return;
            c.onMessage((m) => {
              if (m.kind === 'input' && m.frame >= 90 && !cut) {
                cut = true;
                c.close();
              }
            });
          },
          onRunner: (runner) => {
            void runner.closed.then(() => rejoins.push(runner.rejoins));
          },
        }),
      ),
    );
    expect(cut).toBe(true);
    for (const r of results) {
      expect(r.error).toBeNull();
      expect(r).toMatchObject({ finished: true, outcome: 'completed', completionCode: 'DONE1' });
      expect(r.games).toHaveLength(1);
    }
    expect(rejoins.reduce((a, b) => a + b, 0)).toBe(1);
    expect(served.study.stats.refusedJoins).toBe(0);
    expect(served.relay.stats().rejoins).toBe(1);
  }, 60_000);
});
