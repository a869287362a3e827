import { describe, expect, it } from 'vitest';
import { field } from '../field/index.ts';
import type { Input } from '../input.ts';
import type { EntityInterest, EntityTable } from '../interest.ts';
import { Prng } from '../prng.ts';
import {
  decodeInterestUpdate,
  encodeInterestUpdate,
  InterestBroadcaster,
  InterestReplica,
  type InterestUpdate,
} from './interest.ts';

const PLAYERS = 8;
const BROADCAST_DIVISOR = 3;
const FAR_DIVISOR = 4;
const interest = field.interest as EntityInterest<Int32Array>;

function inputs(frame: number): Input[] {
  return Array.from({ length: PLAYERS }, (_, p) => ({
    buttons: Prng.fromSeed(frame - (frame % 40) + p * 31).nextInt(16),
    x: 0,
    y: 0,
  }));
}

const recordOf = (t: EntityTable, i: number) =>
  Array.from(t.fields.subarray(i * t.width, (i + 1) * t.width));

/** True when entity i of `t` is in the area of interest around `focus`. */
function inside(t: EntityTable, i: number, focus: { x: number; y: number }): boolean {
  const c = interest.cellSize;
  return (
    Math.abs(Math.floor(t.x[i] / c) - Math.floor(focus.x / c)) <= interest.radiusCells &&
    Math.abs(Math.floor(t.y[i] / c) - Math.floor(focus.y / c)) <= interest.radiusCells
  );
}

/**
 * Runs the field for `frames` with a broadcaster and one replica per client; `lost(slot, n)`
 * says whether client `slot` misses broadcast n (it then neither applies nor acknowledges it).
 * Checks every client's copy after each broadcast it received.
 */
function run(frames: number, lost: (slot: number, n: number) => boolean) {
  const sim = field.create({ players: PLAYERS, seed: 42 });
  const host = new InterestBroadcaster(interest, PLAYERS, FAR_DIVISOR);
  const replicas = Array.from({ length: PLAYERS }, () => new InterestReplica(interest));
  /** The host's entity tables of the last broadcasts, newest last. */
  const recent: EntityTable[] = [];
  let sentEntities = 0;
  let bytes = 0;
  let n = 0;
  const wrong: string[] = [];
  for (let f = 0; f < frames; f++) {
    sim.step(inputs(f));
    if (sim.frame % BROADCAST_DIVISOR !== 0) continue;
    const snap = sim.save();
    const table = interest.entities(snap);
    recent.push(table);
    if (recent.length > FAR_DIVISOR + 2) recent.shift();
    const updates = host.update(snap, sim.frame);
    for (let slot = 0; slot < PLAYERS; slot++) {
      const wire = encodeInterestUpdate(updates[slot]);
      bytes += wire.length;
      sentEntities += updates[slot].ids.length;
      if (lost(slot, n)) continue;
      const u: InterestUpdate = decodeInterestUpdate(wire);
      const state = replicas[slot].apply(u) as Int32Array;
      host.ack(slot, u.frame);
      // Every entity in the client's area of interest is exact; every other one is one the host
      // had at one of the last FAR_DIVISOR broadcasts (the client received since).
      const mine = interest.entities(state);
      const focus = interest.focus(snap, slot);
      const window = recent.slice(-FAR_DIVISOR);
      for (let i = 0; i < table.count; i++) {
        const record = recordOf(mine, i).join();
        if (inside(table, i, focus)) {
          if (record !== recordOf(table, i).join()) wrong.push(`near ${slot}/${i}@${n}`);
        } else if (!lost(slot, n - 1)) {
          if (!window.some((t) => recordOf(t, i).join() === record))
            wrong.push(`far ${slot}/${i}@${n}`);
        }
      }
      // The rest of the state (frame, generator) is always the host's.
      expect(interest.encodeRest(state)).toEqual(interest.encodeRest(snap));
    }
    n++;
  }
  expect(wrong).toEqual([]);
  return { broadcasts: n, sentEntities, bytes };
}

describe('InterestBroadcaster and InterestReplica on the field sim', () => {
  it('keep every entity near a client exact and the far ones at most a few broadcasts old', () => {
    const { broadcasts, sentEntities } = run(300, () => false);
    // Far entities go one broadcast in four: well under every entity every time.
    expect(sentEntities).toBeLessThan(broadcasts * PLAYERS * 208 * 0.5);
  });

  it('repair lost updates from the acknowledged ones', () => {
    // Client 3 misses two broadcasts in five; the others none.
    run(300, (slot, n) => slot === 3 && (n % 5 === 1 || n % 5 === 2));
  });

  it('send every entity at every broadcast with a far divisor of 1', () => {
    const sim = field.create({ players: 2, seed: 1 });
    const host = new InterestBroadcaster(interest, 2, 1);
    const replica = new InterestReplica(interest);
    for (let f = 0; f < 30; f++) {
      sim.step(inputs(f).slice(0, 2));
      const [u] = host.update(sim.save(), sim.frame);
      expect(replica.apply(u)).toEqual(sim.save());
      host.ack(0, u.frame);
    }
  });

  it('ignores an update older than one applied', () => {
    const sim = field.create({ players: 2, seed: 1 });
    const host = new InterestBroadcaster(interest, 2);
    sim.step(inputs(0).slice(0, 2));
    const [first] = host.update(sim.save(), sim.frame);
    sim.step(inputs(1).slice(0, 2));
    const [second] = host.update(sim.save(), sim.frame);
    const replica = new InterestReplica(interest);
    expect(replica.apply(second)).toBeDefined();
    expect(replica.apply(first)).toBeUndefined();
  });

  it('sends known entities as differences from their acknowledged records, and refuses a base not held', () => {
    const sim = field.create({ players: 2, seed: 4 });
    const host = new InterestBroadcaster(interest, 2, 1);
    const replica = new InterestReplica(interest);
    sim.step(inputs(0).slice(0, 2));
    const first = decodeInterestUpdate(encodeInterestUpdate(host.update(sim.save(), sim.frame)[0]));
    expect(first.relative.includes(1)).toBe(false);
    expect(replica.apply(first)).toEqual(sim.save());
    host.ack(0, first.frame);
    sim.step(inputs(1).slice(0, 2));
    const [second] = host.update(sim.save(), sim.frame);
    const wire = encodeInterestUpdate(second);
    const decoded = decodeInterestUpdate(wire);
    expect(decoded.base).toBe(first.frame);
    expect(decoded.relative.every((r) => r === 1)).toBe(true);
    // Smaller than the same entities sent whole.
    const whole = encodeInterestUpdate({ ...second, relative: new Uint8Array(second.ids.length) });
    expect(wire.length).toBeLessThan(whole.length * 0.75);
    expect(replica.apply(decoded)).toEqual(sim.save());
    // A replica that never held the base cannot resolve the differences.
    expect(() => new InterestReplica(interest).apply(decoded)).toThrow(/not held/);
  });
});
