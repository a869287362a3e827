/**
 * The binary codec of input datagrams: what travels on a peer's unordered, unreliable WebRTC
 * DataChannel to the relay (`ordered: false, maxRetransmits: 0`), and back.
 *
 * Every datagram stands alone: a peer's datagram repeats all of its inputs that the relay has not
 * acknowledged, and the relay's datagram carries the acknowledgement and, per player, a run of
 * inputs the peer lacks. A lost, duplicated or late datagram therefore holds nothing up; the next
 * one says everything again. This is GGPO's input redundancy (its UDP protocol resends every
 * unacknowledged input in each packet) and Photon Quantum's input redundancy setting.
 *
 * Layout, big-endian, no padding; frames are sim ticks in `0..MAX_FRAME`:
 *
 * ```
 * peer → relay (kind 1, "inputs"):
 *   u8 kind=1 | u32 currentFrame | u32 startFrame | u8 count (0..64) | count × 4 input bytes
 *   | u8 players (0..16) | players × i32 held[slot] (-1..MAX_FRAME)
 * relay → peer (kind 1, "inputs"):
 *   u8 kind=1 | i32 ack (-1..MAX_FRAME) | u8 runs (0..16)
 *   | runs × (u8 slot | u32 startFrame | u32 currentFrame | u8 count (1..64) | count × 4 bytes)
 * ```
 *
 * Decoders check the length against the direction's limit before reading anything, then the
 * kind, then that the length is exactly what the counts say, then every field's range; they throw
 * nothing but {@link ProtocolError}. Encoders check the same, so an invalid datagram never leaves.
 */
import { describeValue, ProtocolError } from './errors.ts';
import { INPUT_BYTES, MAX_FRAME, MAX_PLAYERS } from './limits.ts';

/**
 * Most inputs of one player in one datagram: the bound of the sender's redundancy window, in
 * frames. A peer never runs more than its prediction window (at most 60 frames, see
 * `SceneSettings.maxPredictionWindow`) ahead of the inputs the relay confirmed, so 64 covers it.
 */
export const MAX_DATAGRAM_INPUTS = 64;

/** Kind code of the input datagram, in both directions (the first byte). */
export const DATAGRAM_INPUTS_CODE = 1;

const CLIENT_HEADER_BYTES = 1 + 4 + 4 + 1;
const SERVER_HEADER_BYTES = 1 + 4 + 1;
const RUN_HEADER_BYTES = 1 + 4 + 4 + 1;

/**
 * Largest peer → relay datagram in bytes: a full window of 64 inputs and the held frame of all
 * 16 slots (331 bytes). Longer byte strings are refused with `OVERSIZE` before decoding.
 */
export const MAX_CLIENT_DATAGRAM_BYTES =
  CLIENT_HEADER_BYTES + MAX_DATAGRAM_INPUTS * INPUT_BYTES + 1 + MAX_PLAYERS * 4;

/**
 * Largest relay → peer datagram in bytes. It keeps one datagram inside one unfragmented packet:
 * the IPv6 minimum MTU (1280) less UDP/IPv6 (48), a DTLS 1.2 AES-GCM record (about 37) and the
 * SCTP common and DATA chunk headers (28) leaves about 1167 bytes; 1100 leaves a margin. An SCTP
 * message split into fragments is lost when any fragment is, which is what redundancy avoids.
 * A relay with more to forward (many players, long runs) sends several datagrams; each stands
 * alone. {@link serverDatagramBytes} tells the size before encoding.
 */
export const MAX_SERVER_DATAGRAM_BYTES = 1100;

