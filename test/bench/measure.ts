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
