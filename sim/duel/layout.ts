/**
 * The layout of the duel state: one flat Int32Array, so that save is one `slice()` and load one
 * `set()`. Positions and velocities are Q8 fixed point; everything else is an integer count.
 *
 * ```
 * header    [frame, rng0..rng3, players, pickupTimer, collected]
 * players   MAX_PLAYERS blocks of PLAYER_SIZE (unused slots stay zero)
 * projectiles  maxProjectiles blocks of PROJ_SIZE (ttl 0 = free slot, all fields zero)
 * pickups   maxPickups blocks of PICKUP_SIZE (kind 0 = free slot, all fields zero)
 * ```
 */
import { DUEL_RULES } from './rules.ts';

/** Most players in a duel. */
export const MAX_PLAYERS = 4;
/** Fewest players in a duel. */
export const MIN_PLAYERS = 2;

/** Header: the frame number. */
export const H_FRAME = 0;
/** Header: the four xoshiro128** words (stored as int32; read with `>>> 0`). */
export const H_RNG = 1;
/** Header: the player count. */
export const H_PLAYERS = 5;
/** Header: frames until the next pickup spawn attempt (1..pickupInterval). */
export const H_PICKUP_TIMER = 6;
/** Header: pickups collected so far in the match. */
export const H_COLLECTED = 7;
/** Header size in int32 words. */
export const HEADER_SIZE = 8;

/** Player field: x, Q8. */
export const P_X = 0;
/** Player field: y, Q8. */
export const P_Y = 1;
/** Player field: aim x, a Q8 unit vector component (-256..256). */
export const P_AIM_X = 2;
/** Player field: aim y, a Q8 unit vector component (-256..256). */
export const P_AIM_Y = 3;
/** Player field: health, 0 when dead. */
export const P_HEALTH = 4;
/** Player field: kills. */
export const P_SCORE = 5;
/** Player field: deaths. */
export const P_DEATHS = 6;
/** Player field: frames until respawn, 0 while alive. */
export const P_RESPAWN = 7;
/** Player field: frames until the next shot may be fired. */
export const P_COOLDOWN = 8;
/** Player field: frames of spawn invulnerability left. */
export const P_INVULN = 9;
/** Player field: frames of rapid fire left. */
export const P_RAPID = 10;
/** Int32 words per player. */
export const PLAYER_SIZE = 11;
/** Offset of player slot 0. */
export const PLAYERS_OFFSET = HEADER_SIZE;

/** Projectile field: frames left to live; 0 marks a free slot. */
export const PR_TTL = 0;
/** Projectile field: x, Q8. */
export const PR_X = 1;
/** Projectile field: y, Q8. */
export const PR_Y = 2;
/** Projectile field: velocity x, Q8 per frame. */
export const PR_VX = 3;
/** Projectile field: velocity y, Q8 per frame. */
export const PR_VY = 4;
/** Projectile field: the slot of the player who fired it. */
export const PR_OWNER = 5;
/** Int32 words per projectile. */
export const PROJ_SIZE = 6;
/** Offset of projectile slot 0. */
export const PROJ_OFFSET = PLAYERS_OFFSET + MAX_PLAYERS * PLAYER_SIZE;

/** Pickup field: kind (PICKUP_HEALTH, PICKUP_RAPID_FIRE); 0 marks a free slot. */
export const PK_KIND = 0;
/** Pickup field: index into the arena's pickup spots. */
export const PK_SPOT = 1;
/** Int32 words per pickup. */
export const PICKUP_SIZE = 2;
/** Offset of pickup slot 0. */
export const PICKUP_OFFSET = PROJ_OFFSET + DUEL_RULES.maxProjectiles * PROJ_SIZE;

/** Length of the state array. */
export const STATE_SIZE = PICKUP_OFFSET + DUEL_RULES.maxPickups * PICKUP_SIZE;

/** Offset of a player's block. */
export function playerBase(slot: number): number {
  return PLAYERS_OFFSET + slot * PLAYER_SIZE;
}
