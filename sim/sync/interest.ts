import { type CanonicalValue, canonicalDecode, canonicalEncode } from '../canonical.ts';
import { ConcordError } from '../errors.ts';
import type { EntityInterest, EntityTable } from '../interest.ts';
import type { Frame, PlayerSlot } from '../sim.ts';

/**
 * Default of how much less often a client hears of an entity outside its area of interest: at
 * one broadcast in 4 (5 Hz at 20 Hz broadcasts), each entity on its own turn (`(broadcast + id)
 * mod 4`), so the far updates spread evenly over the broadcasts.
 */
export const DEFAULT_FAR_DIVISOR = 4;

/**
 * One client's interest update for the host's state S(`frame`): the rest of the state in full,
 * and the entities whose records the client lacks (as of the last update it acknowledged) among
 * those due this broadcast: inside its area of interest every broadcast, outside it on their
 * turn, and any entity the client has never had. `removed` are ids the client holds that are
 * gone from the state.
 */
export interface InterestUpdate {
  readonly frame: Frame;
  /** `EntityInterest.encodeRest` of S(frame). */
  readonly rest: Uint8Array;
  /** Fields per entity. */
  readonly width: number;
  /** Ids of the entities sent, increasing. */
  readonly ids: Int32Array;
  /** `ids.length × width` fields. */
  readonly fields: Int32Array;
  /**
   * The frame of the update the client acknowledged last (-1: none): entity `i` with
   * `relative[i]` 1 is sent on the wire as the difference from its record then, which the client
   * holds (`baseFields`, same shape as `fields`). Small differences take one to three bytes where
   * a position takes five.
   */
  readonly base: Frame;
  readonly relative: Uint8Array;
  /**
   * The records at `base` of the relative entities (zeros for the others). Empty in an update
   * just decoded: `fields` then holds the differences, and `InterestReplica` adds its records.
   */
  readonly baseFields: Int32Array;
  /** Ids removed. */
  readonly removed: Int32Array;
  /** Entities inside the client's area of interest in S(frame) (for the figures). */
  readonly near: number;
}

/**
 * The canonical bytes of an update: msgpack of `{f, b, rest, w, e: [id, fields…, …],
 * d: [id, field − base field…, …], r}`, integers only: `e` the entities sent whole, `d` those
 * sent as differences from their record at frame `b`.
 */
export function encodeInterestUpdate(u: InterestUpdate): Uint8Array {
  const e: number[] = [];
  const d: number[] = [];
  for (let i = 0; i < u.ids.length; i++) {
    const rel = u.relative[i] === 1;
    const out = rel ? d : e;
    out.push(u.ids[i]);
    for (let f = 0; f < u.width; f++) {
      const at = i * u.width + f;
      out.push(rel ? u.fields[at] - u.baseFields[at] : u.fields[at]);
    }
  }
  return canonicalEncode({
    f: u.frame,
    b: u.base,
    rest: u.rest,
    w: u.width,
    e,
    d,
    r: Array.from(u.removed),
  });
}

/**
 * The inverse of {@link encodeInterestUpdate}.
 * @throws ConcordError `BAD_STATE` for bytes that are not an update.
 */
