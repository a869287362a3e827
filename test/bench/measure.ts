import os from 'node:os';
import { Bench } from 'tinybench';

/** One measured operation: mean, median and p99 time per call in µs. */
export interface Measured {
  readonly name: string;
  readonly meanUs: number;
  readonly p50Us: number;
  readonly p99Us: number;
  readonly samples: number;
}

/**
 * Measures each function with tinybench (warm-up, then at least `timeMs` of samples) and returns
 * per-call times in µs.
 */
export async function measure(
  fns: Record<string, () => void>,
  timeMs = 1000,
): Promise<Record<string, Measured>> {
  const bench = new Bench({ time: timeMs, warmupTime: 200 });
  for (const [name, fn] of Object.entries(fns)) bench.add(name, fn);
  await bench.run();
  const out: Record<string, Measured> = {};
  for (const task of bench.tasks) {
    const r = task.result;
    if (!('latency' in r)) throw new Error(`benchmark ${task.name} failed: ${r.state}`);
    out[task.name] = {
      name: task.name,
      meanUs: r.latency.mean * 1000,
      p50Us: r.latency.p50 * 1000,
      p99Us: r.latency.p99 * 1000,
      samples: r.latency.samples?.length ?? 0,
    };
  }
  return out;
}

/** Prints rows as an aligned text table. */
export function printTable(title: string, header: string[], rows: (string | number)[][]): void {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  console.log(`\n${title}`);
  cells.forEach((r, j) => {
    console.log(
      r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  '),
    );
    if (j === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  });
}

/** Busy share of the whole machine, in % of one core, below which it counts as quiet. */
export const QUIET_CPU_PCT = 20;

/** Busy and idle time of all cores since boot, ms (from `os.cpus()`). */
export function machineTimes(): { busy: number; idle: number } {
  let busy = 0;
  let idle = 0;
  for (const c of os.cpus()) {
    busy += c.times.user + c.times.nice + c.times.sys + c.times.irq;
    idle += c.times.idle;
  }
  return { busy, idle };
}

/** Busy share of the whole machine between two {@link machineTimes}, in % of one core. */
export function busyPct(
  a: { busy: number; idle: number },
  b: { busy: number; idle: number },
): number {
  const busy = b.busy - a.busy;
  return (busy / (busy + b.idle - a.idle)) * os.cpus().length * 100;
}

/**
 * Waits until the machine was quiet (below {@link QUIET_CPU_PCT} % of a core) for a whole second
 * (this process is idle meanwhile), or `maxWaitMs` passed; returns the last second's busy share,
 * % of one core. Benchmarks call it before each group of measurements on a shared machine.
 */
export async function waitForQuiet(maxWaitMs: number): Promise<number> {
  const deadline = performance.now() + maxWaitMs;
  let pct: number;
  do {
    const before = machineTimes();
    await new Promise((r) => setTimeout(r, 1000));
    pct = busyPct(before, machineTimes());
  } while (pct > QUIET_CPU_PCT && performance.now() < deadline);
  return pct;
}
