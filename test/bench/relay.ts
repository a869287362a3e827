import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { shutdownDataChannels } from '../../relay/datachannel.ts';
import { BUILTIN_SCENES } from '../../relay/index.ts';
import { busyPct, machineTimes, printTable, QUIET_CPU_PCT, waitForQuiet } from './measure.ts';
import { DATAGRAM_KINDS, type LoadResult, type RelayKind, RelayLoad } from './relay-load.ts';
import { benchScript, RelayProcess, type RelayUsage } from './relay-process.ts';

/** Settings of the relay benchmark, from flags (`--seconds=5`) or the environment. */
export interface RelayBenchSettings {
  /** Bot counts, one run per count and relay (`--bots=` / `CONCORD_BENCH_BOTS`, default 100,500,1000). */
  readonly bots: readonly number[];
  /** Measured window per run, s (`--seconds=` / `CONCORD_BENCH_SECONDS`, default 20). */
  readonly seconds: number;
  /** Sending before the window, s (`--warmup=` / `CONCORD_BENCH_WARMUP_SECONDS`, default 3). */
  readonly warmupSeconds: number;
  /**
   * Relays run at each count, in this order (`--relays=` / `CONCORD_BENCH_RELAYS`, default
   * concord,raw-ws; `--transport=webrtc` / `CONCORD_BENCH_TRANSPORT` makes it
   * concord-webrtc,raw-dc,raw-ws, and `--transport=websocket,webrtc` all four).
   */
  readonly relays: readonly RelayKind[];
  /**
   * Times the whole comparison is repeated at each count, interleaved (relay A, B, C, A, B, C…),
   * so that the spread shows (`--rounds=` / `CONCORD_BENCH_ROUNDS`, default 1).
   */
  readonly rounds: number;
  /**
   * Before each run, wait up to this long for the machine to be quiet (other processes below
   * {@link QUIET_CPU_PCT} of a core over a second), s (`--quiet-wait=` /
   * `CONCORD_BENCH_QUIET_WAIT_SECONDS`, default 120; 0: do not wait).
   */
  readonly quietWaitSeconds: number;
  /** Directory for V8 CPU profiles of the relay processes (`--cpu-prof=` / `CONCORD_BENCH_CPU_PROF`). */
  readonly cpuProfDir: string | null;
}

/** One relay at one bot count. */
export interface RelayRun {
  readonly relay: RelayKind;
  readonly bots: number;
  /** Which repetition of the comparison (0 first). */
  readonly round: number;
  /** Inputs per second the bots send (and the relay should forward). */
  readonly targetInputsPerS: number;
  /** Inputs per second the relay forwarded over the window, by its own count. */
  readonly relayedInputsPerS: number;
  /** Inputs sent and never received after the drain (whole run, warm-up included). */
  readonly lost: number;
  /** The relay process's CPU time (user + system, all threads) per forwarded input, µs. */
  readonly relayCpuUsPerInput: number;
  /** The relay process's CPU time as a share of one core, %. */
  readonly relayCpuPct: number;
  /** The share of the relay's CPU time spent in the kernel (socket reads and writes), %. */
  readonly relaySystemPct: number;
  /**
   * The relay's main thread (its event loop) as a share of one core, % (null off Linux). The
   * rest of its CPU time is GC helper threads and libuv's pool (match log writes).
   */
  readonly relayMainThreadPct: number | null;
  /**
   * The relay's CPU time per forwarded input by thread name over the window, µs (see
   * `RelayUsage.threadCpuUs`): where the time goes, e.g. the event loop (`main`) against
   * libdatachannel's and libjuice's threads.
   */
  readonly relayThreadUsPerInput: Readonly<Record<string, number>>;
  /** Datagrams the relay sent per input forwarded over the window (DataChannel kinds; else 0). */
  readonly datagramsOutPerInput: number;
  /** The relay's event loop utilization over the window, %. */
  readonly relayLoopPct: number;
  readonly relayRssMb: number;
  /** Messages the relay refused during the run. */
  readonly refused: number;
  /** Bytes of match logs the relay wrote (0 for the raw relay). */
  readonly logBytes: number;
  /** The load process's CPU time as a share of one core, %, and its event loop utilization. */
  readonly loadCpuPct: number;
  readonly loadLoopPct: number;
  /**
   * CPU time of every other process on the machine over the window, as a share of one core, %
   * (all cores' busy time minus the relay's and the load's). Other work on a shared machine
   * inflates latency and can starve the load; this column says when it did.
   */
  readonly otherCpuPct: number;
  readonly load: LoadResult;
}

