import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  type BodyRecord,
  type HeaderRecord,
  MatchLogWriter,
  type MatchLogWriterOptions,
} from '../../relay/log/index.ts';

/** A fresh directory under the OS temp dir, and its removal. For tests. */
export async function tempDir(): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'concord-log-'));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** Resolves once `condition()` holds, polling every 5 ms; rejects after `timeoutMs`. */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 2000,
  what = 'condition',
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await condition())) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/**
 * Writes a log through a {@link MatchLogWriter} the way a relay does: records appended in
 * bursts, each burst written by the writer's own timer (the test waits until it has been, never
 * calling flush), then closed with an end record.
 */
export async function writeLogWithTimer(
  dir: string,
  header: HeaderRecord,
  records: readonly BodyRecord[],
  options: MatchLogWriterOptions & { burst?: number } = {},
): Promise<MatchLogWriter> {
  const writer = await MatchLogWriter.open(dir, header.matchId, header, {
    flushIntervalMs: 10,
    ...options,
  });
  const burst = options.burst ?? 200;
  for (let i = 0; i < records.length; i += burst) {
    const before = writer.flushes;
    for (const r of records.slice(i, i + burst)) writer.append(r);
    await waitFor(() => writer.flushes > before, 2000, 'a timer flush');
  }
  await writer.close({ type: 'end', reason: 'test', ms: 99_999 });
  return writer;
}
