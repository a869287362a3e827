import type { SceneSettings } from '../protocol/index.ts';
import type { MatchLogWriter } from './log/index.ts';

/** One member of a room: a connected (or departed) player. */
export interface Member {
  readonly slot: number;
  readonly participantId: string | null;
  /** Sends encoded server-message bytes to this member. */
  readonly send: (bytes: Uint8Array) => void;
  /** Next input frame this member may send (its inputs are contiguous). */
  nextFrame: number;
  connected: boolean;
  /** Frame of this member's `done` report, or null. */
  doneFrame: number | null;
}

/** The relay's view of one match: its members, hash reports awaiting comparison, and its log. */
export class Room {
  readonly members: Member[] = [];
  /** Hash reports by frame, by slot, until every connected member has reported. */
  readonly pendingHashes = new Map<number, (string | null)[]>();
  /** Highest frame whose hash reports were compared. */
  lastVerdictFrame = -1;
  desyncs = 0;
  started = false;
  ended = false;
  readonly startMs: number;

  constructor(
    readonly matchId: string,
    readonly settings: SceneSettings,
    readonly seed: number,
    readonly log: MatchLogWriter,
    startMs: number,
  ) {
    this.startMs = startMs;
  }

  /** Members still connected. */
  connected(): Member[] {
    return this.members.filter((m) => m.connected);
  }

  /** Lowest next-input frame among connected members: the room's slowest player. */
  slowestFrame(): number {
    let f = Number.POSITIVE_INFINITY;
    for (const m of this.members) if (m.connected) f = Math.min(f, m.nextFrame);
    return f === Number.POSITIVE_INFINITY ? 0 : f;
  }
}
