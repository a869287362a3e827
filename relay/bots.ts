import path from 'node:path';
import { type BotResult, deriveSeed, type LinkImpairment, runBot } from '../client/index.ts';
import type { InputTransportSetting, SceneSettings, SyncModeSetting } from '../protocol/index.ts';
import {
  BUILTIN_SCENES,
  type PythonSceneOptions,
  pythonSceneSettings,
  type Relay,
  startRelay,
} from './index.ts';
import { readMatchLog, replayMatchLog } from './log/index.ts';

/** Settings of {@link runBots}. */
export interface BotsOptions {
  /** A running relay; when absent a relay is started on a free loopback port and stopped after. */
  readonly url?: string;
  /**
   * Scene to join (default: the `sim`'s scene with `sim`, else `duel` for 2 players and `duel-N`
   * for N).
   */
  readonly scene?: string;
  /**
   * A Python environment `python:FILE[:CLASS]` (FILE relative to the cwd) to play on the relay
   * started here, in a scene of its own for `players` players with the Python defaults (see
   * `pythonSceneSettings`), named after the file unless `scene` names it. Not with `url`.
   */
  readonly sim?: string;
  /** Frames per second of the `sim`'s scene (default 30). */
  readonly tickRate?: number;
  readonly matches: number;
  readonly players: number;
  readonly frames: number;
  /** One-way impairment of every bot's connection, each direction. */
  readonly latencyMs: number;
  readonly jitterMs: number;
  readonly lossPct: number;
  /** DataChannel only: chance a datagram arrives twice, percent (default 0). */
  readonly duplicatePct?: number;
  /** DataChannel only: chance a datagram is held back so later ones overtake it, percent (default 0). */
  readonly reorderPct?: number;
  /**
   * What carries the bots' inputs (default: the scene's `transport`, `auto` for the built-in
   * scenes): `webrtc` or `auto` through real DataChannels to the relay, `websocket` socket.io only.
   */
  readonly transport?: InputTransportSetting;
  readonly seed: number;
  /** Where the relay started here writes its logs (default `./logs`); unused with `url`. */
  readonly logsDir?: string;
  /** Corrupt one field of slot `desyncPeer`'s state at frame `desyncAt`, in every match. */
  readonly desyncAt?: number;
  readonly desyncPeer?: number;
  /**
   * Cut slot `dropPeer`'s connection at frame `dropAt` and hold new ones back for `dropForMs`; the
   * bot's match runner rejoins the seat as after any network cut (within the scene's grace period).
   */
  readonly dropPeer?: number;
  readonly dropAt?: number;
  readonly dropForMs?: number;
  /**
   * Slot `cheatPeer` sends impossible moves from frame `cheatFrom` on (see `BotFaults.cheatFrom`):
   * an authoritative host corrects them and removes the bot past the scene's threshold.
   */
  readonly cheatPeer?: number;
  readonly cheatFrom?: number;
  /**
   * Play the scene in this sync mode (default: the scene's own): the relay started here serves
   * the scene with only its `mode` changed. Not with `url` (a running relay's scenes are its own).
   * In `authoritative` mode each match is also checked end to end: every state a bot loaded, as
   * it reconciled it, has the host's hash; those hashes are the log's `host` records; and the log
   * replays.
   */
  readonly mode?: SyncModeSetting;
  /** Scenes of the relay started here (default: the built-in ones). */
  readonly scenes?: Readonly<Record<string, SceneSettings>>;
  /** Relay-side options of the Python scenes of the relay started here, by scene name. */
  readonly python?: Readonly<Record<string, PythonSceneOptions>>;
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
  /**
   * The match's log file, when known: with a relay started here, `<logsDir>/<matchId>.jsonl`;
   * null with `url`, since a running relay's log directory is its own business.
   */
  readonly logPath: string | null;
  /** The hash of the final confirmed frame as each slot saw it (null when it never got there). */
  readonly finalHashes: (string | null)[];
  readonly finished: boolean;
  readonly desyncs: number;
  /** Frames of the desyncs, as the peers saw them. */
  readonly desyncFrames: number[];
  /** States from the host loaded by the peers whose hash differed. */
  readonly resyncs: number;
  /** Bytes of those states as sent (deltas, or full states when no delta applied). */
  readonly resyncBytes: number;
  /** What those states would have cost in full, bytes. */
  readonly fullStateBytes: number;
  /** For each desync, frames until the next check on which every peer agreed. */
  readonly framesToConverge: number[];
  readonly rejoins: number;
  /** Slots that dropped and could not come back (the grace period had passed). */
  readonly lost: number[];
  /** An authoritative match's checks and figures (null in other modes). */
  readonly authoritative: AuthoritativeMatchReport | null;
}

