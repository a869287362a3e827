import { DUEL_ARENA } from './arena.ts';
import { Q8_ONE } from './fixed.ts';
import {
  H_COLLECTED,
  H_FRAME,
  H_PICKUP_TIMER,
  H_PLAYERS,
  P_AIM_X,
  P_AIM_Y,
  P_DEATHS,
  P_HEALTH,
  P_INVULN,
  P_RAPID,
  P_RESPAWN,
  P_SCORE,
  P_X,
  P_Y,
  PICKUP_OFFSET,
  PICKUP_SIZE,
  PK_KIND,
  PK_SPOT,
  PLAYER_SIZE,
  PLAYERS_OFFSET,
  PR_OWNER,
  PR_TTL,
  PR_VX,
  PR_VY,
  PR_X,
  PR_Y,
  PROJ_OFFSET,
  PROJ_SIZE,
} from './layout.ts';
import { DUEL_RULES, PICKUP_HEALTH } from './rules.ts';

/** One player as a renderer sees it. Positions in world units (fractional), y down. */
export interface DuelPlayerView {
  /** The player's slot. */
  readonly slot: number;
  /** Centre, world units. While dead, where the player died. */
  readonly x: number;
  readonly y: number;
  /** Aim direction, a unit vector (each component -1..1). */
  readonly aimX: number;
  readonly aimY: number;
  /** 0..maxHealth; 0 while dead. */
  readonly health: number;
  /** Kills. */
  readonly score: number;
  /** Times this player has died. */
  readonly deaths: number;
  /** False from death until respawn. */
  readonly alive: boolean;
  /** Frames until respawn; 0 while alive. */
  readonly respawnIn: number;
  /** Frames of spawn invulnerability left (hits do no damage while > 0). */
  readonly invulnerableFor: number;
  /** Frames of rapid fire left. */
  readonly rapidFireFor: number;
}

/** One projectile in flight. */
export interface DuelProjectileView {
  /** Centre, world units. */
  readonly x: number;
  readonly y: number;
  /** Velocity, world units per frame (for drawing a trail or extrapolating). */
  readonly vx: number;
  readonly vy: number;
  /** Slot of the player who fired it. */
  readonly owner: number;
}

/** One pickup on the map. */
export interface DuelPickupView {
  /** Centre, world units. */
  readonly x: number;
  readonly y: number;
  readonly kind: 'health' | 'rapid-fire';
}

/** A read-only picture of a duel state for drawing and for humans; never fed back into a sim. */
export interface DuelView {
  readonly frame: number;
  /** In slot order. */
  readonly players: readonly DuelPlayerView[];
  /** In pool order. */
  readonly projectiles: readonly DuelProjectileView[];
  readonly pickups: readonly DuelPickupView[];
  /** Frames until the next pickup spawn attempt. */
  readonly nextPickupIn: number;
  /** Pickups collected so far in the match. */
  readonly pickupsCollected: number;
}

/**
 * Reads a duel snapshot (from `save()` or `decode()`) into plain objects for a renderer. Converts
 * fixed point to fractional world units; not for use inside a sim.
 */
export function duelView(snap: Int32Array): DuelView {
  const players: DuelPlayerView[] = [];
  for (let p = 0; p < snap[H_PLAYERS]; p++) {
    const b = PLAYERS_OFFSET + p * PLAYER_SIZE;
    players.push({
      slot: p,
      x: snap[b + P_X] / Q8_ONE,
      y: snap[b + P_Y] / Q8_ONE,
      aimX: snap[b + P_AIM_X] / Q8_ONE,
      aimY: snap[b + P_AIM_Y] / Q8_ONE,
      health: snap[b + P_HEALTH],
      score: snap[b + P_SCORE],
      deaths: snap[b + P_DEATHS],
      alive: snap[b + P_HEALTH] > 0,
      respawnIn: snap[b + P_RESPAWN],
      invulnerableFor: snap[b + P_INVULN],
      rapidFireFor: snap[b + P_RAPID],
    });
  }
  const projectiles: DuelProjectileView[] = [];
  for (let i = 0; i < DUEL_RULES.maxProjectiles; i++) {
    const q = PROJ_OFFSET + i * PROJ_SIZE;
    if (snap[q + PR_TTL] === 0) continue;
    projectiles.push({
      x: snap[q + PR_X] / Q8_ONE,
      y: snap[q + PR_Y] / Q8_ONE,
      vx: snap[q + PR_VX] / Q8_ONE,
      vy: snap[q + PR_VY] / Q8_ONE,
      owner: snap[q + PR_OWNER],
    });
  }
  const pickups: DuelPickupView[] = [];
  for (let k = 0; k < DUEL_RULES.maxPickups; k++) {
    const q = PICKUP_OFFSET + k * PICKUP_SIZE;
    if (snap[q + PK_KIND] === 0) continue;
    const spot = DUEL_ARENA.pickupSpots[snap[q + PK_SPOT]];
    pickups.push({
      x: spot.x,
      y: spot.y,
      kind: snap[q + PK_KIND] === PICKUP_HEALTH ? 'health' : 'rapid-fire',
    });
  }
  return {
    frame: snap[H_FRAME],
    players,
    projectiles,
    pickups,
    nextPickupIn: snap[H_PICKUP_TIMER],
    pickupsCollected: snap[H_COLLECTED],
  };
}
