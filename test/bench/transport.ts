/**
 * `npm run bench -- transport`: what carries the inputs, websocket or a WebRTC DataChannel, under
 * the same seeds, 2 and 4 players, 38 ± 5 ms each way and 0/1/3/5 % loss. The relay runs in a
 * child process (its CPU time is its own); the headless bots run here through real DataChannels
 * on loopback, their impairment a TCP link on socket.io and a datagram link on the DataChannel.
 *
 * Flags: `--frames=N` per match (default 600, ten seconds at 60 fps), `--losses=0,1,3,5`,
 * `--players=2,4`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { encodeClientMessage, type InputTransportSetting } from '../../protocol/index.ts';
import { type BotsReport, runBots } from '../../relay/bots.ts';
import { shutdownDataChannels } from '../../relay/datachannel.ts';
import { printTable } from './measure.ts';
import { relayBenchSettings, runOnce } from './relay.ts';
import { benchScript, RelayProcess, type RelayUsage } from './relay-process.ts';

const LATENCY_MS = 38;
const JITTER_MS = 5;
const TICK_RATE = 60;

function flag(name: string, fallback: string): string {
  const prefix = `--${name}=`;
  return process.argv.find((a) => a.startsWith(prefix))?.slice(prefix.length) ?? fallback;
}

const numbers = (text: string): number[] => text.split(',').map(Number);

/** One configuration's figures. */
export interface TransportRun {
  readonly transport: InputTransportSetting;
  readonly players: number;
  readonly lossPct: number;
  /**
   * Stalls (ticks on which a peer could not advance: it waited for inputs) per peer-frame, %; a
   * peer that stalls over and over on one frame counts each time, so this can pass 100.
   */
  readonly stallPct: number;
  /** Frames per second over the tick rate, from the first `start` to the last `done`, %. */
  readonly speedPct: number;
  readonly rollbacksPerPeer: number;
  readonly maxRollbackFrames: number;
  readonly latencyMs: { readonly p50: number; readonly p95: number; readonly p99: number };
  /** Application bytes each input took from peer to relay (headers of UDP/DTLS/SCTP or TCP/ws not counted). */
  readonly upBytesPerInput: number;
  /** The relay process's CPU time per forwarded input, µs (all threads: libdatachannel's too). */
  readonly relayCpuUsPerInput: number;
  /** Inputs that left the peers as datagrams, % (the rest went on socket.io). */
  readonly datagramInputPct: number;
  readonly desyncs: number;
  readonly failures: number;
}

async function once(
  proc: RelayProcess,
  transport: InputTransportSetting,
  players: number,
  lossPct: number,
  frames: number,
  logsDir: string,
): Promise<TransportRun> {
  const u0: RelayUsage = await proc.usage();
  const t0 = performance.now();
  const r: BotsReport = await runBots({
    url: proc.url,
    matches: 1,
    players,
    frames,
    latencyMs: LATENCY_MS,
    jitterMs: JITTER_MS,
    lossPct,
    seed: 1000 + players * 10 + lossPct,
    transport,
    logsDir,
  });
  const wallS = (performance.now() - t0) / 1000;
  const u1: RelayUsage = await proc.usage();
  const cpuUs = u1.cpuUs.user + u1.cpuUs.system - (u0.cpuUs.user + u0.cpuUs.system);
  const forwarded = u1.forwarded - u0.forwarded;
  const peerFrames = players * frames;
  // One socket.io input as it leaves: msgpack message, socket.io's one-byte binary tag, and
  // websocket's 6-byte masked client frame header.
  const wsInputBytes =
    encodeClientMessage({
      kind: 'input',
      frame: frames,
      input: new Uint8Array(4),
      currentFrame: frames,
    }).length +
    1 +
    6;
  const sentInputs = peerFrames;
  const upBytes =
    transport === 'websocket'
      ? wsInputBytes
      : (r.datagramBytesSent + r.socketInputs * wsInputBytes) / sentInputs;
  return {
    transport,
    players,
    lossPct,
    stallPct: (r.stalls / peerFrames) * 100,
    speedPct: (frames / wallS / TICK_RATE) * 100,
    rollbacksPerPeer: r.rollbacks / players,
    maxRollbackFrames: r.maxRollbackFrames,
    latencyMs: r.inputLatencyMs,
    upBytesPerInput: upBytes,
    relayCpuUsPerInput: cpuUs / Math.max(1, forwarded),
    datagramInputPct:
      transport === 'websocket' ? 0 : (1 - Math.min(r.socketInputs, sentInputs) / sentInputs) * 100,
    desyncs: r.desyncs,
    failures: r.failures.length,
  };
}

