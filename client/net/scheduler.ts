/**
 * Clocks for the network-impairment harness. The link only asks a {@link Scheduler} for the time
 * and to run a callback later, so the same link runs on a {@link VirtualClock} in property tests
 * (fast, reproducible) and on a {@link RealClock} in headless bots (real sockets).
 */

/** Identifies one scheduled callback, for {@link Scheduler.cancel}. */
export type TimerId = number;

/**
 * A source of time and of callbacks at given times.
 *
 * Contract shared by both clocks: `now()` never decreases; a callback scheduled for a time
 * before `now()` runs as if scheduled for `now()`; callbacks run in order of (time, order of the
 * `at` calls), so two callbacks for the same time run in the order they were scheduled.
 */
export interface Scheduler {
  /** The current time in ms. Only differences are meaningful; the origin is the clock's own. */
  now(): number;
  /**
   * Runs `fn` once at `timeMs` (ms, same origin as {@link now}), or at `now()` if that is later.
   * @throws RangeError if `timeMs` is not a finite number.
   */
  at(timeMs: number, fn: () => void): TimerId;
  /** Stops a callback that has not run yet; does nothing if it already ran or was cancelled. */
  cancel(id: TimerId): void;
}

interface Entry {
  readonly timeMs: number;
  readonly id: TimerId;
  readonly fn: () => void;
}

/** A binary min-heap of callbacks ordered by (timeMs, id); ids grow with each push. */
class EventQueue {
  private readonly heap: Entry[] = [];
  /** Ids pushed and neither popped nor cancelled. Cancelled entries leave the heap lazily. */
  private readonly live = new Set<TimerId>();
  private nextId = 1;

  get size(): number {
    return this.live.size;
  }

  push(timeMs: number, fn: () => void): TimerId {
    const id = this.nextId++;
    this.heap.push({ timeMs, id, fn });
    this.live.add(id);
    this.siftUp(this.heap.length - 1);
    return id;
  }

  cancel(id: TimerId): void {
    this.live.delete(id);
  }

  /** The time of the earliest live entry, or undefined when there is none. */
  peekTime(): number | undefined {
    this.dropCancelled();
    return this.heap[0]?.timeMs;
  }

  pop(): Entry | undefined {
    this.dropCancelled();
    const top = this.removeTop();
    if (top) this.live.delete(top.id);
    return top;
  }

  private dropCancelled(): void {
    while (this.heap.length > 0 && !this.live.has(this.heap[0].id)) this.removeTop();
  }

  private removeTop(): Entry | undefined {
    const top = this.heap[0];
    const last = this.heap.pop();
    if (this.heap.length > 0 && last) {
      this.heap[0] = last;
      this.siftDown(0);
    }
    return top;
  }

  private before(a: Entry, b: Entry): boolean {
    return a.timeMs < b.timeMs || (a.timeMs === b.timeMs && a.id < b.id);
  }

  private siftUp(i: number): void {
    const h = this.heap;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(h[i], h[parent])) return;
      [h[i], h[parent]] = [h[parent], h[i]];
      i = parent;
    }
  }

  private siftDown(i: number): void {
    const h = this.heap;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let least = i;
      if (left < h.length && this.before(h[left], h[least])) least = left;
      if (right < h.length && this.before(h[right], h[least])) least = right;
      if (least === i) return;
      [h[i], h[least]] = [h[least], h[i]];
      i = least;
    }
  }
}

function checkTime(timeMs: number): void {
  if (!Number.isFinite(timeMs)) throw new RangeError(`time must be a finite number of ms`);
}

/**
 * Simulated time for tests: nothing happens until the test runs events, and then time jumps
 * straight to each event, so a minute of network traffic takes milliseconds and every run with
 * the same inputs is identical. An exception thrown by a callback propagates out of the `run*`
 * method that ran it; the callback is already removed and the clock stays usable.
 */
export class VirtualClock implements Scheduler {
  private nowMs: number;
  private readonly queue = new EventQueue();

  /**
   * @param startMs the initial time in ms (default 0).
   * @throws RangeError if `startMs` is not finite.
   */
  constructor(startMs = 0) {
    checkTime(startMs);
    this.nowMs = startMs;
  }

