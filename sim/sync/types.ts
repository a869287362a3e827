import type { Frame, Input, PlayerSlot } from '../index.ts';

/**
 * How a session keeps peers in step.
 * - `lockstep`: advance only when every player's input for the next frame is known (prediction
 *   window 0); latency is hidden only by the input delay. Never rolls back.
 * - `rollback`: advance on predicted remote inputs up to the prediction window, and re-simulate
 *   from the first mispredicted frame when the real input arrives (GGPO).
 */
export type SyncMode = 'lockstep' | 'rollback';

/**
 * Which states the session keeps for rollback.
 * - `ring`: every frame of the prediction window (a ring of W+2 snapshots); a rollback loads the
 *   first mispredicted frame exactly.
 * - `sparse`: only the latest confirmed frame (and unverified hash-check frames); a rollback
 *   loads that and re-simulates further, but saves far less often. For sims whose save is costly,
 *   such as Python ones. Idea: GGRS's sparse saving.
 */
export type SaveStrategy = 'ring' | 'sparse';

/** What the session asks its sim to do, in order. Idea: GGRS's `GgrsRequest` list. */
export type SessionRequest =
  /** Save the current state, which is S(frame), under `frame`. */
  | { readonly kind: 'save'; readonly frame: Frame }
  /** Load the state saved under `frame`. */
  | { readonly kind: 'load'; readonly frame: Frame }
  /** Load S(frame) from its canonical encoding (a state from a host or an authoritative relay). */
  | { readonly kind: 'restore'; readonly frame: Frame; readonly state: Uint8Array }
  /** Step from S(frame) to S(frame+1) with `inputs[slot]`. */
  | { readonly kind: 'advance'; readonly frame: Frame; readonly inputs: readonly Input[] }
  /** Report the state hash of the snapshot saved under `frame`, a confirmed frame. */
  | { readonly kind: 'hash'; readonly frame: Frame }
  /** Forget the snapshots saved under these frames. */
  | { readonly kind: 'free'; readonly frames: readonly Frame[] };

/**
 * The answer to a `hash` request: the state hash of a confirmed frame (16 hex digits) and
 * the canonical state it hashes, which a host sends on for resync.
 */
export interface HashReport {
  readonly frame: Frame;
  readonly hash: string;
  readonly state: Uint8Array;
}

/** What peers send each other (through the relay) for a session. */
export type SessionMessage =
  /** The sender's input for `frame`, sent when the sender was showing `currentFrame`. */
  | {
      readonly kind: 'input';
      readonly frame: Frame;
      readonly input: Input;
      readonly currentFrame: Frame;
    }
  /** A round-trip probe; `sentMs` is the sender's clock, echoed back in the pong. */
  | { readonly kind: 'ping'; readonly sentMs: number }
  /** The answer to a ping from slot `to`. */
  | { readonly kind: 'pong'; readonly to: PlayerSlot; readonly sentMs: number };

/** Events a UI or a test can follow. */
export type SessionEvent =
  | {
      readonly type: 'confirmedHash';
      readonly frame: Frame;
      readonly hash: string;
      /** The canonical encoding of S(frame). */
      readonly state: Uint8Array;
    }
  | {
      readonly type: 'rollback';
      /** The frame loaded. */
      readonly fromFrame: Frame;
      /** The frame re-simulated back up to. */
      readonly toFrame: Frame;
      /** Frames re-simulated. */
      readonly depth: number;
    }
  | { readonly type: 'stall'; readonly frame: Frame }
  | { readonly type: 'restore'; readonly frame: Frame };

/** The session's counters, as a UI overlay or a test reads them. */
export interface SessionStats {
  /** The current frame (the state shown is S(frame)). */
  readonly frame: Frame;
  /** Highest frame for which every player's input up to it is known; S(f) is final for f <= it. */
  readonly confirmedFrame: Frame;
  /** Frames of the current state that rest on predicted inputs. */
  readonly predictedFrames: number;
  /** The most predicted frames ever held; never above the prediction window. */
  readonly maxPredictedFrames: number;
  /** Rollbacks (loads followed by re-simulation), at most one per tick. */
  readonly rollbacks: number;
  /** Frames re-simulated by the last rollback. */
  readonly lastRollbackDepth: number;
  /** Frames re-simulated by the deepest rollback. */
  readonly maxRollbackDepth: number;
  /** Frames re-simulated in all. */
  readonly rollbackFrames: number;
  /** Ticks that did not advance because the prediction window was full (or, in lockstep, an input was missing). */
  readonly stalls: number;
  /** Frames this peer runs ahead of the slowest other peer (averaged; negative when behind). */
  readonly frameAdvantage: number;
  /** Smoothed round trip to the slowest other peer, in ms (0 until measured). */
  readonly rttMs: number;
  /** Input delay in frames. */
  readonly inputDelay: number;
  /** Remote inputs refused (too far in the future) or conflicting with an earlier one. */
  readonly refusedInputs: number;
  /** State loads from elsewhere (resync, authoritative state). */
  readonly restores: number;
}
