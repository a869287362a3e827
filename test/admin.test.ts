import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AdminParticipant, AdminState } from '../protocol/index.ts';
import { runBots } from '../relay/bots.ts';
import {
  type AdminRemoveOutcome,
  type AdminSource,
  type Relay,
  resolveAdminToken,
  startRelay,
} from '../relay/index.ts';
import { until } from './support/chromium.ts';

// The admin view's routes on a real relay on loopback, with real bots playing through it.
const TOKEN = 'admin-view-test-token-abcdefghijkl';
let tmp: string;
let relay: Relay;
/** A study's side as a study server would give it: participants in memory, removals recorded. */
const removed: { id: string; reason: string }[] = [];
const participants: AdminParticipant[] = [
  { id: 'P1', scene: 'game', status: 'playing', condition: 'fast', startTime: null },
  { id: 'P2', scene: 'survey', status: 'active', condition: 'slow', startTime: null },
  // The first bot's participant id: active in the study's database, playing as the relay knows.
  { id: 'bot-0', scene: 'game', status: 'active', condition: 'fast', startTime: null },
];
const source: AdminSource = {
  participants: () => participants,
  remove: async (id, reason): Promise<AdminRemoveOutcome> => {
    if (!participants.some((p) => p.id === id)) return 'unknown';
    removed.push({ id, reason });
    return 'removed';
  },
};

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'concord-admin-'));
  relay = await startRelay({
    port: 0,
    host: '127.0.0.1',
    logsDir: tmp,
    webrtc: false,
    admin: { token: TOKEN, source },
  });
});

afterAll(async () => {
  await relay?.close();
  await rm(tmp, { recursive: true, force: true });
});

const bearer = { authorization: `Bearer ${TOKEN}` };
const getState = async (headers: Record<string, string> = bearer): Promise<AdminState> => {
  const res = await fetch(`${relay.url}/admin/api/state`, { headers });
  expect(res.status).toBe(200);
  return (await res.json()) as AdminState;
};

describe('the admin token', () => {
  it('is never defaulted, and a short one is refused', () => {
    expect(resolveAdminToken(undefined, {})).toBeNull();
    expect(resolveAdminToken(undefined, { CONCORD_ADMIN_TOKEN: '' })).toBeNull();
    expect(resolveAdminToken(undefined, { CONCORD_ADMIN_TOKEN: TOKEN })).toBe(TOKEN);
    expect(resolveAdminToken('x'.repeat(16), { CONCORD_ADMIN_TOKEN: TOKEN })).toBe('x'.repeat(16));
    expect(() => resolveAdminToken('short', {})).toThrow(/16/);
    expect(() => resolveAdminToken('has a space in it ok', {})).toThrow(/spaces/);
  });

  it('a relay without one has no admin view at all', async () => {
    const bare = await startRelay({ port: 0, host: '127.0.0.1', logsDir: tmp, webrtc: false });
    try {
      for (const p of ['/admin', '/admin/login', '/admin/api/state'])
        expect((await fetch(`${bare.url}${p}`, { headers: bearer })).status).toBe(404);
    } finally {
      await bare.close();
    }
  });
});

