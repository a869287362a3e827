/**
 * A match played in-process through the relay's real room (forwarding, hash arbiter, resync
 * broker, presence) by real `MatchClient` peers, over seeded impaired links on a virtual clock:
 * no sockets, no real timers. Each peer's messages are encoded and decoded with the wire codecs
 * both ways, and the relay end of each link does what the relay's connection layer does (mark the
 * member heard, answer `ping`, hand the rest to the room).
 */
import {
  ImpairedLink,
  type LinkImpairment,
  MatchClient,
  type MatchStart,
  VirtualClock,
} from '../../client/index.ts';
import {
  type ClientMessage,
  decodeClientMessage,
  decodeServerMessage,
  encodeClientMessage,
  encodeServerMessage,
  PRESENCE,
  type ProtocolErrorCode,
  type SceneSettings,
} from '../../protocol/index.ts';
import {
  emptyRoomCounters,
  MatchReferee,
  MatchRoom,
  type Member,
  type RefereeHost,
  type RefereeNotice,
  type RoomCounters,
  type RoomLog,
} from '../../relay/index.ts';
import type { BodyRecord, EndRecord } from '../../relay/log/index.ts';
import {
  encodeInput,
  type Frame,
  getSimFactory,
  type Input,
  NEUTRAL_INPUT,
  type PlayerSlot,
  randomDuelInput,
  type Sim,
} from '../../sim/index.ts';

/** A match log kept in memory: what the room appended, and its end. */
export interface MemoryLog extends RoomLog {
  readonly records: BodyRecord[];
  end: EndRecord | null;
}

/** A {@link RoomLog} that keeps every record in memory. */
export function memoryLog(): MemoryLog {
  const log: MemoryLog = {
    records: [],
    end: null,
    append: (r) => {
      log.records.push(r);
    },
    appendInput: (f, s, input, ms) => {
      const hex = Buffer.from(input).toString('hex');
      log.records.push({ type: 'input', f, s, in: hex, ms });
    },
    close: async (end) => {
      log.end = end ?? null;
    },
  };
  return log;
}

/** A refusal the room sent to a member. */
export interface Refusal {
  readonly slot: PlayerSlot;
  readonly code: ProtocolErrorCode;
  readonly message: string;
  readonly kind?: string;
}

/** Settings of a {@link VirtualRelayMatch}. */
export interface VirtualRelayMatchOptions {
  readonly settings: SceneSettings;
  readonly seed: number;
  /** Each peer's path to the relay, both ways (default 20 ms ± 5 ms, no loss). */
  readonly impairment?: LinkImpairment;
  /** The sim a peer runs (default the scene's sim from the registry); called again on rejoin. */
  readonly makeSim?: (slot: PlayerSlot, seed: number) => Sim;
  /** See `RelayOptions.awayAfterSilentMs` (default `PRESENCE.awayAfterSilentMs`). */
  readonly awayAfterSilentMs?: number;
  /**
   * Where the match's desync referee runs (a real `SimHostPool`), or absent: no referee (the
   * host rule decides disputes). Drive such a match with {@link VirtualRelayMatch.settle}.
   */
  readonly simHost?: RefereeHost;
}

/** One peer of a {@link VirtualRelayMatch}. */
export interface VirtualPeer {
  readonly slot: PlayerSlot;
  /** The current match client (a new one after each rejoin). */
  client: MatchClient;
  /** False while its connection is cut or it is frozen. */
  playing: boolean;
  /** Its uplink and downlink; closed when the connection is cut. */
  up: ImpairedLink<Uint8Array>;
  down: ImpairedLink<Uint8Array>;
  /** Every message the relay sent it, decoded, in arrival order (across connections). */
  readonly inbox: ReturnType<typeof decodeServerMessage>[];
}

/** The input peer `slot` plays for frame `frame`: a pure function of both. */
export function virtualInput(slot: PlayerSlot, frame: Frame): Input {
  return randomDuelInput((Math.imul(frame, 2654435761) ^ Math.imul(slot + 1, 40503)) >>> 0);
}

