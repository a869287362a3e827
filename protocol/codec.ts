/**
 * Encoding and decoding of {@link ClientMessage} and {@link ServerMessage}: each message is the
 * MessagePack array `[kindCode, ...fields]` (fields in the order of the message type, small
 * integer kind codes per direction), written by msgpackr without records. Decoders check the
 * length before decoding, then the shape, then every field; encoders check every field too, so
 * an invalid message never reaches the wire.
 */
import { Packr, Unpackr } from 'msgpackr';
import { checkDataChannelSignal } from './datachannel-signal.ts';
import { describeValue, PROTOCOL_ERROR_CODES, ProtocolError } from './errors.ts';
import {
  boolean,
  bytesUpTo,
  type Check,
  finiteNumber,
  frame,
  hash,
  inputBytes,
  integer,
  nullable,
  oneOf,
  participantId,
  printableAscii,
  sceneName,
  sceneSettingsFromWire,
  sceneSettingsToWire,
  slot,
  text,
  u32,
} from './fields.ts';
import {
  readClientInput,
  readServerInput,
  writeClientInput,
  writeServerInput,
} from './input-codec.ts';
import {
  CLIENT_MESSAGE_MAX_BYTES,
  INPUT_BYTES,
  MAX_CLIENT_MESSAGE_BYTES,
  MAX_END_REASON_LENGTH,
  MAX_ERROR_MESSAGE_LENGTH,
  MAX_FAULT_REASON_LENGTH,
  MAX_FRAME,
  MAX_PLAYERS,
  MAX_SERVER_MESSAGE_BYTES,
  MAX_SIGNATURE_BYTES,
  MAX_STATE_BYTES,
  SERVER_MESSAGE_MAX_BYTES,
} from './limits.ts';
import type { ClientMessage, ServerMessage } from './messages.ts';

/** The shared msgpackr instances: plain arrays and maps, no records, no structured clones. */
export const packr = new Packr({ useRecords: false });
/**
 * See {@link packr}. `structuredClone: false` refuses shared references (which could make a
 * small input expand exponentially); 64-bit integers read as numbers, so a valid uint64 frame
 * is accepted and a huge one is refused by its range check, not as a BigInt.
 */
export const unpackr = new Unpackr({
  useRecords: false,
  mapsAsObjects: true,
  structuredClone: false,
  int64AsType: 'number',
});

/** One field of a kind: its name, and how it is checked going out and coming in. */
interface FieldCodec {
  readonly name: string;
  /** Checks the message's value and returns the wire value. */
  readonly write: Check<unknown>;
  /** Checks the wire value and returns the message's value (`undefined`: leave it out). */
  readonly read: Check<unknown>;
  /**
   * A trailing field that may be absent: left off the wire when the message has none, and a
   * message without it decodes (fields added to a kind later, so that a peer that never sends
   * them keeps its exact bytes).
   */
  readonly optional?: true;
}

interface KindCodec {
  readonly kind: string;
  readonly code: number;
  readonly maxBytes: number;
  readonly fields: readonly FieldCodec[];
  /** Checks across fields, after each field passed. */
  readonly check?: (m: Record<string, unknown>) => void;
}

interface Direction {
  /** `client` or `server`, for error messages. */
  readonly side: string;
  readonly maxBytes: number;
  readonly byCode: readonly (KindCodec | undefined)[];
  readonly byKind: ReadonlyMap<string, KindCodec>;
}

const field = (name: string, check: Check<unknown>): FieldCodec => ({
  name,
  write: check,
  read: check,
});

/** Input bytes: on decode, copied out of the received buffer into a plain `Uint8Array`. */
const inputField: FieldCodec = {
  name: 'input',
  write: inputBytes,
  read: (value, path, kind) => new Uint8Array(inputBytes(value, path, kind)),
};

function direction(
  side: string,
  maxBytes: number,
  limits: Readonly<Record<string, number>>,
  kinds: readonly (readonly [string, readonly FieldCodec[], KindCodec['check']?])[],
): Direction {
  const byCode: KindCodec[] = [];
  const byKind = new Map<string, KindCodec>();
  kinds.forEach(([kind, fields, check], code) => {
    const codec: KindCodec = { kind, code, maxBytes: limits[kind], fields, check };
    byCode.push(codec);
    byKind.set(kind, codec);
  });
  return { side, maxBytes, byCode, byKind };
}

const sentMs = field('sentMs', finiteNumber);

