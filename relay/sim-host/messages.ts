/**
 * The messages between the relay's main thread and a sim host worker: plain structured-clone
 * data (numbers, strings, Uint8Array), no classes, no functions. Every request carries a call id
 * that its one reply repeats; a worker answers its requests in the order it received them.
 */
import type { EpisodeSettings, Frame } from '../../sim/index.ts';
import type { Violation } from '../../sim/sync/index.ts';
import type {
  InputCheckSettings,
  Removal,
  RewindSettings,
  ViewDelayChange,
} from './host-guards.ts';

/** A Python environment to run as the match's sim (the relay read it at startup). */
export interface PythonMatchSource {
  /** The environment's source text. */
  readonly source: string;
  /** The class to run, or null/undefined for the single class with a `step` attribute. */
  readonly className?: string | null;
  /** Pyodide packages to load before the environment (names from Pyodide's lock file). */
  readonly packages?: readonly string[];
}

/** What a worker needs to create a match's sim. */
export interface MatchSpec {
  /** The sim id: a built-in sim (`duel`) or a Python spec (`python:FILE[:CLASS]`). */
  readonly sim: string;
  /** Number of players. */
  readonly players: number;
  /** The match seed, a 32-bit unsigned integer. */
  readonly seed: number;
  /** The Python source, required for a `python:` sim id and refused for any other. */
  readonly python?: PythonMatchSource;
  /**
   * The match's episodes (a study's game scene): with more than one, the sim runs in the episode
   * wrapper (`episodicFactory`), as every peer of the match does. Absent: one episode.
   */
  readonly episodes?: EpisodeSettings;
}

/** Opens a match on the worker: creates its sim at frame 0. */
export interface OpenRequest {
  readonly op: 'open';
  readonly call: number;
  readonly match: number;
  readonly spec: MatchSpec;
}

/** Re-simulates a match from a state (see `MatchSimHandle.referee`). */
export interface RefereeRequest {
  readonly op: 'referee';
  readonly call: number;
  readonly match: number;
  readonly fromFrame: Frame;
  /** Canonical bytes of S(fromFrame), or null for the match's S(0) (fromFrame 0 only). */
  readonly fromState: Uint8Array | null;
  /** (toFrame - fromFrame) × players × 4 bytes, frame-major then slot. */
  readonly inputs: Uint8Array;
  readonly toFrame: Frame;
}

/** Releases a match's sim. */
export interface CloseRequest {
  readonly op: 'close';
  readonly call: number;
  readonly match: number;
}

/** How an authoritative match runs on its worker (the scene's settings it needs). */
export interface AuthoritativeSettings {
  /** Frames per second, 1..240. */
  readonly tickRate: number;
  /** A state to every client every this many frames. */
  readonly broadcastDivisor: number;
  /** Frames below it play every slot's default input. */
  readonly inputDelay: number;
  /** The host stops stepping at this frame (0: never); it sends the state of that frame. */
  readonly frames: number;
  /** Every slot's default input, 4 bytes each, slot order. */
  readonly defaultInputs: Uint8Array;
  /** States kept in the host's state history (the deltas' bases). */
  readonly historyStates: number;
  /** Input validation (`host-guards.ts`); absent or null: inputs are applied unchecked. */
  readonly checks?: InputCheckSettings | null;
  /** Lag compensation (`host-guards.ts`); absent or null: none. */
  readonly rewind?: RewindSettings | null;
}

/** Starts an opened match as an authoritative match: its loop steps it at the tick rate. */
export interface AuthStartRequest {
  readonly op: 'authStart';
  readonly call: number;
  readonly match: number;
  readonly settings: AuthoritativeSettings;
}

/** A player's input for an authoritative match (no reply). */
export interface AuthInputRequest {
  readonly op: 'authInput';
  readonly call: 0;
  readonly match: number;
  readonly slot: number;
  readonly frame: Frame;
  readonly input: Uint8Array;
}

/** A client acknowledged S(frame) (-1: it holds none; its next state is full). No reply. */
export interface AuthAckRequest {
  readonly op: 'authAck';
  readonly call: 0;
  readonly match: number;
  readonly slot: number;
  readonly frame: Frame;
}

