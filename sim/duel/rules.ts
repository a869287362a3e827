/**
 * The gameplay numbers of the duel, in world units and frames (60 frames ≈ one second at the
 * default tick rate). Changing any of them changes every state hash: it is a new game version.
 */
export interface DuelRules {
  /** Player circle radius, world units. */
  readonly playerRadius: number;
  /** Movement per frame along one axis, world units (diagonals are scaled by 181/256). */
  readonly playerSpeed: number;
  /** Health at spawn and the most a health pickup restores to. */
  readonly maxHealth: number;
  /** Projectile radius, world units. */
  readonly projectileRadius: number;
  /** Projectile movement per frame, world units. */
  readonly projectileSpeed: number;
  /** Frames a projectile flies before it vanishes. */
  readonly projectileTtl: number;
  /** Health a hit removes. */
  readonly projectileDamage: number;
  /** Frames between shots. */
  readonly fireCooldown: number;
  /** Frames between shots while rapid fire lasts. */
  readonly rapidFireCooldown: number;
  /** Frames from death to respawn. */
  readonly respawnDelay: number;
  /** Frames after a respawn during which hits do no damage. */
  readonly spawnInvulnerability: number;
  /** Frames between pickup spawn attempts. */
  readonly pickupInterval: number;
  /** Frame of the first pickup spawn attempt. */
  readonly firstPickup: number;
  /** Pickup radius, world units. */
  readonly pickupRadius: number;
  /** Health a health pickup restores (capped at `maxHealth`). */
  readonly healthPickup: number;
  /** Frames rapid fire lasts. */
  readonly rapidFireDuration: number;
  /** Size of the projectile pool; a shot with no free slot is not fired. */
  readonly maxProjectiles: number;
  /** Most pickups on the map at once. */
  readonly maxPickups: number;
  /** A respawn prefers spawn points at least this far (world units) from every living player. */
  readonly spawnSafeDistance: number;
}

/** The duel's rules; see {@link DuelRules} for units. */
export const DUEL_RULES: DuelRules = Object.freeze({
  playerRadius: 14,
  playerSpeed: 3,
  maxHealth: 100,
  projectileRadius: 3,
  projectileSpeed: 7,
  projectileTtl: 70,
  projectileDamage: 25,
  fireCooldown: 12,
  rapidFireCooldown: 6,
  respawnDelay: 90,
  spawnInvulnerability: 60,
  pickupInterval: 240,
  firstPickup: 120,
  pickupRadius: 10,
  healthPickup: 40,
  rapidFireDuration: 300,
  maxProjectiles: 48,
  maxPickups: 3,
  spawnSafeDistance: 200,
});

/** Pickup kinds as stored in the state (0 marks a free pickup slot). */
export const PICKUP_HEALTH = 1;
/** See {@link PICKUP_HEALTH}. */
export const PICKUP_RAPID_FIRE = 2;
