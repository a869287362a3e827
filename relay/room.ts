/**
 * One match on the relay. The room seats its members, dispatches their messages and forwards
 * inputs (this file: an input is validated, forwarded at once, logged; members who are away
 * play their default input); it hands hash reports to the {@link HashArbiter}, state transfers
 * to the {@link ResyncBroker}, and comings and goings to {@link Presence}, and carries out what
 * they decide. The sender's slot always comes from its connection (the `Member`), never from a
 * message.
 *
 * The room reaches nothing outside it but its {@link RoomState} parts: the log, the counters, the
 * hooks and the scheduler (time and timers), so the same room runs in the relay and in-process
 * on a virtual clock.
 */

import { performance } from 'node:perf_hooks';
import {
  type ClientMessage,
  encodeServerMessage,
  type Frame,
  INPUT_BYTES,
  type PlayerSlot,
  PRESENCE,
  SCENE_LIMITS,
  type SceneSettings,
  type ServerMessage,
} from '../protocol/index.ts';
import type { AuthoritativeHost } from './authoritative-host.ts';
import { DatagramPath } from './datagram-path.ts';
import { DelayedAcks } from './delayed-acks.ts';
import { HashArbiter, type Verdict } from './hash-arbiter.ts';
import { InputHistory } from './input-history.ts';
import type { DisputeOutcome, MatchReferee } from './match-referee.ts';
import { FORWARD_LATENCY_EVERY_FRAMES, type ForwardLatency } from './metrics.ts';
import { Presence } from './presence.ts';
import { RecentInputs } from './recent-inputs.ts';
import { type RefereeRepair, ResyncBroker } from './resync-broker.ts';
import type {
  Member,
  MemberLink,
  RoomCounters,
  RoomHooks,
  RoomLog,
  RoomState,
} from './room-state.ts';
import type { RelayScheduler } from './scheduler.ts';
import { arbitrate, type RefereeOutcome } from './sim-host/index.ts';

/** The messages a member sends within its match (the connection layer handles the rest). */
export type RoomMessage = Extract<
  ClientMessage,
  {
    kind:
      | 'input'
      | 'peerPing'
      | 'peerPong'
      | 'hash'
      | 'done'
      | 'state'
      | 'stateFailed'
      | 'resyncRequest'
      | 'fault'
      | 'inputPath'
      | 'stateAck';
  }
>;

/** Settings of a {@link MatchRoom}. */
export interface RoomOptions {
  readonly matchId: string;
  readonly settings: SceneSettings;
  /** The sim's seed (u32), sent in `start` and `rejoined`. */
  readonly seed: number;
  readonly log: RoomLog;
  /** The encoded input played for each slot while it is away or after it left, by slot. */
  readonly defaultInputs: readonly Uint8Array[];
  /** The relay's counters, added to. */
  readonly counters: RoomCounters;
  readonly hooks: RoomHooks;
  /** Time and timers: the real clock in the relay, a virtual one in tests. */
  readonly scheduler: RelayScheduler;
  /** Most frames an input may run ahead of the slowest player (default `SCENE_LIMITS.framesAhead.max`). */
  readonly maxFramesAhead?: number;
  /** Silence after which a member is taken as away, ms (default `PRESENCE.awayAfterSilentMs`; 0: never). */
  readonly awayAfterSilentMs?: number;
  /**
   * The match's desync referee (the sim host re-simulates a disputed check), or null: disputes
   * are then decided by the host rule, and the log says why ({@link noRefereeReason}).
   */
  readonly referee?: MatchReferee | null;
  /** Why there is no referee, for the log (default `no sim host on this relay`). */
  readonly noRefereeReason?: string;
  /**
   * How long a disputed check waits for the referee before the host rule decides it, ms
   * (default {@link REFEREE_TIMEOUT_MS}). It must cover the re-simulation of K_max frames.
   */
  readonly refereeTimeoutMs?: number;
  /**
   * Where forwarded inputs' latencies go (from arrival in {@link MatchRoom.input} to the last
   * send), for `/metrics`: the inputs of every {@link FORWARD_LATENCY_EVERY_FRAMES}-th frame;
   * absent: not measured (no clock read).
   */
  readonly forwardLatency?: ForwardLatency | null;
  /**
   * The match's sim host when the scene's mode is `authoritative` (opened): inputs go to it
   * instead of to the other members, its states go to every member, and no hash is checked.
   */
  readonly authoritative?: AuthoritativeHost | null;
  /** The relay's held-back datagram acknowledgements, shared by its rooms (default: the room's own). */
  readonly acks?: DelayedAcks;
}