/** Largest counter a peer reports in `ping.stats`. */
const MAX_PEER_COUNTER = 0xffff_ffff;
const peerStatsWire = (value: unknown, path: string, kind: string | undefined): unknown => {
  const v = value as { rttMs?: unknown; rollbacks?: unknown; stalls?: unknown } | unknown[];
  const [rttMs, rollbacks, stalls] = Array.isArray(v)
    ? v
    : typeof v === 'object' && v !== null
      ? [v.rttMs, v.rollbacks, v.stalls]
      : [];
  if (!(Array.isArray(v) ? v.length === 3 : typeof v === 'object' && v !== null)) {
    throw new ProtocolError('BAD_FIELD', `${path}: expected {rttMs, rollbacks, stalls}`, kind);
  }
  return [
    integer(0, 3_600_000)(rttMs, `${path}.rttMs`, kind),
    integer(0, MAX_PEER_COUNTER)(rollbacks, `${path}.rollbacks`, kind),
    integer(0, MAX_PEER_COUNTER)(stalls, `${path}.stalls`, kind),
  ];
};
/**
 * The optional `stats` of `ping`: what the peer counted (its round trip to the relay in whole ms,
 * its rollbacks and stalls), `[rttMs, rollbacks, stalls]` on the wire, absent when not given.
 */
const peerStatsField: FieldCodec = {
  name: 'stats',
  optional: true,
  write: peerStatsWire,
  read: (value, path, kind) => {
    const [rttMs, rollbacks, stalls] = peerStatsWire(value, path, kind) as number[];
    return { rttMs, rollbacks, stalls };
  },
};

/** A state signature: on decode, copied out of the received buffer. */
const signatureField: FieldCodec = {
  name: 'signature',
  write: bytesUpTo(MAX_SIGNATURE_BYTES),
  read: (value, path, kind) => new Uint8Array(bytesUpTo(MAX_SIGNATURE_BYTES)(value, path, kind)),
};

/** State bytes: on decode, copied out of the received buffer. */
const stateBytesField: FieldCodec = {
  name: 'bytes',
  write: bytesUpTo(MAX_STATE_BYTES),
  read: (value, path, kind) => new Uint8Array(bytesUpTo(MAX_STATE_BYTES)(value, path, kind)),
};

/** `authState.lastInputFrames`: 1..16 frames, each -1..MAX_FRAME (returned as a fresh array). */
const lastInputFrames: Check<unknown> = (value, path, kind) => {
  if (!Array.isArray(value) || value.length < 1 || value.length > MAX_PLAYERS) {
    throw new ProtocolError(
      'BAD_FIELD',
      `${path}: expected an array of 1..${MAX_PLAYERS} frames, got ${describeValue(value)}`,
      kind,
    );
  }
  const each = integer(-1, MAX_FRAME);
  return value.map((v, i) => each(v, `${path}[${i}]`, kind));
};

/** `authState.inputs`: every slot's applied input, copied out of the received buffer on decode. */
const appliedInputsField: FieldCodec = {
  name: 'inputs',
  write: bytesUpTo(MAX_PLAYERS * INPUT_BYTES),
  read: (value, path, kind) =>
    new Uint8Array(bytesUpTo(MAX_PLAYERS * INPUT_BYTES)(value, path, kind)),
};

/** The SDP of `rtcOffer`/`rtcAnswer`, checked by `checkDataChannelSignal`'s rules. */
const sdpField = field(
  'sdp',
  (value, _path, kind) => checkDataChannelSignal({ sdp: value, candidates: [] }, kind ?? 'rtc').sdp,
);
/** The ICE candidates of `rtcOffer`/`rtcAnswer`, checked by `checkDataChannelSignal`'s rules. */
const candidatesField = field(
  'candidates',
  (value, _path, kind) =>
    checkDataChannelSignal({ sdp: 'v=0', candidates: value }, kind ?? 'rtc').candidates,
);

