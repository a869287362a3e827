import { type Frame, type Input, inputsEqual } from '../index.ts';

/**
 * One player's inputs by frame: the confirmed ones (received or local) and the predictions the
 * session advanced with. Detects a misprediction the moment a confirmed input arrives that differs
 * from the prediction used for its frame. Idea: GGPO's and GGRS's `InputQueue`.
 */
export class InputQueue {
  /** Confirmed inputs, `confirmed[frame - base]`; holes are `undefined`. */
  private confirmed: (Input | undefined)[] = [];
  private base: Frame = 0;
  /** Highest frame f such that every frame in [floor, f] is confirmed; floor - 1 when none. */
  private contiguous: Frame;
  /** Inputs this peer advanced with, by frame, while they were still predictions. */
  private readonly predictions = new Map<Frame, Input>();
  /** Lowest frame whose prediction proved wrong and has not been re-simulated yet. */
  private incorrect: Frame | null = null;
  /** Inputs received again for a frame that already had a different confirmed input. */
  conflicts = 0;
  /** Inputs received again, identical to the confirmed one (harmless duplicates). */
  duplicates = 0;

  /** When set, the player left: every frame after it has this input, confirmed. */
  private left: { after: Frame; input: Input } | null = null;

  constructor(floor: Frame = 0) {
    this.base = floor;
    this.contiguous = floor - 1;
  }

  /** Highest frame up to which every input is confirmed (floor - 1 when none). */
  get lastConfirmedFrame(): Frame {
    return this.left !== null && this.contiguous >= this.left.after
      ? Number.POSITIVE_INFINITY
      : this.contiguous;
  }

  /**
   * The player left after frame `after` (its last input): every later frame's input is `input`
   * (the sim's default), confirmed. Predictions already made for those frames are checked
   * against it like any confirmed input. Inputs received later for those frames are ignored.
   */
  leaveAfter(after: Frame, input: Input): void {
    this.left = { after, input };
    for (const [f, predicted] of this.predictions) {
      if (f <= after) continue;
      this.predictions.delete(f);
      if (!inputsEqual(predicted, input) && (this.incorrect === null || f < this.incorrect)) {
        this.incorrect = f;
      }
    }
  }

  /** Lowest frame whose prediction was wrong, or null. */
  get firstIncorrectFrame(): Frame | null {
    return this.incorrect;
  }

  /**
   * Records the confirmed input of `frame`. Duplicates are counted and ignored; a different input
   * for a frame already confirmed is counted as a conflict and ignored (the first one stands).
   * Frames below the floor are ignored.
   * @returns true when the input was new.
   */
  add(frame: Frame, input: Input): boolean {
    if (frame < this.base || (this.left !== null && frame > this.left.after)) return false;
    const i = frame - this.base;
    const old = this.confirmed[i];
    if (old !== undefined) {
      if (inputsEqual(old, input)) this.duplicates++;
      else this.conflicts++;
      return false;
    }
    this.confirmed[i] = input;
    const predicted = this.predictions.get(frame);
    if (predicted !== undefined) {
      this.predictions.delete(frame);
      if (!inputsEqual(predicted, input) && (this.incorrect === null || frame < this.incorrect)) {
        this.incorrect = frame;
      }
    }
    while (this.confirmed[this.contiguous + 1 - this.base] !== undefined) this.contiguous++;
    return true;
  }

  /** The confirmed input of `frame`, or undefined. */
  get(frame: Frame): Input | undefined {
    if (this.left !== null && frame > this.left.after) return this.left.input;
    return frame < this.base ? undefined : this.confirmed[frame - this.base];
  }

  /**
   * The input to advance `frame` with: the confirmed one, else a prediction (recorded, so that
   * the confirmed input can be checked against it when it arrives).
   */
  inputFor(frame: Frame, predict: (lastConfirmed: Input | undefined) => Input): Input {
    const known = this.get(frame);
    if (known !== undefined) return known;
    const p = predict(this.get(this.contiguous));
    this.predictions.set(frame, p);
    return p;
  }

  /** Forgets mispredictions: called once the session has re-simulated from the incorrect frame. */
  clearIncorrect(): void {
    this.incorrect = null;
  }

  /**
   * Treats every frame below `frame` as settled (a state for `frame` was loaded from elsewhere):
   * their inputs are no longer needed, and predictions for them are dropped.
   */
  settleBefore(frame: Frame): void {
    if (frame > this.base) {
      this.confirmed.splice(0, frame - this.base);
      this.base = frame;
    }
    if (this.contiguous < frame - 1) this.contiguous = frame - 1;
    while (this.confirmed[this.contiguous + 1 - this.base] !== undefined) this.contiguous++;
    for (const f of [...this.predictions.keys()]) if (f < frame) this.predictions.delete(f);
    if (this.incorrect !== null && this.incorrect < frame) this.incorrect = null;
  }

  /**
   * Frees stored inputs below `frame` (memory only; the session never needs them again). The last
   * confirmed input stays, as the basis of the next prediction. Splices in batches.
   */
  discardBefore(frame: Frame): void {
    const drop = Math.min(frame, this.contiguous) - this.base;
    if (drop < 1024) return;
    this.confirmed.splice(0, drop);
    this.base += drop;
  }
}
