/** Settings of {@link FixedTimestep}. */
export interface FixedTimestepOptions {
  /** Frames per second (1..240). */
  readonly tickRate: number;
  /** Most ticks one update may run to catch up after a slow display frame (default 8). */
  readonly maxTicksPerUpdate?: number;
  /**
   * Most time kept owed, in ms (default 1000). Beyond it the excess is counted in
   * {@link FixedTimestep.droppedMs}, never dropped silently: the session then runs behind its
   * peers and time sync or a resync brings it back.
   */
  readonly maxBacklogMs?: number;
}

/**
 * A fixed-timestep accumulator ("Fix Your Timestep!", Glenn Fiedler): turns display-frame
 * durations into whole ticks, catches up after a slow frame a bounded number of ticks per update
 * (keeping the rest owed for the next updates), and gives the interpolation fraction for drawing
 * between the last two states.
 */
export class FixedTimestep {
  readonly tickMs: number;
  private readonly maxTicks: number;
  private readonly maxBacklogMs: number;
  private accumulatorMs = 0;
  private stretch = 0;
  /** Time given up because the backlog exceeded `maxBacklogMs`, in ms. */
  droppedMs = 0;

  constructor(options: FixedTimestepOptions) {
    if (!(options.tickRate >= 1 && options.tickRate <= 240)) {
      throw new RangeError(`tickRate must be 1..240, got ${options.tickRate}`);
    }
    this.tickMs = 1000 / options.tickRate;
    this.maxTicks = options.maxTicksPerUpdate ?? 8;
    this.maxBacklogMs = options.maxBacklogMs ?? 1000;
  }

  /** Lengthens each tick by this fraction (0..0.5), the time-sync slowdown. */
  setSlowdown(fraction: number): void {
    this.stretch = Math.max(0, Math.min(0.5, fraction));
  }

  /** Adds `elapsedMs` of real time and returns how many ticks to run now. */
  update(elapsedMs: number): number {
    this.accumulatorMs += Math.max(0, elapsedMs);
    if (this.accumulatorMs > this.maxBacklogMs) {
      this.droppedMs += this.accumulatorMs - this.maxBacklogMs;
      this.accumulatorMs = this.maxBacklogMs;
    }
    const step = this.tickMs * (1 + this.stretch);
    let ticks = 0;
    while (this.accumulatorMs >= step && ticks < this.maxTicks) {
      this.accumulatorMs -= step;
      ticks++;
    }
    return ticks;
  }

  /** Time owed but not yet run, in ms. */
  get backlogMs(): number {
    return this.accumulatorMs;
  }

  /** Fraction (0..1) of the way from the last state to the next, for interpolated drawing. */
  get alpha(): number {
    return Math.min(1, this.accumulatorMs / (this.tickMs * (1 + this.stretch)));
  }
}

/**
 * Drift-free fixed timestep for a loop that owns its clock (the relay's sim host): the number of
 * frames due after `elapsedMs` since the loop's start at `tickRate` frames per second, computed
 * from the start every time and never by summing intervals, so timer lateness never accumulates.
 * A late wake-up steps every frame due at once.
 * @param elapsedMs time since frame 0 began, ms (negative: 0 frames)
 * @param tickRate frames per second, 1..240
 * @returns whole frames due: floor(elapsedMs × tickRate / 1000)
 */
export function framesDue(elapsedMs: number, tickRate: number): number {
  return elapsedMs <= 0 ? 0 : Math.floor((elapsedMs * tickRate) / 1000);
}

/**
 * When frame `frame` falls due on the loop of {@link framesDue}: `frame × 1000 / tickRate` ms
 * after its start.
 */
export function frameDueAtMs(frame: number, tickRate: number): number {
  return (frame * 1000) / tickRate;
}