/** Default of {@link RoomOptions.refereeTimeoutMs}: 10 s. */
export const REFEREE_TIMEOUT_MS = 10_000;

/**
 * One match: see the module comment. Seat the members ({@link seat}), {@link begin}, then give
 * it each member's messages ({@link handle}), closed connections ({@link disconnected}) and
 * rejoins ({@link rejoin}).
 */
export class MatchRoom implements RoomState {
  readonly members: Member[] = [];
  ended = false;
  /** Desync verdicts in this match. */
  desyncs = 0;
  readonly matchId: string;
  readonly settings: SceneSettings;
  readonly seed: number;
  readonly log: RoomLog;
  readonly counters: RoomCounters;
  readonly hooks: RoomHooks;
  readonly scheduler: RelayScheduler;
  readonly arbiter: HashArbiter;
  private readonly broker: ResyncBroker;
  private readonly presence: Presence;
  /** Input datagrams in and out (members' DataChannels). */
  readonly datagrams: DatagramPath;
  private readonly defaultInputs: readonly Uint8Array[];
  private readonly maxFramesAhead: number;
  private readonly startMs: number;
  /** Every input forwarded since the last agreed checkpoint, for rejoining peers. */
  private readonly history = new InputHistory(INPUT_BYTES);
  /** Frames below this are no longer in the history. */
  private historyFloor = 0;
  private nextHistoryTrim = 4096;
  private readonly referee: MatchReferee | null;
  private readonly noRefereeReason: string;
  private readonly refereeTimeoutMs: number;
  private readonly forwardLatency: ForwardLatency | null;
  /** The disputed check the referee is deciding (its verdict is held back meanwhile), or null. */
  private arbitrating: { readonly frame: Frame; readonly done: Promise<void> } | null = null;
  /** The last verdict sent, for a peer whose rejoin completes (it missed it while syncing). */
  private lastVerdict: Extract<ServerMessage, { kind: 'verdict' }> | null = null;
  /** The sim host of an authoritative match, or null (peer-to-peer). */
  readonly authoritative: AuthoritativeHost | null;

  constructor(o: RoomOptions) {
    this.matchId = o.matchId;
    this.settings = o.settings;
    this.seed = o.seed;
    this.log = o.log;
    this.counters = o.counters;
    this.hooks = o.hooks;
    this.scheduler = o.scheduler;
    this.defaultInputs = o.defaultInputs;
    this.maxFramesAhead = o.maxFramesAhead ?? SCENE_LIMITS.framesAhead.max;
    this.referee = o.referee ?? null;
    this.noRefereeReason = o.noRefereeReason ?? 'no sim host on this relay';
    this.refereeTimeoutMs = o.refereeTimeoutMs ?? REFEREE_TIMEOUT_MS;
    this.forwardLatency = o.forwardLatency ?? null;
    this.authoritative = o.authoritative ?? null;
    this.authoritative?.attach(
      this,
      (reason) => this.end(reason),
      (slot, reason) => this.expel(slot, reason),
    );
    this.startMs = o.scheduler.now();
    this.arbiter = new HashArbiter(
      o.settings.players,
      o.settings.hashInterval,
      o.settings.hashIntervalMax,
    );
    this.broker = new ResyncBroker(this, this.history);
    this.datagrams = new DatagramPath(this, o.acks ?? new DelayedAcks(o.scheduler));
    this.presence = new Presence(this, o.awayAfterSilentMs ?? PRESENCE.awayAfterSilentMs, {
      silent: (m) => this.silent(m),
      graceOver: (m) => this.left(m),
    });
  }

  /** Seats the next slot: `participantId` on `link`, with rejoin `token`. */
  seat(participantId: string | null, link: MemberLink, token: string): Member {
    const member: Member = {
      slot: this.members.length,
      participantId,
      token,
      link,
      status: 'connected',
      nextFrame: this.settings.inputDelay,
      doneFrame: null,
      syncing: false,
      heard: true,
      lastHeardMs: this.scheduler.now(),
      graceTimer: null,
      inputPath: 'websocket',
      recent: new RecentInputs(this.settings.inputDelay),
      held: new Int32Array(this.settings.players).fill(this.settings.inputDelay - 1),
      ackDueTick: -1,
    };
    this.members.push(member);
    return member;
  }

