/**
 * Input redundancy for an unreliable, unordered channel, both ends, pure (no sockets, no clock).
 *
 * The sender keeps its own inputs from the first frame the receiver has not acknowledged and puts
 * all of them in every datagram, so any one datagram that arrives brings the receiver up to date
 * and a lost one costs nothing but its own latency (GGPO's UDP protocol resends every
 * unacknowledged input in each packet; Photon Quantum calls it input redundancy). The receiver
 * acknowledges the highest frame it holds contiguously, delivers each input exactly once in
 * frame order, and refuses an input that contradicts one it already holds.
 */
// protocol/index.ts does not export the datagram codec yet (it joins the entry at integration).
import { type ClientDatagram, MAX_DATAGRAM_INPUTS } from '../../protocol/datagram.ts';
import { INPUT_BYTES, MAX_FRAME } from '../../protocol/index.ts';

/**
 * The sender's redundancy window: its own inputs from the first unacknowledged frame to the
 * newest, at most `maxInputs` of them.
 */
export class RedundantInputSender {
  private readonly window: Uint8Array[] = [];
  private first: number;
  private readonly maxInputs: number;
  /** Acks above the newest frame sent (a relay bug), ignored. */
  badAcks = 0;

  /**
   * @param firstFrame the frame of the first input this sender will push (>= 0)
   * @param maxInputs the window bound, 1..{@link MAX_DATAGRAM_INPUTS} (default 64): the most
   *   inputs one datagram may carry
   * @throws RangeError when either is out of range
   */
  constructor(firstFrame = 0, maxInputs = MAX_DATAGRAM_INPUTS) {
    if (!Number.isInteger(firstFrame) || firstFrame < 0 || firstFrame > MAX_FRAME) {
      throw new RangeError(`firstFrame must be an integer in 0..${MAX_FRAME}, got ${firstFrame}`);
    }
    if (!Number.isInteger(maxInputs) || maxInputs < 1 || maxInputs > MAX_DATAGRAM_INPUTS) {
      throw new RangeError(`maxInputs must be in 1..${MAX_DATAGRAM_INPUTS}, got ${maxInputs}`);
    }
    this.first = firstFrame;
    this.maxInputs = maxInputs;
  }

  /** The first frame not yet acknowledged (the start frame of the next datagram). */
  get firstUnacked(): number {
    return this.first;
  }

  /** The frame the next {@link push} must carry. */
  get nextFrame(): number {
    return this.first + this.window.length;
  }

  /** Inputs sent and not yet acknowledged, 0..maxInputs. */
  get unacked(): number {
    return this.window.length;
  }

  /** Whether the window has room for one more input; when not, the session must stall. */
  canPush(): boolean {
    return this.window.length < this.maxInputs && this.nextFrame <= MAX_FRAME;
  }

  /**
   * Adds this peer's input for `frame` (copied).
   * @throws RangeError when `frame` is not {@link nextFrame}, the input is not 4 bytes, or the
   *   window is full ({@link canPush} is false)
   */
  push(frame: number, input: Uint8Array): void {
    if (frame !== this.nextFrame) {
      throw new RangeError(`push: expected frame ${this.nextFrame}, got ${frame}`);
    }
    if (!(input instanceof Uint8Array) || input.length !== INPUT_BYTES) {
      throw new RangeError(`push: an input is ${INPUT_BYTES} bytes`);
    }
    if (!this.canPush()) {
      throw new RangeError(`push: the window of ${this.maxInputs} unacknowledged inputs is full`);
    }
    this.window.push(input.slice());
  }

  /**
   * The receiver holds every input up to `ackFrame`: drops those from the window. Stale acks
   * (at or below what was already acknowledged, e.g. reordered) change nothing; an ack above the
   * newest frame pushed is counted in {@link badAcks} and ignored.
   * @returns how many inputs were dropped
   */
  ack(ackFrame: number): number {
    if (ackFrame < this.first) return 0;
    if (ackFrame >= this.nextFrame) {
      this.badAcks++;
      return 0;
    }
    const n = ackFrame - this.first + 1;
    this.window.splice(0, n);
    this.first += n;
    return n;
  }

  /**
   * The datagram to send now: every unacknowledged input.
   * @param currentFrame the frame this peer shows (for time sync)
   * @param held per slot, the highest frame of that player's inputs this peer holds, or -1
   */
  datagram(currentFrame: number, held: readonly number[]): ClientDatagram {
    return {
      kind: 'inputs',
      currentFrame,
      startFrame: this.first,
      inputs: this.window.slice(),
      held,
    };
  }
}

