import { type CanonicalValue, canonicalDecode, canonicalEncode } from '../canonical.ts';
import { ConcordError } from '../errors.ts';
import type { Input } from '../input.ts';
import type { EntityInterest, EntityTable } from '../interest.ts';
import { Prng } from '../prng.ts';
import type { Frame, PlayerSlot, Sim, SimConfig, SimFactory } from '../sim.ts';

/**
 * The numbers of the field, in world units and frames. Positions and velocities in the state are
 * Q8 fixed point (world units × 256).
 */
export const FIELD_RULES = Object.freeze({
  /** Side of the square world, world units. */
  size: 2048,
  /** Moving entities besides the players. */
  movers: 200,
  /** Most players. */
  maxPlayers: 8,
  /** A player's movement per frame along one axis, world units. */
  playerSpeed: 4,
  /** A mover's largest velocity component, Q8 units per frame (2 world units). */
  maxMoverSpeedQ8: 512,
  /** Movers given a new random velocity each frame. */
  turnsPerFrame: 2,
  /** Side of an interest grid cell, world units: an 8 × 8 grid. */
  cellSize: 256,
  /** Area of interest: the player's cell and the 8 around it. */
  radiusCells: 1,
});

const R = FIELD_RULES;
const Q8 = 256;
const LIMIT = R.size * Q8; // positions are in 0..LIMIT
/** Fields of every entity record (players and movers alike): x, y, vx, vy. */
const WIDTH = 4;
const H_FRAME = 0;
const H_RNG = 1;
const H_PLAYERS = 5;
const HEADER = 6;
/** Entity ids: players 0..7 (their slots), movers 8..207. */
const FIRST_MOVER_ID = R.maxPlayers;
const ENTITIES = R.maxPlayers + R.movers;
const STATE_SIZE = HEADER + ENTITIES * WIDTH;
const FORMAT_VERSION = 1;
const UP = 1;
const DOWN = 2;
const LEFT = 4;
const RIGHT = 8;

const base = (id: number) => HEADER + id * WIDTH;

function draw(s: Int32Array, n: number): number {
  const prng = Prng.fromState([
    s[H_RNG] >>> 0,
    s[H_RNG + 1] >>> 0,
    s[H_RNG + 2] >>> 0,
    s[H_RNG + 3] >>> 0,
  ]);
  const v = prng.nextInt(n);
  const next = prng.state();
  for (let i = 0; i < 4; i++) s[H_RNG + i] = next[i];
  return v;
}

function createFieldState(players: number, seed: number): Int32Array {
  const s = new Int32Array(STATE_SIZE);
  const rng = Prng.fromSeed(seed).state();
  for (let i = 0; i < 4; i++) s[H_RNG + i] = rng[i];
  s[H_PLAYERS] = players;
  for (let p = 0; p < players; p++) {
    // Players start spread along the diagonal.
    s[base(p)] = ((R.size * (2 * p + 1)) / (2 * R.maxPlayers)) * Q8;
    s[base(p) + 1] = s[base(p)];
  }
  for (let id = FIRST_MOVER_ID; id < ENTITIES; id++) {
    const b = base(id);
    s[b] = draw(s, LIMIT);
    s[b + 1] = draw(s, LIMIT);
    s[b + 2] = draw(s, 2 * R.maxMoverSpeedQ8 + 1) - R.maxMoverSpeedQ8;
    s[b + 3] = draw(s, 2 * R.maxMoverSpeedQ8 + 1) - R.maxMoverSpeedQ8;
  }
  return s;
}

/** Moves `v` by `d` inside 0..LIMIT, reflecting off the edges; returns [position, velocity sign]. */
function bounce(v: number, d: number): [number, number] {
  const n = v + d;
  if (n < 0) return [-n, -1];
  if (n > LIMIT) return [2 * LIMIT - n, -1];
  return [n, 1];
}

/** One frame: players move by their buttons, movers drift and bounce, a few movers turn. */
function stepField(s: Int32Array, inputs: readonly Input[]): void {
  const players = s[H_PLAYERS];
  const speed = R.playerSpeed * Q8;
  for (let p = 0; p < players; p++) {
    const b = base(p);
    const buttons = inputs[p].buttons;
    const vx = ((buttons & RIGHT ? 1 : 0) - (buttons & LEFT ? 1 : 0)) * speed;
    const vy = ((buttons & DOWN ? 1 : 0) - (buttons & UP ? 1 : 0)) * speed;
    s[b] = Math.min(LIMIT, Math.max(0, s[b] + vx));
    s[b + 1] = Math.min(LIMIT, Math.max(0, s[b + 1] + vy));
    s[b + 2] = vx;
    s[b + 3] = vy;
  }
  for (let id = FIRST_MOVER_ID; id < ENTITIES; id++) {
    const b = base(id);
    const [x, sx] = bounce(s[b], s[b + 2]);
    const [y, sy] = bounce(s[b + 1], s[b + 3]);
    s[b] = x;
    s[b + 1] = y;
    s[b + 2] *= sx;
    s[b + 3] *= sy;
  }
  for (let t = 0; t < R.turnsPerFrame; t++) {
    const b = base(FIRST_MOVER_ID + draw(s, R.movers));
    s[b + 2] = draw(s, 2 * R.maxMoverSpeedQ8 + 1) - R.maxMoverSpeedQ8;
    s[b + 3] = draw(s, 2 * R.maxMoverSpeedQ8 + 1) - R.maxMoverSpeedQ8;
  }
  s[H_FRAME] += 1;
}