describe('the admin view', () => {
  it('refuses a request without the token, or with a wrong one, and counts them', async () => {
    expect((await fetch(`${relay.url}/admin/api/state`)).status).toBe(401);
    const wrong = await fetch(`${relay.url}/admin/api/state`, {
      headers: { authorization: `Bearer ${TOKEN.slice(0, -1)}` },
    });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('www-authenticate')).toMatch(/^Bearer/);
    const page = await fetch(`${relay.url}/admin`, { redirect: 'manual' });
    expect(page.status).toBe(303);
    expect(page.headers.get('location')).toBe('/admin/login?next=%2Fadmin');
    const end = await fetch(`${relay.url}/admin/api/matches/x/end`, { method: 'POST' });
    expect(end.status).toBe(401);
    const s = await getState();
    expect((s.counters.adminRefused as { api: number }).api).toBeGreaterThanOrEqual(3);
  });

  it('the token form sets a cookie that opens the API; a wrong token does not', async () => {
    const bad = await fetch(`${relay.url}/admin/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'token=nope&next=%2Fadmin',
      redirect: 'manual',
    });
    expect(bad.status).toBe(401);
    expect(bad.headers.get('set-cookie')).toBeNull();
    const good = await fetch(`${relay.url}/admin/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: TOKEN, next: '/replay/abc' }).toString(),
      redirect: 'manual',
    });
    expect(good.status).toBe(303);
    expect(good.headers.get('location')).toBe('/replay/abc');
    const cookie = good.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    expect(cookie).not.toContain(TOKEN);
    const pair = cookie.split(';')[0];
    expect((await getState({ cookie: pair })).matches).toEqual([]);
    // Another site's form posting with the cookie is refused.
    const csrf = await fetch(`${relay.url}/admin/api/matches/x/end`, {
      method: 'POST',
      headers: { cookie: pair, origin: 'https://elsewhere.example' },
    });
    expect(csrf.status).toBe(403);
    // Behind a reverse proxy that rewrites Host, the public host comes in X-Forwarded-Host.
    const proxied = await fetch(`${relay.url}/admin/api/matches/x/end`, {
      method: 'POST',
      headers: {
        cookie: pair,
        origin: 'https://study.example',
        'x-forwarded-host': 'study.example',
      },
    });
    expect(proxied.status).toBe(404); // past the origin check: no match x runs
    // A next that leaves the admin pages goes to the admin page instead.
    const away = await fetch(`${relay.url}/admin/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: TOKEN, next: '//evil.example/' }).toString(),
      redirect: 'manual',
    });
    expect(away.headers.get('location')).toBe('/admin');
  });

  it('lists a running match with its players, live over server-sent events, and ends it', async () => {
    const bots = runBots({
      url: relay.url,
      matches: 1,
      players: 2,
      frames: 100_000, // far longer than the test: the match ends by the admin's action
      latencyMs: 5,
      jitterMs: 0,
      lossPct: 0,
      transport: 'websocket',
      seed: 3,
    });
    let state: AdminState | null = null;
    await until(
      async () => {
        state = await getState();
        const m = state.matches[0];
        return m !== undefined && m.frame > 30 && m.players.every((p) => p.peer !== null);
      },
      30_000,
      'a running match whose peers reported',
    );
    const match = state!.matches[0];
    expect(match.scene).toBe('duel');
    expect(match.players.map((p) => p.slot)).toEqual([0, 1]);
    for (const p of match.players) {
      expect(p.status).toBe('connected');
      expect(p.peer!.rttMs).toBeGreaterThanOrEqual(0);
      expect(p.peer!.rollbacks).toBeGreaterThanOrEqual(0);
    }
    expect(state!.canRemove).toBe(true);
    expect(state!.participants!.map((p) => [p.id, p.status])).toEqual([
      ['P1', 'playing'],
      ['P2', 'active'],
      ['bot-0', 'playing'],
    ]);

    // The live stream: its first `state` event lists the same match.
    const ctl = new AbortController();
    const stream = await fetch(`${relay.url}/admin/api/events`, {
      headers: bearer,
      signal: ctl.signal,
    });
    expect(stream.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = stream.body!.getReader();
    let text = '';
    while (!/event: state\ndata: .*\n\n/.test(text)) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    const event = /event: state\ndata: (.*)\n\n/.exec(text);
    expect(event).not.toBeNull();
    expect((JSON.parse(event![1]) as AdminState).matches[0].matchId).toBe(match.matchId);
    ctl.abort();

    // End it: the bots see the relay's end with the reason, the log records it.
    const res = await fetch(`${relay.url}/admin/api/matches/${match.matchId}/end`, {
      method: 'POST',
      headers: { ...bearer, 'content-type': 'application/json' },
      body: JSON.stringify({ reason: 'stopped by the test' }),
    });
    expect(res.status).toBe(200);
    const report = await bots;
    expect(report.perMatch[0].matchId).toBe(match.matchId);
    await until(
      async () => (await getState()).finished.some((f) => f.matchId === match.matchId),
      10_000,
      'the match among the finished ones',
    );
    const finished = (await getState()).finished.find((f) => f.matchId === match.matchId)!;
    expect(finished.endReason).toBe('stopped by the test');
    expect(finished.replay).toBe(`/replay/${match.matchId}`);
    expect((await getState()).matches).toEqual([]);
    // Ending it again: no such running match.
    const again = await fetch(`${relay.url}/admin/api/matches/${match.matchId}/end`, {
      method: 'POST',
      headers: bearer,
    });
    expect(again.status).toBe(404);
  }, 60_000);

  it('removes a participant through the study source, and says when there is none', async () => {
    const ok = await fetch(`${relay.url}/admin/api/participants/P2/remove`, {
      method: 'POST',
      headers: bearer,
      body: JSON.stringify({ reason: 'asked to stop' }),
    });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ participantId: 'P2', outcome: 'removed' });
    expect(removed).toEqual([{ id: 'P2', reason: 'asked to stop' }]);
    const unknown = await fetch(`${relay.url}/admin/api/participants/nobody/remove`, {
      method: 'POST',
      headers: bearer,
    });
    expect(unknown.status).toBe(404);
    const badReason = await fetch(`${relay.url}/admin/api/participants/P1/remove`, {
      method: 'POST',
      headers: bearer,
      body: '{"reason": 5}',
    });
    expect(badReason.status).toBe(400);
    expect(removed).toHaveLength(1);
    // A study source that cannot remove, and no study at all: 501, saying which.
    for (const admin of [{ token: TOKEN, source: { participants: () => [] } }, { token: TOKEN }]) {
      const other = await startRelay({
        port: 0,
        host: '127.0.0.1',
        logsDir: tmp,
        webrtc: false,
        admin,
      });
      try {
        const res = await fetch(`${other.url}/admin/api/participants/P1/remove`, {
          method: 'POST',
          headers: bearer,
        });
        expect(res.status).toBe(501);
        expect(((await res.json()) as { error: string }).error).toMatch(
          'source' in admin ? /cannot remove/ : /runs no study/,
        );
      } finally {
        await other.close();
      }
    }
  });
});
