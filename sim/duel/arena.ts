import { Q8_SHIFT } from './fixed.ts';

/** An axis-aligned wall rectangle in world units: top-left corner `x`, `y` (y grows downwards), size `w`×`h`. */
export interface DuelWall {
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly h: number;
}

/** A point in world units (y grows downwards). */
export interface DuelPoint {
  readonly x: number;
  readonly y: number;
}

/** The fixed map of the duel arena, all in whole world units. */
export interface DuelArena {
  /** Width of the world, in world units. */
  readonly width: number;
  /** Height of the world, in world units. */
  readonly height: number;
  /** The walls: four border walls, then the cover blocks. Symmetric about both centre lines. */
  readonly walls: readonly DuelWall[];
  /** Spawn points, one per corner; a match's slot `p` starts at `spawns[p]`. */
  readonly spawns: readonly DuelPoint[];
  /** The positions where pickups may appear. */
  readonly pickupSpots: readonly DuelPoint[];
}

function wall(x: number, y: number, w: number, h: number): DuelWall {
  return Object.freeze({ x, y, w, h });
}

function point(x: number, y: number): DuelPoint {
  return Object.freeze({ x, y });
}

/**
 * The duel arena: 960×540 world units, a 16-unit border wall and eight cover blocks, mirror
 * symmetric left–right and top–bottom so that no spawn corner is better than another. Every gap
 * between walls is wider than a player. Renderers draw exactly these rectangles.
 */
export const DUEL_ARENA: DuelArena = Object.freeze({
  width: 960,
  height: 540,
  walls: Object.freeze([
    wall(0, 0, 960, 16),
    wall(0, 524, 960, 16),
    wall(0, 16, 16, 508),
    wall(944, 16, 16, 508),
    wall(440, 230, 80, 80),
    wall(180, 110, 140, 24),
    wall(640, 110, 140, 24),
    wall(180, 406, 140, 24),
    wall(640, 406, 140, 24),
    wall(300, 210, 24, 120),
    wall(636, 210, 24, 120),
    wall(100, 240, 50, 60),
    wall(810, 240, 50, 60),
  ]),
  // Slots 0 and 1 face each other diagonally, so a two-player match starts in opposite corners.
  spawns: Object.freeze([point(60, 60), point(900, 480), point(900, 60), point(60, 480)]),
  pickupSpots: Object.freeze([
    point(480, 60),
    point(480, 480),
    point(225, 270),
    point(735, 270),
    point(480, 170),
    point(480, 370),
  ]),
});

/** The walls in Q8 as a flat array of `minX, minY, maxX, maxY` quadruples, for the step's inner loops. */
export const WALL_BOXES: Int32Array = Int32Array.from(
  DUEL_ARENA.walls.flatMap((w) => [w.x, w.y, w.x + w.w, w.y + w.h].map((v) => v << Q8_SHIFT)),
);

/** Number of walls in {@link WALL_BOXES}. */
export const WALL_COUNT = DUEL_ARENA.walls.length;

/** Spawn points in Q8, flat `x, y` pairs. */
export const SPAWNS_Q8: Int32Array = Int32Array.from(
  DUEL_ARENA.spawns.flatMap((p) => [p.x << Q8_SHIFT, p.y << Q8_SHIFT]),
);

/** Pickup spots in Q8, flat `x, y` pairs. */
export const PICKUP_SPOTS_Q8: Int32Array = Int32Array.from(
  DUEL_ARENA.pickupSpots.flatMap((p) => [p.x << Q8_SHIFT, p.y << Q8_SHIFT]),
);
