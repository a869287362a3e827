import type { Input } from '../input.ts';
import type { PlayerSlot } from '../sim.ts';

/** A value that JSON carries unchanged between JavaScript and Python. */
export type JsonValue =
  | null
  | boolean
  | number
  | string
  | readonly JsonValue[]
  | { readonly [key: string]: JsonValue };

/**
 * Turns one player's input into the action its agent takes, as the scene defines it. Must be a
 * pure function of its arguments (it runs again on every re-simulation). The result reaches
 * Python through JSON: a number becomes an `int` (or a `float` when it has a fraction), an
 * array a `list`, an object a `dict`.
 */
export type ActionMapping = (input: Input, slot: PlayerSlot) => JsonValue;

/**
 * The default mapping, for environments with a discrete action space: the action is the index
 * of the lowest held button bit plus one, and 0 (conventionally "no-op") when no button is held.
 * Button bit 0 gives action 1, bit 4 gives action 5. The axes are ignored.
 */
export const discreteActionMapping: ActionMapping = (input) => {
  const b = input.buttons & 0xffff;
  if (b === 0) return 0;
  return 32 - Math.clz32(b & -b);
};