  /** Sends each member its `start` and starts silence detection. */
  begin(): void {
    for (const m of this.members) {
      this.sendTo(m, {
        kind: 'start',
        matchId: this.matchId,
        slot: m.slot,
        seed: this.seed,
        settings: this.settings,
        token: m.token,
      });
    }
    this.authoritative?.start();
    this.presence.start();
  }

  /** A message of `member` within the match; refused when the member is not playing. */
  handle(member: Member, m: RoomMessage): void {
    if (this.ended || member.status !== 'connected') {
      this.hooks.refuse(member, 'NOT_IN_MATCH', `${m.kind} outside a match`, m.kind);
      return;
    }
    switch (m.kind) {
      case 'input':
        this.input(member, m.frame, m.input, m.currentFrame);
        return;
      case 'peerPing':
        this.broadcast({ kind: 'peerPing', slot: member.slot, sentMs: m.sentMs }, member);
        return;
      case 'peerPong':
        this.broadcast({ kind: 'peerPong', slot: member.slot, to: m.to, sentMs: m.sentMs }, member);
        return;
      case 'hash':
        this.hash(member, m.frame, m.hash);
        return;
      case 'done':
        this.done(member, m.frame, m.hash);
        return;
      case 'state': {
        const out = this.broker.state(member, m);
        if (out.refused !== null) this.hooks.refuse(member, 'BAD_FIELD', out.refused, 'state');
        else if (out.rejoined) {
          this.presence.rejoined(out.rejoined.slot);
          this.sendNextCheck(out.rejoined);
        }
        return;
      }
      case 'stateFailed': {
        const refused = this.broker.stateFailed(member.slot, m.frame);
        if (refused !== null) this.hooks.refuse(member, 'BAD_FIELD', refused, 'stateFailed');
        return;
      }
      case 'resyncRequest':
        // Retired: the relay asks the host for every differing slot as soon as it finds a desync.
        this.hooks.refuse(
          member,
          'UNKNOWN_KIND',
          'resyncRequest is retired: after a desync verdict the relay asks the host for the state at once; await it',
          'resyncRequest',
        );
        return;
      case 'fault':
        this.fault(member, m.frame, m.reason);
        return;
      case 'inputPath': {
        const refused = this.datagrams.switchTo(member, m.path, 'peer');
        if (refused !== null) this.hooks.refuse(member, 'BAD_FIELD', refused, 'inputPath');
        return;
      }
      case 'stateAck': {
        const refused =
          this.authoritative?.ack(member.slot, m.frame) ??
          'stateAck outside an authoritative match';
        if (refused !== null) this.hooks.refuse(member, 'BAD_FIELD', refused, 'stateAck');
        return;
      }
    }
  }

  /** True in an authoritative match: see {@link RoomState.hostLogsDepartures}. */
  get hostLogsDepartures(): boolean {
    return this.authoritative !== null;
  }

  /** False in an authoritative match: inputs go to the sim host, not to the other members. */
  get forwardsInputs(): boolean {
    return this.authoritative === null;
  }

  /** One datagram from `member`'s DataChannel (see datagram-path.ts). */
  datagram(member: Member, bytes: Uint8Array): void {
    this.datagrams.receive(member, bytes);
  }

  /** `member`'s DataChannel closed (`reason`): its inputs travel on websocket again. */
  datagramClosed(member: Member, reason: string): void {
    if (this.ended || member.status !== 'connected') return;
    this.datagrams.switchTo(member, 'websocket', `channel ${reason}`);
  }

  // The forward path: an input in, validated, forwarded to the others at once, logged.

