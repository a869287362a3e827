import { performance } from 'node:perf_hooks';

/** Identifies one scheduled callback of a {@link RelayScheduler}, for `cancel`. */
export type RelayTimerId = number;

/**
 * Where a room gets its time and its timers (grace periods, silence detection), so that the
 * same room runs on the real clock in the relay and on a virtual clock in tests. The shape is
 * client/net's `Scheduler`, so its `VirtualClock` can be passed as is.
 *
 * `now()` never decreases; `at(timeMs, fn)` runs `fn` once at `timeMs` (ms, same origin as
 * `now()`, or at once when that is past); `cancel` stops a callback that has not run yet.
 */
export interface RelayScheduler {
  /** The current time in ms; only differences are meaningful. */
  now(): number;
  /** Runs `fn` once at `timeMs` (or as soon as possible when it has passed). */
  at(timeMs: number, fn: () => void): RelayTimerId;
  /** Stops a callback that has not run; does nothing for one that ran or was cancelled. */
  cancel(id: RelayTimerId): void;
}

/**
 * The relay's real clock: `performance.now()` and `setTimeout`. Its timers are unref'd, so a
 * room waiting out a grace period never holds the process open on its own.
 */
export function realScheduler(): RelayScheduler {
  const timers = new Map<RelayTimerId, ReturnType<typeof setTimeout>>();
  let nextId = 1;
  return {
    now: () => performance.now(), // clock-ok: presence and log times, not the sim
    at(timeMs, fn) {
      const id = nextId++;
      const delay = Math.max(0, timeMs - performance.now()); // clock-ok
      const t = setTimeout(() => {
        timers.delete(id);
        fn();
      }, delay);
      t.unref?.();
      timers.set(id, t);
      return id;
    },
    cancel(id) {
      const t = timers.get(id);
      if (t === undefined) return;
      clearTimeout(t);
      timers.delete(id);
    },
  };
}
