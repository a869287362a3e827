/**
 * A Python scene's Web Worker, started ahead of the scene: it loads Pyodide, the environment's
 * packages and its source (`GET /sims/<scene>`) while the participant reads the scenes before,
 * so that the game scene does not wait for them. The Python page adopts it when the scene comes
 * (`PythonPage`), and gets every message the worker sent before in order.
 */
import type { PageToWorker, WorkerToPage } from './python-worker.ts';

/** Where the page's build puts the worker's bundle. */
export const PYTHON_WORKER_URL = '/python-worker.js';

/** How far the loading is: `done` of `total` steps, the step under way in words. */
export interface LoadProgress {
  readonly done: number;
  readonly total: number;
  readonly text: string;
}

/**
 * A started Python worker that has been told its scene (`init`) and is loading. Until a page
 * {@link adopt}s it, it keeps the worker's messages and follows the loading ({@link progress},
 * {@link ready}, {@link error}).
 */
export class PythonPreload {
  readonly worker: Worker;
  /** The loading's progress (0 of 1 until the worker's first report). */
  progress: LoadProgress = { done: 0, total: 1, text: 'Loading Python…' };
  /** True once Pyodide, the packages and the environment are loaded. */
  ready = false;
  /** Why loading failed, once it has; else null. */
  error: string | null = null;
  private readonly early: WorkerToPage[] = [];
  private handler: ((m: WorkerToPage) => void) | null = null;
  private listeners: (() => void)[] = [];

  /**
   * Starts the worker for relay scene `scene` (a Python scene) and tells it to load.
   * @throws the browser's error when it cannot start a module worker
   */
  constructor(readonly scene: string) {
    this.worker = new Worker(PYTHON_WORKER_URL, { type: 'module', name: `concord-${scene}` });
    this.worker.onmessage = (e: MessageEvent<WorkerToPage>) => this.onMessage(e.data);
    this.worker.onerror = (e) => {
      e.preventDefault();
      this.onMessage({
        type: 'error',
        message: `The Python worker failed: ${e.message || 'it could not start'}`,
        fatal: true,
      });
    };
    this.post({ type: 'init', scene });
  }

  /** Sends the worker a message. */
  post(m: PageToWorker): void {
    this.worker.postMessage(m);
  }

  /**
   * Calls `listener` whenever the loading's progress, readiness or error changes (until the
   * page adopts the worker).
   * @returns a function that stops calling it
   */
  onChange(listener: () => void): () => void {
    this.listeners.push(listener);
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  /**
   * Hands the worker's messages to `handler` from now on, after every message it sent before,
   * in order. A worker is adopted once.
   * @throws Error when it was adopted already
   */
  adopt(handler: (m: WorkerToPage) => void): void {
    if (this.handler) throw new Error(`the Python worker of "${this.scene}" is adopted already`);
    this.handler = handler;
    this.listeners = [];
    for (const m of this.early.splice(0)) handler(m);
  }

  /** Stops the worker (the page moved on, or the scene is no longer ahead). */
  terminate(): void {
    this.worker.terminate();
    this.listeners = [];
  }

  private onMessage(m: WorkerToPage): void {
    if (m.type === 'progress') this.progress = { done: m.done, total: m.total, text: m.text };
    else if (m.type === 'ready') this.ready = true;
    else if (m.type === 'error' && m.fatal && !this.ready) this.error = m.message;
    if (this.handler) {
      this.handler(m);
      return;
    }
    // Before adoption only the loading matters; frames and hashes do not occur yet.
    this.early.push(m);
    if (m.type === 'progress' || m.type === 'ready' || m.type === 'error') {
      for (const l of [...this.listeners]) l();
    }
  }
}