function bad(message: string): never {
  throw new ConcordError('BAD_STATE', `field state: ${message}`);
}

function int(v: CanonicalValue | undefined, min: number, max: number, where: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    bad(`${where} must be an integer in ${min}..${max}, got ${String(v)}`);
  }
  return v;
}

const rngOf = (s: Int32Array) => [0, 1, 2, 3].map((i) => s[H_RNG + i] >>> 0);
const recordOf = (s: Int32Array, id: number) => Array.from(s.subarray(base(id), base(id) + WIDTH));

/** Field ranges of an entity record: x, y, vx, vy. */
const RANGES: readonly (readonly [number, number])[] = [
  [0, LIMIT],
  [0, LIMIT],
  [-R.playerSpeed * Q8, R.playerSpeed * Q8],
  [-R.playerSpeed * Q8, R.playerSpeed * Q8],
];

function setRecord(
  s: Int32Array,
  id: number,
  row: ArrayLike<CanonicalValue | number>,
  where: string,
): void {
  if (row.length !== WIDTH) bad(`${where} must have ${WIDTH} fields`);
  for (let f = 0; f < WIDTH; f++)
    s[base(id) + f] = int(row[f], RANGES[f][0], RANGES[f][1], `${where}[${f}]`);
}

/** `{v, frame, rng, players}`: the state without its entities. */
function restOf(s: Int32Array): { [key: string]: CanonicalValue } {
  return { v: FORMAT_VERSION, frame: s[H_FRAME], rng: rngOf(s), players: s[H_PLAYERS] };
}

/** Reads a rest map into a fresh state (entities zero); returns it and its player count. */
function fromRest(o: { readonly [key: string]: CanonicalValue }): Int32Array {
  int(o.v, FORMAT_VERSION, FORMAT_VERSION, 'v');
  const s = new Int32Array(STATE_SIZE);
  s[H_FRAME] = int(o.frame, 0, 0x7fffffff, 'frame');
  const rng = o.rng;
  if (!Array.isArray(rng) || rng.length !== 4) bad('rng must be an array of 4');
  for (let i = 0; i < 4; i++) s[H_RNG + i] = int(rng[i], 0, 0xffffffff, `rng[${i}]`);
  s[H_PLAYERS] = int(o.players, 1, R.maxPlayers, 'players');
  return s;
}

/** The canonical encoding: `{v: 1, frame, rng, players: n, entities: [[x, y, vx, vy] × (n + 200)]}`. */
function encodeFieldState(s: Int32Array): Uint8Array {
  const entities: number[][] = [];
  for (let p = 0; p < s[H_PLAYERS]; p++) entities.push(recordOf(s, p));
  for (let id = FIRST_MOVER_ID; id < ENTITIES; id++) entities.push(recordOf(s, id));
  return canonicalEncode({ ...restOf(s), entities });
}

function asMap(v: CanonicalValue): { readonly [key: string]: CanonicalValue } {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Uint8Array)
    bad('not a map');
  return v as { readonly [key: string]: CanonicalValue };
}

function decodeFieldState(bytes: Uint8Array): Int32Array {
  const o = asMap(canonicalDecode(bytes));
  const keys = Object.keys(o).sort().join(',');
  if (keys !== 'entities,frame,players,rng,v') bad(`unexpected keys ${keys}`);
  const s = fromRest(o);
  const players = s[H_PLAYERS];
  const rows = o.entities;
  if (!Array.isArray(rows) || rows.length !== players + R.movers)
    bad(`entities must be ${players + R.movers} records`);
  rows.forEach((row, i) => {
    if (!Array.isArray(row)) bad(`entities[${i}] must be an array`);
    setRecord(s, i < players ? i : FIRST_MOVER_ID + i - players, row, `entities[${i}]`);
  });
  const again = encodeFieldState(s);
  if (again.length !== bytes.length || again.some((b, i) => b !== bytes[i]))
    bad('bytes are not in canonical form');
  return s;
}

