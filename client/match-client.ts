import {
  type ClientMessage,
  SCENE_LIMITS,
  type SceneSettings,
  type ServerMessage,
} from '../protocol/index.ts';
import {
  applyStateDelta,
  createStateDeltaFromSignature,
  decodeInput,
  encodeInput,
  type Frame,
  getSimFactory,
  type Input,
  makeStateTransfer,
  type PlayerSlot,
  resolveStateTransfer,
  type Sim,
  stateHash,
} from '../sim/index.ts';
import {
  type AdvanceResult,
  type SessionMessage,
  SessionPeer,
  type Transport,
} from '../sim/sync/index.ts';

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

/** Keeps this many unverified check states at most (a bound, should verdicts stop coming). */
const MAX_STORED_CHECKS = 256;

/**
 * One peer's side of a match played through the relay: builds the scene's sim and sync session
 * from the relay's `start` message, turns session messages into protocol messages and back,
 * and takes part in the relay's desync detection and repair:
 *
 * - it keeps the hash and canonical state of every K_min-th confirmed frame until a check on it
 *   is judged, and the last agreed checkpoint's state after that;
 * - it reports the hash of each check frame the relay announces (`verdict.next`);
 * - as host, it answers `stateRequest` with S(f) as a delta against the last agreed checkpoint;
 * - when its hash differed, it rebuilds the host's S(f), checks its hash, loads it and
 *   re-simulates to the present (asking for the full state if the delta does not apply).
 *
 * Driven by the caller's loop: a headless bot or the browser page.
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
  /** The first frame this peer stamps its own input for (after a rejoin; else 0). */
  private readonly resumeFrame: Frame;
  private stateLoaded: boolean;
  private stateFrame: Frame = 0;
  private doneSent = false;
  private lastRttMs = 0;
  /** Hash and state of K_min-th confirmed frames, until judged. */
  private readonly checks = new Map<Frame, { hash: string; state: Uint8Array }>();
  private lastAgreed: { frame: Frame; hash: string; state: Uint8Array } | null = null;
  private nextCheck: Frame;
  private reported = -1;
  /** The frame of a desync whose repair this peer awaits (its reports are held until then). */
  private awaitingState: Frame | null = null;
  private pendingConvergence: Frame | null = null;

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
    this.stateLoaded = start.kind === 'start';
    this.resumeFrame = start.kind === 'rejoined' ? start.resumeFrame : 0;
    const s = this.settings;
    this.nextCheck = s.hashInterval;
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
        hashInterval: s.hashInterval,
        maxFramesAhead: SCENE_LIMITS.framesAhead.max,
      },
      (messages) => this.sendAll(messages),
    );
    this.peer.session.on((e) => {
      if (e.type === 'confirmedHash') {
        this.checks.set(e.frame, { hash: e.hash, state: e.state });
        if (e.frame === 0 && this.lastAgreed === null) {
          // Every peer starts from the same S(0): the first agreed checkpoint.
          this.lastAgreed = { frame: 0, hash: e.hash, state: e.state };
        }
        this.trimChecks();
        this.reportDue();
      } else if (e.type === 'restore' && this.awaitingState === e.frame) {
        // Hashes from the frame restored on come from the host's line of play again.
        this.awaitingState = null;
      }
    });
  }

  /**
   * False while a rejoining peer waits for its state and for its own inputs up to the frame it
   * resumes at (the relay played them while it was away): do not tick until it is true, or this
   * peer would stamp inputs of its own for frames the relay has already played.
   */
  get ready(): boolean {
    if (!this.stateLoaded) return false;
    const last = this.resumeFrame - 1;
    // The relay sends the inputs since the state in order: once the last one is here, all are.
    return (
      last < this.stateFrame || this.peer.session.confirmedInput(this.slot, last) !== undefined
    );
  }

  /** Desync verdicts received. */
  get desyncs(): number {
    return this.resync.desyncs;
  }

  /** Takes a message from the relay that arrived at local time `nowMs`. */
  handle(m: ServerMessage, nowMs: number): void {
    const session = this.peer.session;
    switch (m.kind) {
      case 'input':
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
      case 'peerLeft':
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
    return this.peer.tick(localInput, nowMs);
  }

  /**
   * Reports `done` with the hash of confirmed frame `frame` once this peer has it (`frame`
   * should be a multiple of the scene's hashInterval, the frames whose hash peers keep).
   * @returns the hash once reported, else null (call again on a later tick)
   */
  finishAt(frame: Frame): string | null {
    const hash = this.peer.session.hashAt(frame);
    if (hash === null || this.awaitingState !== null) return null;
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
    this.nextCheck = m.next;
    if (m.agreed) {
      this.agreedChecks++;
      const c = this.checks.get(m.frame);
      if (c) {
        this.lastAgreed = { frame: m.frame, ...c };
        this.peer.session.retainInputsFrom(m.frame);
      }
      if (this.pendingConvergence !== null) {
        this.resync.framesToConverge.push(m.frame - this.pendingConvergence);
        this.pendingConvergence = null;
      }
    } else {
      this.resync.desyncs++;
      this.resync.desyncFrames.push(m.frame);
      this.pendingConvergence = m.frame;
      if ((m.differing >>> this.slot) & 1) {
        // Our state differed from the host's: the relay has asked the host for S(frame) already;
        // hold our hash reports until it arrives.
        this.awaitingState = m.frame;
      }
    }
    this.trimChecks();
    this.reportDue();
  }

  private trimChecks(): void {
    const keepFrom = this.lastAgreed?.frame ?? 0;
    for (const f of this.checks.keys()) if (f < keepFrom) this.checks.delete(f);
    while (this.checks.size > MAX_STORED_CHECKS) {
      const oldest = Math.min(...this.checks.keys());
      this.checks.delete(oldest);
    }
  }

  private reportDue(): void {
    if (this.awaitingState !== null || this.reported >= this.nextCheck) return;
    const c = this.checks.get(this.nextCheck);
    if (!c) return;
    this.reported = this.nextCheck;
    this.conn.send({ kind: 'hash', frame: this.nextCheck, hash: c.hash });
  }

  /**
   * As host: sends S(frame) for one slot as the smallest of a delta against the state the slot's
   * signature describes (its own S(frame)), a delta against the last agreed checkpoint, and the
   * full state.
   */
  private answerStateRequest(m: Extract<ServerMessage, { kind: 'stateRequest' }>): void {
    const { frame, baseFrame, forSlot, signature } = m;
    const target =
      this.checks.get(frame) ?? (this.lastAgreed?.frame === frame ? this.lastAgreed : null);
    if (!target) return; // not this peer's to answer: the relay asks the next host
    let best = { baseFrame: -1, bytes: target.state };
    if (baseFrame >= 0) {
      const base =
        this.lastAgreed?.frame === baseFrame
          ? { frame: baseFrame, hash: this.lastAgreed.hash, bytes: this.lastAgreed.state }
          : undefined;
      const t = makeStateTransfer(target.state, base);
      if (t.kind === 'delta' && t.bytes.length < best.bytes.length)
        best = { baseFrame, bytes: t.bytes };
      if (signature.length > 0) {
        try {
          // Unchecked (no 4-byte check word): applyState verifies the rebuilt state's hash.
          const d = createStateDeltaFromSignature(signature, target.state, { checked: false });
          if (d.length < best.bytes.length) best = { baseFrame: -2, bytes: d };
        } catch {
          // A malformed signature: the other candidates stand.
        }
      }
    }
    this.resync.statesSent++;
    this.resync.stateBytesSent += best.bytes.length;
    this.resync.fullStateBytes += target.state.length;
    this.conn.send({
      kind: 'state',
      frame,
      hash: target.hash,
      baseFrame: best.baseFrame,
      fullBytes: target.state.length,
      bytes: best.bytes,
      forSlot,
    });
  }

  private applyState(m: Extract<ServerMessage, { kind: 'state' }>): void {
    let bytes: Uint8Array;
    try {
      if (m.baseFrame === -2) {
        const own = this.checks.get(m.frame);
        if (!own) throw new Error('own state missing');
        // The host's signature delta carries no check word: the state hash below checks it.
        bytes = applyStateDelta(own.state, m.bytes, { allowUnchecked: true });
      } else {
        bytes = resolveStateTransfer(
          m.baseFrame === -1
            ? { kind: 'full', bytes: m.bytes }
            : { kind: 'delta', baseFrame: m.baseFrame, baseHash: '', bytes: m.bytes },
          (f) => (this.lastAgreed?.frame === f ? this.lastAgreed.state : null),
        );
      }
      if (stateHash(bytes) !== m.hash) throw new Error('hash mismatch');
    } catch {
      this.resync.fullStateRequests++;
      this.conn.send({ kind: 'stateFailed', frame: m.frame });
      return;
    }
    this.resync.resyncs++;
    this.resync.resyncBytes += m.bytes.length;
    for (const f of this.checks.keys()) if (f >= m.frame) this.checks.delete(f);
    if (!this.stateLoaded) {
      // A rejoining peer: this state and the inputs that follow it rebuild the present.
      this.stateLoaded = true;
      this.stateFrame = m.frame;
      this.lastAgreed = { frame: m.frame, hash: m.hash, state: bytes };
      this.nextCheck = Math.max(this.nextCheck, m.frame + this.settings.hashInterval);
      this.reported = m.frame;
      this.peer.session.loadState(m.frame, bytes, { fastForward: true });
      return;
    }
    this.awaitingState = m.frame;
    this.reported = m.frame;
    this.peer.session.loadState(m.frame, bytes);
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