/** See the module comment. */
export class VirtualRelayMatch {
  readonly clock = new VirtualClock();
  readonly log = memoryLog();
  readonly counters: RoomCounters = emptyRoomCounters();
  readonly refused: Refusal[] = [];
  /** What the referee noticed outside disputes (divergence, loss of its copy). */
  readonly refereeNotices: RefereeNotice[] = [];
  readonly room: MatchRoom;
  readonly peers: VirtualPeer[] = [];
  private readonly tickMs: number;
  private linkSeed = 1;

  constructor(private readonly o: VirtualRelayMatchOptions) {
    const s = o.settings;
    this.tickMs = 1000 / s.tickRate;
    const sim = getSimFactory(s.sim).create({ players: s.players, seed: o.seed });
    this.room = new MatchRoom({
      matchId: 'virtual',
      settings: s,
      seed: o.seed,
      log: this.log,
      defaultInputs: Array.from({ length: s.players }, (_, slot) =>
        encodeInput(sim.defaultInput?.(slot) ?? NEUTRAL_INPUT),
      ),
      counters: this.counters,
      hooks: {
        refuse: (m, code, message, kind) =>
          this.refused.push({ slot: m.slot, code, message, kind }),
        event: () => {},
        ended: () => {},
      },
      scheduler: this.clock,
      awayAfterSilentMs: o.awayAfterSilentMs,
      referee: o.simHost
        ? new MatchReferee(
            o.simHost,
            { matchId: 'virtual', sim: s.sim, players: s.players, seed: o.seed },
            (n) => this.refereeNotices.push(n),
          )
        : null,
    });
    for (let slot = 0; slot < s.players; slot++) {
      const peer = { slot, playing: true, inbox: [] } as unknown as VirtualPeer;
      this.peers.push(peer);
      const member = this.room.seat(`p${slot}`, this.connect(peer), `token-${slot}`);
      peer.up.connect((bytes) => this.atRelay(member, peer, bytes));
    }
    this.room.begin();
    for (const peer of this.peers) this.loop(peer);
  }

  /** The member of `slot` on the relay. */
  member(slot: PlayerSlot): Member {
    return this.room.members[slot];
  }

  /** Runs the clock until `done()` holds; false if `limitMs` of virtual time pass first. */
  runUntil(done: () => boolean, limitMs = 60_000): boolean {
    const end = this.clock.now() + limitMs;
    while (!done()) {
      if (this.clock.now() > end || !this.clock.runNext()) return false;
    }
    return true;
  }

