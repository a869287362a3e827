/**
 * The pure decisions of an authoritative match on the sim host: which input each player's slot
 * plays at each frame ("confirm or replace"), the host's state history, and the state message each
 * client gets (a delta against the state it acknowledged, or the full state). No clock, no
 * threads: the worker (`worker.ts`) calls it from its fixed-timestep loop, and tests call it
 * directly.
 *
 * Idea: Photon Quantum's server confirms each player's input for a frame when the frame is due:
 * the input stamped for it when it arrived in time, else the player's previous input ("confirm or
 * replace"); the late one is dropped and counted. The host's state history is Valve's ("Latency
 * Compensating Methods in Client/Server In-game Protocol Design"): the seam where lag compensation
 * will look up the world a player saw.
 */
import { encodeServerMessage } from '../../protocol/index.ts';
import { createStateDelta, type Frame, INPUT_BYTES, type PlayerSlot } from '../../sim/index.ts';

/**
 * The per-frame input-apply hook: the seam where input validation sits. Called once per slot per
 * frame with the input that would be applied (the stamped one, or the replacement); returns the
 * input to apply. The default applies it as it is.
 */
export type InputApplyHook = (
  slot: PlayerSlot,
  frame: Frame,
  input: Uint8Array,
  replaced: boolean,
) => Uint8Array;

/** What {@link InputAuthority.receive} did with an input. */
export type InputArrival = 'accepted' | 'late' | 'duplicate';

/**
 * Confirm or replace: holds the inputs that arrived for frames the host has not stepped yet, and
 * confirms each slot's input as each frame comes due (see the module comment).
 */
export class InputAuthority {
  /** By slot: inputs for frames not stepped yet, by frame. */
  private readonly pending: Map<Frame, Uint8Array>[];
  /** By slot: the input applied at the last frame stepped. */
  private readonly last: Uint8Array[];
  /** By slot: the last frame whose own input was applied (-1: none). */
  readonly lastInputFrames: Frame[];
  /** By slot: inputs that arrived after their frame was stepped (dropped). */
  readonly late: number[];
  /** By slot: frames stepped with a replacement (the slot's previous input). */
  readonly replaced: number[];
  /** The next frame to step. */
  frame: Frame = 0;
  /** By slot: the first frame it played its default input for after leaving, or null. */
  readonly leftAt: (Frame | null)[];

  /**
   * @param players slots `0..players-1`
   * @param inputDelay frames below it play each slot's default input, as in every mode (the log
   *   and replay hold inputs from the input delay on)
   * @param defaultInputs the 4-byte default input of each slot
   * @param hook the per-frame input-apply hook (validation's seam; default: apply as is)
   */
  constructor(
    readonly players: number,
    readonly inputDelay: Frame,
    private readonly defaultInputs: readonly Uint8Array[],
    private readonly hook: InputApplyHook = (_s, _f, input) => input,
  ) {
    this.pending = Array.from({ length: players }, () => new Map());
    this.last = defaultInputs.map((d) => d.slice());
    this.lastInputFrames = new Array(players).fill(-1);
    this.late = new Array(players).fill(0);
    this.replaced = new Array(players).fill(0);
    this.leftAt = new Array(players).fill(null);
  }

  /**
   * `slot` left for good: from the next frame on it plays its default input, as replay plays a
   * departed slot's (its log's inputs end at the frame before, `leftAt - 1`).
   */
  leave(slot: PlayerSlot): void {
    if (this.leftAt[slot] !== null) return;
    this.leftAt[slot] = this.frame;
    this.pending[slot].clear();
  }

  /**
   * An input of `slot` stamped for `frame`: held until the frame is stepped, or counted as late
   * (and dropped) when the frame was already stepped. The caller has checked the slot and that the
   * frame is within the window the relay allows.
   */
  receive(slot: PlayerSlot, frame: Frame, input: Uint8Array): InputArrival {
    if (this.leftAt[slot] !== null) return 'late';
    if (frame < this.frame) {
      this.late[slot]++;
      return 'late';
    }
    const q = this.pending[slot];
    if (q.has(frame)) return 'duplicate';
    q.set(frame, input.slice(0, INPUT_BYTES));
    return 'accepted';
  }

