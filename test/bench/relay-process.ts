/**
 * A relay under benchmark runs in a child process, so that its CPU time is its own: the parent
 * (the load generator) starts it, learns its URL and asks it for its CPU time and forward count
 * over Node's IPC channel. This module holds both ends of that channel.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

/** What a relay process reports when asked. */
export interface RelayUsage {
  /** `process.cpuUsage()` of the relay process (all its threads): user and system time, µs. */
  readonly cpuUs: { readonly user: number; readonly system: number };
  /**
   * CPU time of the main thread alone (the event loop), µs; the rest of `cpuUs` is V8's helper
   * threads (GC) and libuv's pool (file writes). Null where `/proc` is missing (not Linux).
   */
  readonly mainThreadCpuUs: number | null;
  /**
   * CPU time of the process's threads by thread name (`/proc/self/task/N/comm`: the main
   * thread under the process's name, V8's `V8 DefaultWorke`, libuv's `libuv-worker`,
   * libdatachannel's and libjuice's own), user + system, µs; empty where `/proc` is missing.
   */
  readonly threadCpuUs: Readonly<Record<string, number>>;
  /** Inputs forwarded since the start (each to every other member of its room). */
  readonly forwarded: number;
  /** Messages the relay refused since the start (0 for a relay that refuses nothing). */
  readonly refused: number;
  /**
   * Datagrams the relay sent on DataChannels since the start (acknowledgements included; a raw
   * relay sends one per datagram forwarded), or 0 without DataChannels.
   */
  readonly datagramsOut: number;
  /** Cumulative event loop idle and active time since the start, ms. */
  readonly loop: { readonly idle: number; readonly active: number };
  readonly rssBytes: number;
  /** `performance.now()` of the relay process when it answered, ms (its own origin). */
  readonly atMs: number;
}

/** The relay a child process serves, as {@link serveRelayProcess} needs it. */
export interface ServedRelay {
  /** e.g. `http://127.0.0.1:40123` or `ws://127.0.0.1:40123`. */
  readonly url: string;
  forwarded(): number;
  refused(): number;
  /** See {@link RelayUsage.datagramsOut} (default: none). */
  datagramsOut?(): number;
  close(): Promise<void>;
}

/** Linux's fixed unit of per-thread CPU times in `/proc` (USER_HZ), in µs. */
const USER_HZ_US = 10_000;

/** User + system CPU time of this process's main thread, µs, from `/proc` (null elsewhere). */
function mainThreadCpuUs(): number | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * USER_HZ_US;
}

/** {@link RelayUsage.threadCpuUs} now: every thread's CPU time, summed by thread name. */
function threadCpuUs(): Record<string, number> {
  const out: Record<string, number> = {};
  let tasks: string[];
  try {
    tasks = readdirSync('/proc/self/task');
  } catch {
    return out;
  }
  for (const t of tasks) {
    try {
      const stat = readFileSync(`/proc/self/task/${t}/stat`, 'utf8');
      const name =
        t === String(process.pid)
          ? 'main'
          : stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out[name] = (out[name] ?? 0) + (Number(fields[11]) + Number(fields[12])) * USER_HZ_US;
    } catch {
      // The thread ended meanwhile.
    }
  }
  return out;
}

type FromChild =
  | { readonly type: 'ready'; readonly url: string }
  | { readonly type: 'usage'; readonly id: number; readonly usage: RelayUsage };
type ToChild = { readonly type: 'usage'; readonly id: number } | { readonly type: 'stop' };

/**
 * Child side: starts the relay, reports its URL, answers usage queries, and on `stop` closes it
 * and exits. Exits at once when the parent goes away (the IPC channel closes), so that a
 * crashed benchmark never leaves a relay behind.
 */
