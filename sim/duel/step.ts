import type { Input } from '../input.ts';
import type { RewindView } from '../lag-compensation.ts';
import { DUEL_ARENA, PICKUP_SPOTS_Q8, SPAWNS_Q8 } from './arena.ts';
import { DUEL_BUTTONS } from './controls.ts';
import { divRound, lengthQ8, Q8_SHIFT } from './fixed.ts';
import {
  H_COLLECTED,
  H_FRAME,
  H_PICKUP_TIMER,
  H_PLAYERS,
  P_AIM_X,
  P_AIM_Y,
  P_COOLDOWN,
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
import { circlesTouch, moveCircleAxis, shotHitsWall } from './physics.ts';
import { drawInt } from './rng.ts';
import { DUEL_RULES, PICKUP_HEALTH, PICKUP_RAPID_FIRE } from './rules.ts';
import { placeAtSpawn } from './state.ts';

const R = DUEL_RULES;
const SPEED = R.playerSpeed << Q8_SHIFT;
// 181/256 ≈ 1/√2, so a diagonal is no faster than a straight line.
const DIAGONAL_SPEED = (SPEED * 181) >> 8;
const MUZZLE = R.playerRadius; // shots start on the player's rim: aim (Q8 unit) × units = Q8
const SHOT_REACH = (R.playerRadius + R.projectileRadius) << Q8_SHIFT;
const PICKUP_REACH = (R.playerRadius + R.pickupRadius) << Q8_SHIFT;
const SPAWN_COUNT = DUEL_ARENA.spawns.length;
const SPOT_COUNT = DUEL_ARENA.pickupSpots.length;
const SAFE_SQ = R.spawnSafeDistance * R.spawnSafeDistance; // world units²

/**
 * Advances the duel state `s` by one frame in place. Order: players in slot order (respawn or
 * timers, movement, aim, fire), then projectiles in pool order (move, walls, hits), then pickups
 * (collection, spawning), then the frame number.
 * @param inputs one valid {@link Input} per player (see `isValidInput`); not checked here.
 * @param rewind lag compensation (authoritative mode only): a projectile is tested against the
 *   other players where its owner saw them (`rewind.seenState(owner)`), favouring the shooter
 *   within the rewind cap, instead of where they are now. Absent: the step is unchanged.
 */
export function stepDuel(
  s: Int32Array,
  inputs: readonly Input[],
  rewind?: RewindView<Int32Array>,
): void {
  const players = s[H_PLAYERS];
  for (let p = 0; p < players; p++) stepPlayer(s, p, players, inputs[p]);
  stepProjectiles(s, players, rewind);
  stepPickups(s, players);
  s[H_FRAME] = s[H_FRAME] + 1;
}

function stepPlayer(s: Int32Array, p: number, players: number, input: Input): void {
  const b = PLAYERS_OFFSET + p * PLAYER_SIZE;
  if (s[b + P_HEALTH] === 0) {
    s[b + P_RESPAWN] = s[b + P_RESPAWN] - 1;
    if (s[b + P_RESPAWN] === 0)
      placeAtSpawn(s, p, chooseSpawn(s, p, players), R.spawnInvulnerability);
    return;
  }
  if (s[b + P_INVULN] > 0) s[b + P_INVULN] = s[b + P_INVULN] - 1;
  if (s[b + P_RAPID] > 0) s[b + P_RAPID] = s[b + P_RAPID] - 1;
  if (s[b + P_COOLDOWN] > 0) s[b + P_COOLDOWN] = s[b + P_COOLDOWN] - 1;

  const buttons = input.buttons;
  const mx = (buttons & DUEL_BUTTONS.right ? 1 : 0) - (buttons & DUEL_BUTTONS.left ? 1 : 0);
  const my = (buttons & DUEL_BUTTONS.down ? 1 : 0) - (buttons & DUEL_BUTTONS.up ? 1 : 0);
  const speed = mx !== 0 && my !== 0 ? DIAGONAL_SPEED : SPEED;
  if (mx !== 0) s[b + P_X] = moveCircleAxis(s[b + P_X], s[b + P_Y], 0, mx * speed);
  if (my !== 0) s[b + P_Y] = moveCircleAxis(s[b + P_Y], s[b + P_X], 1, my * speed);

  const ax = input.x;
  const ay = input.y;
  if (ax !== 0 || ay !== 0) {
    const len = lengthQ8(ax, ay);
    s[b + P_AIM_X] = divRound(ax * 65536, len);
    s[b + P_AIM_Y] = divRound(ay * 65536, len);
  }

  if ((buttons & DUEL_BUTTONS.fire) !== 0 && s[b + P_COOLDOWN] === 0) fire(s, p, b);
}

function fire(s: Int32Array, p: number, b: number): void {
  for (let i = 0; i < R.maxProjectiles; i++) {
    const q = PROJ_OFFSET + i * PROJ_SIZE;
    if (s[q + PR_TTL] !== 0) continue;
    const aimX = s[b + P_AIM_X];
    const aimY = s[b + P_AIM_Y];
    s[q + PR_TTL] = R.projectileTtl;
    s[q + PR_X] = s[b + P_X] + aimX * MUZZLE;
    s[q + PR_Y] = s[b + P_Y] + aimY * MUZZLE;
    s[q + PR_VX] = aimX * R.projectileSpeed;
    s[q + PR_VY] = aimY * R.projectileSpeed;
    s[q + PR_OWNER] = p;
    s[b + P_COOLDOWN] = s[b + P_RAPID] > 0 ? R.rapidFireCooldown : R.fireCooldown;
    return;
  }
  // Pool full: no shot, and the cooldown stays 0 so the player fires as soon as a slot frees.
}

/** A spawn point far from every living opponent, drawn from the PRNG; any point if none is far. */
function chooseSpawn(s: Int32Array, p: number, players: number): number {
  let safeMask = 0;
  let safeCount = 0;
  for (let k = 0; k < SPAWN_COUNT; k++) {
    // World units, so the squares stay small.
    const sx = SPAWNS_Q8[k * 2] >> Q8_SHIFT;
    const sy = SPAWNS_Q8[k * 2 + 1] >> Q8_SHIFT;
    let safe = true;
    for (let q = 0; q < players && safe; q++) {
      const qb = PLAYERS_OFFSET + q * PLAYER_SIZE;
      if (q === p || s[qb + P_HEALTH] === 0) continue;
      const dx = (s[qb + P_X] >> Q8_SHIFT) - sx;
      const dy = (s[qb + P_Y] >> Q8_SHIFT) - sy;
      if (dx * dx + dy * dy < SAFE_SQ) safe = false;
    }
    if (safe) {
      safeMask |= 1 << k;
      safeCount++;
    }
  }
  if (safeCount === 0) return drawInt(s, SPAWN_COUNT);
  let pick = drawInt(s, safeCount);
  for (let k = 0; k < SPAWN_COUNT; k++) {
    if ((safeMask & (1 << k)) === 0) continue;
    if (pick === 0) return k;
    pick--;
  }
  throw new Error('unreachable: safe spawn count and mask disagree');
}

function stepProjectiles(
  s: Int32Array,
  players: number,
  rewind: RewindView<Int32Array> | undefined,
): void {
  // The state each owner saw, looked up once per step (null: not looked up yet).
  const seen: (Int32Array | undefined | null)[] | undefined =
    rewind === undefined ? undefined : new Array(players).fill(null);
  for (let i = 0; i < R.maxProjectiles; i++) {
    const q = PROJ_OFFSET + i * PROJ_SIZE;
    const ttl = s[q + PR_TTL];
    if (ttl === 0) continue;
    const x = s[q + PR_X] + s[q + PR_VX];
    const y = s[q + PR_Y] + s[q + PR_VY];
    const owner = s[q + PR_OWNER];
    let past: Int32Array | undefined;
    if (seen !== undefined && rewind !== undefined) {
      if (seen[owner] === null) seen[owner] = rewind.seenState(owner);
      past = seen[owner] ?? undefined;
    }
    if (ttl === 1 || shotHitsWall(x, y) || hitPlayer(s, players, owner, x, y, past)) {
      s.fill(0, q, q + PROJ_SIZE);
      continue;
    }
    s[q + PR_TTL] = ttl - 1;
    s[q + PR_X] = x;
    s[q + PR_Y] = y;
  }
}

/**
 * Applies a hit at (x, y) to the first living player in slot order it touches; true if one was
 * hit. With `past` (lag compensation), a player is touched where it was in `past`, the state the
 * shot's owner saw, and must be alive then and now (Valve's rule: only the living are rewound).
 */
function hitPlayer(
  s: Int32Array,
  players: number,
  owner: number,
  x: number,
  y: number,
  past?: Int32Array,
): boolean {
  for (let p = 0; p < players; p++) {
    const b = PLAYERS_OFFSET + p * PLAYER_SIZE;
    if (p === owner || s[b + P_HEALTH] === 0) continue;
    const where = past === undefined ? s : past;
    if (where[b + P_HEALTH] === 0) continue;
    if (!circlesTouch(where[b + P_X], where[b + P_Y], x, y, SHOT_REACH)) continue;
    // A shot on a freshly spawned player is absorbed without damage.
    if (s[b + P_INVULN] > 0) return true;
    const health = s[b + P_HEALTH] - R.projectileDamage;
    if (health > 0) {
      s[b + P_HEALTH] = health;
      return true;
    }
    s[b + P_HEALTH] = 0;
    s[b + P_RESPAWN] = R.respawnDelay;
    s[b + P_DEATHS] = s[b + P_DEATHS] + 1;
    s[b + P_COOLDOWN] = 0;
    s[b + P_RAPID] = 0;
    const killer = PLAYERS_OFFSET + owner * PLAYER_SIZE;
    s[killer + P_SCORE] = s[killer + P_SCORE] + 1;
    return true;
  }
  return false;
}

function stepPickups(s: Int32Array, players: number): void {
  for (let k = 0; k < R.maxPickups; k++) {
    const q = PICKUP_OFFSET + k * PICKUP_SIZE;
    const kind = s[q + PK_KIND];
    if (kind === 0) continue;
    const spot = s[q + PK_SPOT];
    const x = PICKUP_SPOTS_Q8[spot * 2];
    const y = PICKUP_SPOTS_Q8[spot * 2 + 1];
    for (let p = 0; p < players; p++) {
      const b = PLAYERS_OFFSET + p * PLAYER_SIZE;
      const health = s[b + P_HEALTH];
      // Health pickups wait for someone who needs them.
      if (health === 0 || (kind === PICKUP_HEALTH && health >= R.maxHealth)) continue;
      if (!circlesTouch(s[b + P_X], s[b + P_Y], x, y, PICKUP_REACH)) continue;
      if (kind === PICKUP_HEALTH) s[b + P_HEALTH] = Math.min(R.maxHealth, health + R.healthPickup);
      else s[b + P_RAPID] = R.rapidFireDuration;
      s[H_COLLECTED] = s[H_COLLECTED] + 1;
      s.fill(0, q, q + PICKUP_SIZE);
      break;
    }
  }
  const timer = s[H_PICKUP_TIMER] - 1;
  if (timer > 0) {
    s[H_PICKUP_TIMER] = timer;
    return;
  }
  s[H_PICKUP_TIMER] = R.pickupInterval;
  spawnPickup(s);
}

/** Puts a pickup of a random kind on a random unoccupied spot, if a pickup slot is free. */
function spawnPickup(s: Int32Array): void {
  let slot = -1;
  let used = 0;
  for (let k = 0; k < R.maxPickups; k++) {
    const q = PICKUP_OFFSET + k * PICKUP_SIZE;
    if (s[q + PK_KIND] === 0) {
      if (slot < 0) slot = q;
    } else {
      used |= 1 << s[q + PK_SPOT];
    }
  }
  const free = SPOT_COUNT - popcount(used);
  if (slot < 0 || free === 0) return;
  let pick = drawInt(s, free);
  for (let spot = 0; spot < SPOT_COUNT; spot++) {
    if ((used & (1 << spot)) !== 0) continue;
    if (pick-- > 0) continue;
    s[slot + PK_KIND] = drawInt(s, 2) === 0 ? PICKUP_HEALTH : PICKUP_RAPID_FIRE;
    s[slot + PK_SPOT] = spot;
    return;
  }
}

function popcount(mask: number): number {
  let n = 0;
  for (let m = mask; m !== 0; m &= m - 1) n++;
  return n;
}