/** Interest management for the field: every player and mover is an entity of 4 fields. */
const fieldInterest: EntityInterest<Int32Array> = Object.freeze({
  cellSize: R.cellSize,
  radiusCells: R.radiusCells,
  entities(s: Int32Array): EntityTable {
    const players = s[H_PLAYERS];
    const count = players + R.movers;
    const ids = new Int32Array(count);
    const x = new Int32Array(count);
    const y = new Int32Array(count);
    const fields = new Int32Array(count * WIDTH);
    for (let i = 0; i < count; i++) {
      const id = i < players ? i : FIRST_MOVER_ID + i - players;
      ids[i] = id;
      x[i] = s[base(id)] >> 8;
      y[i] = s[base(id) + 1] >> 8;
      fields.set(s.subarray(base(id), base(id) + WIDTH), i * WIDTH);
    }
    return { count, ids, x, y, width: WIDTH, fields };
  },
  focus(s: Int32Array, slot: PlayerSlot) {
    return { x: s[base(slot)] >> 8, y: s[base(slot) + 1] >> 8 };
  },
  encodeRest(s: Int32Array): Uint8Array {
    return canonicalEncode(restOf(s));
  },
  compose(rest: Uint8Array, table: EntityTable): Int32Array {
    const s = fromRest(asMap(canonicalDecode(rest)));
    const players = s[H_PLAYERS];
    if (table.width !== WIDTH || table.count !== players + R.movers) {
      bad(`an entity table of ${players + R.movers} × ${WIDTH} fields is needed`);
    }
    for (let i = 0; i < table.count; i++) {
      const id = table.ids[i];
      const expected = i < players ? i : FIRST_MOVER_ID + i - players;
      if (id !== expected) bad(`entity ${i} must have id ${expected}, got ${id}`);
      setRecord(s, id, table.fields.subarray(i * WIDTH, (i + 1) * WIDTH), `entity ${id}`);
    }
    return s;
  },
});

class FieldSim implements Sim<Int32Array> {
  readonly id = 'field';
  readonly players: number;
  private readonly state: Int32Array;

  constructor(players: number, seed: number) {
    this.players = players;
    this.state = createFieldState(players, seed);
  }

  get frame(): Frame {
    return this.state[H_FRAME];
  }

  step(inputs: readonly Input[]): void {
    if (inputs.length !== this.players) {
      throw new ConcordError(
        'BAD_INPUT',
        `field step needs ${this.players} inputs, got ${inputs.length}`,
        this.frame,
      );
    }
    stepField(this.state, inputs);
  }

  save(reuse?: Int32Array): Int32Array {
    if (reuse !== undefined && reuse.length === STATE_SIZE) {
      reuse.set(this.state);
      return reuse;
    }
    return this.state.slice();
  }

  load(snapshot: Int32Array): void {
    this.check(snapshot);
    this.state.set(snapshot);
  }

  encode(snapshot: Int32Array): Uint8Array {
    this.check(snapshot);
    return encodeFieldState(snapshot);
  }

  decode(bytes: Uint8Array): Int32Array {
    const s = decodeFieldState(bytes);
    this.check(s);
    return s;
  }

  private check(s: Int32Array): void {
    if (s.length !== STATE_SIZE || s[H_PLAYERS] !== this.players) {
      throw new ConcordError('BAD_STATE', `not a ${this.players}-player field state`);
    }
  }
}

/**
 * The field: 200 entities drifting over a 2048 × 2048 world and bouncing off its edges (two of
 * them turn at random each frame), and 1–8 players who walk with the four direction buttons
 * (bits 1 up, 2 down, 4 left, 8 right; 4 units a frame). Nothing else happens: it exists to show
 * and measure interest management (`interest`: an 8 × 8 grid of 256-unit cells, each player
 * interested in its cell and the 8 around it) in authoritative mode, where sending every client
 * every entity 20 times a second is what interest management saves. Integer Q8 arithmetic and
 * the seeded xoshiro128** generator only.
 *
 * Snapshots are `Int32Array`s (header, then 208 records `[x, y, vx, vy]`: players 0–7, movers
 * 8–207); `encode` is canonical msgpack `{v, frame, rng, players, entities}` (about 3.4 KB).
 * `create` throws ConcordError `BAD_CONFIG` for a player count outside 1..8 or a seed outside
 * 0..2^32-1; `decode` throws `BAD_STATE` for bytes that are not a field state.
 */
export const field: SimFactory<Int32Array> = Object.freeze({
  id: 'field',
  minPlayers: 1,
  maxPlayers: R.maxPlayers,
  interest: fieldInterest,
  actions: Object.freeze({
    NOOP: Object.freeze({ buttons: 0, x: 0, y: 0 }),
    UP: Object.freeze({ buttons: UP, x: 0, y: 0 }),
    DOWN: Object.freeze({ buttons: DOWN, x: 0, y: 0 }),
    LEFT: Object.freeze({ buttons: LEFT, x: 0, y: 0 }),
    RIGHT: Object.freeze({ buttons: RIGHT, x: 0, y: 0 }),
  }),
  create(config: SimConfig): Sim<Int32Array> {
    const { players, seed } = config;
    if (!Number.isInteger(players) || players < 1 || players > R.maxPlayers) {
      throw new ConcordError(
        'BAD_CONFIG',
        `field needs 1..${R.maxPlayers} players, got ${players}`,
      );
    }
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
      throw new ConcordError(
        'BAD_CONFIG',
        `field seed must be an integer in 0..2^32-1, got ${seed}`,
      );
    }
    return new FieldSim(players, seed);
  },
});
