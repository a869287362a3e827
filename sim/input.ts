import { ConcordError } from './errors.ts';

/**
 * One player's input for one frame: a fixed-shape value, the same for every sim, so that the
 * session, the wire and the log never need to know which game is running.
 *
 * - `buttons`: a 16-bit field of held buttons (0..65535). Each sim names its bits.
 * - `x`, `y`: a signed 8-bit axis pair (-128..127 each), e.g. an aim direction or a stick.
 *
 * Encoded as {@link INPUT_BYTES} bytes by {@link encodeInput}.
 */
export interface Input {
  readonly buttons: number;
  readonly x: number;
  readonly y: number;
}

/** Size of an encoded {@link Input} in bytes: u16 buttons (little endian), i8 x, i8 y. */
export const INPUT_BYTES = 4;

/** The input of a player who presses nothing. */
export const NEUTRAL_INPUT: Input = Object.freeze({ buttons: 0, x: 0, y: 0 });

/** True when `input` has the fixed shape: integer fields inside their ranges. */
export function isValidInput(input: unknown): input is Input {
  if (typeof input !== 'object' || input === null) return false;
  const { buttons, x, y } = input as Record<string, unknown>;
  return (
    Number.isInteger(buttons) &&
    (buttons as number) >= 0 &&
    (buttons as number) <= 0xffff &&
    Number.isInteger(x) &&
    (x as number) >= -128 &&
    (x as number) <= 127 &&
    Number.isInteger(y) &&
    (y as number) >= -128 &&
    (y as number) <= 127
  );
}

/**
 * Encodes an input into its 4-byte wire form.
 * @throws ConcordError `BAD_INPUT` when a field is out of range or not an integer.
 */
export function encodeInput(input: Input): Uint8Array {
  if (!isValidInput(input)) {
    throw new ConcordError('BAD_INPUT', `input out of range: ${JSON.stringify(input)}`);
  }
  const out = new Uint8Array(INPUT_BYTES);
  out[0] = input.buttons & 0xff;
  out[1] = input.buttons >>> 8;
  out[2] = input.x & 0xff;
  out[3] = input.y & 0xff;
  return out;
}

/**
 * Decodes the 4-byte wire form of an input.
 * @throws ConcordError `BAD_INPUT` when `bytes` is not exactly {@link INPUT_BYTES} long.
 */
export function decodeInput(bytes: Uint8Array): Input {
  if (bytes.length !== INPUT_BYTES) {
    throw new ConcordError('BAD_INPUT', `input must be ${INPUT_BYTES} bytes, got ${bytes.length}`);
  }
  return {
    buttons: bytes[0] | (bytes[1] << 8),
    x: (bytes[2] << 24) >> 24,
    y: (bytes[3] << 24) >> 24,
  };
}

/** Field-wise equality of two inputs. */
export function inputsEqual(a: Input, b: Input): boolean {
  return a.buttons === b.buttons && a.x === b.x && a.y === b.y;
}
