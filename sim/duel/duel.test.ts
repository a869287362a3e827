import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { type CanonicalValue, canonicalDecode, canonicalEncode } from '../canonical.ts';
import { ConcordError } from '../errors.ts';
import { initStateHash, stateHash } from '../hash.ts';
import { type Input, isValidInput, NEUTRAL_INPUT } from '../input.ts';
import { Prng } from '../prng.ts';
import type { Sim } from '../sim.ts';
import { runSyncTest } from '../sync-test.ts';
import { WALL_BOXES } from './arena.ts';
import { divRound, isqrt, isqrtCeil, lengthQ8 } from './fixed.ts';
import {
  DUEL_ARENA,
  DUEL_BUTTONS,
  DUEL_RULES,
  type DuelView,
  duel,
  duelAim,
  duelView,
  randomDuelInput,
} from './index.ts';
import { P_AIM_X, P_AIM_Y, P_HEALTH, P_X, P_Y, playerBase } from './layout.ts';
import { moveCircleAxis, shotHitsWall } from './physics.ts';
import { drawInt } from './rng.ts';
import { createDuelState } from './state.ts';

beforeAll(async () => {
  await initStateHash();
});

const Q8 = 256;

function hashOf(sim: Sim<Int32Array>): string {
  return stateHash(sim.encode(sim.save()));
}

/** Random inputs for `frames` frames, a pure function of the seed. */
function randomInputs(players: number, frames: number, seed: number): Input[][] {
  const rng = Prng.fromSeed(seed);
  return Array.from({ length: frames }, () =>
    Array.from({ length: players }, () => randomDuelInput(rng.nextU32())),
  );
}

/** A bot that chases the nearest opponent (or sometimes a pickup), aims at it and shoots a lot. */
function botInput(view: DuelView, slot: number, u32: number): Input {
  const me = view.players[slot];
  const random = randomDuelInput(u32);
  let target: { x: number; y: number } | undefined;
  let best = Number.POSITIVE_INFINITY;
  for (const p of view.players) {
    const d = (p.x - me.x) ** 2 + (p.y - me.y) ** 2;
    if (p.slot !== slot && p.alive && d < best) {
      best = d;
      target = p;
    }
  }
  if (!me.alive || !target) return random;
  const aim = duelAim(target.x - me.x, target.y - me.y);
  // Even slots collect pickups while there are any; odd slots hunt.
  const goal = view.pickups.length > 0 && slot % 2 === 0 ? view.pickups[0] : target;
  let buttons = random.buttons & 0xf;
  if ((u32 >>> 29) % 4 !== 0) {
    buttons = 0;
    if (goal.x > me.x + 4) buttons |= DUEL_BUTTONS.right;
    if (goal.x < me.x - 4) buttons |= DUEL_BUTTONS.left;
    if (goal.y > me.y + 4) buttons |= DUEL_BUTTONS.down;
    if (goal.y < me.y - 4) buttons |= DUEL_BUTTONS.up;
  }
  if (((u32 >>> 20) & 0xff) < 160) buttons |= DUEL_BUTTONS.fire;
  return { buttons, x: aim.x, y: aim.y };
}

interface BotMatch {
  readonly inputs: Input[][];
  readonly hashes: string[];
  readonly final: DuelView;
  readonly respawns: number;
}

/** Plays a match of bots and records every frame's inputs and the hash of every state. */
function playBots(players: number, seed: number, frames: number): BotMatch {
  const sim = duel.create({ players, seed });
  const rng = Prng.fromSeed(seed ^ 0x5eed);
  const inputs: Input[][] = [];
  const hashes = [hashOf(sim)];
  let respawns = 0;
  for (let f = 0; f < frames; f++) {
    const before = duelView(sim.save());
    const frameInputs = before.players.map((_, p) => botInput(before, p, rng.nextU32()));
    inputs.push(frameInputs);
    sim.step(frameInputs);
    hashes.push(hashOf(sim));
    const after = duelView(sim.save());
    for (const p of after.players) if (p.alive && !before.players[p.slot].alive) respawns++;
  }
  return { inputs, hashes, final: duelView(sim.save()), respawns };
}

