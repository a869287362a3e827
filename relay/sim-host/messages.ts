/**
 * The messages between the relay's main thread and a sim host worker: plain structured-clone
 * data (numbers, strings, Uint8Array), no classes, no functions. Every request carries a call id
 * that its one reply repeats; a worker answers its requests in the order it received them.
 */
import type { EpisodeSettings, Frame } from '../../sim/index.ts';

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

/** Anything the main thread sends a worker. */
export type WorkerRequest = OpenRequest | RefereeRequest | CloseRequest;

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
