import { ImpairmentRng } from './rng.ts';
import type { Scheduler, TimerId } from './scheduler.ts';

/**
 * How bad one direction of a network path is. The knobs follow fortress-rollback's
 * `ChaosSocket` (latency, jitter, loss, duplication, reorder, seed; its burst loss is not
 * modelled yet). All times in ms, all probabilities in percent [0, 100].
 */
export interface LinkImpairment {
  /** Base one-way delay, ms (>= 0). */
  readonly latencyMs: number;
  /**
   * Each message's delay is `latencyMs` plus a uniform sample in [-jitterMs, +jitterMs],
   * clamped at 0. ms (>= 0).
   */
  readonly jitterMs: number;
  /**
   * Chance that one transmission of a message is lost, percent. Ordered links retransmit it
   * (the application sees delay, not loss); unordered links drop it.
   */
  readonly lossPct: number;
  /**
   * true (default): a reliable ordered stream, TCP as the application sees it, which is what
   * socket.io gives. false: datagrams (UDP, WebRTC unreliable channels) for future transports
   * and robustness tests.
   */
  readonly ordered?: boolean;
  /**
   * Ordered links only: the retransmission timeout before a lost segment is sent again, ms
   * (> 0). Each further loss of the same segment doubles it (RFC 6298 §5.5), up to
   * {@link MAX_RETRANSMISSIONS}. Default `max(200, 2·latencyMs + 4·jitterMs)`: RFC 6298's
   * SRTT + 4·RTTVAR with SRTT ≈ the round trip and RTTVAR ≈ the jitter, floored at Linux's
   * 200 ms minimum RTO. Only timeouts are modelled, not fast retransmit: a game's thin stream
   * of small messages rarely has the three segments in flight that fast retransmit needs.
   */
  readonly rtoMs?: number;
  /**
   * Unordered links only: chance that a delivered message arrives a second time, with its own
   * independently sampled delay, percent. Default 0. Must be 0 on ordered links (TCP never
   * shows the application a duplicate).
   */
  readonly duplicatePct?: number;
  /**
   * Unordered links only: chance that a message is held back an extra `reorderDelayMs`, so
   * that later messages overtake it, percent. Default 0. Must be 0 on ordered links. (Jitter
   * larger than the gap between sends also reorders unordered messages, as on the internet.)
   */
  readonly reorderPct?: number;
  /**
   * Unordered links only: the extra delay of a reordered message, ms (>= 0).
   * Default `max(1, latencyMs)`.
   */
  readonly reorderDelayMs?: number;
}

/** A {@link LinkImpairment} with every default filled in. */
export type ResolvedImpairment = Required<LinkImpairment>;

/**
 * How many times an ordered link retransmits one segment at most. Real TCP backs off longer
 * before resetting the connection (Linux's `tcp_retries2` is 15, many minutes), but six
 * backoffs (63 RTOs, >= 12.6 s) are already far past what any game tolerates; the harness
 * delivers after the last one, so ordered links never lose data.
 */
export const MAX_RETRANSMISSIONS = 6;

/**
 * Checks an impairment and fills in its defaults.
 * @throws RangeError if a time is negative or not finite, a percentage is outside [0, 100],
 *   `rtoMs` is not positive, or an ordered link asks for duplication or reorder.
 */
export function resolveImpairment(impairment: LinkImpairment): ResolvedImpairment {
  const { latencyMs, jitterMs, lossPct } = impairment;
  const r: ResolvedImpairment = {
    latencyMs,
    jitterMs,
    lossPct,
    ordered: impairment.ordered ?? true,
    rtoMs: impairment.rtoMs ?? Math.max(200, 2 * latencyMs + 4 * jitterMs),
    duplicatePct: impairment.duplicatePct ?? 0,
    reorderPct: impairment.reorderPct ?? 0,
    reorderDelayMs: impairment.reorderDelayMs ?? Math.max(1, latencyMs),
  };
  for (const key of ['latencyMs', 'jitterMs', 'rtoMs', 'reorderDelayMs'] as const) {
    if (!(Number.isFinite(r[key]) && r[key] >= 0)) {
      throw new RangeError(`${key} must be a finite number >= 0, got ${r[key]}`);
    }
  }
  if (r.rtoMs === 0) throw new RangeError('rtoMs must be > 0');
  for (const key of ['lossPct', 'duplicatePct', 'reorderPct'] as const) {
    if (!(r[key] >= 0 && r[key] <= 100)) {
      throw new RangeError(`${key} must be in [0, 100], got ${r[key]}`);
    }
  }
  if (r.ordered && (r.duplicatePct > 0 || r.reorderPct > 0)) {
    throw new RangeError('an ordered link cannot duplicate or reorder (TCP does neither)');
  }
  return r;
}

/**
 * Counters of one {@link ImpairedLink}. Always
 * `sent + duplicated = delivered + dropped + inFlight`.
 */
export interface LinkStats {
  /** Messages passed to `send`. */
  readonly sent: number;
  /** Calls of the receiver, duplicates included. */
  readonly delivered: number;
  /** Ordered links: transmissions lost and retransmitted (a segment lost twice counts 2). */
  readonly lost: number;
  /** Messages that will never arrive: lost on an unordered link, or cut off by `close`. */
  readonly dropped: number;
  /** Unordered links: extra copies scheduled. */
  readonly duplicated: number;
  /** Unordered links: messages held back by `reorderPct`. */
  readonly reordered: number;
  /** Deliveries scheduled and not yet made. */
  readonly inFlight: number;
}