  /**
   * An input of `member` for `frame` (the 4 bytes at `at` in `input`), sent while it showed
   * `currentFrame`. An input for a frame already held is dropped when equal (a peer resending
   * after a switch of its input path) and refused and counted when different.
   */
  input(member: Member, frame: Frame, input: Uint8Array, currentFrame: Frame, at = 0): void {
    // Two clock reads cost about as much as 1 % of an input's forwarding: a sample of the inputs
    // (those of every 8th frame) is timed. On the monotonic clock, not the room's scheduler: a
    // latency, real even when the room runs on a virtual clock.
    const timed = this.forwardLatency !== null && frame % FORWARD_LATENCY_EVERY_FRAMES === 0;
    const inMs = timed ? performance.now() : 0; // clock-ok: metrics
    if (frame !== member.nextFrame) {
      if (frame < member.nextFrame && member.recent.has(frame)) {
        if (member.recent.equals(frame, input, at)) {
          this.counters.duplicateInputs++;
          return;
        }
        this.counters.conflictingInputs++;
        this.hooks.refuse(
          member,
          'BAD_FIELD',
          `input for frame ${frame} differs from the one held`,
          'input',
        );
        return;
      }
      this.refuseInput(member, `input for frame ${frame}; the next is ${member.nextFrame}`);
      return;
    }
    if (frame > this.slowestFrame() + this.maxFramesAhead) {
      this.refuseInput(member, `input for frame ${frame} is too far ahead of the room`);
      return;
    }
    const bytes =
      at === 0 && input.length === INPUT_BYTES ? input : input.subarray(at, at + INPUT_BYTES);
    this.forwardInput(member, frame, bytes, currentFrame);
    if (timed) this.forwardLatency?.observe(performance.now() - inMs); // clock-ok: metrics
    // Players who are away play the sim's default input, so that the others never wait for them.
    if (this.presence.awayCount !== 0) this.playForAway(frame, currentFrame);
  }

  private forwardInput(member: Member, frame: Frame, input: Uint8Array, currentFrame: Frame): void {
    member.nextFrame = frame + 1;
    member.recent.push(frame, input, currentFrame);
    if (this.authoritative) {
      // The host applies it (or replaces it when late) and logs the inputs as applied.
      this.authoritative.input(member.slot, frame, input);
      this.counters.inputsForwarded++;
      return;
    }
    // Each other member gets it on its input path: a datagram repeating all it lacks, or socket.io.
    let encoded: Uint8Array | null = null;
    for (const other of this.members) {
      if (other === member || other.status !== 'connected' || other.syncing) continue;
      if (other.inputPath === 'webrtc') {
        this.datagrams.sendTo(other);
        continue;
      }
      if (encoded === null) {
        encoded = encodeServerMessage({
          kind: 'input',
          slot: member.slot,
          frame,
          input,
          currentFrame,
        });
      }
      other.link?.send(encoded);
    }
    this.counters.messagesForwarded++;
    this.counters.inputsForwarded++;
    this.history.push(member.slot, frame, input, currentFrame);
    if (this.history.length >= this.nextHistoryTrim) this.trimHistory();
    this.log.appendInput(frame, member.slot, input, this.ms());
  }

  /** Sends `member` on socket.io every input of the others after what it reported holding. */
  resendOnSocket(member: Member): void {
    let from = Number.POSITIVE_INFINITY;
    for (const other of this.members) {
      if (other !== member) from = Math.min(from, member.held[other.slot] + 1);
    }
    if (from === Number.POSITIVE_INFINITY) return;
    this.history.forEachFrom(Math.max(from, this.historyFloor), (h) => {
      if (h.slot !== member.slot && h.frame > member.held[h.slot]) {
        this.sendTo(member, { kind: 'input', ...h });
      }
    });
  }

  private playForAway(frame: Frame, currentFrame: Frame): void {
    for (const away of this.members) {
      if (away.status !== 'away') continue;
      while (away.nextFrame <= frame) {
        this.forwardInput(away, away.nextFrame, this.defaultInputs[away.slot], currentFrame);
        this.counters.inputsFilled++;
      }
    }
  }

  private refuseInput(member: Member, message: string): void {
    this.hooks.refuse(member, 'FRAME_WINDOW', message, 'input');
  }

  /** Lowest next-input frame among members still playing: the room's slowest player. */
  slowestFrame(): Frame {
    let f = Number.POSITIVE_INFINITY;
    for (const m of this.members) if (m.status === 'connected') f = Math.min(f, m.nextFrame);
    return f === Number.POSITIVE_INFINITY ? 0 : f;
  }

  /**
   * Drops the inputs no rejoining peer can need: those before the last agreed checkpoint (and
   * before any rejoin under way), and in any case those older than the history window, so that
   * peers that never report hashes cannot make the relay's memory grow without bound.
   */
  private trimHistory(): void {
    const keepFrom = Math.min(this.arbiter.lastAgreed, this.broker.rejoinFloor());
    let latest = 0;
    for (const m of this.members) latest = Math.max(latest, m.nextFrame);
    this.historyFloor = Math.max(this.historyFloor, keepFrom, latest - this.historyWindowFrames());
    this.history.dropBelow(this.historyFloor);
    this.nextHistoryTrim = Math.max(4096, 2 * this.history.length);
  }

