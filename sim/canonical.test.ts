import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type CanonicalValue, canonicalDecode, canonicalEncode } from './canonical.ts';
import { ConcordError } from './errors.ts';

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

/** The same value with every object's keys inserted in reverse order. */
function reverseKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reverseKeys);
  if (typeof value === 'object' && value !== null && !(value instanceof Uint8Array)) {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).reverse()) {
      out[key] = reverseKeys((value as Record<string, unknown>)[key]);
    }
    return out;
  }
  return value;
}

function expectNonCanonical(value: unknown): void {
  try {
    canonicalEncode(value as CanonicalValue);
  } catch (err) {
    expect(err).toBeInstanceOf(ConcordError);
    expect((err as ConcordError).code).toBe('NON_CANONICAL_VALUE');
    return;
  }
  throw new Error(`expected NON_CANONICAL_VALUE for ${String(value)}`);
}

/** JSON values without the key "__proto__", which a state may not use. */
const stateLike = fc.jsonValue().filter((v) => !JSON.stringify(v).includes('"__proto__"'));

describe('canonicalEncode', () => {
  it('gives the same bytes whatever the key insertion order', () => {
    fc.assert(
      fc.property(stateLike, (value) => {
        const a = canonicalEncode(value as CanonicalValue);
        const b = canonicalEncode(reverseKeys(value) as CanonicalValue);
        expect(hex(b)).toBe(hex(a));
      }),
    );
    expect(hex(canonicalEncode({ a: 1, b: 2 }))).toBe(hex(canonicalEncode({ b: 2, a: 1 })));
  });

  it('decodes to the value it encoded (with -0 as 0)', () => {
    fc.assert(
      fc.property(stateLike, (value) => {
        const decoded = canonicalDecode(canonicalEncode(value as CanonicalValue));
        expect(decoded).toEqual(JSON.parse(JSON.stringify(value)));
      }),
    );
  });

  it('refuses the key "__proto__" (found by this property test)', () => {
    expect(() => canonicalEncode(JSON.parse('{"__proto__": ""}'))).toThrow(/__proto__/);
    const protoMap = new Uint8Array([0x81, 0xa9, ...Buffer.from('__proto__'), 0xa0]);
    expect(() => canonicalDecode(protoMap)).toThrow(/canonical form/);
    // Keys out of order, and an integer in a wider form than needed, are not canonical either.
    expect(() => canonicalDecode(new Uint8Array([0x82, 0xa1, 0x62, 1, 0xa1, 0x61, 2]))).toThrow(
      /canonical/,
    );
    expect(() => canonicalDecode(new Uint8Array([0xcd, 0x00, 0x01]))).toThrow(/canonical/);
  });

  it('encodes -0 exactly like 0', () => {
    expect(hex(canonicalEncode({ x: -0 }))).toBe(hex(canonicalEncode({ x: 0 })));
    expect(Object.is(canonicalDecode(canonicalEncode(-0)), 0)).toBe(true);
  });

  it('rejects values without a canonical encoding', () => {
    class Point {
      x = 1;
    }
    for (const value of [
      Number.NaN,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      undefined,
      { a: undefined },
      [1, Number.NaN],
      { deep: { deeper: [Number.NaN] } },
      new Map([['a', 1]]),
      new Set([1]),
      new Point(),
      new Int32Array([1, 2]),
      new Date(0),
      () => 1,
      10n,
      Symbol('s'),
    ]) {
      expectNonCanonical(value);
    }
  });

  it('names the path of the offending value', () => {
    expect(() => canonicalEncode({ a: [0, { b: Number.NaN }] })).toThrow('$.a[1].b');
  });

  it('keeps its bytes for a fixed value (a msgpackr upgrade must not change them)', () => {
    const value: CanonicalValue = {
      b: [1, -1, 127, 128, 300, -300, 70000, -70000, 2 ** 32, 2 ** 40],
      a: 'héllo',
      c: null,
      d: true,
      e: 1.5,
      f: new Uint8Array([1, 2, 3]),
      nested: { z: 0, y: -0, x: [] },
    };
    expect(hex(canonicalEncode(value))).toBe(
      '87a161a668c3a96c6c6fa1629a01ff7fcc80cd012cd1fed4ce00011170d2fffeee90cb41f00000000000' +
        '00cb4270000000000000a163c0a164c3a165cb3ff8000000000000a166c403010203a66e657374656483' +
        'a17890a17900a17a00',
    );
  });

  it('returns bytes it owns', () => {
    const a = canonicalEncode({ a: 1 });
    const copy = hex(a);
    canonicalEncode({ a: 2, b: 'overwrite the shared buffer' });
    expect(hex(a)).toBe(copy);
  });
});

describe('canonicalDecode', () => {
  it('rejects bytes that are not msgpack with BAD_STATE', () => {
    for (const bytes of [[0x92, 0x01], [0xa5, 0x61], [], [0x01, 0x02]]) {
      expect(() => canonicalDecode(new Uint8Array(bytes))).toThrow(
        expect.objectContaining({ code: 'BAD_STATE' }),
      );
    }
  });
});

describe('canonicalDecode refuses what is not a state', () => {
  it('throws BAD_STATE for the reserved byte 0xc1 and for extension types', () => {
    expect(() => canonicalDecode(new Uint8Array([0xc1]))).toThrow(/non-canonical/);
    // fixext 4 with type -1: a msgpack timestamp, which a state never holds.
    expect(() => canonicalDecode(new Uint8Array([0xd6, 0xff, 0, 0, 0, 1]))).toThrow(
      /non-canonical/,
    );
  });
});