/**
 * A peer's datagram to the relay: its own inputs from `startFrame` (the first frame the relay has
 * not acknowledged) to the newest, and what it holds of the others.
 *
 * - `currentFrame`: the frame the sender showed when it sent (for time sync), `0..MAX_FRAME`.
 * - `startFrame`: the frame of `inputs[0]`; with no inputs, the next frame the sender will stamp.
 * - `inputs`: 0..{@link MAX_DATAGRAM_INPUTS} inputs of exactly {@link INPUT_BYTES} bytes, for
 *   frames `startFrame ..`; the last frame is at most `MAX_FRAME`.
 * - `held`: per slot `0..held.length-1` (at most 16), the highest frame of that player's inputs
 *   the sender holds contiguously, or -1 for none; the sender's own slot is ignored. The relay
 *   forwards from there on.
 *
 * The sender's slot and match are not in the datagram: the relay takes them from the socket.io
 * session that signalled the channel.
 */
export interface ClientDatagram {
  readonly kind: 'inputs';
  readonly currentFrame: number;
  readonly startFrame: number;
  readonly inputs: readonly Uint8Array[];
  readonly held: readonly number[];
}

/**
 * A run of one player's inputs in a {@link ServerDatagram}: `inputs` (1..64, 4 bytes each) for
 * frames `startFrame ..`, of player `slot` (0..15), sent while that player showed `currentFrame`.
 */
export interface InputRun {
  readonly slot: number;
  readonly startFrame: number;
  readonly currentFrame: number;
  readonly inputs: readonly Uint8Array[];
}

/**
 * The relay's datagram to a peer.
 *
 * - `ack`: the highest frame up to which the relay holds every input of this peer
 *   (contiguously), or -1 for none; the peer stops repeating those.
 * - `runs`: 0..16 runs of other players' inputs the peer lacks, at most one per slot.
 */
export interface ServerDatagram {
  readonly kind: 'inputs';
  readonly ack: number;
  readonly runs: readonly InputRun[];
}

const KIND = 'inputs';

function bad(message: string): ProtocolError {
  return new ProtocolError('BAD_FIELD', message, KIND);
}

function checkInt(value: unknown, min: number, max: number, path: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw bad(`${path}: expected an integer in ${min}..${max}, got ${describeValue(value)}`);
  }
  return value;
}

function checkInputs(value: unknown, min: number, path: string): readonly Uint8Array[] {
  if (!Array.isArray(value) || value.length < min || value.length > MAX_DATAGRAM_INPUTS) {
    throw bad(
      `${path}: expected an array of ${min}..${MAX_DATAGRAM_INPUTS} inputs, got ${describeValue(value)}`,
    );
  }
  value.forEach((input, i) => {
    if (!(input instanceof Uint8Array) || input.length !== INPUT_BYTES) {
      throw bad(`${path}[${i}]: expected ${INPUT_BYTES} bytes, got ${describeValue(input)}`);
    }
  });
  return value;
}

function checkLastFrame(startFrame: number, count: number, path: string): void {
  if (count > 0 && startFrame + count - 1 > MAX_FRAME) {
    throw bad(`${path}: the last frame ${startFrame + count - 1} is above ${MAX_FRAME}`);
  }
}

/**
 * The encoded size of a relay datagram with these runs, in bytes (whatever their validity), so
 * that a relay can split what it forwards below {@link MAX_SERVER_DATAGRAM_BYTES}.
 */
export function serverDatagramBytes(runs: readonly Pick<InputRun, 'inputs'>[]): number {
  let n = SERVER_HEADER_BYTES;
  for (const run of runs) n += RUN_HEADER_BYTES + run.inputs.length * INPUT_BYTES;
  return n;
}

/**
 * Encodes a peer's datagram (layout in this module's comment): 10 + 4·inputs + 1 + 4·held bytes.
 *
 * @returns fresh bytes, at most {@link MAX_CLIENT_DATAGRAM_BYTES}.
 * @throws {@link ProtocolError} `BAD_FIELD` naming the first invalid field (nothing is encoded).
 */
