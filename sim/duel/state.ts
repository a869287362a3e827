import { Prng } from '../prng.ts';
import { DUEL_ARENA, SPAWNS_Q8 } from './arena.ts';
import { Q8_ONE } from './fixed.ts';
import {
  H_FRAME,
  H_PICKUP_TIMER,
  H_PLAYERS,
  H_RNG,
  P_AIM_X,
  P_AIM_Y,
  P_COOLDOWN,
  P_HEALTH,
  P_INVULN,
  P_RAPID,
  P_RESPAWN,
  P_X,
  P_Y,
  playerBase,
  STATE_SIZE,
} from './layout.ts';
import { DUEL_RULES } from './rules.ts';

/**
 * Puts a player at spawn point `spawn` with full health, aiming at the arena's centre line, its
 * timers cleared. Score and deaths are kept.
 * @param invulnerable frames of spawn invulnerability.
 */
export function placeAtSpawn(
  s: Int32Array,
  slot: number,
  spawn: number,
  invulnerable: number,
): void {
  const b = playerBase(slot);
  const x = SPAWNS_Q8[spawn * 2];
  s[b + P_X] = x;
  s[b + P_Y] = SPAWNS_Q8[spawn * 2 + 1];
  s[b + P_AIM_X] = x < (DUEL_ARENA.width * Q8_ONE) / 2 ? Q8_ONE : -Q8_ONE;
  s[b + P_AIM_Y] = 0;
  s[b + P_HEALTH] = DUEL_RULES.maxHealth;
  s[b + P_RESPAWN] = 0;
  s[b + P_COOLDOWN] = 0;
  s[b + P_INVULN] = invulnerable;
  s[b + P_RAPID] = 0;
}

/**
 * The state at frame 0: player `p` at spawn point `p`, no projectiles, no pickups, the generator
 * seeded from `seed`. The caller checks the player count.
 */
export function createDuelState(players: number, seed: number): Int32Array {
  const s = new Int32Array(STATE_SIZE);
  s[H_FRAME] = 0;
  const rng = Prng.fromSeed(seed).state();
  for (let i = 0; i < 4; i++) s[H_RNG + i] = rng[i];
  s[H_PLAYERS] = players;
  s[H_PICKUP_TIMER] = DUEL_RULES.firstPickup;
  for (let p = 0; p < players; p++) placeAtSpawn(s, p, p, 0);
  return s;
}
