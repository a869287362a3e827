import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ImpairedLink,
  type LinkImpairment,
  type LinkStats,
  MAX_RETRANSMISSIONS,
  resolveImpairment,
} from './impaired-link.ts';
import { VirtualClock } from './scheduler.ts';

interface Delivery {
  readonly msg: number;
  readonly atMs: number;
}

interface Run {
  readonly deliveries: Delivery[];
  /** Transmissions of message i that were lost (ordered links). */
  readonly losses: number[];
  readonly stats: LinkStats;
}

/** Sends message i at sendTimes[i] (non-decreasing) over a fresh link and runs to the end. */
function run(impairment: LinkImpairment, sendTimes: readonly number[], seed = 1): Run {
  const clock = new VirtualClock();
  const deliveries: Delivery[] = [];
  const losses: number[] = [];
  const link = new ImpairedLink<number>({
    clock,
    impairment,
    seed,
    deliver: (msg) => deliveries.push({ msg, atMs: clock.now() }),
  });
  sendTimes.forEach((t, i) => {
    clock.at(t, () => {
      const before = link.stats().lost;
      link.send(i);
      losses[i] = link.stats().lost - before;
    });
  });
  clock.runAll();
  return { deliveries, losses, stats: link.stats() };
}

function expectBalanced(s: LinkStats): void {
  expect(s.sent + s.duplicated).toBe(s.delivered + s.dropped + s.inFlight);
}

const sendTimesArb = fc
  .array(fc.integer({ min: 0, max: 300 }), { minLength: 1, maxLength: 60 })
  .map((gaps) => {
    let t = 0;
    return gaps.map((gap) => (t += gap));
  });

describe('resolveImpairment', () => {
  it('fills in defaults', () => {
    expect(resolveImpairment({ latencyMs: 30, jitterMs: 5, lossPct: 1 })).toEqual({
      latencyMs: 30,
      jitterMs: 5,
      lossPct: 1,
      ordered: true,
      rtoMs: 200,
      duplicatePct: 0,
      reorderPct: 0,
      reorderDelayMs: 30,
    });
    expect(resolveImpairment({ latencyMs: 100, jitterMs: 20, lossPct: 0 }).rtoMs).toBe(280);
  });

  it('rejects bad values and TCP-impossible combinations', () => {
    const ok = { latencyMs: 10, jitterMs: 0, lossPct: 0 };
    expect(() => resolveImpairment({ ...ok, latencyMs: -1 })).toThrow(RangeError);
    expect(() => resolveImpairment({ ...ok, jitterMs: Number.NaN })).toThrow(RangeError);
    expect(() => resolveImpairment({ ...ok, lossPct: 101 })).toThrow(RangeError);
    expect(() => resolveImpairment({ ...ok, rtoMs: 0 })).toThrow(RangeError);
    expect(() => resolveImpairment({ ...ok, duplicatePct: 5 })).toThrow(/ordered/);
    expect(() => resolveImpairment({ ...ok, reorderPct: 5 })).toThrow(/ordered/);
    expect(() => resolveImpairment({ ...ok, ordered: false, duplicatePct: 5 })).not.toThrow();
  });
});

describe('ImpairedLink, ordered', () => {
  it('delivers every message exactly once, in send order, no earlier than latency − jitter', () => {
    const impairmentArb = fc.record({
      latencyMs: fc.integer({ min: 0, max: 200 }),
      jitterMs: fc.double({ min: 0, max: 100, noNaN: true }),
      lossPct: fc.oneof(fc.constant(0), fc.double({ min: 0, max: 100, noNaN: true })),
      rtoMs: fc.option(fc.integer({ min: 1, max: 500 }), { nil: undefined }),
    });
    fc.assert(
      fc.property(impairmentArb, sendTimesArb, fc.integer(), (impairment, sendTimes, seed) => {
        const { rtoMs } = resolveImpairment(impairment);
        const { deliveries, losses, stats } = run(impairment, sendTimes, seed);
        expect(deliveries.map((d) => d.msg)).toEqual(sendTimes.map((_, i) => i));
        const floorMs = Math.max(0, impairment.latencyMs - impairment.jitterMs);
        deliveries.forEach(({ msg, atMs }, i) => {
          const k = losses[msg];
          expect(k).toBeLessThanOrEqual(MAX_RETRANSMISSIONS);
          // 1e-9: the link adds the same terms in another order, which may round differently.
          const earliestMs = sendTimes[msg] + floorMs + rtoMs * (2 ** k - 1) - 1e-9;
          expect(atMs).toBeGreaterThanOrEqual(earliestMs);
          if (i > 0) expect(atMs).toBeGreaterThanOrEqual(deliveries[i - 1].atMs);
        });
        expect(stats.delivered).toBe(sendTimes.length);
        expect(stats.dropped).toBe(0);
        expect(stats.inFlight).toBe(0);
        expect(stats.lost).toBe(losses.reduce((a, b) => a + b, 0));
        expectBalanced(stats);
      }),
    );
  });

  it('a loss delays the lost message by the RTO (with backoff) and blocks the ones behind it', () => {
    const impairment = { latencyMs: 50, jitterMs: 0, lossPct: 30, rtoMs: 200 };
    const sendTimes = Array.from({ length: 300 }, (_, i) => i * 10);
    const { deliveries, losses, stats } = run(impairment, sendTimes, 7);
    expect(stats.lost).toBeGreaterThan(0);
    let previousMs = Number.NEGATIVE_INFINITY;
    let blocked = 0;
    for (const { msg, atMs } of deliveries) {
      const ownMs = sendTimes[msg] + 50 + 200 * (2 ** losses[msg] - 1);
      // With no jitter the model is exact: own arrival, or the one before it if that is later.
      expect(atMs).toBe(Math.max(ownMs, previousMs));
      if (losses[msg] > 0) expect(atMs - sendTimes[msg]).toBeGreaterThanOrEqual(250);
      if (losses[msg] === 0 && atMs > ownMs) blocked++;
      previousMs = atMs;
    }
    expect(blocked).toBeGreaterThan(0);
  });

  it('with 100% loss still delivers, after the last backoff', () => {
    const { deliveries } = run({ latencyMs: 10, jitterMs: 0, lossPct: 100, rtoMs: 100 }, [0]);
    expect(deliveries).toEqual([{ msg: 0, atMs: 10 + 100 * (2 ** MAX_RETRANSMISSIONS - 1) }]);
  });
});