/** What `concord bots --mode authoritative` found in one match. */
export interface AuthoritativeMatchReport {
  /** States the bots loaded whose reconciled hash equals the host's, and those that differ. */
  readonly checks: number;
  readonly mismatches: number;
  /** Of the states the bots loaded, those whose host hash is the log's `host` record of it. */
  readonly inLog: number;
  /** Whether `concord replay` of the log found every recorded hash (null: no log here). */
  readonly replayed: boolean | null;
  /** Host records the replay checked. */
  readonly hostRecords: number;
  /** Inputs that reached the host after their frame was stepped, by slot (its last record). */
  readonly lateInputs: number[];
  /** Bytes of host states a bot received per second of play, mean over the bots. */
  readonly stateBytesPerClientPerS: number;
  /** Host states that came as interest updates (a sim with entity interest), over the bots. */
  readonly interestStates: number;
  /** Of the states received, those that came as deltas. */
  readonly deltas: number;
  readonly statesReceived: number;
  /** Host states loaded, frames re-simulated at most after one, jumps ahead to the host. */
  readonly reconciliations: number;
  readonly maxResimulatedFrames: number;
  readonly jumps: number;
}

/** What `concord bots --json` prints. */
export interface BotsReport {
  readonly matches: number;
  readonly frames: number;
  readonly desyncs: number;
  readonly rollbacks: number;
  readonly maxRollbackFrames: number;
  readonly stalls: number;
  readonly resyncs: number;
  readonly resyncBytes: number;
  readonly fullStateBytes: number;
  /** The most frames any desync took to converge (null when there was none). */
  readonly framesToConverge: number | null;
  readonly rejoins: number;
  /** Time from an input's creation on one peer to its arrival at each other peer. */
  readonly inputLatencyMs: Percentiles;
  /** Bots whose inputs took their DataChannel during the match (the channel closes at the end). */
  readonly webrtcBots: number;
  /** Changes of the bots' input paths (websocket → webrtc at the start counts one). */
  readonly inputPathChanges: number;
  /** Input datagrams the bots sent, and their bytes. */
  readonly datagramsSent: number;
  readonly datagramBytesSent: number;
  /** Inputs the bots sent on socket.io. */
  readonly socketInputs: number;
  readonly perMatch: BotsMatchReport[];
  /**
   * Why the run failed; empty when every match finished with equal final hashes and either no
   * desync, or (with `desyncAt`) exactly one desync per match, repaired.
   */
  readonly failures: string[];
}

/**
 * The end-to-end checks of one authoritative match: every bot's reconciled states have the host's
 * hash, those are the log's `host` records, and the log replays from its inputs as applied.
 */
