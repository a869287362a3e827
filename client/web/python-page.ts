/**
 * The page for a Python scene (one whose `GET /sims/<scene>` answers 200): the same join,
 * waiting, countdown and result screens as the duel page, with the match itself in a Web Worker
 * (`python-worker.ts`) that hosts Pyodide. The page only captures keys, draws the draw
 * primitives the worker sends, and keeps the stats and confirmed state hashes it reports, so a
 * rollback in Python never delays a display frame or a key press.
 */
import type { SceneSettings } from '../../protocol/index.ts';
import { discreteActionInput, type EpisodeSettings } from '../../sim/index.ts';
import type { DrawPrimitive } from '../../sim/python/index.ts';
import type { Seat } from '../match-runner.ts';
import type { RendererChoice } from './duel-view.ts';
import type { MatchPage, MatchPageHost, MatchPageOptions, RelayAuth } from './match-page.ts';
import { StatsOverlay } from './overlay.ts';
import {
  idleStats,
  type PagePhase,
  type PageStats,
  pagePhaseOf,
  presenceNotice,
} from './page-stats.ts';
import { createPrimitivesGame, type PrimitivesGame } from './primitives-view.ts';
import { PYTHON_BINDINGS_TEXT, PythonInputCapture, type SceneKeys } from './python-input.ts';
import { PythonPreload } from './python-preload.ts';
import type {
  PageToWorker,
  PythonMatchResult,
  WorkerMatchStats,
  WorkerToPage,
} from './python-worker.ts';
import { saveSeat } from './seat-storage.ts';
import { PageScreens } from './ui.ts';

export { PYTHON_WORKER_URL } from './python-preload.ts';

/** Confirmed state hashes kept for `hashAt` (the newest ones). */
const MAX_KEPT_HASHES = 4096;

const isHidden = (): boolean => document.visibilityState === 'hidden';
const now = (): number => performance.now(); // clock-ok: the overlay's redraw pacing

/**
 * The Python page: idle → waiting → countdown → playing (→ reconnecting → playing) → ended, as
 * the worker's match runner reports it. It keeps the seat the worker posts in `sessionStorage`
 * and hands it back to the worker after a reload, which then rejoins it.
 */
export class PythonPage implements MatchPage {
  private phase: PagePhase = 'idle';
  private readonly worker: PythonPreload;
  private readonly scene: string;
  private readonly participantId: string | null;
  private readonly renderer: RendererChoice;
  private seat: Seat | null;
  private readonly auth: RelayAuth | null;
  private readonly host: MatchPageHost | null;
  private readonly keys: SceneKeys | null;
  private readonly episodes: EpisodeSettings | null;
  private disposed = false;
  /** Undoes every listener the page added to the window and the document. */
  private readonly detach: (() => void)[] = [];
  private readonly screens = new PageScreens();
  private readonly overlay = new StatsOverlay(this.screens.overlay);
  /** Pyodide and the environment are loaded in the worker. */
  private ready = false;
  /** The page asked to join and the worker has not answered with a queue count yet. */
  private joining = false;
  /** The worker's match started (a view is on screen). */
  private started = false;
  private loadError: string | null = null;
  private pyodideLoadMs: number | null = null;
  private settings: SceneSettings | null = null;
  private workerStats: WorkerMatchStats | null = null;
  private primitives: DrawPrimitive[] | null = null;
  private readonly hashes = new Map<number, string>();
  private view: PrimitivesGame | null = null;
  private input: PythonInputCapture | null = null;
  private result: PythonMatchResult | null = null;
  private nextQueryId = 0;
  /** The last button sample taken (-1: none yet). */
  private lastSample = -1;
  private readonly hashQueries = new Map<number, (hash: string | null) => void>();

  /**
   * Starts the worker, which loads Pyodide and the scene's environment at once (before any join),
   * or adopts `preload`, a worker started ahead for this scene.
   * @param options the scene, the participant id, the renderer, the seat this tab kept (a reload:
   *   the worker rejoins it instead of joining), the relay auth, the host and the scene's keys
   * @param preload a worker started for `options.scene` ahead of time, which this page adopts
   * @throws Error when `preload` is for another scene
   */
  constructor(
    options: MatchPageOptions & { readonly keys?: SceneKeys | null },
    preload?: PythonPreload,
  ) {
    this.scene = options.scene;
    this.participantId = options.participantId;
    this.renderer = options.renderer;
    this.seat = options.seat;
    this.auth = options.auth ?? null;
    this.host = options.host ?? null;
    this.keys = options.keys ?? null;
    this.episodes = options.episodes ?? null;
    if (preload && preload.scene !== this.scene) {
      throw new Error(`the Python worker loaded "${preload.scene}", not "${this.scene}"`);
    }
    if (!this.host) this.screens.setTitle(`Concord · ${this.scene}`);
    this.detach.push(this.overlay.bindKeys(window));
    const onVisibility = (): void => this.onVisibility();
    document.addEventListener('visibilitychange', onVisibility);
    this.detach.push(() => document.removeEventListener('visibilitychange', onVisibility));
    this.worker = preload ?? new PythonPreload(this.scene);
    this.worker.adopt((m) => {
      if (!this.disposed) this.onWorkerMessage(m);
    });
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.phase = 'ended';
    this.worker.terminate();
    saveSeat(sessionStorage, null);
    for (const undo of this.detach.splice(0)) undo();
    this.input?.dispose();
    this.input = null;
    this.view?.destroy();
    this.view = null;
    this.screens.setKeys(null);
    this.screens.setCountdown(null);
    this.screens.setNotice(null);
  }