/** A sim of `players` whose state is the initial one with `edit` applied to its encoded object. */
function simWith(
  players: number,
  edit: (state: Record<string, CanonicalValue> & { players: number[][] }) => void,
): Sim<Int32Array> {
  const sim = duel.create({ players, seed: 1 });
  const obj = canonicalDecode(sim.encode(sim.save())) as Record<string, CanonicalValue> & {
    players: number[][];
  };
  edit(obj);
  sim.load(sim.decode(canonicalEncode(obj)));
  return sim;
}

function expectBadState(fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConcordError);
    expect((err as ConcordError).code).toBe('BAD_STATE');
    return;
  }
  throw new Error('expected ConcordError BAD_STATE, nothing was thrown');
}

/** Bytes as hex (msgpackr caches a DataView on decoded buffers, so compare contents only). */
function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

function allIntegers(value: unknown): boolean {
  if (typeof value === 'number') return Number.isInteger(value);
  if (Array.isArray(value)) return value.every(allIntegers);
  if (typeof value === 'object' && value !== null) return Object.values(value).every(allIntegers);
  return true;
}

describe('duel factory', () => {
  it('creates 2..4 players and rejects other counts and bad seeds with BAD_CONFIG', () => {
    for (const players of [2, 3, 4]) {
      const sim = duel.create({ players, seed: 9 });
      expect(sim.id).toBe('duel');
      expect(sim.players).toBe(players);
      expect(sim.frame).toBe(0);
    }
    for (const config of [
      { players: 1, seed: 1 },
      { players: 5, seed: 1 },
      { players: 2.5, seed: 1 },
      { players: 2, seed: -1 },
      { players: 2, seed: 2 ** 32 },
    ]) {
      expect(() => duel.create(config)).toThrow(expect.objectContaining({ code: 'BAD_CONFIG' }));
    }
    expect([duel.minPlayers, duel.maxPlayers]).toEqual([2, 4]);
  });

  it('rejects a step with the wrong number of inputs', () => {
    const sim = duel.create({ players: 3, seed: 1 });
    expect(() => sim.step([NEUTRAL_INPUT, NEUTRAL_INPUT])).toThrow(
      expect.objectContaining({ code: 'BAD_INPUT' }),
    );
  });
});

describe('duel determinism', () => {
  it.each([2, 3, 4])(
    'two %i-player sims with one seed and one input stream agree every frame',
    (n) => {
      const a = duel.create({ players: n, seed: 42 });
      const b = duel.create({ players: n, seed: 42 });
      const other = duel.create({ players: n, seed: 43 });
      const inputs = randomInputs(n, 2000, n);
      expect(hashOf(a)).toBe(hashOf(b));
      expect(hashOf(a)).not.toBe(hashOf(other));
      for (const frameInputs of inputs) {
        a.step(frameInputs);
        b.step(frameInputs);
        other.step(frameInputs);
        expect(hashOf(a)).toBe(hashOf(b));
      }
      expect(a.frame).toBe(2000);
      // Different seeds put pickups elsewhere, so play itself diverges, not just the PRNG words.
      const { frame: _a, ...viewA } = duelView(a.save());
      const { frame: _o, ...viewOther } = duelView(other.save());
      expect(viewA).not.toEqual(viewOther);
    },
  );

  it('passes the sync test at check distances 1, 2 and 8 in a match with kills, pickups and respawns', () => {
    const match = playBots(4, 5, 900);
    const scores = match.final.players.map((p) => p.score);
    expect(Math.max(...scores)).toBeGreaterThan(0);
    expect(match.final.pickupsCollected).toBeGreaterThan(0);
    expect(match.respawns).toBeGreaterThan(0);
    for (const checkDistance of [1, 2, 8]) {
      const sim = duel.create({ players: 4, seed: 5 });
      const result = runSyncTest(sim, {
        frames: match.inputs.length,
        checkDistance,
        inputs: (f) => match.inputs[f],
      });
      expect(result.finalHash).toBe(match.hashes[match.hashes.length - 1]);
      expect(result.checks).toBe((match.inputs.length - checkDistance + 1) * checkDistance);
    }
  });

  it('passes the sync test for 2 players with random inputs', () => {
    const inputs = randomInputs(2, 600, 77);
    const result = runSyncTest(duel.create({ players: 2, seed: 3 }), {
      frames: 600,
      checkDistance: 3,
      inputs: (f) => inputs[f],
    });
    expect(result.frames).toBe(600);
  });

  it('draws exactly the Prng sequence from the words in the state', () => {
    const s = createDuelState(2, 1234);
    const reference = Prng.fromSeed(1234);
    for (let i = 1; i < 200; i++) expect(drawInt(s, i)).toBe(reference.nextInt(i));
  });
});

