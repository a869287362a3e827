import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Prng } from './prng.ts';

const seed = fc.integer({ min: 0, max: 0xffffffff });

function draws(prng: Prng, n: number): number[] {
  return Array.from({ length: n }, () => prng.nextU32());
}

describe('Prng', () => {
  it('matches the xoshiro128** reference output for state {1, 2, 3, 4}', () => {
    const prng = Prng.fromState([1, 2, 3, 4]);
    expect(draws(prng, 10)).toEqual([
      11520, 0, 5927040, 70819200, 2031721883, 1637235492, 1287239034, 3734860849, 3729100597,
      4258142804,
    ]);
  });

  it('keeps its seeding for a fixed seed', () => {
    const prng = Prng.fromSeed(12345);
    expect(prng.state()).toEqual([1200724404, 818072533, 996137225, 2397394836]);
    expect(draws(prng, 3)).toEqual([518667457, 440444462, 4232892992]);
  });

  it('gives the same sequence for the same seed and different ones for different seeds', () => {
    fc.assert(
      fc.property(seed, seed, (a, b) => {
        expect(draws(Prng.fromSeed(a), 20)).toEqual(draws(Prng.fromSeed(a), 20));
        if (a !== b) expect(draws(Prng.fromSeed(a), 4)).not.toEqual(draws(Prng.fromSeed(b), 4));
      }),
    );
  });

  it('continues the sequence from a saved state', () => {
    fc.assert(
      fc.property(seed, fc.nat(50), (s, skip) => {
        const prng = Prng.fromSeed(s);
        draws(prng, skip);
        const state = prng.state();
        const rest = draws(prng, 20);
        expect(draws(Prng.fromState(state), 20)).toEqual(rest);
        const other = Prng.fromSeed(s ^ 1);
        other.setState(state);
        expect(draws(other, 20)).toEqual(rest);
      }),
    );
  });

  it('state() is a copy that later draws do not change', () => {
    const prng = Prng.fromSeed(7);
    const state = prng.state();
    const copy = [...state];
    draws(prng, 5);
    expect(state).toEqual(copy);
  });

  it('draws unsigned 32-bit integers', () => {
    fc.assert(
      fc.property(seed, (s) => {
        for (const v of draws(Prng.fromSeed(s), 50)) {
          expect(Number.isInteger(v) && v >= 0 && v <= 0xffffffff).toBe(true);
        }
      }),
    );
  });

  it('nextInt(n) is an integer in [0, n)', () => {
    fc.assert(
      fc.property(seed, fc.integer({ min: 1, max: 2 ** 21 }), (s, n) => {
        const prng = Prng.fromSeed(s);
        for (let i = 0; i < 20; i++) {
          const v = prng.nextInt(n);
          expect(Number.isInteger(v) && v >= 0 && v < n).toBe(true);
        }
      }),
    );
    const one = Prng.fromSeed(3);
    for (let i = 0; i < 10; i++) expect(one.nextInt(1)).toBe(0);
  });

  it('nextInt spreads evenly', () => {
    const prng = Prng.fromSeed(99);
    const counts = new Array<number>(10).fill(0);
    for (let i = 0; i < 100_000; i++) counts[prng.nextInt(10)]++;
    for (const c of counts) expect(Math.abs(c - 10_000)).toBeLessThan(500);
  });
});
