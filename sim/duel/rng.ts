import { Prng } from '../prng.ts';
import { H_RNG } from './layout.ts';

/**
 * Draws an integer in [0, n) from the generator whose four words live in the state array, and
 * writes the advanced words back. Uses {@link Prng} itself, so the sequence is exactly Prng's.
 * Draws are rare (respawns, pickups), so building a Prng per draw costs nothing that matters.
 * @param n 1..2^21.
 */
export function drawInt(s: Int32Array, n: number): number {
  const prng = Prng.fromState([
    s[H_RNG] >>> 0,
    s[H_RNG + 1] >>> 0,
    s[H_RNG + 2] >>> 0,
    s[H_RNG + 3] >>> 0,
  ]);
  const value = prng.nextInt(n);
  const next = prng.state();
  s[H_RNG] = next[0];
  s[H_RNG + 1] = next[1];
  s[H_RNG + 2] = next[2];
  s[H_RNG + 3] = next[3];
  return value;
}