describe('duel snapshots', () => {
  it('load restores a saved frame and re-simulation repeats it exactly', () => {
    const sim = duel.create({ players: 4, seed: 8 });
    const inputs = randomInputs(4, 400, 8);
    for (let f = 0; f < 300; f++) sim.step(inputs[f]);
    const snap = sim.save();
    const copy = snap.slice();
    const first: string[] = [];
    for (let f = 300; f < 400; f++) {
      sim.step(inputs[f]);
      first.push(hashOf(sim));
    }
    expect(snap).toEqual(copy); // stepping never touches a saved snapshot
    sim.load(snap);
    expect(sim.frame).toBe(300);
    for (let f = 300; f < 400; f++) {
      sim.step(inputs[f]);
      expect(hashOf(sim)).toBe(first[f - 300]);
    }
  });

  it('keeps every saved snapshot intact while later ones are saved', () => {
    const sim = duel.create({ players: 3, seed: 6 });
    const inputs = randomInputs(3, 100, 6);
    const saved: [Int32Array, Int32Array][] = [];
    for (const i of inputs) {
      sim.step(i);
      const snap = sim.save();
      saved.push([snap, snap.slice()]);
    }
    for (const [snap, copy] of saved) expect(snap).toEqual(copy);
    expect(new Set(saved.map(([snap]) => hex(sim.encode(snap)))).size).toBe(100);
  });

  it('decode inverts encode byte for byte, and a decoded state steps like the original', () => {
    const match = playBots(4, 11, 600);
    const sim = duel.create({ players: 4, seed: 11 });
    const twin = duel.create({ players: 4, seed: 999 });
    for (let f = 0; f < 600; f++) {
      if (f % 50 === 0) {
        const snap = sim.save();
        const bytes = sim.encode(snap);
        const decoded = sim.decode(bytes);
        expect(decoded).toEqual(snap);
        expect(hex(sim.encode(decoded))).toBe(hex(bytes));
        twin.load(decoded);
      }
      sim.step(match.inputs[f]);
      twin.step(match.inputs[f]);
      expect(hashOf(twin)).toBe(hashOf(sim));
    }
  });

  it('decode rejects garbage with BAD_STATE', () => {
    const sim = duel.create({ players: 2, seed: 1 });
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        expectBadState(() => sim.decode(bytes));
      }),
    );
  });

  it('decode accepts a mutated encoding only if it is itself canonical and valid', () => {
    const sim = duel.create({ players: 4, seed: 2 });
    const inputs = randomInputs(4, 200, 2);
    for (const i of inputs) sim.step(i);
    const bytes = sim.encode(sim.save());
    fc.assert(
      fc.property(fc.nat(bytes.length - 1), fc.integer({ min: 0, max: 255 }), (at, value) => {
        const mutated = bytes.slice();
        mutated[at] = value;
        let decoded: Int32Array;
        try {
          decoded = sim.decode(mutated);
        } catch (err) {
          expect((err as ConcordError).code).toBe('BAD_STATE');
          return;
        }
        expect(hex(sim.encode(decoded))).toBe(hex(mutated));
      }),
    );
  });

  it('decode rejects wrong shapes with BAD_STATE', () => {
    const sim = duel.create({ players: 2, seed: 1 });
    const good = canonicalDecode(sim.encode(sim.save())) as Record<string, CanonicalValue>;
    const variant = (edit: (o: Record<string, unknown>) => void): Uint8Array => {
      const o = structuredClone(good) as Record<string, unknown>;
      edit(o);
      return canonicalEncode(o as CanonicalValue);
    };
    const players = (o: Record<string, unknown>) => o.players as number[][];
    const bad: Uint8Array[] = [
      canonicalEncode([1, 2, 3]),
      canonicalEncode('duel'),
      variant((o) => {
        o.v = 2;
      }),
      variant((o) => {
        delete o.rng;
      }),
      variant((o) => {
        o.extra = 1;
      }),
      variant((o) => {
        o.rng = [0, 0, 0, 0];
      }),
      variant((o) => {
        o.rng = [1, 2, 3];
      }),
      variant((o) => {
        o.frame = -1;
      }),
      variant((o) => {
        players(o)[0][P_HEALTH] = 99.5;
      }),
      variant((o) => {
        players(o)[0][P_HEALTH] = 101;
      }),
      variant((o) => {
        players(o)[0][P_HEALTH] = 0; // dead without a respawn countdown
      }),
      variant((o) => {
        players(o)[0][P_X] = -1;
      }),
      variant((o) => {
        players(o)[1] = [1, 2, 3];
      }),
      variant((o) => {
        o.players = [players(o)[0]]; // one player
      }),
      variant((o) => {
        o.players = [...players(o), players(o)[0]]; // three players, this sim has two
      }),
      variant((o) => {
        o.projectiles = [[0, 10, 100 * Q8, 100 * Q8, 7 * Q8, 0, 2]]; // owner 2 of 2 players
      }),
      variant((o) => {
        o.projectiles = [
          [3, 10, 100 * Q8, 100 * Q8, 7 * Q8, 0, 0],
          [3, 10, 100 * Q8, 100 * Q8, 7 * Q8, 0, 1],
        ];
      }),
      variant((o) => {
        o.pickups = [[0, 3, 0]];
      }),
      variant((o) => {
        o.pickups = [
          [0, 1, 2],
          [1, 2, 2],
        ];
      }),
    ];
    for (const bytes of bad) expectBadState(() => sim.decode(bytes));
    const trailing = new Uint8Array([...sim.encode(sim.save()), 0]);
    expectBadState(() => sim.decode(trailing));
    expectBadState(() => sim.load(new Int32Array(10)));
    expectBadState(() => sim.load(duel.create({ players: 3, seed: 1 }).save()));
  });
});

