/**
 * Inputs over real DataChannels to the relay (node-datachannel on loopback), end to end: bots
 * that agree under datagram loss, duplication and reorder; a DataChannel closed mid-match that
 * falls back to websocket and comes back, with every input logged once and the log replaying; and
 * a datagram that tries to speak for another slot, refused and counted.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { RTCPeerConnection as PolyfillPeerConnection } from 'node-datachannel/polyfill';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BotResult, runBot } from '../client/bot.ts';
import { PeerDataChannel } from '../client/transport/datachannel.ts';
import type { DatagramTransport } from '../client/transport/datagram-transport.ts';
import { RelayConnection } from '../client/transport/relay-connection.ts';
import {
  checkDataChannelSignal,
  encodeClientDatagram,
  encodeServerDatagram,
  INPUT_BYTES,
  MAX_CLIENT_DATAGRAM_BYTES,
  type ServerMessage,
} from '../protocol/index.ts';
import { runBots } from '../relay/bots.ts';
import { shutdownDataChannels } from '../relay/datachannel.ts';
import { type Relay, startRelay } from '../relay/index.ts';
import { replayMatchLog } from '../relay/log/index.ts';

let dir: string;
let relay: Relay;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'concord-datachannel-'));
  relay = await startRelay({ port: 0, host: '127.0.0.1', logsDir: dir });
});

afterAll(async () => {
  await relay?.close();
  shutdownDataChannels();
  await rm(dir, { recursive: true, force: true });
});

/** Polls `check` every 5 ms until it returns a value, or throws after `ms`. */
async function waitFor<T>(
  what: string,
  check: () => T | undefined | null,
  ms = 20_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = check();
    if (v !== undefined && v !== null && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** The match's log, once the relay has closed it (its last record is `end`). */
async function closedLog(matchId: string): Promise<Record<string, unknown>[]> {
  const file = path.join(dir, `${matchId}.jsonl`);
  let records: Record<string, unknown>[] = [];
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const text = await readFile(file, 'utf8').catch(() => '');
    records = text
      .split('\n')
      .filter((l) => l.length > 0)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    if (records.at(-1)?.type === 'end') return records;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`log ${matchId} was not closed`);
}

/** Each (frame, slot) of the log's input records appears once. */
function inputKeysOnce(records: readonly Record<string, unknown>[]): boolean {
  const keys = records.filter((r) => r.type === 'input').map((r) => `${r.f}/${r.s}`);
  return new Set(keys).size === keys.length;
}

describe('inputs over DataChannels to the relay', () => {
  it('two bots agree with 0 desyncs under datagram loss, duplication and reorder, and the log replays', async () => {
    const before = relay.stats();
    const report = await runBots({
      url: relay.url,
      matches: 1,
      players: 2,
      frames: 600,
      latencyMs: 15,
      jitterMs: 5,
      lossPct: 5,
      duplicatePct: 5,
      reorderPct: 5,
      seed: 21,
      transport: 'webrtc',
    });
    expect(report.failures).toEqual([]);
    expect(report.desyncs).toBe(0);
    const m = report.perMatch[0];
    expect(new Set(m.finalHashes).size).toBe(1);
    // The inputs did travel as datagrams, and the impairment reached them.
    const after = relay.stats();
    expect(report.datagramsSent).toBeGreaterThan(300);
    expect(after.datagramsIn - before.datagramsIn).toBeGreaterThan(300);
    expect(after.duplicateInputs - before.duplicateInputs).toBeGreaterThan(0);
    expect(after.conflictingInputs - before.conflictingInputs).toBe(0);
    const records = await closedLog(m.matchId);
    const paths = records.filter((r) => r.type === 'inputPath' && r.path === 'webrtc');
    expect(new Set(paths.map((r) => r.s))).toEqual(new Set([0, 1]));
    expect(inputKeysOnce(records)).toBe(true);
    const replay = await replayMatchLog(path.join(dir, `${m.matchId}.jsonl`));
    expect(replay.damaged).toBeNull();
    expect(replay.mismatches).toEqual([]);
    expect(replay.passed).toBe(replay.checks);
    expect(replay.finalFrame).toBe(600);
    expect(replay.finalHash).toBe(m.finalHashes[0]);
  }, 90_000);

  it('a DataChannel closed mid-match falls back to websocket and comes back, losing no input', async () => {
    const transports: DatagramTransport[][] = [[], []];
    let dropped = false;
    const bot = (i: number): Promise<BotResult> =>
      runBot({
        url: relay.url,
        scene: 'duel',
        frames: 900,
        seed: 40 + i,
        transport: 'auto',
        impairment: { latencyMs: 10, jitterMs: 3, lossPct: 2 },
        onTransport: (t) => {
          transports[i].push(t);
          if (i !== 0) return;
          t.onInputPath((c) => {
            // Once the inputs took the channel, close it (as a network would) 300 ms later.
            if (c.path === 'webrtc' && !dropped) {
              dropped = true;
              setTimeout(() => t.dropChannel(), 300);
            }
          });
        },
      });
    const [a, b] = await Promise.all([bot(0), bot(1)]);
    expect(a.finished && b.finished).toBe(true);
    expect(a.desyncs + b.desyncs).toBe(0);
    expect(a.finalHash).toBe(b.finalHash);
    const changes = transports[0][0].pathChanges.map((c) => `${c.path}:${c.reason}`);
    expect(changes.slice(0, 3)).toEqual(['webrtc:open', 'websocket:closed', 'webrtc:back']);
    expect(transports[0][0].stats().offers).toBeGreaterThanOrEqual(2);

    const records = await closedLog(a.matchId);
    const slot0 = records.filter((r) => r.type === 'inputPath' && r.s === a.slot);
    expect(slot0.map((r) => r.path).slice(0, 3)).toEqual(['webrtc', 'websocket', 'webrtc']);
    expect(inputKeysOnce(records)).toBe(true);
    const replay = await replayMatchLog(path.join(dir, `${a.matchId}.jsonl`));
    expect(replay.damaged).toBeNull();
    expect(replay.mismatches).toEqual([]);
    expect(replay.passed).toBe(replay.checks);
    expect(replay.finalFrame).toBe(a.finalFrame);
    expect(replay.finalHash).toBe(a.finalHash);
  }, 90_000);
});

/** A peer built from the parts, to send what a bot never would. */
async function rawPeer(): Promise<{
  conn: RelayConnection;
  inbox: ServerMessage[];
  channel: PeerDataChannel;
  start: Extract<ServerMessage, { kind: 'start' }>;
}> {
  const conn = await RelayConnection.connect(relay.url);
  const inbox: ServerMessage[] = [];
  conn.onMessage((m) => inbox.push(m));
  conn.send({ kind: 'join', scene: 'duel', participantId: null });
  const channel = await PeerDataChannel.create({
    RTCPeerConnection: PolyfillPeerConnection as unknown as typeof RTCPeerConnection,
    configuration: { iceServers: [], bindAddress: '127.0.0.1' } as RTCConfiguration,
  });
  conn.send({ kind: 'rtcOffer', ...channel.offer });
  const answer = await waitFor('rtcAnswer', () => inbox.find((m) => m.kind === 'rtcAnswer'));
  await channel.accept(checkDataChannelSignal(answer, 'rtcAnswer'));
  const start = await waitFor('start', () =>
    inbox.find((m): m is Extract<ServerMessage, { kind: 'start' }> => m.kind === 'start'),
  );
  return { conn, inbox, channel, start };
}

describe('DataChannel security', () => {
  it("a datagram cannot speak for another slot or match: refused and counted, its slot is the signalling session's", async () => {
    const [p, q] = await Promise.all([rawPeer(), rawPeer()]);
    try {
      const sender = p.start.slot === 0 ? p : q;
      const other = sender === p ? q : p;
      const delay = sender.start.settings.inputDelay;
      const before = relay.stats();
      const input = new Uint8Array([7, 0, 0, 0]);
      // A relay-shaped datagram carrying a run "of slot 1": not a peer datagram, refused.
      const forged = encodeServerDatagram({
        kind: 'inputs',
        ack: -1,
        runs: [{ slot: other.start.slot, startFrame: delay, currentFrame: 0, inputs: [input] }],
      });
      sender.channel.send(forged);
      // A held list for more slots than the match has: refused.
      sender.channel.send(
        encodeClientDatagram({
          kind: 'inputs',
          currentFrame: 0,
          startFrame: delay,
          inputs: [],
          held: new Array(16).fill(-1),
        }),
      );
      // Over the size limit: dropped by the endpoint before decoding.
      sender.channel.send(new Uint8Array(MAX_CLIENT_DATAGRAM_BYTES + 1).fill(1));
      // And a valid one: its input is the sender's own, whatever it contains.
      sender.channel.send(
        encodeClientDatagram({
          kind: 'inputs',
          currentFrame: 0,
          startFrame: delay,
          inputs: [input],
          held: [-1, -1],
        }),
      );
      const got = await waitFor('the forwarded input', () =>
        other.inbox.find((m) => m.kind === 'input'),
      );
      expect(got).toMatchObject({ kind: 'input', slot: sender.start.slot, frame: delay });
      expect((got as { input: Uint8Array }).input.length).toBe(INPUT_BYTES);
      const after = await waitFor('the refusals', () => {
        const s = relay.stats();
        return s.refusedDatagrams - before.refusedDatagrams >= 2 ? s : null;
      });
      expect(after.inputsForwarded - before.inputsForwarded).toBe(1);
      expect(sender.inbox.some((m) => m.kind === 'error' && m.refused === 'datagram')).toBe(true);
      // Nothing reached the other peer as its own slot's input.
      expect(other.inbox.some((m) => m.kind === 'input' && m.slot === other.start.slot)).toBe(
        false,
      );
    } finally {
      for (const x of [p, q]) {
        x.channel.close();
        x.conn.close();
      }
    }
  }, 60_000);
});