  /** Frames of input history kept at most: the grace period, two check intervals and the frame window. */
  private historyWindowFrames(): number {
    const s = this.settings;
    return (
      Math.ceil((s.rejoinGraceMs / 1000) * s.tickRate) + 2 * s.hashIntervalMax + this.maxFramesAhead
    );
  }

  /** Inputs held for rejoining peers (bounded by the history window). */
  get historySize(): number {
    return this.history.length;
  }

  // Hash checks and resync.

  /** A state-hash report: only for the announced check frame, once per member. */
  private hash(member: Member, frame: Frame, hash: string): void {
    if (this.authoritative) {
      this.hooks.refuse(member, 'BAD_FIELD', 'no hash checks in an authoritative match', 'hash');
      return;
    }
    const refused = this.arbiter.report(member.slot, frame, hash);
    if (refused !== null) {
      this.hooks.refuse(member, 'FRAME_WINDOW', refused, 'hash');
      return;
    }
    this.counters.hashReports++;
    this.log.append({ type: 'hash', f: frame, s: member.slot, h: hash, ms: this.ms() });
    this.judge();
  }

  /**
   * Has the arbiter judge the check frame (once every connected, synced member reported). An
   * agreed check is logged and announced at once, and the referee steps its own copy to it. A
   * disputed one goes to the referee when the match has one: its verdict (and so the next check
   * frame) is held back until the referee answers or {@link refereeTimeoutMs} pass, so no peer
   * reports a later check meanwhile (they learn check frames only from verdicts); the event loop
   * never waits. Without a referee, or when it cannot decide, the host rule decides.
   */
  private judge(): void {
    if (this.arbitrating !== null) return;
    const voters: PlayerSlot[] = [];
    for (const m of this.members) if (m.status === 'connected' && !m.syncing) voters.push(m.slot);
    const from = this.arbiter.lastAgreed;
    const v = this.arbiter.judge(voters);
    if (!v) return;
    if (v.agreed) {
      const inputs = this.referee ? this.inputsBetween(from, v.frame) : null;
      // Inputs no longer held: the referee loses its copy at its next call, and says so.
      if (inputs instanceof Uint8Array)
        this.referee?.agreed(from, v.frame, v.hashes[v.host]!, inputs);
      this.announce(v, from, null);
      return;
    }
    if (!this.referee) {
      this.announce(v, from, { kind: 'unavailable', reason: this.noRefereeReason });
      return;
    }
    const inputs = this.inputsBetween(from, v.frame);
    if (typeof inputs === 'string') {
      this.announce(v, from, { kind: 'unavailable', reason: inputs });
      return;
    }
    let timer: number | null = null;
    let decided = false;
    const decide = (outcome: DisputeOutcome): void => {
      if (decided) return;
      decided = true;
      if (timer !== null) this.scheduler.cancel(timer);
      this.arbitrating = null;
      if (this.ended) return;
      this.announce(v, from, outcome);
      // Reports that were awaited meanwhile (none: nobody knew the next check) or departures.
      this.judge();
    };
    const done = this.referee.dispute(from, v.frame, inputs).then(decide);
    this.arbitrating = { frame: v.frame, done };
    timer = this.scheduler.at(this.scheduler.now() + this.refereeTimeoutMs, () =>
      decide({
        kind: 'unavailable',
        reason: `the referee gave no answer within ${this.refereeTimeoutMs} ms`,
      }),
    );
  }

  /**
   * Resolves once the referee's pending arbitration (if any) is decided and announced: for
   * in-process tests on a virtual clock, which let real time pass for the sim host's worker.
   */
  get arbitration(): Promise<void> | null {
    return this.arbitrating?.done ?? null;
  }

