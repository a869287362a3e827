/**
 * The study server over a real relay on loopback with a real SQLite file: a whole study by two
 * headless participants, a reload mid-survey, a second tab, another participant's session or
 * token, answers that do not fit.
 */
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import {
  builtinPolicy,
  playMatch,
  playStudy,
  RelayConnection,
  StudyConnection,
} from '../client/index.ts';
import type { StudyReply, StudyView } from '../protocol/index.ts';
import { replayMatchLog } from '../relay/log/index.ts';
import { type StudyRelay, startStudy } from '../relay/study/index.ts';
import { type StudyFixture, writeStudy } from './support/study-fixture.ts';

let fx: StudyFixture | null = null;
let served: StudyRelay | null = null;
const open: StudyConnection[] = [];

afterEach(async () => {
  for (const c of open.splice(0)) c.close();
  await served?.close();
  served = null;
  await fx?.remove();
  fx = null;
});

async function serve(
  game: Record<string, unknown> | null = {},
  top: Record<string, unknown> = {},
): Promise<StudyRelay> {
  fx = await writeStudy(game, 'test-study', top);
  served = await startStudy({
    experiment: fx.file,
    dataDir: fx.dataDir,
    port: 0,
    host: '127.0.0.1',
    webrtc: false,
  });
  return served;
}

async function connect(url: string): Promise<StudyConnection> {
  const c = await StudyConnection.connect(url);
  open.push(c);
  return c;
}

function view(reply: StudyReply): StudyView {
  if (!reply.ok) throw new Error(`refused: ${reply.refusal}: ${reply.message}`);
  return reply.view;
}