export function decodeInterestUpdate(bytes: Uint8Array): InterestUpdate {
  const v = canonicalDecode(bytes) as { readonly [k: string]: CanonicalValue };
  const intList = (x: CanonicalValue | undefined, what: string): number[] => {
    if (!Array.isArray(x) || !x.every((n) => Number.isInteger(n))) {
      throw new ConcordError('BAD_STATE', `interest update: ${what} must be a list of integers`);
    }
    return x as number[];
  };
  const w = v?.w;
  const f = v?.f;
  const b = v?.b;
  if (
    !(v?.rest instanceof Uint8Array) ||
    !Number.isInteger(w) ||
    (w as number) < 1 ||
    !Number.isInteger(f) ||
    !Number.isInteger(b)
  ) {
    throw new ConcordError('BAD_STATE', 'interest update: not {f, b, rest, w, e, d, r}');
  }
  const width = w as number;
  const e = intList(v.e, 'e');
  const d = intList(v.d, 'd');
  if (e.length % (width + 1) !== 0 || d.length % (width + 1) !== 0)
    throw new ConcordError('BAD_STATE', 'interest update: e or d is not whole records');
  const n = (e.length + d.length) / (width + 1);
  const ids = new Int32Array(n);
  const fields = new Int32Array(n * width);
  const relative = new Uint8Array(n);
  const ne = e.length / (width + 1);
  for (let i = 0; i < n; i++) {
    const [list, j] = i < ne ? [e, i] : [d, i - ne];
    ids[i] = list[j * (width + 1)];
    relative[i] = i < ne ? 0 : 1;
    for (let k = 0; k < width; k++) fields[i * width + k] = list[j * (width + 1) + 1 + k];
  }
  const removed = Int32Array.from(intList(v.r, 'r'));
  return {
    frame: f as number,
    base: b as number,
    rest: v.rest,
    width,
    ids,
    fields,
    relative,
    baseFields: new Int32Array(0),
    removed,
    near: -1,
  };
}

/** Records by id (a client's copy of the entities). */
type Records = Map<number, Int32Array>;

/** An update sent and not acknowledged yet, with the position of each id's record in it. */
interface Pending {
  readonly u: InterestUpdate;
  readonly at: Map<number, number>;
}

interface ClientView {
  /** The entities as of the last update the client acknowledged. */
  acked: Records;
  ackedFrame: Frame;
  /** Updates sent and not yet acknowledged, oldest first. */
  pending: Pending[];
  /** Entities of updates found lost: due at the next broadcast whatever their distance. */
  resend: Set<number>;
}

/** Most unacknowledged updates kept per client; past it the client is sent every entity again. */
const MAX_PENDING = 64;

/**
 * The host's side of interest management: for each client, the update to send with each
 * broadcast (see {@link InterestUpdate}), relative to the entities of the last update the client
 * acknowledged, so that a lost update is repaired by the next one (an entity stays in every
 * update until an acknowledged one carried its record). Pure: the host calls {@link update} at
 * each broadcast and {@link ack} when a client acknowledges a frame.
 *
 * Cost per broadcast: one pass over the entities per client, plus a comparison per entity due.
 * Idea: grid areas of interest with a lower update rate for what is far (Unreal's relevancy and
 * `NetUpdateFrequency`, Colyseus' `StateView`), deltas against the acknowledged state as in the
 * Quake 3 network model.
 */
export class InterestBroadcaster<Snap> {
  private readonly clients: ClientView[];
  private broadcasts = 0;

  /**
   * @param interest the sim's entity interest.
   * @param players clients, one per player slot.
   * @param farDivisor an entity outside a client's area of interest is due one broadcast in this
   *   many (≥ 1; 1 sends every entity every broadcast). Default {@link DEFAULT_FAR_DIVISOR}.
   * @throws ConcordError `BAD_CONFIG` for a divisor or a player count out of range.
   */
  constructor(
    private readonly interest: EntityInterest<Snap>,
    players: number,
    private readonly farDivisor = DEFAULT_FAR_DIVISOR,
  ) {
    if (
      !Number.isInteger(farDivisor) ||
      farDivisor < 1 ||
      !Number.isInteger(players) ||
      players < 1
    ) {
      throw new ConcordError(
        'BAD_CONFIG',
        `interest broadcaster: ${players} players, far divisor ${farDivisor}`,
      );
    }
    this.clients = Array.from({ length: players }, () => ({
      acked: new Map(),
      ackedFrame: -1,
      pending: [],
      resend: new Set<number>(),
    }));
  }

