/**
 * The admin view of a study: `startStudy({ admin })` gives the relay the study's participants
 * from the participant database (a real SQLite file), shown waiting while the relay has them in
 * a waiting room, and finished with the outcome afterwards.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { playStudy } from '../client/index.ts';
import type { AdminState } from '../protocol/index.ts';
import { type StudyRelay, startStudy } from '../relay/study/index.ts';
import { until } from './support/chromium.ts';
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
    expect(after.canRemove).toBe(false);
    // No removal yet: the study server does not offer it, and the route says so.
    const remove = await fetch(`${s.url}/admin/api/participants/alone/remove`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(remove.status).toBe(501);
  }, 60_000);
});
