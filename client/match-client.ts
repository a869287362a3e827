import type { SceneSettings, ServerMessage } from '../protocol/index.ts';
import {
  decodeInput,
  encodeInput,
  type Frame,
  getSimFactory,
  type Input,
  type PlayerSlot,
  type Sim,
} from '../sim/index.ts';
import { type AdvanceResult, type SessionMessage, SessionPeer } from './session/index.ts';
import type { RelayConnection } from './transport/relay-connection.ts';

/** The relay's `start` message: which match, which slot, which seed and settings. */
export type MatchStart = Extract<ServerMessage, { kind: 'start' }>;

/** Optional observers of a {@link MatchClient}, for measurement. */
export interface MatchObservers {
  /** A local input for `frame` was stamped and sent. */
  readonly onInputSent?: (frame: Frame) => void;
  /** A remote input from `slot` for `frame` arrived. */
  readonly onInputReceived?: (slot: PlayerSlot, frame: Frame) => void;
}

/**
 * One peer's side of a match played through the relay: builds the scene's sim and sync session
 * from the relay's `start` message, turns session messages into protocol messages and back,
 * reports the hashes of confirmed frames every `hashInterval` frames, follows departures
 * (`peerLeft`) and verdicts. Driven by the caller's loop: a headless bot or the browser page.
 */
export class MatchClient<Snap = unknown> {
  readonly peer: SessionPeer<Snap>;
  readonly settings: SceneSettings;
  readonly matchId: string;
  readonly slot: PlayerSlot;
  /** Verdicts received: hash checks on which every peer agreed, and desyncs. */
  agreedChecks = 0;
  desyncs = 0;
  /** Frames of the desyncs the relay reported. */
  readonly desyncFrames: Frame[] = [];
  /** Slots that left, with the last frame of their inputs. */
  readonly departed = new Map<PlayerSlot, Frame>();
  /** Why the relay ended the match, once it has. */
  endReason: string | null = null;
  private doneSent = false;
  private lastRttMs = 0;

  /**
   * @param sim the sim to run; by default the scene's sim from the registry
   * @throws ConcordError `UNKNOWN_SIM` when the scene names a sim this build does not have
   */
  constructor(
    private readonly conn: RelayConnection,
    start: MatchStart,
    private readonly observers: MatchObservers = {},
    sim?: Sim<Snap>,
  ) {
    this.settings = start.settings;
    this.matchId = start.matchId;
    this.slot = start.slot;
    const s = this.settings;
    const theSim =
      sim ?? (getSimFactory(s.sim).create({ players: s.players, seed: start.seed }) as Sim<Snap>);
    this.peer = new SessionPeer(
      theSim,
      {
        players: s.players,
        localSlot: start.slot,
        tickRate: s.tickRate,
        mode: s.mode,
        inputDelay: s.inputDelay,
        maxPredictionWindow: s.mode === 'lockstep' ? undefined : s.maxPredictionWindow,
        saveStrategy: s.saveStrategy,
      },
      (messages) => this.sendAll(messages),
    );
    this.peer.session.on((e) => {
      if (e.type === 'confirmedHash' && e.frame % s.hashInterval === 0 && e.frame > 0) {
        this.conn.send({ kind: 'hash', frame: e.frame, hash: e.hash });
      }
    });
  }

  /** Takes a message from the relay that arrived at local time `nowMs`. */
  handle(m: ServerMessage, nowMs: number): void {
    const session = this.peer.session;
    switch (m.kind) {
      case 'input':
        this.observers.onInputReceived?.(m.slot, m.frame);
        this.peer.receive(
          m.slot,
          {
            kind: 'input',
            frame: m.frame,
            input: decodeInput(m.input),
            currentFrame: m.currentFrame,
          },
          nowMs,
        );
        return;
      case 'peerPing':
        this.peer.receive(m.slot, { kind: 'ping', sentMs: m.sentMs }, nowMs);
        return;
      case 'peerPong':
        this.peer.receive(m.slot, { kind: 'pong', to: m.to, sentMs: m.sentMs }, nowMs);
        return;
      case 'pong':
        this.lastRttMs = nowMs - m.sentMs;
        return;
      case 'peerLeft':
        this.departed.set(m.slot, m.lastFrame);
        session.playerLeft(m.slot, m.lastFrame);
        return;
      case 'verdict':
        if (m.agreed) this.agreedChecks++;
        else {
          this.desyncs++;
          this.desyncFrames.push(m.frame);
        }
        return;
      case 'end':
        this.endReason = m.reason;
        return;
      default:
        return;
    }
  }

  /** Runs one tick with the local input sampled now. */
  tick(localInput: Input, nowMs: number): AdvanceResult {
    return this.peer.tick(localInput, nowMs);
  }

  /**
   * Reports `done` with the hash of confirmed frame `frame` once this peer has it.
   * @returns the hash once reported, else null (call again on a later tick)
   */
  finishAt(frame: Frame): string | null {
    const hash = this.peer.session.hashAt(frame);
    if (hash === null) return null;
    if (!this.doneSent) {
      this.doneSent = true;
      this.conn.send({ kind: 'done', frame, hash });
    }
    return hash;
  }

  /** Round trip to the relay in ms from the last relay ping (0 until measured). */
  get relayRttMs(): number {
    return this.lastRttMs;
  }

  private sendAll(messages: SessionMessage[]): void {
    for (const m of messages) {
      switch (m.kind) {
        case 'input':
          this.observers.onInputSent?.(m.frame);
          this.conn.send({
            kind: 'input',
            frame: m.frame,
            input: encodeInput(m.input),
            currentFrame: m.currentFrame,
          });
          break;
        case 'ping':
          this.conn.send({ kind: 'peerPing', sentMs: m.sentMs });
          break;
        case 'pong':
          this.conn.send({ kind: 'peerPong', to: m.to, sentMs: m.sentMs });
          break;
      }
    }
  }
}
