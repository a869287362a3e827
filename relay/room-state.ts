/**
 * What the parts of a room share, passed to each explicitly: the members, the scene, the log,
 * the counters, the clock and the way to reach the relay around it ({@link RoomState}). The
 * parts: forwarding and dispatch (room.ts), the hash arbiter, the resync broker and presence.
 */
import type {
  Frame,
  InputPath,
  PlayerSlot,
  ProtocolErrorCode,
  SceneSettings,
  ServerMessage,
} from '../protocol/index.ts';
import type { BodyRecord, EndRecord } from './log/index.ts';
import type { RecentInputs } from './recent-inputs.ts';
import type { RelayScheduler, RelayTimerId } from './scheduler.ts';

/** Where a member's messages go: its current connection. */
export interface MemberLink {
  /** Sends one encoded server message; a closed link drops it. */
  send(bytes: Uint8Array): void;
  /** Closes the connection (the relay gives up on a silent member); optional for test links. */
  close?(): void;
  /**
   * Sends one datagram on the connection's input DataChannel, unordered and unreliable.
   * @returns false when there is no open channel (links without one leave this out)
   */
  sendDatagram?(bytes: Uint8Array): boolean;
  /** Whether the connection's input DataChannel is open. */
  datagramOpen?(): boolean;
}

/** Where a member is: playing, away (may rejoin within the grace period), or left for good. */
export type MemberStatus = 'connected' | 'away' | 'left';

/** One seat of a match. */
export interface Member {
  readonly slot: PlayerSlot;
  /** The experiment's id for the person in this seat (from `join`), or null. */
  readonly participantId: string | null;
  /** Secret for `rejoin`, from the `start` message. */
  readonly token: string;
  link: MemberLink | null;
  status: MemberStatus;
  /** Next input frame this member may send (its inputs are contiguous). */
  nextFrame: Frame;
  /** Frame of this member's `done` report, or null. */
  doneFrame: Frame | null;
  /** True while a rejoining member waits for its state: live traffic is held back. */
  syncing: boolean;
  /** Set on every message from this member; presence clears it on each silence sweep. */
  heard: boolean;
  /** When presence last found `heard` set (ms, the room's clock). */
  lastHeardMs: number;
  /** The end of this member's grace period while it is away. */
  graceTimer: RelayTimerId | null;
  /** What carries this member's inputs both ways now (the peer says, see datagram-path.ts). */
  inputPath: InputPath;
  /** This member's last inputs, for duplicate checks and for the datagrams to the others. */
  readonly recent: RecentInputs;
  /**
   * By slot, the highest frame of that player's inputs this member reported holding in its
   * datagrams (contiguously): datagrams to it repeat every input after that.
   */
  readonly held: Int32Array;
  /**
   * The period of the relay's acknowledgement timer in which this member's datagram
   * acknowledgement became due, or -1 when the last datagram to it carried it (see
   * delayed-acks.ts).
   */
  ackDueTick: number;
  /**
   * What the peer last reported with its heartbeat (the optional `stats` of `ping`): its round
   * trip to the relay in ms, its rollbacks and stalls so far; absent until it reports.
   */
  peerStats?: { readonly rttMs: number; readonly rollbacks: number; readonly stalls: number };
}

/** Counters a room adds to; the relay's stats object. */
export interface RoomCounters {
  inputsForwarded: number;
  messagesForwarded: number;
  hashReports: number;
  verdicts: number;
  desyncs: number;
  resyncs: number;
  resyncBytes: number;
  rejoins: number;
  inputsFilled: number;
  /** Members taken as away because the relay heard nothing from them (see `PRESENCE`). */
  silentAway: number;
  /** Inputs received again for a held (frame, slot) with the same bytes: dropped. */
  duplicateInputs: number;
  /** Inputs received again for a held (frame, slot) with different bytes: refused. */
  conflictingInputs: number;
  /** Input datagrams received on members' DataChannels. */
  datagramsIn: number;
  /** Input datagrams sent to members' DataChannels. */
  datagramsOut: number;
  /** Datagrams refused: malformed, oversize, from a peer not playing, a `held` of too many slots. */
  refusedDatagrams: number;
  /** Inputs a DataChannel peer lacked that were older than the relay's recent inputs (not sent). */
  datagramGaps: number;
  /** Switches of a member's inputs between websocket and webrtc. */
  inputPathChanges: number;
}

/** Counters at zero. */
export function emptyRoomCounters(): RoomCounters {
  return {
    inputsForwarded: 0,
    messagesForwarded: 0,
    hashReports: 0,
    verdicts: 0,
    desyncs: 0,
    resyncs: 0,
    resyncBytes: 0,
    rejoins: 0,
    inputsFilled: 0,
    silentAway: 0,
    duplicateInputs: 0,
    conflictingInputs: 0,
    datagramsIn: 0,
    datagramsOut: 0,
    refusedDatagrams: 0,
    datagramGaps: 0,
    inputPathChanges: 0,
  };
}

/** What a room tells the relay around it. */
export interface RoomHooks {
  /** Refuse a member's message: error reply and count. */
  refuse(member: Member, code: ProtocolErrorCode, message: string, kind?: string): void;
  /** Notable events, for the operator's log. */
  event(name: string, detail: Record<string, unknown>): void;
  /** The match is over (its log is closing), for `reason`. */
  ended(matchId: string, reason: string): void;
  /**
   * `member` is lost for good (away past its grace period): true keeps its seat away for a
   * replacement that rejoins with its token (see `RelayHooks.memberLost`). Absent: false.
   */
  lost?(member: Member): boolean;
}

/** The part of a match log a room writes to (a `MatchLogWriter`). */
export interface RoomLog {
  append(record: BodyRecord): void;
  /** The forward path's append: one input, without building a record object. */
  appendInput(frame: Frame, slot: PlayerSlot, input: Uint8Array, ms: number): void;
  close(end?: EndRecord): Promise<unknown>;
}

/**
 * The state the parts of one room share. The room implements it; each part gets it in its
 * constructor, reads what it needs and changes only what it owns (presence: `status`, grace
 * timers; the broker: `syncing`; forwarding: `nextFrame`).
 */
export interface RoomState {
  readonly matchId: string;
  readonly settings: SceneSettings;
  readonly seed: number;
  /** Seats by slot. */
  readonly members: readonly Member[];
  readonly log: RoomLog;
  readonly counters: RoomCounters;
  readonly hooks: RoomHooks;
  readonly scheduler: RelayScheduler;
  /** True once the match has ended. */
  readonly ended: boolean;
  /** Milliseconds since the match started, for log records (0.1 ms resolution). */
  ms(): number;
  /**
   * True in an authoritative match: the sim host writes a departed player's `left` record (the
   * frame its logged inputs end at is the host's), not presence.
   */
  readonly hostLogsDepartures?: boolean;
  /**
   * The host: the lowest connected slot not waiting for its state that votes on the current
   * check (host migration; the verdict's `host` by the same rule).
   */
  host(): Member | null;
  /** Sends `m` to `member` if it is connected. */
  sendTo(member: Member, m: ServerMessage | Uint8Array): void;
  /** Sends `m` to every connected, synced member but `except`. */
  broadcast(m: ServerMessage, except?: Member): void;
}