const TICK_RATE = 60;
const SLOTS_PER_FRAME = 16;
const DRAIN_MS = 5000;
const SCENE = 'duel';

const SCRIPTS: Record<RelayKind, string> = {
  concord: benchScript('relay-server.ts'),
  'concord-webrtc': benchScript('relay-server.ts'),
  'raw-ws': benchScript('raw-ws-relay.ts'),
  'raw-dc': benchScript('raw-datachannel-relay.ts'),
};

/** The relays of each `--transport=`. */
const TRANSPORT_RELAYS: Record<string, readonly RelayKind[]> = {
  websocket: ['concord', 'raw-ws'],
  webrtc: ['concord-webrtc', 'raw-dc', 'raw-ws'],
  'websocket,webrtc': ['concord', 'concord-webrtc', 'raw-dc', 'raw-ws'],
  'webrtc,websocket': ['concord', 'concord-webrtc', 'raw-dc', 'raw-ws'],
};

function setting(flag: string, env: string): string | undefined {
  const prefix = `--${flag}=`;
  const arg = process.argv.find((a) => a.startsWith(prefix));
  return arg !== undefined ? arg.slice(prefix.length) : process.env[env];
}

function nonNegative(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined || text === '') return fallback;
  const n = Number(text);
  if (!Number.isFinite(n) || n < 0)
    throw new Error(`${name}: expected a number ≥ 0, got "${text}"`);
  return n;
}

/**
 * Reads {@link RelayBenchSettings}.
 * @throws Error for a malformed value (an odd or non-positive bot count, an unknown relay)
 */
export function relayBenchSettings(): RelayBenchSettings {
  const botsText = setting('bots', 'CONCORD_BENCH_BOTS');
  const bots = botsText ? botsText.split(',').map(Number) : [100, 500, 1000];
  for (const b of bots) {
    if (!Number.isInteger(b) || b <= 0 || b % 2 !== 0)
      throw new Error(`bots: expected even positive counts, got "${botsText}"`);
  }
  const relaysText = setting('relays', 'CONCORD_BENCH_RELAYS');
  const transport = setting('transport', 'CONCORD_BENCH_TRANSPORT');
  if (transport && !(transport in TRANSPORT_RELAYS))
    throw new Error(
      `transport: expected websocket, webrtc or websocket,webrtc, got "${transport}"`,
    );
  const relays = (
    relaysText ? relaysText.split(',') : TRANSPORT_RELAYS[transport || 'websocket']
  ) as RelayKind[];
  for (const r of relays) {
    if (!(r in SCRIPTS))
      throw new Error(`relays: expected ${Object.keys(SCRIPTS).join(', ')}, got "${r}"`);
  }
  const rounds = nonNegative('rounds', setting('rounds', 'CONCORD_BENCH_ROUNDS'), 1);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error('rounds: expected an integer ≥ 1');
  const seconds = nonNegative('seconds', setting('seconds', 'CONCORD_BENCH_SECONDS'), 20);
  if (seconds <= 0) throw new Error('seconds: expected a number > 0');
  return {
    bots,
    seconds,
    warmupSeconds: nonNegative('warmup', setting('warmup', 'CONCORD_BENCH_WARMUP_SECONDS'), 3),
    relays,
    rounds,
    quietWaitSeconds: nonNegative(
      'quiet-wait',
      setting('quiet-wait', 'CONCORD_BENCH_QUIET_WAIT_SECONDS'),
      120,
    ),
    cpuProfDir: setting('cpu-prof', 'CONCORD_BENCH_CPU_PROF') || null,
  };
}

function dirBytes(dir: string): number {
  if (!fs.existsSync(dir)) return 0;
  return fs.readdirSync(dir).reduce((sum, f) => sum + fs.statSync(path.join(dir, f)).size, 0);
}

/** A usage query whose failure is kept until it is awaited (never an unhandled rejection). */
function sample(proc: RelayProcess): Promise<RelayUsage> {
  const p = proc.usage();
  p.catch(() => {});
  return p;
}

/** Starts one relay process, runs the bots against it, and stops both. */
export async function runOnce(
  relay: RelayKind,
  bots: number,
  s: RelayBenchSettings,
  logsRoot: string,
  round = 0,
): Promise<RelayRun> {
  const logsDir = path.join(logsRoot, `${relay}-${bots}-${round}`);
  const proc = await RelayProcess.spawn(SCRIPTS[relay], {
    args: relay.startsWith('concord') ? [logsDir] : [],
    cpuProfDir: s.cpuProfDir ?? undefined,
  });
  let run: Omit<RelayRun, 'logBytes'>;
  try {
    run = await measureRelay(proc, relay, bots, s, round);
  } finally {
    await proc.stop();
  }
  // After the stop: the relay flushed and closed its logs.
  return { ...run, logBytes: dirBytes(logsDir) };
}

