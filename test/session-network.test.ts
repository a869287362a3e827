import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import type { LinkImpairment } from '../client/net/index.ts';
import { duel, type Input, initStateHash, randomDuelInput } from '../sim/index.ts';
import { MixSim } from './support/mix-sim.ts';
import { compareWithReference, runVirtualMatch } from './support/virtual-match.ts';

beforeAll(initStateHash);

/** A seeded input stream: the same (seed, slot, frame) always gives the same input. */
function inputStream(seed: number) {
  return (slot: number, frame: number): Input => {
    let h = Math.imul(seed ^ Math.imul(slot + 1, 0x9e3779b1), 0x85ebca6b) ^ frame;
    h = Math.imul(h ^ (h >>> 15), 0xc2b2ae35);
    // Hold each input for a few frames, as people do, so that predictions are sometimes right.
    h = Math.imul((h ^ Math.floor(frame / 6)) >>> 0, 0x27d4eb2d) >>> 0;
    return randomDuelInput(
      Math.floor(frame / 6) % 3 === 0 ? h : Math.imul(seed ^ slot, 0x9e3779b1) >>> 0,
    );
  };
}

const impairmentArb: fc.Arbitrary<LinkImpairment> = fc.record({
  latencyMs: fc.integer({ min: 0, max: 125 }),
  jitterMs: fc.integer({ min: 0, max: 40 }),
  lossPct: fc.double({ min: 0, max: 10, noNaN: true }),
});

const scheduleArb = fc.record({
  players: fc.integer({ min: 2, max: 4 }),
  seed: fc.integer({ min: 0, max: 0x7fffffff }),
  // Each peer's own path to the relay: one-way latency 0-125 ms per leg, so peer to peer 0-250 ms.
  paths: fc.array(impairmentArb, { minLength: 4, maxLength: 4 }),
  mode: fc.constantFrom('rollback', 'rollback', 'rollback', 'lockstep') as fc.Arbitrary<
    'rollback' | 'lockstep'
  >,
  saveStrategy: fc.constantFrom('ring', 'sparse') as fc.Arbitrary<'ring' | 'sparse'>,
  inputDelay: fc.integer({ min: 0, max: 4 }),
  maxPredictionWindow: fc.integer({ min: 2, max: 8 }),
  clockRates: fc.array(fc.double({ min: 0.98, max: 1.02, noNaN: true }), {
    minLength: 4,
    maxLength: 4,
  }),
  startMs: fc.array(fc.integer({ min: 0, max: 300 }), { minLength: 4, maxLength: 4 }),
});

const FRAMES = 600;
const RUNS = Number(process.env.CONCORD_SCHEDULES ?? 100);

describe('sync session under random impaired networks', () => {
  it(`${RUNS} random schedules of ${FRAMES} frames: every confirmed hash equals the lockstep reference`, () => {
    let totalRollbacks = 0;
    fc.assert(
      fc.property(scheduleArb, (s) => {
        const makeSim = () => duel.create({ players: s.players, seed: s.seed });
        const result = runVirtualMatch({
          players: s.players,
          makeSim,
          frames: FRAMES,
          seed: s.seed,
          impairment: s.paths.slice(0, s.players),
          inputFor: inputStream(s.seed),
          mode: s.mode,
          saveStrategy: s.saveStrategy,
          inputDelay: s.inputDelay,
          maxPredictionWindow: s.maxPredictionWindow,
          clockRates: s.clockRates,
          startMs: s.startMs,
        });
        expect(result.finished).toBe(true);
        const { mismatches, compared } = compareWithReference(result, makeSim, FRAMES);
        expect(mismatches).toEqual([]);
        expect(compared).toBe((FRAMES + 1) * s.players);
        for (const p of result.peers) {
          const st = p.session.stats();
          expect(st.maxPredictedFrames).toBeLessThanOrEqual(p.session.maxPredictionWindow);
          if (s.mode === 'lockstep') expect(st.rollbacks).toBe(0);
          totalRollbacks += st.rollbacks;
        }
      }),
      { numRuns: RUNS, seed: Number(process.env.CONCORD_SEED ?? 20261121) },
    );
    // The schedules must actually exercise rollback, or the test proves nothing.
    expect(totalRollbacks).toBeGreaterThan(RUNS);
  });

  it('the reference check catches a peer whose copy diverged', () => {
    const makeSim = () => new MixSim(2);
    const result = runVirtualMatch({
      players: 2,
      makeSim,
      frames: 120,
      seed: 7,
      impairment: { latencyMs: 40, jitterMs: 10, lossPct: 2 },
      inputFor: inputStream(7),
    });
    expect(result.finished).toBe(true);
    expect(compareWithReference(result, makeSim, 120).mismatches).toEqual([]);
    // Damage peer 1's hash record of one frame: the comparison must name it.
    const damaged = result.peers[1].session;
    damaged.recordHashes([{ frame: 50, hash: '0000000000000000', state: new Uint8Array() }]);
    expect(compareWithReference(result, makeSim, 120).mismatches).toEqual([
      expect.stringContaining('peer 1 frame 50'),
    ]);
  });

  it('time sync: a peer that starts late is caught up to, within two frames', () => {
    const makeSim = () => new MixSim(2);
    const result = runVirtualMatch({
      players: 2,
      makeSim,
      frames: 900,
      seed: 3,
      impairment: { latencyMs: 10, jitterMs: 5, lossPct: 0 },
      inputFor: inputStream(3),
      startMs: [0, 250],
      clockRates: [1, 1],
    });
    expect(result.finished).toBe(true);
    const a = result.peers[0].session;
    const b = result.peers[1].session;
    expect(Math.abs(a.frame - b.frame)).toBeLessThanOrEqual(2);
    expect(Math.abs(a.frameAdvantage())).toBeLessThan(2);
    // Without time sync the early peer stays ahead, as far as its prediction window allows.
    const unsynced = runVirtualMatch({
      players: 2,
      makeSim,
      frames: 900,
      seed: 3,
      impairment: { latencyMs: 10, jitterMs: 5, lossPct: 0 },
      inputFor: inputStream(3),
      startMs: [0, 250],
      clockRates: [1, 1],
      timeSync: false,
    });
    // and every rollback falls on it; time sync shares them out.
    const early = unsynced.peers[0].session;
    expect(early.frameAdvantage()).toBeGreaterThan(5);
    expect(early.frame - unsynced.peers[1].session.frame).toBeGreaterThan(5);
    expect(early.stats().rollbacks).toBeGreaterThan(50);
    expect(unsynced.peers[1].session.stats().rollbacks).toBe(0);
    expect(a.stats().rollbacks + b.stats().rollbacks).toBeLessThan(early.stats().rollbacks / 2);
  });
});
