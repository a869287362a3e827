/**
 * One client's side of an authoritative match (scene `mode: authoritative`): it maps the host's
 * `authState` messages and the local inputs to sim/sync's {@link PredictReconcileSession}, which
 * decides, and carries out its requests on the sim. The match client (`match-client.ts`) owns it
 * in this mode; the match runner drives it the same way in every mode.
 *
 * - Each `authState` is rebuilt (a delta against a state this client acknowledged, or the full
 *   state), checked against the host's hash, acknowledged (`stateAck`), and loaded at the next
 *   tick with this client's unacknowledged inputs re-simulated on it (reconciliation). The
 *   restored S(frame) is hashed again after the sim loaded it: {@link checks} counts the states
 *   whose reconciled hash equals the host's, and {@link hostHashes} keeps each one.
 * - {@link HostLead} says how far ahead of the host this client runs, so that its inputs reach
 *   the host in time ({@link frameAdvantage}: positive when too far ahead).
 * - The last host states are kept with their frames, for drawing the other players interpolated
 *   `interpolationDelayMs` in the past ({@link interpolation}).
 */
import {
  type ClientMessage,
  DEFAULT_INTERPOLATION_DELAY_MS,
  INPUT_BYTES,
  INTEREST_UPDATE_BASE,
  type SceneSettings,
  type ServerMessage,
} from '../protocol/index.ts';
import {
  applyStateDelta,
  decodeInput,
  type EntityInterest,
  encodeInput,
  type Frame,
  getSimFactory,
  type Input,
  type PlayerSlot,
  type Sim,
  stateHash,
} from '../sim/index.ts';
import {
  type AdvanceResult,
  decodeInterestUpdate,
  HostLead,
  InterestReplica,
  PredictReconcileSession,
  type PredictReconcileStats,
  SimRunner,
} from '../sim/sync/index.ts';

type AuthState = Extract<ServerMessage, { kind: 'authState' }>;

/** States this client keeps as bases for the host's deltas and for interpolation. */
const KEPT_STATES = 32;

/** A host state this client holds. */
export interface HeldHostState {
  readonly frame: Frame;
  readonly hash: string;
  readonly bytes: Uint8Array;
}

/** The two host states around the time the other players are drawn at, and how far between. */
export interface Interpolation {
  readonly from: HeldHostState;
  readonly to: HeldHostState;
  /** 0..1 from `from` to `to`. */
  readonly alpha: number;
}

/** What this client saw of the host's states. */
export interface AuthoritativeClientStats extends PredictReconcileStats {
  /** `authState` messages received, their bytes, and how many were deltas. */
  readonly statesReceived: number;
  readonly stateBytes: number;
  readonly deltas: number;
  /** States that could not be rebuilt (base missing, hash mismatch): a full state was asked for. */
  readonly rebuildFailures: number;
  /** Reconciled states whose hash after loading equals the host's, and those that differ. */
  readonly checks: number;
  readonly mismatches: number;
  /**
   * Interest updates loaded (a sim with entity interest): approximate states, far entities as of
   * their last update, so no hash is compared.
   */
  readonly interestStates: number;
}

/** See the module comment. */
export class AuthoritativeClient<Snap = unknown> {
  readonly session: PredictReconcileSession;
  readonly runner: SimRunner<Snap>;
  /** By frame, the host's hash of every state this client loaded (bots check them with the log). */
  readonly hostHashes = new Map<Frame, string>();
  private readonly lead: HostLead;
  private readonly kept: HeldHostState[] = [];
  private readonly tickMs: number;
  private readonly interpolationDelayMs: number;
  /** Host hashes of states received and not yet reconciled, by frame. */
  private readonly expected = new Map<Frame, string>();
  private statesReceived = 0;
  private stateBytes = 0;
  private deltas = 0;
  private rebuildFailures = 0;
  private checks = 0;
  private mismatches = 0;
  private interestStates = 0;
  /** The entities held, for a sim with entity interest (its states come as interest updates). */
  private readonly replica: InterestReplica<Snap> | null;
  private readonly sim: Sim<Snap>;
  /** False for a rejoining client until its first state is loaded. */
  private started: boolean;

  /**
   * @param rejoining a rejoining client holds no state: it ticks once the host's first arrives
   * @param resumeFrame a rejoining client's first input frame (the relay's `resumeFrame`)
   */
  constructor(
    sim: Sim<Snap>,
    private readonly settings: SceneSettings,
    readonly slot: PlayerSlot,
    private readonly send: (m: ClientMessage) => void,
    rejoining: boolean,
    private readonly onInputSent?: (frame: Frame) => void,
    resumeFrame: Frame = 0,
  ) {
    const defaultInput = sim.defaultInput?.bind(sim);
    this.session = new PredictReconcileSession({
      players: settings.players,
      localSlot: slot,
      inputDelay: settings.inputDelay,
      maxPredictionWindow: Math.max(settings.tickRate * 2, 8),
      defaultInput,
      firstInputFrame: resumeFrame,
    });
    this.runner = new SimRunner(sim);
    this.lead = new HostLead(settings.tickRate);
    this.tickMs = 1000 / settings.tickRate;
    this.interpolationDelayMs = settings.interpolationDelayMs ?? DEFAULT_INTERPOLATION_DELAY_MS;
    this.started = !rejoining;
    let interest: ReturnType<typeof getSimFactory>['interest'];
    try {
      interest = getSimFactory(settings.sim).interest;
    } catch {
      interest = undefined; // a Python or module sim: no entity interest
    }
    this.replica = interest ? new InterestReplica(interest as EntityInterest<Snap>) : null;
    this.sim = sim;
  }