/** Client kinds in kind-code order: the index is the code on the wire. Append only. */
const CLIENT = direction('client', MAX_CLIENT_MESSAGE_BYTES, CLIENT_MESSAGE_MAX_BYTES, [
  ['join', [field('scene', sceneName), field('participantId', nullable(participantId))]],
  ['cancel', []],
  ['input', [field('frame', frame), inputField, field('currentFrame', frame)]],
  ['hash', [field('frame', frame), field('hash', hash)]],
  ['ping', [field('id', u32), sentMs, peerStatsField]],
  ['peerPing', [sentMs]],
  ['peerPong', [field('to', slot), sentMs]],
  ['done', [field('frame', frame), field('hash', hash)]],
  [
    'state',
    [
      field('frame', frame),
      field('hash', hash),
      field('baseFrame', integer(-2, MAX_FRAME)),
      field('fullBytes', integer(0, MAX_STATE_BYTES)),
      stateBytesField,
      field('forSlot', integer(-1, MAX_PLAYERS - 1)),
    ],
  ],
  ['stateFailed', [field('frame', frame)]],
  [
    'rejoin',
    [
      field('matchId', printableAscii(1, 64)),
      field('token', printableAscii(1, 256)),
      field('participantId', nullable(participantId)),
    ],
  ],
  ['resyncRequest', [field('frame', frame), signatureField]],
  ['fault', [field('frame', frame), field('reason', text(MAX_FAULT_REASON_LENGTH))]],
  ['rtcOffer', [sdpField, candidatesField]],
  ['inputPath', [field('path', oneOf(['websocket', 'webrtc'] as const))]],
  ['stateAck', [field('frame', frame)]],
]);

const refusedKind = printableAscii(1, 32);
/** The optional `refused` of `error`: `null` on the wire when absent. */
const optionalRefused: FieldCodec = {
  name: 'refused',
  write: (value, path, kind) => (value === undefined ? null : refusedKind(value, path, kind)),
  read: (value, path, kind) => (value === null ? undefined : refusedKind(value, path, kind)),
};

/** Server kinds in kind-code order: the index is the code on the wire. Append only. */
const SERVER = direction('server', MAX_SERVER_MESSAGE_BYTES, SERVER_MESSAGE_MAX_BYTES, [
  [
    'waiting',
    [
      field('scene', sceneName),
      field('waiting', integer(0, 0xffff)),
      field('players', integer(1, MAX_PLAYERS)),
    ],
  ],
  [
    'start',
    [
      field('matchId', printableAscii(1, 64)),
      field('slot', slot),
      field('seed', u32),
      { name: 'settings', write: sceneSettingsToWire, read: sceneSettingsFromWire } as FieldCodec,
      field('token', printableAscii(1, 256)),
    ],
    (m) => {
      const players = (m.settings as { players: number }).players;
      if ((m.slot as number) >= players) {
        throw new ProtocolError(
          'BAD_FIELD',
          `start.slot: expected a slot below settings.players (${players}), got ${m.slot}`,
          'start',
        );
      }
    },
  ],
  ['input', [field('slot', slot), field('frame', frame), inputField, field('currentFrame', frame)]],
  ['peerPing', [field('slot', slot), sentMs]],
  ['peerPong', [field('slot', slot), field('to', slot), sentMs]],
  ['pong', [field('id', u32), sentMs]],
  ['peerLeft', [field('slot', slot), field('lastFrame', integer(-1, MAX_FRAME))]],
  [
    'verdict',
    [
      field('frame', frame),
      field('agreed', boolean),
      field('next', frame),
      field('differing', integer(0, 0xffff)),
    ],
  ],
  ['end', [field('reason', text(MAX_END_REASON_LENGTH))]],
  [
    'error',
    [
      field('code', oneOf(PROTOCOL_ERROR_CODES)),
      field('message', text(MAX_ERROR_MESSAGE_LENGTH)),
      optionalRefused,
    ],
  ],
  [
    'stateRequest',
    [
      field('frame', frame),
      field('baseFrame', integer(-1, MAX_FRAME)),
      field('forSlot', integer(-1, MAX_PLAYERS - 1)),
      signatureField,
    ],
  ],
  [
    'state',
    [
      field('frame', frame),
      field('hash', hash),
      field('baseFrame', integer(-2, MAX_FRAME)),
      stateBytesField,
    ],
  ],
  [
    'rejoined',
    [
      field('matchId', printableAscii(1, 64)),
      field('slot', slot),
      field('seed', u32),
      { name: 'settings', write: sceneSettingsToWire, read: sceneSettingsFromWire } as FieldCodec,
      field('token', printableAscii(1, 256)),
      field('resumeFrame', frame),
    ],
  ],
  ['peerAway', [field('slot', slot), field('lastFrame', integer(-1, MAX_FRAME))]],
  ['peerRejoined', [field('slot', slot)]],
  ['rtcAnswer', [sdpField, candidatesField]],
  [
    'authState',
    [
      field('frame', frame),
      field('hash', hash),
      field('baseFrame', integer(-2, MAX_FRAME)),
      stateBytesField,
      field('lastInputFrames', lastInputFrames),
      appliedInputsField,
    ],
    (m) => {
      const players = (m.lastInputFrames as readonly number[]).length;
      if ((m.inputs as Uint8Array).length !== players * INPUT_BYTES) {
        throw new ProtocolError(
          'BAD_FIELD',
          `authState.inputs: expected ${players * INPUT_BYTES} bytes (${INPUT_BYTES} per slot of lastInputFrames), got ${(m.inputs as Uint8Array).length}`,
          'authState',
        );
      }
    },
  ],
]);

