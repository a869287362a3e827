/**
 * The resync broker: the relay's side of state transfers (ARCHITECTURE.md, "Desync detection and
 * resync"). It asks the host for S(f) on behalf of a slot, checks that a `state` answers such a
 * request and routes it to its slot, asks for the full state after `stateFailed`, moves pending
 * requests to the next host when the host goes (host migration), and completes a rejoin: the
 * state, then every input since it, then live traffic.
 *
 * Peers never ask for a resync themselves: on a desync verdict the room calls {@link desync},
 * which asks the host for every differing slot at once (one round trip less than waiting for
 * each differing peer to ask).
 */
import type { ClientMessage, Frame, PlayerSlot } from '../protocol/index.ts';
import type { InputHistory } from './input-history.ts';
import type { Member, RoomState } from './room-state.ts';

/** A state the relay asked the host for, on behalf of one slot. */
interface StateRequest {
  readonly frame: Frame;
  readonly purpose: 'resync' | 'rejoin';
  /** The frame the host sends a delta against (the last agreed checkpoint), or -1: the full state. */
  readonly baseFrame: Frame;
  /** The slot asked; null while no host is connected. */
  askedSlot: PlayerSlot | null;
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
  /** States asked of the host, by the slot they are for. */
  private readonly requests = new Map<PlayerSlot, StateRequest>();
  /** The frame of the last state sent to each slot (a full state may follow a failed delta). */
  private readonly sentStates = new Map<PlayerSlot, Frame>();

  /**
   * @param room the room's shared state (members, host, sending, log, counters)
   * @param history the inputs forwarded since the last agreed checkpoint, for rejoins
   */
  constructor(
    private readonly room: RoomState,
    private readonly history: InputHistory,
  ) {}

  /**
   * A desync verdict at `frame`: asks `host` at once for S(frame) for every differing slot, as a
   * delta against `baseFrame` (the last agreed checkpoint, which every peer holds).
   */
  desync(frame: Frame, differing: readonly PlayerSlot[], host: Member, baseFrame: Frame): void {
    for (const slot of differing)
      this.ask(slot, { frame, purpose: 'resync', baseFrame, askedSlot: null }, host);
  }

  /** A rejoining slot needs the full S(frame) (the last agreed checkpoint) and the inputs since. */
  rejoin(slot: PlayerSlot, frame: Frame): void {
    this.ask(slot, { frame, purpose: 'rejoin', baseFrame: -1, askedSlot: null }, this.room.host());
  }

  /**
   * Slot `slot` could not rebuild S(frame) from a delta: asks the host for the full state.
   * @returns null when asked; else why it is refused (no such state was sent or asked for)
   */
  stateFailed(slot: PlayerSlot, frame: Frame): string | null {
    const r = this.requests.get(slot);
    if ((!r || r.frame !== frame) && this.sentStates.get(slot) !== frame)
      return `no state of frame ${frame} was sent to slot ${slot}`;
    const purpose = r?.purpose ?? 'resync';
    this.ask(slot, { frame, purpose, baseFrame: -1, askedSlot: null }, this.room.host());
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
    room.sendTo(target, {
      kind: 'state',
      frame: m.frame,
      hash: m.hash,
      baseFrame: m.baseFrame,
      bytes: m.bytes,
    });
    this.sentStates.set(m.forSlot, m.frame);
    if (r.purpose === 'resync') {
      room.counters.resyncs++;
      room.counters.resyncBytes += m.bytes.length;
      room.log.append({
        type: 'resync',
        f: m.frame,
        s: [m.forSlot],
        base: m.baseFrame,
        bytes: m.bytes.length,
        full: m.fullBytes,
        ms: room.ms(),
      });
      return { refused: null, rejoined: null };
    }
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
   * connected, and asks the new host for those the departed host had not answered.
   */
  afterDeparture(): void {
    const members = this.room.members;
    for (const [slot, r] of [...this.requests]) {
      if (members[slot].status !== 'connected') this.requests.delete(slot);
      else if (r.askedSlot === null || members[r.askedSlot].status !== 'connected')
        this.ask(slot, r, this.room.host());
    }
  }

  /** The lowest frame a pending rejoin needs inputs from (Infinity when none is pending). */
  rejoinFloor(): Frame {
    let floor = Number.POSITIVE_INFINITY;
    for (const r of this.requests.values())
      if (r.purpose === 'rejoin') floor = Math.min(floor, r.frame);
    return floor;
  }

  /** Asks `host` (when there is one) for a state on behalf of `slot`, and remembers the request. */
  private ask(slot: PlayerSlot, r: StateRequest, host: Member | null): void {
    r.askedSlot = host?.slot ?? null;
    this.requests.set(slot, r);
    if (!host) return;
    this.room.sendTo(host, {
      kind: 'stateRequest',
      frame: r.frame,
      baseFrame: r.baseFrame,
      forSlot: slot,
      signature: new Uint8Array(0),
    });
  }
}
