/**
 * `concord pilot`: headless participants through a whole study over a real relay on loopback,
 * before anyone is recruited. Each participant is a {@link playStudy}: consent, waiting rooms,
 * games played by a bot through the match runner, surveys with random valid answers, the end.
 *
 * @packageDocumentation
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { deriveSeed, type LinkImpairment, playStudy, type StudyResult } from '../client/index.ts';
import { loadExperiment } from './experiment/index.ts';
import { startStudy } from './study/index.ts';

/** Settings of {@link runPilot}. */
export interface PilotOptions {
  /** The experiment file. */
  readonly experiment: string;
  /** Participants to run, all at once (arriving a few ms apart). */
  readonly participants: number;
  /** One-way latency, jitter (ms) and loss (%) of every game connection, each way. */
  readonly latencyMs?: number;
  readonly jitterMs?: number;
  readonly lossPct?: number;
  readonly seed?: number;
  /** Data directory (database and logs); default a new temp directory, removed after. */
  readonly dataDir?: string;
  /** Each participant's progress, for the command line. */
  readonly onProgress?: (index: number, line: string) => void;
  /**
   * Called once the study listens, before any participant arrives, with its URL (e.g. to scrape
   * its `GET /metrics` while the pilot runs).
   */
  readonly onListening?: (url: string) => void;
  /**
   * Awaited once every participant has finished, before the study stops, with its URL (e.g. a
   * last scrape of `GET /metrics`, with every participant still in the database). A throw stops
   * the pilot with that error (the study is still stopped).
   */
  readonly beforeClose?: (url: string) => Promise<void> | void;
}

/** What a pilot reached. */
export interface PilotReport {
  readonly experimentId: string;
  readonly dataDir: string | null;
  readonly participants: readonly StudyResult[];
  /** Participants by outcome (`none` when not at the end). */
  readonly outcomes: Readonly<Record<string, number>>;
  /** Why the pilot failed: every participant not at the end scene with a code. Empty: it passed. */
  readonly failures: readonly string[];
  readonly durationMs: number;
}

/**
 * Runs the pilot: starts the study on a free loopback port with a fresh data directory (unless
 * `dataDir`), runs every participant to the end, and stops the relay.
 * @throws ConcordError `BAD_CONFIG` for a malformed experiment (before anything starts)
 */
export async function runPilot(o: PilotOptions): Promise<PilotReport> {
  const experiment = loadExperiment(o.experiment);
  const t0 = Date.now();
  const dataDir = o.dataDir ?? (await mkdtemp(path.join(os.tmpdir(), 'concord-pilot-')));
  const study = await startStudy({
    experiment,
    dataDir,
    port: 0,
    host: '127.0.0.1',
    webrtc: false,
  });
  const seed = o.seed ?? 1;
  const impairment: LinkImpairment | undefined =
    (o.latencyMs ?? 0) > 0 || (o.jitterMs ?? 0) > 0 || (o.lossPct ?? 0) > 0
      ? { latencyMs: o.latencyMs ?? 0, jitterMs: o.jitterMs ?? 0, lossPct: o.lossPct ?? 0 }
      : undefined;
  let results: StudyResult[];
  try {
    o.onListening?.(study.url);
    results = await Promise.all(
      Array.from({ length: o.participants }, async (_, i) => {
        await new Promise((r) => setTimeout(r, i * 20));
        return playStudy({
          url: study.url,
          seed: deriveSeed(seed, i),
          ids: { participant: `pilot-${i + 1}` },
          impairment,
          simFactory: study.study.simFactory,
          onEvent: (e) => {
            if (e.type === 'view') o.onProgress?.(i, `at ${e.view.scene.id}`);
            else if (e.type === 'game') o.onProgress?.(i, `played ${e.sceneId}: ${e.end}`);
          },
        });
      }),
    );
    await o.beforeClose?.(study.url);
  } finally {
    await study.close('pilot finished');
    if (o.dataDir === undefined) await rm(dataDir, { recursive: true, force: true });
  }
  const outcomes: Record<string, number> = {};
  const failures: string[] = [];
  for (const r of results) {
    const k = r.finished ? (r.outcome ?? 'none') : 'none';
    outcomes[k] = (outcomes[k] ?? 0) + 1;
    if (!r.finished || !r.completionCode) {
      failures.push(
        `${r.participantId || '(no id)'} stopped at "${r.sceneId}"${r.error ? `: ${r.error}` : ''}`,
      );
    }
  }
  return {
    experimentId: experiment.id,
    dataDir: o.dataDir ?? null,
    participants: results,
    outcomes,
    failures,
    durationMs: Date.now() - t0,
  };
}

/** The pilot's report as lines for people: one per participant, then the totals. */
export function formatPilot(r: PilotReport): string {
  const lines = r.participants.map(
    (p) =>
      `  ${p.participantId.padEnd(12)} ${p.finished ? 'end' : 'STOPPED'} at ${p.sceneId}  outcome ${p.outcome ?? '-'}  code ${p.completionCode ?? '-'}  scenes ${p.scenes.join(' > ')}${p.error ? `  (${p.error})` : ''}`,
  );
  const totals = Object.entries(r.outcomes)
    .map(([k, n]) => `${n} ${k}`)
    .join(', ');
  lines.push(
    `${r.experimentId}: ${r.participants.length} participants in ${(r.durationMs / 1000).toFixed(1)} s: ${totals}; ${r.failures.length === 0 ? 'every participant reached the end scene with a code' : `${r.failures.length} did not reach the end`}`,
  );
  return lines.join('\n');
}
