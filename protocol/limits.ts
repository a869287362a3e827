import type { ClientMessageKind, ServerMessageKind } from './messages.ts';

/** Largest frame number on the wire: frames are integers in `0..MAX_FRAME` (2^31-1). */
export const MAX_FRAME = 0x7fff_ffff;

/** An inclusive integer range. */
export interface IntRange {
  readonly min: number;
  readonly max: number;
}

/**
 * The one table of scene limits: the range of every numeric scene setting and of the bounds the
 * relay and the sessions enforce. Protocol validation, the relay, the command line, the log
 * reader and the experiment file all take their ranges from here; nothing else writes them.
 *
 * - `players`: players in a match; slots are `0..players.max-1`.
 * - `tickRate`: frames per second of the fixed timestep.
 * - `inputDelay`: D, frames between capturing an input and the frame it is stamped for.
 * - `maxPredictionWindow`: W, frames a peer may run past the confirmed frame (0 in lockstep).
 * - `hashInterval`: K_min and K_max of the adaptive state-hash checks, frames.
 * - `frames`: a match's frame limit (0: none).
 * - `rejoinGraceMs`: how long a seat waits for its player to rejoin, ms (0: never).
 * - `framesAhead`: how far ahead of the room's slowest player an input may be stamped, frames;
 *   the relay refuses inputs beyond it, and a session refuses remote inputs stamped further than
 *   this past its own frame (a memory bound).
 * - `broadcastDivisor`: in `authoritative` mode, the relay's sim host sends each client the state
 *   every this many frames (3: 20 Hz at 60 Hz).
 * - `interpolationDelayMs`: in `authoritative` mode, how far in the past a client draws the other
 *   players, ms (between the two server states around that time).
 * - `maxRewindMs`: in `authoritative` mode, how far back the host keeps states for lag
 *   compensation and accepts inputs behind its confirmed frame, ms.
 * - `violationCount`: the input violation counts that warn (`violationWarnAt`) and remove
 *   (`violationRemoveAt`) a player in `authoritative` mode.
 * - `violationDecayFrames`: frames per point of decay of a player's violation count.
 */
export const SCENE_LIMITS = Object.freeze({
  players: Object.freeze({ min: 1, max: 16 }),
  tickRate: Object.freeze({ min: 1, max: 240 }),
  inputDelay: Object.freeze({ min: 0, max: 30 }),
  maxPredictionWindow: Object.freeze({ min: 0, max: 60 }),
  hashInterval: Object.freeze({ min: 1, max: 65_536 }),
  frames: Object.freeze({ min: 0, max: 10_000_000 }),
  rejoinGraceMs: Object.freeze({ min: 0, max: 600_000 }),
  framesAhead: Object.freeze({ min: 1, max: 1024 }),
  broadcastDivisor: Object.freeze({ min: 1, max: 60 }),
  interpolationDelayMs: Object.freeze({ min: 0, max: 1000 }),
  maxRewindMs: Object.freeze({ min: 0, max: 1000 }),
  violationCount: Object.freeze({ min: 1, max: 100_000 }),
  violationDecayFrames: Object.freeze({ min: 1, max: 65_536 }),
}) satisfies Readonly<Record<string, IntRange>>;

/**
 * Presence: how the relay tells a player who is away from one who is only quiet (ms).
 * - `heartbeatMs`: a peer in a match pings the relay at least this often, so that a peer which
 *   stalls (waiting for the others' inputs) is still heard.
 * - `awayAfterSilentMs`: the relay takes a member it has not heard from for this long as away (a
 *   network cut without a close, a frozen or suspended tab, a sleeping laptop): it closes that
 *   connection, plays the member's default input, and the peer rejoins its seat as after any drop.
 *   Several heartbeats long, so that one late timer on a busy machine does not count as away.
 */
export const PRESENCE = Object.freeze({ heartbeatMs: 500, awayAfterSilentMs: 2000 });

/** Largest number of players in a match; slots are `0..MAX_PLAYERS-1`. */
export const MAX_PLAYERS = SCENE_LIMITS.players.max;
/**
 * Exact length in bytes of one player's input for one frame on the wire. The sim's input codec
 * (`sim/input.ts`) has its own constant, since sim/ imports no other folder; a test
 * (`protocol/limits.test.ts`) checks that the two agree.
 */
