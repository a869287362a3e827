/**
 * Seeded randomness for the impairment harness. It is separate from the sims' `Prng` on
 * purpose: the network's dice must never share state with a simulation, and splitmix32 is
 * plenty for sampling delays and losses.
 */

/** The splitmix32 finaliser: a bijective mix of one 32-bit word. */
function mix32(x: number): number {
  let z = x >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/**
 * A small seeded generator (splitmix32, as used to seed xoshiro): integer arithmetic only, so
 * the same seed gives the same draws in every engine.
 */
export class ImpairmentRng {
  private state: number;

  /** @param seed any number; only its low 32 bits (`seed >>> 0`) matter. */
  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** The next unsigned 32-bit integer. */
  nextU32(): number {
    this.state = (this.state + 0x9e3779b9) >>> 0;
    return mix32(this.state);
  }

  /** A float in [0, 1), a multiple of 2^-32. */
  nextFloat(): number {
    return this.nextU32() / 4294967296;
  }

  /** True with probability `pct` / 100 (`pct` in [0, 100]). Always consumes one draw. */
  chancePct(pct: number): boolean {
    return this.nextFloat() * 100 < pct;
  }
}

/**
 * A seed for an independent stream `stream` (an integer, e.g. a link's index) derived from one
 * run seed, so that each link of a network gets its own dice and adding traffic on one link
 * does not change the draws of another.
 */
export function deriveSeed(seed: number, stream: number): number {
  return mix32((seed >>> 0) ^ mix32((stream >>> 0) + 0x632be5ab));
}
