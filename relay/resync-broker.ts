/**
 * The resync broker: the relay's side of state transfers (ARCHITECTURE.md, "Desync detection and
 * resync"). It asks a peer whose copy is right for S(f) on behalf of a slot to repair, or sends
 * the referee's own S(f) when no such peer is left; it checks that a `state` answers such a
 * request and routes it to its slot, asks the same source for the full state after
 * `stateFailed`, moves pending requests to the next source when a source goes (host migration),
 * and completes a rejoin: the host's state, then every input since it, then live traffic.
 *
 * Peers never ask for a resync themselves: on a desync verdict the room calls {@link desync},
 * which asks the source for every slot to repair at once (one round trip less than waiting for
 * each damaged peer to ask).
 */
import type { ClientMessage, Frame, PlayerSlot } from '../protocol/index.ts';
import type { InputHistory } from './input-history.ts';
import type { Member, RoomState } from './room-state.ts';
import type { RepairSource } from './sim-host/index.ts';

/** The referee's S(f), for the slots it repairs when no right peer is left. */
export interface RefereeRepair {
  /** S(f)'s state hash. */
  readonly hash: string;
  /** S(f)'s canonical bytes (the full state). */
  readonly state: Uint8Array;
  /** The frame `bytes` is a delta against (the last agreed checkpoint), or -1: the full state. */
  readonly baseFrame: Frame;
  readonly bytes: Uint8Array;
}

/** A state the relay asked for (or sent itself), on behalf of one slot. */
interface StateRequest {
  readonly frame: Frame;
  readonly purpose: 'resync' | 'rejoin';
  /** The frame the source sends a delta against (the last agreed checkpoint), or -1: the full state. */
  readonly baseFrame: Frame;
  /** The peer asked; null while none is, or when the referee sent it. */
  askedSlot: PlayerSlot | null;
  /** Where a resync's S(frame) comes from, best first (empty for a rejoin: the host sends it). */
  readonly sources: readonly RepairSource[];
  /** The referee's S(frame) when it ran (a `referee` entry of `sources`), else null. */
  readonly referee: RefereeRepair | null;
}

/** A `state` message from the host. */
export type StateMessage = Extract<ClientMessage, { kind: 'state' }>;

/** What {@link ResyncBroker.state} did with a `state` message. */
export type StateOutcome =
  /** Refused: nobody asked this peer for it (the reason). */
  | { readonly refused: string }
  /** Sent on to its slot; `rejoined` is that member when this completed its rejoin. */
  | { readonly refused: null; readonly rejoined: Member | null };

/** A room's state transfers: see the module comment. Holds the pending requests by target slot. */
export class ResyncBroker {
  /** States asked for and not yet sent, by the slot they are for. */
  private readonly requests = new Map<PlayerSlot, StateRequest>();
  /** The last state sent to each slot (a full state from the same source may follow a failed delta). */
  private readonly sent = new Map<PlayerSlot, StateRequest>();

  /**
   * @param room the room's shared state (members, host, sending, log, counters)
   * @param history the inputs forwarded since the last agreed checkpoint, for rejoins
   */
  constructor(
    private readonly room: RoomState,
    private readonly history: InputHistory,
  ) {}

  /**
   * A desync verdict at `frame`: at once, for every slot in `repair`, asks the first connected
   * peer of `sources` for S(frame) as a delta against `baseFrame` (the last agreed checkpoint,
   * which every peer holds), or sends the referee's own S(frame) when `sources` names no peer
   * still connected.
   * @param sources where the right S(frame) comes from, best first (the arbitration's `sources`)
   * @param referee the referee's S(frame) when it ran, else null
   */
  desync(
    frame: Frame,
    repair: readonly PlayerSlot[],
    sources: readonly RepairSource[],
    baseFrame: Frame,
    referee: RefereeRepair | null,
  ): void {
    for (const slot of repair) {
      this.ask(slot, { frame, purpose: 'resync', baseFrame, askedSlot: null, sources, referee });
    }
  }

  /** A rejoining slot needs the host's full S(frame) (the last agreed checkpoint) and the inputs since. */
  rejoin(slot: PlayerSlot, frame: Frame): void {
    this.ask(slot, {
      frame,
      purpose: 'rejoin',
      baseFrame: -1,
      askedSlot: null,
      sources: [],
      referee: null,
    });
  }

  /**
   * Slot `slot` could not rebuild S(frame) from a delta: asks the same source for the full state
   * (the referee sends its own at once).
   * @returns null when asked; else why it is refused (no such state was sent or asked for)
   */
  stateFailed(slot: PlayerSlot, frame: Frame): string | null {
    let r = this.requests.get(slot);
    if (!r || r.frame !== frame) r = this.sent.get(slot);
    if (!r || r.frame !== frame) return `no state of frame ${frame} was sent to slot ${slot}`;
    this.ask(slot, { ...r, baseFrame: -1, askedSlot: null });
    return null;
  }