/** One input delivered by an {@link InputReceiver}. */
export interface ReceivedInput {
  readonly frame: number;
  readonly input: Uint8Array;
}

/** Counters of an {@link InputReceiver}. */
export interface InputReceiverStats {
  /** Inputs delivered (each frame once). */
  readonly delivered: number;
  /** Inputs received again with the same bytes: dropped. */
  readonly duplicates: number;
  /** Inputs received again with DIFFERENT bytes for a frame already held: refused. */
  readonly conflicts: number;
  /** Inputs older than the kept history or the first frame (cannot be compared): dropped. */
  readonly stale: number;
  /** Inputs `window` or more frames past the next frame due: refused. */
  readonly outOfWindow: number;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * The receiving end of one player's redundant inputs (the relay keeps one per slot, so a key is
 * a (frame, slot) pair): delivers each input exactly once, in frame order, without gaps; drops an
 * input for a frame it already holds when the bytes are equal, and refuses and counts it when
 * they differ (a peer may not change an input it already sent). Bounded memory: inputs not yet
 * deliverable are kept for frames below `next + window`, delivered ones for the last `history`
 * frames, for comparison.
 */
export class InputReceiver {
  private next: number;
  private readonly first: number;
  private readonly window: number;
  private readonly history: number;
  /** Frames >= next, not yet deliverable (a gap before them). */
  private readonly pending = new Map<number, Uint8Array>();
  /** Delivered frames in [next - history, next), by frame modulo history. */
  private readonly delivered: (Uint8Array | undefined)[];
  private counts = { delivered: 0, duplicates: 0, conflicts: 0, stale: 0, outOfWindow: 0 };

  /**
   * @param firstFrame the first frame the sender will send (>= 0)
   * @param window how far past the next frame due an input may be, in frames (default 64, the
   *   sender's window bound: a correct sender never goes further)
   * @param history how many delivered frames to keep for duplicate checks (default 128)
   * @throws RangeError on a negative or non-integer argument, or a window or history below 1
   */
  constructor(firstFrame = 0, window = MAX_DATAGRAM_INPUTS, history = 2 * MAX_DATAGRAM_INPUTS) {
    for (const [name, v, min] of [
      ['firstFrame', firstFrame, 0],
      ['window', window, 1],
      ['history', history, 1],
    ] as const) {
      if (!Number.isInteger(v) || v < min) {
        throw new RangeError(`${name} must be an integer >= ${min}, got ${v}`);
      }
    }
    this.next = firstFrame;
    this.first = firstFrame;
    this.window = window;
    this.history = history;
    this.delivered = new Array(history);
  }

  /** The highest frame held contiguously: what to acknowledge (firstFrame - 1 for none). */
  get ack(): number {
    return this.next - 1;
  }

  /** A snapshot of the counters. */
  stats(): InputReceiverStats {
    return { ...this.counts };
  }

  /**
   * Takes the inputs of one datagram, `inputs[i]` for frame `startFrame + i` (already validated
   * by the codec), and returns the inputs that became deliverable, in frame order, each frame
   * exactly once over the receiver's life.
   */
  receive(startFrame: number, inputs: readonly Uint8Array[]): ReceivedInput[] {
    inputs.forEach((input, i) => {
      this.take(startFrame + i, input);
    });
    const out: ReceivedInput[] = [];
    for (let input = this.pending.get(this.next); input; input = this.pending.get(this.next)) {
      this.pending.delete(this.next);
      this.delivered[this.next % this.history] = input;
      out.push({ frame: this.next, input });
      this.next++;
    }
    this.counts.delivered += out.length;
    return out;
  }

  private take(frame: number, input: Uint8Array): void {
    if (frame < this.next) {
      if (frame < this.next - this.history) {
        this.counts.stale++;
        return;
      }
      const held = this.delivered[frame % this.history];
      // Below the first frame this receiver was made for: nothing to compare with.
      if (held === undefined || frame < this.first) this.counts.stale++;
      else this.compare(held, input);
      return;
    }
    if (frame >= this.next + this.window) {
      this.counts.outOfWindow++;
      return;
    }
    const held = this.pending.get(frame);
    if (held) this.compare(held, input);
    else this.pending.set(frame, input.slice());
  }

  private compare(held: Uint8Array, input: Uint8Array): void {
    if (sameBytes(held, input)) this.counts.duplicates++;
    else this.counts.conflicts++;
  }
}