describe('duel gameplay', () => {
  const right: Input = { buttons: DUEL_BUTTONS.right, x: 0, y: 0 };

  it('a player holding right moves right and stops at the wall', () => {
    const sim = duel.create({ players: 2, seed: 1 });
    const xs: number[] = [];
    for (let f = 0; f < 400; f++) {
      sim.step([right, NEUTRAL_INPUT]);
      xs.push(duelView(sim.save()).players[0].x);
    }
    expect(xs[0]).toBe(DUEL_ARENA.spawns[0].x + DUEL_RULES.playerSpeed);
    expect(xs[1] - xs[0]).toBe(DUEL_RULES.playerSpeed);
    const wallInner = DUEL_ARENA.width - DUEL_ARENA.walls[3].w;
    expect(xs[399]).toBe(wallInner - DUEL_RULES.playerRadius);
    expect(xs[398]).toBe(xs[399]);
    expect(duelView(sim.save()).players[0].y).toBe(DUEL_ARENA.spawns[0].y);
  });

  it('a player slides along a wall and cannot enter a cover block', () => {
    // Slot 0 starts at (60, 60); below it at x 100..150 is the west cover block (y 240..300).
    const sim = simWith(2, (o) => {
      o.players[0][P_X] = 125 * Q8;
    });
    const down: Input = { buttons: DUEL_BUTTONS.down, x: 0, y: 0 };
    for (let f = 0; f < 200; f++) sim.step([down, NEUTRAL_INPUT]);
    const me = duelView(sim.save()).players[0];
    expect(me.x).toBe(125);
    expect(me.y).toBe(240 - DUEL_RULES.playerRadius);
  });

  it('moves diagonally at 181/256 of the straight speed', () => {
    const sim = simWith(2, (o) => {
      o.players[0][P_X] = 400 * Q8;
      o.players[0][P_Y] = 60 * Q8;
    });
    sim.step([{ buttons: DUEL_BUTTONS.right | DUEL_BUTTONS.down, x: 0, y: 0 }, NEUTRAL_INPUT]);
    const step = (DUEL_RULES.playerSpeed * Q8 * 181) >> 8;
    const me = sim.save();
    expect(me[playerBase(0) + P_X] - 400 * Q8).toBe(step);
    expect(me[playerBase(0) + P_Y] - 60 * Q8).toBe(step);
  });

  it('shots hurt, four hits kill, the killer scores and the victim respawns after the delay', () => {
    // Slot 0 at (200, 60) facing slot 1 at (400, 60) along an open corridor.
    const sim = simWith(2, (o) => {
      o.players[0][P_X] = 200 * Q8;
      o.players[0][P_Y] = 60 * Q8;
      o.players[1][P_X] = 400 * Q8;
      o.players[1][P_Y] = 60 * Q8;
      o.players[1][P_AIM_X] = -256;
      o.players[1][P_AIM_Y] = 0;
    });
    const shoot: Input = { buttons: DUEL_BUTTONS.fire, x: 127, y: 0 };
    let view = duelView(sim.save());
    let firstHitFrame = -1;
    while (view.players[1].alive && sim.frame < 300) {
      sim.step([shoot, NEUTRAL_INPUT]);
      view = duelView(sim.save());
      if (firstHitFrame < 0 && view.players[1].health < DUEL_RULES.maxHealth) {
        firstHitFrame = sim.frame;
        expect(view.players[1].health).toBe(DUEL_RULES.maxHealth - DUEL_RULES.projectileDamage);
      }
    }
    expect(firstHitFrame).toBeGreaterThan(0);
    expect(view.players[1]).toMatchObject({ alive: false, health: 0, deaths: 1, respawnIn: 90 });
    expect(view.players[0].score).toBe(1);
    expect(view.players[0].health).toBe(DUEL_RULES.maxHealth);
    for (let f = 0; f < DUEL_RULES.respawnDelay - 1; f++) sim.step([NEUTRAL_INPUT, NEUTRAL_INPUT]);
    expect(duelView(sim.save()).players[1]).toMatchObject({ alive: false, respawnIn: 1 });
    sim.step([NEUTRAL_INPUT, NEUTRAL_INPUT]);
    const back = duelView(sim.save()).players[1];
    expect(back).toMatchObject({ alive: true, health: 100, respawnIn: 0, invulnerableFor: 60 });
    expect(DUEL_ARENA.spawns).toContainEqual({ x: back.x, y: back.y });
    // Far from the killer at (200, 60): never the top-left corner.
    expect(back).not.toMatchObject({ x: 60, y: 60 });
  });

  it('a health pickup heals a hurt player and a rapid-fire pickup halves the cooldown', () => {
    const spot = DUEL_ARENA.pickupSpots[0];
    const onSpot = (kind: number, health: number) =>
      simWith(2, (o) => {
        o.players[0][P_X] = spot.x * Q8;
        o.players[0][P_Y] = spot.y * Q8;
        o.players[0][P_HEALTH] = health;
        o.pickups = [[0, kind, 0]];
      });
    const healed = onSpot(1, 50);
    healed.step([NEUTRAL_INPUT, NEUTRAL_INPUT]);
    let view = duelView(healed.save());
    expect(view.players[0].health).toBe(90);
    expect(view.pickups).toEqual([]);
    expect(view.pickupsCollected).toBe(1);

    const full = onSpot(1, 100);
    full.step([NEUTRAL_INPUT, NEUTRAL_INPUT]);
    expect(duelView(full.save()).pickups).toHaveLength(1); // left for someone who needs it

    const rapid = onSpot(2, 100);
    const fireDown: Input = { buttons: DUEL_BUTTONS.fire, x: 0, y: 127 };
    const shots = (sim: Sim<Int32Array>) => {
      let fired = 0;
      for (let f = 0; f < 60; f++) {
        const before = duelView(sim.save()).projectiles.length;
        sim.step([fireDown, NEUTRAL_INPUT]);
        if (duelView(sim.save()).projectiles.length > before) fired++;
      }
      return fired;
    };
    rapid.step([NEUTRAL_INPUT, NEUTRAL_INPUT]);
    view = duelView(rapid.save());
    expect(view.players[0].rapidFireFor).toBe(DUEL_RULES.rapidFireDuration);
    expect(shots(rapid)).toBe(60 / DUEL_RULES.rapidFireCooldown);
    expect(shots(duel.create({ players: 2, seed: 1 }))).toBe(60 / DUEL_RULES.fireCooldown);
  });

  it('spawns pickups on the timer at arena spots', () => {
    const sim = duel.create({ players: 2, seed: 3 });
    for (let f = 0; f < DUEL_RULES.firstPickup - 1; f++) sim.step([NEUTRAL_INPUT, NEUTRAL_INPUT]);
    expect(duelView(sim.save()).pickups).toHaveLength(0);
    sim.step([NEUTRAL_INPUT, NEUTRAL_INPUT]);
    const [pickup] = duelView(sim.save()).pickups;
    expect(DUEL_ARENA.pickupSpots).toContainEqual({ x: pickup.x, y: pickup.y });
    for (let f = 0; f < DUEL_RULES.pickupInterval * 5; f++)
      sim.step([NEUTRAL_INPUT, NEUTRAL_INPUT]);
    expect(duelView(sim.save()).pickups).toHaveLength(DUEL_RULES.maxPickups);
  });

  it('keeps the last aim when the axis pair is (0, 0)', () => {
    const sim = duel.create({ players: 2, seed: 1 });
    sim.step([{ buttons: 0, x: 0, y: -100 }, NEUTRAL_INPUT]);
    sim.step([NEUTRAL_INPUT, NEUTRAL_INPUT]);
    const s = sim.save();
    expect([s[playerBase(0) + P_AIM_X], s[playerBase(0) + P_AIM_Y]]).toEqual([0, -256]);
  });
});