export function encodeClientDatagram(d: ClientDatagram): Uint8Array {
  if (typeof d !== 'object' || d === null || d.kind !== KIND) {
    throw new ProtocolError('UNKNOWN_KIND', `expected an inputs datagram, got ${describeValue(d)}`);
  }
  const currentFrame = checkInt(d.currentFrame, 0, MAX_FRAME, 'inputs.currentFrame');
  const startFrame = checkInt(d.startFrame, 0, MAX_FRAME, 'inputs.startFrame');
  const inputs = checkInputs(d.inputs, 0, 'inputs.inputs');
  checkLastFrame(startFrame, inputs.length, 'inputs.inputs');
  const held = d.held;
  if (!Array.isArray(held) || held.length > MAX_PLAYERS) {
    throw bad(
      `inputs.held: expected an array of 0..${MAX_PLAYERS} frames, got ${describeValue(held)}`,
    );
  }
  held.forEach((f, i) => {
    checkInt(f, -1, MAX_FRAME, `inputs.held[${i}]`);
  });

  const out = new Uint8Array(
    CLIENT_HEADER_BYTES + inputs.length * INPUT_BYTES + 1 + held.length * 4,
  );
  const view = new DataView(out.buffer);
  view.setUint8(0, DATAGRAM_INPUTS_CODE);
  view.setUint32(1, currentFrame);
  view.setUint32(5, startFrame);
  view.setUint8(9, inputs.length);
  let p = CLIENT_HEADER_BYTES;
  for (const input of inputs) {
    out.set(input, p);
    p += INPUT_BYTES;
  }
  view.setUint8(p++, held.length);
  for (const f of held) {
    view.setInt32(p, f);
    p += 4;
  }
  return out;
}

/**
 * Encodes the relay's datagram (layout in this module's comment): 6 bytes plus 10 + 4·inputs per
 * run ({@link serverDatagramBytes}).
 *
 * @returns fresh bytes, at most {@link MAX_SERVER_DATAGRAM_BYTES}.
 * @throws {@link ProtocolError} `BAD_FIELD` naming the first invalid field (two runs of one slot
 *   included), `OVERSIZE` when the runs do not fit in {@link MAX_SERVER_DATAGRAM_BYTES}.
 */
export function encodeServerDatagram(d: ServerDatagram): Uint8Array {
  if (typeof d !== 'object' || d === null || d.kind !== KIND) {
    throw new ProtocolError('UNKNOWN_KIND', `expected an inputs datagram, got ${describeValue(d)}`);
  }
  const ack = checkInt(d.ack, -1, MAX_FRAME, 'inputs.ack');
  const runs = d.runs;
  if (!Array.isArray(runs) || runs.length > MAX_PLAYERS) {
    throw bad(
      `inputs.runs: expected an array of 0..${MAX_PLAYERS} runs, got ${describeValue(runs)}`,
    );
  }
  let slots = 0;
  runs.forEach((run: InputRun, i) => {
    const path = `inputs.runs[${i}]`;
    if (typeof run !== 'object' || run === null) {
      throw bad(`${path}: expected a run, got ${describeValue(run)}`);
    }
    const slot = checkInt(run.slot, 0, MAX_PLAYERS - 1, `${path}.slot`);
    if (slots & (1 << slot)) throw bad(`${path}.slot: a second run of slot ${slot}`);
    slots |= 1 << slot;
    const start = checkInt(run.startFrame, 0, MAX_FRAME, `${path}.startFrame`);
    checkInt(run.currentFrame, 0, MAX_FRAME, `${path}.currentFrame`);
    const inputs = checkInputs(run.inputs, 1, `${path}.inputs`);
    checkLastFrame(start, inputs.length, `${path}.inputs`);
  });
  const size = serverDatagramBytes(runs);
  if (size > MAX_SERVER_DATAGRAM_BYTES) {
    throw new ProtocolError(
      'OVERSIZE',
      `inputs: ${size} bytes is more than ${MAX_SERVER_DATAGRAM_BYTES}; split the runs`,
      KIND,
    );
  }

  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  view.setUint8(0, DATAGRAM_INPUTS_CODE);
  view.setInt32(1, ack);
  view.setUint8(5, runs.length);
  let p = SERVER_HEADER_BYTES;
  for (const run of runs) {
    view.setUint8(p, run.slot);
    view.setUint32(p + 1, run.startFrame);
    view.setUint32(p + 5, run.currentFrame);
    view.setUint8(p + 9, run.inputs.length);
    p += RUN_HEADER_BYTES;
    for (const input of run.inputs) {
      out.set(input, p);
      p += INPUT_BYTES;
    }
  }
  return out;
}

