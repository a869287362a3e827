/**
 * Checks a sim module the way the relay will use it, before any participant does: bundle, load,
 * validate its exports, run the sync test (every frame rolled back and re-simulated, hashes
 * compared) with seeded random inputs, and draw one frame with its view. Run it as
 * `npx tsx relay/check-sim.ts FILE [frames]` from a Concord checkout.
 *
 * @packageDocumentation
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Input, Prng, runSyncTest } from '../sim/index.ts';
import { checkDrawPrimitives } from '../sim/python/index.ts';
import { loadSimModule } from './sim-modules.ts';

/** What {@link checkSimFile} found. */
export interface SimFileReport {
  readonly file: string;
  readonly id: string;
  /** Players the sync test ran with: the module's `minPlayers`. */
  readonly players: number;
  /** Bundle size in UTF-16 code units. */
  readonly bundleLength: number;
  readonly codeHash: string;
  /** The module's named actions. */
  readonly actions: readonly string[];
  /** Frames the sync test ran, and the hash comparisons it made. */
  readonly frames: number;
  readonly checks: number;
  /** Draw primitives of the first frame, or null without a view. */
  readonly primitives: number | null;
}

/**
 * Bundles, loads and checks a sim module: the sync test over `frames` frames (check distance
 * 8) with seeded random inputs (its named actions when it has some, else random buttons), and
 * its view's output for one frame.
 * @throws ConcordError `BAD_CONFIG` when the module does not build or load (see
 *   `loadSimModule`), `SYNC_TEST_MISMATCH` naming the first frame whose re-simulation differs,
 *   `BAD_STATE` when the view draws something that is not a draw primitive
 */
export async function checkSimFile(file: string, frames = 600): Promise<SimFileReport> {
  const m = await loadSimModule(file);
  const players = m.sim.minPlayers;
  const named = Object.values(m.actions);
  const rng = Prng.fromSeed(0x51c0);
  const all: Input[][] = Array.from({ length: frames }, () =>
    Array.from({ length: players }, () =>
      named.length > 0
        ? named[rng.nextInt(named.length)]
        : { buttons: rng.nextInt(0x10000), x: rng.nextInt(256) - 128, y: rng.nextInt(256) - 128 },
    ),
  );
  const sim = m.sim.create({ players, seed: 1 });
  const first = sim.save();
  const result = runSyncTest(sim, { frames, checkDistance: 8, inputs: (f) => all[f] });
  let primitives: number | null = null;
  if (m.view) {
    const drawn = m.view.draw(sim.save(), {
      prev: first,
      alpha: 0,
      localSlot: 0,
      tickRate: 60,
      episode: 0,
      episodes: 1,
    });
    primitives = checkDrawPrimitives(drawn, `${m.bundle.file}: view.draw`).length;
  }
  return {
    file: m.bundle.file,
    id: m.sim.id,
    players,
    bundleLength: m.bundle.code.length,
    codeHash: m.bundle.codeHash,
    actions: Object.keys(m.actions),
    frames,
    checks: result.checks,
    primitives,
  };
}

/** The report as `npx tsx relay/check-sim.ts` prints it. */
export function formatSimFileReport(r: SimFileReport): string {
  return [
    `${r.file}: sim "${r.id}", bundle ${r.bundleLength} characters, code hash ${r.codeHash}`,
    `actions: ${r.actions.length > 0 ? r.actions.join(', ') : 'none (scenes map keys to numbers 0–16)'}`,
    `sync test: ${r.players} players, ${r.frames} frames, ${r.checks} re-simulated hashes agree`,
    r.primitives === null ? 'view: none' : `view: ${r.primitives} draw primitives`,
    'ok',
  ].join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const [file, frames] = process.argv.slice(2);
  if (!file) {
    console.error('usage: npx tsx relay/check-sim.ts FILE [frames]');
    process.exit(2);
  }
  try {
    console.log(formatSimFileReport(await checkSimFile(file, frames ? Number(frames) : undefined)));
  } catch (err) {
    console.error((err as Error).message);
    process.exit(1);
  }
}