/** The wall push of physics.ts without its broad phase: every wall, in index order. */
function moveByScan(along: number, across: number, axis: 0 | 1, delta: number): number {
  const r = DUEL_RULES.playerRadius * Q8;
  let a = along + delta;
  for (let box = 0; box < WALL_BOXES.length; box += 4) {
    const [minA, maxA] = [WALL_BOXES[box + axis], WALL_BOXES[box + axis + 2]];
    const [minC, maxC] = [WALL_BOXES[box + 1 - axis], WALL_BOXES[box + 3 - axis]];
    const da = a < minA ? a - minA : a > maxA ? a - maxA : 0;
    const dc = across < minC ? across - minC : across > maxC ? across - maxC : 0;
    if (Math.abs(da) >= r || Math.abs(dc) >= r || da * da + dc * dc >= r * r) continue;
    const reach = isqrtCeil(r * r - dc * dc);
    a = da < 0 || (da === 0 && delta > 0) ? minA - reach : maxA + reach;
  }
  return a;
}

function shotHitsByScan(x: number, y: number): boolean {
  const r = DUEL_RULES.projectileRadius * Q8;
  for (let box = 0; box < WALL_BOXES.length; box += 4) {
    const inX = x > WALL_BOXES[box] - r && x < WALL_BOXES[box + 2] + r;
    if (inX && y > WALL_BOXES[box + 1] - r && y < WALL_BOXES[box + 3] + r) return true;
  }
  return false;
}

