/**
 * Where the admin view gets what it shows and where its actions go: the relay's own part
 * ({@link RelayAdminView}: matches under way, waiting rooms, ending a match), built here from the
 * matchmaker, and the study's part ({@link AdminSource}: participants, removing one), which the
 * study server implements and passes to `startRelay` as `RelayOptions.admin.source`.
 */
import type {
  AdminMatch,
  AdminParticipant,
  AdminPlayer,
  AdminWaitingRoom,
} from '../../protocol/index.ts';
import type { Matchmaker } from '../matchmaker.ts';
import type { RelayScheduler } from '../scheduler.ts';

/** What became of a removal (see {@link AdminSource.remove}). */
export type AdminRemoveOutcome =
  /** Removed: the participant's page shows the study's message and outcome. */
  | 'removed'
  /** No participant has this id. */
  | 'unknown'
  /** The participant had already finished (or was removed): nothing changed. */
  | 'finished';

/**
 * The study's side of the admin view, implemented by the study server (relay/study/). Every
 * method answers from the participant database, never from a page.
 */
export interface AdminSource {
  /**
   * Every participant of the study with their scene and status, in arrival order (see
   * `studyParticipants`); the admin view shows an `active` one as `playing`, `waiting` or `away`
   * from what the relay knows (`withRelayStatus`).
   */
  participants(): readonly AdminParticipant[] | Promise<readonly AdminParticipant[]>;
  /**
   * Removes a participant (optional: without it the route answers 501): the study ends for them (with the study's removal outcome and
   * message, committed to the database before their page is told), and a match they play goes
   * on or ends as their leaving would.
   * @param participantId the participant's id
   * @param reason the administrator's words, for the database and the log
   */
  remove?(participantId: string, reason: string): Promise<AdminRemoveOutcome>;
}

/** The relay's side of the admin view. */
export interface RelayAdminView {
  /** The matches under way, oldest first. */
  matches(): AdminMatch[];
  /** Every scene's waiting room that has someone in it. */
  waiting(): AdminWaitingRoom[];
  /**
   * Ends a match under way: its players get `end` with `reason`, its log is closed with it.
   * @returns false when no match with this id runs
   */
  endMatch(matchId: string, reason: string): boolean;
}

/** The {@link RelayAdminView} of a matchmaker. */
export function relayAdminView(matchmaker: Matchmaker, scheduler: RelayScheduler): RelayAdminView {
  return {
    matches: () => {
      const now = scheduler.now();
      return matchmaker.runningMatches().map(({ room, startTime }) => ({
        matchId: room.matchId,
        scene: room.settings.name,
        sim: room.settings.sim,
        mode: room.settings.mode,
        tickRate: room.settings.tickRate,
        frames: room.settings.frames,
        startTime,
        frame: room.slowestFrame(),
        desyncs: room.desyncs,
        players: room.members.map(
          (m): AdminPlayer => ({
            slot: m.slot,
            participantId: m.participantId,
            status: m.status,
            nextFrame: m.nextFrame,
            inputPath: m.inputPath,
            silentMs: Math.max(0, Math.round(now - m.lastHeardMs)),
            peer: m.peerStats ?? null,
          }),
        ),
      }));
    },
    waiting: () => matchmaker.waitingRooms(),
    endMatch: (matchId, reason) => {
      const room = matchmaker.room(matchId);
      if (!room || room.ended) return false;
      room.end(reason);
      return true;
    },
  };
}
