/**
 * The replay viewer's Web Worker: it builds the logged match's sim from the {@link ReplayData}
 * (a built-in sim by id; a sim module from the bundle the log carries, imported from a Blob URL;
 * a Python environment from the source the log carries, in Pyodide loaded from the relay's
 * `/pyodide/`, as the Python scenes' worker does) and moves a {@link ReplayCursor} to the frames
 * the page asks for, so that a long seek or a Python re-simulation never blocks the page. For
 * each frame it answers with what the page draws (the duel's snapshot, or a sim's draw
 * primitives) and the check frames' hashes it computed on the way.
 *
 * Started by `replay-page.ts` as a module worker (`/replay-worker.js`).
 */
import type { ReplayData } from '../../protocol/index.ts';
import {
  checkSimModule,
  type DrawPrimitive,
  type EpisodicSim,
  episodicFactory,
  type Frame,
  getSimFactory,
  initStateHash,
  type Sim,
  type SimFactory,
  type SimView,
} from '../../sim/index.ts';
import { loadConcordPyodide, type PythonSim, pythonSimFactory } from '../../sim/python/index.ts';
import { type ComputedHash, ReplayCursor } from './replay-cursor.ts';

/** What the page sends the worker. */
export type ReplayPageToWorker =
  /** First: the match to replay, and the relay's origin (for Pyodide's files). */
  | { readonly type: 'init'; readonly data: ReplayData; readonly origin: string }
  /** Put the sim at `frame`; answered by one `frame` message. */
  | { readonly type: 'goto'; readonly frame: Frame };

/** How the page draws the replayed states. */
export type ReplayViewKind =
  /** Duel's Phaser view, from the snapshot (`duelView`). */
  | 'duel'
  /** The primitives view, from the sim's draw primitives (a Python `render()`, a module's view). */
  | 'primitives'
  /** Nothing to draw with (a sim without a view): the page shows the numbers only. */
  | 'none';

/** What the worker sends the page. */
export type ReplayWorkerToPage =
  | { readonly type: 'status'; readonly text: string }
  | { readonly type: 'ready'; readonly view: ReplayViewKind; readonly lastFrame: Frame }
  | {
      readonly type: 'frame';
      readonly frame: Frame;
      /** The check frames' hashes computed on the way, the frame's own included. */
      readonly hashes: readonly ComputedHash[];
      /** The duel's snapshot of S(frame) (`view` is `duel`). */
      readonly snap?: Int32Array;
      /** The draw primitives of S(frame) (`view` is `primitives`). */
      readonly primitives?: readonly DrawPrimitive[] | null;
      /** The last frame reachable (lower than the final frame after a fault). */
      readonly lastFrame: Frame;
      /** What the sim threw, when it stopped short. */
      readonly fault: string | null;
    }
  | { readonly type: 'error'; readonly message: string };

/** The worker's scope, as much of it as the worker uses (a test can stand in for it). */
interface WorkerScope {
  postMessage(message: ReplayWorkerToPage, transfer?: Transferable[]): void;
  onmessage: ((e: MessageEvent<ReplayPageToWorker>) => void) | null;
}

interface Loaded {
  readonly cursor: ReplayCursor;
  readonly view: ReplayViewKind;
  /** The sim drawn: the episode's sim in a match of episodes, else the sim itself. */
  readonly inner: () => Sim;
  /** The draw primitives of the current state, or undefined for a duel / no view. */
  readonly draw?: () => readonly DrawPrimitive[] | null;
}

const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** Builds the sim and the way to draw it; see the module comment. */
async function load(data: ReplayData, origin: string, post: WorkerScope['postMessage']) {
  await initStateHash();
  const { sim: s, scene } = data;
  let factory: SimFactory;
  let view: ReplayViewKind = 'none';
  let moduleView: SimView | null = null;
  let python = false;
  if (s.kind === 'builtin') {
    factory = getSimFactory(s.id);
    view = s.id === 'duel' ? 'duel' : 'none';
  } else if (s.kind === 'module') {
    post({ type: 'status', text: 'Loading the sim module the log carries…' });
    const url = URL.createObjectURL(new Blob([s.bundle ?? ''], { type: 'text/javascript' }));
    try {
      const module = checkSimModule(await import(/* @vite-ignore */ url), `the sim ${s.id}`);
      factory = module.sim;
      moduleView = module.view;
      view = moduleView ? 'primitives' : 'none';
    } finally {
      URL.revokeObjectURL(url);
    }
  } else {
    post({ type: 'status', text: 'Loading Python…' });
    const pyodide = await loadConcordPyodide({ indexURL: `${origin}/pyodide/` });
    if (s.packages && s.packages.length > 0) await pyodide.loadPackage([...s.packages]);
    factory = await pythonSimFactory({
      id: s.id,
      source: s.source ?? '',
      ...(s.className ? { className: s.className } : {}),
      pyodide,
    });
    python = true;
    view = 'primitives';
  }
  const episodic = data.episodes ? episodicFactory(factory, data.episodes) : null;
  const sim = (episodic ?? factory).create({ players: scene.players, seed: data.seed }) as Sim;
  const inner = (): Sim => (episodic ? (sim as EpisodicSim).inner : sim);
  const cursor = new ReplayCursor(sim, data);
  let draw: Loaded['draw'];
  if (python) {
    draw = () => (inner() as PythonSim).render();
  } else if (moduleView) {
    const v = moduleView;
    draw = () => {
      const snap = inner().save();
      return v.draw(snap, {
        prev: snap,
        alpha: 1,
        localSlot: -1,
        tickRate: scene.tickRate,
        episode: episodic ? (sim as EpisodicSim).episode : 0,
        episodes: data.episodes?.episodes ?? 1,
      });
    };
  }
  return { cursor, view, inner, draw } satisfies Loaded;
}

/** Serves the page's messages on `scope`; see the module comment. */
export function serveReplayWorker(scope: WorkerScope): void {
  let loaded: Loaded | null = null;
  let failed = false;
  const post = (m: ReplayWorkerToPage, transfer?: Transferable[]) => scope.postMessage(m, transfer);
  scope.onmessage = (e) => {
    const m = e.data;
    if (m.type === 'init') {
      load(m.data, m.origin, post).then(
        (l) => {
          loaded = l;
          post({ type: 'ready', view: l.view, lastFrame: l.cursor.lastFrame });
        },
        (err) => {
          failed = true;
          post({ type: 'error', message: `Could not load the match's sim: ${messageOf(err)}` });
        },
      );
      return;
    }
    if (m.type === 'goto') {
      if (!loaded || failed) return;
      const { cursor, view, draw } = loaded;
      const current = loaded;
      try {
        const hashes = cursor.goto(m.frame);
        const frame = cursor.frame;
        if (view === 'duel') {
          const snap = (current.inner().save() as Int32Array).slice();
          post(
            {
              type: 'frame',
              frame,
              hashes,
              snap,
              lastFrame: cursor.lastFrame,
              fault: cursor.fault,
            },
            [snap.buffer],
          );
        } else {
          post({
            type: 'frame',
            frame,
            hashes,
            primitives: draw?.() ?? null,
            lastFrame: cursor.lastFrame,
            fault: cursor.fault,
          });
        }
      } catch (err) {
        post({ type: 'error', message: `The replay stopped: ${messageOf(err)}` });
      }
    }
  };
}

const scope = globalThis as unknown as WorkerScope & { document?: unknown };
if (typeof scope.postMessage === 'function' && scope.document === undefined) {
  serveReplayWorker(scope);
}
