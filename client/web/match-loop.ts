import { type DuelView, duelView, type Frame, type Input, NEUTRAL_INPUT } from '../../sim/index.ts';
import { FixedTimestep, slowdownFor } from '../../sim/sync/index.ts';
import type { MatchClient } from '../match-client.ts';
import type { RelayConnection } from '../transport/relay-connection.ts';
import type { ConfirmedCapture } from './confirmed-capture.ts';
import type { DuelInputCapture } from './input.ts';

/** Interval of the client↔relay round-trip probe (the overlay's ping), in ms. */
export const RELAY_PING_INTERVAL_MS = 1000;

/** Real time the "3-2-1" countdown lasts, in ms (turned into whole frames per tick rate). */
export const COUNTDOWN_MS = 2400;

/**
 * Frames of the "3-2-1" countdown of a scene: {@link COUNTDOWN_MS} in whole frames at its tick
 * rate, at most half of its frame limit (when it has one). Local inputs of these frames are the
 * sim's default input on every peer, so nobody moves before "GO".
 */
export function countdownFramesFor(settings: {
  readonly tickRate: number;
  readonly frames: Frame;
}): Frame {
  const countdown = Math.round((COUNTDOWN_MS / 1000) * settings.tickRate);
  return settings.frames > 0 ? Math.min(countdown, Math.floor(settings.frames / 2)) : countdown;
}

/**
 * The client↔relay round-trip probe behind the overlay's ping: sends a `ping` every
 * {@link RELAY_PING_INTERVAL_MS} of local time (the relay's `pong` echoes `sentMs`).
 */
export class RelayPinger {
  private nextPingMs = 0;
  private pingId = 0;

  constructor(private readonly conn: Pick<RelayConnection, 'send'>) {}

  /** Sends a ping when one is due at local time `nowMs` (ms, `performance.now()`). */
  update(nowMs: number): void {
    if (nowMs < this.nextPingMs) return;
    this.nextPingMs = nowMs + RELAY_PING_INTERVAL_MS;
    this.conn.send({ kind: 'ping', id: this.pingId, sentMs: nowMs });
    this.pingId = (this.pingId + 1) >>> 0;
  }
}

/** What the view draws: the states before and after the last tick, and how far between them. */
export interface DuelDrawState {
  /** S(f-1) as drawn before the last tick (after a rollback: what was on screen). */
  readonly prev: DuelView;
  /** S(f), the newest state (predicted past the confirmed frame). */
  readonly cur: DuelView;
  /** 0..1: the fraction of the next tick already elapsed, for interpolation. */
  readonly alpha: number;
  readonly localSlot: number;
  /** Frames per second of the sim. */
  readonly tickRate: number;
  /** The scene's frame limit, 0 when unlimited. */
  readonly frameLimit: Frame;
}

/** Why and where a match ended, as the loop saw it. */
export interface LoopEnd {
  /**
   * `frame-limit`: this peer reached the scene's frame limit and reported its hash; `relay`: the
   * relay ended the match; `alone`: every other player left; `lost`: the connection dropped;
   * `error`: the page hit an error.
   */
  readonly kind: 'frame-limit' | 'relay' | 'alone' | 'lost' | 'error';
  /** Why, in words. */
  readonly reason: string;
  /** The state the result is read from. */
  readonly view: DuelView;
  /** True when `view` is a confirmed state. */
  readonly confirmed: boolean;
}

/**
 * The page's game loop for one duel match: each call of {@link update} (from
 * `requestAnimationFrame` while visible, from a worker timer while hidden) turns elapsed real
 * time into fixed ticks of the session, slows down gently when this peer runs ahead (time sync),
 * probes the relay round trip, and keeps the views of the last two states for interpolated
 * drawing. During the countdown, and while the tab is hidden, the local input is the sim's
 * default input (neutral for duel): every peer does the same, so nobody moves before "GO", and a
 * player in a background tab stands still while the match goes on for the others. The session
 * keeps stepping while hidden, and confirms a frame only once every input of it is known, so
 * catching up on return never marks a predicted frame confirmed.
 */