function encodeWith(dir: Direction, m: unknown): Uint8Array {
  if (typeof m !== 'object' || m === null) {
    throw new ProtocolError(
      'BAD_FIELD',
      `expected a ${dir.side} message object, got ${describeValue(m)}`,
    );
  }
  const message = m as Record<string, unknown>;
  const kind = message.kind;
  const codec = typeof kind === 'string' ? dir.byKind.get(kind) : undefined;
  if (codec === undefined) {
    throw new ProtocolError(
      'UNKNOWN_KIND',
      `unknown ${dir.side} message kind ${describeValue(kind)}`,
    );
  }
  const wire: unknown[] = [codec.code];
  for (const f of codec.fields) {
    if (f.optional && message[f.name] === undefined) continue; // trailing: left off the wire
    wire.push(f.write(message[f.name], `${codec.kind}.${f.name}`, codec.kind));
  }
  codec.check?.(message);
  // A copy: msgpackr returns a view into its shared 8 KiB buffer, which a kept message would pin.
  const bytes = new Uint8Array(packr.pack(wire));
  if (bytes.length > codec.maxBytes) {
    // Unreachable while the limits cover the field ranges; kept so a mistake cannot reach the wire.
    throw new ProtocolError(
      'OVERSIZE',
      `${codec.kind}: ${bytes.length} bytes, over the limit of ${codec.maxBytes}`,
      codec.kind,
    );
  }
  return bytes;
}

function oversize(dir: Direction, length: number, limit: number, kind?: string): ProtocolError {
  const what = kind === undefined ? `${dir.side} message` : kind;
  return new ProtocolError(
    'OVERSIZE',
    `${what}: ${length} bytes, over the limit of ${limit}`,
    kind,
  );
}

/** Why msgpackr refused bytes, in words that quote none of them. */
function msgpackFailure(err: unknown): string {
  const text = err instanceof Error ? err.message : '';
  if (text.startsWith('Data read, but end of buffer not reached'))
    return 'trailing bytes after the message';
  if (/^Unexpected end/.test(text)) return 'truncated MessagePack';
  if (err instanceof RangeError) return 'MessagePack nested too deeply or truncated';
  return 'invalid MessagePack';
}

/**
 * Decodes with the general MessagePack reader and checks everything. Exported for tests, which
 * compare it with the input fast path; other code calls {@link decodeClientMessage} and
 * {@link decodeServerMessage}.
 */
export function decodeWith(dir: Direction, bytes: unknown): Record<string, unknown> {
  if (!(bytes instanceof Uint8Array)) {
    throw new ProtocolError('MALFORMED', `expected a Uint8Array, got ${describeValue(bytes)}`);
  }
  const length = bytes.length;
  if (length > dir.maxBytes) throw oversize(dir, length, dir.maxBytes);
  if (length === 0) throw new ProtocolError('MALFORMED', `empty ${dir.side} message`);
  // Peek at the kind code ([fixarray, fixint code, ...]) to apply the kind's limit before decoding.
  const peeked =
    length > 1 && bytes[0] >= 0x91 && bytes[0] <= 0x9f ? dir.byCode[bytes[1]] : undefined;
  if (peeked !== undefined && length > peeked.maxBytes)
    throw oversize(dir, length, peeked.maxBytes, peeked.kind);

  let wire: unknown;
  try {
    wire = unpackr.unpack(bytes);
  } catch (err) {
    throw new ProtocolError('MALFORMED', `${dir.side} message: ${msgpackFailure(err)}`);
  }
  if (!Array.isArray(wire) || wire.length === 0) {
    throw new ProtocolError(
      'MALFORMED',
      `${dir.side} message: expected an array [kindCode, ...fields], got ${describeValue(wire)}`,
    );
  }
  const code = wire[0];
  const codec = typeof code === 'number' ? dir.byCode[code] : undefined;
  if (codec === undefined) {
    throw new ProtocolError(
      'UNKNOWN_KIND',
      `unknown ${dir.side} message kind code ${describeValue(code)}`,
    );
  }
  const kind = codec.kind;
  if (length > codec.maxBytes) throw oversize(dir, length, codec.maxBytes, kind);
  const required = codec.fields.filter((f) => !f.optional).length;
  if (wire.length - 1 < required || wire.length - 1 > codec.fields.length) {
    throw new ProtocolError(
      'MALFORMED',
      `${kind}: expected ${required === codec.fields.length ? required : `${required}..${codec.fields.length}`} fields, got ${wire.length - 1}`,
      kind,
    );
  }
  const message: Record<string, unknown> = { kind };
  codec.fields.forEach((f, i) => {
    if (i + 1 >= wire.length) return; // an optional trailing field left off
    const value = f.read(wire[i + 1], `${kind}.${f.name}`, kind);
    if (value !== undefined) message[f.name] = value;
  });
  codec.check?.(message);
  return message;
}