describe('duel collision', () => {
  // Positions reach a little past the world on every side.
  const coord = (units: number) => fc.integer({ min: -40 * Q8, max: (units + 40) * Q8 });

  it('the wall grid gives the same pushes as scanning every wall', () => {
    const speed = DUEL_RULES.playerSpeed * Q8;
    fc.assert(
      fc.property(
        coord(DUEL_ARENA.width),
        coord(DUEL_ARENA.height),
        fc.constantFrom<0 | 1>(0, 1),
        fc.constantFrom(-speed, speed),
        (x, y, axis, delta) => {
          const [along, across] = axis === 0 ? [x, y] : [y, x];
          expect(moveCircleAxis(along, across, axis, delta)).toBe(
            moveByScan(along, across, axis, delta),
          );
        },
      ),
      { numRuns: 20000 },
    );
  });

  it('the wall grid gives the same shot hits as scanning every wall', () => {
    fc.assert(
      fc.property(coord(DUEL_ARENA.width), coord(DUEL_ARENA.height), (x, y) => {
        expect(shotHitsWall(x, y)).toBe(shotHitsByScan(x, y));
      }),
      { numRuns: 20000 },
    );
    // Along every wall edge, where the grid's cell borders matter most.
    for (let box = 0; box < WALL_BOXES.length; box += 4) {
      for (let d = -4 * Q8; d <= 4 * Q8; d += 32) {
        for (const [x, y] of [
          [WALL_BOXES[box] + d, WALL_BOXES[box + 1] + d],
          [WALL_BOXES[box + 2] + d, WALL_BOXES[box + 3] + d],
        ]) {
          expect(shotHitsWall(x, y)).toBe(shotHitsByScan(x, y));
        }
      }
    }
  });
});