  /**
   * Logs and sends the verdict on check `v` (the last agreed checkpoint was `from`). A disputed
   * check is decided by {@link arbitrate} with the referee's outcome (null only for an agreed
   * check): the right copies, the ones to repair (the host among them when its copy is the
   * damaged one) and where their S(f) comes from; the host is asked at once for nothing else.
   */
  private announce(v: Verdict, from: Frame, outcome: DisputeOutcome | null): void {
    this.counters.verdicts++;
    this.log.append({ type: 'verdict', f: v.frame, agreed: v.agreed, hashes: v.hashes });
    if (v.agreed) {
      this.trimHistory();
      if (v.converged !== null) {
        const f = v.converged;
        this.log.append({ type: 'converged', f, at: v.frame, frames: v.frame - f, ms: this.ms() });
        this.hooks.event('converged', { matchId: this.matchId, desyncFrame: f, at: v.frame });
      }
      this.sendVerdict({
        kind: 'verdict',
        frame: v.frame,
        agreed: true,
        next: v.next,
        differing: 0,
      });
      return;
    }
    // Members that left while the referee worked neither vote nor get repaired.
    const reports = v.hashes.map((h, s) =>
      h !== null && this.members[s].status === 'connected' ? h : null,
    );
    const referee: RefereeOutcome | null =
      outcome === null
        ? null
        : outcome.kind === 'hash'
          ? { kind: 'hash', hash: outcome.hash }
          : { kind: 'unavailable', reason: outcome.reason };
    const arb = reports.some((h) => h !== null)
      ? arbitrate({ frame: v.frame, fromFrame: from, reports, referee })
      : null;
    const repair = arb?.repair ?? [];
    this.log.append({ ...(arb?.record ?? noVoteRecord(v, referee)), ms: this.ms() });
    this.desyncs++;
    this.counters.desyncs++;
    const detail = { f: v.frame, host: v.host, hashes: v.hashes, differing: repair };
    this.log.append({ type: 'desync', ...detail, ms: this.ms() });
    this.hooks.event('desync', {
      matchId: this.matchId,
      frame: v.frame,
      host: v.host,
      differing: repair,
      method: arb?.method ?? 'host',
    });
    let mask = 0;
    for (const s of repair) mask |= 1 << s;
    this.sendVerdict({
      kind: 'verdict',
      frame: v.frame,
      agreed: false,
      next: v.next,
      differing: mask,
    });
    if (arb === null || repair.length === 0) return;
    const repairState: RefereeRepair | null =
      outcome?.kind === 'hash'
        ? {
            hash: outcome.hash,
            state: outcome.state,
            baseFrame: outcome.baseFrame,
            bytes: outcome.bytes,
          }
        : null;
    this.broker.desync(v.frame, repair, arb.sources, from, repairState);
  }

  private sendVerdict(m: Extract<ServerMessage, { kind: 'verdict' }>): void {
    this.lastVerdict = m;
    this.broadcast(m);
  }

  /**
   * A rejoining member's syncing ended: it missed the verdicts judged meanwhile, so it gets the
   * last one again, which names the next check frame, when that is a check it votes on (else
   * the verdict on the check under way reaches it like everyone).
   */
  private sendNextCheck(member: Member): void {
    if (this.arbitrating !== null || this.lastVerdict === null) return;
    if (!this.arbiter.votes(member.slot)) return;
    this.sendTo(member, this.lastVerdict);
  }

  /**
   * Every slot's input for frames `from..to-1`, packed for the referee (frame-major, then slot,
   * `INPUT_BYTES` each): from the history, the default input for frames before the input delay
   * and after a slot left, as replay plays them.
   * @returns the bytes, or why they cannot be packed (inputs no longer held)
   */
  private inputsBetween(from: Frame, to: Frame): Uint8Array | string {
    const players = this.settings.players;
    const out = new Uint8Array((to - from) * players * INPUT_BYTES);
    const seen = new Uint8Array((to - from) * players);
    this.history.forEachFrom(from, (h) => {
      if (h.frame >= to) return;
      const i = (h.frame - from) * players + h.slot;
      out.set(h.input, i * INPUT_BYTES);
      seen[i] = 1;
    });
    for (let f = from; f < to; f++) {
      for (let s = 0; s < players; s++) {
        const i = (f - from) * players + s;
        if (seen[i] === 1) continue;
        const m = this.members[s];
        if (f < this.settings.inputDelay || (m.status === 'left' && f >= m.nextFrame)) {
          out.set(this.defaultInputs[s], i * INPUT_BYTES);
        } else {
          return `the relay no longer holds slot ${s}'s input for frame ${f}`;
        }
      }
    }
    return out;
  }

  // Presence: done, departures, rejoins, the end.

