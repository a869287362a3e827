import {
  type ClientMessage,
  SCENE_LIMITS,
  type SceneSettings,
  type ServerMessage,
} from '../protocol/index.ts';
import {
  decodeInput,
  encodeInput,
  type Frame,
  getSimFactory,
  type Input,
  type PlayerSlot,
  type Sim,
} from '../sim/index.ts';
import {
  type AdvanceResult,
  answerStateRequest,
  applyStateTransfer,
  DesyncCheck,
  type HashReportMessage,
  RejoinGate,
  type SessionMessage,
  SessionPeer,
  type Transport,
} from '../sim/sync/index.ts';
import { AuthoritativeClient } from './authoritative-client.ts';

/** What a {@link MatchClient} needs of its connection to the relay: a way to send. */
export type MatchConnection = Pick<Transport<ClientMessage, ServerMessage>, 'send'>;

/** The relay's `start` (or `rejoined`) message: which match, which slot, seed and settings. */
export type MatchStart = Extract<ServerMessage, { kind: 'start' | 'rejoined' }>;

/** Optional observers of a {@link MatchClient}, for measurement. */
export interface MatchObservers {
  /** A local input for `frame` was stamped and sent. */
  readonly onInputSent?: (frame: Frame) => void;
  /** A remote input from `slot` for `frame` arrived. */
  readonly onInputReceived?: (slot: PlayerSlot, frame: Frame) => void;
}

/** What this peer saw of desyncs and resyncs. */
export interface ResyncStats {
  /** Desync verdicts received (every peer sees each desync once). */
  desyncs: number;
  /** Frames of those desyncs. */
  readonly desyncFrames: Frame[];
  /** States from the host this peer loaded. */
  resyncs: number;
  /** Bytes of those states as received (deltas or full states). */
  resyncBytes: number;
  /** Full states this peer asked for because a delta could not be applied. */
  fullStateRequests: number;
  /** States this peer sent as host, and their bytes. */
  statesSent: number;
  stateBytesSent: number;
  /** Size of the full states this peer sent as host (what a delta saved against). */
  fullStateBytes: number;
  /** For each desync, frames until the next check on which every peer agreed. */
  readonly framesToConverge: number[];
}

/**
 * One peer's side of a match played through the relay: builds the scene's sim and sync session
 * from the relay's `start` (or `rejoined`) message, and maps between protocol messages and the
 * vocabulary of sim/sync's pure modules, which decide everything else:
 *
 * - the {@link DesyncCheck} keeps the hash and canonical state of every K_min-th confirmed frame
 *   until a check on it is judged, and the last agreed checkpoint; it reports the hash of each
 *   check frame the relay announces (`verdict.next`), and holds its reports while this peer awaits
 *   a repair (its bit is set in a verdict's `differing`: the relay asks the host for its state at
 *   once, so this peer asks for nothing);
 * - as host, `answerStateRequest` answers `stateRequest` with S(f) as the smallest of a delta
 *   against the last agreed checkpoint, a delta against the target's signature, and the full
 *   state;
 * - `applyStateTransfer` rebuilds the host's S(f) and checks its hash, then the session loads it
 *   and re-simulates to the present, or this peer sends `stateFailed` for the full state;
 * - the {@link RejoinGate} holds a rejoining peer's ticks until its state and its own inputs are in.
 *
 * It also follows presence: `peerAway` and `peerRejoined` ({@link away}), `peerLeft`
 * ({@link departed}). Driven by the caller's loop: the match runner, a headless bot, the page.
 */
export class MatchClient<Snap = unknown> {
  readonly peer: SessionPeer<Snap>;
  readonly settings: SceneSettings;
  readonly matchId: string;
  readonly slot: PlayerSlot;
  readonly token: string;
  /** Verdicts on which every peer agreed. */
  agreedChecks = 0;
  readonly resync: ResyncStats = {
    desyncs: 0,
    desyncFrames: [],
    resyncs: 0,
    resyncBytes: 0,
    fullStateRequests: 0,
    statesSent: 0,
    stateBytesSent: 0,
    fullStateBytes: 0,
    framesToConverge: [],
  };
  /** Slots that left for good, with the last frame of their inputs. */
  readonly departed = new Map<PlayerSlot, Frame>();
  /** Why the relay ended the match, once it has. */
  endReason: string | null = null;
  /** This peer's side of the desync check: held check states, checkpoint, next check frame. */
  readonly check: DesyncCheck;
  private readonly awaySlots = new Set<PlayerSlot>();
  private readonly rejoin: RejoinGate;
  private doneSent = false;
  private lastRttMs = 0;
  /**
   * In an authoritative match (scene `mode: authoritative`), this client's prediction and
   * reconciliation against the relay's sim host; null in a peer-to-peer match. It steps the same
   * sim as {@link peer}, whose session is then not used.
   */
  readonly authoritative: AuthoritativeClient<Snap> | null;