  /**
   * Every client's update for `snap`, the state of `frame` (one call per broadcast).
   * @returns by slot, the update to send.
   */
  update(snap: Snap, frame: Frame): InterestUpdate[] {
    const table = this.interest.entities(snap);
    const rest = this.interest.encodeRest(snap);
    const turn = this.broadcasts++;
    return this.clients.map((client, slot) =>
      this.updateFor(client, slot, snap, frame, table, rest, turn),
    );
  }

  /**
   * Client `slot` acknowledged the update of `frame` (it loaded it): the entities it carried
   * become the client's known ones. Updates sent before it and not acknowledged were lost
   * (acknowledgements travel in order, on socket.io): their entities are due at the next
   * broadcast. An acknowledgement of a frame not sent, or not newer than the last, changes nothing.
   */
  ack(slot: PlayerSlot, frame: Frame): void {
    const c = this.clients[slot];
    if (c === undefined || frame <= c.ackedFrame) return;
    if (!c.pending.some(({ u }) => u.frame === frame)) return;
    while (c.pending.length > 0 && c.pending[0].u.frame <= frame) {
      const { u } = c.pending.shift() as Pending;
      if (u.frame === frame) applyRecords(c.acked, u);
      else for (const id of u.ids) c.resend.add(id);
    }
    c.ackedFrame = frame;
  }

  /**
   * Client `slot` holds nothing any more (it rejoined): its next update carries every entity.
   */
  reset(slot: PlayerSlot): void {
    const c = this.clients[slot];
    if (c === undefined) return;
    c.acked = new Map();
    c.ackedFrame = -1;
    c.pending = [];
    c.resend.clear();
  }

  private updateFor(
    client: ClientView,
    slot: PlayerSlot,
    snap: Snap,
    frame: Frame,
    table: EntityTable,
    rest: Uint8Array,
    turn: number,
  ): InterestUpdate {
    const { cellSize, radiusCells } = this.interest;
    const focus = this.interest.focus(snap, slot);
    const cx = Math.floor(focus.x / cellSize);
    const cy = Math.floor(focus.y / cellSize);
    const w = table.width;
    const ids: number[] = [];
    const sent: number[] = [];
    const bases: (Int32Array | undefined)[] = [];
    let near = 0;
    const present = new Set<number>();
    for (let i = 0; i < table.count; i++) {
      const id = table.ids[i];
      present.add(id);
      const inside =
        Math.abs(Math.floor(table.x[i] / cellSize) - cx) <= radiusCells &&
        Math.abs(Math.floor(table.y[i] / cellSize) - cy) <= radiusCells;
      if (inside) near++;
      const known = client.acked.get(id);
      const due =
        inside ||
        known === undefined ||
        client.resend.has(id) ||
        (turn + id) % this.farDivisor === 0;
      if (!due) continue;
      // Skipped only when every record of it the client may hold (acknowledged, or in an update
      // it may have received) is the current one: then its copy is right whatever arrived.
      if (known !== undefined && sameRecord(known, table.fields, i * w, w)) {
        const stale = client.pending.some(({ u, at }) => {
          const k = at.get(id);
          return (
            k !== undefined &&
            !sameRecord(u.fields.subarray(k * w, (k + 1) * w), table.fields, i * w, w)
          );
        });
        if (!stale) continue;
      }
      ids.push(id);
      sent.push(i);
      bases.push(known);
    }
    const fields = new Int32Array(ids.length * w);
    const baseFields = new Int32Array(ids.length * w);
    const relative = new Uint8Array(ids.length);
    sent.forEach((i, k) => {
      fields.set(table.fields.subarray(i * w, (i + 1) * w), k * w);
      const known = bases[k];
      if (known !== undefined) {
        baseFields.set(known, k * w);
        relative[k] = 1;
      }
    });
    const removed: number[] = [];
    for (const id of client.acked.keys()) if (!present.has(id)) removed.push(id);
    removed.sort((a, b) => a - b);
    const u: InterestUpdate = {
      frame,
      rest,
      width: w,
      ids: Int32Array.from(ids),
      fields,
      base: client.ackedFrame,
      relative,
      baseFields,
      removed: Int32Array.from(removed),
      near,
    };
    client.resend.clear();
    client.pending.push({ u, at: new Map(ids.map((id, k) => [id, k])) });
    if (client.pending.length > MAX_PENDING) {
      // A client that stopped acknowledging for seconds: forget what it may hold, so that the
      // next update carries every entity.
      client.pending = [];
      client.acked = new Map();
      client.ackedFrame = -1;
    }
    return u;
  }
}