  private done(member: Member, frame: Frame, hash: string): void {
    if (member.doneFrame !== null) {
      this.hooks.refuse(member, 'BAD_FIELD', 'done already reported', 'done');
      return;
    }
    member.doneFrame = frame;
    this.log.append({ type: 'done', s: member.slot, f: frame, h: hash, ms: this.ms() });
    if (this.presence.allFinished()) this.end('every player finished');
  }

  /** A member's connection closed: away for the grace period, then gone. */
  disconnected(member: Member): void {
    if (this.ended || member.status !== 'connected') return;
    this.presence.away(member, 'closed');
    this.afterDeparture();
  }

  /**
   * `member` is gone for good now, without a grace period (a study's administrator removed the
   * participant): a connected member goes away (logged `away`, reason `closed`) and its
   * connection is closed, then it leaves as after a grace period: the scene's `onPlayerLost`
   * applies, or a study's replacement bot takes the seat (the `lost` hook), as for any lost
   * player. Nothing when the match is over or the member has left already.
   */
  removeMember(member: Member): void {
    if (this.ended || member.status === 'left') return;
    if (member.status === 'connected') {
      const link = member.link;
      this.presence.away(member, 'closed');
      link?.close?.();
      this.afterDeparture();
    }
    this.left(member);
  }

  /** Presence heard nothing from `member` for too long: away, and its connection closed. */
  private silent(member: Member): void {
    if (this.ended || member.status !== 'connected') return;
    const link = member.link;
    this.counters.silentAway++;
    this.presence.away(member, 'silent');
    link?.close?.();
    this.afterDeparture();
  }

  /**
   * The member's sim threw at `frame` and it gives up: logged as a fault record, then the member
   * has left (no grace period: it is not coming back), so the match goes on or ends as the
   * scene's `onPlayerLost` says and its log ends properly.
   */
  private fault(member: Member, frame: Frame, reason: string): void {
    this.log.append({ type: 'fault', s: member.slot, f: frame, reason, ms: this.ms() });
    this.hooks.event('fault', { matchId: this.matchId, slot: member.slot, frame, reason });
    this.left(member);
  }

  /**
   * The sim host of an authoritative match removed `slot` for its input violations (it plays its
   * default input since, and the host logs its `left` record): it is told why (an `error`), its
   * connection closes, and it has left, with no rejoin.
   */
  private expel(slot: PlayerSlot, reason: string): void {
    const member = this.members[slot];
    if (this.ended || member === undefined || member.status === 'left') return;
    const link = member.link;
    if (member.status === 'connected') this.hooks.refuse(member, 'RATE_LIMIT', reason, 'input');
    this.left(member);
    link?.close?.();
  }

  private left(member: Member): void {
    if (this.ended || member.status === 'left') return;
    // A replacement (a study's bot) will rejoin this seat: it stays away meanwhile.
    if (member.status === 'away' && member.doneFrame === null && this.hooks.lost?.(member)) return;
    this.presence.left(member);
    this.authoritative?.leave(member.slot);
    this.afterDeparture();
  }

  /** After a member went away or left: end, or go on with a new host and fewer voters. */
  private afterDeparture(): void {
    if (this.ended) return;
    const lost = this.presence.lostReason();
    if (lost !== null) {
      this.end(lost);
      return;
    }
    // The host may have gone (host migration): the new host answers what is still pending.
    this.broker.afterDeparture();
    // The departed member's report may have been the last one awaited.
    this.judge();
    if (this.presence.allFinished()) this.end('every player finished');
  }

