import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  APP_EVENT,
  concordParser,
  decodeServerMessage,
  encodeClientMessage,
  PRESENCE,
  type ServerMessage,
} from '../protocol/index.ts';
import { runBots } from '../relay/bots.ts';
import { type Relay, startRelay } from '../relay/index.ts';
import { replayMatchLog } from '../relay/log/index.ts';

let dir: string;
let relay: Relay;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'concord-fuzz-'));
  relay = await startRelay({ port: 0, host: '127.0.0.1', logsDir: dir });
});

afterAll(async () => {
  await relay?.close();
  await rm(dir, { recursive: true, force: true });
});

/** A raw client that can send anything, and collects what the relay answers. */
async function rawClient(url: string): Promise<{ socket: Socket; inbox: ServerMessage[] }> {
  const socket = io(url, {
    transports: ['websocket'],
    parser: concordParser,
    forceNew: true,
    reconnection: false,
  });
  const inbox: ServerMessage[] = [];
  socket.on(APP_EVENT, (b: Uint8Array) => inbox.push(decodeServerMessage(b)));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  // A seated peer pings like any other, so the relay never takes the fuzzers as away (silent).
  const heartbeat = setInterval(
    () => socket.emit(APP_EVENT, encodeClientMessage({ kind: 'ping', id: 0, sentMs: 0 })),
    PRESENCE.heartbeatMs,
  );
  socket.on('disconnect', () => clearInterval(heartbeat));
  return { socket, inbox };
}

async function until(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('protocol fuzzing against a live relay', () => {
  it('refuses and counts bad messages while another room plays on, agrees, and replays', async () => {
    // A room that must not notice anything.
    const playing = runBots({
      url: relay.url,
      matches: 1,
      players: 2,
      frames: 480,
      latencyMs: 20,
      jitterMs: 5,
      lossPct: 0,
      seed: 5,
      logsDir: dir,
    });
    // Two fuzzers get a room of their own, so that in-match messages are checked too.
    const a = await rawClient(relay.url);
    const b = await rawClient(relay.url);
    a.socket.emit(
      APP_EVENT,
      encodeClientMessage({ kind: 'join', scene: 'duel-lockstep', participantId: 'fuzz-a' }),
    );
    b.socket.emit(
      APP_EVENT,
      encodeClientMessage({ kind: 'join', scene: 'duel-lockstep', participantId: 'fuzz-b' }),
    );
    await until(
      () => a.inbox.some((m) => m.kind === 'start') && b.inbox.some((m) => m.kind === 'start'),
    );
    const startA = a.inbox.find((m) => m.kind === 'start')!;
    expect(startA.kind === 'start' && startA.settings.inputDelay).toBe(3);
    const errorsBefore = () => a.inbox.filter((m) => m.kind === 'error').length;

    // 1. Random bytes.
    const garbage = fc.sample(fc.uint8Array({ minLength: 0, maxLength: 600 }), {
      numRuns: 300,
      seed: 1,
    });
    for (const g of garbage) a.socket.emit(APP_EVENT, g);
    // 2. Valid kinds with wrong fields (hand-made msgpack arrays), oversize payloads, non-binary data.
    const bad: unknown[] = [
      'a string, not bytes',
      12345,
      { kind: 'input' },
      // An "input" (fixarray of 4, kind code 2) padded far past its 32-byte limit.
      Uint8Array.from({ length: 100_000 }, (_, i) => (i === 0 ? 0x94 : i === 1 ? 2 : 0xc1)),
      new Uint8Array([0x93, 0x02, 0xa1, 0x78, 0x01]), // [2, "x", 1]: an input kind with a string frame
    ];
    for (const x of bad) a.socket.emit(APP_EVENT, x);
    a.socket.emit('not-an-app-event', new Uint8Array([1, 2, 3]));
    // 3. Inputs out of the frame window: far past, far future, a skipped frame; a flood.
    const input = (frame: number) =>
      encodeClientMessage({
        kind: 'input',
        frame,
        input: new Uint8Array([1, 0, 0, 0]),
        currentFrame: frame,
      });
    a.socket.emit(APP_EVENT, input(0)); // below the input delay of 3
    a.socket.emit(APP_EVENT, input(1_000_000)); // far future
    a.socket.emit(APP_EVENT, input(3));
    a.socket.emit(APP_EVENT, input(5)); // skips frame 4
    for (let f = 4; f < 4 + 2000; f++) a.socket.emit(APP_EVENT, input(f)); // flood past the window
    // 4. A hash for a frame nobody reached, a peerPong for a slot that does not exist.
    a.socket.emit(
      APP_EVENT,
      encodeClientMessage({ kind: 'hash', frame: 9_000_000, hash: '0123456789abcdef' }),
    );

    // Each piece of garbage gets its own error reply (a random byte string is almost never valid).
    await until(() => errorsBefore() >= garbage.length * 0.95, 10_000);
    const report = await playing;
    expect(report.failures).toEqual([]);
    expect(report.desyncs).toBe(0);

    // The fuzzers' room saw only what the relay let through: frame 3 and on, in order.
    const forwarded = b.inbox.filter((m) => m.kind === 'input');
    const frames = forwarded.map((m) => (m.kind === 'input' ? m.frame : -1));
    expect(frames[0]).toBe(3);
    expect(frames.every((f, i) => f === 3 + i)).toBe(true);
    expect(frames.length).toBeLessThanOrEqual(1 + 1024 + 1); // capped by the frame window
    expect(forwarded.every((m) => m.kind === 'input' && m.slot === 0)).toBe(true);

    const stats = relay.stats();
    expect(stats.refused.MALFORMED ?? 0).toBeGreaterThan(0);
    expect(stats.refused.OVERSIZE ?? 0).toBeGreaterThan(0);
    expect(stats.refused.FRAME_WINDOW ?? 0).toBeGreaterThan(900);
    const res = await fetch(`${relay.url}/healthz`);
    expect(res.status).toBe(200);

    a.socket.close();
    b.socket.close();
    const replay = await replayMatchLog(path.join(dir, `${report.perMatch[0].matchId}.jsonl`));
    expect(replay.damaged).toBeNull();
    expect(replay.mismatches).toEqual([]);
    expect(replay.passed).toBe(replay.checks);
    expect(replay.checks).toBeGreaterThan(10);
  });
});
