/** Bits of fraction in a Q8 fixed-point value: `value = units * 256`. */
export const Q8_SHIFT = 8;

/** One world unit in Q8. */
export const Q8_ONE = 1 << Q8_SHIFT;

/**
 * The integer square root: the largest `r` with `r * r <= n`, by the digit-by-digit method, so
 * it is exact and the same in every engine (no `Math.sqrt`).
 * @param n an integer in 0..2^32-1 (values outside are not supported).
 */
export function isqrt(n: number): number {
  let rest = n;
  let root = 0;
  let bit = 0x40000000;
  while (bit > rest) bit >>>= 2;
  while (bit !== 0) {
    if (rest >= root + bit) {
      rest -= root + bit;
      root = (root >>> 1) + bit;
    } else {
      root >>>= 1;
    }
    bit >>>= 2;
  }
  return root;
}

/** The smallest `r` with `r * r >= n`, for `n` in 0..2^32-1. */
export function isqrtCeil(n: number): number {
  const r = isqrt(n);
  return r * r < n ? r + 1 : r;
}

// 256 × √m rounded down, for every m = x² + y² of an axis pair (m <= 2 × 128²). Built by one
// upward walk, since the root never decreases: about 80k integer steps at load.
const MAX_AXIS_SQ = 2 * 128 * 128;
const LENGTH_Q8 = new Uint16Array(MAX_AXIS_SQ + 1);
for (let m = 0, r = 0; m <= MAX_AXIS_SQ; m++) {
  while ((r + 1) * (r + 1) <= m * 65536) r++;
  LENGTH_Q8[m] = r;
}

/**
 * The length of an axis pair in Q8: `isqrt((x² + y²) * 65536)`, 256 × the Euclidean length
 * rounded down, from a table. Dividing a component scaled by 2^16 by it (see {@link divRound})
 * gives a Q8 unit vector component (-256..256; the vector's length is 256 ± 1).
 * @param x, y signed 8-bit integers (-128..127).
 */
export function lengthQ8(x: number, y: number): number {
  return LENGTH_Q8[x * x + y * y];
}

/**
 * `n / d` rounded to the nearest integer, halves away from zero, by integer division only.
 * @param n an integer with |2n + d| < 2^53.
 * @param d a positive integer.
 */
export function divRound(n: number, d: number): number {
  return n >= 0 ? Math.trunc((2 * n + d) / (2 * d)) : -Math.trunc((d - 2 * n) / (2 * d));
}
