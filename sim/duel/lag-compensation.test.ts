import { describe, expect, it } from 'vitest';
import { type Input, NEUTRAL_INPUT } from '../input.ts';
import { rewindFrames, SnapshotHistory, ViewDelayEstimator } from '../lag-compensation.ts';
import { DUEL_BUTTONS, DUEL_RULES, duel } from './index.ts';
import { P_HEALTH, P_X, P_Y, playerBase } from './layout.ts';

const Q8 = 256;
const TICK_RATE = 60;
const SHOOTER = 0;
const TARGET = 1;
/** 150 ms round trip at 60 Hz. */
const RTT_FRAMES = 9;
/** The scene's interpolation delay, 100 ms. */
const INTERPOLATION_FRAMES = 6;
/** The shooter stamps its inputs this far ahead of the host frame they arrive at. */
const LEAD_FRAMES = 2;
/** The target starts moving up out of the line of fire at this frame. */
const TARGET_MOVES = 60;
/** The shooter's fire input is stamped for this frame: on its screen the target has not moved yet. */
const FIRE_FRAME = 65;

interface Played {
  /** S(f) for every frame stepped, and the state after the last. */
  readonly states: Int32Array[];
  /** The target's health after each frame. */
  readonly health: number[];
  /** The frame the shooter's view showed when it stamped its fire input. */
  readonly seenAtFire: number;
}

/**
 * A host loop in miniature: the shooter (slot 0) at (360, 180) aiming right, the target (slot 1)
 * 60 units to its right, standing until TARGET_MOVES and then walking up. The shooter's inputs
 * arrive LEAD_FRAMES before their frame; its acknowledgements of the states broadcast every 3
 * frames arrive a round trip later. The host estimates its view delay from those and, with lag
 * compensation, passes the rewind view to every step.
 */
function play(lagCompensation: boolean, maxRewindMs: number): Played {
  const sim = duel.create({ players: 2, seed: 7 });
  const start = sim.save().slice();
  start[playerBase(SHOOTER) + P_X] = 360 * Q8;
  start[playerBase(SHOOTER) + P_Y] = 180 * Q8;
  start[playerBase(TARGET) + P_X] = 420 * Q8;
  start[playerBase(TARGET) + P_Y] = 180 * Q8;
  sim.load(start);
  const history = new SnapshotHistory<Int32Array>(rewindFrames(maxRewindMs, TICK_RATE), 2);
  const estimator = new ViewDelayEstimator(2, INTERPOLATION_FRAMES);
  const states: Int32Array[] = [];
  const health: number[] = [];
  let seenAtFire = -1;
  for (let f = 0; f < 120; f++) {
    estimator.onInput(SHOOTER, f + LEAD_FRAMES, f);
    if (f >= RTT_FRAMES && (f - RTT_FRAMES) % 3 === 0) estimator.onAck(SHOOTER, f - RTT_FRAMES, f);
    history.setViewDelay(SHOOTER, estimator.delay(SHOOTER));
    history.record(f, sim.save(history.reusable(f)));
    states.push(sim.save().slice());
    const shooter: Input =
      f === FIRE_FRAME ? { buttons: DUEL_BUTTONS.fire, x: 127, y: 0 } : NEUTRAL_INPUT;
    const target: Input =
      f >= TARGET_MOVES ? { buttons: DUEL_BUTTONS.up, x: 0, y: 0 } : NEUTRAL_INPUT;
    const view = history.viewAt(f);
    if (f === FIRE_FRAME) seenAtFire = view.seenFrame(SHOOTER);
    sim.step([shooter, target], lagCompensation ? view : undefined);
    health.push(sim.save()[playerBase(TARGET) + P_HEALTH]);
  }
  states.push(sim.save().slice());
  return { states, health, seenAtFire };
}

const at = (s: Int32Array, slot: number) => ({
  x: s[playerBase(slot) + P_X] / Q8,
  y: s[playerBase(slot) + P_Y] / Q8,
});

