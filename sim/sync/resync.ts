import {
  applyStateDelta,
  ConcordError,
  createStateDeltaFromSignature,
  type Frame,
  makeStateTransfer,
  type PlayerSlot,
  resolveStateTransfer,
  stateHash,
} from '../index.ts';
import type { HeldState } from './desync-check.ts';

/** `baseFrame` of a full state (and of a request for one): no base, the canonical state itself. */
export const FULL_STATE_BASE: Frame = -1;
/** `baseFrame` of a state sent as a delta against the receiver's own S(frame), from its signature. */
export const SIGNATURE_BASE: Frame = -2;

/**
 * The states a peer can send or rebuild from: a {@link DesyncCheck} (its held check states and
 * its last agreed checkpoint) is one.
 */
export interface StateSource {
  /** The state held for `frame` (a check state or the checkpoint), or null. */
  stateAt(frame: Frame): HeldState | null;
  /** The last agreed checkpoint, or null before S(0) is hashed. */
  readonly checkpoint: HeldState | null;
}

/**
 * The relay's request to the host: send S(`frame`) for slot `forSlot`, as a delta against the
 * host's S(`baseFrame`) (the last agreed checkpoint) or against the state `signature` describes
 * (`createStateSignature` of the receiver's own S(`frame`); empty: none), whichever is smaller,
 * or in full when `baseFrame` is {@link FULL_STATE_BASE}.
 */
export interface StateRequest {
  readonly frame: Frame;
  readonly baseFrame: Frame;
  readonly forSlot: PlayerSlot;
  readonly signature: Uint8Array;
}

/**
 * S(`frame`) on its way to slot `forSlot`: `hash` is its state hash; `bytes` is a delta against
 * S(`baseFrame`), or against the receiver's own S(`frame`) ({@link SIGNATURE_BASE}), or the
 * full canonical state ({@link FULL_STATE_BASE}); `fullBytes` is the full state's size in bytes,
 * for the record.
 */
export interface StateMessage {
  readonly kind: 'state';
  readonly frame: Frame;
  readonly hash: string;
  readonly baseFrame: Frame;
  readonly fullBytes: number;
  readonly bytes: Uint8Array;
  readonly forSlot: PlayerSlot;
}

/** A state as the receiver gets it (the relay drops `forSlot` and `fullBytes`). */
export type IncomingState = Pick<StateMessage, 'frame' | 'hash' | 'baseFrame' | 'bytes'>;

/** The receiver could not rebuild S(`frame`) and asks for the full state. */
export interface StateFailedMessage {
  readonly kind: 'stateFailed';
  readonly frame: Frame;
}

/** What applying a state transfer comes to. */
export type StateOutcome =
  | {
      /**
       * Load `state` (`SyncSession.loadState(state.frame, state.state, { fastForward })`) and
       * tell the desync check (`DesyncCheck.stateLoaded`). `fastForward` is set for the first
       * state of a rejoining peer, which catches up with the inputs since at once.
       */
      readonly kind: 'restore';
      readonly state: HeldState;
      readonly fastForward: boolean;
    }
  | {
      /** Send `send`; the relay asks the host for the full state. `error` says what failed. */
      readonly kind: 'failed';
      readonly send: StateFailedMessage;
      readonly error: ConcordError;
    };

/**
 * The host's answer to a {@link StateRequest}: S(frame) as the smallest of a delta against the
 * last agreed checkpoint (every peer holds it), a delta against the receiver's own S(frame)
 * described by its signature (when one was given), and the full canonical state. Pure.
 *
 * The signature delta is unchecked (no 4-byte check word): {@link applyStateTransfer} checks
 * the rebuilt state's hash instead. A malformed signature only rules that candidate out.
 *
 * Idea: rsync's signature and delta (Tridgell and Mackerras, 1996) beside a delta against a
 * shared checkpoint; see docs/state-delta.md for the measurements.
 * @param held the host's states (its {@link DesyncCheck})
 * @returns the state message to send, or null when this peer does not hold S(frame) (not its to
 * answer: the relay asks the next host after a host migration)
 */
export function answerStateRequest(req: StateRequest, held: StateSource): StateMessage | null {
  const target = held.stateAt(req.frame);
  if (!target) return null;
  let best = { baseFrame: FULL_STATE_BASE, bytes: target.state };
  if (req.baseFrame >= 0) {
    const cp = held.checkpoint;
    if (cp !== null && cp.frame === req.baseFrame) {
      const t = makeStateTransfer(target.state, {
        frame: cp.frame,
        hash: cp.hash,
        bytes: cp.state,
      });
      if (t.kind === 'delta' && t.bytes.length < best.bytes.length)
        best = { baseFrame: cp.frame, bytes: t.bytes };
    }
    if (req.signature.length > 0) {
      try {
        const d = createStateDeltaFromSignature(req.signature, target.state, { checked: false });
        if (d.length < best.bytes.length) best = { baseFrame: SIGNATURE_BASE, bytes: d };
      } catch (err) {
        // A malformed signature (BAD_STATE) leaves the other candidates; anything else is a bug.
        if (!(err instanceof ConcordError)) throw err;
      }
    }
  }
  return {
    kind: 'state',
    frame: req.frame,
    hash: target.hash,
    baseFrame: best.baseFrame,
    fullBytes: target.state.length,
    bytes: best.bytes,
    forSlot: req.forSlot,
  };
}