/** Connects the bots to a running relay, runs the plan, and reads both sides' figures. */
async function measureRelay(
  proc: RelayProcess,
  relay: RelayKind,
  bots: number,
  s: RelayBenchSettings,
  round: number,
): Promise<Omit<RelayRun, 'logBytes'>> {
  const frameMs = 1000 / TICK_RATE;
  const warmupMs = s.warmupSeconds * 1000;
  const measureMs = s.seconds * 1000;
  const load = await RelayLoad.connect(
    {
      kind: relay,
      url: proc.url,
      bots,
      scene: SCENE,
      inputDelayFrames: BUILTIN_SCENES[SCENE].inputDelay,
      tickRate: TICK_RATE,
      slotsPerFrame: SLOTS_PER_FRAME,
    },
    Math.ceil((warmupMs + measureMs) / frameMs) + 1,
  );
  try {
    let atStart: Promise<RelayUsage> | null = null;
    let atEnd: Promise<RelayUsage> | null = null;
    let machineAtStart = machineTimes();
    let machineAtEnd = machineAtStart;
    await load.run({
      warmupMs,
      measureMs,
      onWindowStart: () => {
        atStart = sample(proc);
        machineAtStart = machineTimes();
      },
      onWindowEnd: () => {
        atEnd = sample(proc);
        machineAtEnd = machineTimes();
      },
    });
    if (atStart === null || atEnd === null) throw new Error('the measured window never closed');
    const u0: RelayUsage = await atStart;
    const u1: RelayUsage = await atEnd;
    await load.drain(DRAIN_MS);
    const after = await proc.usage();
    const r = load.result();
    const cpuUs = u1.cpuUs.user + u1.cpuUs.system - (u0.cpuUs.user + u0.cpuUs.system);
    const forwarded = u1.forwarded - u0.forwarded;
    const wallMs = u1.atMs - u0.atMs;
    const active = u1.loop.active - u0.loop.active;
    const idle = u1.loop.idle - u0.loop.idle;
    const relayCpuPct = (cpuUs / (wallMs * 1000)) * 100;
    const loadCpuPct = (r.loadCpuUs / (r.windowMs * 1000)) * 100;
    const machinePct = busyPct(machineAtStart, machineAtEnd);
    return {
      relay,
      bots,
      round,
      targetInputsPerS: bots * TICK_RATE,
      relayedInputsPerS: (forwarded / wallMs) * 1000,
      lost: r.lost,
      relayCpuUsPerInput: cpuUs / forwarded,
      relayCpuPct,
      relaySystemPct: ((u1.cpuUs.system - u0.cpuUs.system) / cpuUs) * 100,
      relayMainThreadPct:
        u0.mainThreadCpuUs === null || u1.mainThreadCpuUs === null
          ? null
          : ((u1.mainThreadCpuUs - u0.mainThreadCpuUs) / (wallMs * 1000)) * 100,
      relayThreadUsPerInput: Object.fromEntries(
        Object.entries(u1.threadCpuUs).map(([name, us]) => [
          name,
          (us - (u0.threadCpuUs[name] ?? 0)) / forwarded,
        ]),
      ),
      datagramsOutPerInput: (u1.datagramsOut - u0.datagramsOut) / forwarded,
      relayLoopPct: (active / (active + idle)) * 100,
      relayRssMb: after.rssBytes / 2 ** 20,
      refused: after.refused,
      loadCpuPct,
      loadLoopPct: r.loadLoopUtilization * 100,
      otherCpuPct: Math.max(0, machinePct - relayCpuPct - loadCpuPct),
      load: r,
    };
  } finally {
    load.close();
  }
}

const fixed = (n: number, digits: number): string => (Number.isFinite(n) ? n.toFixed(digits) : '-');

/** A relay's CPU per forwarded input over raw ws's (and raw DataChannel's) in the same round. */
interface RelayRatio {
  readonly bots: number;
  readonly round: number;
  readonly relay: RelayKind;
  /** Over raw ws's CPU per input in the same round (null: raw ws not run). */
  readonly overRawWs: number | null;
  /** Over the raw DataChannel relay's (DataChannel kinds; null: not run). */
  readonly overRawDc: number | null;
  readonly noInputLost: boolean;
  readonly p99Under50Ms: boolean;
  readonly within1_5xRawWs: boolean | null;
}