describe('ImpairedLink, unordered', () => {
  const n = 20_000;
  const everyMs = Array.from({ length: n }, (_, i) => i);

  it('drops about lossPct of the messages and delivers the rest once', () => {
    const { deliveries, stats } = run(
      { ordered: false, latencyMs: 30, jitterMs: 10, lossPct: 10 },
      everyMs,
      3,
    );
    // 10% of 20 000 has a standard deviation of 42 messages; 1% is almost 5 of them.
    expect(Math.abs(stats.dropped / n - 0.1)).toBeLessThan(0.01);
    expect(stats.lost).toBe(0);
    expect(deliveries.length).toBe(n - stats.dropped);
    expect(new Set(deliveries.map((d) => d.msg)).size).toBe(deliveries.length);
    expectBalanced(stats);
  });

  it('duplicates about duplicatePct of the messages, each copy with its own delay', () => {
    const { deliveries, stats } = run(
      { ordered: false, latencyMs: 30, jitterMs: 10, lossPct: 0, duplicatePct: 25 },
      everyMs,
      4,
    );
    expect(Math.abs(stats.duplicated / n - 0.25)).toBeLessThan(0.015);
    const copies = new Map<number, number[]>();
    for (const { msg, atMs } of deliveries) copies.set(msg, [...(copies.get(msg) ?? []), atMs]);
    expect(copies.size).toBe(n);
    const twice = [...copies.values()].filter((times) => times.length === 2);
    expect(twice.length).toBe(stats.duplicated);
    expect(twice.some(([a, b]) => a !== b)).toBe(true);
    expectBalanced(stats);
  });

  it('holds back about reorderPct of the messages so that later ones overtake them', () => {
    const { deliveries, stats } = run(
      { ordered: false, latencyMs: 20, jitterMs: 0, lossPct: 0, reorderPct: 20 },
      everyMs,
      5,
    );
    expect(Math.abs(stats.reordered / n - 0.2)).toBeLessThan(0.015);
    const late = deliveries.filter(({ msg, atMs }) => atMs - msg === 40);
    expect(late.length).toBe(stats.reordered);
    expect(deliveries.every(({ msg, atMs }) => atMs - msg === 20 || atMs - msg === 40)).toBe(true);
    const overtaken = deliveries.filter((d, i) => i > 0 && d.msg < deliveries[i - 1].msg);
    expect(overtaken.length).toBeGreaterThan(0);
  });
});

describe('ImpairedLink, determinism and lifecycle', () => {
  const impairment = {
    ordered: false,
    latencyMs: 40,
    jitterMs: 25,
    lossPct: 5,
    duplicatePct: 5,
    reorderPct: 5,
  };
  const sendTimes = Array.from({ length: 500 }, (_, i) => i * 3);

  it('gives the same delivery schedule for the same seed, another for another seed', () => {
    const a = run(impairment, sendTimes, 11);
    expect(run(impairment, sendTimes, 11)).toEqual(a);
    expect(run(impairment, sendTimes, 12).deliveries).not.toEqual(a.deliveries);
  });

  it('close() cancels what is in flight and drops later sends', () => {
    const clock = new VirtualClock();
    const got: number[] = [];
    const link = new ImpairedLink<number>({
      clock,
      impairment: { latencyMs: 100, jitterMs: 0, lossPct: 0 },
      seed: 1,
      deliver: (msg) => got.push(msg),
    });
    link.send(1);
    clock.runUntil(50);
    link.send(2);
    clock.runUntil(120);
    expect(got).toEqual([1]);
    expect(link.stats().inFlight).toBe(1);
    link.close();
    link.send(3);
    clock.runAll();
    expect(got).toEqual([1]);
    expect(link.closed).toBe(true);
    expect(link.stats()).toMatchObject({ sent: 3, delivered: 1, dropped: 2, inFlight: 0 });
    expect(clock.pending).toBe(0);
  });

  it('refuses to send before a receiver is connected', () => {
    const clock = new VirtualClock();
    const link = new ImpairedLink<string>({
      clock,
      impairment: { latencyMs: 1, jitterMs: 0, lossPct: 0 },
      seed: 1,
    });
    expect(() => link.send('x')).toThrow(/connect/);
    const got: string[] = [];
    link.connect((msg) => got.push(msg));
    link.send('x');
    clock.runAll();
    expect(got).toEqual(['x']);
  });
});
