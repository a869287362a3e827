import { type Scheduler, type TimerId, VirtualClock } from '../net/index.ts';

const now = (): number => performance.now(); // clock-ok: drives the page's loop, never the sim

/**
 * The page's clock for the match runner: real time (`performance.now()`), whose callbacks run
 * when the page pumps it, from `requestAnimationFrame` while the tab is visible and from the
 * background timer's Web Worker while it is hidden (browsers stop the first and throttle
 * main-thread timers in a hidden tab, which would stall the match for every other player). A
 * callback due at a time already past runs at the next pump, in the order the clock promises.
 */
export class PageClock implements Scheduler {
  private readonly queue = new VirtualClock(now());

  /** {@inheritDoc Scheduler.now} */
  now(): number {
    return now();
  }

  /** {@inheritDoc Scheduler.at} */
  at(timeMs: number, fn: () => void): TimerId {
    return this.queue.at(timeMs, fn);
  }

  /** {@inheritDoc Scheduler.cancel} */
  cancel(id: TimerId): void {
    this.queue.cancel(id);
  }

  /** Runs every callback due by now. */
  pump(): void {
    this.queue.runUntil(now());
  }
}