  /**
   * @param sim the sim to run; by default the scene's sim from the registry
   * @throws ConcordError `UNKNOWN_SIM` when the scene names a sim this build does not have
   */
  constructor(
    private readonly conn: MatchConnection,
    start: MatchStart,
    private readonly observers: MatchObservers = {},
    sim?: Sim<Snap>,
  ) {
    this.settings = start.settings;
    this.matchId = start.matchId;
    this.slot = start.slot;
    this.token = start.token;
    const rejoining = start.kind === 'rejoined';
    this.rejoin = new RejoinGate(rejoining ? start.resumeFrame : 0, rejoining);
    const s = this.settings;
    this.check = new DesyncCheck({ slot: start.slot, hashInterval: s.hashInterval, rejoining });
    const theSim =
      sim ?? (getSimFactory(s.sim).create({ players: s.players, seed: start.seed }) as Sim<Snap>);
    this.peer = new SessionPeer(
      theSim,
      {
        players: s.players,
        localSlot: start.slot,
        tickRate: s.tickRate,
        mode: s.mode === 'authoritative' ? 'rollback' : s.mode,
        inputDelay: s.inputDelay,
        maxPredictionWindow: s.mode === 'lockstep' ? undefined : s.maxPredictionWindow,
        saveStrategy: s.saveStrategy,
        hashInterval: s.hashInterval,
        maxFramesAhead: SCENE_LIMITS.framesAhead.max,
      },
      (messages) => this.sendAll(messages),
    );
    this.authoritative =
      s.mode === 'authoritative'
        ? new AuthoritativeClient(
            theSim,
            s,
            start.slot,
            (m) => this.conn.send(m),
            rejoining,
            observers.onInputSent,
            rejoining ? start.resumeFrame : 0,
          )
        : null;
    this.peer.session.on((e) => {
      if (e.type === 'confirmedHash')
        this.sendHashes(this.check.confirmedHash(e.frame, e.hash, e.state));
      else if (e.type === 'restore') this.sendHashes(this.check.restored(e.frame));
    });
  }

  /**
   * False while a rejoining peer waits for its state and for its own inputs up to the frame it
   * resumes at (the relay played them while it was away): do not tick until it is true, or this
   * peer would stamp inputs of its own for frames the relay has already played. Once true it
   * stays true.
   */
  get ready(): boolean {
    if (this.authoritative) return this.authoritative.ready;
    return this.rejoin.ready((f) => this.peer.session.confirmedInput(this.slot, f) !== undefined);
  }

  /** The current frame: the sim holds S(frame) (predicted past what is confirmed). */
  get frame(): Frame {
    return this.authoritative?.session.frame ?? this.peer.session.frame;
  }

  /** The sim this client steps. */
  get sim(): Sim<Snap> {
    return this.peer.runner.sim;
  }

  /**
   * Frames this client runs ahead of where it should be (negative: behind): of the slowest other
   * peer in a peer-to-peer match; of the host's frame plus a round trip in an authoritative one.
   */
  frameAdvantage(nowMs: number): number {
    return (
      this.authoritative?.frameAdvantage(nowMs, this.lastRttMs) ??
      this.peer.session.frameAdvantage()
    );
  }

  /**
   * The state hash this client holds for `frame`: a confirmed frame's in a peer-to-peer match, the
   * host's (as loaded and checked) in an authoritative one; null when it holds none.
   */
  hashAt(frame: Frame): string | null {
    if (this.authoritative) return this.authoritative.hostHashes.get(frame) ?? null;
    return this.peer.session.hashAt(frame);
  }

  /** Desync verdicts received. */
  get desyncs(): number {
    return this.resync.desyncs;
  }