export const INPUT_BYTES = 4;
/** Exact length of a state hash: hexadecimal digits of an xxhash64, lowercase. */
export const HASH_HEX_DIGITS = 16;
/** Longest `participantId` in `join`, in characters (printable ASCII). */
export const MAX_PARTICIPANT_ID_LENGTH = 128;
/** Longest `reason` of `end`, in UTF-16 code units. */
export const MAX_END_REASON_LENGTH = 256;
/** Longest `reason` of `fault` (a peer's sim threw), in UTF-16 code units. */
export const MAX_FAULT_REASON_LENGTH = 512;
/** Largest state payload (`bytes` of `state`), in bytes: 1 MiB. */
export const MAX_STATE_BYTES = 1 << 20;
/** Largest state signature (`signature` of `resyncRequest` and `stateRequest`), in bytes. */
export const MAX_SIGNATURE_BYTES = 64 * 1024;
/** Longest `message` of `error`, in UTF-16 code units. */
export const MAX_ERROR_MESSAGE_LENGTH = 512;

/** Longest SDP in an `rtcOffer` or `rtcAnswer`, in characters (a DataChannel-only SDP is under 1 KiB). */
export const MAX_SDP_LENGTH = 8192;
/** Most ICE candidates in one `rtcOffer` or `rtcAnswer`. */
export const MAX_SIGNAL_CANDIDATES = 32;
/** Longest ICE candidate line, in characters (Chromium's are about 120). */
export const MAX_CANDIDATE_LENGTH = 512;
/** Largest encoded `rtcOffer` or `rtcAnswer`, in bytes: an SDP and candidates at their limits. */
const MAX_SIGNAL_MESSAGE_BYTES =
  MAX_SDP_LENGTH + MAX_SIGNAL_CANDIDATES * (MAX_CANDIDATE_LENGTH + 3) + 64;

/**
 * Largest encoded client message in bytes (a `state`). Longer byte strings are refused with
 * `OVERSIZE` before any decoding, and every kind has its own, smaller limit.
 */
export const MAX_CLIENT_MESSAGE_BYTES = MAX_STATE_BYTES + 256;

/**
 * Largest encoded client message of each kind, in bytes, checked (from the kind code in the
 * first two bytes) before decoding. Each limit leaves room for the largest valid message of
 * the kind: an `input` encodes to 14 bytes at frames below 65 536 and 18 at most.
 */
export const CLIENT_MESSAGE_MAX_BYTES: Readonly<Record<ClientMessageKind, number>> = Object.freeze({
  join: 256,
  cancel: 8,
  input: 32,
  hash: 48,
  ping: 48,
  peerPing: 32,
  peerPong: 32,
  done: 48,
  state: MAX_STATE_BYTES + 256,
  stateFailed: 16,
  rejoin: 640,
  resyncRequest: MAX_SIGNATURE_BYTES + 64,
  fault: 2 * MAX_FAULT_REASON_LENGTH * 3 + 32,
  rtcOffer: MAX_SIGNAL_MESSAGE_BYTES,
  inputPath: 16,
  stateAck: 16,
});

/** Largest encoded server message in bytes; longer ones are refused with `OVERSIZE`. */
export const MAX_SERVER_MESSAGE_BYTES = MAX_STATE_BYTES + 256;

/** Largest encoded server message of each kind, in bytes (see {@link CLIENT_MESSAGE_MAX_BYTES}). */
export const SERVER_MESSAGE_MAX_BYTES: Readonly<Record<ServerMessageKind, number>> = Object.freeze({
  waiting: 128,
  start: 1024,
  input: 32,
  peerPing: 32,
  peerPong: 32,
  pong: 32,
  peerLeft: 32,
  verdict: 48,
  end: 1024,
  error: 2048,
  stateRequest: MAX_SIGNATURE_BYTES + 64,
  state: MAX_STATE_BYTES + 256,
  rejoined: 2048,
  peerAway: 32,
  peerRejoined: 16,
  rtcAnswer: MAX_SIGNAL_MESSAGE_BYTES,
  authState: MAX_STATE_BYTES + 256 + MAX_PLAYERS * 16,
});