/** The client direction's table, for tests of the general path (see {@link decodeWith}). */
export const CLIENT_DIRECTION: Direction = CLIENT;
/** The server direction's table, for tests of the general path (see {@link decodeWith}). */
export const SERVER_DIRECTION: Direction = SERVER;

/**
 * Encodes a client message as MessagePack `[kindCode, ...fields]`. An `input` encodes to
 * 10..18 bytes (14 while both frames are below 65 536).
 *
 * @returns fresh bytes (a plain `Uint8Array` that nothing else references), at most
 *   {@link CLIENT_MESSAGE_MAX_BYTES} of the kind.
 * @throws {@link ProtocolError} `UNKNOWN_KIND` for an unknown `kind`, `BAD_FIELD` naming the
 *   first invalid field (nothing is encoded).
 */
export function encodeClientMessage(m: ClientMessage): Uint8Array {
  if (typeof m === 'object' && m !== null && m.kind === 'input') {
    const bytes = writeClientInput(m);
    if (bytes !== undefined) return bytes;
  }
  return encodeWith(CLIENT, m);
}

/**
 * Decodes and validates a client message: the relay's edge. Lengths are checked before any
 * decoding ({@link MAX_CLIENT_MESSAGE_BYTES}, then the kind's {@link CLIENT_MESSAGE_MAX_BYTES}).
 * The returned `input` bytes are a fresh copy, never a view of `bytes`.
 *
 * @throws {@link ProtocolError} and nothing else, for any argument: `OVERSIZE`, `MALFORMED`
 *   (not MessagePack, not a non-empty array, wrong field count, trailing bytes), `UNKNOWN_KIND`,
 *   `BAD_FIELD` (a field's type or range, named in the message).
 */
export function decodeClientMessage(bytes: Uint8Array): ClientMessage {
  if (bytes instanceof Uint8Array) {
    const input = readClientInput(bytes);
    if (input !== undefined) return input;
  }
  return decodeWith(CLIENT, bytes) as unknown as ClientMessage;
}

/**
 * Encodes a server message as MessagePack `[kindCode, ...fields]`; the settings of `start` go
 * as an array in {@link SceneSettings} field order. An `input` encodes to 11..19 bytes (15
 * while both frames are below 65 536).
 *
 * @returns fresh bytes, at most {@link SERVER_MESSAGE_MAX_BYTES} of the kind.
 * @throws {@link ProtocolError} `UNKNOWN_KIND` or `BAD_FIELD` (nothing is encoded).
 */
export function encodeServerMessage(m: ServerMessage): Uint8Array {
  if (typeof m === 'object' && m !== null && m.kind === 'input') {
    const bytes = writeServerInput(m);
    if (bytes !== undefined) return bytes;
  }
  return encodeWith(SERVER, m);
}

/**
 * Decodes and validates a server message: the client's edge. Same checks and guarantees as
 * {@link decodeClientMessage}, with {@link MAX_SERVER_MESSAGE_BYTES} and
 * {@link SERVER_MESSAGE_MAX_BYTES}.
 *
 * @throws {@link ProtocolError} and nothing else.
 */
export function decodeServerMessage(bytes: Uint8Array): ServerMessage {
  if (bytes instanceof Uint8Array) {
    const input = readServerInput(bytes);
    if (input !== undefined) return input;
  }
  return decodeWith(SERVER, bytes) as unknown as ServerMessage;
}