/** A player left for good: it plays its default input from the next frame on. No reply. */
export interface AuthLeaveRequest {
  readonly op: 'authLeave';
  readonly call: 0;
  readonly match: number;
  readonly slot: number;
}

/** Anything the main thread sends a worker. */
export type WorkerRequest =
  | OpenRequest
  | RefereeRequest
  | CloseRequest
  | AuthStartRequest
  | AuthInputRequest
  | AuthAckRequest
  | AuthLeaveRequest;

/**
 * What an authoritative match's loop reports at each state it sends (unasked): the state, the
 * inputs applied since the last report (for the log), each client's message and the figures.
 */
export interface AuthBroadcastEvent {
  readonly event: 'authBroadcast';
  readonly match: number;
  /** The frame of the state sent. */
  readonly frame: Frame;
  readonly hash: string;
  /** The first frame of `applied`. */
  readonly fromFrame: Frame;
  /** Inputs applied for frames fromFrame..frame-1: frame-major, then slot, 4 bytes each. */
  readonly applied: Uint8Array;
  /** By slot, the encoded `authState` server message. */
  readonly messages: readonly Uint8Array[];
  /** By slot: the first frame it played its default for after leaving, or null. */
  readonly leftAt: readonly (Frame | null)[];
  /** By slot: late inputs so far, frames confirmed with a replacement so far. */
  readonly late: readonly number[];
  readonly replaced: readonly number[];
  /** Encoded bytes of this broadcast: as deltas, as full states, and had all been full. */
  readonly deltaBytes: number;
  readonly fullBytes: number;
  readonly allFullBytes: number;
  /** Time in the sim's step for the frames of this report, µs, and their count. */
  readonly stepUs: number;
  /** Time the loop was busy for this report (inputs, steps, encoding, deltas), µs. */
  readonly busyUs: number;
  readonly frames: number;
  /** Times so far the loop woke two or more frames late (a tick overran), and the most frames. */
  readonly overruns: number;
  readonly maxBehindFrames: number;
  /** True for the last report (the frame limit was reached; the loop stopped). */
  readonly last: boolean;
  /** Inputs refused or corrected since the last report (to log; a `removed` one ends a player). */
  readonly violations: readonly Violation[];
  /** View delay changes since the last report (to log, for replay). */
  readonly viewDelays: readonly ViewDelayChange[];
  /** Players removed since the last report, and the first frame played with their default input. */
  readonly removals: readonly Removal[];
}

/** An authoritative match's loop stopped because its sim threw. */
export interface AuthFailedEvent {
  readonly event: 'authFailed';
  readonly match: number;
  readonly error: WorkerErrorData;
}

/** What a worker sends unasked. */
export type WorkerEvent = AuthBroadcastEvent | AuthFailedEvent;

/** What one referee call cost, measured in the worker (µs: `performance.now()` differences). */
export interface CallCost {
  /** Frames stepped. */
  readonly frames: number;
  /** Time spent in the sim's step (or stepMany), µs. */
  readonly stepUs: number;
  /** Time of the whole call in the worker (decode, load, step, save, encode, hash), µs. */
  readonly callUs: number;
}

/** The result of a referee call. */
export interface RefereeReply {
  /** S(toFrame)'s state hash, 16 hex digits. */
  readonly hash: string;
  /** S(toFrame)'s canonical bytes. */
  readonly state: Uint8Array;
  readonly cost: CallCost;
}

/** An error thrown inside the worker, as data. */
export interface WorkerErrorData {
  /** The error's class name (`ConcordError`, `TypeError`, ...). */
  readonly name: string;
  readonly message: string;
  /** `ConcordError.code`, when the error has one. */
  readonly code?: string;
  /** `ConcordError.frame`, when the error has one. */
  readonly frame?: number;
  readonly stack?: string;
}

/** A worker's answer to one request. */
export type WorkerReply =
  | { readonly call: number; readonly ok: true; readonly value: RefereeReply | null }
  | { readonly call: number; readonly ok: false; readonly error: WorkerErrorData };