describe('duel arithmetic', () => {
  it('divRound rounds to nearest with halves away from zero', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -(2 ** 30), max: 2 ** 30 }),
        fc.integer({ min: 1, max: 2 ** 20 }),
        (n, d) => {
          const q = divRound(n, d);
          expect(Math.abs(q * d - n) * 2).toBeLessThanOrEqual(d);
          if (Math.abs(q * d - n) * 2 === d) expect(Math.abs(q * d)).toBeGreaterThan(Math.abs(n));
        },
      ),
    );
  });

  it('keeps only integers in the state and in its encoding', () => {
    const match = playBots(3, 21, 500);
    const sim = duel.create({ players: 3, seed: 21 });
    for (const i of match.inputs) sim.step(i);
    const snap = sim.save();
    expect(snap).toBeInstanceOf(Int32Array);
    expect(allIntegers(canonicalDecode(sim.encode(snap)))).toBe(true);
    expect(allIntegers([...snap])).toBe(true);
  });

  it('isqrt is the floor square root over 0..2^32-1 and isqrtCeil the ceiling', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), (n) => {
        const r = isqrt(n);
        expect(r * r).toBeLessThanOrEqual(n);
        expect((r + 1) * (r + 1)).toBeGreaterThan(n);
        const c = isqrtCeil(n);
        expect(c * c).toBeGreaterThanOrEqual(n);
        expect(c === 0 || (c - 1) * (c - 1) < n).toBe(true);
      }),
    );
    for (const n of [0, 1, 2, 3, 4, 65535, 65536, 0xfffe0001, 0xffffffff]) {
      const r = isqrt(n);
      expect(r * r <= n && (r + 1) * (r + 1) > n).toBe(true);
    }
  });

  it('normalises every axis pair to a Q8 unit vector', () => {
    for (let x = -128; x <= 127; x++) {
      for (let y = -128; y <= 127; y++) {
        if (x === 0 && y === 0) continue;
        const len = lengthQ8(x, y);
        if (len !== isqrt((x * x + y * y) * 65536)) throw new Error(`length of (${x}, ${y})`);
        const ux = divRound(x * 65536, len);
        const uy = divRound(y * 65536, len);
        const sq = ux * ux + uy * uy;
        const bad = Math.abs(ux) > 256 || Math.abs(uy) > 256 || sq > 257 * 257 || sq < 255 * 255;
        if (bad) throw new Error(`(${x}, ${y}) → (${ux}, ${uy})`);
      }
    }
  });

  it('randomDuelInput gives valid inputs, firing about 30% of the time', () => {
    fc.assert(fc.property(fc.integer(), (n) => isValidInput(randomDuelInput(n))));
    const rng = Prng.fromSeed(4);
    let fired = 0;
    for (let i = 0; i < 10000; i++) {
      if (randomDuelInput(rng.nextU32()).buttons & DUEL_BUTTONS.fire) fired++;
    }
    expect(fired / 10000).toBeGreaterThan(0.27);
    expect(fired / 10000).toBeLessThan(0.33);
  });

  it('duelAim scales a direction to the i8 axis pair', () => {
    expect(duelAim(10, 0)).toEqual({ x: 127, y: 0 });
    expect(duelAim(-3, 3)).toEqual({ x: -127, y: 127 });
    expect(duelAim(0, 0)).toEqual({ x: 0, y: 0 });
    expect(duelAim(Number.NaN, 1)).toEqual({ x: 0, y: 0 });
    fc.assert(
      fc.property(fc.double({ noNaN: true }), fc.double({ noNaN: true }), (dx, dy) => {
        const aim = duelAim(dx, dy);
        expect(isValidInput({ buttons: 0, ...aim })).toBe(true);
      }),
    );
  });
});