function sameRecord(known: Int32Array, fields: Int32Array, at: number, w: number): boolean {
  for (let k = 0; k < w; k++) if (known[k] !== fields[at + k]) return false;
  return true;
}

function applyRecords(records: Records, u: InterestUpdate): void {
  for (const id of u.removed) records.delete(id);
  for (let i = 0; i < u.ids.length; i++) {
    records.set(u.ids[i], u.fields.slice(i * u.width, (i + 1) * u.width));
  }
}

/**
 * The client's side: its copy of the entities, updated by each {@link InterestUpdate} as it
 * arrives (the differences of relative entities added to its records of the update's base frame,
 * which it keeps for the updates it applied; an update older than one applied is ignored), and
 * the state they make with the update's rest, to load.
 */
export class InterestReplica<Snap> {
  private records: Records = new Map();
  private width = 0;
  private lastFrame: Frame = -1;
  /** The records after each update applied, by its frame (the bases of later differences). */
  private readonly history = new Map<Frame, Records>();

  constructor(private readonly interest: EntityInterest<Snap>) {}

  /**
   * Applies `u` and returns the state it makes (the client acknowledges `u.frame` once loaded);
   * an update older than one already applied (reordered) is ignored: returns undefined.
   * @throws ConcordError `BAD_STATE` when the copy does not make a state yet (an entity never
   *   received), which a host following {@link InterestBroadcaster} never causes.
   */
  apply(u: InterestUpdate): Snap | undefined {
    if (u.frame <= this.lastFrame) return undefined;
    const resolved = this.resolve(u);
    this.lastFrame = u.frame;
    this.width = u.width;
    this.records = new Map(this.records);
    applyRecords(this.records, resolved);
    this.history.set(u.frame, this.records);
    for (const f of this.history.keys()) {
      if (f < u.base || this.history.size > MAX_PENDING * 2) this.history.delete(f);
      else break;
    }
    const ids = Int32Array.from([...this.records.keys()].sort((a, b) => a - b));
    const fields = new Int32Array(ids.length * this.width);
    ids.forEach((id, i) => {
      fields.set(this.records.get(id) as Int32Array, i * this.width);
    });
    const table: EntityTable = {
      count: ids.length,
      ids,
      x: new Int32Array(ids.length),
      y: new Int32Array(ids.length),
      width: this.width,
      fields,
    };
    return this.interest.compose(u.rest, table);
  }

  /** `u` with the differences of its relative entities added to their records at `u.base`. */
  private resolve(u: InterestUpdate): InterestUpdate {
    if (u.baseFields.length === u.fields.length || !u.relative.includes(1)) return u;
    const base = this.history.get(u.base);
    if (base === undefined) {
      throw new ConcordError('BAD_STATE', `interest update against frame ${u.base}, not held`);
    }
    const fields = u.fields.slice();
    for (let i = 0; i < u.ids.length; i++) {
      if (u.relative[i] !== 1) continue;
      const record = base.get(u.ids[i]);
      if (record === undefined) {
        throw new ConcordError(
          'BAD_STATE',
          `interest update: entity ${u.ids[i]} not held at ${u.base}`,
        );
      }
      for (let k = 0; k < u.width; k++) fields[i * u.width + k] += record[k];
    }
    return { ...u, fields, baseFields: new Int32Array(0) };
  }

  /** The record of entity `id` held, or undefined. */
  record(id: number): Int32Array | undefined {
    return this.records.get(id);
  }
}