async function checkAuthoritative(
  m: BotsMatchReport,
  bots: readonly BotResult[],
  withLog: boolean,
  tickRate: number,
): Promise<{ report: AuthoritativeMatchReport; failures: string[] }> {
  const failures: string[] = [];
  let checks = 0;
  let mismatches = 0;
  let bytes = 0;
  let deltas = 0;
  let received = 0;
  let reconciliations = 0;
  let maxResim = 0;
  let jumps = 0;
  let playedFrames = 0;
  let interestStates = 0;
  for (const b of bots) {
    const a = b.authoritative;
    if (!a) {
      failures.push(`match ${m.matchId}: slot ${b.slot} did not play in authoritative mode`);
      continue;
    }
    checks += a.stats.checks;
    mismatches += a.stats.mismatches;
    bytes += a.stats.stateBytes;
    deltas += a.stats.deltas;
    received += a.stats.statesReceived;
    reconciliations += a.stats.reconciliations;
    maxResim = Math.max(maxResim, a.stats.maxResimulatedFrames);
    jumps += a.stats.jumps;
    playedFrames += Math.max(0, a.stats.hostFrame);
    interestStates += a.stats.interestStates;
    // A sim with entity interest sends approximate states: loaded, but with no hash to check.
    if (a.stats.checks === 0 && a.stats.interestStates === 0)
      failures.push(`match ${m.matchId}: slot ${b.slot} loaded no state`);
  }
  if (mismatches > 0) {
    failures.push(`match ${m.matchId}: ${mismatches} reconciled state(s) differ from the host's`);
  }
  let inLog = 0;
  let replayed: boolean | null = null;
  let hostRecords = 0;
  let lateInputs: number[] = [];
  if (withLog && m.logPath) {
    const log = await readMatchLog(m.logPath);
    const host = new Map<number, string>();
    for (const r of log.records) {
      if (r.type !== 'host') continue;
      host.set(r.f, r.h);
      lateInputs = [...r.late];
    }
    for (const b of bots) {
      for (const [f, h] of b.authoritative?.hostHashes ?? []) {
        if (host.get(f) === h) inLog++;
        else
          failures.push(
            `match ${m.matchId}: slot ${b.slot}'s state of frame ${f} is not the log's`,
          );
      }
    }
    const replay = await replayMatchLog(m.logPath);
    hostRecords = host.size;
    replayed = replay.mismatches.length === 0;
    if (!replayed) {
      failures.push(
        `match ${m.matchId}: the log does not replay: ${replay.mismatches.length} mismatch(es), first at frame ${replay.mismatches[0].frame}`,
      );
    }
  }
  const seconds = playedFrames / tickRate;
  return {
    report: {
      checks,
      mismatches,
      inLog,
      replayed,
      hostRecords,
      lateInputs,
      stateBytesPerClientPerS: seconds > 0 ? Math.round(bytes / seconds) : 0,
      interestStates,
      deltas,
      statesReceived: received,
      reconciliations,
      maxResimulatedFrames: maxResim,
      jumps,
    },
    failures,
  };
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
  let scenes = o.scenes;
  let python = o.python;
  let simScene: string | undefined;
  if (o.sim !== undefined) {
    if (url) throw new Error('sim starts a relay of its own: give a sim or a url, not both');
    const settings = pythonSceneSettings(o.sim, {
      name: o.scene,
      players: o.players,
      tickRate: o.tickRate,
    });
    simScene = settings.name;
    scenes = { ...(scenes ?? BUILTIN_SCENES), [settings.name]: settings };
    python = { ...python, [settings.name]: { baseDir: process.cwd() } };
  }
  const scene = o.scene ?? simScene ?? (o.players === 2 ? 'duel' : `duel-${o.players}`);
  if (o.mode !== undefined) {
    if (url) throw new Error('mode changes the scene of the relay started here: not with a url');
    const base = scenes ?? BUILTIN_SCENES;
    if (!base[scene]) throw new Error(`no scene "${scene}" to play in mode ${o.mode}`);
    scenes = { ...base, [scene]: { ...base[scene], mode: o.mode } };
  }
  if (!url) {
    relay = await startRelay({ port: 0, host: '127.0.0.1', logsDir, scenes, python });
    url = relay.url;
  }
  const authoritative = (scenes ?? BUILTIN_SCENES)[scene]?.mode === 'authoritative';
  const impairment: LinkImpairment = {
    latencyMs: o.latencyMs,
    jitterMs: o.jitterMs,
    lossPct: o.lossPct,
    duplicatePct: o.duplicatePct ?? 0,
    reorderPct: o.reorderPct ?? 0,
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
          transport: o.transport,
          participantId: `bot-${i}`,
          faults: (slot) => ({
            desyncAt: slot === o.desyncPeer ? o.desyncAt : undefined,
            dropAt: slot === o.dropPeer ? o.dropAt : undefined,
            dropForMs: slot === o.dropPeer ? o.dropForMs : undefined,
            cheatFrom: slot === o.cheatPeer ? o.cheatFrom : undefined,
          }),
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
    let resyncs = 0;
    let resyncBytes = 0;
    let fullStateBytes = 0;
    let rejoins = 0;
    let webrtcBots = 0;
    let inputPathChanges = 0;
    let datagramsSent = 0;
    let datagramBytesSent = 0;
    let socketInputs = 0;
    const converge: number[] = [];
    const expectedDesyncs = o.desyncAt !== undefined ? 1 : 0;
    for (const [matchId, list] of byMatch) {
      const finalHashes: (string | null)[] = new Array(o.players).fill(null);
      let matchDesyncs = 0;
      const desyncFrames = new Set<number>();
      const matchConverge: number[] = [];
      let m = { resyncs: 0, resyncBytes: 0, fullStateBytes: 0, rejoins: 0 };
      const lost: number[] = [];
      for (const b of list) {
        finalHashes[b.slot] = b.finalHash;
        matchDesyncs = Math.max(matchDesyncs, b.desyncs);
        for (const f of b.resync.desyncFrames) desyncFrames.add(f);
        matchConverge.push(...b.resync.framesToConverge);
        rollbacks += b.stats.rollbacks;
        maxRollbackFrames = Math.max(maxRollbackFrames, b.stats.maxRollbackDepth);
        stalls += b.stats.stalls;
        if (b.inputPathChanges > 0) webrtcBots++;
        inputPathChanges += b.inputPathChanges;
        datagramsSent += b.datagrams.datagramsSent;
        datagramBytesSent += b.datagrams.datagramBytesSent;
        socketInputs += b.datagrams.socketInputs;
        m = {
          resyncs: m.resyncs + b.resync.resyncs,
          resyncBytes: m.resyncBytes + b.resync.resyncBytes,
          fullStateBytes: m.fullStateBytes + b.resync.fullStateBytes,
          rejoins: m.rejoins + b.rejoins,
        };
        if (b.lost) lost.push(b.slot);
        if (b.fault !== null)
          failures.push(`match ${matchId}: slot ${b.slot}'s sim threw, so it left: ${b.fault}`);
      }
      desyncs += matchDesyncs;
      resyncs += m.resyncs;
      resyncBytes += m.resyncBytes;
      fullStateBytes += m.fullStateBytes;
      rejoins += m.rejoins;
      const matchConvergeMax = matchConverge.length > 0 ? Math.max(...matchConverge) : null;
      if (matchConvergeMax !== null) converge.push(matchConvergeMax);
      const playing = list.filter((b) => !b.lost);
      const finished =
        list.length === o.players && playing.length > 0 && playing.every((b) => b.finished);
      const hashes = new Set(playing.map((b) => b.finalHash));
      if (!finished) failures.push(`match ${matchId} did not finish`);
      // Authoritative clients report the first host state each loaded past the limit (checked
      // against the log below), not one shared frame.
      else if (!authoritative && hashes.size !== 1) {
        failures.push(`match ${matchId}: final hashes differ: ${finalHashes.join(' ')}`);
      }
      if (matchDesyncs !== expectedDesyncs) {
        failures.push(`match ${matchId}: ${matchDesyncs} desync(s), expected ${expectedDesyncs}`);
      }
      if (matchDesyncs > 0 && m.resyncs === 0)
        failures.push(`match ${matchId}: a desync was not repaired`);
      perMatch.push({
        matchId,
        logPath: relay ? path.join(relay.logsDir, `${matchId}.jsonl`) : null,
        finalHashes,
        finished,
        desyncs: matchDesyncs,
        desyncFrames: [...desyncFrames].sort((a, b) => a - b),
        resyncs: m.resyncs,
        resyncBytes: m.resyncBytes,
        fullStateBytes: m.fullStateBytes,
        framesToConverge: matchConverge,
        rejoins: m.rejoins,
        lost,
        authoritative: null,
      });
    }
    // The relay's logs are complete once it has closed.
    await relay?.close('bots finished');
    const logsOf = relay !== null;
    relay = null;
    if (authoritative) {
      for (let i = 0; i < perMatch.length; i++) {
        const r = await checkAuthoritative(
          perMatch[i],
          byMatch.get(perMatch[i].matchId) ?? [],
          logsOf,
          (scenes ?? BUILTIN_SCENES)[scene].tickRate,
        );
        perMatch[i] = { ...perMatch[i], authoritative: r.report };
        failures.push(...r.failures);
      }
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
      resyncs,
      resyncBytes,
      fullStateBytes,
      framesToConverge: converge.length > 0 ? Math.max(...converge) : null,
      rejoins,
      inputLatencyMs: {
        p50: round(percentile(latencies, 50)),
        p95: round(percentile(latencies, 95)),
        p99: round(percentile(latencies, 99)),
        samples: latencies.length,
      },
      webrtcBots,
      inputPathChanges,
      datagramsSent,
      datagramBytesSent,
      socketInputs,
      perMatch: perMatch.sort((a, b) => a.matchId.localeCompare(b.matchId)),
      failures,
    };
  } finally {
    await relay?.close('bots finished');
  }
}