  /** A `state` from `from`: sent on to its slot if `from` is the member asked for it. */
  state(from: Member, m: StateMessage): StateOutcome {
    const r = this.requests.get(m.forSlot);
    if (!r || r.frame !== m.frame || r.askedSlot !== from.slot) {
      return {
        refused: `nobody asked this peer for the state of frame ${m.frame} for slot ${m.forSlot}`,
      };
    }
    this.requests.delete(m.forSlot);
    const room = this.room;
    const target = room.members[m.forSlot];
    if (target.status !== 'connected') return { refused: null, rejoined: null };
    this.deliver(target, r, m);
    if (r.purpose === 'resync') return { refused: null, rejoined: null };
    // A rejoining slot: the state, then every input since it, then live traffic.
    this.history.forEachFrom(m.frame, (h) => room.sendTo(target, { kind: 'input', ...h }));
    target.syncing = false;
    room.log.append({
      type: 'rejoin',
      s: m.forSlot,
      f: m.frame,
      bytes: m.bytes.length,
      ms: room.ms(),
    });
    room.hooks.event('rejoined', { matchId: room.matchId, slot: m.forSlot, frame: m.frame });
    return { refused: null, rejoined: target };
  }

  /**
   * After a member went away or left: drops the requests on behalf of members no longer
   * connected, and asks the next source (the next right peer, the referee, the new host) for
   * those the departed one had not answered.
   */
  afterDeparture(): void {
    const members = this.room.members;
    for (const [slot, r] of [...this.requests]) {
      if (members[slot].status !== 'connected') this.requests.delete(slot);
      else if (r.askedSlot === null || members[r.askedSlot].status !== 'connected')
        this.ask(slot, r);
    }
  }

  /** The lowest frame a pending rejoin needs inputs from (Infinity when none is pending). */
  rejoinFloor(): Frame {
    let floor = Number.POSITIVE_INFINITY;
    for (const r of this.requests.values())
      if (r.purpose === 'rejoin') floor = Math.min(floor, r.frame);
    return floor;
  }

  /**
   * Asks the source of `r` for a state on behalf of `slot` and remembers the request: the first
   * connected, synced peer of `r.sources` (other than `slot`); else the referee's own state, sent
   * at once; else (a rejoin, or no source left) the room's host, when it is not `slot` itself.
   */
  private ask(slot: PlayerSlot, r: StateRequest): void {
    const room = this.room;
    let peer: Member | null = null;
    for (const src of r.sources) {
      if (src.kind === 'referee') {
        if (r.referee === null) continue;
        this.requests.delete(slot);
        const target = room.members[slot];
        const full = r.baseFrame < 0 || r.referee.baseFrame < 0;
        this.deliver(target, r, {
          frame: r.frame,
          hash: r.referee.hash,
          baseFrame: full ? -1 : r.referee.baseFrame,
          bytes: full ? r.referee.state : r.referee.bytes,
          fullBytes: r.referee.state.length,
        });
        return;
      }
      const m = room.members[src.slot];
      if (src.slot !== slot && m.status === 'connected' && !m.syncing) {
        peer = m;
        break;
      }
    }
    if (peer === null) {
      const host = room.host();
      peer = host !== null && host.slot !== slot ? host : null;
    }
    r.askedSlot = peer?.slot ?? null;
    this.requests.set(slot, r);
    if (!peer) return;
    room.sendTo(peer, {
      kind: 'stateRequest',
      frame: r.frame,
      baseFrame: r.baseFrame,
      forSlot: slot,
      signature: new Uint8Array(0),
    });
  }

  /** Sends S(frame) to `target` and records a resync (a rejoin is recorded by {@link state}). */
  private deliver(
    target: Member,
    r: StateRequest,
    m: Pick<StateMessage, 'frame' | 'hash' | 'baseFrame' | 'bytes' | 'fullBytes'>,
  ): void {
    const room = this.room;
    room.sendTo(target, {
      kind: 'state',
      frame: m.frame,
      hash: m.hash,
      baseFrame: m.baseFrame,
      bytes: m.bytes,
    });
    this.sent.set(target.slot, r);
    if (r.purpose !== 'resync') return;
    room.counters.resyncs++;
    room.counters.resyncBytes += m.bytes.length;
    room.log.append({
      type: 'resync',
      f: m.frame,
      s: [target.slot],
      base: m.baseFrame,
      bytes: m.bytes.length,
      full: m.fullBytes,
      ms: room.ms(),
    });
  }
}
