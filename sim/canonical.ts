import { Packr, Unpackr } from 'msgpackr';
import { ConcordError } from './errors.ts';

/**
 * A value that has one canonical encoding: null, booleans, finite numbers, strings, byte arrays,
 * arrays of canonical values, and plain objects whose values are canonical.
 */
export type CanonicalValue =
  | null
  | boolean
  | number
  | string
  | Uint8Array
  | readonly CanonicalValue[]
  | { readonly [key: string]: CanonicalValue };

// Records (msgpackr's structure extension) depend on encoding history; plain maps do not.
const packr = new Packr({ useRecords: false, variableMapSize: true, moreTypes: false });
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true });

function sortKeys(value: unknown, path: string): unknown {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return value;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) {
      throw new ConcordError('NON_CANONICAL_VALUE', `non-finite number ${value} at ${path}`);
    }
    // -0 and 0 encode alike; normalise so that the decoded value is the same too.
    return value === 0 ? 0 : value;
  }
  if (value instanceof Uint8Array) return value;
  if (Array.isArray(value)) return value.map((v, i) => sortKeys(v, `${path}[${i}]`));
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const obj = value as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    // Code-unit order: the same in every JavaScript engine and in Python's sorted().
    for (const key of Object.keys(obj).sort()) {
      // Assigning "__proto__" sets a prototype instead of a key; decoders treat it apart too.
      if (key === '__proto__') {
        throw new ConcordError('NON_CANONICAL_VALUE', `the key "__proto__" at ${path}`);
      }
      const v = obj[key];
      if (v === undefined) {
        throw new ConcordError('NON_CANONICAL_VALUE', `undefined at ${path}.${key}`);
      }
      out[key] = sortKeys(v, `${path}.${key}`);
    }
    return out;
  }
  throw new ConcordError(
    'NON_CANONICAL_VALUE',
    `value at ${path} has no canonical encoding (${Object.prototype.toString.call(value)})`,
  );
}

/**
 * Encodes a value canonically with msgpack: object keys sorted by code unit, integers in their
 * smallest msgpack form, other numbers as float64, -0 as 0. Equal values give equal bytes in
 * every engine, which is what state hashes rely on.
 * @throws ConcordError `NON_CANONICAL_VALUE` for NaN, Infinity, undefined, functions, Maps,
 * class instances and typed arrays other than Uint8Array.
 */
export function canonicalEncode(value: CanonicalValue): Uint8Array {
  const packed = packr.pack(sortKeys(value, '$'));
  // msgpackr may return a view of its shared buffer; copy so the result is owned.
  return new Uint8Array(packed);
}

/**
 * Decodes bytes produced by {@link canonicalEncode}, checking that they are in canonical form
 * (they must re-encode to themselves).
 * @throws ConcordError `BAD_STATE` when the bytes are not valid msgpack.
 */
export function canonicalDecode(bytes: Uint8Array): CanonicalValue {
  let value: unknown;
  try {
    value = unpackr.unpack(bytes);
  } catch (err) {
    throw new ConcordError(
      'BAD_STATE',
      `state bytes are not valid msgpack: ${(err as Error).message}`,
    );
  }
  let again: Uint8Array;
  try {
    // Refuses what msgpack can carry but a state cannot: extension types, the reserved 0xc1.
    again = packr.pack(sortKeys(value, '$'));
  } catch (err) {
    throw new ConcordError(
      'BAD_STATE',
      `state bytes hold a non-canonical value: ${(err as Error).message}`,
    );
  }
  // Canonical bytes re-encode to themselves; anything else (unsorted keys, a longer integer form,
  // a key the decoder drops such as "__proto__") is not a state encoding.
  if (!sameBytes(again, bytes)) {
    throw new ConcordError('BAD_STATE', 'state bytes are not in canonical form');
  }
  return value as CanonicalValue;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