describe('duel lag compensation', () => {
  it('a shot at 150 ms round trip hits where the shooter saw the target', () => {
    // A rewind cap that covers the round trip, the lead and the interpolation delay (283 ms).
    const compensated = play(true, 300);
    // The shooter's view lagged its input by lead + round trip + interpolation: 17 frames.
    expect(FIRE_FRAME - compensated.seenAtFire).toBe(
      LEAD_FRAMES + RTT_FRAMES + INTERPOLATION_FRAMES,
    );
    // On the shooter's screen the target stood still in the line of fire, at (420, 180)...
    expect(at(compensated.states[compensated.seenAtFire], TARGET)).toEqual({ x: 420, y: 180 });
    // ...while on the host it had already walked up out of it.
    expect(at(compensated.states[FIRE_FRAME], TARGET).y).toBeLessThan(180 - 10);

    const hitFrame = compensated.health.findIndex((h) => h < DUEL_RULES.maxHealth);
    expect(hitFrame).toBeGreaterThan(FIRE_FRAME);
    expect(compensated.health[hitFrame]).toBe(DUEL_RULES.maxHealth - DUEL_RULES.projectileDamage);
    // When the hit was judged, the live target was beyond the shot's reach (so only the rewind
    // made it a hit) and the rewound one was where the shooter saw it.
    const reach = DUEL_RULES.playerRadius + DUEL_RULES.projectileRadius;
    expect(180 - at(compensated.states[hitFrame + 1], TARGET).y).toBeGreaterThan(reach);

    // The same match without lag compensation: the shot misses.
    const uncompensated = play(false, 300);
    expect(uncompensated.health.every((h) => h === DUEL_RULES.maxHealth)).toBe(true);
  });

  it('steps exactly as before when no rewind is passed, and when every view delay is zero', () => {
    const a = duel.create({ players: 2, seed: 3 });
    const b = duel.create({ players: 2, seed: 3 });
    const history = new SnapshotHistory<Int32Array>(12, 2);
    for (let f = 0; f < 400; f++) {
      const inputs: Input[] = [
        {
          buttons: f % 7 === 0 ? DUEL_BUTTONS.fire | DUEL_BUTTONS.right : DUEL_BUTTONS.down,
          x: 127,
          y: 40,
        },
        { buttons: f % 5 === 0 ? DUEL_BUTTONS.fire : DUEL_BUTTONS.left, x: -127, y: -30 },
      ];
      history.record(f, b.save(history.reusable(f)));
      a.step(inputs);
      b.step(inputs, history.viewAt(f));
      expect(b.save()).toEqual(a.save());
    }
  });
});

describe('SnapshotHistory', () => {
  it('keeps S(f - capacity) .. S(f) and clamps a view delay to the rewind cap', () => {
    const h = new SnapshotHistory<number>(rewindFrames(200, 60), 2);
    expect(h.capacity).toBe(12);
    for (let f = 0; f <= 40; f++) h.record(f, f * 10);
    expect(h.at(28)).toBe(280);
    expect(h.at(27)).toBeUndefined();
    expect(h.setViewDelay(0, 30)).toBe(true);
    expect(h.viewDelay(0)).toBe(12);
    expect(h.setViewDelay(0, 12)).toBe(false);
    const view = h.viewAt(40);
    expect(view.seenFrame(0)).toBe(28);
    expect(view.seenState(0)).toBe(280);
    // Delay 0: nothing to rewind, the sim uses its live state.
    expect(view.seenFrame(1)).toBe(40);
    expect(view.seenState(1)).toBeUndefined();
  });

  it('never rewinds before the first state held', () => {
    const h = new SnapshotHistory<number>(12, 1);
    h.record(3, 30);
    h.record(4, 40);
    h.setViewDelay(0, 10);
    expect(h.viewAt(4).seenFrame(0)).toBe(3);
    expect(() => rewindFrames(1001, 60)).toThrow(/maxRewindMs/);
  });
});
