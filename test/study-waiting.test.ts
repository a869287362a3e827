/**
 * Waiting rooms over a real relay on loopback with a real SQLite file: the `waiting` pushes, a
 * timeout under each `onTimeout` (end, bot), and `leave`.
 */
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { builtinPolicy, playMatch, playStudy, StudyConnection } from '../client/index.ts';
import type { StudyWaiting } from '../protocol/index.ts';
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

async function serve(game: Record<string, unknown>): Promise<StudyRelay> {
  fx = await writeStudy(game);
  served = await startStudy({
    experiment: fx.file,
    dataDir: fx.dataDir,
    port: 0,
    host: '127.0.0.1',
    webrtc: false,
    waitingPushMs: 200,
  });
  return served;
}

describe('the waiting room', () => {
  it('onTimeout end: pushes the count and the time left, then ends the study with outcome timeout and records the time waited', async () => {
    const s = await serve({ waitingRoom: { timeoutMs: 1500, onTimeout: 'end' } });
    const pushes: StudyWaiting[] = [];
    const r = await playStudy({
      url: s.url,
      seed: 1,
      ids: { participant: 'alone' },
      onEvent: (e) => {
        if (e.type === 'waiting') pushes.push(e.waiting);
      },
    });
    expect(r.error).toBeNull();
    expect(r).toMatchObject({ finished: true, outcome: 'timeout', completionCode: 'TIME1' });
    expect(r.scenes).toEqual(['consent', 'arena', 'done']);
    expect(pushes.length).toBeGreaterThan(0);
    expect(pushes[0]).toMatchObject({ sceneId: 'arena', waiting: 1, players: 2 });
    const left = pushes.map((p) => p.timeLeftMs ?? -1);
    expect(Math.min(...left)).toBeLessThan(1500);
    expect(left.every((t) => t >= 0 && t <= 1500)).toBe(true);
    const visit = s.study.db.visits('alone').find((v) => v.sceneId === 'arena');
    expect(visit?.leftWith).toBe('timeout');
    expect(visit?.waitedMs).toBeGreaterThanOrEqual(1400);
    expect(s.study.stats.waitingTimeouts).toBe(1);
  }, 30_000);

  it('onTimeout bot: a bot partner fills the seat, plays as a peer, and the participant completes', async () => {
    const s = await serve({
      waitingRoom: { timeoutMs: 1000, onTimeout: 'bot' },
      bot: 'idle',
      revealBot: true,
    });
    const notices: (string | null)[] = [];
    const r = await playStudy({
      url: s.url,
      seed: 2,
      ids: { participant: 'lonely' },
      onEvent: (e) => {
        if (e.type === 'view' && e.view.scene.id === 'arena') notices.push(e.view.notice);
      },
    });
    // revealBot: the page is told, in the view's notice, while it plays.
    expect(notices).toContain('Your partner is a bot.');
    expect(r.error).toBeNull();
    expect(r).toMatchObject({ finished: true, outcome: 'completed', completionCode: 'DONE1' });
    expect(s.study.stats.botsStarted).toBe(1);
    const seats = s.study.db.seats('lonely');
    expect(seats).toHaveLength(1);
    // The bot's seat is in the match log, its inputs logged like a player's.
    const { readFileSync } = await import('node:fs');
    const lines = readFileSync(`${s.relay.logsDir}/${seats[0].matchId}.jsonl`, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const botSlot = 1 - seats[0].slot;
    expect(lines[0].players[botSlot].participantId).toMatch(/^bot-/);
    expect(lines.filter((l) => l.type === 'input' && l.s === botSlot).length).toBeGreaterThan(100);
    expect(lines.at(-1)).toMatchObject({ type: 'end', reason: 'every player finished' });
  }, 45_000);

  it("onTimeout bot with the experiment's own policy module: the bot plays what the module says", async () => {
    // Holds button bit 2 from frame 30 on; before that, the default input.
    const bot =
      'export function policy(view) {\n  return view.frame >= 30 ? { buttons: 4, x: 0, y: 0 } : null;\n}\n';
    fx = await writeStudy({ waitingRoom: { timeoutMs: 800, onTimeout: 'bot' }, bot: './bot.mjs' });
    await writeFile(path.join(fx.dir, 'bot.mjs'), bot);
    served = await startStudy({
      experiment: fx.file,
      dataDir: fx.dataDir,
      port: 0,
      host: '127.0.0.1',
      webrtc: false,
    });
    const r = await playStudy({ url: served.url, seed: 4, ids: { participant: 'modular' } });
    expect(r).toMatchObject({ finished: true, outcome: 'completed' });
    const seat = served.study.db.seats('modular')[0];
    const lines = readFileSync(`${served.relay.logsDir}/${seat.matchId}.jsonl`, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const botInputs = lines.filter((l) => l.type === 'input' && l.s === 1 - seat.slot);
    expect(botInputs.filter((l) => l.f >= 40).every((l) => l.in === '04000000')).toBe(true);
    expect(botInputs.filter((l) => l.f >= 40).length).toBeGreaterThan(100);
  }, 45_000);

  it('leave: a participant who leaves the waiting room ends with outcome timeout and blocks nobody', async () => {
    const s = await serve({ waitingRoom: { timeoutMs: 60_000, onTimeout: 'end' } });
    const tab = await StudyConnection.connect(s.url);
    const hello = await tab.hello('t1', { participant: 'quitter' });
    expect(hello.ok).toBe(true);
    const step = await tab.step({ sceneId: 'consent', type: 'accept' });
    if (!step.ok || step.view.scene.kind !== 'game') throw new Error('not at the game');
    const game = playMatch({
      url: s.url,
      scene: step.view.scene.relayScene,
      participantId: 'quitter',
      auth: { studyToken: step.token },
      policy: builtinPolicy('idle', { sim: 'duel' }),
      seed: 1,
      onRunner: (runner) =>
        tab.onView((v) => {
          if (v.scene.id !== 'arena') runner.leave('left the waiting room');
        }),
    });
    const start = Date.now();
    while (tab.waiting === null && Date.now() - start < 10_000) {
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(tab.waiting).toMatchObject({ waiting: 1, players: 2 });
    const left = await tab.step({ sceneId: 'arena', type: 'leave' });
    expect(left.ok && left.view.scene).toMatchObject({ kind: 'end', outcome: 'timeout' });
    expect((await game).matchId).toBeNull();
    tab.close();
    // The queue is empty: two others are matched with each other at once.
    const pair = await Promise.all(
      [1, 2].map((i) => playStudy({ url: s.url, seed: 10 + i, ids: { participant: `q${i}` } })),
    );
    for (const r of pair) expect(r).toMatchObject({ finished: true, outcome: 'completed' });
    expect(s.study.db.participant('quitter').outcome).toBe('timeout');
  }, 45_000);
});
