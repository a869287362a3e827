/**
 * The relay's side of an authoritative match (scene `mode: authoritative`): the sim host runs the
 * match in a worker thread at the tick rate (`sim-host/worker.ts`), and this part of the room
 * carries the traffic between it and the members. Inputs go to the worker as they arrive
 * (`input`), never to the other members; acknowledgements likewise (`ack`); each state the
 * worker reports is sent to every connected member (a delta against the state it acknowledged,
 * or the full state) and its inputs as applied go to the match log, with a `host` record of the
 * state's hash, so that `concord replay` reproduces the match from the log alone.
 *
 * The room (`room.ts`) keeps everything else (presence, rejoins, `done`, the end); it skips the
 * peers' hash checks in this mode, since the host is the truth.
 */
import type { Frame, PlayerSlot, SceneSettings } from '../protocol/index.ts';
import {
  DEFAULT_BROADCAST_DIVISOR,
  DEFAULT_INTERPOLATION_DELAY_MS,
  INPUT_BYTES,
} from '../protocol/index.ts';
import { DEFAULT_MAX_REWIND_MS, lagCompensationFrames } from '../sim/index.ts';
import { INPUT_BURST, VIOLATION_DEFAULTS } from '../sim/sync/index.ts';
import type { RoomState } from './room-state.ts';
import type {
  AuthBroadcastEvent,
  AuthoritativeHandle,
  AuthoritativeListener,
  AuthoritativeSettings,
  OpenMatchOptions,
} from './sim-host/index.ts';

/** Where authoritative matches run: the relay's `SimHostPool`. */
export interface AuthoritativeSimHost {
  openAuthoritative(
    options: OpenMatchOptions,
    settings: AuthoritativeSettings,
    listener: AuthoritativeListener,
  ): Promise<AuthoritativeHandle>;
}

/** States the host keeps in its history: one second at the most frequent broadcast, at least 64. */
export function historyStatesFor(settings: SceneSettings): number {
  const divisor = settings.broadcastDivisor ?? DEFAULT_BROADCAST_DIVISOR;
  return Math.max(64, Math.ceil(settings.tickRate / divisor));
}

/** The figures of one authoritative match, for tests, bots and benchmarks. */
export interface AuthoritativeStats {
  /** The frame of the last state sent. */
  frame: Frame;
  /** States sent (one per broadcast, to every connected member). */
  broadcasts: number;
  /** By slot: inputs that arrived after the host stepped their frame, and frames replaced. */
  late: number[];
  replaced: number[];
  /** Encoded bytes sent as deltas and as full states, and what all would have been as full. */
  deltaBytes: number;
  fullBytes: number;
  allFullBytes: number;
  /** Times the host's loop woke two or more frames late, and the most frames it was behind. */
  overruns: number;
  maxBehindFrames: number;
  /** By slot: inputs refused or corrected by the host's checks, and whether it was removed. */
  violations: number[];
  removed: boolean[];
}

/** See the module comment. Open it ({@link open}) before the room begins. */
export class AuthoritativeHost implements AuthoritativeListener {
  readonly stats: AuthoritativeStats;
  private handle: AuthoritativeHandle | null = null;
  private room: RoomState | null = null;
  private end: ((reason: string) => void) | null = null;
  private remove: ((slot: PlayerSlot, reason: string) => void) | null = null;
  private closed = false;
  /** Slots whose `left` record is written. */
  private readonly logged = new Set<PlayerSlot>();

  /**
   * @param host the relay's sim host pool
   * @param options the match's sim, as its log header names it
   * @param defaultInputs every slot's default input, 4 bytes each (played below the input delay
   *   and after a slot left)
   */
  constructor(
    private readonly host: AuthoritativeSimHost,
    private readonly options: OpenMatchOptions,
    private readonly settings: SceneSettings,
    private readonly defaultInputs: readonly Uint8Array[],
  ) {
    const players = settings.players;
    this.stats = {
      frame: 0,
      broadcasts: 0,
      late: new Array(players).fill(0),
      replaced: new Array(players).fill(0),
      deltaBytes: 0,
      fullBytes: 0,
      allFullBytes: 0,
      overruns: 0,
      maxBehindFrames: 0,
      violations: new Array(players).fill(0),
      removed: new Array(players).fill(false),
    };
  }

