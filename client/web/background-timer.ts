/** The worker's whole program: post a message every `ms` until terminated. */
const WORKER_SOURCE =
  'let t=null;onmessage=(e)=>{clearInterval(t);t=e.data>0?setInterval(()=>postMessage(0),e.data):null;};';

/**
 * A timer that keeps firing in a background tab. Browsers stop `requestAnimationFrame` in a
 * hidden tab and throttle its main-thread timers to once a second (or less), which would stall
 * the match for every other player; a dedicated Web Worker's timers are not throttled that way.
 * The worker is built from an inline Blob URL, so nothing is fetched.
 */
export class BackgroundTimer {
  private worker: Worker | null = null;
  private url: string | null = null;

  /**
   * Calls `onTick` about every `intervalMs` ms until {@link stop}; restarts if already running.
   * @throws when the browser cannot start a worker (the caller reports it; the match then
   *   stalls in the background instead of silently diverging)
   */
  start(onTick: () => void, intervalMs = 16): void {
    this.stop();
    this.url = URL.createObjectURL(new Blob([WORKER_SOURCE], { type: 'text/javascript' }));
    const worker = new Worker(this.url);
    worker.onmessage = () => onTick();
    worker.postMessage(intervalMs);
    this.worker = worker;
  }

  /** True while the timer runs. */
  get running(): boolean {
    return this.worker !== null;
  }

  /** Stops the timer and its worker. */
  stop(): void {
    this.worker?.terminate();
    this.worker = null;
    if (this.url) URL.revokeObjectURL(this.url);
    this.url = null;
  }
}
