import { describe, expect, it } from 'vitest';
import { type HistoryInput, InputHistory } from './input-history.ts';

function all(h: InputHistory, from = 0): HistoryInput[] {
  const out: HistoryInput[] = [];
  h.forEachFrom(from, (x) => out.push(x));
  return out;
}

describe('InputHistory', () => {
  it('keeps inputs in forwarding order across growth, copies their bytes, and drops old frames', () => {
    const h = new InputHistory(4);
    const expected: HistoryInput[] = [];
    const bytes = new Uint8Array(4);
    for (let f = 0; f < 3000; f++) {
      for (const slot of [1, 0]) {
        bytes.set([slot, f & 0xff, (f >> 8) & 0xff, 7]);
        h.push(slot, f, bytes, f - 3);
        expected.push({ slot, frame: f, input: bytes.slice(), currentFrame: f - 3 });
      }
    }
    bytes.fill(0); // the history holds copies
    expect(h.length).toBe(6000);
    expect(all(h)).toEqual(expected);
    expect(all(h, 2990)).toEqual(expected.filter((x) => x.frame >= 2990));
    h.dropBelow(1000);
    expect(h.length).toBe(4000);
    expect(all(h)).toEqual(expected.filter((x) => x.frame >= 1000));
    h.push(0, 3000, new Uint8Array([9, 9, 9, 9]), 2997);
    expect(all(h, 3000)).toEqual([
      { slot: 0, frame: 3000, input: new Uint8Array([9, 9, 9, 9]), currentFrame: 2997 },
    ]);
  });

  it('keeps later-stamped inputs that arrived before older ones when dropping', () => {
    const h = new InputHistory(2);
    h.push(0, 10, new Uint8Array([0, 10]), 0);
    h.push(1, 4, new Uint8Array([1, 4]), 0);
    h.push(1, 5, new Uint8Array([1, 5]), 0);
    h.dropBelow(5);
    expect(all(h).map((x) => [x.slot, x.frame])).toEqual([
      [0, 10],
      [1, 5],
    ]);
  });

  it('refuses inputs of the wrong size or slot, and a bad input size', () => {
    const h = new InputHistory(4);
    expect(() => h.push(0, 1, new Uint8Array(3), 0)).toThrow(RangeError);
    expect(() => h.push(256, 1, new Uint8Array(4), 0)).toThrow(RangeError);
    expect(() => new InputHistory(0)).toThrow(RangeError);
    expect(h.length).toBe(0);
  });
});