  /**
   * Opens the match's sim in a worker; {@link start} starts its loop, whose first state (S(0))
   * goes out at once.
   * @throws as `SimHostPool.openAuthoritative` (as a rejection)
   */
  async open(): Promise<void> {
    const s = this.settings;
    const defaults = new Uint8Array(s.players * INPUT_BYTES);
    this.defaultInputs.forEach((d, slot) => {
      defaults.set(d, slot * INPUT_BYTES);
    });
    this.handle = await this.host.openAuthoritative(
      this.options,
      {
        tickRate: s.tickRate,
        broadcastDivisor: s.broadcastDivisor ?? DEFAULT_BROADCAST_DIVISOR,
        inputDelay: s.inputDelay,
        frames: s.frames,
        defaultInputs: defaults,
        historyStates: historyStatesFor(s),
        ...guardSettings(s),
      },
      this,
    );
  }

  /**
   * The room whose members get the states, how to end it when the host fails, and how to remove
   * a player for its input violations (the host made it leave already; the room lets it go).
   */
  attach(
    room: RoomState,
    end: (reason: string) => void,
    remove?: (slot: PlayerSlot, reason: string) => void,
  ): void {
    this.room = room;
    this.end = end;
    this.remove = remove ?? null;
  }

  /** An input of `slot` stamped for `frame`, 4 bytes (the room checked slot and window). */
  input(slot: PlayerSlot, frame: Frame, input: Uint8Array): void {
    this.handle?.input(slot, frame, input);
  }

  /**
   * The member in `slot` acknowledged S(`frame`): its next states are deltas against it.
   * @returns null, or why the acknowledgement is refused (a frame the host has not sent)
   */
  ack(slot: PlayerSlot, frame: Frame): string | null {
    if (frame > this.stats.frame) return `stateAck for frame ${frame}, after the last state sent`;
    this.handle?.ack(slot, frame);
    return null;
  }

  /** The member in `slot` holds no state any more (a rejoin): its next state is full. */
  resync(slot: PlayerSlot): void {
    this.handle?.ack(slot, -1);
  }

  /** Starts the host's loop at frame 0: as the members get `start`. */
  start(): void {
    this.handle?.start().catch((err: unknown) => this.failed(err as Error));
  }

  /**
   * The member in `slot` left for good: the host plays its default input from its next frame on,
   * and the log's `left` record names the last frame of its logged inputs (written here, not by
   * presence: only the host knows that frame).
   */
  leave(slot: PlayerSlot): void {
    this.handle?.leave(slot);
  }

  /** Stops the host's loop. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    void this.handle?.close();
  }

  /** From the worker: a state went out. */
  broadcast(e: AuthBroadcastEvent): void {
    const room = this.room;
    if (!room || room.ended || this.closed) return;
    const st = this.stats;
    st.frame = e.frame;
    st.broadcasts++;
    st.late = [...e.late];
    st.replaced = [...e.replaced];
    st.deltaBytes += e.deltaBytes;
    st.fullBytes += e.fullBytes;
    st.allFullBytes += e.allFullBytes;
    st.overruns = e.overruns;
    st.maxBehindFrames = e.maxBehindFrames;
    const ms = room.ms();
    // The log holds the inputs as applied, from the input delay on (as in every mode).
    const players = this.settings.players;
    const delay = this.settings.inputDelay;
    const rows = e.applied.length / (players * INPUT_BYTES);
    for (let i = 0; i < rows; i++) {
      const f = e.fromFrame + i;
      for (let slot = 0; slot < players; slot++) {
        const leftAt = e.leftAt[slot];
        if (leftAt !== null && f >= leftAt) {
          // Its inputs end at leftAt - 1: the record follows them, once.
          if (!this.logged.has(slot)) this.logLeft(room, slot, leftAt - 1, ms);
          continue;
        }
        if (f < delay) continue;
        const at = (i * players + slot) * INPUT_BYTES;
        room.log.appendInput(f, slot, e.applied.subarray(at, at + INPUT_BYTES), ms);
      }
    }
    // A slot that left at the frame of this state: no input of it follows.
    e.leftAt.forEach((leftAt, slot) => {
      if (leftAt !== null && leftAt <= e.frame && !this.logged.has(slot))
        this.logLeft(room, slot, leftAt - 1, ms);
    });
    this.logGuards(e, ms);
    room.log.append({ type: 'host', f: e.frame, h: e.hash, late: [...e.late], ms });
    for (const m of room.members) {
      if (m.status === 'connected' && !m.syncing) room.sendTo(m, e.messages[m.slot]);
    }
    room.counters.messagesForwarded++;
  }

