import type { InputPath } from '../../protocol/index.ts';
import type { SessionStats } from '../../sim/sync/index.ts';
import type { RunnerPhase } from '../match-runner.ts';
import type { PythonMatchResult } from './python-worker.ts';
import type { MatchResult } from './result.ts';

/**
 * Where the page is: `idle` (not queued: the Join button), `waiting` (connecting, or queued while
 * the room fills), `countdown` (the match runs, inputs held neutral), `playing`, `reconnecting`
 * (the connection dropped or the page reloaded: getting the seat back), `ended` (the result).
 */
export type PagePhase = 'idle' | 'waiting' | 'countdown' | 'playing' | 'reconnecting' | 'ended';

/** The page's phase for a runner's phase (connecting to join shows as waiting). */
export function pagePhaseOf(phase: RunnerPhase): PagePhase {
  return phase === 'connecting' ? 'waiting' : phase;
}

/**
 * The notice over the game for the page's phase and the slots away: "Reconnecting…" while this
 * page gets its seat back, "Your partner is reconnecting…" (or "Player N is reconnecting…" with
 * more players) while another player is away; null otherwise, and once the match has ended.
 */
export function presenceNotice(
  phase: PagePhase,
  away: readonly number[],
  players: number,
): string | null {
  if (phase === 'reconnecting') return 'Reconnecting…';
  if ((phase !== 'countdown' && phase !== 'playing') || away.length === 0) return null;
  if (players === 2) return 'Your partner is reconnecting…';
  const who = away.map((slot) => `Player ${slot + 1}`).join(', ');
  return `${who} ${away.length === 1 ? 'is' : 'are'} reconnecting…`;
}

/** {@link SessionStats} with every field null before a match has started. */
export type MaybeSessionStats = { readonly [K in keyof SessionStats]: SessionStats[K] | null };

/** The overlay's figures and the test hook's `stats()`: the session's counters and the page's. */
export interface PageStats extends MaybeSessionStats {
  readonly phase: PagePhase;
  /** The match, once started; else null. */
  readonly matchId: string | null;
  /** This page's player slot, once started; else null. */
  readonly slot: number | null;
  /** Round trip to the relay in ms, from the heartbeat (0 until measured; null before a match). */
  readonly pingMs: number | null;
  /**
   * What carries this page's inputs now: `webrtc` (its DataChannel to the relay) or `websocket`
   * (socket.io); null before a match. See docs/transports.md.
   */
  readonly inputPath: InputPath | null;
  /** Frames between hashed confirmed frames: `hashAt(f)` answers for multiples of it (null before a match). */
  readonly hashInterval: number | null;
  /** The newest confirmed frame whose state hash is recorded, or null. */
  readonly lastHashedFrame: number | null;
  /** Desyncs the relay reported for this match. */
  readonly desyncs: number;
  /** Hash checks on which every peer agreed. */
  readonly agreedChecks: number;
  /** Times this page got its seat back after a dropped connection or a reload. */
  readonly rejoins: number;
  /** Slots of the other players who are away now (reconnecting), ascending. */
  readonly away: readonly number[];
  /** True while the tab is hidden (the worker timer drives the loop, the local input is neutral). */
  readonly hidden: boolean;
  /** Ticks run while the tab was hidden. */
  readonly hiddenTicks: number;
  /** Real time given up because the page fell over a second behind, in ms. */
  readonly droppedMs: number;
  /** The renderer Phaser chose, once the view exists. */
  readonly renderer: 'webgl' | 'canvas' | null;
  /** Python scenes: time the worker took to load Pyodide, in ms (null for TypeScript sims). */
  readonly pyodideLoadMs: number | null;
  /** Python scenes: duration of the worker's last tick that rolled back, in ms. */
  readonly lastRollbackMs: number | null;
  /** Python scenes: duration of the worker's costliest tick that rolled back, in ms. */
  readonly maxRollbackMs: number | null;
  /** Python scenes: re-simulations the worker ran as one `stepMany` call into Python. */
  readonly stepBatches: number | null;
}

/** A match's outcome as the hook reports it: a duel's, or a Python scene's. */
export type PageResult = MatchResult | PythonMatchResult;

/**
 * `window.concord`: a hook for tests and debugging, present from the moment the page loads (with
 * null match fields until a match starts).
 */
export interface ConcordHook {
  /** The page's phase now. */
  readonly phase: PagePhase;
  /** The overlay's figures plus the match id, slot, desyncs, rejoins, who is away, and phase. */
  stats(): PageStats;
  /** The state hash (16 hex digits) of confirmed frame `frame`, or null when not (yet) hashed. */
  hashAt(frame: number): string | null;
  /** The result once the match has ended, else null. */
  result(): PageResult | null;
  /**
   * Python scenes only: the hash of confirmed frame `frame` as the worker's session answers it
   * (`hashAt` answers from the hashes the worker posted as it recorded them).
   */
  workerHashAt?(frame: number): Promise<string | null>;
  /**
   * Duel page: the first frame (after the countdown) whose local input moved the player, and the
   * first frame whose state shows the local player moved (`movedFrame` = `pressedFrame + 1` when
   * the movement is applied the frame it is pressed; later by the input delay in the peer-to-peer
   * modes). Nulls until then.
   */
  movement?(): { readonly pressedFrame: number | null; readonly movedFrame: number | null };
}

declare global {
  interface Window {
    /** See {@link ConcordHook}. */
    concord?: ConcordHook;
  }
}

/** The page's stats before any match: every match field null. */
export function idleStats(phase: PagePhase): PageStats {
  return {
    frame: null,
    confirmedFrame: null,
    predictedFrames: null,
    maxPredictedFrames: null,
    rollbacks: null,
    lastRollbackDepth: null,
    maxRollbackDepth: null,
    rollbackFrames: null,
    stalls: null,
    frameAdvantage: null,
    rttMs: null,
    inputDelay: null,
    refusedInputs: null,
    restores: null,
    phase,
    matchId: null,
    slot: null,
    pingMs: null,
    inputPath: null,
    hashInterval: null,
    lastHashedFrame: null,
    desyncs: 0,
    agreedChecks: 0,
    rejoins: 0,
    away: [],
    hidden: typeof document !== 'undefined' && document.visibilityState === 'hidden',
    hiddenTicks: 0,
    droppedMs: 0,
    renderer: null,
    pyodideLoadMs: null,
    lastRollbackMs: null,
    maxRollbackMs: null,
    stepBatches: null,
  };
}
