import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { LinkImpairment } from './impaired-link.ts';
import { VirtualClock } from './scheduler.ts';
import { createMeshNetwork, createStarNetwork, type VirtualNetwork } from './virtual-network.ts';

interface Sent {
  readonly id: number;
  readonly from: number;
  /** undefined: broadcast. */
  readonly to: number | undefined;
  readonly atMs: number;
}

interface Received {
  readonly id: number;
  readonly from: number;
  readonly to: number;
  readonly atMs: number;
}

const impairmentArb: fc.Arbitrary<LinkImpairment> = fc.record({
  latencyMs: fc.integer({ min: 0, max: 150 }),
  jitterMs: fc.integer({ min: 0, max: 60 }),
  lossPct: fc.integer({ min: 0, max: 30 }),
});

const scenarioArb = fc.integer({ min: 2, max: 4 }).chain((peers) =>
  fc.record({
    peers: fc.constant(peers),
    impairments: fc.array(impairmentArb, { minLength: peers, maxLength: peers }),
    seed: fc.integer(),
    sends: fc.array(
      fc.record({
        from: fc.integer({ min: 0, max: peers - 1 }),
        to: fc.option(fc.integer({ min: 0, max: peers - 1 }), { nil: undefined }),
        atMs: fc.integer({ min: 0, max: 2000 }),
      }),
      { maxLength: 80 },
    ),
  }),
);

/** Schedules the sends, runs the clock to the end and returns what arrived. */
function exchange(
  build: (clock: VirtualClock, received: Received[]) => VirtualNetwork<number>,
  sends: readonly Omit<Sent, 'id'>[],
): { sent: Sent[]; received: Received[]; net: VirtualNetwork<number> } {
  const clock = new VirtualClock();
  const received: Received[] = [];
  const net = build(clock, received);
  const sent = sends.map((s, id) => ({
    ...s,
    id,
    to: s.to === s.from ? undefined : s.to,
  }));
  for (const s of sent) {
    clock.at(s.atMs, () => {
      if (s.to === undefined) net.send(s.from, s.id);
      else net.sendTo(s.from, s.to, s.id);
    });
  }
  clock.runAll();
  return { sent, received, net };
}

/** Every message reached every addressee exactly once, and each pair's messages kept their order. */
function expectExactlyOnceInOrder(peers: number, sent: Sent[], received: Received[]): void {
  const expected = sent
    .flatMap((s) =>
      Array.from({ length: peers }, (_, to) => to)
        .filter((to) => to !== s.from && (s.to === undefined || s.to === to))
        .map((to) => `${s.id}:${s.from}->${to}`),
    )
    .sort();
  expect(received.map((r) => `${r.id}:${r.from}->${r.to}`).sort()).toEqual(expected);
  const sendOrder = [...sent].sort((a, b) => a.atMs - b.atMs || a.id - b.id).map((s) => s.id);
  for (let from = 0; from < peers; from++) {
    for (let to = 0; to < peers; to++) {
      const got = received.filter((r) => r.from === from && r.to === to).map((r) => r.id);
      expect(got).toEqual(sendOrder.filter((id) => got.includes(id)));
    }
  }
}

describe('createStarNetwork', () => {
  it('delivers every message to every addressee exactly once, in order per pair', () => {
    fc.assert(
      fc.property(scenarioArb, ({ peers, impairments, seed, sends }) => {
        const { sent, received, net } = exchange(
          (clock, got) =>
            createStarNetwork<number>({
              peers,
              clock,
              seed,
              impairment: impairments,
              deliver: (to, from, id) => got.push({ id, from, to, atMs: clock.now() }),
            }),
          sends,
        );
        expectExactlyOnceInOrder(peers, sent, received);
        // A message crosses the sender's uplink and the addressee's downlink.
        const floor = (p: number) =>
          Math.max(0, impairments[p].latencyMs - impairments[p].jitterMs);
        for (const r of received) {
          expect(r.atMs).toBeGreaterThanOrEqual(sent[r.id].atMs + floor(r.from) + floor(r.to));
        }
        const { total, links } = net.stats();
        expect(links).toHaveLength(2 * peers);
        expect(total.inFlight).toBe(0);
        expect(total.delivered).toBe(sent.length + received.length);
      }),
    );
  });

  it('is reproducible from its seed', () => {
    const sends = Array.from({ length: 200 }, (_, i) => ({
      from: i % 3,
      to: undefined,
      atMs: i * 7,
    }));
    const impairment = { ordered: false, latencyMs: 60, jitterMs: 30, lossPct: 10, reorderPct: 10 };
    const once = (seed: number) =>
      exchange(
        (clock, got) =>
          createStarNetwork<number>({
            peers: 3,
            clock,
            seed,
            impairment,
            deliver: (to, from, id) => got.push({ id, from, to, atMs: clock.now() }),
          }),
        sends,
      ).received;
    expect(once(9)).toEqual(once(9));
    expect(once(9)).not.toEqual(once(10));
  });

  it('validates peers, indices and the impairment list', () => {
    const clock = new VirtualClock();
    const impairment = { latencyMs: 10, jitterMs: 0, lossPct: 0 };
    const deliver = () => {};
    expect(() => createStarNetwork({ peers: 0, clock, seed: 1, impairment, deliver })).toThrow(
      RangeError,
    );
    expect(() =>
      createStarNetwork({ peers: 3, clock, seed: 1, impairment: [impairment], deliver }),
    ).toThrow(/3 peers/);
    const net = createStarNetwork<number>({ peers: 2, clock, seed: 1, impairment, deliver });
    expect(() => net.send(2, 0)).toThrow(RangeError);
    expect(() => net.sendTo(1, 1, 0)).toThrow(/itself/);
  });

  it('close() stops every delivery', () => {
    const clock = new VirtualClock();
    const got: number[] = [];
    const net = createStarNetwork<number>({
      peers: 3,
      clock,
      seed: 1,
      impairment: { latencyMs: 10, jitterMs: 0, lossPct: 0 },
      deliver: (_to, _from, msg) => got.push(msg),
    });
    net.send(0, 1);
    clock.runUntil(15);
    net.close();
    clock.runAll();
    expect(got).toEqual([]);
    expect(net.stats().total).toMatchObject({ sent: 3, delivered: 1, dropped: 2, inFlight: 0 });
  });
});

describe('createMeshNetwork', () => {
  it('delivers every message to every addressee exactly once, in order per pair', () => {
    fc.assert(
      fc.property(scenarioArb, ({ peers, impairments, seed, sends }) => {
        const { sent, received, net } = exchange(
          (clock, got) =>
            createMeshNetwork<number>({
              peers,
              clock,
              seed,
              impairment: (from) => impairments[from],
              deliver: (to, from, id) => got.push({ id, from, to, atMs: clock.now() }),
            }),
          sends,
        );
        expectExactlyOnceInOrder(peers, sent, received);
        const { total, links } = net.stats();
        expect(links).toHaveLength(peers * (peers - 1));
        expect(total.delivered).toBe(received.length);
      }),
    );
  });
});
