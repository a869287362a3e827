import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Gauge } from 'prom-client';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APP_EVENT, concordParser, encodeClientMessage } from '../protocol/index.ts';
import { runBots } from '../relay/bots.ts';
import {
  BUILTIN_SCENES,
  FORWARD_LATENCY_BUCKETS_MS,
  FORWARD_LATENCY_EVERY_FRAMES,
  type Relay,
  startRelay,
} from '../relay/index.ts';
import { readMatchLog } from '../relay/log/index.ts';
import { type Family, parsePrometheus, sampleValue as value } from './support/prometheus.ts';

let dir: string;
let relay: Relay;
const participants: Record<string, number> = { consent: 3, arena: 2 };

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'concord-metrics-'));
  relay = await startRelay({
    port: 0,
    host: '127.0.0.1',
    logsDir: dir,
    participants: () => participants,
  });
});

afterAll(async () => {
  await relay?.close();
  await rm(dir, { recursive: true, force: true });
});

async function scrape(): Promise<Map<string, Family>> {
  const r = await fetch(`${relay.url}/metrics`);
  expect(r.status).toBe(200);
  expect(r.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return parsePrometheus(await r.text());
}

async function rawClient(): Promise<Socket> {
  const socket = io(relay.url, {
    transports: ['websocket'],
    parser: concordParser,
    forceNew: true,
    reconnection: false,
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  return socket;
}

async function until(cond: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs; // clock-ok: test deadline
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error('condition not met in time'); // clock-ok
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('GET /metrics', () => {
  it('is Prometheus text that a strict parser reads, and follows what the relay does', async () => {
    // An embedder's own metric, added to the relay's registry, is served with the rest.
    new Gauge({
      name: 'concord_study_completed',
      help: 'Participants who completed.',
      registers: [relay.metrics],
      collect() {
        this.set(7);
      },
    });
    const before = await scrape();
    expect(value(before, 'concord_study_completed')).toBe(7);
    for (const [name, type] of [
      ['concord_connections', 'gauge'],
      ['concord_participants', 'gauge'],
      ['concord_waiting', 'gauge'],
      ['concord_matches_running', 'gauge'],
      ['concord_matches_started_total', 'counter'],
      ['concord_matches_ended_total', 'counter'],
      ['concord_inputs_forwarded_total', 'counter'],
      ['concord_forward_latency_ms', 'histogram'],
      ['concord_refused_messages_total', 'counter'],
      ['concord_desyncs_total', 'counter'],
      ['concord_resyncs_total', 'counter'],
      ['concord_rejoins_total', 'counter'],
      ['nodejs_eventloop_lag_seconds', 'gauge'],
      ['concord_sim_host_workers', 'gauge'],
      ['concord_sim_host_matches', 'gauge'],
      ['concord_sim_host_step_us_per_frame', 'gauge'],
      ['concord_sim_host_frames_stepped_total', 'counter'],
    ]) {
      expect(before.get(name)?.type, name).toBe(type);
      expect(before.get(name)?.help, name).toBeTruthy();
    }
    expect(value(before, 'concord_participants', { scene: 'consent' })).toBe(3);
    expect(value(before, 'concord_participants', { scene: 'arena' })).toBe(2);
    expect(value(before, 'concord_matches_started_total')).toBe(0);
    expect(value(before, 'concord_forward_latency_ms_count')).toBe(0);
    expect(
      before
        .get('concord_forward_latency_ms')
        ?.samples.filter((s) => s.name.endsWith('_bucket'))
        .map((s) => s.labels.le),
    ).toEqual([...FORWARD_LATENCY_BUCKETS_MS.map(String), '+Inf']);

    // A raw client: waits in a queue, and sends what the relay refuses.
    const raw = await rawClient();
    try {
      raw.emit(APP_EVENT, encodeClientMessage({ kind: 'hash', frame: 0, hash: '0'.repeat(16) }));
      raw.emit(
        APP_EVENT,
        encodeClientMessage({ kind: 'join', scene: 'duel-lockstep', participantId: 'waiter' }),
      );
      await until(async () => {
        const m = await scrape();
        return value(m, 'concord_waiting') === 1 && value(m, 'concord_connections') === 1;
      });
      const refused = relay.stats().refused;
      expect(Object.keys(refused).length).toBeGreaterThan(0);
      const during = await scrape();
      for (const [reason, n] of Object.entries(refused)) {
        expect(value(during, 'concord_refused_messages_total', { reason })).toBe(n);
      }
      participants.arena = 4;
      delete (participants as Partial<Record<string, number>>).consent;

      // A match of bots: inputs forwarded, each measured once.
      const report = await runBots({
        url: relay.url,
        matches: 1,
        players: 2,
        frames: 90,
        latencyMs: 0,
        jitterMs: 0,
        lossPct: 0,
        seed: 4,
      });
      expect(report.failures).toEqual([]);
      await until(async () => value(await scrape(), 'concord_matches_ended_total') === 1);
      const after = await scrape();
      const stats = relay.stats();
      expect(value(after, 'concord_matches_started_total')).toBe(1);
      expect(value(after, 'concord_matches_running')).toBe(0);
      // Every player's inputs for frames D..89 (before the input delay D the sim's default plays);
      // inputs stamped past the end, sent before the match ended, may add a few.
      expect(stats.inputsForwarded).toBeGreaterThanOrEqual(
        2 * (90 - BUILTIN_SCENES.duel.inputDelay),
      );
      expect(value(after, 'concord_inputs_forwarded_total')).toBe(stats.inputsForwarded);
      // Timed: the inputs of every 8th frame, each once (the log holds every forwarded input).
      const log = await readMatchLog(path.join(dir, `${report.perMatch[0].matchId}.jsonl`));
      expect(log.records.filter((r) => r.type === 'input')).toHaveLength(stats.inputsForwarded);
      const timed = log.records.filter(
        (r) => r.type === 'input' && r.f % FORWARD_LATENCY_EVERY_FRAMES === 0,
      ).length;
      expect(timed).toBeGreaterThanOrEqual(20);
      expect(value(after, 'concord_forward_latency_ms_count')).toBe(timed);
      expect(value(after, 'concord_forward_latency_ms_sum')).toBeGreaterThan(0);
      expect(value(after, 'concord_desyncs_total')).toBe(stats.desyncs);
      expect(value(after, 'concord_participants', { scene: 'arena' })).toBe(4);
      expect(after.get('concord_participants')?.samples).toHaveLength(1);
      // The sim host (the match's referee) reports the same figures as /healthz.
      const simHostFrames = async (): Promise<number> => {
        const health = (await (await fetch(`${relay.url}/healthz`)).json()) as {
          simHost: { framesStepped: number };
        };
        return health.simHost.framesStepped;
      };
      await until(
        async () =>
          value(await scrape(), 'concord_sim_host_frames_stepped_total') ===
          (await simHostFrames()),
      );
      expect(await simHostFrames()).toBeGreaterThan(0); // it stepped to each agreed check
      expect(value(after, 'concord_sim_host_workers')).toBeGreaterThanOrEqual(1);
      // Counters never go back, however often scraped.
      const again = await scrape();
      expect(value(again, 'concord_inputs_forwarded_total')).toBe(stats.inputsForwarded);
    } finally {
      raw.close();
    }
    await until(async () => value(await scrape(), 'concord_connections') === 0);
  }, 60_000);
});