export async function serveRelayProcess(start: () => Promise<ServedRelay>): Promise<void> {
  if (!process.send)
    throw new Error('a relay benchmark process must be spawned with an IPC channel');
  const send = (m: FromChild): void => {
    process.send?.(m);
  };
  const relay = await start();
  process.on('disconnect', () => process.exit(0));
  process.on('message', (m: ToChild) => {
    if (m.type === 'usage') {
      const elu = performance.eventLoopUtilization();
      send({
        type: 'usage',
        id: m.id,
        usage: {
          cpuUs: process.cpuUsage(),
          mainThreadCpuUs: mainThreadCpuUs(),
          threadCpuUs: threadCpuUs(),
          forwarded: relay.forwarded(),
          refused: relay.refused(),
          datagramsOut: relay.datagramsOut?.() ?? 0,
          loop: { idle: elu.idle, active: elu.active },
          rssBytes: process.memoryUsage.rss(),
          atMs: performance.now(),
        },
      });
    } else if (m.type === 'stop') {
      // A normal exit, so that `--cpu-prof` writes its profile.
      relay.close().finally(() => process.exit(0));
    }
  });
  send({ type: 'ready', url: relay.url });
}

/** Settings of {@link RelayProcess.spawn}. */
export interface RelayProcessOptions {
  /** Arguments after the script. */
  readonly args?: readonly string[];
  /** Write a V8 CPU profile of the child into this directory (`node --cpu-prof`). */
  readonly cpuProfDir?: string;
  /** Give up when the child has not reported its URL after this long, ms (default 20 000). */
  readonly startTimeoutMs?: number;
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

/** Parent side: a relay running in a child process. */
export class RelayProcess {
  private nextId = 0;
  private readonly pending = new Map<number, (u: RelayUsage) => void>();

  private constructor(
    private readonly child: ChildProcess,
    /** The URL the relay listens on. */
    readonly url: string,
  ) {
    child.on('message', (m: FromChild) => {
      if (m.type !== 'usage') return;
      this.pending.get(m.id)?.(m.usage);
      this.pending.delete(m.id);
    });
  }

  /**
   * Starts `node --import tsx <script> ...args` with an IPC channel and waits for its URL. The
   * child's stdout goes to the parent's stderr, so that `--json` output stays clean.
   * @throws Error when the child exits or stays silent before reporting its URL
   */
  static spawn(script: string, options: RelayProcessOptions = {}): Promise<RelayProcess> {
    if (!exitHookInstalled) {
      exitHookInstalled = true;
      process.on('exit', () => {
        for (const c of live) c.kill('SIGKILL');
      });
    }
    const execArgv = ['--import', import.meta.resolve('tsx')];
    if (options.cpuProfDir) execArgv.push('--cpu-prof', '--cpu-prof-dir', options.cpuProfDir);
    const child = spawn(process.execPath, [...execArgv, script, ...(options.args ?? [])], {
      stdio: ['ignore', 2, 2, 'ipc'],
    });
    live.add(child);
    child.once('exit', () => live.delete(child));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`${script} did not report its URL in time`));
      }, options.startTimeoutMs ?? 20_000);
      const onExit = (code: number | null, signal: string | null): void => {
        clearTimeout(timer);
        reject(new Error(`${script} exited before it was ready (code ${code}, signal ${signal})`));
      };
      child.once('exit', onExit);
      child.on('message', function onReady(m: FromChild) {
        if (m.type !== 'ready') return;
        clearTimeout(timer);
        child.off('exit', onExit);
        child.off('message', onReady);
        resolve(new RelayProcess(child, m.url));
      });
    });
  }

  /**
   * Asks the relay for its CPU time and counters.
   * @throws Error when no answer comes within `timeoutMs` (default 60 000: an overloaded relay answers late)
   */
  usage(timeoutMs = 60_000): Promise<RelayUsage> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error('the relay process did not answer a usage query in time'));
      }, timeoutMs);
      this.pending.set(id, (u) => {
        clearTimeout(timer);
        resolve(u);
      });
      this.child.send({ type: 'usage', id } satisfies ToChild);
    });
  }

  /** Asks the relay to close and exit; kills it when it has not exited after `timeoutMs`. */
  async stop(timeoutMs = 10_000): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    if (this.child.connected) this.child.send({ type: 'stop' } satisfies ToChild);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    await exited;
    clearTimeout(timer);
  }
}

/** Absolute path of a file beside this one (the child scripts). */
export function benchScript(name: string): string {
  return fileURLToPath(new URL(name, import.meta.url));
}
