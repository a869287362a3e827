/**
 * The state of a {@link Prng}: four unsigned 32-bit words. Lives inside a sim's snapshot so that
 * a rollback or replay draws the same numbers again.
 */
export type PrngState = readonly [number, number, number, number];

/** splitmix32: spreads one 32-bit seed over the generator's words. */
function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/**
 * A seeded pseudo-random generator for sims: xoshiro128** (Blackman and Vigna), integer
 * arithmetic only, so every engine draws the same sequence. A sim never uses unseeded randomness.
 */
export class Prng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  private constructor(state: PrngState) {
    [this.a, this.b, this.c, this.d] = state;
  }

  /** A generator seeded from a 32-bit integer seed (other numbers are truncated to 32 bits). */
  static fromSeed(seed: number): Prng {
    const next = splitmix32(seed);
    return new Prng([next(), next(), next(), next()]);
  }

  /** A generator that continues from a saved state. */
  static fromState(state: PrngState): Prng {
    return new Prng(state);
  }

  /** The current state, to put in a snapshot. */
  state(): PrngState {
    return [this.a, this.b, this.c, this.d];
  }

  /** Restores a state taken with {@link state}. */
  setState(state: PrngState): void {
    [this.a, this.b, this.c, this.d] = state;
  }

  /** The next unsigned 32-bit integer. */
  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    this.a >>>= 0;
    this.b >>>= 0;
    this.c >>>= 0;
    this.d >>>= 0;
    return result;
  }

  /**
   * An integer in [0, n), for 1 <= n <= 2^21 (the product with a 32-bit draw stays exact in a
   * double, so the result is the same in every engine).
   */
  nextInt(n: number): number {
    return Math.floor((this.nextU32() * n) / 4294967296);
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