  /**
   * A member comes back on `link` within the grace period, with the `token` of its `start` and
   * the participant id it joined with: it gets `rejoined`, then the host's full state of the last
   * agreed checkpoint, then every input since, and the others get `peerRejoined`.
   * @returns the member, or why the rejoin is refused (a token of no seat of this match, a seat
   *   of another participant, a seat already connected or left for good, inputs no longer held)
   */
  rejoin(token: string, participantId: string | null, link: MemberLink): Member | string {
    const member = this.members.find((m) => m.token === token);
    if (!member) return `the token is no seat's of match ${this.matchId}`;
    if (member.participantId !== participantId)
      return `the seat of this token in match ${this.matchId} is another participant's`;
    if (this.ended) return `match ${this.matchId} is over`;
    if (member.status === 'left')
      return `slot ${member.slot} has left match ${this.matchId} (the grace period passed)`;
    if (member.status === 'connected') return `slot ${member.slot} is connected already`;
    if (this.authoritative) return this.rejoinAuthoritative(member, link);
    // Without the inputs since the last agreed checkpoint the peer could not catch up.
    if (!this.host() || this.arbiter.lastAgreed < this.historyFloor)
      return `match ${this.matchId} no longer holds the inputs slot ${member.slot} would need`;
    this.presence.back(member, link);
    // The new connection has no DataChannel yet; the state transfer brings every input anew.
    member.inputPath = 'websocket';
    member.held.fill(Math.max(this.arbiter.lastAgreed, this.settings.inputDelay) - 1);
    this.arbiter.skipCurrentCheck(member.slot);
    this.counters.rejoins++;
    this.sendTo(member, {
      kind: 'rejoined',
      matchId: this.matchId,
      slot: member.slot,
      seed: this.seed,
      settings: this.settings,
      token: member.token,
      resumeFrame: member.nextFrame,
    });
    this.broker.rejoin(member.slot, this.arbiter.lastAgreed);
    return member;
  }

  /** A rejoin in an authoritative match: `rejoined`, then the host's next state, in full. */
  private rejoinAuthoritative(member: Member, link: MemberLink): Member {
    this.presence.back(member, link);
    // Nothing to wait for: the host's next state, in full, is all it needs.
    member.syncing = false;
    member.inputPath = 'websocket';
    this.counters.rejoins++;
    this.sendTo(member, {
      kind: 'rejoined',
      matchId: this.matchId,
      slot: member.slot,
      seed: this.seed,
      settings: this.settings,
      token: member.token,
      resumeFrame: member.nextFrame,
    });
    this.authoritative!.resync(member.slot);
    this.presence.rejoined(member.slot);
    return member;
  }

  /** Ends the match: tells everyone, stops the timers, closes the log. */
  end(reason: string): void {
    if (this.ended) return;
    this.ended = true;
    this.presence.stop();
    void this.referee?.close();
    this.authoritative?.close();
    const bytes = encodeServerMessage({ kind: 'end', reason });
    for (const m of this.members) if (m.status === 'connected') m.link?.send(bytes);
    this.log.close({ type: 'end', reason, ms: this.ms() }).catch((err) => {
      this.hooks.event('log-close-failed', { matchId: this.matchId, error: String(err) });
    });
    this.hooks.event('match-end', { matchId: this.matchId, reason });
    this.hooks.ended(this.matchId, reason);
  }

  // The state the parts share (RoomState).

  /** Milliseconds since the match started, for log records. */
  ms(): number {
    return Math.round((this.scheduler.now() - this.startMs) * 10) / 10;
  }

  /**
   * The host: slot 0, or the lowest connected slot when slot 0 is away or gone (host migration),
   * among the members that vote on the current check, the rule of the verdict's `host`: a member
   * whose rejoin just completed votes from the next check on, and may not hold the states it
   * would be asked for. When no member votes yet, the lowest connected, synced one.
   */
  host(): Member | null {
    let fallback: Member | null = null;
    for (const m of this.members) {
      if (m.status !== 'connected' || m.syncing) continue;
      if (this.arbiter.votes(m.slot)) return m;
      fallback ??= m;
    }
    return fallback;
  }

  sendTo(member: Member, m: ServerMessage | Uint8Array): void {
    if (member.status !== 'connected' || !member.link) return;
    member.link.send(m instanceof Uint8Array ? m : encodeServerMessage(m));
  }

  /** Sends to every connected member but `except`, skipping members still syncing. */
  broadcast(m: ServerMessage, except?: Member): void {
    const bytes = encodeServerMessage(m);
    for (const other of this.members) {
      if (other !== except && other.status === 'connected' && !other.syncing)
        other.link?.send(bytes);
    }
    this.counters.messagesForwarded++;
  }
}

/** The record of a dispute on which no voter is left (they all left while the referee worked). */
function noVoteRecord(v: Verdict, referee: RefereeOutcome | null) {
  return {
    type: 'referee' as const,
    f: v.frame,
    from: null,
    method: 'host' as const,
    hashes: v.hashes.map(() => null),
    referee: referee?.kind === 'hash' ? referee.hash : null,
    reason: 'no voter is left',
    right: [],
    differing: [],
    source: null,
  };
}
