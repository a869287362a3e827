/**
 * The browser page that plays a scene through the relay it was served by: join a scene's queue
 * (`?scene=`, default `duel`; `?participant=` the experiment's id for this person), wait while
 * the room fills, count down, play, show the result and the match id. `?renderer=canvas|webgl`
 * forces a renderer; `?autojoin=0` waits for the Join button instead of joining on load.
 *
 * Which page runs depends on the scene: when the relay serves a Python environment for it
 * (`GET /sims/<scene>` answers 200) the Python page (`python-page.ts`, the match in a Web Worker
 * that hosts Pyodide); when it answers 404, the duel page (`duel-page.ts`).
 *
 * The relay serves it at `/play` (and at `/` when it serves no experiment).
 *
 * While a match runs the page keeps its seat in `sessionStorage` (`seat-storage.ts`); a reload
 * within the scene's grace period rejoins that seat instead of joining a queue.
 */
import { DuelPage } from './duel-page.ts';
import { hookOf, isPythonScene, type MatchPage, readRenderer } from './match-page.ts';
import { idleStats } from './page-stats.ts';
import { PythonPage } from './python-page.ts';
import { loadSeat } from './seat-storage.ts';
import { PageScreens } from './ui.ts';

const params = new URLSearchParams(location.search);
const scene = params.get('scene') || 'duel';
/** A seat this tab kept for the scene: a reload within the grace period rejoins it. */
const seat = loadSeat(sessionStorage, scene);
const renderer = readRenderer(params.get('renderer'));
const participantId = params.get('participant') || null;
window.concord = {
  phase: 'idle',
  stats: () => idleStats('idle'),
  hashAt: () => null,
  result: () => null,
};
const screens = new PageScreens();
screens.setTitle(`Concord · ${scene}`);
isPythonScene(scene).then(
  (python) => {
    const options = { scene, participantId, renderer, seat };
    const page: MatchPage = python ? new PythonPage(options) : new DuelPage(options);
    window.concord = hookOf(page);
    if (params.get('autojoin') === '0' && seat === null) page.showJoin();
    else void page.join();
  },
  (err: unknown) => {
    screens.setError(
      `Cannot start: ${err instanceof Error ? err.message : String(err)}. Reload to try again.`,
    );
  },
);