/** Checks type, emptiness, the size limit and the kind byte, in that order. */
function open(bytes: unknown, maxBytes: number, side: string): DataView {
  if (!(bytes instanceof Uint8Array)) {
    throw new ProtocolError(
      'MALFORMED',
      `expected a binary ${side} datagram, got ${describeValue(bytes)}`,
    );
  }
  if (bytes.length > maxBytes) {
    throw new ProtocolError(
      'OVERSIZE',
      `${side} datagram of ${bytes.length} bytes; at most ${maxBytes}`,
      KIND,
    );
  }
  if (bytes.length === 0) throw new ProtocolError('MALFORMED', `empty ${side} datagram`);
  if (bytes[0] !== DATAGRAM_INPUTS_CODE) {
    throw new ProtocolError('UNKNOWN_KIND', `unknown ${side} datagram kind ${bytes[0]}`);
  }
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
}

function truncated(side: string, need: number, got: number): ProtocolError {
  return new ProtocolError(
    'MALFORMED',
    `${side} datagram: expected at least ${need} bytes, got ${got}`,
    KIND,
  );
}

/** Copies `count` inputs out of `bytes` from `p` (never views into the received buffer). */
function readInputs(bytes: Uint8Array, p: number, count: number): Uint8Array[] {
  const inputs: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    inputs.push(bytes.slice(p + i * INPUT_BYTES, p + (i + 1) * INPUT_BYTES));
  }
  return inputs;
}

/**
 * Decodes and validates a peer's datagram: the relay's edge.
 *
 * @returns the datagram; its inputs are fresh copies, never views of `bytes`.
 * @throws {@link ProtocolError} and nothing else, for any argument: `MALFORMED` (not bytes,
 *   empty, truncated, trailing bytes), `OVERSIZE` (more than {@link MAX_CLIENT_DATAGRAM_BYTES},
 *   checked first), `UNKNOWN_KIND`, `BAD_FIELD` (a count or frame out of range, named).
 */
export function decodeClientDatagram(bytes: Uint8Array): ClientDatagram {
  // One set of checks for both edges: the forward path's zero-copy reader, then copies.
  const view = clientDatagramView();
  readClientDatagram(bytes, view);
  const held: number[] = [];
  for (let i = 0; i < view.players; i++) held.push(heldOf(bytes, view, i));
  return {
    kind: KIND,
    currentFrame: view.currentFrame,
    startFrame: view.startFrame,
    inputs: readInputs(bytes, view.inputsAt, view.count),
    held,
  };
}

/**
 * Decodes and validates the relay's datagram: the peer's edge.
 *
 * @returns the datagram; inputs are fresh copies.
 * @throws {@link ProtocolError} and nothing else: `MALFORMED`, `OVERSIZE` (more than
 *   {@link MAX_SERVER_DATAGRAM_BYTES}, checked first), `UNKNOWN_KIND`, `BAD_FIELD` (a range, a
 *   run of 0 inputs, two runs of one slot).
 */
