/**
 * Hand-rolled MessagePack for the `input` kind, the hot path: the relay decodes every client
 * input and re-encodes it with the sender's slot. The bytes are exactly what msgpackr writes
 * for the same array (fixarray, positive fixint kind code and slot, the smallest unsigned
 * integer form for each frame, bin 8 for the input), so both directions stay plain
 * MessagePack; the readers accept only that form and return `undefined` for anything else,
 * which the caller then hands to the general decoder for a precise error or a slow-path decode.
 */
import { INPUT_BYTES, MAX_FRAME, MAX_PLAYERS } from './limits.ts';
import type { ClientMessage, ServerMessage } from './messages.ts';

/** Kind code of `input` among client messages. */
export const CLIENT_INPUT_CODE = 2;
/** Kind code of `input` among server messages. */
export const SERVER_INPUT_CODE = 2;

type ClientInput = Extract<ClientMessage, { kind: 'input' }>;
type ServerInput = Extract<ServerMessage, { kind: 'input' }>;

const isFrame = (n: unknown): n is number =>
  Number.isInteger(n) && (n as number) >= 0 && (n as number) <= MAX_FRAME;

function uintSize(n: number): number {
  return n < 0x80 ? 1 : n < 0x100 ? 2 : n < 0x1_0000 ? 3 : 5;
}

function writeUint(out: Uint8Array, p: number, n: number): number {
  if (n < 0x80) {
    out[p] = n;
    return p + 1;
  }
  if (n < 0x100) {
    out[p] = 0xcc;
    out[p + 1] = n;
    return p + 2;
  }
  if (n < 0x1_0000) {
    out[p] = 0xcd;
    out[p + 1] = n >>> 8;
    out[p + 2] = n & 0xff;
    return p + 3;
  }
  out[p] = 0xce;
  out[p + 1] = n >>> 24;
  out[p + 2] = (n >>> 16) & 0xff;
  out[p + 3] = (n >>> 8) & 0xff;
  out[p + 4] = n & 0xff;
  return p + 5;
}

function writeInput(out: Uint8Array, p: number, input: Uint8Array): number {
  out[p] = 0xc4; // bin 8
  out[p + 1] = INPUT_BYTES;
  out[p + 2] = input[0];
  out[p + 3] = input[1];
  out[p + 4] = input[2];
  out[p + 5] = input[3];
  return p + 2 + INPUT_BYTES;
}

/** Encodes a client `input`, or returns `undefined` if a field is invalid. */
export function writeClientInput(m: ClientInput): Uint8Array | undefined {
  const { frame, input, currentFrame } = m;
  if (!isFrame(frame) || !isFrame(currentFrame)) return undefined;
  if (!(input instanceof Uint8Array) || input.length !== INPUT_BYTES) return undefined;
  const out = new Uint8Array(2 + uintSize(frame) + 2 + INPUT_BYTES + uintSize(currentFrame));
  out[0] = 0x94; // fixarray of 4
  out[1] = CLIENT_INPUT_CODE;
  writeUint(out, writeInput(out, writeUint(out, 2, frame), input), currentFrame);
  return out;
}

/** Encodes a server `input`, or returns `undefined` if a field is invalid. */
export function writeServerInput(m: ServerInput): Uint8Array | undefined {
  const { slot, frame, input, currentFrame } = m;
  if (!Number.isInteger(slot) || slot < 0 || slot >= MAX_PLAYERS) return undefined;
  if (!isFrame(frame) || !isFrame(currentFrame)) return undefined;
  if (!(input instanceof Uint8Array) || input.length !== INPUT_BYTES) return undefined;
  const out = new Uint8Array(3 + uintSize(frame) + 2 + INPUT_BYTES + uintSize(currentFrame));
  out[0] = 0x95; // fixarray of 5
  out[1] = SERVER_INPUT_CODE;
  out[2] = slot;
  writeUint(out, writeInput(out, writeUint(out, 3, frame), input), currentFrame);
  return out;
}

// Reader state: the position after the last uint read (avoids allocating a result pair).
let at = 0;

/** Reads an unsigned integer in the forms {@link writeUint} writes at `at`; -1 if it is not one. */
function readUint(b: Uint8Array): number {
  const n = b.length;
  const p = at;
  if (p >= n) return -1;
  const t = b[p];
  if (t < 0x80) {
    at = p + 1;
    return t;
  }
  if (t === 0xcc && p + 1 < n) {
    at = p + 2;
    return b[p + 1];
  }
  if (t === 0xcd && p + 2 < n) {
    at = p + 3;
    return (b[p + 1] << 8) | b[p + 2];
  }
  if (t === 0xce && p + 4 < n) {
    at = p + 5;
    return ((b[p + 1] << 24) | (b[p + 2] << 16) | (b[p + 3] << 8) | b[p + 4]) >>> 0;
  }
  return -1;
}

/** Reads the 4 input bytes at `at` (after a bin 8 header) into a fresh array, or `undefined`. */
function readInput(b: Uint8Array): Uint8Array | undefined {
  const p = at;
  if (p + 2 + INPUT_BYTES > b.length || b[p] !== 0xc4 || b[p + 1] !== INPUT_BYTES) return undefined;
  const input = new Uint8Array(INPUT_BYTES);
  input[0] = b[p + 2];
  input[1] = b[p + 3];
  input[2] = b[p + 4];
  input[3] = b[p + 5];
  at = p + 2 + INPUT_BYTES;
  return input;
}

/** Decodes a client `input` in its canonical form, or returns `undefined` for anything else. */
export function readClientInput(b: Uint8Array): ClientInput | undefined {
  if (b.length < 10 || b[0] !== 0x94 || b[1] !== CLIENT_INPUT_CODE) return undefined;
  at = 2;
  const frame = readUint(b);
  if (frame < 0 || frame > MAX_FRAME) return undefined;
  const input = readInput(b);
  if (input === undefined) return undefined;
  const currentFrame = readUint(b);
  if (currentFrame < 0 || currentFrame > MAX_FRAME || at !== b.length) return undefined;
  return { kind: 'input', frame, input, currentFrame };
}

/** Decodes a server `input` in its canonical form, or returns `undefined` for anything else. */
export function readServerInput(b: Uint8Array): ServerInput | undefined {
  if (b.length < 11 || b[0] !== 0x95 || b[1] !== SERVER_INPUT_CODE) return undefined;
  const slot = b[2];
  if (slot >= MAX_PLAYERS) return undefined;
  at = 3;
  const frame = readUint(b);
  if (frame < 0 || frame > MAX_FRAME) return undefined;
  const input = readInput(b);
  if (input === undefined) return undefined;
  const currentFrame = readUint(b);
  if (currentFrame < 0 || currentFrame > MAX_FRAME || at !== b.length) return undefined;
  return { kind: 'input', slot, frame, input, currentFrame };
}