function ratios(runs: readonly RelayRun[]): RelayRatio[] {
  const out: RelayRatio[] = [];
  for (const r of runs) {
    if (r.relay === 'raw-ws') continue;
    const same = (k: RelayKind) =>
      runs.find((x) => x.relay === k && x.bots === r.bots && x.round === r.round);
    const rawWs = same('raw-ws');
    const rawDc = r.relay === 'concord-webrtc' ? same('raw-dc') : undefined;
    const overRawWs = rawWs ? r.relayCpuUsPerInput / rawWs.relayCpuUsPerInput : null;
    out.push({
      bots: r.bots,
      round: r.round,
      relay: r.relay,
      overRawWs,
      overRawDc: rawDc ? r.relayCpuUsPerInput / rawDc.relayCpuUsPerInput : null,
      noInputLost: r.lost === 0,
      p99Under50Ms: r.load.latencyMs.p99 < 50,
      within1_5xRawWs: overRawWs === null ? null : overRawWs <= 1.5,
    });
  }
  return out;
}

/** The bar at 500 bots for `relay`: no input lost, p99 under 50 ms, CPU per input ≤ 1.5 × raw ws. */
function verdict(
  all: readonly RelayRatio[],
  bots: number,
  relay: RelayKind,
): Record<string, unknown> | null {
  const v = all.find((x) => x.relay === relay && x.bots === bots && x.round === 0);
  if (!v || v.overRawWs === null) return null;
  const checks = {
    noInputLost: v.noInputLost,
    p99Under50Ms: v.p99Under50Ms,
    cpuWithin1_5xRawWs: v.within1_5xRawWs === true,
  };
  return {
    bots,
    relay,
    cpuRatio: v.overRawWs,
    ...checks,
    pass: Object.values(checks).every(Boolean),
  };
}

/**
 * `npm run bench -- relay`: bots in 2-player rooms sending 60 inputs/s each through Concord's
 * relay and through a bare relay (the floor), at each bot count, each relay in its own child
 * process, the bots in this one. With `--transport=webrtc` the bots send their inputs as
 * datagrams on DataChannels, to Concord's relay and to a bare DataChannel relay, beside the raw
 * `ws` relay. Reports the relay's CPU time per forwarded input (the headline: both processes
 * share the machine, so throughput is context), relayed inputs/s, inputs lost and
 * send-to-receive latency.
 */