  /** Logs the host's violations and view delay changes, and removes whom it removed. */
  private logGuards(e: AuthBroadcastEvent, ms: number): void {
    const room = this.room as RoomState;
    const st = this.stats;
    for (const d of e.viewDelays) {
      room.log.append({ type: 'viewDelay', s: d.slot, f: d.frame, frames: d.frames, ms });
    }
    for (const v of e.violations) {
      st.violations[v.slot]++;
      room.log.append({
        type: 'violation',
        s: v.slot,
        f: v.frame,
        rule: v.rule,
        outcome: v.outcome,
        count: v.count,
        action: v.action,
        ms,
      });
      room.hooks.event('input-violation', { matchId: room.matchId, ...v });
      const member = room.members[v.slot];
      if (v.action === 'warned' && member?.status === 'connected') {
        room.hooks.refuse(
          member,
          'RATE_LIMIT',
          `warning: ${v.count} input violations (last: ${v.rule}); at ${this.settings.violationRemoveAt ?? VIOLATION_DEFAULTS.removeAt} you leave the match`,
          'input',
        );
      }
    }
    for (const r of e.removals) {
      st.removed[r.slot] = true;
      this.remove?.(r.slot, 'removed from the match for repeated input violations');
    }
  }

  private logLeft(room: RoomState, slot: PlayerSlot, lastFrame: Frame, ms: number): void {
    this.logged.add(slot);
    room.log.append({ type: 'left', s: slot, lastFrame, ms });
  }

  /** From the worker: the sim threw or the worker died; the match cannot go on. */
  failed(err: Error): void {
    if (this.closed) return;
    this.room?.hooks.event('authoritative-failed', {
      matchId: this.room.matchId,
      error: err.message,
    });
    this.end?.(`the sim host failed: ${err.message}`);
  }
}

/**
 * The worker's input checks and lag compensation for `settings` (an authoritative scene):
 * inputs may be stamped up to a second ahead of the host and `maxRewindMs` behind it, and come
 * half a second of frames faster than one a frame in a burst; lag
 * compensation rewinds up to `maxRewindMs` (none for Python sims, see `lagCompensationFrames`).
 */
function guardSettings(s: SceneSettings): Pick<AuthoritativeSettings, 'checks' | 'rewind'> {
  const rewindFrames = lagCompensationFrames({ ...s, mode: 'authoritative' });
  const capFrames = Math.floor(((s.maxRewindMs ?? DEFAULT_MAX_REWIND_MS) * s.tickRate) / 1000);
  const interpolationMs = s.interpolationDelayMs ?? DEFAULT_INTERPOLATION_DELAY_MS;
  return {
    checks: {
      maxRewindFrames: capFrames,
      maxAheadFrames: Math.max(30, s.tickRate),
      warnAt: s.violationWarnAt ?? VIOLATION_DEFAULTS.warnAt,
      removeAt: s.violationRemoveAt ?? VIOLATION_DEFAULTS.removeAt,
      decayFrames: s.violationDecayFrames ?? VIOLATION_DEFAULTS.decayFrames,
      // Half a second: a predicting client that finds itself behind its target lead (its round
      // trip grew) catches up by up to 4 extra frames a tick, a legitimate burst.
      burst: Math.max(INPUT_BURST, Math.ceil(s.tickRate / 2)),
    },
    rewind:
      rewindFrames < 1
        ? null
        : {
            maxRewindFrames: rewindFrames,
            interpolationFrames: Math.round((interpolationMs * s.tickRate) / 1000),
          },
  };
}