export class MatchLoop {
  /** Frames of the countdown: inputs of frames below it are neutral. */
  readonly countdownFrames: Frame;
  private readonly timestep: FixedTimestep;
  private readonly scratch: Int32Array;
  private lastMs: number | null = null;
  private readonly pinger: RelayPinger;
  private prev: DuelView;
  private cur: DuelView;
  private finalHash: string | null = null;
  private aloneSince: Frame | null = null;
  /** Ticks run while the page was hidden. */
  hiddenTicks = 0;
  /** The local input during the countdown and while hidden: the sim's default for this slot. */
  private readonly idleInput: Input;
  /** Set once the match is over for this page; the loop then does nothing. */
  ended: LoopEnd | null = null;

  constructor(
    private readonly match: MatchClient<Int32Array>,
    conn: RelayConnection,
    private readonly capture: ConfirmedCapture<Int32Array>,
    private readonly input: DuelInputCapture,
  ) {
    const s = match.settings;
    this.timestep = new FixedTimestep({ tickRate: s.tickRate });
    this.countdownFrames = countdownFramesFor(s);
    this.pinger = new RelayPinger(conn);
    const sim = match.peer.runner.sim;
    this.idleInput = sim.defaultInput?.(match.slot) ?? NEUTRAL_INPUT;
    this.scratch = sim.save().slice();
    this.cur = duelView(this.scratch);
    this.prev = this.cur;
  }

  /** The session's current frame. */
  get frame(): Frame {
    return this.match.peer.session.frame;
  }

  /** True while the countdown runs. */
  get inCountdown(): boolean {
    return this.frame < this.countdownFrames;
  }

  /** Real time given up because the page fell more than a second behind, in ms. */
  get droppedMs(): number {
    return this.timestep.droppedMs;
  }

  /** The newest state's view. */
  get view(): DuelView {
    return this.cur;
  }

  /** The views and interpolation fraction to draw now. */
  drawState(): DuelDrawState {
    const s = this.match.settings;
    return {
      prev: this.prev,
      cur: this.cur,
      alpha: this.timestep.alpha,
      localSlot: this.match.slot,
      tickRate: s.tickRate,
      frameLimit: s.frames,
    };
  }

  /**
   * Runs the ticks owed at local time `nowMs` (ms, `performance.now()`), then checks whether the
   * match is over. `hidden`: the page is in a background tab (neutral local input).
   */
  update(nowMs: number, hidden: boolean): void {
    if (this.ended) return;
    const elapsed = this.lastMs === null ? 0 : nowMs - this.lastMs;
    this.lastMs = nowMs;
    this.pinger.update(nowMs);
    const ticks = this.timestep.update(elapsed);
    const session = this.match.peer.session;
    for (let i = 0; i < ticks; i++) {
      const local = this.cur.players[this.match.slot];
      // Sampled even when unused, so that a click during the countdown does not fire at "GO".
      const sampled = this.input.sample(local.alive ? local : null);
      const input = hidden || this.inCountdown ? this.idleInput : sampled;
      const result = this.match.tick(input, nowMs);
      if (hidden) this.hiddenTicks++;
      if (result.requests.some((r) => r.kind !== 'hash' && r.kind !== 'free')) {
        this.prev = this.cur;
        this.cur = duelView(this.match.peer.runner.sim.save(this.scratch));
      }
    }
    this.timestep.setSlowdown(slowdownFor(session.frameAdvantage()));
    this.ended = this.checkEnd();
  }

  private checkEnd(): LoopEnd | null {
    const m = this.match;
    const limit = m.settings.frames;
    if (limit > 0 && this.finalHash === null) this.finalHash = m.finishAt(limit);
    const final = this.capture.captured();
    if (this.finalHash !== null && final !== null) {
      return {
        kind: 'frame-limit',
        reason: `the match reached its ${limit}-frame limit`,
        view: duelView(final),
        confirmed: true,
      };
    }
    if (m.endReason !== null) {
      return {
        kind: 'relay',
        reason: `the relay ended the match: ${m.endReason}`,
        ...this.current(),
      };
    }
    if (m.departed.size >= m.settings.players - 1) {
      // Wait for one tick after the news, so that the late inputs have been rolled back in.
      this.aloneSince ??= this.frame;
      if (this.frame > this.aloneSince)
        return { kind: 'alone', reason: 'every other player left', ...this.current() };
    }
    return null;
  }

  /** The newest state, and whether every input it rests on is known. */
  private current(): { view: DuelView; confirmed: boolean } {
    return {
      view: this.cur,
      confirmed: this.match.peer.session.confirmedFrame >= this.cur.frame - 1,
    };
  }
}