/** Options of {@link ImpairedLink}. */
export interface ImpairedLinkOptions<T> {
  /** Where time comes from: a `VirtualClock` in tests, a `RealClock` over real sockets. */
  readonly clock: Scheduler;
  /** How bad the link is; see {@link LinkImpairment}. */
  readonly impairment: LinkImpairment;
  /** Seed of the link's dice (low 32 bits used). Same seed and same sends: same schedule. */
  readonly seed: number;
  /** The receiver; can also be given later with {@link ImpairedLink.connect}. */
  readonly deliver?: (msg: T) => void;
}

/**
 * One direction of an impaired network path: `send` now, the receiver gets the message later
 * (or never, or twice), as {@link LinkImpairment} says. Messages are passed by reference, not
 * copied.
 *
 * Each `send` draws a fixed number of random values whatever the outcome (common random
 * numbers), so two runs with the same seed that differ only in, say, `lossPct` see the same
 * jitter samples, and the schedule is a pure function of (seed, impairment, send times).
 */
export class ImpairedLink<T> {
  /** The impairment in force, defaults filled in. */
  readonly impairment: ResolvedImpairment;
  private readonly clock: Scheduler;
  private readonly rng: ImpairmentRng;
  private receiver: ((msg: T) => void) | undefined;
  private readonly timers = new Set<TimerId>();
  /** Ordered links: when the previous message is delivered; later ones wait for it. */
  private lastDeliveryMs = Number.NEGATIVE_INFINITY;
  private isClosed = false;
  private counts = { sent: 0, delivered: 0, lost: 0, dropped: 0, duplicated: 0, reordered: 0 };

  /** @throws RangeError from {@link resolveImpairment}. */
  constructor(options: ImpairedLinkOptions<T>) {
    this.impairment = resolveImpairment(options.impairment);
    this.clock = options.clock;
    this.rng = new ImpairmentRng(options.seed);
    this.receiver = options.deliver;
  }

  /** Sets (or replaces) the receiver; deliveries already scheduled go to the new one. */
  connect(deliver: (msg: T) => void): void {
    this.receiver = deliver;
  }

  /** Whether {@link close} was called. */
  get closed(): boolean {
    return this.isClosed;
  }

  /**
   * Sends one message; the receiver gets it after the sampled delay. After {@link close} the
   * message is counted as dropped and goes nowhere, like a write to a dead connection.
   * @throws Error if no receiver was given.
   */
  send(msg: T): void {
    if (!this.receiver) throw new Error('ImpairedLink.send: no receiver; call connect first');
    this.counts.sent++;
    if (this.isClosed) {
      this.counts.dropped++;
      return;
    }
    if (this.impairment.ordered) this.sendOrdered(msg);
    else this.sendUnordered(msg);
  }

  /** A snapshot of the counters. */
  stats(): LinkStats {
    return { ...this.counts, inFlight: this.timers.size };
  }

  /** Cancels every delivery not yet made (counted as dropped) and drops all later sends. */
  close(): void {
    this.isClosed = true;
    for (const id of this.timers) this.clock.cancel(id);
    this.counts.dropped += this.timers.size;
    this.timers.clear();
  }

  private sendOrdered(msg: T): void {
    const { lossPct, rtoMs } = this.impairment;
    const delayMs = this.sampleDelay(this.rng.nextFloat());
    // Draw every possible retransmission so each send uses the same number of draws.
    let losses = 0;
    let stillLosing = true;
    for (let i = 0; i < MAX_RETRANSMISSIONS; i++) {
      stillLosing = this.rng.chancePct(lossPct) && stillLosing;
      if (stillLosing) losses++;
    }
    this.counts.lost += losses;
    // Backoff doubles: the k-th retransmission leaves rto·(2^k − 1) after the first send.
    const retransmitMs = rtoMs * (2 ** losses - 1);
    // Head-of-line blocking: nothing overtakes an earlier message.
    const atMs = Math.max(this.clock.now() + retransmitMs + delayMs, this.lastDeliveryMs);
    this.lastDeliveryMs = atMs;
    this.schedule(atMs, msg);
  }

  private sendUnordered(msg: T): void {
    const { lossPct, duplicatePct, reorderPct, reorderDelayMs } = this.impairment;
    const lose = this.rng.chancePct(lossPct);
    const delayMs = this.sampleDelay(this.rng.nextFloat());
    const reorder = this.rng.chancePct(reorderPct);
    const duplicate = this.rng.chancePct(duplicatePct);
    const copyDelayMs = this.sampleDelay(this.rng.nextFloat());
    if (lose) {
      this.counts.dropped++;
      return;
    }
    const nowMs = this.clock.now();
    if (reorder) this.counts.reordered++;
    this.schedule(nowMs + delayMs + (reorder ? reorderDelayMs : 0), msg);
    if (duplicate) {
      this.counts.duplicated++;
      this.schedule(nowMs + copyDelayMs, msg);
    }
  }

  /** latency + uniform jitter in [-jitter, +jitter), clamped at 0; `u` in [0, 1). */
  private sampleDelay(u: number): number {
    const { latencyMs, jitterMs } = this.impairment;
    return Math.max(0, latencyMs + (2 * u - 1) * jitterMs);
  }

  private schedule(atMs: number, msg: T): void {
    const id = this.clock.at(atMs, () => {
      this.timers.delete(id);
      this.counts.delivered++;
      this.receiver?.(msg);
    });
    this.timers.add(id);
  }
}
