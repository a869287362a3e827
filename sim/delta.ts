/**
 * The state delta: a compact binary delta between two canonical state encodings, generic over
 * sims because it works on the bytes alone. Used for resync, rejoins and late joiners (see
 * `docs/state-delta.md` for the measurements behind the choice and the format).
 *
 * Pure and synchronous: no clock, no randomness, no Node `Buffer`, no WebAssembly to load.
 */
import { ConcordError } from './errors.ts';
import type { Frame } from './sim.ts';

/**
 * A state transfer: the state S(f) sent to a peer, either as a delta against a base frame's
 * state that both sides hold (the last agreed checkpoint) or as the full canonical encoding.
 *
 * - `delta`: `bytes` is the output of {@link createStateDelta} against the state of `baseFrame`,
 *   whose state hash (xxhash64, 16 lowercase hex digits) is `baseHash`.
 * - `full`: `bytes` is the canonical state encoding itself.
 *
 * Build one with {@link makeStateTransfer}, turn it back into state bytes with
 * {@link resolveStateTransfer}.
 */
export type StateTransfer =
  | {
      readonly kind: 'delta';
      readonly baseFrame: Frame;
      readonly baseHash: string;
      readonly bytes: Uint8Array;
    }
  | { readonly kind: 'full'; readonly bytes: Uint8Array };

/** Version of the delta format, the delta's first byte: a checked delta (with a check word). */
const FORMAT_VERSION = 1;
/**
 * Version byte of an unchecked delta: version 1 without the 4-byte check word. Its applier must
 * verify the rebuilt state some other way (the resync path compares its xxhash64 state hash).
 */
const UNCHECKED_FORMAT_VERSION = 2;

/** Options of {@link createStateDelta} and {@link createStateDeltaFromSignature}. */
export interface StateDeltaOptions {
  /**
   * Whether the delta carries its 4-byte check word (format version 1, the default). With
   * `false` it is an unchecked delta (format version 2), 4 bytes shorter: {@link applyStateDelta}
   * still checks its structure and the base's length, but a wrong base of the right length (or a
   * damaged delta that stays well-formed) then yields WRONG BYTES rather than `BAD_STATE`. Use it
   * only when the receiver verifies the rebuilt state's hash against the sender's, as the resync
   * path does (`stateHash(bytes) !== hash` → ask for the full state).
   */
  readonly checked?: boolean;
}

/** Writes the delta header: version, base length and, for a checked delta, the check word. */
function writeHeader(
  out: ByteWriter,
  baseLength: number,
  checked: boolean,
  check: () => number,
): void {
  out.byte(checked ? FORMAT_VERSION : UNCHECKED_FORMAT_VERSION);
  out.varint(baseLength);
  if (checked) out.u32(check());
}
/** Largest target a delta may rebuild (64 MiB): bounds what a hostile delta can make us allocate. */
const MAX_TARGET_BYTES = 64 * 1024 * 1024;

const OP_ADD = 0;
const OP_COPY = 1;
const OP_COPY_AT = 2;

/** Bytes per hashed window of the base index (the shortest match the index can find). */
const WINDOW = 4;
/** Most earlier positions with the same window hash that a lookup compares. */
const MAX_CHAIN = 8;
/** A match at least this long is taken at once, without looking for a longer one. */
const GOOD_MATCH = 64;

// ---------------------------------------------------------------------------------------------
// Check word: xxHash32 (Yann Collet), in plain JavaScript so that it needs no asynchronous setup.

const P1 = 0x9e3779b1;
const P2 = 0x85ebca77;
const P3 = 0xc2b2ae3d;
const P4 = 0x27d4eb2f;
const P5 = 0x165667b1;

function rotl(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}

function u32At(b: Uint8Array, i: number): number {
  return b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24);
}

function round(acc: number, lane: number): number {
  return Math.imul(rotl((acc + Math.imul(lane, P2)) | 0, 13), P1);
}

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

/**
 * xxHash32 of `bytes` with `seed`, as an unsigned 32-bit integer: the same value as
 * `xxhash-wasm`'s `h32Raw(bytes, seed)`, computed without WebAssembly so that it needs no
 * asynchronous setup (about 0.3 µs per KB). Exported for tests.
 */
