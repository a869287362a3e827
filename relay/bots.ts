import path from 'node:path';
import { type BotResult, deriveSeed, type LinkImpairment, runBot } from '../client/index.ts';
import { type Relay, startRelay } from './server.ts';

/** Settings of {@link runBots}. */
export interface BotsOptions {
  /** A running relay; when absent a relay is started on a free loopback port and stopped after. */
  readonly url?: string;
  /** Scene to join (default `duel` for 2 players, else `duel-N`). */
  readonly scene?: string;
  readonly matches: number;
  readonly players: number;
  readonly frames: number;
  /** One-way impairment of every bot's connection, each direction. */
  readonly latencyMs: number;
  readonly jitterMs: number;
  readonly lossPct: number;
  readonly seed: number;
  /** Where the relay started here writes its logs (default `./logs`). */
  readonly logsDir?: string;
}

/** Percentiles of a sample, in ms. */
export interface Percentiles {
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly samples: number;
}

/** One match as the bots saw it. */
export interface BotsMatchReport {
  readonly matchId: string;
  readonly logPath: string;
  /** The hash of the final confirmed frame as each slot saw it (null when it never got there). */
  readonly finalHashes: (string | null)[];
  readonly finished: boolean;
  readonly desyncs: number;
}

/** What `concord bots --json` prints. */
export interface BotsReport {
  readonly matches: number;
  readonly frames: number;
  readonly desyncs: number;
  readonly rollbacks: number;
  readonly maxRollbackFrames: number;
  readonly stalls: number;
  /** Time from an input's creation on one peer to its arrival at each other peer. */
  readonly inputLatencyMs: Percentiles;
  readonly perMatch: BotsMatchReport[];
  /** Why the run failed; empty when every match finished with equal hashes and no desync. */
  readonly failures: string[];
}

/** The p-th percentile (0..100) of sorted values, nearest rank. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

/**
 * Runs `matches × players` headless bots through a relay, each behind the same seeded impairment
 * of its own connection, and reports what they saw: desyncs, rollbacks, stalls, input latency
 * and every peer's final hash per match.
 */
export async function runBots(o: BotsOptions): Promise<BotsReport> {
  const logsDir = o.logsDir ?? './logs';
  let relay: Relay | null = null;
  let url = o.url;
  if (!url) {
    relay = await startRelay({ port: 0, host: '127.0.0.1', logsDir });
    url = relay.url;
  }
  const scene = o.scene ?? (o.players === 2 ? 'duel' : `duel-${o.players}`);
  const impairment: LinkImpairment = {
    latencyMs: o.latencyMs,
    jitterMs: o.jitterMs,
    lossPct: o.lossPct,
  };
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  const bots: Promise<BotResult>[] = [];
  try {
    for (let i = 0; i < o.matches * o.players; i++) {
      bots.push(
        runBot({
          url,
          scene,
          frames: o.frames,
          seed: deriveSeed(o.seed, i),
          impairment,
          participantId: `bot-${i}`,
          onInputSent: (matchId, slot, frame, atMs) =>
            sentAt.set(`${matchId}/${slot}/${frame}`, atMs),
          onInputReceived: (matchId, from, _to, frame, atMs) => {
            const t = sentAt.get(`${matchId}/${from}/${frame}`);
            if (t !== undefined) latencies.push(atMs - t);
          },
        }),
      );
    }
    const results = await Promise.allSettled(bots);
    const failures: string[] = [];
    const byMatch = new Map<string, BotResult[]>();
    for (const r of results) {
      if (r.status === 'rejected') {
        failures.push(`a bot failed: ${r.reason instanceof Error ? r.reason.message : r.reason}`);
        continue;
      }
      const list = byMatch.get(r.value.matchId) ?? [];
      list.push(r.value);
      byMatch.set(r.value.matchId, list);
    }
    const perMatch: BotsMatchReport[] = [];
    let desyncs = 0;
    let rollbacks = 0;
    let maxRollbackFrames = 0;
    let stalls = 0;
    for (const [matchId, list] of byMatch) {
      const finalHashes: (string | null)[] = new Array(o.players).fill(null);
      let matchDesyncs = 0;
      for (const b of list) {
        finalHashes[b.slot] = b.finalHash;
        matchDesyncs = Math.max(matchDesyncs, b.desyncs);
        rollbacks += b.stats.rollbacks;
        maxRollbackFrames = Math.max(maxRollbackFrames, b.stats.maxRollbackDepth);
        stalls += b.stats.stalls;
      }
      desyncs += matchDesyncs;
      const finished = list.length === o.players && list.every((b) => b.finished);
      if (!finished) failures.push(`match ${matchId} did not finish`);
      else if (new Set(finalHashes).size !== 1) {
        failures.push(`match ${matchId}: final hashes differ: ${finalHashes.join(' ')}`);
      }
      if (matchDesyncs > 0) failures.push(`match ${matchId}: ${matchDesyncs} desync(s)`);
      perMatch.push({
        matchId,
        logPath: path.join(logsDir, `${matchId}.jsonl`),
        finalHashes,
        finished,
        desyncs: matchDesyncs,
      });
    }
    if (perMatch.length !== o.matches)
      failures.push(`${perMatch.length} of ${o.matches} matches started`);
    latencies.sort((a, b) => a - b);
    const round = (v: number) => Math.round(v * 10) / 10;
    return {
      matches: perMatch.length,
      frames: o.frames,
      desyncs,
      rollbacks,
      maxRollbackFrames,
      stalls,
      inputLatencyMs: {
        p50: round(percentile(latencies, 50)),
        p95: round(percentile(latencies, 95)),
        p99: round(percentile(latencies, 99)),
        samples: latencies.length,
      },
      perMatch: perMatch.sort((a, b) => a.matchId.localeCompare(b.matchId)),
      failures,
    };
  } finally {
    await relay?.close('bots finished');
  }
}
