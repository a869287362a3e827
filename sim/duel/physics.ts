import { DUEL_ARENA, WALL_BOXES, WALL_COUNT } from './arena.ts';
import { isqrtCeil, Q8_SHIFT } from './fixed.ts';
import { DUEL_RULES } from './rules.ts';

const RADIUS = DUEL_RULES.playerRadius << Q8_SHIFT;
const RADIUS_SQ = RADIUS * RADIUS;
const SHOT_RADIUS = DUEL_RULES.projectileRadius << Q8_SHIFT;

// Broad phase: a grid of 32-unit cells, each with a bit mask of the walls that a player (or a
// shot) centred anywhere in the cell could touch. Most cells touch none, so most tests end at
// one lookup. Edge cells also stand for everything beyond the edge, so the result equals a scan
// of every wall in index order, for any position.
const CELL_SHIFT = Q8_SHIFT + 5;
const COLS = Math.ceil(DUEL_ARENA.width / 32);
const ROWS = Math.ceil(DUEL_ARENA.height / 32);
if (WALL_COUNT > 31) throw new Error('the wall grid holds at most 31 walls');

/** Masks of the walls whose box, widened by `reach` (Q8) on every side, a cell's points can be strictly inside. */
function wallMasks(reach: number): Int32Array {
  const masks = new Int32Array(COLS * ROWS);
  for (let cy = 0; cy < ROWS; cy++) {
    for (let cx = 0; cx < COLS; cx++) {
      const x0 = cx === 0 ? -Infinity : cx << CELL_SHIFT;
      const x1 = cx === COLS - 1 ? Infinity : ((cx + 1) << CELL_SHIFT) - 1;
      const y0 = cy === 0 ? -Infinity : cy << CELL_SHIFT;
      const y1 = cy === ROWS - 1 ? Infinity : ((cy + 1) << CELL_SHIFT) - 1;
      let mask = 0;
      for (let w = 0; w < WALL_COUNT; w++) {
        const b = w * 4;
        const hit =
          x0 < WALL_BOXES[b + 2] + reach &&
          x1 > WALL_BOXES[b] - reach &&
          y0 < WALL_BOXES[b + 3] + reach &&
          y1 > WALL_BOXES[b + 1] - reach;
        if (hit) mask |= 1 << w;
      }
      masks[cy * COLS + cx] = mask;
    }
  }
  return masks;
}

const PLAYER_MASKS = wallMasks(RADIUS);
const SHOT_MASKS = wallMasks(SHOT_RADIUS);

function cell(x: number, y: number): number {
  const cx = x >> CELL_SHIFT;
  const cy = y >> CELL_SHIFT;
  return (
    (cy < 0 ? 0 : cy >= ROWS ? ROWS - 1 : cy) * COLS + (cx < 0 ? 0 : cx >= COLS ? COLS - 1 : cx)
  );
}

/**
 * Moves a player circle (radius `playerRadius`) along one axis by `delta` (Q8) and pushes it out
 * of any wall it now overlaps, along that axis only, walls in index order. Moving x and then y
 * this way lets a player slide along a wall and round its corners.
 * @param along the coordinate on the moving axis, Q8.
 * @param across the coordinate on the other axis, Q8.
 * @param axis 0 when `along` is x, 1 when it is y.
 * @returns the new coordinate on the moving axis, Q8.
 */
export function moveCircleAxis(along: number, across: number, axis: 0 | 1, delta: number): number {
  let a = along + delta;
  let mask = PLAYER_MASKS[axis === 0 ? cell(a, across) : cell(across, a)];
  const lo = axis; // WALL_BOXES holds minX, minY, maxX, maxY
  const hi = axis + 2;
  const crossLo = 1 - axis;
  const crossHi = 3 - axis;
  while (mask !== 0) {
    const w = 31 - Math.clz32(mask & -mask);
    mask &= mask - 1;
    const box = w * 4;
    const minA = WALL_BOXES[box + lo];
    const maxA = WALL_BOXES[box + hi];
    const minC = WALL_BOXES[box + crossLo];
    const maxC = WALL_BOXES[box + crossHi];
    // Vector from the closest point of the box to the centre; |d| < RADIUS keeps squares small.
    const da = a < minA ? a - minA : a > maxA ? a - maxA : 0;
    const dc = across < minC ? across - minC : across > maxC ? across - maxC : 0;
    if (da <= -RADIUS || da >= RADIUS || dc <= -RADIUS || dc >= RADIUS) continue;
    if (da * da + dc * dc >= RADIUS_SQ) continue;
    // Rounded up, so that the circle no longer overlaps after the push.
    const reach = isqrtCeil(RADIUS_SQ - dc * dc);
    const pushLow = da < 0 || (da === 0 && delta > 0);
    a = pushLow ? minA - reach : maxA + reach;
    // The push may change the cell: go on with the later walls near the new position.
    mask = PLAYER_MASKS[axis === 0 ? cell(a, across) : cell(across, a)] & ~((2 << w) - 1);
  }
  return a;
}

/** True when a projectile centred at (x, y) (Q8) touches a wall (box test, expanded by its radius). */
export function shotHitsWall(x: number, y: number): boolean {
  let mask = SHOT_MASKS[cell(x, y)];
  while (mask !== 0) {
    const box = (31 - Math.clz32(mask & -mask)) * 4;
    mask &= mask - 1;
    if (
      x > WALL_BOXES[box] - SHOT_RADIUS &&
      x < WALL_BOXES[box + 2] + SHOT_RADIUS &&
      y > WALL_BOXES[box + 1] - SHOT_RADIUS &&
      y < WALL_BOXES[box + 3] + SHOT_RADIUS
    ) {
      return true;
    }
  }
  return false;
}

/**
 * True when two circles whose radii sum to `reach` (Q8) overlap. Rejects on each axis first so
 * that the squares stay below 2^31.
 */
export function circlesTouch(
  x1: number,
  y1: number,
  x2: number,
  y2: number,
  reach: number,
): boolean {
  const dx = x1 - x2;
  if (dx <= -reach || dx >= reach) return false;
  const dy = y1 - y2;
  if (dy <= -reach || dy >= reach) return false;
  return dx * dx + dy * dy < reach * reach;
}
