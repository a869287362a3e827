/**
 * The inputs a room forwarded since its last agreed checkpoint, kept for peers that rejoin,
 * packed in typed arrays (no object per input, nothing for the garbage collector to trace).
 */

import type { Frame, PlayerSlot } from '../protocol/index.ts';

/** One forwarded input, as {@link InputHistory.forEachFrom} hands it out. */
export interface HistoryInput {
  readonly slot: PlayerSlot;
  readonly frame: Frame;
  /** The input bytes (a fresh copy). */
  readonly input: Uint8Array;
  /** The sender's current frame when it sent the input. */
  readonly currentFrame: Frame;
}

const INITIAL_CAPACITY = 1024;

/** Inputs in the order forwarded: slot, frame, the sender's current frame and `inputBytes` bytes. */
export class InputHistory {
  private slots: Uint8Array;
  private frames: Float64Array;
  private currentFrames: Float64Array;
  private inputs: Uint8Array;
  private count = 0;

  /**
   * @param inputBytes - the size of every input, bytes (the protocol's `INPUT_BYTES`)
   * @throws RangeError for a size that is not a positive integer
   */
  constructor(private readonly inputBytes: number) {
    if (!Number.isInteger(inputBytes) || inputBytes <= 0)
      throw new RangeError(`inputBytes must be a positive integer, got ${inputBytes}`);
    this.slots = new Uint8Array(INITIAL_CAPACITY);
    this.frames = new Float64Array(INITIAL_CAPACITY);
    this.currentFrames = new Float64Array(INITIAL_CAPACITY);
    this.inputs = new Uint8Array(INITIAL_CAPACITY * inputBytes);
  }

  /** Inputs held. */
  get length(): number {
    return this.count;
  }

  /**
   * Appends one input (its bytes are copied).
   * @throws RangeError when `input` is not `inputBytes` long or `slot` is not 0–255
   */
  push(slot: PlayerSlot, frame: Frame, input: Uint8Array, currentFrame: Frame): void {
    if (input.length !== this.inputBytes)
      throw new RangeError(`an input is ${this.inputBytes} bytes, got ${input.length}`);
    if (!(slot >= 0 && slot <= 255)) throw new RangeError(`slot ${slot} is not 0–255`);
    if (this.count === this.slots.length) this.grow();
    const i = this.count++;
    this.slots[i] = slot;
    this.frames[i] = frame;
    this.currentFrames[i] = currentFrame;
    this.inputs.set(input, i * this.inputBytes);
  }

  /** Drops every input stamped for a frame below `floor`, keeping the others in order. */
  dropBelow(floor: Frame): void {
    const n = this.inputBytes;
    let kept = 0;
    for (let i = 0; i < this.count; i++) {
      if (this.frames[i] < floor) continue;
      if (kept !== i) {
        this.slots[kept] = this.slots[i];
        this.frames[kept] = this.frames[i];
        this.currentFrames[kept] = this.currentFrames[i];
        this.inputs.copyWithin(kept * n, i * n, (i + 1) * n);
      }
      kept++;
    }
    this.count = kept;
  }

  /** Calls `visit` with every input stamped for `frame` or later, in the order forwarded. */
  forEachFrom(frame: Frame, visit: (h: HistoryInput) => void): void {
    const n = this.inputBytes;
    for (let i = 0; i < this.count; i++) {
      if (this.frames[i] < frame) continue;
      visit({
        slot: this.slots[i],
        frame: this.frames[i],
        input: this.inputs.slice(i * n, (i + 1) * n),
        currentFrame: this.currentFrames[i],
      });
    }
  }

  private grow(): void {
    const capacity = this.slots.length * 2;
    const slots = new Uint8Array(capacity);
    slots.set(this.slots);
    const frames = new Float64Array(capacity);
    frames.set(this.frames);
    const currentFrames = new Float64Array(capacity);
    currentFrames.set(this.currentFrames);
    const inputs = new Uint8Array(capacity * this.inputBytes);
    inputs.set(this.inputs);
    this.slots = slots;
    this.frames = frames;
    this.currentFrames = currentFrames;
    this.inputs = inputs;
  }
}