  /** The hook's view of the page (see `ConcordHook`); `hashAt` answers from the kept hashes. */
  hook() {
    return {
      phase: (): PagePhase => this.phase,
      stats: (): PageStats => this.stats(),
      hashAt: (frame: number): string | null => this.hashes.get(frame) ?? null,
      result: (): PythonMatchResult | null => this.result,
      workerHashAt: (frame: number): Promise<string | null> => this.workerHashAt(frame),
    };
  }

  /**
   * Asks the worker's session for the state hash of confirmed frame `frame` (null when it has
   * none, or before a match); `hashAt` answers the same from the hashes the worker posted.
   */
  workerHashAt(frame: number): Promise<string | null> {
    const id = this.nextQueryId++;
    return new Promise((resolve) => {
      this.hashQueries.set(id, resolve);
      this.post({ type: 'hashAt', id, frame });
    });
  }

  /** Shows the Join button (with the keys); a hosted page shows its host's waiting room. */
  showJoin(): void {
    this.phase = 'idle';
    if (this.host) this.host.queue(0, 0);
    else this.screens.showJoin(this.scene, () => this.join(), [`Keys: ${PYTHON_BINDINGS_TEXT}`]);
  }

  /** Asks the worker to join the scene's queue (it waits for Pyodide if still loading). */
  join(): void {
    if (this.disposed) return;
    if (this.loadError !== null) {
      this.screens.showMessage(this.loadError);
      return;
    }
    this.screens.setError(null);
    this.phase = this.seat ? 'reconnecting' : 'waiting';
    this.joining = true;
    const doing = this.seat ? 'Reconnecting…' : 'Joining…';
    if (this.host) {
      // The participant waits for the loading only if it is not done: then the host shows it.
      this.host.loading(this.ready ? null : this.worker.progress);
      if (this.ready) this.host.queue(0, 0);
    } else this.screens.showMessage(this.ready ? doing : 'Loading Python…');
    this.post({
      type: 'join',
      participantId: this.participantId,
      seat: this.seat,
      auth: this.auth,
      episodes: this.episodes,
      study: this.host
        ? {
            defaultInput: this.keys
              ? discreteActionInput(this.keys.defaultAction)
              : { buttons: 0, x: 0, y: 0 },
          }
        : null,
    });
    this.seat = null; // the worker holds it now
  }

  private cancel(): void {
    if (this.phase !== 'waiting') return;
    this.joining = false;
    this.post({ type: 'cancel' });
    this.showJoin();
  }

  private post(m: PageToWorker): void {
    this.worker.post(m);
  }

  private onWorkerMessage(m: WorkerToPage): void {
    switch (m.type) {
      case 'status':
        if (this.host) return;
        if ((this.phase === 'waiting' || this.phase === 'reconnecting') && this.joining)
          this.screens.showMessage(m.text);
        return;
      case 'progress':
        if (this.host && this.joining && !this.ready) this.host.loading(this.worker.progress);
        return;
      case 'phase':
        this.onPhase(pagePhaseOf(m.phase));
        return;
      case 'seat':
        saveSeat(sessionStorage, m.seat);
        return;
      case 'ready':
        this.ready = true;
        this.pyodideLoadMs = m.pyodideLoadMs;
        if (this.host && this.joining) {
          this.host.loading(null);
          this.host.queue(0, 0);
        }
        console.info(
          `concord: Pyodide loaded in ${m.pyodideLoadMs.toFixed(0)} ms, ${m.sim} (${m.codeHash}) in ${m.envFetchMs.toFixed(0)} ms`,
        );
        return;
      case 'waiting':
        if (this.phase !== 'waiting') return;
        this.joining = false;
        if (this.host) this.host.queue(m.waiting, m.players);
        else this.screens.showWaiting(m.waiting, m.players, () => this.cancel());
        return;
      case 'start':
        if (!this.started) this.start(m.settings);
        return;
      case 'frame':
        this.onFrame(m);
        return;
      case 'hash':
        this.hashes.set(m.frame, m.hash);
        if (this.hashes.size > MAX_KEPT_HASHES) {
          this.hashes.delete(this.hashes.keys().next().value as number);
        }
        return;
      case 'hashAt':
        this.hashQueries.get(m.id)?.(m.hash);
        this.hashQueries.delete(m.id);
        return;
      case 'end':
        this.finish(m.result);
        return;
      case 'error':
        if (m.fatal) this.onFatal(m.message);
        else if (m.refused !== undefined && m.refused !== 'join' && m.refused !== 'rejoin') {
          // A refused message within a match is for the developer's console (see main.ts).
          console.warn(`concord: ${m.message}`);
        } else {
          this.screens.setError(m.message);
          if (this.phase === 'waiting' && m.refused === 'join') this.showJoin();
        }
        return;
    }
  }