async function until(cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('the study server', () => {
  it('takes two participants from consent through a match and a survey to their code, all in the database', async () => {
    const s = await serve();
    const results = await Promise.all(
      [1, 2].map((i) => playStudy({ url: s.url, seed: i, ids: { participant: `p${i}` } })),
    );
    for (const r of results) {
      expect(r.error).toBeNull();
      expect(r).toMatchObject({ finished: true, outcome: 'completed', completionCode: 'DONE1' });
      expect(r.redirect).toBe('https://example.org/done?cc=DONE1');
      expect(r.scenes).toEqual(['consent', 'arena', 'post', 'done']);
    }
    expect(results[0].games[0].matchId).toBe(results[1].games[0].matchId);
    const db = s.study.db;
    const seats = [db.seats('p1'), db.seats('p2')].flat();
    expect(seats.map((x) => x.slot).sort()).toEqual([0, 1]);
    expect(new Set(seats.map((x) => x.matchId)).size).toBe(1);
    expect(db.answers('p1').find((a) => a.questionId === 'enjoy')?.value).toBeGreaterThan(0);
    const arena = db.visits('p1').find((v) => v.sceneId === 'arena');
    expect(arena?.leftWith).toBe('completed');
    // The match log carries the scene's action map.
    const file = `${s.relay.logsDir}/${seats[0].matchId}.jsonl`;
    const { readFileSync } = await import('node:fs');
    const header = JSON.parse(readFileSync(file, 'utf8').split('\n')[0]);
    expect(header.scene.name).toBe('arena');
    expect(header.actions).toBeDefined();
  }, 60_000);

  it('plays a sim module of two episodes in one match, whose log replays', async () => {
    const pong = path.join(import.meta.dirname, '..', 'examples', 'pong', 'pong.ts');
    const s = await serve({
      sim: pong,
      actions: { ArrowUp: 'UP', ArrowDown: 'DOWN' },
      defaultAction: 'STAY',
      episodes: 2,
      framesPerEpisode: 150,
    });
    const results = await Promise.all(
      [1, 2].map((i) =>
        playStudy({
          url: s.url,
          seed: i,
          ids: { participant: `m${i}` },
          simFactory: s.study.simFactory,
        }),
      ),
    );
    for (const r of results) expect(r).toMatchObject({ finished: true, outcome: 'completed' });
    const replay = await replayMatchLog(
      path.join(s.relay.logsDir, `${results[0].games[0].matchId}.jsonl`),
    );
    expect(replay.episodes).toEqual({ episodes: 2, framesPerEpisode: 150 });
    expect(replay.finalFrame).toBe(300);
    expect(replay.mismatches).toEqual([]);
    expect(replay.passed).toBeGreaterThan(0);
  }, 60_000);

  it('returns a reloaded page (the same tab id) to the survey it was in, and refuses answers that do not fit', async () => {
    const s = await serve(null);
    const a = await connect(s.url);
    let v = view(await a.hello('tab-a', { participant: 'reloader' }));
    expect(v.scene).toMatchObject({ kind: 'info', consent: true });
    if (v.scene.kind === 'info') expect(v.scene.html).toContain('<em>play</em>');
    v = view(await a.step({ sceneId: 'consent', type: 'accept' }));
    expect(v.scene.kind).toBe('survey');
    a.close();
    // The reload: a new connection, the same tab id.
    const b = await connect(s.url);
    const back = await b.hello('tab-a', { participant: 'reloader' });
    expect(view(back).scene.id).toBe('post');
    const bad = await b.step({ sceneId: 'post', type: 'answer', answers: { enjoy: 9 } });
    expect(bad).toMatchObject({ ok: false, refusal: 'badAnswers' });
    if (!bad.ok) expect(bad.errors?.join('\n')).toMatch(/enjoy: must be an integer 1–5, got 9/);
    // A step for a scene already left changes nothing.
    expect(await b.step({ sceneId: 'consent', type: 'accept' })).toMatchObject({
      ok: false,
      refusal: 'badStep',
    });
    const done = view(await b.step({ sceneId: 'post', type: 'answer', answers: { enjoy: 4 } }));
    expect(done.scene).toMatchObject({
      kind: 'end',
      outcome: 'completed',
      completionCode: 'DONE1',
    });
    // Finished: the code again, never a fresh start.
    b.close();
    const c = await connect(s.url);
    expect(view(await c.hello('tab-z', { participant: 'reloader' })).scene.kind).toBe('end');
    expect(s.study.db.answers('reloader')).toHaveLength(1);
  }, 30_000);

  it('refuses a second tab until the first one closes', async () => {
    const s = await serve(null);
    const first = await connect(s.url);
    view(await first.hello('tab-1', { participant: 'twotabs' }));
    const second = await connect(s.url);
    expect(await second.hello('tab-2', { participant: 'twotabs' })).toMatchObject({
      ok: false,
      refusal: 'otherTab',
    });
    first.close();
    await until(() => s.study.db.activeTab('twotabs') === null);
    expect(view(await second.hello('tab-2', { participant: 'twotabs' })).scene.id).toBe('consent');
    expect(s.study.stats.refusedHellos).toBe(1);
  }, 30_000);

  it("refuses a hello naming another participant's session, and a join with another participant's token", async () => {
    const s = await serve({ waitingRoom: { timeoutMs: 0, onTimeout: 'end' } });
    const a = await connect(s.url);
    view(await a.hello('tab-a', { PROLIFIC_PID: 'pidA', STUDY_ID: 'study1', SESSION_ID: 'sess1' }));
    const forged = await connect(s.url);
    const reply = await forged.hello('tab-f', {
      PROLIFIC_PID: 'pidA',
      STUDY_ID: 'study1',
      SESSION_ID: 'sess2',
    });
    expect(reply).toMatchObject({ ok: false, refusal: 'badRequest' });
    if (!reply.ok) expect(reply.message).toMatch(/SESSION_ID sess1, not sess2/);
    // pidA goes on to the game; b, still at consent, tries to join with pidA's token.
    view(await a.step({ sceneId: 'consent', type: 'accept' }));
    const b = await connect(s.url);
    view(await b.hello('tab-b', { participant: 'b' }));
    const refusals: string[] = [];
    for (const [participantId, token] of [
      ['b', a.token ?? ''], // another participant's token
      ['b', b.token ?? ''], // b's own token, but b is not in the game scene
      ['pidA', 'made-up'], // no such token
    ] as const) {
      const r = await playMatch({
        url: s.url,
        scene: 'arena',
        participantId,
        auth: { studyToken: token },
        policy: builtinPolicy('idle', { sim: 'duel' }),
        seed: 1,
      });
      expect(r.matchId).toBeNull();
      refusals.push(r.refusal ?? '');
    }
    expect(refusals[0]).toMatch(/another participant's/);
    expect(refusals[1]).toMatch(/is in scene "consent", not in game scene "arena"/);
    expect(refusals[2]).toMatch(/unknown study token/);
    // No token at all.
    const bare = await RelayConnection.connect(s.url);
    const errors: string[] = [];
    bare.onMessage((m) => {
      if (m.kind === 'error') errors.push(m.message);
    });
    bare.send({ kind: 'join', scene: 'arena', participantId: 'pidA' });
    await until(() => errors.length > 0);
    bare.close();
    expect(errors[0]).toMatch(/studyToken/);
    expect(s.study.stats.refusedJoins).toBe(4);
    expect(s.relay.stats().refused.BAD_SCENE).toBe(4);
    expect(s.study.db.seats('pidA')).toEqual([]);
  }, 30_000);

  it('admits a participant only to the relay scene of their own condition cell', async () => {
    const s = await serve(
      { waitingRoom: { timeoutMs: 0, onTimeout: 'end' } },
      { conditions: { delay: [{ inputDelay: 1 }, { inputDelay: 5 }] } },
    );
    expect([...s.study.relayScenes.keys()]).toEqual(['arena-c0', 'arena-c1']);
    // Assigned in blocks of a match (2 players): the first two arrivals in cell 0, the third in 1.
    const tabs = await Promise.all(['a', 'b', 'c'].map(() => connect(s.url)));
    const scenes: string[] = [];
    for (const [i, tab] of tabs.entries()) {
      view(await tab.hello(`tab-${i}`, { participant: `arrival${i}` }));
      const v = view(await tab.step({ sceneId: 'consent', type: 'accept' }));
      if (v.scene.kind === 'game') scenes.push(v.scene.relayScene);
    }
    expect(scenes).toEqual(['arena-c0', 'arena-c0', 'arena-c1']);
    // arrival2 (cell 1) tries the other cell's scene with its own, valid token.
    const r = await playMatch({
      url: s.url,
      scene: 'arena-c0',
      participantId: 'arrival2',
      auth: { studyToken: tabs[2].token ?? '' },
      policy: builtinPolicy('idle', { sim: 'duel' }),
      seed: 1,
    });
    expect(r.matchId).toBeNull();
    expect(r.refusal).toMatch(/another condition's scene/);
    expect(s.study.stats.refusedJoins).toBe(1);
  }, 30_000);

  it('keeps the database file as WAL and every participant in it', async () => {
    const s = await serve(null);
    const a = await connect(s.url);
    view(await a.hello('t', {}));
    const id = a.view?.participantId ?? '';
    expect(id).toMatch(/^g-/);
    const raw = new Database(s.study.db.file, { readonly: true });
    expect(raw.prepare('SELECT id, id_source FROM participants').all()).toEqual([
      { id, id_source: 'generated' },
    ]);
    raw.close();
    expect(s.study.db.journalMode).toBe('wal');
  }, 30_000);
});