export async function relayBench(): Promise<Record<string, unknown>> {
  const s = relayBenchSettings();
  const logsRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'concord-relay-bench-'));
  const runs: RelayRun[] = [];
  const failures: { relay: RelayKind; bots: number; round: number; error: string }[] = [];
  try {
    for (const bots of s.bots) {
      for (let round = 0; round < s.rounds; round++) {
        for (const relay of s.relays) {
          process.stderr.write(
            `relay bench: ${relay}, ${bots} bots, round ${round + 1} of ${s.rounds}, ${s.warmupSeconds} s warm-up + ${s.seconds} s\n`,
          );
          if (s.quietWaitSeconds > 0) {
            const pct = await waitForQuiet(s.quietWaitSeconds * 1000);
            if (pct > QUIET_CPU_PCT)
              process.stderr.write(
                `relay bench: the machine is busy (${pct.toFixed(0)} % of a core)\n`,
              );
          }
          try {
            runs.push(await runOnce(relay, bots, s, logsRoot, round));
          } catch (err) {
            // One failed run (e.g. a relay too overloaded to answer) should not lose the others.
            failures.push({ relay, bots, round, error: String(err) });
            process.stderr.write(`relay bench: ${relay} at ${bots} bots failed: ${err}\n`);
          }
        }
      }
    }
  } finally {
    fs.rmSync(logsRoot, { recursive: true, force: true });
    if (s.relays.some((r) => DATAGRAM_KINDS.includes(r))) shutdownDataChannels();
  }

  printTable(
    `relay: 2-player rooms, ${TICK_RATE} inputs/s per bot, ${s.seconds} s measured after ${s.warmupSeconds} s warm-up (loopback; relay and bots share ${os.cpus().length} cores)`,
    [
      'bots',
      'round',
      'relay',
      'target in/s',
      'relayed in/s',
      'lost',
      'relay CPU µs/input',
      'relay CPU %',
      'of it kernel %',
      'main thread %',
      'p50 ms',
      'p99 ms',
      'p999 ms',
      'load CPU %',
      'other CPU %',
      'send lag p99 ms',
    ],
    runs.map((r) => [
      r.bots,
      r.round + 1,
      r.relay,
      r.targetInputsPerS,
      Math.round(r.relayedInputsPerS),
      r.lost,
      fixed(r.relayCpuUsPerInput, 1),
      fixed(r.relayCpuPct, 0),
      fixed(r.relaySystemPct, 0),
      fixed(r.relayMainThreadPct ?? Number.NaN, 0),
      fixed(r.load.latencyMs.p50, 2),
      fixed(r.load.latencyMs.p99, 2),
      fixed(r.load.latencyMs.p999, 2),
      fixed(r.loadCpuPct, 0),
      fixed(r.otherCpuPct, 0),
      fixed(r.load.scheduleLagMs.p99, 2),
    ]),
  );
  // Where each relay's CPU went, by thread (Linux; threads under 0.5 µs/input summed as "other").
  const threadNames = [
    ...new Set(
      runs.flatMap((r) =>
        Object.entries(r.relayThreadUsPerInput)
          .filter(([, us]) => us >= 0.5)
          .map(([name]) => name),
      ),
    ),
  ];
  if (threadNames.length > 0) {
    printTable(
      'relay: CPU µs per forwarded input, by thread of the relay process',
      ['bots', 'round', 'relay', ...threadNames, 'other', 'datagrams out/input'],
      runs.map((r) => {
        const t = r.relayThreadUsPerInput;
        const other = Object.entries(t)
          .filter(([name]) => !threadNames.includes(name))
          .reduce((sum, [, us]) => sum + us, 0);
        return [
          r.bots,
          r.round + 1,
          r.relay,
          ...threadNames.map((n) => fixed(t[n] ?? 0, 1)),
          fixed(other, 1),
          fixed(r.datagramsOutPerInput, 2),
        ];
      }),
    );
  }
  const all = ratios(runs);
  if (all.some((v) => v.overRawWs !== null)) {
    printTable(
      'relay: CPU per forwarded input over raw ws (and over the raw DataChannel relay), same round',
      [
        'bots',
        'round',
        'relay',
        'over raw ws',
        'over raw dc',
        'no loss',
        'p99 < 50 ms',
        'ratio ≤ 1.5',
      ],
      all.map((v) => [
        v.bots,
        v.round + 1,
        v.relay,
        v.overRawWs === null ? '-' : `${fixed(v.overRawWs, 2)}×`,
        v.overRawDc === null ? '-' : `${fixed(v.overRawDc, 2)}×`,
        v.noInputLost ? 'yes' : 'NO',
        v.p99Under50Ms ? 'yes' : 'NO',
        v.within1_5xRawWs === null ? '-' : v.within1_5xRawWs ? 'yes' : 'NO',
      ]),
    );
  }
  for (const r of runs.filter((r) => r.logBytes > 0)) {
    console.log(
      `relay ${r.relay} at ${r.bots} bots (round ${r.round + 1}) wrote ${(r.logBytes / 2 ** 20).toFixed(1)} MB of match logs (part of its cost)`,
    );
  }
  for (const r of runs.filter((r) => r.load.scheduleLagMs.p99 > 1000 / TICK_RATE)) {
    console.log(
      `relay ${r.relay} at ${r.bots} bots (round ${r.round + 1}): the load process fell behind its schedule ` +
        `(p99 ${fixed(r.load.scheduleLagMs.p99, 1)} ms late; load CPU ${fixed(r.loadCpuPct, 0)} %, ` +
        `other processes ${fixed(r.otherCpuPct, 0)} %): its latency and throughput are not the relay's alone`,
    );
  }
  const anomalies = runs.filter(
    (r) =>
      r.refused > 0 ||
      r.load.misdelivered > 0 ||
      r.load.relayErrors > 0 ||
      r.load.undecodable > 0 ||
      r.load.closedEarly > 0,
  );
  for (const r of anomalies) {
    console.log(
      `relay ${r.relay} at ${r.bots} bots (round ${r.round + 1}): refused ${r.refused}, misdelivered ${r.load.misdelivered}, ` +
        `errors ${r.load.relayErrors} (${r.load.firstRelayError ?? '-'}), undecodable ${r.load.undecodable}, ` +
        `closed early ${r.load.closedEarly}`,
    );
  }
  for (const f of failures)
    console.log(`relay ${f.relay} at ${f.bots} bots (round ${f.round + 1}): FAILED (${f.error})`);
  return {
    settings: s,
    machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, node: process.version },
    runs,
    failures,
    doneWhen: verdict(all, 500, 'concord'),
    doneWhenWebrtc: verdict(all, 500, 'concord-webrtc'),
    ratios: all,
  };
}
