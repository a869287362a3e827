/**
 * Hooks of the relay for what runs a study around it (relay/study/): who may take a seat, who
 * waits, who sits where, how a match ended, and what happens to a seat lost for good. The relay
 * works as before without them; each one is called synchronously at the moment it names, so what
 * the study server writes (the participant database) is committed before the relay goes on.
 *
 * @packageDocumentation
 */
import type { HeaderRecord } from './log/index.ts';
import type { Candidate } from './matchmaker.ts';
import type { MatchRoom } from './room.ts';
import type { Member } from './room-state.ts';

/** A `join` or `rejoin` asking for a seat, with what its connection says of itself. */
export interface AdmitRequest {
  readonly kind: 'join' | 'rejoin';
  /** The scene joined, or the scene of the match rejoined. */
  readonly scene: string;
  /** The participant id of the message. */
  readonly participantId: string | null;
  /** The socket.io handshake's `auth` of the connection (anything the peer sent; unchecked). */
  readonly auth: unknown;
  /** The match rejoined; null for a join. */
  readonly matchId: string | null;
}

/** What the log header of a match carries besides the scene (keys and actions, episodes, a module's sim). */
export type MatchHeaderExtras = Partial<Pick<HeaderRecord, 'actions' | 'episodes' | 'sim'>>;

/** See the module comment. Every hook is optional. */
export interface RelayHooks {
  /**
   * Whether a join or rejoin may go on: null admits it, a string refuses it (the peer gets an
   * `error` reply with that message, counted under `BAD_SCENE`).
   */
  admit?(request: AdmitRequest): string | null;
  /** A scene's queue changed (someone joined, cancelled, closed or was seated): the queue now. */
  queueChanged?(scene: string, queue: readonly Candidate[]): void;
  /** A match started: `players[slot]` sits in `room.members[slot]`. */
  matchStarted?(room: MatchRoom, players: readonly Candidate[]): void;
  /** A rejoin of `member` was accepted (its state transfer follows), on `candidate`'s connection. */
  rejoined?(room: MatchRoom, member: Member, candidate: Candidate): void;
  /** A match ended, for `reason` (its log is closing; members' status and `doneFrame` as at the end). */
  matchEnded?(room: MatchRoom, reason: string): void;
  /**
   * `member` was away past its grace period and is lost for good. Return true to keep its seat
   * away (the relay plays its default input) for a replacement that rejoins with its token;
   * false (or no hook): it has left, and the match goes on or ends as the scene says.
   */
  memberLost?(room: MatchRoom, member: Member): boolean;
  /** The log header's extras for a match of `scene`, or null for none. */
  matchHeader?(scene: string): MatchHeaderExtras | null;
  /**
   * The encoded input played for each slot of `scene` while it is away or after it left (the
   * scene's `defaultAction`), or null for the sim's own default.
   */
  defaultInputs?(scene: string): readonly Uint8Array[] | null;
}
