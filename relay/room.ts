import {
  encodeServerMessage,
  type Frame,
  INPUT_BYTES,
  type PlayerSlot,
  type ProtocolErrorCode,
  type SceneSettings,
  type ServerMessage,
} from '../protocol/index.ts';
import { InputHistory } from './input-history.ts';
import type { MatchLogWriter } from './log/index.ts';

/** Where a member's messages go: its current socket. */
export interface MemberLink {
  send(bytes: Uint8Array): void;
}

/** One seat of a match. */
export interface Member {
  readonly slot: PlayerSlot;
  readonly participantId: string | null;
  /** Secret for `rejoin`, from the `start` message. */
  readonly token: string;
  link: MemberLink | null;
  /** `connected`; `away` (connection lost, within the grace period); `left` for good. */
  status: 'connected' | 'away' | 'left';
  /** Next input frame this member may send (its inputs are contiguous). */
  nextFrame: Frame;
  /** Frame of this member's `done` report, or null. */
  doneFrame: Frame | null;
  /** True while a rejoining member waits for its state: live traffic is held back. */
  syncing: boolean;
  /** First check frame this member votes on (a rejoining member skips the check under way). */
  voteFrom: Frame;
  awayTimer: ReturnType<typeof setTimeout> | null;
}

/** Counters a room adds to; the relay's stats object. */
export interface RoomCounters {
  inputsForwarded: number;
  messagesForwarded: number;
  hashReports: number;
  verdicts: number;
  desyncs: number;
  resyncs: number;
  resyncBytes: number;
  rejoins: number;
  inputsFilled: number;
}

/** Counters at zero. */
export function emptyRoomCounters(): RoomCounters {
  return {
    inputsForwarded: 0,
    messagesForwarded: 0,
    hashReports: 0,
    verdicts: 0,
    desyncs: 0,
    resyncs: 0,
    resyncBytes: 0,
    rejoins: 0,
    inputsFilled: 0,
  };
}

/** What a room tells the relay around it. */
export interface RoomHooks {
  /** Refuse a member's message: error reply and count. */
  refuse(member: Member, code: ProtocolErrorCode, message: string, kind?: string): void;
  /** Notable events, for the operator's log. */
  event(name: string, detail: Record<string, unknown>): void;
  /** The match is over (its log is closing). */
  ended(room: MatchRoom): void;
  /** Milliseconds since some fixed origin. */
  now(): number;
}

/** A state the relay asked the host for, on behalf of one slot. */
interface StateRequest {
  readonly frame: Frame;
  readonly purpose: 'resync' | 'rejoin';
  /** The target's signature of its own S(frame) (empty: none); cleared when asking for the full state. */
  readonly signature: Uint8Array;
  readonly full: boolean;
}

/**
 * One match on the relay: forwarding, the adaptive hash-check schedule, desync arbitration and
 * host resync, departures, rejoins and the match log. The sender's slot always comes from its
 * socket (the `Member`), never from a message.
 *
 * Hash checks (ARCHITECTURE.md, "Desync detection and resync"): checks fall on confirmed frames f
 * with f mod K = 0. K starts at the scene's `hashInterval` (K_min), doubles after each check on
 * which every connected peer agrees, up to `hashIntervalMax` (K_max), and falls back to K_min
 * after a desync. Each verdict names the next check frame. On a desync the host (the lowest
 * connected slot) is asked for S(f) as a delta against the last agreed checkpoint, which goes to
 * the peers whose hash differed from the host's.
 */
export class MatchRoom {
  readonly members: Member[] = [];
  ended = false;
  /** K: the current interval between checks, frames. */
  interval: Frame;
  /** The frame of the next check. */
  nextCheck: Frame;
  /** The last frame on which every peer agreed (frame 0, the shared start, to begin with). */
  lastAgreed = 0;
  private reports: (string | null)[];
  /** Desyncs repaired, waiting for the first agreed check after them. */
  private converging: { frame: number; detectedMs: number } | null = null;
  /** States asked of the host, by the slot they are for. */
  private readonly requests = new Map<number, StateRequest>();
  /** The frame of the last state sent to each slot (a full state may follow a failed delta). */
  private readonly sentStates = new Map<number, number>();
  /** Every input forwarded since the last agreed checkpoint, for rejoining peer. */
  private readonly history = new InputHistory(INPUT_BYTES);
  /** Frames below this are no longer in the history. */
  private historyFloor = 0;
  private nextHistoryTrim = 4096;
  desyncs = 0;