  /**
   * Slots whose connection the relay lost (or that fell silent) and that may still rejoin: the
   * relay plays their default input meanwhile. A page shows "your partner is reconnecting".
   */
  get away(): ReadonlySet<PlayerSlot> {
    return this.awaySlots;
  }

  /** Takes a message from the relay that arrived at local time `nowMs`. */
  handle(m: ServerMessage, nowMs: number): void {
    const session = this.peer.session;
    switch (m.kind) {
      case 'authState':
        this.authoritative?.receive(m, nowMs, this.lastRttMs);
        return;
      case 'input':
        // An authoritative match forwards no inputs; ignore any that arrive.
        if (this.authoritative) return;
        if (m.slot === this.slot) {
          // Our own inputs as the relay holds them: played for us while away, sent on rejoin.
          session.receiveOwnInput(m.frame, decodeInput(m.input));
          return;
        }
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
      case 'peerAway':
        if (!this.departed.has(m.slot)) this.awaySlots.add(m.slot);
        return;
      case 'peerRejoined':
        this.awaySlots.delete(m.slot);
        return;
      case 'peerLeft':
        this.awaySlots.delete(m.slot);
        this.departed.set(m.slot, m.lastFrame);
        session.playerLeft(m.slot, m.lastFrame);
        return;
      case 'verdict':
        this.onVerdict(m);
        return;
      case 'stateRequest':
        this.answerStateRequest(m);
        return;
      case 'state':
        this.applyState(m);
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
    if (this.authoritative) return this.authoritative.tick(localInput);
    return this.peer.tick(localInput, nowMs);
  }

  /**
   * Reports `done` with the hash of confirmed frame `frame` once this peer has it (`frame`
   * should be a multiple of the scene's hashInterval, the frames whose hash peers keep).
   * @returns the hash once reported, else null (call again on a later tick)
   */
  finishAt(frame: Frame): string | null {
    if (this.authoritative) {
      const at = this.authoritative.finishAt(frame);
      if (at === null) return null;
      if (!this.doneSent) {
        this.doneSent = true;
        this.conn.send({ kind: 'done', frame: at.frame, hash: at.hash });
      }
      return at.hash;
    }
    const hash = this.peer.session.hashAt(frame);
    if (hash === null || this.check.awaitingState !== null) return null;
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

  private onVerdict(m: Extract<ServerMessage, { kind: 'verdict' }>): void {
    const { send, outcome } = this.check.verdict(m);
    if (outcome.kind === 'agreed') {
      this.agreedChecks++;
      if (outcome.checkpoint !== null) this.peer.session.retainInputsFrom(outcome.checkpoint);
      if (outcome.convergedAfter !== null)
        this.resync.framesToConverge.push(outcome.convergedAfter);
    } else {
      // A peer whose bit is set awaits the host's state, which the relay asks for at once.
      this.resync.desyncs++;
      this.resync.desyncFrames.push(m.frame);
    }
    this.sendHashes(send);
  }

  private answerStateRequest(m: Extract<ServerMessage, { kind: 'stateRequest' }>): void {
    const answer = answerStateRequest(m, this.check);
    if (answer === null) return; // not this peer's to answer: the relay asks the next host
    this.resync.statesSent++;
    this.resync.stateBytesSent += answer.bytes.length;
    this.resync.fullStateBytes += answer.fullBytes;
    const { kind, frame, hash, baseFrame, fullBytes, bytes, forSlot } = answer;
    this.conn.send({ kind, frame, hash, baseFrame, fullBytes, bytes, forSlot });
  }

  private applyState(m: Extract<ServerMessage, { kind: 'state' }>): void {
    const first = this.rejoin.awaitingFirstState;
    const outcome = applyStateTransfer(m, this.check, { rejoin: first });
    if (outcome.kind === 'failed') {
      this.resync.fullStateRequests++;
      this.conn.send({ kind: 'stateFailed', frame: outcome.send.frame });
      return;
    }
    const { state, fastForward } = outcome;
    this.resync.resyncs++;
    this.resync.resyncBytes += m.bytes.length;
    this.check.stateLoaded(state, { rejoin: first });
    if (first) this.rejoin.firstStateLoaded(state.frame);
    this.peer.session.loadState(state.frame, state.state, { fastForward });
  }

  private sendHashes(reports: readonly HashReportMessage[]): void {
    for (const r of reports) this.conn.send({ kind: 'hash', frame: r.frame, hash: r.hash });
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
