/**
 * The admin view of a study: `startStudy({ admin })` gives the relay the study's participants
 * from the participant database (a real SQLite file), shown waiting while the relay has them in
 * a waiting room, and finished with the outcome afterwards; and the admin's removal of a
 * participant mid-match, over a real relay with headless participants (client/study-client.ts).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { builtinPolicy, playMatch, playStudy, StudyConnection } from '../client/index.ts';
import type { AdminState, StudyStep, StudyView } from '../protocol/index.ts';
import { exportDataDir } from '../relay/export/index.ts';
import { readMatchLog } from '../relay/log/index.ts';
import { type StudyRelay, startStudy } from '../relay/study/index.ts';
import { until } from './support/chromium.ts';
import { csvObjects } from './support/csv-parse.ts';
import { type StudyFixture, writeStudy } from './support/study-fixture.ts';

const TOKEN = 'study-admin-test-token-0123456789';
let fx: StudyFixture | null = null;
let served: StudyRelay | null = null;

afterEach(async () => {
  await served?.close();
  served = null;
  await fx?.remove();
  fx = null;
});

describe("a study's admin view", () => {
  it('lists the participants by scene and status from the database, waiting while in the waiting room', async () => {
    fx = await writeStudy({ waitingRoom: { timeoutMs: 4000, onTimeout: 'end' } });
    served = await startStudy({
      experiment: fx.file,
      dataDir: fx.dataDir,
      port: 0,
      host: '127.0.0.1',
      webrtc: false,
      admin: { token: TOKEN },
    });
    const s = served;
    const state = async (): Promise<AdminState> => {
      const res = await fetch(`${s.url}/admin/api/state`, {
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      expect(res.status).toBe(200);
      return (await res.json()) as AdminState;
    };
    expect((await fetch(`${s.url}/admin/api/state`)).status).toBe(401);
    expect((await state()).participants).toEqual([]);

    const done = playStudy({ url: s.url, seed: 1, ids: { participant: 'alone' } });
    let seen: AdminState | null = null;
    await until(
      async () => {
        seen = await state();
        return seen.participants?.some((p) => p.status === 'waiting') ?? false;
      },
      20_000,
      'the participant waiting',
    );
    expect(seen!.participants).toMatchObject([{ id: 'alone', scene: 'arena', status: 'waiting' }]);
    expect(seen!.waiting.flatMap((w) => w.waiting)).toEqual(['alone']);

    const r = await done;
    expect(r).toMatchObject({ finished: true, outcome: 'timeout' });
    const after = await state();
    expect(after.participants).toMatchObject([
      { id: 'alone', scene: 'done', status: 'finished: timeout' },
    ]);
    expect(after.waiting).toEqual([]);
    expect(after.canRemove).toBe(true);
    // A finished participant has nothing to be removed from: nothing changes.
    const remove = await fetch(`${s.url}/admin/api/participants/alone/remove`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(remove.status).toBe(200);
    expect(await remove.json()).toEqual({ participantId: 'alone', outcome: 'finished' });
    expect(s.study.db.participant('alone').outcome).toBe('timeout');
  }, 60_000);

  it('removes a participant mid-match: their page shows the end with the notice, the partner goes on with partnerLeft, the database and the export say removed', async () => {
    // A duel of 1200 frames (20 s at 60 frames/s): the removal comes long before its end.
    fx = await writeStudy({ framesPerEpisode: 1200, onPartnerLost: 'end' });
    const events: { event: string; detail: Record<string, unknown> }[] = [];
    served = await startStudy({
      experiment: fx.file,
      dataDir: fx.dataDir,
      port: 0,
      host: '127.0.0.1',
      webrtc: false,
      admin: { token: TOKEN },
      onEvent: (event, detail) => events.push({ event, detail }),
    });
    const s = served;
    // The victim's page plays on whatever the study server pushes (a stale or misbehaving page):
    // the server itself must take it out of the match.
    const views: StudyView[] = [];
    const tab = await StudyConnection.connect(s.url);
    tab.onView((view) => views.push(view));
    const hello = await tab.hello('victim-tab', { participant: 'victim' });
    if (!hello.ok) throw new Error(hello.message);
    const consent = await tab.step({ sceneId: 'consent', type: 'accept' });
    if (!consent.ok || consent.view.scene.kind !== 'game') throw new Error('not at the game');
    const victim = playMatch({
      url: s.url,
      scene: consent.view.scene.relayScene,
      participantId: 'victim',
      auth: { studyToken: consent.token },
      policy: builtinPolicy('random', { sim: 'duel' }),
      seed: 1,
    });
    const partner = playStudy({ url: s.url, seed: 2, ids: { participant: 'partner' } });
    // Both playing, 60 frames in.
    await until(
      async () => {
        const res = await fetch(`${s.url}/admin/api/state`, {
          headers: { authorization: `Bearer ${TOKEN}` },
        });
        const state = (await res.json()) as AdminState;
        return state.matches.some((m) => m.players.length === 2 && m.frame >= 60);
      },
      30_000,
      'the match to be 60 frames in',
    );
    const matchId = s.study.db.seats('victim')[0]?.matchId;
    expect(matchId).toBeDefined();
    const res = await fetch(`${s.url}/admin/api/participants/victim/remove`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ reason: 'asked to stop' }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ participantId: 'victim', outcome: 'removed' });

    const [v, p] = await Promise.all([victim, partner]);
    // The victim's page was pushed the end, with the notice and the `removed` code; its match
    // connection was closed under it, long before the match's 1200 frames.
    expect(views.at(-1)).toMatchObject({
      scene: { kind: 'end', outcome: 'removed', completionCode: 'GONE1' },
      notice: 'The researcher ended your participation.',
    });
    expect(v.matchId).toBe(matchId);
    // The partner lost them: onPartnerLost end, on to the survey, the partnerLeft code.
    expect(p).toMatchObject({ finished: true, outcome: 'partnerLeft', completionCode: 'LEFT1' });
    expect(p.scenes).toEqual(['consent', 'arena', 'post', 'done']);
    // Anything the victim's page sends now is refused with `removed`.
    const after = await tab.step({ sceneId: 'arena', type: 'leave' });
    expect(after).toMatchObject({ ok: false, refusal: 'removed' });
    tab.close();

    // The database, committed.
    const db = s.study.db;
    expect(db.participant('victim')).toMatchObject({ outcome: 'removed', completionCode: 'GONE1' });
    expect(db.removedReason('victim')).toBe('asked to stop');
    expect(db.visits('victim').map((x) => [x.sceneId, x.leftWith])).toEqual([
      ['consent', 'completed'],
      ['arena', 'removed'],
      ['done', null],
    ]);
    expect(s.study.stats.removed).toBe(1);
    expect(events.filter((e) => e.event === 'participant-removed')).toEqual([
      {
        event: 'participant-removed',
        detail: { participantId: 'victim', scene: 'arena', matchId, reason: 'asked to stop' },
      },
    ]);
    // The match log: the victim's slot left at once, and the match ended for it.
    const { header, records } = await readMatchLog(
      path.join(fx.dataDir, 'logs', `${matchId}.jsonl`),
    );
    const slot = header.players.findIndex((x) => x.participantId === 'victim');
    const left = records.filter((r) => r.type === 'left');
    expect(left.map((r) => r.s)).toEqual([slot]);
    expect(left[0].lastFrame).toBeLessThan(1199);
    expect(records.at(-1)).toMatchObject({ type: 'end', reason: `player ${slot} was lost` });

    // A reload shows the end and the notice again; anything it sends is refused with `removed`.
    const reload = await StudyConnection.connect(s.url);
    try {
      const again = await reload.hello('victim-reload', { participant: 'victim' });
      expect(again.ok && again.view).toMatchObject({
        scene: { kind: 'end', outcome: 'removed', completionCode: 'GONE1' },
        notice: 'The researcher ended your participation.',
      });
      const step = await reload.step({ sceneId: 'done', type: 'continue' });
      expect(step).toMatchObject({ ok: false, refusal: 'removed' });
    } finally {
      reload.close();
    }
    // A page cannot remove itself, nor give itself the outcome: a malformed step, nothing written.
    const other = await StudyConnection.connect(s.url);
    try {
      expect((await other.hello('other-tab', { participant: 'other' })).ok).toBe(true);
      for (const type of ['removed', 'remove']) {
        const r = await other.step({ sceneId: 'consent', type } as unknown as StudyStep);
        expect(r).toMatchObject({ ok: false, refusal: 'badRequest' });
      }
      expect(db.participant('other')).toMatchObject({ sceneIndex: 0, outcome: null });
    } finally {
      other.close();
    }

    // The export's participants.csv shows the outcome.
    await s.close();
    served = null;
    const out = path.join(fx.dir, 'export');
    await exportDataDir(fx.dataDir, { experiment: fx.file, out });
    const rows = csvObjects(await readFile(path.join(out, 'participants.csv'), 'utf8'));
    expect(rows.find((r) => r.participant_id === 'victim')).toMatchObject({
      outcome: 'removed',
      completion_code: 'GONE1',
      'left_with.arena': 'removed',
    });
    expect(rows.find((r) => r.participant_id === 'partner')).toMatchObject({
      outcome: 'partnerLeft',
    });
  }, 120_000);

  it('removes a participant from the waiting room, which no longer holds them', async () => {
    fx = await writeStudy({ waitingRoom: { timeoutMs: 30_000, onTimeout: 'end' } });
    served = await startStudy({
      experiment: fx.file,
      dataDir: fx.dataDir,
      port: 0,
      host: '127.0.0.1',
      webrtc: false,
      admin: { token: TOKEN },
    });
    const s = served;
    const state = async (): Promise<AdminState> => {
      const res = await fetch(`${s.url}/admin/api/state`, {
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      return (await res.json()) as AdminState;
    };
    const views: StudyView[] = [];
    const done = playStudy({
      url: s.url,
      seed: 4,
      ids: { participant: 'waiter' },
      onEvent: (e) => {
        if (e.type === 'view') views.push(e.view);
      },
    });
    await until(
      async () => (await state()).waiting.some((w) => w.waiting.includes('waiter')),
      20_000,
      'the participant waiting',
    );
    await new Promise((r) => setTimeout(r, 300));
    const res = await fetch(`${s.url}/admin/api/participants/waiter/remove`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(await res.json()).toEqual({ participantId: 'waiter', outcome: 'removed' });
    const r = await done;
    expect(r).toMatchObject({ finished: true, outcome: 'removed', completionCode: 'GONE1' });
    expect(r.scenes).toEqual(['consent', 'arena', 'done']);
    expect(views.at(-1)?.notice).toBe('The researcher ended your participation.');
    const after = await state();
    expect(after.waiting).toEqual([]);
    expect(after.participants).toMatchObject([
      { id: 'waiter', scene: 'done', status: 'finished: removed' },
    ]);
    // Without a reason, the route's default is kept; the time waited is recorded.
    expect(s.study.db.removedReason('waiter')).toBe('removed by the administrator');
    const arena = s.study.db.visits('waiter')[1];
    expect(arena).toMatchObject({ sceneId: 'arena', leftWith: 'removed' });
    expect(arena.waitedMs).toBeGreaterThanOrEqual(300);
  }, 60_000);
});
