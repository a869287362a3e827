/**
 * The study's waiting rooms: who waits in which relay scene's queue since when, the `waiting`
 * pushes (count, time waited, time left), the time waited written to the database when the wait
 * ends, and the scene's waiting-room limit. What happens at the limit (`onTimeout`) is the study
 * server's to decide; this module only says when.
 *
 * @packageDocumentation
 */
import type { StudyWaiting } from '../../protocol/index.ts';
import type { ParticipantDatabase } from '../experiment/index.ts';
import type { Candidate } from '../matchmaker.ts';
import type { StudyRelayScene } from './relay-scenes.ts';

/** A participant waiting in a relay scene's queue. */
export interface Waiter {
  readonly participantId: string;
  readonly scene: StudyRelayScene;
  /** Their game connection in the queue. */
  readonly candidate: Candidate;
  /** When they joined the queue (ms since the epoch). */
  readonly sinceMs: number;
  /** Bots were called to fill this waiter's match (`onTimeout: bot`). */
  botsCalled: boolean;
}

/** What the waiting rooms need around them. */
export interface WaitingRoomsOptions {
  readonly db: ParticipantDatabase;
  /** The candidates in a relay scene's queue now, in arrival order. */
  readonly queue: (scene: string) => readonly Candidate[];
  /** Takes a candidate out of its queue. */
  readonly dequeue: (c: Candidate) => void;
  /** Sends a `waiting` push to the participant's active tab (if any). */
  readonly push: (participantId: string, m: StudyWaiting) => void;
  /** True for a bot's candidate (bots do not wait for themselves). */
  readonly isBot: (c: Candidate) => boolean;
  /** A waiter's limit passed (it is still waiting). */
  readonly timedOut: (w: Waiter) => void;
  readonly onEvent: (event: string, detail: Record<string, unknown>) => void;
  /** The clock, ms since the epoch (default `Date.now`). */
  readonly now?: () => number;
}

/** The waiting rooms: see the module comment. */
export class WaitingRooms {
  readonly #o: WaitingRoomsOptions;
  readonly #waiters = new Map<string, Waiter>();
  readonly #timers = new Map<Waiter, ReturnType<typeof setTimeout>>();

  constructor(o: WaitingRoomsOptions) {
    this.#o = o;
  }

  #now(): number {
    return (this.#o.now ?? Date.now)();
  }

  /** The participant's wait, or undefined when they wait nowhere. */
  get(participantId: string): Waiter | undefined {
    return this.#waiters.get(participantId);
  }

  /** Every waiter of relay scene `scene`. */
  of(scene: string): Waiter[] {
    return [...this.#waiters.values()].filter((w) => w.scene.name === scene);
  }

  /**
   * The queue of `rs` changed (the relay's hook): new waiters start their wait (and their limit's
   * timer), those no longer in it stop (seated, cancelled, closed), and every waiter of the scene
   * gets a push.
   */
  queueChanged(rs: StudyRelayScene, queue: readonly Candidate[]): void {
    const present = new Set<string>();
    for (const c of queue) {
      const id = c.participantId;
      if (id === null || this.#o.isBot(c)) continue;
      present.add(id);
      if (this.#waiters.get(id)?.candidate === c) continue;
      const w: Waiter = {
        participantId: id,
        scene: rs,
        candidate: c,
        sinceMs: this.#now(),
        botsCalled: false,
      };
      const limit = rs.game.waitingRoom.timeoutMs;
      if (rs.game.players > 1 && limit > 0) {
        const timer = setTimeout(() => {
          this.#timers.delete(w);
          if (this.#waiters.get(id) === w) this.#o.timedOut(w);
        }, limit);
        timer.unref?.();
        this.#timers.set(w, timer);
      }
      this.#waiters.set(id, w);
    }
    for (const w of this.of(rs.name)) if (!present.has(w.participantId)) this.stop(w, false);
    for (const w of this.of(rs.name)) this.push(w);
  }

  /**
   * Ends a wait: the time waited is added to the scene visit in the database; `dequeue` also
   * takes the candidate out of the relay's queue. Nothing when `w` waits no longer.
   */
  stop(w: Waiter, dequeue: boolean): void {
    if (this.#waiters.get(w.participantId) !== w) return;
    this.#waiters.delete(w.participantId);
    const timer = this.#timers.get(w);
    if (timer) clearTimeout(timer);
    this.#timers.delete(w);
    const waited = Math.min(86_400_000, Math.max(0, Math.round(this.#now() - w.sinceMs)));
    try {
      this.#o.db.recordWaited(w.participantId, w.scene.sceneId, waited);
    } catch (err) {
      this.#o.onEvent('record-waited-failed', {
        participantId: w.participantId,
        error: String(err),
      });
    }
    if (dequeue) this.#o.dequeue(w.candidate);
  }

  /** Sends `w` where its waiting room stands: how many wait, time waited and time left. */
  push(w: Waiter): void {
    const g = w.scene.game;
    const waitedMs = Math.max(0, Math.round(this.#now() - w.sinceMs));
    const limit = g.waitingRoom.timeoutMs;
    this.#o.push(w.participantId, {
      sceneId: w.scene.sceneId,
      waiting: this.#o.queue(w.scene.name).length,
      players: g.players,
      waitedMs,
      timeLeftMs: limit > 0 && g.players > 1 ? Math.max(0, limit - waitedMs) : null,
    });
  }

  /** Pushes every waiter (the periodic push). */
  pushAll(): void {
    for (const w of this.#waiters.values()) this.push(w);
  }

  /** Forgets every wait and timer (the server is closing; nothing is written). */
  clear(): void {
    for (const t of this.#timers.values()) clearTimeout(t);
    this.#timers.clear();
    this.#waiters.clear();
  }
}