/**
 * Rebuilds the host's S(frame) from a state transfer, against this peer's checkpoint or its
 * own S(frame), and checks its state hash against the host's. Pure. Needs the state hash ready
 * (`initStateHash`).
 *
 * @param held this peer's states (its {@link DesyncCheck})
 * @param options `rejoin`: this is the first state of a rejoining peer (always a full state of
 * the last agreed checkpoint); the outcome then asks for a fast-forward
 * @returns a restore for the session, or, when the state cannot be rebuilt (base missing:
 * `SNAPSHOT_MISSING`; a malformed delta or a hash mismatch: `BAD_STATE`), the `stateFailed`
 * message that asks for the full state
 */
export function applyStateTransfer(
  m: IncomingState,
  held: StateSource,
  options: { readonly rejoin?: boolean } = {},
): StateOutcome {
  let state: Uint8Array;
  try {
    state = rebuild(m, held);
    const hash = stateHash(state);
    if (hash !== m.hash) {
      throw new ConcordError(
        'BAD_STATE',
        `rebuilt S(${m.frame}) has hash ${hash}, the host's has ${m.hash}`,
        m.frame,
      );
    }
  } catch (err) {
    if (!(err instanceof ConcordError) || err.code === 'HASH_NOT_READY') throw err;
    return { kind: 'failed', send: { kind: 'stateFailed', frame: m.frame }, error: err };
  }
  return {
    kind: 'restore',
    state: { frame: m.frame, hash: m.hash, state },
    fastForward: options.rejoin === true,
  };
}

function rebuild(m: IncomingState, held: StateSource): Uint8Array {
  if (m.baseFrame === SIGNATURE_BASE) {
    const own = held.stateAt(m.frame);
    if (!own) {
      throw new ConcordError(
        'SNAPSHOT_MISSING',
        `no own S(${m.frame}) to apply a delta to`,
        m.frame,
      );
    }
    // The host's signature delta carries no check word: the caller checks the state hash.
    return applyStateDelta(own.state, m.bytes, { allowUnchecked: true });
  }
  return resolveStateTransfer(
    m.baseFrame === FULL_STATE_BASE
      ? { kind: 'full', bytes: m.bytes }
      : { kind: 'delta', baseFrame: m.baseFrame, baseHash: '', bytes: m.bytes },
    (f) => {
      const cp = held.checkpoint;
      return cp !== null && cp.frame === f ? cp.state : null;
    },
  );
}

/**
 * Whether a peer may tick. A peer that starts a match may at once. A rejoining peer
 * ({@link rejoining}) may once its first state is loaded and its own inputs up to the frame it
 * resumes at have arrived: the relay played them for it while it was away, and sends them after
 * the state, in order; ticking earlier would stamp inputs for frames the relay already played.
 * Once ready, it stays ready (those inputs may later be freed).
 */
export class RejoinGate {
  private stateFrame: Frame | null;
  private open: boolean;

  /**
   * @param resumeFrame the first frame this peer stamps its own input for (the relay's
   * `rejoined.resumeFrame`; 0 for a peer that starts the match)
   * @param rejoining true for a peer that rejoins a match under way
   */
  constructor(
    readonly resumeFrame: Frame,
    readonly rejoining: boolean,
  ) {
    this.stateFrame = rejoining ? null : 0;
    this.open = !rejoining;
  }

  /** True while the next state is the first state of a rejoining peer (apply it with `rejoin`). */
  get awaitingFirstState(): boolean {
    return this.stateFrame === null;
  }

  /** The first state of this rejoining peer, S(`frame`), was handed to the session. */
  firstStateLoaded(frame: Frame): void {
    this.stateFrame = frame;
  }

  /**
   * @param ownInputKnown whether this peer's own confirmed input for a frame is known (the
   * session's `confirmedInput(slot, frame) !== undefined`)
   */
  ready(ownInputKnown: (frame: Frame) => boolean): boolean {
    if (this.open) return true;
    if (this.stateFrame === null) return false;
    const last = this.resumeFrame - 1;
    // The relay sends the inputs since the state in order: once the last one is here, all are.
    this.open = last < this.stateFrame || ownInputKnown(last);
    return this.open;
  }
}
