import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeInput,
  encodeInput,
  INPUT_BYTES,
  type Input,
  inputsEqual,
  isValidInput,
  NEUTRAL_INPUT,
} from './input.ts';

const input = fc.record({
  buttons: fc.integer({ min: 0, max: 0xffff }),
  x: fc.integer({ min: -128, max: 127 }),
  y: fc.integer({ min: -128, max: 127 }),
});

describe('input codec', () => {
  it('round-trips every valid input, negative axes included', () => {
    fc.assert(
      fc.property(input, (i) => {
        const bytes = encodeInput(i);
        expect(bytes.length).toBe(INPUT_BYTES);
        expect(decodeInput(bytes)).toEqual(i);
      }),
    );
  });

  it('lays out u16 buttons little endian, then i8 x and i8 y', () => {
    expect([...encodeInput({ buttons: 0x1234, x: -1, y: -128 })]).toEqual([0x34, 0x12, 0xff, 0x80]);
    expect(decodeInput(new Uint8Array([0xff, 0xff, 0x7f, 0x80]))).toEqual({
      buttons: 0xffff,
      x: 127,
      y: -128,
    });
    expect([...encodeInput(NEUTRAL_INPUT)]).toEqual([0, 0, 0, 0]);
  });

  it('rejects out-of-range and malformed inputs with BAD_INPUT', () => {
    const bad: unknown[] = [
      { buttons: -1, x: 0, y: 0 },
      { buttons: 0x10000, x: 0, y: 0 },
      { buttons: 1.5, x: 0, y: 0 },
      { buttons: 0, x: 128, y: 0 },
      { buttons: 0, x: -129, y: 0 },
      { buttons: 0, x: 0, y: 128 },
      { buttons: 0, x: 0, y: Number.NaN },
      { buttons: 0, x: 0 },
      { buttons: '1', x: 0, y: 0 },
      null,
      7,
    ];
    for (const value of bad) {
      expect(isValidInput(value)).toBe(false);
      expect(() => encodeInput(value as Input)).toThrow(
        expect.objectContaining({ code: 'BAD_INPUT' }),
      );
    }
  });

  it('rejects encodings of the wrong length with BAD_INPUT', () => {
    for (const length of [0, 3, 5]) {
      expect(() => decodeInput(new Uint8Array(length))).toThrow(
        expect.objectContaining({ code: 'BAD_INPUT' }),
      );
    }
  });

  it('compares inputs field by field', () => {
    fc.assert(
      fc.property(input, input, (a, b) => {
        expect(inputsEqual(a, { ...a })).toBe(true);
        expect(inputsEqual(a, b)).toBe(a.buttons === b.buttons && a.x === b.x && a.y === b.y);
      }),
    );
  });
});
