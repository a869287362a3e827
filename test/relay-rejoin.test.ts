import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  APP_EVENT,
  type ClientMessage,
  concordParser,
  decodeServerMessage,
  encodeClientMessage,
  type ServerMessage,
} from '../protocol/index.ts';
import { type Relay, startRelay } from '../relay/index.ts';
import { readMatchLog } from '../relay/log/index.ts';

let dir: string;
let relay: Relay;
const sockets: Socket[] = [];

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'concord-rejoin-'));
  // These raw clients hold seats without playing: silence detection is not what is tested here.
  relay = await startRelay({ port: 0, host: '127.0.0.1', logsDir: dir, awayAfterSilentMs: 0 });
});

afterAll(async () => {
  for (const s of sockets) s.close();
  await relay?.close();
  await rm(dir, { recursive: true, force: true });
});

/** A raw client: sends what it is told, collects what the relay answers. */
async function client(url = relay.url): Promise<{
  socket: Socket;
  inbox: ServerMessage[];
  send: (m: ClientMessage) => void;
}> {
  const socket = io(url, {
    transports: ['websocket'],
    parser: concordParser,
    forceNew: true,
    reconnection: false,
  });
  sockets.push(socket);
  const inbox: ServerMessage[] = [];
  socket.on(APP_EVENT, (b: Uint8Array) => inbox.push(decodeServerMessage(b)));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  return { socket, inbox, send: (m) => socket.emit(APP_EVENT, encodeClientMessage(m)) };
}

async function until<T>(get: () => T | undefined, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs; // clock-ok: test deadline
  for (;;) {
    const v = get();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error('condition not met in time'); // clock-ok
    await new Promise((r) => setTimeout(r, 5));
  }
}

const startOf = (inbox: ServerMessage[]) =>
  inbox.find((m): m is Extract<ServerMessage, { kind: 'start' }> => m.kind === 'start');

/** Two players in a duel match; returns their clients and `start` messages. */
async function match(ids: [string, string]) {
  const players = [await client(), await client()];
  for (const [i, p] of players.entries())
    p.send({ kind: 'join', scene: 'duel', participantId: ids[i] });
  const starts = await Promise.all(players.map((p) => until(() => startOf(p.inbox))));
  return { players, starts };
}

describe('rejoin is checked', () => {
  it('refuses and counts a token of another match and a token of another participant', async () => {
    const one = await match(['alice', 'bob']);
    const two = await match(['carol', 'dave']);
    const bob = one.starts.find((s) => s.slot === 1)!;
    const dave = two.starts.find((s) => s.slot === 1)!;
    // Bob's connection drops: his seat waits for him (away).
    one.players[one.starts.indexOf(bob)].socket.close();
    const before = relay.stats().refused.NOT_IN_MATCH ?? 0;

    const errorOf = async (m: ClientMessage) => {
      const c = await client();
      c.send(m);
      return until(() => c.inbox.find((x) => x.kind === 'error' || x.kind === 'rejoined'));
    };
    // Dave's token, for Bob's match.
    const otherMatch = await errorOf({
      kind: 'rejoin',
      matchId: bob.matchId,
      token: dave.token,
      participantId: 'dave',
    });
    expect(otherMatch).toMatchObject({ kind: 'error', code: 'NOT_IN_MATCH', refused: 'rejoin' });
    expect(otherMatch.kind === 'error' && otherMatch.message).toMatch(/no seat's of match/);
    // Bob's token, presented by someone else.
    const otherParticipant = await errorOf({
      kind: 'rejoin',
      matchId: bob.matchId,
      token: bob.token,
      participantId: 'mallory',
    });
    expect(otherParticipant).toMatchObject({ kind: 'error', code: 'NOT_IN_MATCH' });
    expect(otherParticipant.kind === 'error' && otherParticipant.message).toMatch(
      /another participant's/,
    );
    expect(relay.stats().refused.NOT_IN_MATCH).toBe(before + 2);

    // Bob himself gets his seat back.
    const back = await errorOf({
      kind: 'rejoin',
      matchId: bob.matchId,
      token: bob.token,
      participantId: 'bob',
    });
    expect(back).toMatchObject({ kind: 'rejoined', slot: 1, matchId: bob.matchId });
    expect(relay.stats().rejoins).toBeGreaterThanOrEqual(1);
  });
});

describe('presence over real connections', () => {
  it('closes the connection of a member it has not heard from, and logs it away as silent', async () => {
    const quick = await startRelay({
      port: 0,
      host: '127.0.0.1',
      logsDir: dir,
      awayAfterSilentMs: 300,
    });
    try {
      const [talker, sleeper] = [await client(quick.url), await client(quick.url)];
      talker.send({ kind: 'join', scene: 'duel', participantId: 'talker' });
      sleeper.send({ kind: 'join', scene: 'duel', participantId: 'sleeper' });
      const start = await until(() => startOf(sleeper.inbox));
      const heartbeat = setInterval(() => talker.send({ kind: 'ping', id: 1, sentMs: 0 }), 50);
      try {
        await until(() => (sleeper.socket.connected ? undefined : true));
        const away = await until(() => talker.inbox.find((m) => m.kind === 'peerAway'));
        expect(away).toEqual({ kind: 'peerAway', slot: start.slot, lastFrame: 1 });
        expect(talker.socket.connected).toBe(true);
        expect(quick.stats().silentAway).toBe(1);
      } finally {
        clearInterval(heartbeat);
      }
    } finally {
      await quick.close();
    }
    const logs = readdir(dir);
    let found = false;
    for (const f of await logs) {
      const log = await readMatchLog(path.join(dir, f));
      if (log.header.players.some((p) => p.participantId === 'sleeper')) {
        found = true;
        expect(log.records.filter((r) => r.type === 'away')).toMatchObject([{ reason: 'silent' }]);
      }
    }
    expect(found).toBe(true);
  });
});