  constructor(
    readonly matchId: string,
    readonly settings: SceneSettings,
    readonly seed: number,
    readonly log: MatchLogWriter,
    private readonly defaultInputs: readonly Uint8Array[],
    private readonly counters: RoomCounters,
    private readonly hooks: RoomHooks,
    private readonly maxFramesAhead: number,
    private readonly startMs: number,
  ) {
    this.interval = settings.hashInterval;
    this.nextCheck = settings.hashInterval;
    this.reports = new Array(settings.players).fill(null);
  }

  /** Milliseconds since the match started, for log records. */
  ms(): number {
    return Math.round((this.hooks.now() - this.startMs) * 10) / 10;
  }

  /** Members with a live connection. */
  connected(): Member[] {
    return this.members.filter((m) => m.status === 'connected');
  }

  /** The host: slot 0, or the lowest connected slot when slot 0 is away or gone (host migration). */
  host(): Member | null {
    return this.connected().find((m) => !m.syncing) ?? null;
  }

  private sendTo(member: Member, m: ServerMessage | Uint8Array): void {
    if (member.status !== 'connected' || !member.link) return;
    member.link.send(m instanceof Uint8Array ? m : encodeServerMessage(m));
  }

  /** Sends to every connected member but `except`, skipping members still syncing. */
  private broadcast(m: ServerMessage, except?: Member): void {
    const bytes = encodeServerMessage(m);
    for (const other of this.members) {
      if (other !== except && other.status === 'connected' && !other.syncing)
        other.link?.send(bytes);
    }
    this.counters.messagesForwarded++;
  }

  /** An input of `member` for `frame`: validated, forwarded at once, logged. */
  input(member: Member, frame: Frame, input: Uint8Array, currentFrame: Frame): void {
    if (frame !== member.nextFrame) {
      this.hooks.refuse(
        member,
        'FRAME_WINDOW',
        `input for frame ${frame}; the next input of slot ${member.slot} is frame ${member.nextFrame}`,
        'input',
      );
      return;
    }
    if (frame > this.slowestFrame() + this.maxFramesAhead) {
      this.hooks.refuse(
        member,
        'FRAME_WINDOW',
        `input for frame ${frame} is too far ahead of the room`,
        'input',
      );
      return;
    }
    this.forwardInput(member, frame, input, currentFrame);
    // Players who are away play the sim's default input, so that the others never wait for them.
    for (const away of this.members) {
      if (away.status !== 'away') continue;
      while (away.nextFrame <= frame) {
        this.forwardInput(away, away.nextFrame, this.defaultInputs[away.slot], currentFrame);
        this.counters.inputsFilled++;
      }
    }
  }

  private forwardInput(
    member: Member,
    frame: number,
    input: Uint8Array,
    currentFrame: Frame,
  ): void {
    member.nextFrame = frame + 1;
    this.broadcast({ kind: 'input', slot: member.slot, frame, input, currentFrame }, member);
    this.counters.inputsForwarded++;
    this.history.push(member.slot, frame, input, currentFrame);
    if (this.history.length >= this.nextHistoryTrim) this.trimHistory();
    this.log.appendInput(frame, member.slot, input, this.ms());
  }