  /**
   * Confirms every slot's input for the next frame and moves on to the one after.
   * @returns the inputs applied, `players × 4` bytes in slot order
   */
  confirm(): Uint8Array {
    const f = this.frame;
    const out = new Uint8Array(this.players * INPUT_BYTES);
    for (let s = 0; s < this.players; s++) {
      let input: Uint8Array;
      let replaced = false;
      if (f < this.inputDelay || this.leftAt[s] !== null) input = this.defaultInputs[s];
      else {
        const stamped = this.pending[s].get(f);
        if (stamped !== undefined) {
          this.pending[s].delete(f);
          this.lastInputFrames[s] = f;
          input = stamped;
        } else {
          replaced = true;
          this.replaced[s]++;
          input = this.last[s];
        }
      }
      input = this.hook(s, f, input, replaced);
      this.last[s] = input;
      out.set(input, s * INPUT_BYTES);
    }
    this.frame = f + 1;
    return out;
  }
}

/** One state the host keeps: S(`frame`), its state hash and canonical bytes. */
export interface HostState {
  readonly frame: Frame;
  readonly hash: string;
  readonly bytes: Uint8Array;
}

/**
 * The host's state history: the states it sent, the most recent `capacity`, by frame. The base of
 * each client's delta (the state it acknowledged), and the seam where lag compensation will find
 * the world a player saw (its input's frame minus its interpolation delay).
 */
export class StateHistory {
  private readonly ring: (HostState | undefined)[];
  private readonly byFrame = new Map<Frame, HostState>();
  private next = 0;

  /** @param capacity states kept, at least 1 */
  constructor(readonly capacity: number) {
    this.ring = new Array(Math.max(1, capacity));
  }

  /** Keeps `s`, forgetting the oldest when full. */
  push(s: HostState): void {
    const old = this.ring[this.next];
    if (old) this.byFrame.delete(old.frame);
    this.ring[this.next] = s;
    this.byFrame.set(s.frame, s);
    this.next = (this.next + 1) % this.ring.length;
  }

  /** S(frame), when it is still held. */
  get(frame: Frame): HostState | undefined {
    return this.byFrame.get(frame);
  }

  /** States held. */
  get size(): number {
    return this.byFrame.size;
  }
}

/** Byte counts of one broadcast, for the figures. */
export interface BroadcastBytes {
  /** Bytes of the encoded messages sent as deltas. */
  readonly deltaBytes: number;
  /** Bytes of the encoded messages sent as full states. */
  readonly fullBytes: number;
  readonly deltas: number;
  readonly fulls: number;
  /** What every message would have been as a full state, bytes (for the comparison). */
  readonly allFullBytes: number;
}

/**
 * Each client's `authState` message for `state`: a delta against the state it acknowledged
 * (`acked[s]`, when the history still holds it and the delta is smaller), else the full state.
 * Clients that acknowledged the same frame share one delta.
 * @param acked by slot, the frame of the last state that client acknowledged (-1: none); a slot
 *   with null gets nothing (not connected)
 * @param applied the inputs applied at `state.frame - 1`, `players × 4` bytes
 * @returns by slot, the encoded message (null for a null slot), and the byte counts
 */
export function stateMessages(
  state: HostState,
  history: StateHistory,
  acked: readonly (Frame | null)[],
  lastInputFrames: readonly Frame[],
  applied: Uint8Array,
): { messages: (Uint8Array | null)[]; bytes: BroadcastBytes } {
  const byBase = new Map<Frame, Uint8Array>();
  let full: Uint8Array | null = null;
  const fullMessage = (): Uint8Array =>
    (full ??= encodeServerMessage({
      kind: 'authState',
      frame: state.frame,
      hash: state.hash,
      baseFrame: -1,
      bytes: state.bytes,
      lastInputFrames,
      inputs: applied,
    }));
  let deltaBytes = 0;
  let fullBytes = 0;
  let deltas = 0;
  let fulls = 0;
  let allFullBytes = 0;
  const messages = acked.map((ack) => {
    if (ack === null) return null;
    let m = byBase.get(ack);
    if (m === undefined) {
      const base = ack >= 0 && ack < state.frame ? history.get(ack) : undefined;
      if (base) {
        const delta = createStateDelta(base.bytes, state.bytes, { checked: false });
        if (delta.length < state.bytes.length) {
          m = encodeServerMessage({
            kind: 'authState',
            frame: state.frame,
            hash: state.hash,
            baseFrame: ack,
            bytes: delta,
            lastInputFrames,
            inputs: applied,
          });
        }
      }
      m ??= fullMessage();
      byBase.set(ack, m);
    }
    const isFull = m === full;
    if (isFull) {
      fullBytes += m.length;
      fulls++;
    } else {
      deltaBytes += m.length;
      deltas++;
    }
    allFullBytes += fullMessage().length;
    return m;
  });
  return { messages, bytes: { deltaBytes, fullBytes, deltas, fulls, allFullBytes } };
}