export function decodeServerDatagram(bytes: Uint8Array): ServerDatagram {
  const view = open(bytes, MAX_SERVER_DATAGRAM_BYTES, 'server');
  if (bytes.length < SERVER_HEADER_BYTES) {
    throw truncated('server', SERVER_HEADER_BYTES, bytes.length);
  }
  const ack = checkInt(view.getInt32(1), -1, MAX_FRAME, 'inputs.ack');
  const count = checkInt(view.getUint8(5), 0, MAX_PLAYERS, 'inputs.runs');
  const runs: InputRun[] = [];
  let slots = 0;
  let p = SERVER_HEADER_BYTES;
  for (let i = 0; i < count; i++) {
    const path = `inputs.runs[${i}]`;
    if (bytes.length < p + RUN_HEADER_BYTES) {
      throw truncated('server', p + RUN_HEADER_BYTES, bytes.length);
    }
    const slot = checkInt(view.getUint8(p), 0, MAX_PLAYERS - 1, `${path}.slot`);
    if (slots & (1 << slot)) throw bad(`${path}.slot: a second run of slot ${slot}`);
    slots |= 1 << slot;
    const startFrame = checkInt(view.getUint32(p + 1), 0, MAX_FRAME, `${path}.startFrame`);
    const currentFrame = checkInt(view.getUint32(p + 5), 0, MAX_FRAME, `${path}.currentFrame`);
    const n = checkInt(view.getUint8(p + 9), 1, MAX_DATAGRAM_INPUTS, `${path}.count`);
    checkLastFrame(startFrame, n, `${path}.inputs`);
    p += RUN_HEADER_BYTES;
    if (bytes.length < p + n * INPUT_BYTES) {
      throw truncated('server', p + n * INPUT_BYTES, bytes.length);
    }
    runs.push({ slot, startFrame, currentFrame, inputs: readInputs(bytes, p, n) });
    p += n * INPUT_BYTES;
  }
  if (p !== bytes.length) {
    throw new ProtocolError(
      'MALFORMED',
      `server datagram: ${bytes.length - p} trailing bytes after ${count} runs`,
      KIND,
    );
  }
  return { kind: KIND, ack, runs };
}

/**
 * Where the fields of a peer's datagram sit in its bytes, as {@link readClientDatagram} found
 * them: the relay's forward path reads the inputs in place instead of copying each one out.
 * Offsets are into the `bytes` that were read; every field was checked as
 * {@link decodeClientDatagram} checks it.
 */
export interface ClientDatagramView {
  currentFrame: number;
  startFrame: number;
  /** Inputs in the datagram, 0..{@link MAX_DATAGRAM_INPUTS}; input i is at `inputsAt + 4·i`. */
  count: number;
  inputsAt: number;
  /** Entries of `held`, 0..16; entry i is the big-endian i32 at `heldAt + 4·i`. */
  players: number;
  heldAt: number;
}

/** A fresh {@link ClientDatagramView} to reuse with {@link readClientDatagram}. */
export function clientDatagramView(): ClientDatagramView {
  return { currentFrame: 0, startFrame: 0, count: 0, inputsAt: 0, players: 0, heldAt: 0 };
}

/**
 * Checks a peer's datagram as {@link decodeClientDatagram} does and fills `view` with where its
 * fields are, allocating nothing but a DataView: the relay's forward path.
 * @throws {@link ProtocolError} as {@link decodeClientDatagram}
 */