export function xxh32(bytes: Uint8Array, seed = 0): number {
  // DataView reads little-endian words whatever the platform, and faster than four byte loads.
  const d = view(bytes);
  const n = bytes.length;
  let i = 0;
  let h: number;
  if (n >= 16) {
    let v1 = (seed + P1 + P2) | 0;
    let v2 = (seed + P2) | 0;
    let v3 = seed | 0;
    let v4 = (seed - P1) | 0;
    for (; i <= n - 16; i += 16) {
      v1 = round(v1, d.getInt32(i, true));
      v2 = round(v2, d.getInt32(i + 4, true));
      v3 = round(v3, d.getInt32(i + 8, true));
      v4 = round(v4, d.getInt32(i + 12, true));
    }
    h = (rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18)) | 0;
  } else {
    h = (seed + P5) | 0;
  }
  h = (h + n) | 0;
  for (; i <= n - 4; i += 4) {
    h = Math.imul(rotl((h + Math.imul(d.getInt32(i, true), P3)) | 0, 17), P4);
  }
  for (; i < n; i++) h = Math.imul(rotl((h + Math.imul(bytes[i], P5)) | 0, 11), P1);
  h = Math.imul(h ^ (h >>> 15), P2);
  h = Math.imul(h ^ (h >>> 13), P3);
  return (h ^ (h >>> 16)) >>> 0;
}

/** The delta's check word: xxh32 of the target seeded with xxh32 of the base, so both count. */
function checkWord(base: Uint8Array, target: Uint8Array): number {
  return xxh32(target, xxh32(base));
}

// ---------------------------------------------------------------------------------------------
// Encoding

/** A growable byte buffer. */
class ByteWriter {
  private buf: Uint8Array;
  length = 0;

  constructor(capacity: number) {
    this.buf = new Uint8Array(Math.max(16, capacity));
  }