  /** The worker's runner moved on: the panel and notice follow (the result comes with `end`). */
  private onPhase(phase: PagePhase): void {
    if (this.phase === 'ended') return;
    this.phase = phase;
    if (phase === 'idle') {
      this.joining = false;
      this.showJoin();
    } else if (phase === 'reconnecting') {
      this.host?.playing();
      this.input?.releaseAll();
      if (!this.started) this.screens.showMessage('Reconnecting…');
    } else if ((phase === 'countdown' || phase === 'playing') && this.started) {
      this.host?.playing();
      this.screens.hidePanel();
    }
    this.showNotice();
  }

  private showNotice(): void {
    this.screens.setNotice(
      presenceNotice(this.phase, this.workerStats?.away ?? [], this.settings?.players ?? 0),
    );
  }

  /** An error the worker cannot recover from: during a match the worker's `end` follows. */
  private onFatal(message: string): void {
    this.screens.setError(message);
    if (this.settings !== null) return;
    this.loadError = message;
    this.phase = 'idle';
    this.screens.showMessage(message);
  }

  private start(settings: SceneSettings): void {
    this.started = true;
    this.settings = settings;
    this.host?.playing();
    this.screens.hidePanel();
    this.input = new PythonInputCapture(window, this.keys ?? undefined);
    // Before the view, whose canvas fits the space the key strip leaves.
    this.screens.setKeys(this.input.bindingsText);
    this.view = createPrimitivesGame(this.screens.gameParent, () => this.primitives, this.renderer);
    this.onVisibility();
    const frame = (): void => {
      if (this.phase === 'ended' || this.disposed) return;
      if (!isHidden() && this.input) {
        // Every display frame: the worker turns these samples into one input per tick (a run
        // of empty samples tells it nothing new after the first).
        const buttons = this.input.sample();
        if (buttons !== 0 || this.lastSample !== 0) this.post({ type: 'input', buttons });
        this.lastSample = buttons;
      }
      this.overlay.update(() => this.stats(), now());
      requestAnimationFrame(frame);
    };
    requestAnimationFrame(frame);
  }

  private onFrame(m: Extract<WorkerToPage, { type: 'frame' }>): void {
    this.workerStats = m.stats;
    if (m.primitives !== null) this.primitives = m.primitives;
    if (this.phase === 'ended') return;
    this.screens.setCountdown(this.phase === 'reconnecting' ? null : m.countdown);
    this.showNotice();
  }

  private finish(result: PythonMatchResult): void {
    this.phase = 'ended';
    this.result = result;
    this.input?.dispose();
    this.screens.setKeys(null);
    this.screens.setCountdown(null);
    this.screens.setNotice(null);
    this.overlay.update(() => this.stats(), Number.POSITIVE_INFINITY);
    this.screens.showPythonResult(result, this.host ? null : () => location.reload());
    this.host?.ended();
  }

  private onVisibility(): void {
    if (this.disposed) return;
    const hidden = isHidden();
    if (hidden) this.input?.releaseAll();
    this.post({ type: 'visibility', hidden });
  }

  private stats(): PageStats {
    const w = this.workerStats;
    const base = idleStats(this.phase);
    if (!w) return { ...base, pyodideLoadMs: this.pyodideLoadMs };
    return {
      ...w,
      phase: this.phase,
      hidden: isHidden(),
      renderer: (this.view?.renderer() as PageStats['renderer']) ?? null,
      pyodideLoadMs: this.pyodideLoadMs,
      // The worker's connection: Workers have no RTCPeerConnection, so its inputs use socket.io.
      inputPath: 'websocket',
    };
  }
}