  /** The current virtual time in ms. */
  now(): number {
    return this.nowMs;
  }

  /** {@inheritDoc Scheduler.at} */
  at(timeMs: number, fn: () => void): TimerId {
    checkTime(timeMs);
    return this.queue.push(Math.max(timeMs, this.nowMs), fn);
  }

  /** {@inheritDoc Scheduler.cancel} */
  cancel(id: TimerId): void {
    this.queue.cancel(id);
  }

  /** How many callbacks are scheduled and not yet run or cancelled. */
  get pending(): number {
    return this.queue.size;
  }

  /**
   * Advances time to the earliest scheduled callback and runs it.
   * @returns false if nothing was scheduled (time does not move).
   */
  runNext(): boolean {
    const entry = this.queue.pop();
    if (!entry) return false;
    this.nowMs = entry.timeMs;
    entry.fn();
    return true;
  }

  /**
   * Runs every callback due at or before `tMs` (including those that callbacks schedule within
   * that window), then sets the time to `tMs`. A `tMs` in the past runs what is due now and
   * leaves the time unchanged: time never goes backwards.
   * @returns the number of callbacks run.
   * @throws RangeError if `tMs` is not finite.
   */
  runUntil(tMs: number): number {
    checkTime(tMs);
    let ran = 0;
    for (;;) {
      const next = this.queue.peekTime();
      if (next === undefined || next > tMs) break;
      this.runNext();
      ran++;
    }
    this.nowMs = Math.max(this.nowMs, tMs);
    return ran;
  }

  /**
   * Runs callbacks until none is left.
   * @param maxEvents guard against callbacks that keep rescheduling themselves (default 1e6).
   * @returns the number of callbacks run.
   * @throws Error if more than `maxEvents` callbacks would run.
   */
  runAll(maxEvents = 1_000_000): number {
    let ran = 0;
    while (this.queue.size > 0) {
      if (ran >= maxEvents) throw new Error(`VirtualClock.runAll: more than ${maxEvents} events`);
      this.runNext();
      ran++;
    }
    return ran;
  }
}

/**
 * Wall-clock time for headless bots: `performance.now()` and one `setTimeout` armed for the
 * earliest callback. Keeping its own queue (rather than one timer per callback) gives it the
 * same ordering guarantee as {@link VirtualClock}, which Node's timers alone do not (they round
 * to whole ms and may fire a fraction early). A callback that throws becomes an uncaught
 * exception, as with `setTimeout`; the clock re-arms for the rest.
 */
export class RealClock implements Scheduler {
  private readonly queue = new EventQueue();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private armedForMs = Number.POSITIVE_INFINITY;

  /** `performance.now()`: ms since the process (or page) started. */
  now(): number {
    return performance.now(); // clock-ok: the harness's real clock
  }

  /** {@inheritDoc Scheduler.at} */
  at(timeMs: number, fn: () => void): TimerId {
    checkTime(timeMs);
    const id = this.queue.push(Math.max(timeMs, this.now()), fn);
    this.arm();
    return id;
  }

  /** {@inheritDoc Scheduler.cancel} */
  cancel(id: TimerId): void {
    this.queue.cancel(id);
    if (this.queue.size === 0) this.disarm();
  }

  /** How many callbacks are scheduled and not yet run or cancelled. */
  get pending(): number {
    return this.queue.size;
  }

  private arm(): void {
    const next = this.queue.peekTime();
    if (next === undefined) {
      this.disarm();
      return;
    }
    if (this.timer !== undefined && this.armedForMs <= next) return;
    this.disarm();
    this.armedForMs = next;
    this.timer = setTimeout(() => this.fire(), Math.max(0, next - this.now()));
  }

  private disarm(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.armedForMs = Number.POSITIVE_INFINITY;
  }

  private fire(): void {
    this.timer = undefined;
    this.armedForMs = Number.POSITIVE_INFINITY;
    const nowMs = this.now();
    try {
      for (;;) {
        const next = this.queue.peekTime();
        if (next === undefined || next > nowMs) break;
        this.queue.pop()?.fn();
      }
    } finally {
      this.arm();
    }
  }
}
