import type { Input } from '../input.ts';

/**
 * The duel's button bits in {@link Input.buttons}: four directions (screen axes, y down) and
 * fire. Opposite directions held together cancel. Other bits are ignored.
 */
export const DUEL_BUTTONS = Object.freeze({ up: 1, down: 2, left: 4, right: 8, fire: 16 } as const);

const move = (buttons: number): Input => Object.freeze({ buttons, x: 0, y: 0 });
const B = DUEL_BUTTONS;

/**
 * The duel's named actions, for a game scene's `actions` (`{ ArrowLeft+ArrowUp: UPLEFT }`): the
 * eight directions, fire, and NOOP. Their axes are 0, which keeps the current aim (aiming is the
 * mouse's, see `duelAim`).
 */
export const DUEL_ACTIONS: Readonly<Record<string, Input>> = Object.freeze({
  NOOP: move(0),
  UP: move(B.up),
  DOWN: move(B.down),
  LEFT: move(B.left),
  RIGHT: move(B.right),
  UPLEFT: move(B.up | B.left),
  UPRIGHT: move(B.up | B.right),
  DOWNLEFT: move(B.down | B.left),
  DOWNRIGHT: move(B.down | B.right),
  FIRE: move(B.fire),
});

/**
 * A plausible random duel input from one random 32-bit number, for bots and tests: each direction
 * bit from bits 0..3, fire about 30% of the time (bits 4..11), aim x from bits 12..19 and aim y
 * from bits 20..27 (each -128..127). Pure: the same number gives the same input.
 * @param u32 any number; only its low 32 bits are used.
 */
export function randomDuelInput(u32: number): Input {
  const r = u32 >>> 0;
  const fire = ((r >>> 4) & 0xff) < 77 ? DUEL_BUTTONS.fire : 0;
  return {
    buttons: (r & 0xf) | fire,
    x: ((r >>> 12) & 0xff) - 128,
    y: ((r >>> 20) & 0xff) - 128,
  };
}

/**
 * Quantises a direction (any finite numbers, e.g. from the player to the mouse in world units)
 * to the input's signed 8-bit axis pair, scaled so that the longer component is ±127. Returns
 * `{x: 0, y: 0}` (keep the current aim) for a zero or non-finite vector. For input capture, not
 * for use inside a step.
 */
export function duelAim(dx: number, dy: number): { x: number; y: number } {
  const m = Math.max(Math.abs(dx), Math.abs(dy));
  if (!(m > 0) || !Number.isFinite(m)) return { x: 0, y: 0 };
  return { x: Math.round((dx / m) * 127) || 0, y: Math.round((dy / m) * 127) || 0 };
}