export function readClientDatagram(bytes: Uint8Array, view: ClientDatagramView): void {
  const dv = open(bytes, MAX_CLIENT_DATAGRAM_BYTES, 'client');
  if (bytes.length < CLIENT_HEADER_BYTES + 1) {
    throw truncated('client', CLIENT_HEADER_BYTES + 1, bytes.length);
  }
  const currentFrame = checkInt(dv.getUint32(1), 0, MAX_FRAME, 'inputs.currentFrame');
  const startFrame = checkInt(dv.getUint32(5), 0, MAX_FRAME, 'inputs.startFrame');
  const count = checkInt(dv.getUint8(9), 0, MAX_DATAGRAM_INPUTS, 'inputs.count');
  checkLastFrame(startFrame, count, 'inputs.inputs');
  const heldAt = CLIENT_HEADER_BYTES + count * INPUT_BYTES;
  if (bytes.length < heldAt + 1) throw truncated('client', heldAt + 1, bytes.length);
  const players = checkInt(dv.getUint8(heldAt), 0, MAX_PLAYERS, 'inputs.players');
  const end = heldAt + 1 + players * 4;
  if (bytes.length !== end) {
    throw new ProtocolError(
      'MALFORMED',
      `client datagram: expected ${end} bytes for ${count} inputs and ${players} players, got ${bytes.length}`,
      KIND,
    );
  }
  for (let i = 0; i < players; i++) {
    checkInt(dv.getInt32(heldAt + 1 + i * 4), -1, MAX_FRAME, `inputs.held[${i}]`);
  }
  view.currentFrame = currentFrame;
  view.startFrame = startFrame;
  view.count = count;
  view.inputsAt = CLIENT_HEADER_BYTES;
  view.players = players;
  view.heldAt = heldAt + 1;
}

/** The held frame `i` of a datagram read by {@link readClientDatagram} (-1..MAX_FRAME). */
export function heldOf(bytes: Uint8Array, view: ClientDatagramView, i: number): number {
  const p = view.heldAt + i * 4;
  return (bytes[p] << 24) | (bytes[p + 1] << 16) | (bytes[p + 2] << 8) | bytes[p + 3] | 0;
}

/** Where a {@link ServerDatagramWriter} takes a run's inputs from: one player's recent inputs. */
export interface InputSource {
  /** Copies the 4 input bytes of `frame` into `out` at `at`. */
  copyInput(frame: number, out: Uint8Array, at: number): void;
}

/**
 * Writes relay datagrams into one reusable buffer, run by run, without building objects: the
 * relay's forward path. Layout and limits as {@link encodeServerDatagram}; the caller passes
 * valid fields (slots 0..15, one run per slot, frames in range), which the relay's own state
 * guarantees. `decodeServerDatagram` reads what it writes.
 */
export class ServerDatagramWriter {
  private readonly buf = new Uint8Array(MAX_SERVER_DATAGRAM_BYTES);
  private readonly dv = new DataView(this.buf.buffer);
  private length = 0;
  private runs = 0;

  /** Starts a datagram acknowledging `ack` (-1..MAX_FRAME). */
  begin(ack: number): void {
    this.dv.setUint8(0, DATAGRAM_INPUTS_CODE);
    this.dv.setInt32(1, ack);
    this.dv.setUint8(5, 0);
    this.runs = 0;
    this.length = SERVER_HEADER_BYTES;
  }

  /** Runs written since {@link begin}. */
  get runCount(): number {
    return this.runs;
  }

  /** Inputs that still fit in one more run (0 when none does). */
  room(): number {
    const left = MAX_SERVER_DATAGRAM_BYTES - this.length - RUN_HEADER_BYTES;
    return Math.max(0, Math.min(MAX_DATAGRAM_INPUTS, Math.floor(left / INPUT_BYTES)));
  }

  /**
   * Appends the run of `count` (1..{@link room}) inputs of `slot` from `startFrame`, read from
   * `source`, sent while that player showed `currentFrame`.
   */
  addRun(
    slot: number,
    startFrame: number,
    currentFrame: number,
    count: number,
    source: InputSource,
  ): void {
    const p = this.length;
    this.dv.setUint8(p, slot);
    this.dv.setUint32(p + 1, startFrame);
    this.dv.setUint32(p + 5, currentFrame);
    this.dv.setUint8(p + 9, count);
    let at = p + RUN_HEADER_BYTES;
    for (let i = 0; i < count; i++, at += INPUT_BYTES)
      source.copyInput(startFrame + i, this.buf, at);
    this.length = at;
    this.runs++;
    this.dv.setUint8(5, this.runs);
  }

  /** The datagram written: a view of the writer's buffer, valid until the next {@link begin}. */
  bytes(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }
}