/** Relay CPU per input of Concord's relay (websocket) and the raw `ws` relay at one light load. */
async function rawBaseline(logsRoot: string): Promise<{ concord: number; rawWs: number }> {
  process.argv.push('--bots=40', '--seconds=4', '--warmup=1', '--quiet-wait=0');
  const s = relayBenchSettings();
  const concord = await runOnce('concord', 40, s, logsRoot);
  const raw = await runOnce('raw-ws', 40, s, logsRoot);
  return { concord: concord.relayCpuUsPerInput, rawWs: raw.relayCpuUsPerInput };
}

/** See the module comment. */
export async function transportBench(): Promise<Record<string, unknown>> {
  const frames = Number(flag('frames', '600'));
  const losses = numbers(flag('losses', '0,1,3,5'));
  const playerCounts = numbers(flag('players', '2,4'));
  const logsRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'concord-transport-bench-'));
  const runs: TransportRun[] = [];
  const proc = await RelayProcess.spawn(benchScript('relay-server.ts'), {
    args: [path.join(logsRoot, 'matches')],
  });
  try {
    for (const players of playerCounts) {
      for (const lossPct of losses) {
        for (const transport of ['websocket', 'webrtc'] as const) {
          process.stderr.write(
            `transport bench: ${transport}, ${players} players, ${lossPct} % loss\n`,
          );
          runs.push(
            await once(proc, transport, players, lossPct, frames, path.join(logsRoot, 'bots')),
          );
        }
      }
    }
  } finally {
    await proc.stop();
  }
  const baseline = await rawBaseline(logsRoot);
  shutdownDataChannels();
  fs.rmSync(logsRoot, { recursive: true, force: true });

  const f = (n: number, d = 1): string => (Number.isFinite(n) ? n.toFixed(d) : '-');
  printTable(
    `transport: ${frames} frames at ${TICK_RATE} fps per match, ${LATENCY_MS} ± ${JITTER_MS} ms each way, same seeds per row pair (loopback; relay process and bots share ${os.cpus().length} cores)`,
    [
      'players',
      'loss %',
      'inputs',
      'as datagrams %',
      'stalls/peer-frame %',
      'speed %',
      'rollbacks/peer',
      'max depth',
      'p50 ms',
      'p95 ms',
      'p99 ms',
      'up B/input',
      'relay µs/input',
      'desyncs',
    ],
    runs.map((r) => [
      r.players,
      r.lossPct,
      r.transport,
      f(r.datagramInputPct, 0),
      f(r.stallPct),
      f(r.speedPct, 0),
      f(r.rollbacksPerPeer, 0),
      r.maxRollbackFrames,
      f(r.latencyMs.p50, 0),
      f(r.latencyMs.p95, 0),
      f(r.latencyMs.p99, 0),
      f(r.upBytesPerInput, 0),
      f(r.relayCpuUsPerInput, 0),
      r.desyncs,
    ]),
  );
  console.log(
    `\nrelay CPU per forwarded input at one light load (40 lean bots, 60 inputs/s each, websocket): concord ${f(baseline.concord)} µs, raw ws ${f(baseline.rawWs)} µs (${f(baseline.concord / baseline.rawWs, 2)}×)`,
  );
  return { runs, baseline };
}