  /** Whether this client ticks: from the start, or after a rejoin once the first state is in. */
  get ready(): boolean {
    return this.started;
  }

  /** The last host state loaded (or received), or null. */
  get lastHostState(): HeldHostState | null {
    return this.kept.at(-1) ?? null;
  }

  /** A host state arrived at local time `nowMs`; `rttMs` is the round trip to the relay. */
  receive(m: AuthState, nowMs: number, rttMs: number): void {
    this.statesReceived++;
    this.stateBytes += m.bytes.length;
    let bytes: Uint8Array;
    const approximate = m.baseFrame === INTEREST_UPDATE_BASE;
    if (approximate) {
      // The entities near this client and some others: an approximate state, no hash to match.
      let snap: Snap | undefined;
      try {
        snap = this.replica?.apply(decodeInterestUpdate(m.bytes));
      } catch {
        snap = undefined;
      }
      if (this.replica === null || snap === undefined) return;
      bytes = this.sim.encode(snap);
      this.interestStates++;
    } else if (m.baseFrame === -1) bytes = m.bytes;
    else {
      this.deltas++;
      const base = this.kept.find((k) => k.frame === m.baseFrame);
      if (!base) {
        this.failed();
        return;
      }
      try {
        bytes = applyStateDelta(base.bytes, m.bytes, { allowUnchecked: true });
      } catch {
        this.failed();
        return;
      }
    }
    if (!approximate && stateHash(bytes) !== m.hash) {
      this.failed();
      return;
    }
    const inputs: Input[] = [];
    for (let s = 0; s < this.settings.players; s++) {
      inputs.push(decodeInput(m.inputs.subarray(s * INPUT_BYTES, (s + 1) * INPUT_BYTES)));
    }
    if (!this.session.receiveState({ frame: m.frame, state: bytes, inputs })) return;
    this.keep({ frame: m.frame, hash: m.hash, bytes });
    if (!approximate) this.expected.set(m.frame, m.hash);
    this.lead.sample(m.frame, nowMs, rttMs);
    this.started = true;
    this.send({ kind: 'stateAck', frame: m.frame });
  }

  /** Runs one tick with the local input sampled now: reconcile if a state is in, then predict. */
  tick(localInput: Input): AdvanceResult {
    const result = this.session.advanceFrame(localInput);
    for (const r of this.runner.run(result.requests)) {
      const host = this.expected.get(r.frame);
      if (host === undefined) continue;
      this.expected.delete(r.frame);
      this.hostHashes.set(r.frame, host);
      if (r.hash === host) this.checks++;
      else this.mismatches++;
    }
    for (const m of this.session.drainOutgoing()) {
      this.onInputSent?.(m.frame);
      this.send({
        kind: 'input',
        frame: m.frame,
        input: encodeInput(m.input),
        currentFrame: m.currentFrame,
      });
    }
    return result;
  }

  /**
   * Frames this client runs ahead of where it should (negative: behind, it should catch up):
   * its frame minus the host's estimated frame plus the round trip and a margin.
   */
  frameAdvantage(nowMs: number, rttMs: number): number {
    const target = this.lead.targetFrame(nowMs, rttMs);
    return target === null ? 0 : this.session.frame - target;
  }

  /**
   * The host states around the moment the other players are drawn at: `interpolationDelayMs`
   * before the host's estimated present. Null before two states are held.
   * @param nowMs local time on the clock that timed the states' arrival (the runner's)
   */
  interpolation(nowMs: number): Interpolation | null {
    const k = this.kept;
    if (k.length < 2) return null;
    const hostNow = this.lead.hostFrame(nowMs);
    if (hostNow === null) return null;
    const at = hostNow - this.interpolationDelayMs / this.tickMs;
    let i = k.length - 2;
    while (i > 0 && k[i].frame > at) i--;
    const from = k[i];
    const to = k[i + 1];
    const alpha = Math.min(1, Math.max(0, (at - from.frame) / (to.frame - from.frame)));
    return { from, to, alpha };
  }

  /** The counters as they stand. */
  stats(): AuthoritativeClientStats {
    return {
      ...this.session.stats(),
      statesReceived: this.statesReceived,
      stateBytes: this.stateBytes,
      deltas: this.deltas,
      rebuildFailures: this.rebuildFailures,
      checks: this.checks,
      mismatches: this.mismatches,
      interestStates: this.interestStates,
    };
  }

  /**
   * Reports `done` with the host's hash of the first state loaded at or after `frame`.
   * @returns that hash once reported, else null (call again on a later tick)
   */
  finishAt(frame: Frame): { frame: Frame; hash: string } | null {
    for (const [f, h] of this.hostHashes) if (f >= frame) return { frame: f, hash: h };
    // Interest updates are not hash-checked: the host's hash of the first one loaded at or past it.
    if (this.replica !== null) {
      for (const k of this.kept) if (k.frame >= frame) return { frame: k.frame, hash: k.hash };
    }
    return null;
  }

  private failed(): void {
    this.rebuildFailures++;
    // The host's next state comes as a delta against the last state this client holds (or in
    // full, when it holds none and so acknowledged none).
    const last = this.lastHostState;
    if (last) this.send({ kind: 'stateAck', frame: last.frame });
  }

  private keep(s: HeldHostState): void {
    this.kept.push(s);
    if (this.kept.length > KEPT_STATES) this.kept.shift();
  }
}
