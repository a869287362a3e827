import { beforeAll, describe, expect, it } from 'vitest';
import { canonicalDecode } from '../canonical.ts';
import { ConcordError } from '../errors.ts';
import { initStateHash, stateHash } from '../hash.ts';
import type { Input } from '../input.ts';
import { Prng } from '../prng.ts';
import { getSimFactory } from '../registry.ts';
import { runSyncTest } from '../sync-test.ts';
import { FIELD_RULES, field } from './index.ts';

beforeAll(async () => {
  await initStateHash();
});

/** Each player's buttons for a frame: a pure function of the frame (a new direction every 30 frames). */
function inputs(players: number, frame: number): Input[] {
  return Array.from({ length: players }, (_, p) => ({
    buttons: Prng.fromSeed(frame - (frame % 30) + p * 7919).nextInt(16),
    x: 0,
    y: 0,
  }));
}

describe('field sim', () => {
  it('is registered, deterministic under rollback and re-simulation, and replays to the same hash', () => {
    expect(getSimFactory('field')).toBe(field);
    const sim = field.create({ players: 8, seed: 11 });
    const result = runSyncTest(sim, { frames: 300, checkDistance: 7, inputs: (f) => inputs(8, f) });
    const again = field.create({ players: 8, seed: 11 });
    for (let f = 0; f < 300; f++) again.step(inputs(8, f));
    expect(stateHash(again.encode(again.save()))).toBe(result.finalHash);
    const other = field.create({ players: 8, seed: 12 });
    for (let f = 0; f < 300; f++) other.step(inputs(8, f));
    expect(stateHash(other.encode(other.save()))).not.toBe(result.finalHash);
  });

  it('keeps 200 movers and the players inside the world, moving', () => {
    const sim = field.create({ players: 3, seed: 5 });
    const before = field.interest?.entities(sim.save());
    for (let f = 0; f < 2000; f++) sim.step(inputs(3, f));
    const table = field.interest?.entities(sim.save());
    expect(table?.count).toBe(203);
    let moved = 0;
    for (let i = 0; i < (table?.count ?? 0); i++) {
      expect(table?.x[i]).toBeGreaterThanOrEqual(0);
      expect(table?.x[i]).toBeLessThanOrEqual(FIELD_RULES.size);
      expect(table?.y[i]).toBeGreaterThanOrEqual(0);
      expect(table?.y[i]).toBeLessThanOrEqual(FIELD_RULES.size);
      if (table?.x[i] !== before?.x[i] || table?.y[i] !== before?.y[i]) moved++;
    }
    expect(moved).toBeGreaterThan(190);
  });

  it('encodes canonically, decodes what it encodes, and refuses anything else', () => {
    const sim = field.create({ players: 2, seed: 9 });
    for (let f = 0; f < 50; f++) sim.step(inputs(2, f));
    const snap = sim.save();
    const bytes = sim.encode(snap);
    expect(sim.decode(bytes)).toEqual(snap);
    const v = canonicalDecode(bytes) as { entities: unknown[] };
    expect(v.entities).toHaveLength(202);
    expect(() => sim.decode(bytes.subarray(0, bytes.length - 1))).toThrow(ConcordError);
    expect(() =>
      field
        .create({ players: 2, seed: 9 })
        .decode(
          field
            .create({ players: 3, seed: 9 })
            .encode(field.create({ players: 3, seed: 9 }).save()),
        ),
    ).toThrow(/2-player/);
    expect(() => field.create({ players: 9, seed: 1 })).toThrow(/1\.\.8/);
  });

  it('splits a state into its rest and entities and joins them again', () => {
    const sim = field.create({ players: 8, seed: 3 });
    for (let f = 0; f < 77; f++) sim.step(inputs(8, f));
    const snap = sim.save();
    const interest = field.interest;
    if (!interest) throw new Error('field has interest');
    const joined = interest.compose(interest.encodeRest(snap), interest.entities(snap));
    expect(joined).toEqual(snap);
    expect(interest.focus(snap, 2)).toEqual({
      x: snap[6 + 2 * 4] >> 8,
      y: snap[6 + 2 * 4 + 1] >> 8,
    });
  });
});
