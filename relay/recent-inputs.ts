/**
 * A member's most recent inputs, in a ring of typed arrays (nothing allocated per input): what
 * the relay compares a repeated input against (an input for a held (frame, slot) is dropped when
 * equal, refused when different) and what it repeats in the datagrams to the other peers until
 * they report holding it. Input redundancy as in GGPO's UDP protocol and Photon Quantum.
 */
import { type Frame, INPUT_BYTES, type InputSource } from '../protocol/index.ts';

/**
 * Frames of input kept per member: two seconds at 60 fps, twice the most one datagram carries
 * (`MAX_DATAGRAM_INPUTS`). A peer that lacks older inputs has been silent for longer than
 * `auto` waits before it falls back to websocket, which resends from the match's input history.
 */
export const RECENT_INPUT_FRAMES = 128;

/** One member's inputs for frames `[next - RECENT_INPUT_FRAMES, next)` (those it has sent). */
export class RecentInputs implements InputSource {
  private readonly bytes = new Uint8Array(RECENT_INPUT_FRAMES * INPUT_BYTES);
  private readonly currentFrames = new Int32Array(RECENT_INPUT_FRAMES);
  /** The first frame held (inputs below the first input frame are never sent). */
  private first: Frame;
  private next: Frame;

  /** @param firstFrame the member's first input frame (the scene's input delay) */
  constructor(firstFrame: Frame) {
    this.first = firstFrame;
    this.next = firstFrame;
  }

  /** The lowest frame still held. */
  get oldest(): Frame {
    return Math.max(this.first, this.next - RECENT_INPUT_FRAMES);
  }

  /** Appends the input of frame `next` (its 4 bytes at `at` in `input`). */
  push(frame: Frame, input: Uint8Array, currentFrame: Frame, at = 0): void {
    const i = frame % RECENT_INPUT_FRAMES;
    this.bytes.set(input.subarray(at, at + INPUT_BYTES), i * INPUT_BYTES);
    this.currentFrames[i] = currentFrame;
    this.next = frame + 1;
  }

  /** Whether `frame`'s input is held. */
  has(frame: Frame): boolean {
    return frame >= this.oldest && frame < this.next;
  }

  /** Whether the held input of `frame` equals the 4 bytes at `at` in `input` (`has(frame)` first). */
  equals(frame: Frame, input: Uint8Array, at = 0): boolean {
    const p = (frame % RECENT_INPUT_FRAMES) * INPUT_BYTES;
    for (let k = 0; k < INPUT_BYTES; k++) if (this.bytes[p + k] !== input[at + k]) return false;
    return true;
  }

  /** The current frame its sender showed when it sent `frame`'s input (`has(frame)` first). */
  currentFrameOf(frame: Frame): Frame {
    return this.currentFrames[frame % RECENT_INPUT_FRAMES];
  }

  copyInput(frame: Frame, out: Uint8Array, at: number): void {
    const p = (frame % RECENT_INPUT_FRAMES) * INPUT_BYTES;
    for (let k = 0; k < INPUT_BYTES; k++) out[at + k] = this.bytes[p + k];
  }
}
