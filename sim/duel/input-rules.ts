import type { Input } from '../input.ts';
import type { InputRuleVerdict, SimInputRules } from '../input-rules.ts';
import type { Frame, PlayerSlot } from '../sim.ts';
import { DUEL_BUTTONS } from './controls.ts';
import { DUEL_RULES } from './rules.ts';

/** The button bits the duel gives a meaning to. */
const KNOWN_BUTTONS =
  DUEL_BUTTONS.up | DUEL_BUTTONS.down | DUEL_BUTTONS.left | DUEL_BUTTONS.right | DUEL_BUTTONS.fire;

/**
 * Fewest frames between two presses of fire (fire held after a frame without it): the shortest
 * cooldown any weapon has (rapid fire's, 6 frames: 10 presses a second at 60 Hz). A faster
 * press is more than the weapon can fire and faster than people tap; an auto-clicker toggling
 * fire every other frame presses 30 times a second.
 */
export const MIN_FIRE_PRESS_FRAMES = DUEL_RULES.rapidFireCooldown;

/**
 * The duel's own input rules, for the host of an authoritative match:
 *
 * - `unknownButtons`: buttons other than the four directions and fire are set: a move the duel
 *   does not have. Corrected by clearing those bits.
 * - `fireRate`: fire pressed again fewer than {@link MIN_FIRE_PRESS_FRAMES} frames after the
 *   last press, i.e. more often than the weapon's cooldown allows. Corrected by releasing fire
 *   for that frame (the shot, which the cooldown would refuse anyway, is not attempted).
 *
 * There is no speed rule on the input itself because a duel input cannot express a speed: it
 * holds directions, and the step moves a player `playerSpeed` units per frame whatever is held.
 * The only ways to move faster are more inputs than frames or inputs stamped ahead of time, and
 * the framework's `rate` and `tooFarAhead` rules refuse those (see `InputValidator`). Holding
 * fire is allowed (the cooldown paces it); only presses are counted, and only when the previous
 * frame's input is known (inputs that arrive out of order are not judged for presses).
 */
export function duelInputRules(players: number): SimInputRules {
  const lastFrame = new Array<number>(players).fill(-2);
  const lastFire = new Array<boolean>(players).fill(false);
  const lastPress = new Array<number>(players).fill(Number.NEGATIVE_INFINITY);
  return {
    check(slot: PlayerSlot, frame: Frame, input: Input): InputRuleVerdict {
      let out = input;
      let violation: string | undefined;
      if ((input.buttons & ~KNOWN_BUTTONS) !== 0) {
        out = { ...out, buttons: out.buttons & KNOWN_BUTTONS };
        violation = 'unknownButtons';
      }
      const fire = (out.buttons & DUEL_BUTTONS.fire) !== 0;
      if (frame === lastFrame[slot] + 1 && fire && !lastFire[slot]) {
        if (frame - lastPress[slot] < MIN_FIRE_PRESS_FRAMES) {
          out = { ...out, buttons: out.buttons & ~DUEL_BUTTONS.fire };
          violation ??= 'fireRate';
        } else {
          lastPress[slot] = frame;
        }
      }
      if (frame > lastFrame[slot]) {
        lastFrame[slot] = frame;
        // What was sent, not what was applied: a refused press still ends with fire held, so
        // holding on is not counted as a second press.
        lastFire[slot] = fire;
      }
      return violation === undefined ? { input: out } : { input: out, violation };
    },
  };
}