  /**
   * Drops the inputs no rejoining peer can need: those before the last agreed checkpoint (and
   * before any rejoin under way), and in any case those older than the history window, so that
   * peers that never report hashes cannot make the relay's memory grow without bound.
   */
  private trimHistory(): void {
    let keepFrom = this.lastAgreed;
    for (const r of this.requests.values())
      if (r.purpose === 'rejoin') keepFrom = Math.min(keepFrom, r.frame);
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

  /** Inputs held for rejoining peer (bounded by the history window). */
  get historySize(): number {
    return this.history.length;
  }

  /** Lowest next-input frame among members still playing: the room's slowest player. */
  slowestFrame(): Frame {
    let f = Number.POSITIVE_INFINITY;
    for (const m of this.members) if (m.status === 'connected') f = Math.min(f, m.nextFrame);
    return f === Number.POSITIVE_INFINITY ? 0 : f;
  }

  peerPing(member: Member, sentMs: number): void {
    this.broadcast({ kind: 'peerPing', slot: member.slot, sentMs }, member);
  }

  peerPong(member: Member, to: number, sentMs: number): void {
    this.broadcast({ kind: 'peerPong', slot: member.slot, to, sentMs }, member);
  }

  /** A state-hash report: only for the announced check frame, once per member. */
  hash(member: Member, frame: Frame, hash: string): void {
    if (frame !== this.nextCheck) {
      this.hooks.refuse(
        member,
        'FRAME_WINDOW',
        `hash for frame ${frame}; the next check is frame ${this.nextCheck}`,
        'hash',
      );
      return;
    }
    if (this.reports[member.slot] !== null || member.voteFrom > frame) {
      this.hooks.refuse(
        member,
        'FRAME_WINDOW',
        `hash for frame ${frame} already reported or not asked`,
        'hash',
      );
      return;
    }
    this.reports[member.slot] = hash;
    this.counters.hashReports++;
    this.log.append({ type: 'hash', f: frame, s: member.slot, h: hash, ms: this.ms() });
    this.judge();
  }

  /** Compares the reports of the check frame once every connected, synced member has sent one. */
  private judge(): void {
    const voters = this.connected().filter((m) => !m.syncing && m.voteFrom <= this.nextCheck);
    if (voters.length === 0 || voters.some((m) => this.reports[m.slot] === null)) return;
    const frame = this.nextCheck;
    const reports = this.reports;
    const host = voters[0];
    const hostHash = reports[host.slot]!;
    let differing = 0;
    const targets = new Set<number>();
    for (const m of voters) {
      if (reports[m.slot] !== hostHash) {
        differing |= 1 << m.slot;
        targets.add(m.slot);
      }
    }
    const agreed = targets.size === 0;
    this.counters.verdicts++;
    this.log.append({ type: 'verdict', f: frame, agreed, hashes: reports });
    if (agreed) {
      this.lastAgreed = frame;
      this.interval = Math.min(this.interval * 2, this.settings.hashIntervalMax);
      this.trimHistory();
      if (this.converging) {
        const c = this.converging;
        this.converging = null;
        this.log.append({
          type: 'converged',
          f: c.frame,
          at: frame,
          frames: frame - c.frame,
          ms: this.ms(),
        });
        this.hooks.event('converged', { matchId: this.matchId, desyncFrame: c.frame, at: frame });
      }
    } else {
      this.desyncs++;
      this.counters.desyncs++;
      this.interval = this.settings.hashInterval;
      this.log.append({
        type: 'desync',
        f: frame,
        host: host.slot,
        hashes: reports,
        differing: [...targets],
        ms: this.ms(),
      });
      this.hooks.event('desync', {
        matchId: this.matchId,
        frame,
        host: host.slot,
        differing: [...targets],
      });
      this.converging = { frame, detectedMs: this.ms() };
    }
    this.nextCheck = (Math.floor(frame / this.interval) + 1) * this.interval;
    this.reports = new Array(this.settings.players).fill(null);
    this.broadcast({ kind: 'verdict', frame, agreed, next: this.nextCheck, differing });
    // Ask the host at once for each differing peer's state, as a delta against the last agreed
    // checkpoint (every peer holds it): one round trip less than waiting for each peer to ask.
    for (const slot of targets) {
      this.askHost(slot, { frame, purpose: 'resync', signature: new Uint8Array(0), full: false });
    }
  }

  /** Asks the current host for a state on behalf of `slot`. */
  private askHost(slot: number, r: StateRequest): void {
    this.requests.set(slot, r);
    const host = this.host();
    if (!host) return;
    this.sendTo(host, {
      kind: 'stateRequest',
      frame: r.frame,
      baseFrame: r.full ? -1 : this.lastAgreed,
      forSlot: slot,
      signature: r.full ? new Uint8Array(0) : r.signature,
    });
  }

  /**
   * Retired: the relay asks the host for a differing peer's state as soon as it judges the
   * desync, so a peer's own request is refused (counted with the other refusals).
   */
  resyncRequest(member: Member, frame: Frame, _signature: Uint8Array): void {
    this.hooks.refuse(
      member,
      'BAD_FIELD',
      `resyncRequest (frame ${frame}) is retired: the relay asks the host for the state at once`,
      'resyncRequest',
    );
  }

  /** A peer could not rebuild the host's state from a delta: ask the host for the full state. */
  stateFailed(member: Member, frame: number): void {
    const r = this.requests.get(member.slot);
    const lastSent = this.sentStates.get(member.slot);
    if ((!r || r.frame !== frame) && lastSent !== frame) {
      this.hooks.refuse(
        member,
        'BAD_FIELD',
        `no state of frame ${frame} was sent to slot ${member.slot}`,
        'stateFailed',
      );
      return;
    }
    this.askHost(member.slot, {
      frame,
      purpose: r?.purpose ?? 'resync',
      signature: new Uint8Array(0),
      full: true,
    });
  }

  /**
   * The host's state for one slot: sent on to it, with the inputs since for a rejoining slot.
   * A state nobody asked for, or not from the host, is refused.
   */
  state(
    member: Member,
    m: {
      frame: number;
      hash: string;
      baseFrame: number;
      fullBytes: number;
      bytes: Uint8Array;
      forSlot: number;
    },
  ): void {
    const r = this.requests.get(m.forSlot);
    if (!r || r.frame !== m.frame || member !== this.host()) {
      this.hooks.refuse(
        member,
        'BAD_FIELD',
        `nobody asked this peer for the state of frame ${m.frame} for slot ${m.forSlot}`,
        'state',
      );
      return;
    }
    this.requests.delete(m.forSlot);
    const target = this.members[m.forSlot];
    if (target.status !== 'connected') return;
    this.sendTo(target, {
      kind: 'state',
      frame: m.frame,
      hash: m.hash,
      baseFrame: m.baseFrame,
      bytes: m.bytes,
    });
    this.sentStates.set(m.forSlot, m.frame);
    if (r.purpose === 'resync') {
      this.counters.resyncs++;
      this.counters.resyncBytes += m.bytes.length;
      this.log.append({
        type: 'resync',
        f: m.frame,
        s: [m.forSlot],
        base: m.baseFrame,
        bytes: m.bytes.length,
        full: m.fullBytes,
        ms: this.ms(),
      });
      return;
    }
    // A rejoining slot: the state, then every input since it, then live traffic.
    this.history.forEachFrom(m.frame, (h) => this.sendTo(target, { kind: 'input', ...h }));
    target.syncing = false;
    this.log.append({
      type: 'rejoin',
      s: m.forSlot,
      f: m.frame,
      bytes: m.bytes.length,
      ms: this.ms(),
    });
    this.hooks.event('rejoined', { matchId: this.matchId, slot: m.forSlot, frame: m.frame });
  }

  done(member: Member, frame: Frame, hash: string): void {
    if (member.doneFrame !== null) {
      this.hooks.refuse(member, 'BAD_FIELD', 'done already reported', 'done');
      return;
    }
    member.doneFrame = frame;
    this.log.append({ type: 'done', s: member.slot, f: frame, h: hash, ms: this.ms() });
    this.maybeFinish();
  }

  private maybeFinish(): void {
    const connected = this.connected();
    if (connected.length > 0 && connected.every((m) => m.doneFrame !== null)) {
      this.end('every player finished');
    }
  }

  /** A member's connection closed: away for the grace period, then gone. */
  disconnected(member: Member): void {
    if (this.ended || member.status !== 'connected') return;
    member.link = null;
    member.syncing = false;
    const grace = this.settings.rejoinGraceMs;
    if (grace > 0 && member.doneFrame === null && this.connected().length > 1) {
      member.status = 'away';
      this.log.append({
        type: 'away',
        s: member.slot,
        lastFrame: member.nextFrame - 1,
        ms: this.ms(),
      });
      this.hooks.event('away', { matchId: this.matchId, slot: member.slot });
      member.awayTimer = setTimeout(() => this.left(member), grace);
    } else {
      this.left(member);
    }
    this.afterDeparture();
  }

  /**
   * The member's sim threw at `frame` and it gives up: logged as a fault record, then the member
   * has left (no grace period: it is not coming back), so the match goes on or ends as the
   * scene's `onPlayerLost` says and its log ends properly.
   */
  fault(member: Member, frame: Frame, reason: string): void {
    this.log.append({ type: 'fault', s: member.slot, f: frame, reason, ms: this.ms() });
    this.hooks.event('fault', { matchId: this.matchId, slot: member.slot, frame, reason });
    this.left(member);
  }

  private left(member: Member): void {
    if (this.ended || member.status === 'left') return;
    if (member.awayTimer) clearTimeout(member.awayTimer);
    member.awayTimer = null;
    member.status = 'left';
    member.link = null;
    const lastFrame = member.nextFrame - 1;
    this.log.append({ type: 'left', s: member.slot, lastFrame, ms: this.ms() });
    this.broadcast({ kind: 'peerLeft', slot: member.slot, lastFrame }, member);
    if (this.settings.onPlayerLost === 'end' && member.doneFrame === null) {
      this.end(`player ${member.slot} was lost`);
      return;
    }
    this.afterDeparture();
  }

  private afterDeparture(): void {
    if (this.ended) return;
    if (this.connected().length === 0) {
      this.end('every player left');
      return;
    }
    // The host may have gone (host migration): the new host answers what is still pending.
    for (const [slot, r] of [...this.requests]) {
      if (this.members[slot].status !== 'connected') this.requests.delete(slot);
      else this.askHost(slot, r);
    }
    this.judge();
    this.maybeFinish();
  }

  /**
   * A member comes back on a new connection within the grace period: it gets `rejoined`, then the
   * host's full state of the last agreed checkpoint, then every input since.
   * @returns false when the member cannot rejoin (gone for good, or already connected)
   */
  rejoin(member: Member, link: MemberLink): boolean {
    if (this.ended || member.status !== 'away') return false;
    const host = this.host();
    // Without the inputs since the last agreed checkpoint the peer could not catch up.
    if (!host || this.lastAgreed < this.historyFloor) return false;
    if (member.awayTimer) clearTimeout(member.awayTimer);
    member.awayTimer = null;
    member.status = 'connected';
    member.link = link;
    member.syncing = true;
    member.voteFrom = this.nextCheck + 1;
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
    this.askHost(member.slot, {
      frame: this.lastAgreed,
      purpose: 'rejoin',
      signature: new Uint8Array(0),
      full: true,
    });
    return true;
  }

  /** Ends the match: tells everyone, closes the log. */
  end(reason: string): void {
    if (this.ended) return;
    this.ended = true;
    for (const m of this.members) {
      if (m.awayTimer) clearTimeout(m.awayTimer);
      m.awayTimer = null;
    }
    const bytes = encodeServerMessage({ kind: 'end', reason });
    for (const m of this.members) if (m.status === 'connected') m.link?.send(bytes);
    this.log.close({ type: 'end', reason, ms: this.ms() }).catch((err) => {
      this.hooks.event('log-close-failed', { matchId: this.matchId, error: String(err) });
    });
    this.hooks.event('match-end', { matchId: this.matchId, reason });
    this.hooks.ended(this);
  }
}