  /**
   * {@link runUntil} for a match with a referee: whenever the room awaits the referee (a worker
   * thread, in real time), the virtual clock stands still until it has answered, as if the
   * referee answered at once; a real-time deadline of `realLimitMs` bounds each wait.
   * @returns false if `limitMs` of virtual time pass first
   * @throws Error when the referee has not answered within `realLimitMs`
   */
  async settle(done: () => boolean, limitMs = 60_000, realLimitMs = 30_000): Promise<boolean> {
    const end = this.clock.now() + limitMs;
    while (!done()) {
      const pending = this.room.arbitration;
      if (pending !== null) {
        let timer: ReturnType<typeof setTimeout> | undefined;
        const deadline = new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`the referee gave no answer within ${realLimitMs} ms`)),
            realLimitMs,
          );
        });
        try {
          await Promise.race([pending, deadline]);
        } finally {
          clearTimeout(timer);
        }
        continue;
      }
      if (this.clock.now() > end || !this.clock.runNext()) return false;
    }
    return true;
  }

  /** Runs the clock for `ms` of virtual time. */
  runFor(ms: number): void {
    this.clock.runUntil(this.clock.now() + ms);
  }

  /** Cuts `slot`'s connection: both links close and the relay sees the connection close. */
  cut(slot: PlayerSlot): void {
    const peer = this.peers[slot];
    peer.playing = false;
    peer.up.close();
    peer.down.close();
    this.room.disconnected(this.member(slot));
  }

  /**
   * Freezes `slot` (a frozen tab): it ticks no more, handles no message and so sends nothing,
   * not even pings or answers to its peers' pings.
   */
  freeze(slot: PlayerSlot): void {
    this.peers[slot].playing = false;
  }

  /**
   * `slot` comes back on a new connection and sends `rejoin` with its token (or `token`) and
   * participant id (or `participantId`).
   */
  rejoin(slot: PlayerSlot, token = `token-${slot}`, participantId = `p${slot}`): void {
    const peer = this.peers[slot];
    peer.up.close();
    peer.down.close();
    const link = this.connect(peer);
    const member = this.room.rejoin(token, participantId, link);
    if (typeof member === 'string') {
      this.refused.push({ slot, code: 'NOT_IN_MATCH', message: member, kind: 'rejoin' });
      return;
    }
    peer.playing = true;
    peer.up.connect((bytes) => this.atRelay(member, peer, bytes));
    this.loop(peer);
  }

  /** New links for `peer`; returns the relay's end of the downlink. */
  private connect(peer: VirtualPeer): { send(bytes: Uint8Array): void; close(): void } {
    const impairment = this.o.impairment ?? { latencyMs: 20, jitterMs: 5, lossPct: 0 };
    peer.up = new ImpairedLink<Uint8Array>({
      clock: this.clock,
      impairment,
      seed: this.o.seed * 1000 + this.linkSeed++,
    });
    const down = new ImpairedLink<Uint8Array>({
      clock: this.clock,
      impairment,
      seed: this.o.seed * 1000 + this.linkSeed++,
      deliver: (bytes) => this.atPeer(peer, bytes),
    });
    peer.down = down;
    return {
      send: (bytes) => {
        if (!down.closed) down.send(bytes);
      },
      close: () => {
        peer.up.close();
        down.close();
      },
    };
  }

  /** What the relay's connection layer does with a message from `member`'s connection. */
  private atRelay(member: Member, peer: VirtualPeer, bytes: Uint8Array): void {
    member.heard = true;
    const m = decodeClientMessage(bytes);
    if (m.kind === 'ping') {
      peer.down.send(encodeServerMessage({ kind: 'pong', id: m.id, sentMs: m.sentMs }));
      return;
    }
    if (m.kind === 'join' || m.kind === 'rejoin' || m.kind === 'cancel' || m.kind === 'rtcOffer')
      throw new Error(`${m.kind} is the connection layer's`);
    this.room.handle(member, m);
  }

  private atPeer(peer: VirtualPeer, bytes: Uint8Array): void {
    if (!peer.playing) return; // a frozen tab runs nothing, not even its message handlers
    const m = decodeServerMessage(bytes);
    peer.inbox.push(m);
    if (m.kind === 'start' || m.kind === 'rejoined') {
      peer.client = this.newClient(peer, m);
      return;
    }
    peer.client.handle(m, this.clock.now());
  }

  private newClient(peer: VirtualPeer, start: MatchStart): MatchClient {
    const s = this.o.settings;
    const sim =
      this.o.makeSim?.(peer.slot, start.seed) ??
      getSimFactory(s.sim).create({ players: s.players, seed: start.seed });
    const up = peer.up;
    const conn = {
      send: (m: ClientMessage) => {
        if (!up.closed) up.send(encodeClientMessage(m));
      },
    };
    return new MatchClient(conn, start, {}, sim);
  }

  /** Ticks `peer` at the scene's rate and pings every `PRESENCE.heartbeatMs`, while it plays. */
  private loop(peer: VirtualPeer): void {
    const up = peer.up;
    let lastPing = this.clock.now();
    let pingId = 0;
    const tick = (): void => {
      if (!peer.playing || up.closed || this.room.ended) return;
      const now = this.clock.now();
      const c = peer.client as MatchClient | undefined;
      if (c?.ready) {
        const session = c.peer.session;
        c.tick(virtualInput(peer.slot, session.frame + session.inputDelay), now);
      }
      if (now - lastPing >= PRESENCE.heartbeatMs) {
        lastPing = now;
        up.send(encodeClientMessage({ kind: 'ping', id: pingId++, sentMs: now }));
      }
      this.clock.at(now + this.tickMs, tick);
    };
    this.clock.at(this.clock.now(), tick);
  }
}