  private reserve(extra: number): void {
    if (this.length + extra <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.length + extra));
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }

  byte(b: number): void {
    this.reserve(1);
    this.buf[this.length++] = b;
  }

  /** Unsigned LEB128, for integers 0..2^35-1. */
  varint(v: number): void {
    this.reserve(5);
    while (v > 0x7f) {
      this.buf[this.length++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.length++] = v;
  }

  u32(v: number): void {
    this.reserve(4);
    for (let k = 0; k < 4; k++) this.buf[this.length++] = (v >>> (8 * k)) & 0xff;
  }

  bytes(src: Uint8Array, start: number, end: number): void {
    this.reserve(end - start);
    this.buf.set(src.subarray(start, end), this.length);
    this.length += end - start;
  }

  result(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

function varintLength(v: number): number {
  let n = 1;
  while (v > 0x7f) {
    v = Math.floor(v / 0x80);
    n++;
  }
  return n;
}

function zigzag(d: number): number {
  return d >= 0 ? 2 * d : -2 * d - 1;
}

/** Length of the common run of `a` from `i` and `b` from `j`, at most `max`. */
function runLength(a: Uint8Array, i: number, b: Uint8Array, j: number, max: number): number {
  let k = 0;
  while (k < max && a[i + k] === b[j + k]) k++;
  return k;
}

/**
 * Writes the op list. The cursor is where the base would continue if the bytes written so far had
 * overwritten base bytes one for one, so that an in-place change needs no address at all.
 */
class OpWriter {
  cursor = 0;
  constructor(
    private readonly out: ByteWriter,
    private readonly baseLength: number,
  ) {}

  add(target: Uint8Array, start: number, end: number): void {
    if (end <= start) return;
    this.out.varint((end - start) * 4 + OP_ADD);
    this.out.bytes(target, start, end);
    this.cursor += end - start;
  }

  /** Bytes a copy of `length` bytes from `from` takes when the cursor is at `cursor`. */
  cost(from: number, length: number, cursor: number): number {
    const n = from + length === this.baseLength ? 0 : length;
    if (from === cursor) return varintLength(n * 4 + OP_COPY);
    return varintLength(n * 4 + OP_COPY_AT) + varintLength(zigzag(from - cursor));
  }

  copy(from: number, length: number): void {
    // Length 0 stands for "to the end of the base": a common suffix then costs one byte.
    const n = from + length === this.baseLength ? 0 : length;
    if (from === this.cursor) {
      this.out.varint(n * 4 + OP_COPY);
    } else {
      this.out.varint(n * 4 + OP_COPY_AT);
      this.out.varint(zigzag(from - this.cursor));
    }
    this.cursor = from + length;
  }
}

/** @throws ConcordError `BAD_STATE` when a delta target exceeds 64 MiB. */
function checkTargetSize(target: Uint8Array): void {
  if (target.length > MAX_TARGET_BYTES) {
    throw new ConcordError(
      'BAD_STATE',
      `a state delta target may be at most ${MAX_TARGET_BYTES} bytes, got ${target.length}`,
    );
  }
}

/**
 * Computes the delta that turns `base` into `target`, both canonical state encodings (or any
 * bytes): {@link applyStateDelta}`(base, createStateDelta(base, target))` equals `target` byte
 * for byte. Deterministic: the same inputs give the same delta.
 *
 * The delta is a list of COPY (a run of the base) and ADD (literal bytes) ops in the manner of
 * VCDIFF (RFC 3284), found as follows: the common prefix and suffix are copied outright; in
 * between, copies are found greedily, first at the position an in-place overwrite would
 * continue from, then through a hash index of every 4-byte window of the base's changed region
 * (hash chains as in DEFLATE's LZ77 matcher, RFC 1951), each match extended both ways. Lengths
 * and addresses are varints, so a one-field change of a small state costs about a dozen bytes
 * (7 of them the header). Time is linear in the sizes for ordinary states (bounded chain walks).
 *
 * @param base the state both sides hold, in bytes.
 * @param target the state to send, in bytes; at most 64 MiB.
 * @param options `checked: false` makes an unchecked delta (format version 2, 4 bytes shorter,
 * no check word): the receiver MUST then verify the rebuilt state's hash itself (see
 * {@link StateDeltaOptions}). Default: checked (format version 1).
 * @returns the encoded delta: format version (1 byte), base length (varint), for a checked delta
 * a 32-bit check word (xxHash32 of the target seeded with xxHash32 of the base, little-endian),
 * then the ops. It may be longer than `target` when the two have little in common;
 * {@link makeStateTransfer} then sends the full state instead.
 * @throws ConcordError `BAD_STATE` when `target` is longer than 64 MiB.
 */
export function createStateDelta(
  base: Uint8Array,
  target: Uint8Array,
  options: StateDeltaOptions = {},
): Uint8Array {
  checkTargetSize(target);
  const bn = base.length;
  const tn = target.length;
  const out = new ByteWriter(64);
  writeHeader(out, bn, options.checked ?? true, () => checkWord(base, target));
  const ops = new OpWriter(out, bn);

  const [prefix, suffix] = commonEnds(base, target);
  if (prefix > 0) ops.copy(0, prefix);
  encodeMiddle(base, prefix, bn - suffix, target, prefix, tn - suffix, ops);
  if (suffix > 0) ops.copy(bn - suffix, suffix);
  return out.result();
}

/** Lengths of the common prefix and of the common suffix that does not overlap it. */
function commonEnds(a: Uint8Array, b: Uint8Array): [number, number] {
  const n = Math.min(a.length, b.length);
  // Four bytes at a time first: these runs are most of a small change to a large state.
  const da = view(a);
  const db = view(b);
  let prefix = 0;
  while (prefix + 4 <= n && da.getInt32(prefix) === db.getInt32(prefix)) prefix += 4;
  while (prefix < n && a[prefix] === b[prefix]) prefix++;
  const max = n - prefix;
  let suffix = 0;
  while (
    suffix + 4 <= max &&
    da.getInt32(a.length - suffix - 4) === db.getInt32(b.length - suffix - 4)
  ) {
    suffix += 4;
  }
  while (suffix < max && a[a.length - 1 - suffix] === b[b.length - 1 - suffix]) suffix++;
  return [prefix, suffix];
}

/** Encodes `target[tStart, tEnd)` as ops, copying from anywhere in `base`, indexing `base[bStart, bEnd)`. */
function encodeMiddle(
  base: Uint8Array,
  bStart: number,
  bEnd: number,
  target: Uint8Array,
  tStart: number,
  tEnd: number,
  ops: OpWriter,
): void {
  if (tEnd <= tStart) return;
  const bn = base.length;
  const windows = bEnd - bStart - WINDOW + 1;
  let bits = 8;
  while (bits < 20 && 1 << bits < windows) bits++;
  const shift = 32 - bits;
  // head[h]: the last indexed position whose window hashes to h; prev[i - bStart]: the one before.
  const head = new Int32Array(1 << bits).fill(-1);
  const prev = new Int32Array(Math.max(0, windows));
  for (let i = 0; i < windows; i++) {
    const h = Math.imul(u32At(base, bStart + i), P1) >>> shift;
    prev[i] = head[h];
    head[h] = bStart + i;
  }

  let literal = tStart; // start of the pending literal run
  let t = tStart;
  while (t < tEnd) {
    const room = tEnd - t;
    // The base position an in-place overwrite would continue from.
    const expected = ops.cursor + (t - literal);
    let bestAt = t; // where the best match starts in the target (before t when extended back)
    let bestFrom = -1;
    let bestLength = 0;
    let bestGain = 0;
    if (expected < bn) {
      const length = runLength(base, expected, target, t, Math.min(room, bn - expected));
      if (length > 0) {
        bestFrom = expected;
        bestLength = length;
        bestGain = length - ops.cost(expected, length, expected);
      }
    }
    if (bestLength < GOOD_MATCH && room >= WINDOW && windows > 0) {
      let c = head[Math.imul(u32At(target, t), P1) >>> shift];
      for (let steps = 0; c >= 0 && steps < MAX_CHAIN; steps++, c = prev[c - bStart]) {
        if (c === expected) continue;
        const forward = runLength(base, c, target, t, Math.min(room, bn - c));
        if (forward < WINDOW) continue;
        let back = 0;
        while (t - back > literal && c - back > 0 && base[c - back - 1] === target[t - back - 1]) {
          back++;
        }
        const at = t - back;
        const from = c - back;
        const length = forward + back;
        const gain = length - ops.cost(from, length, ops.cursor + (at - literal));
        if (gain > bestGain) {
          bestAt = at;
          bestFrom = from;
          bestLength = length;
          bestGain = gain;
          if (length >= GOOD_MATCH) break;
        }
      }
    }
    // A copy must pay for its own op and for the ADD op that restarts the literals after it.
    if (bestGain >= 2) {
      ops.add(target, literal, bestAt);
      ops.copy(bestFrom, bestLength);
      t = bestAt + bestLength;
      literal = t;
    } else {
      t++;
    }
  }
  ops.add(target, literal, tEnd);
}

// ---------------------------------------------------------------------------------------------
// Decoding

function bad(message: string, what = 'state delta'): never {
  throw new ConcordError('BAD_STATE', `${what}: ${message}`);
}

/** Reads delta (or signature) bytes; every read past the end is a malformed delta. */
class DeltaReader {
  pos = 0;
  constructor(
    readonly bytes: Uint8Array,
    private readonly what = 'state delta',
  ) {}

  get done(): boolean {
    return this.pos >= this.bytes.length;
  }

  byte(): number {
    if (this.pos >= this.bytes.length) bad('truncated', this.what);
    return this.bytes[this.pos++];
  }

  /** Unsigned LEB128 of at most 5 bytes (values up to 2^35-1). */
  varint(): number {
    let value = 0;
    let scale = 1;
    for (let k = 0; k < 5; k++) {
      const b = this.byte();
      value += (b & 0x7f) * scale;
      if (b < 0x80) return value;
      scale *= 0x80;
    }
    return bad('varint longer than 5 bytes', this.what);
  }

  u32(): number {
    let v = 0;
    for (let k = 0; k < 4; k++) v += this.byte() * 2 ** (8 * k);
    return v;
  }
}

/**
 * Rebuilds the target of a delta made by {@link createStateDelta} from the base it was made
 * against. The result is a new array, byte for byte the delta's target. The base's length and
 * the ops' bounds are always verified first; for a checked delta (format version 1, the default)
 * so is the check word (covering base and target, so a wrong base or a damaged delta fails with
 * probability 1 - 2^-32 per attempt).
 *
 * WARNING, unchecked deltas (format version 2, `createStateDelta(…, { checked: false })`): they
 * carry no check word, so applied to a wrong base of the right length, or damaged in a way that
 * stays well-formed, they return WRONG BYTES without any error. The caller MUST verify the
 * result against the sender's state hash (as the resync path does with `stateHash`) before using
 * it. Malformed ones are still `BAD_STATE`.
 *
 * @param base the state the delta was made against, in bytes.
 * @param delta the encoded delta.
 * @param options `allowUnchecked`: accept an unchecked delta (format 2, no check word); only for
 * a caller that verifies the result's state hash itself. Default false: format 2 is `BAD_STATE`.
 * @returns the target state bytes (a fresh array, at most 64 MiB).
 * @throws ConcordError `BAD_STATE` when the delta is malformed (unknown version, truncated,
 * an op out of the base's or the delta's bounds, a target over 64 MiB), was made against a base
 * of another length, or, for a checked delta, the rebuilt bytes fail the check word (another base
 * of the same length, or a damaged delta).
 */
export function applyStateDelta(
  base: Uint8Array,
  delta: Uint8Array,
  options: { readonly allowUnchecked?: boolean } = {},
): Uint8Array {
  const r = new DeltaReader(delta);
  const version = r.byte();
  if (version === UNCHECKED_FORMAT_VERSION && options.allowUnchecked !== true) {
    // Only a caller that verifies the result itself may take a delta without its check word, so
    // that damage turning a checked delta's version byte into 2 cannot pass unnoticed.
    bad('an unchecked delta (format 2) where a checked one was expected');
  }
  if (version !== FORMAT_VERSION && version !== UNCHECKED_FORMAT_VERSION) {
    bad(`unknown format version ${version}`);
  }
  const checked = version === FORMAT_VERSION;
  const baseLength = r.varint();
  if (baseLength !== base.length) {
    bad(`made against a base of ${baseLength} bytes, this base has ${base.length}`);
  }
  const check = checked ? r.u32() : 0;

  // First pass: check every op and size the result; `ops` holds [kind, position, length] triples,
  // the position being in the delta for ADD and in the base for COPY.
  const ops: number[] = [];
  let cursor = 0;
  let total = 0;
  while (!r.done) {
    const header = r.varint();
    const kind = header % 4;
    let n = Math.floor(header / 4);
    if (kind === OP_ADD) {
      if (n === 0) bad('empty ADD');
      if (n > delta.length - r.pos) bad('ADD runs past the end of the delta');
      ops.push(OP_ADD, r.pos, n);
      r.pos += n;
      cursor += n;
    } else if (kind === OP_COPY || kind === OP_COPY_AT) {
      let from = cursor;
      if (kind === OP_COPY_AT) {
        const z = r.varint();
        if (z === 0) bad('COPY_AT with no displacement');
        from += z % 2 === 0 ? z / 2 : -(z + 1) / 2;
      }
      if (from < 0 || from >= base.length) bad(`COPY from ${from}, outside the base`);
      if (n === 0) n = base.length - from;
      else if (n > base.length - from) bad(`COPY of ${n} bytes from ${from} runs past the base`);
      ops.push(OP_COPY, from, n);
      cursor = from + n;
    } else {
      bad(`unknown op kind ${kind}`);
    }
    total += n;
    if (total > MAX_TARGET_BYTES) bad(`target over ${MAX_TARGET_BYTES} bytes`);
  }

  const target = new Uint8Array(total);
  let at = 0;
  for (let k = 0; k < ops.length; k += 3) {
    const from = ops[k + 1];
    const n = ops[k + 2];
    target.set(
      ops[k] === OP_ADD ? delta.subarray(from, from + n) : base.subarray(from, from + n),
      at,
    );
    at += n;
  }
  if (checked && checkWord(base, target) !== check) {
    bad('the rebuilt state fails the check word: another base, or a damaged delta');
  }
  return target;
}

// ---------------------------------------------------------------------------------------------
// Signatures: a delta against a state that only the receiver holds (rsync)

/** Version of the signature format, the signature's first byte. */
const SIGNATURE_VERSION = 1;
/** Smallest block a signature describes. */
const MIN_BLOCK = 8;
/** Most blocks a signature describes, 4 bytes each: a signature is at most 4 KiB + 12 bytes. */
const MAX_SIGNATURE_BLOCKS = 1024;
/** Most blocks with the same rolling key that one lookup considers. */
const MAX_BLOCK_CHAIN = 16;
/** Multiplier of the rolling polynomial hash (odd, so that it is invertible mod 2^32). */
const ROLL_M = P1;

/** MurmurHash3's 32-bit finaliser: spreads every input bit over the whole word. */
function fmix32(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** The polynomial hash Σ b[start + i]·M^(n-1-i) mod 2^32 of `b[start, start + n)`. */
function poly(b: Uint8Array, start: number, n: number): number {
  let h = 0;
  for (let i = start; i < start + n; i++) h = (Math.imul(h, ROLL_M) + b[i]) | 0;
  return h;
}

/** M^e mod 2^32. */
function powM(e: number): number {
  let r = 1;
  let x = ROLL_M;
  for (; e > 0; e = Math.floor(e / 2)) {
    if (e % 2 === 1) r = Math.imul(r, x);
    x = Math.imul(x, x);
  }
  return r;
}

/** The rolling half of a block's word: the top 16 bits of the mixed polynomial hash. */
function rollingKey(h: number): number {
  return fmix32(h) >>> 16;
}

/** The strong half of a block's word: the low 16 bits of its xxHash32. */
function strongKey(b: Uint8Array, start: number, n: number): number {
  return xxh32(b.subarray(start, start + n)) & 0xffff;
}

/** A block's 32-bit signature word: rolling key (high half), strong key (low half). */
function blockWord(b: Uint8Array, start: number, n: number): number {
  return ((rollingKey(poly(b, start, n)) << 16) | strongKey(b, start, n)) >>> 0;
}

/** The block size {@link createStateSignature} uses for a base of `n` bytes. */
function signatureBlockSize(n: number): number {
  return MIN_BLOCK * Math.max(1, Math.ceil(n / (MIN_BLOCK * MAX_SIGNATURE_BLOCKS)));
}

/**
 * A compact description of a state the receiver holds, so a sender can build a delta against it
 * without having it: the rsync algorithm's block hashes (Tridgell and Mackerras, 1996). Send
 * it to the side that holds the state you need; it answers with
 * {@link createStateDeltaFromSignature}, and {@link applyStateDelta} against `base` rebuilds
 * its state.
 *
 * A state of at most {@link LITERAL_SIGNATURE_MAX} bytes is its own signature (format version 2:
 * the version byte, then the state): block hashes would be half its size, and the delta against
 * it is then exact (a one-field change of duel costs 12–13 bytes). Larger states get blocks of
 * 8 bytes up to 8 KiB, growing with the state (8·⌈n / 8192⌉ bytes), so there are at most 1024
 * of them: the signature is 8 + 4·⌈n / 8⌉ bytes up to 8 KiB, and at most 4 KiB + 12 bytes for
 * any state (64 MiB at most). Deterministic.
 *
 * @param base the state this side holds, in bytes; at most 64 MiB.
 * @returns the signature: for a small state, version 2 and the state itself; otherwise format
 * version 1 (1 byte), base length (varint), xxHash32 of the base (4 bytes, little-endian), block
 * size (varint), then one 32-bit word per block (little-endian).
 * @throws ConcordError `BAD_STATE` when `base` is longer than 64 MiB.
 */
export function createStateSignature(base: Uint8Array): Uint8Array {
  if (base.length <= LITERAL_SIGNATURE_MAX) {
    // Block hashes of a small state would be half its size: send the state, get an exact delta.
    const out = new Uint8Array(1 + base.length);
    out[0] = LITERAL_SIGNATURE_VERSION;
    out.set(base, 1);
    return out;
  }
  return stateSignatureWithBlockSize(base, signatureBlockSize(base.length));
}

/** Largest state whose signature is the state itself (format version 2). */
export const LITERAL_SIGNATURE_MAX = 1024;
/** Version byte of a literal signature: the rest of the signature is the base itself. */
const LITERAL_SIGNATURE_VERSION = 2;

/**
 * {@link createStateSignature} with a given block size (at least 1, at most 1024 blocks).
 * Exported for tests: any such signature is valid input to {@link createStateDeltaFromSignature}.
 */
export function stateSignatureWithBlockSize(base: Uint8Array, blockSize: number): Uint8Array {
  if (base.length > MAX_TARGET_BYTES) {
    throw new ConcordError(
      'BAD_STATE',
      `a state signature may describe at most ${MAX_TARGET_BYTES} bytes, got ${base.length}`,
    );
  }
  const blocks = Math.ceil(base.length / blockSize);
  if (!Number.isInteger(blockSize) || blockSize < 1 || blocks > MAX_SIGNATURE_BLOCKS) {
    throw new ConcordError('BAD_STATE', `state signature: block size ${blockSize} out of range`);
  }
  const out = new ByteWriter(16 + 4 * blocks);
  out.byte(SIGNATURE_VERSION);
  out.varint(base.length);
  out.u32(xxh32(base));
  out.varint(blockSize);
  for (let at = 0; at < base.length; at += blockSize) {
    out.u32(blockWord(base, at, Math.min(blockSize, base.length - at)));
  }
  return out.result();
}

interface Signature {
  readonly baseLength: number;
  readonly baseHash: number;
  readonly blockSize: number;
  readonly words: Uint32Array;
}

/** Parses and checks a signature; anything malformed is `BAD_STATE`. */
function readSignature(signature: Uint8Array): Signature {
  const what = 'state signature';
  const r = new DeltaReader(signature, what);
  const version = r.byte();
  if (version !== SIGNATURE_VERSION) bad(`unknown format version ${version}`, what);
  const baseLength = r.varint();
  if (baseLength > MAX_TARGET_BYTES) bad(`base of ${baseLength} bytes, over 64 MiB`, what);
  const baseHash = r.u32();
  const blockSize = r.varint();
  if (blockSize < 1 || blockSize > MAX_TARGET_BYTES) bad(`block size ${blockSize}`, what);
  const blocks = Math.ceil(baseLength / blockSize);
  if (blocks > MAX_SIGNATURE_BLOCKS) bad(`${blocks} blocks, over ${MAX_SIGNATURE_BLOCKS}`, what);
  const rest = signature.length - r.pos;
  if (rest !== 4 * blocks) bad(`${blocks} blocks need ${4 * blocks} bytes, got ${rest}`, what);
  const d = view(signature);
  const words = new Uint32Array(blocks);
  for (let k = 0; k < blocks; k++) words[k] = d.getUint32(r.pos + 4 * k, true);
  return { baseLength, baseHash, blockSize, words };
}

/** The polynomial hash of the `n`-byte window of `b` at a moving position, rolled on when it can be. */
class Roller {
  private at = -1;
  private h = 0;
  private readonly top: number;

  constructor(
    private readonly b: Uint8Array,
    private readonly n: number,
  ) {
    this.top = powM(n - 1);
  }

  /** The hash of `b[pos, pos + n)`, which must lie inside `b`. */
  hashAt(pos: number): number {
    if (this.at >= 0 && pos === this.at + 1) {
      const out = Math.imul(this.b[this.at], this.top);
      this.h = (Math.imul((this.h - out) | 0, ROLL_M) + this.b[pos + this.n - 1]) | 0;
    } else if (pos !== this.at) {
      this.h = poly(this.b, pos, this.n);
    }
    this.at = pos;
    return this.h;
  }
}

/**
 * Computes a delta that turns the state described by `signature` (made by
 * {@link createStateSignature}) into `target`, without the state itself: the delta is in the
 * ordinary {@link createStateDelta} format, so {@link applyStateDelta}`(base, delta)` rebuilds
 * `target` byte for byte when `base` is the state the signature was made of. Deterministic.
 *
 * The target is scanned as in rsync: at each position it first tries the base block an in-place
 * overwrite would continue with (so an unchanged block after a changed one costs nothing more
 * than a merged copy), then any base block whose rolling key matches the target's window there
 * (a polynomial hash rolled one byte at a time, so a block moved by an insertion or deletion is
 * still found), verified by the strong half of its word and, away from the cursor, also by the
 * base's next block matching right after it. Matched blocks become COPY ops (adjacent ones
 * merged), the rest ADD ops. Only whole blocks are copied: a change costs its block(s) in
 * literals. A hash collision can only produce a delta that {@link applyStateDelta} refuses (its
 * check word covers base and target), never wrong bytes; with `checked: false` it is caught only
 * by the receiver's own state-hash check, which it MUST then make.
 *
 * A literal signature (version 2, made for a state of at most {@link LITERAL_SIGNATURE_MAX}
 * bytes) carries the base itself: the delta is then exactly {@link createStateDelta}`(base,
 * target)`. A damaged one describes another base, so its delta fails the check word on the real
 * base (`BAD_STATE`).
 *
 * @param signature the receiver's signature of its state.
 * @param target the state to send, in bytes; at most 64 MiB.
 * @param options `checked: false` makes an unchecked delta (format version 2, no check word), as
 * for {@link createStateDelta}: the receiver MUST verify the rebuilt state's hash itself.
 * @returns the encoded delta, as {@link createStateDelta}'s. It may be longer than `target`.
 * @throws ConcordError `BAD_STATE` when the signature is malformed (unknown version, truncated,
 * a block size or block count out of range, hashes missing or left over, a literal signature
 * over {@link LITERAL_SIGNATURE_MAX} bytes of base) or `target` is longer than 64 MiB.
 */
export function createStateDeltaFromSignature(
  signature: Uint8Array,
  target: Uint8Array,
  options: StateDeltaOptions = {},
): Uint8Array {
  if (signature.length > 0 && signature[0] === LITERAL_SIGNATURE_VERSION) {
    // A literal signature: the base itself, so the delta is the exact one. Bounded like a block
    // signature's hashes, so a peer cannot make the host diff against an arbitrary large base.
    const n = signature.length - 1;
    if (n > LITERAL_SIGNATURE_MAX) {
      bad(`literal signature of ${n} bytes, over ${LITERAL_SIGNATURE_MAX}`, 'state signature');
    }
    return createStateDelta(signature.subarray(1), target, options);
  }
  const { baseLength: bn, baseHash, blockSize: bs, words } = readSignature(signature);
  checkTargetSize(target);
  const tn = target.length;
  const nb = words.length;
  const out = new ByteWriter(64);
  writeHeader(out, bn, options.checked ?? true, () => xxh32(target, baseHash));
  const ops = new OpWriter(out, bn);

  const lastLength = nb === 0 ? 0 : bn - (nb - 1) * bs;
  const blockLength = (k: number): number => (k === nb - 1 ? lastLength : bs);
  // Index of the full-size blocks by their rolling key (the last block may be shorter).
  const full = lastLength === bs ? nb : nb - 1;
  let bits = 1;
  while (1 << bits < 2 * full) bits++;
  const mask = (1 << bits) - 1;
  const head = new Int32Array(1 << bits).fill(-1);
  const next = new Int32Array(Math.max(0, full));
  for (let k = full - 1; k >= 0; k--) {
    const slot = (words[k] >>> 16) & mask;
    next[k] = head[slot];
    head[slot] = k;
  }
  /** Whether block `k` of the base matches the target at `at` (strong half first: cheaper to miss). */
  const matches = (k: number, at: number): boolean => {
    const n = blockLength(k);
    if (at + n > tn) return false;
    const w = words[k];
    return (
      strongKey(target, at, n) === (w & 0xffff) && rollingKey(poly(target, at, n)) === w >>> 16
    );
  };

  const here = new Roller(target, bs);
  const after = new Roller(target, bs); // the window one block on, to confirm a candidate
  let pendingFrom = 0; // a copy not written yet, so that the next one can extend it
  let pendingLength = 0;
  let literal = 0; // start of the pending literal run
  let t = 0;
  while (t < tn) {
    const cursor = pendingLength > 0 ? pendingFrom + pendingLength : ops.cursor;
    const expected = cursor + (t - literal);
    // A copy from `cursor` right after the pending one extends it; any other must pay for its op
    // and for the ADD op that restarts the literals after it.
    const extending = pendingLength > 0 && literal === t;
    let found = -1;
    // 1. The block an in-place overwrite continues with.
    if (expected < bn && expected % bs === 0) {
      const k = expected / bs;
      const n = blockLength(k);
      if (matches(k, t) && (extending || n - ops.cost(expected, n, expected) >= 2)) found = k;
    }
    // 2. A short last block of the base, at the end of the target.
    if (found < 0 && lastLength < bs && t + lastLength === tn && expected !== bn - lastLength) {
      const from = bn - lastLength;
      if (matches(nb - 1, t) && lastLength - ops.cost(from, lastLength, expected) >= 2) {
        found = nb - 1;
      }
    }
    // 3. Any full-size block, by the rolling key of the target's window here.
    if (found < 0 && full > 0 && t + bs <= tn) {
      const key = rollingKey(here.hashAt(t));
      // Rolled along at every position, so that confirming a candidate costs O(1), not O(b).
      const nextHash = t + 2 * bs <= tn ? after.hashAt(t + bs) : 0;
      let strong = -1;
      let bestCost = Number.POSITIVE_INFINITY;
      let c = head[key & mask];
      for (let steps = 0; c >= 0 && steps < MAX_BLOCK_CHAIN; steps++, c = next[c]) {
        const w = words[c];
        if (w >>> 16 !== key || c * bs === expected) continue;
        // Away from the cursor, the next base block must follow: 32 more bits of evidence.
        const n2 = c + 1 < nb ? blockLength(c + 1) : 0;
        if (n2 > 0 && t + bs + n2 <= tn) {
          const w2 = words[c + 1];
          const h2 = n2 === bs ? nextHash : poly(target, t + bs, n2);
          if (rollingKey(h2) !== w2 >>> 16 || strongKey(target, t + bs, n2) !== (w2 & 0xffff)) {
            continue;
          }
        }
        if (strong < 0) strong = strongKey(target, t, bs);
        if (strong !== (w & 0xffff)) continue;
        const cost = ops.cost(c * bs, bs, expected);
        if (cost < bestCost && bs - cost >= 2) {
          bestCost = cost;
          found = c;
        }
      }
    }
    if (found < 0) {
      t++;
      continue;
    }
    const from = found * bs;
    const n = blockLength(found);
    if (extending && from === cursor) {
      pendingLength += n;
    } else {
      if (pendingLength > 0) ops.copy(pendingFrom, pendingLength);
      ops.add(target, literal, t);
      pendingFrom = from;
      pendingLength = n;
    }
    t += n;
    literal = t;
  }
  if (pendingLength > 0) ops.copy(pendingFrom, pendingLength);
  ops.add(target, literal, tn);
  return out.result();
}

// ---------------------------------------------------------------------------------------------
// Transfers

/**
 * Packs the state to send for resync, a rejoin or a late joiner: a delta against `base`
 * when one is given and its delta is strictly shorter than the full state, else the full state
 * (also for a target over 64 MiB, which a delta cannot carry).
 * The choice is visible in `kind`, never made silently on the receiving side.
 *
 * @param target the canonical state encoding to send. A `full` transfer holds this very array
 * (not a copy): do not mutate it afterwards.
 * @param base the state both sides hold: its frame, its state hash (as from `stateHash`) and its
 * canonical bytes. Omit it when the receiver holds no agreed state (a late joiner).
 */
export function makeStateTransfer(
  target: Uint8Array,
  base?: { readonly frame: Frame; readonly hash: string; readonly bytes: Uint8Array },
): StateTransfer {
  if (base !== undefined && target.length <= MAX_TARGET_BYTES) {
    const bytes = createStateDelta(base.bytes, target);
    if (bytes.length < target.length) {
      return { kind: 'delta', baseFrame: base.frame, baseHash: base.hash, bytes };
    }
  }
  return { kind: 'full', bytes: target };
}

/**
 * Turns a {@link StateTransfer} back into the canonical state bytes. A `full` transfer returns
 * its bytes as they are (decode them with the sim, which validates them); a `delta` one looks up
 * its base and applies the delta with {@link applyStateDelta}.
 *
 * On either error, the caller asks the sender for the full state.
 *
 * @param t the transfer received.
 * @param baseBytes returns the canonical bytes of the state this side holds for a frame, or null
 * when it holds none. It also receives the transfer's `baseHash`, so a store that keys states by
 * hash can answer null for a frame whose state it holds with another hash.
 * @throws ConcordError `SNAPSHOT_MISSING` (with `frame` set to the base frame) when `baseBytes`
 * returns null; `BAD_STATE` when the delta is malformed or does not fit the base returned.
 */
export function resolveStateTransfer(
  t: StateTransfer,
  baseBytes: (frame: Frame, hash: string) => Uint8Array | null,
): Uint8Array {
  if (t.kind === 'full') return t.bytes;
  const base = baseBytes(t.baseFrame, t.baseHash);
  if (base === null) {
    throw new ConcordError(
      'SNAPSHOT_MISSING',
      `no state held for base frame ${t.baseFrame} (hash ${t.baseHash}); ask for the full state`,
      t.baseFrame,
    );
  }
  return applyStateDelta(base, t.bytes);
}
