/**
 * Presence: where each member of a room is (connected, away, left), and when the match ends
 * because of it. A member goes away when its connection closes or when the relay has heard
 * nothing from it for `awayAfterSilentMs` (a frozen tab, a sleeping laptop, a cut without a
 * close: the relay then closes the connection itself); it may rejoin within the scene's
 * `rejoinGraceMs` and is gone for good (`left`) after it, when its sim faults, or at once when
 * the scene has no grace period. The others hear `peerAway`, `peerRejoined` and `peerLeft`.
 *
 * Timers run on the room's {@link RelayScheduler}: one sweep every quarter of
 * `awayAfterSilentMs`, so a silent member is taken as away between one and one and a half times
 * that after its last message (a sweep that comes late because the relay's own event loop stalled
 * counts silence afresh), and one grace timer per away member. Marking a member heard costs the
 * forward path one field write.
 */
import type { PlayerSlot } from '../protocol/index.ts';
import type { AwayReason } from './log/index.ts';
import type { Member, RoomState } from './room-state.ts';
import type { RelayTimerId } from './scheduler.ts';

/** What presence asks of the room when time passes (timers fire outside any message). */
export interface PresenceEvents {
  /** `member` has been silent too long: take it as away (reason `silent`). */
  silent(member: Member): void;
  /** `member`'s grace period is over: it has left for good. */
  graceOver(member: Member): void;
}

/** A room's presence: see the module comment. Owns members' `status` and their timers. */
export class Presence {
  /** Members away now (the forward path plays their default input only when this is not 0). */
  awayCount = 0;
  private sweepTimer: RelayTimerId | null = null;
  private lastSweepMs = 0;

  /**
   * @param room the room's shared state
   * @param awayAfterSilentMs silence after which a member is taken as away, ms (0: never)
   * @param events the room's reaction to a silent member and to a grace period's end
   */
  constructor(
    private readonly room: RoomState,
    private readonly awayAfterSilentMs: number,
    private readonly events: PresenceEvents,
  ) {}

  /** Starts silence detection (at match start, once the members are seated). */
  start(): void {
    if (this.awayAfterSilentMs <= 0) return;
    const now = this.room.scheduler.now();
    for (const m of this.room.members) m.lastHeardMs = now;
    this.scheduleSweep();
  }

  /** Members with a live connection. */
  connected(): Member[] {
    return this.room.members.filter((m) => m.status === 'connected');
  }

  /**
   * A connected member went away (`closed` or `silent`): away for the grace period when the scene
   * has one, it has not finished, and someone else still plays; else it has left.
   */
  away(member: Member, reason: AwayReason): void {
    const room = this.room;
    member.link = null;
    member.syncing = false;
    const grace = room.settings.rejoinGraceMs;
    if (grace <= 0 || member.doneFrame !== null || this.connected().length <= 1) {
      this.left(member);
      return;
    }
    member.status = 'away';
    this.awayCount++;
    const lastFrame = member.nextFrame - 1;
    room.log.append({ type: 'away', s: member.slot, lastFrame, reason, ms: room.ms() });
    room.broadcast({ kind: 'peerAway', slot: member.slot, lastFrame }, member);
    room.hooks.event('away', { matchId: room.matchId, slot: member.slot, reason });
    member.graceTimer = room.scheduler.at(room.scheduler.now() + grace, () => {
      member.graceTimer = null;
      this.events.graceOver(member);
    });
  }

  /** An away member is back on `link`; it waits for its state (`syncing`) before live traffic. */
  back(member: Member, link: Member['link']): void {
    this.cancelGrace(member);
    this.awayCount--;
    member.status = 'connected';
    member.link = link;
    member.syncing = true;
    member.heard = true;
    member.lastHeardMs = this.room.scheduler.now();
  }

  /** A rejoining member has its state and the inputs since: the others hear it is back. */
  rejoined(slot: PlayerSlot): void {
    this.room.broadcast({ kind: 'peerRejoined', slot }, this.room.members[slot]);
  }

  /** `member` is gone for good: logged and told to the others. Nothing if it had left already. */
  left(member: Member): void {
    const room = this.room;
    if (member.status === 'left') return;
    if (member.status === 'away') this.awayCount--;
    this.cancelGrace(member);
    member.status = 'left';
    member.link = null;
    const lastFrame = member.nextFrame - 1;
    // In an authoritative match the host writes it: only it knows its last applied frame.
    if (!room.hostLogsDepartures)
      room.log.append({ type: 'left', s: member.slot, lastFrame, ms: room.ms() });
    room.broadcast({ kind: 'peerLeft', slot: member.slot, lastFrame }, member);
  }

  /**
   * Why the match must end after a departure, or null: a player was lost in a scene whose
   * `onPlayerLost` is `end`, or every player left.
   */
  lostReason(): string | null {
    const members = this.room.members;
    if (this.room.settings.onPlayerLost === 'end') {
      const lost = members.find((m) => m.status === 'left' && m.doneFrame === null);
      if (lost) return `player ${lost.slot} was lost`;
    }
    return members.some((m) => m.status === 'connected') ? null : 'every player left';
  }

  /** True when someone still plays and every connected player reported `done`. */
  allFinished(): boolean {
    const connected = this.connected();
    return connected.length > 0 && connected.every((m) => m.doneFrame !== null);
  }

  /** Cancels every timer (the match ended). */
  stop(): void {
    if (this.sweepTimer !== null) this.room.scheduler.cancel(this.sweepTimer);
    this.sweepTimer = null;
    for (const m of this.room.members) this.cancelGrace(m);
  }

  private cancelGrace(member: Member): void {
    if (member.graceTimer !== null) this.room.scheduler.cancel(member.graceTimer);
    member.graceTimer = null;
  }

  private scheduleSweep(): void {
    const clock = this.room.scheduler;
    this.lastSweepMs = clock.now();
    this.sweepTimer = clock.at(this.lastSweepMs + this.awayAfterSilentMs / 4, () => this.sweep());
  }

  /** Finds members silent for `awayAfterSilentMs` (a message since the last sweep resets it). */
  private sweep(): void {
    this.sweepTimer = null;
    if (this.room.ended) return;
    const now = this.room.scheduler.now();
    // A sweep this late means the relay itself stalled: the members' messages of that time may
    // still wait unread behind this timer, so silence is counted afresh from now.
    const stalled = now - this.lastSweepMs > this.awayAfterSilentMs / 2;
    for (const m of this.room.members) {
      if (m.status !== 'connected') continue;
      if (m.heard || stalled) {
        m.heard = false;
        m.lastHeardMs = now;
      } else if (now - m.lastHeardMs >= this.awayAfterSilentMs) {
        this.events.silent(m);
        if (this.room.ended) return;
      }
    }
    this.scheduleSweep();
  }
}
