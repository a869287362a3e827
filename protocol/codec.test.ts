import fc from 'fast-check';
import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { CLIENT_DIRECTION, decodeWith, SERVER_DIRECTION } from './codec.ts';
import { SCENE_SETTINGS_FIELDS } from './fields.ts';
import {
  CLIENT_MESSAGE_MAX_BYTES,
  type ClientMessage,
  decodeClientMessage,
  decodeServerMessage,
  encodeClientMessage,
  encodeServerMessage,
  MAX_CLIENT_MESSAGE_BYTES,
  MAX_FRAME,
  MAX_SERVER_MESSAGE_BYTES,
  PROTOCOL_ERROR_CODES,
  ProtocolError,
  type ProtocolErrorCode,
  type SceneSettings,
  SERVER_MESSAGE_MAX_BYTES,
  type ServerMessage,
} from './index.ts';

const packr = new Packr({ useRecords: false });
const pack = (value: unknown): Uint8Array => packr.pack(value);

// ---------------------------------------------------------------- arbitraries of valid messages

const frameArb = fc.integer({ min: 0, max: MAX_FRAME });
const slotArb = fc.integer({ min: 0, max: 15 });
const u32Arb = fc.integer({ min: 0, max: 0xffff_ffff });
const inputArb = fc.uint8Array({ minLength: 4, maxLength: 4 });
const hashArb = fc.stringMatching(/^[0-9a-f]{16}$/);
const sceneNameArb = fc.stringMatching(/^[a-z0-9][a-z0-9_-]{0,63}$/);
const printableArb = (minLength: number, maxLength: number) =>
  fc.string({
    unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
    minLength,
    maxLength,
  });
// -0 travels as 0 (msgpackr writes it as the integer 0), so the arbitrary uses +0.
const msArb = fc.double({ noNaN: true, noDefaultInfinity: true }).map((x) => (x === 0 ? 0 : x));
const isWellFormed = (s: string) => Buffer.from(s, 'utf8').toString('utf8') === s;
const textArb = (max: number) =>
  fc.string({ unit: 'grapheme', maxLength: max }).filter((s) => s.length <= max && isWellFormed(s));

const settingsArb: fc.Arbitrary<SceneSettings> = fc.record(
  {
    name: sceneNameArb,
    sim: printableArb(1, 200),
    players: fc.integer({ min: 1, max: 16 }),
    tickRate: fc.integer({ min: 1, max: 240 }),
    mode: fc.constantFrom('lockstep', 'rollback'),
    inputDelay: fc.integer({ min: 0, max: 30 }),
    maxPredictionWindow: fc.integer({ min: 0, max: 60 }),
    saveStrategy: fc.constantFrom('ring', 'sparse'),
    hashInterval: fc.integer({ min: 1, max: 256 }),
    frames: fc.integer({ min: 0, max: 10_000_000 }),
    hashIntervalMax: fc.integer({ min: 256, max: 65_536 }),
    rejoinGraceMs: fc.integer({ min: 0, max: 600_000 }),
    onPlayerLost: fc.constantFrom('continue', 'end'),
    referee: fc.boolean(),
    transport: fc.constantFrom('auto', 'websocket', 'webrtc'),
  },
  {
    requiredKeys: [
      'name',
      'sim',
      'players',
      'tickRate',
      'mode',
      'inputDelay',
      'maxPredictionWindow',
      'saveStrategy',
      'hashInterval',
      'frames',
      'hashIntervalMax',
      'rejoinGraceMs',
      'onPlayerLost',
      'transport',
    ],
  },
);

const clientArb: fc.Arbitrary<ClientMessage> = fc.oneof(
  fc.record({
    kind: fc.constant('join' as const),
    scene: sceneNameArb,
    participantId: fc.option(printableArb(1, 128), { nil: null }),
  }),
  fc.constant({ kind: 'cancel' as const }),
  fc.record({
    kind: fc.constant('input' as const),
    frame: frameArb,
    input: inputArb,
    currentFrame: frameArb,
  }),
  fc.record({ kind: fc.constant('hash' as const), frame: frameArb, hash: hashArb }),
  fc.record({ kind: fc.constant('ping' as const), id: u32Arb, sentMs: msArb }),
  fc.record({ kind: fc.constant('peerPing' as const), sentMs: msArb }),
  fc.record({ kind: fc.constant('peerPong' as const), to: slotArb, sentMs: msArb }),
  fc.record({ kind: fc.constant('done' as const), frame: frameArb, hash: hashArb }),
  fc.record({
    kind: fc.constant('state' as const),
    frame: frameArb,
    hash: hashArb,
    baseFrame: fc.integer({ min: -1, max: MAX_FRAME }),
    fullBytes: fc.integer({ min: 0, max: 1 << 20 }),
    bytes: fc.uint8Array({ maxLength: 2000 }),
    forSlot: fc.integer({ min: -1, max: 15 }),
  }),
  fc.record({
    kind: fc.constant('resyncRequest' as const),
    frame: frameArb,
    signature: fc.uint8Array({ maxLength: 500 }),
  }),
  fc.record({ kind: fc.constant('stateFailed' as const), frame: frameArb }),
  fc.record({
    kind: fc.constant('rejoin' as const),
    matchId: printableArb(1, 64),
    token: printableArb(1, 256),
    participantId: fc.option(printableArb(1, 128), { nil: null }),
  }),
  fc.record({ kind: fc.constant('fault' as const), frame: frameArb, reason: textArb(512) }),
  fc.record({ kind: fc.constant('stateAck' as const), frame: frameArb }),
);

const serverArb: fc.Arbitrary<ServerMessage> = fc.oneof(
  fc.record({
    kind: fc.constant('waiting' as const),
    scene: sceneNameArb,
    waiting: fc.integer({ min: 0, max: 0xffff }),
    players: fc.integer({ min: 1, max: 16 }),
  }),
  settingsArb.chain((settings) =>
    fc.record({
      kind: fc.constant('start' as const),
      matchId: printableArb(1, 64),
      slot: fc.integer({ min: 0, max: settings.players - 1 }),
      seed: u32Arb,
      settings: fc.constant(settings),
      token: printableArb(1, 256),
    }),
  ),
  fc.record({
    kind: fc.constant('input' as const),
    slot: slotArb,
    frame: frameArb,
    input: inputArb,
    currentFrame: frameArb,
  }),
  fc.record({ kind: fc.constant('peerPing' as const), slot: slotArb, sentMs: msArb }),
  fc.record({ kind: fc.constant('peerPong' as const), slot: slotArb, to: slotArb, sentMs: msArb }),
  fc.record({ kind: fc.constant('pong' as const), id: u32Arb, sentMs: msArb }),
  fc.record({
    kind: fc.constant('peerLeft' as const),
    slot: slotArb,
    lastFrame: fc.integer({ min: -1, max: MAX_FRAME }),
  }),
  fc.record({
    kind: fc.constant('verdict' as const),
    frame: frameArb,
    agreed: fc.boolean(),
    next: frameArb,
    differing: fc.integer({ min: 0, max: 0xffff }),
  }),
  fc.record({
    kind: fc.constant('stateRequest' as const),
    frame: frameArb,
    baseFrame: fc.integer({ min: -1, max: MAX_FRAME }),
    forSlot: fc.integer({ min: -1, max: 15 }),
    signature: fc.uint8Array({ maxLength: 500 }),
  }),
  fc.record({
    kind: fc.constant('state' as const),
    frame: frameArb,
    hash: hashArb,
    baseFrame: fc.integer({ min: -2, max: MAX_FRAME }),
    bytes: fc.uint8Array({ maxLength: 2000 }),
  }),
  fc.record({ kind: fc.constant('end' as const), reason: textArb(256) }),
  fc.record(
    {
      kind: fc.constant('error' as const),
      code: fc.constantFrom(...PROTOCOL_ERROR_CODES),
      message: textArb(512),
      refused: printableArb(1, 32),
    },
    { requiredKeys: ['kind', 'code', 'message'] },
  ),
  fc.record({
    kind: fc.constant('peerAway' as const),
    slot: slotArb,
    lastFrame: fc.integer({ min: -1, max: MAX_FRAME }),
  }),
  fc.record({ kind: fc.constant('peerRejoined' as const), slot: slotArb }),
);

// ---------------------------------------------------------------- helpers

/** The ProtocolError `f` throws; fails the test if it throws anything else or nothing. */
function protocolErrorOf(f: () => unknown): ProtocolError {
  try {
    f();
  } catch (err) {
    if (err instanceof ProtocolError) return err;
    throw new Error(`expected a ProtocolError, got ${String(err)}`);
  }
  throw new Error('expected a ProtocolError, nothing was thrown');
}

function expectCode(f: () => unknown, code: ProtocolErrorCode, mentions?: string): void {
  const err = protocolErrorOf(f);
  expect(err.code, err.message).toBe(code);
  if (mentions !== undefined) expect(err.message).toContain(mentions);
}

const input4 = new Uint8Array([1, 2, 3, 4]);
const settings: SceneSettings = {
  name: 'duel',
  sim: 'duel',
  players: 2,
  tickRate: 60,
  mode: 'rollback',
  inputDelay: 2,
  maxPredictionWindow: 8,
  saveStrategy: 'ring',
  hashInterval: 10,
  frames: 0,
  hashIntervalMax: 480,
  rejoinGraceMs: 10_000,
  onPlayerLost: 'continue',
  transport: 'auto',
};

// ---------------------------------------------------------------- round trips

describe('round trip', () => {
  it('every client message decodes to itself, within its size limit', () => {
    fc.assert(
      fc.property(clientArb, (m) => {
        const bytes = encodeClientMessage(m);
        expect(bytes.length).toBeLessThanOrEqual(CLIENT_MESSAGE_MAX_BYTES[m.kind]);
        expect(decodeClientMessage(bytes)).toEqual(m);
        // The general reader agrees with the input fast path.
        expect(decodeWith(CLIENT_DIRECTION, bytes)).toEqual(m);
      }),
      { numRuns: 400 },
    );
  });

  it('every server message decodes to itself, within its size limit', () => {
    fc.assert(
      fc.property(serverArb, (m) => {
        const bytes = encodeServerMessage(m);
        expect(bytes.length).toBeLessThanOrEqual(SERVER_MESSAGE_MAX_BYTES[m.kind]);
        expect(decodeServerMessage(bytes)).toEqual(m);
        expect(decodeWith(SERVER_DIRECTION, bytes)).toEqual(m);
      }),
      { numRuns: 400 },
    );
  });

  it('the hand-rolled input bytes are exactly what msgpackr writes', () => {
    fc.assert(
      fc.property(slotArb, frameArb, inputArb, frameArb, (slot, frame, input, currentFrame) => {
        expect(encodeClientMessage({ kind: 'input', frame, input, currentFrame })).toEqual(
          new Uint8Array(pack([2, frame, input, currentFrame])),
        );
        expect(encodeServerMessage({ kind: 'input', slot, frame, input, currentFrame })).toEqual(
          new Uint8Array(pack([2, slot, frame, input, currentFrame])),
        );
      }),
    );
  });

  it('input sizes: 14 (client) and 15 (server) bytes below frame 65 536, 18 and 19 at most', () => {
    const small = { frame: 1234, input: input4, currentFrame: 1232 };
    const large = { frame: MAX_FRAME, input: input4, currentFrame: MAX_FRAME };
    expect(encodeClientMessage({ kind: 'input', ...small }).length).toBe(14);
    expect(encodeServerMessage({ kind: 'input', slot: 3, ...small }).length).toBe(15);
    expect(encodeClientMessage({ kind: 'input', ...large }).length).toBe(18);
    expect(encodeServerMessage({ kind: 'input', slot: 15, ...large }).length).toBe(19);
  });

  it('decoded input bytes are a fresh plain Uint8Array, not a view of the message', () => {
    const bytes = encodeClientMessage({ kind: 'input', frame: 7, input: input4, currentFrame: 5 });
    const m = decodeClientMessage(bytes);
    if (m.kind !== 'input') throw new Error('expected input');
    expect(m.input.constructor).toBe(Uint8Array);
    bytes.fill(0);
    expect([...m.input]).toEqual([1, 2, 3, 4]);
    const viaMsgpackr = decodeClientMessage(pack([2, 7.0, Buffer.from([9, 9, 9, 9]), 5]));
    if (viaMsgpackr.kind !== 'input') throw new Error('expected input');
    expect(viaMsgpackr.input.constructor).toBe(Uint8Array);
  });

  it('accepts valid but non-canonical MessagePack through the general reader', () => {
    // frame as float64, currentFrame as uint64, input as bin 16: not the fast path's form.
    const bytes = new Uint8Array([
      0x94, 0x02, 0xcb, 0x40, 0x59, 0, 0, 0, 0, 0, 0, 0xc5, 0, 4, 1, 2, 3, 4, 0xcf, 0, 0, 0, 0, 0,
      0, 0, 9,
    ]);
    expect(decodeClientMessage(bytes)).toEqual({
      kind: 'input',
      frame: 100,
      input: input4,
      currentFrame: 9,
    });
  });

  it('earlier results survive later encodes (no shared buffer reuse)', () => {
    const messages: ClientMessage[] = [];
    const encoded: Uint8Array[] = [];
    for (let i = 0; i < 3000; i++) {
      const m: ClientMessage =
        i % 2 === 0
          ? { kind: 'hash', frame: i, hash: i.toString(16).padStart(16, '0') }
          : { kind: 'join', scene: `s${i}`, participantId: `p${i}` };
      messages.push(m);
      encoded.push(encodeClientMessage(m));
    }
    encoded.forEach((bytes, i) => {
      expect(decodeClientMessage(bytes)).toEqual(messages[i]);
    });
  });

  it('the largest message of every kind fits its limit', () => {
    const big: SceneSettings = {
      ...settings,
      name: 'a'.repeat(64),
      sim: '~'.repeat(200),
      players: 16,
      tickRate: 240,
      inputDelay: 30,
      maxPredictionWindow: 60,
      saveStrategy: 'sparse',
      hashInterval: 65_536,
      frames: 10_000_000,
      hashIntervalMax: 65_536,
      rejoinGraceMs: 600_000,
    };
    const clients: ClientMessage[] = [
      { kind: 'join', scene: 'z'.repeat(64), participantId: '~'.repeat(128) },
      { kind: 'input', frame: MAX_FRAME, input: input4, currentFrame: MAX_FRAME },
      { kind: 'hash', frame: MAX_FRAME, hash: 'f'.repeat(16) },
      { kind: 'ping', id: 0xffff_ffff, sentMs: Math.PI * 1e12 },
      { kind: 'peerPing', sentMs: -Number.MAX_VALUE },
      { kind: 'peerPong', to: 15, sentMs: Number.MIN_VALUE },
      { kind: 'done', frame: MAX_FRAME, hash: '0'.repeat(16) },
      {
        kind: 'state',
        frame: MAX_FRAME,
        hash: '0'.repeat(16),
        baseFrame: MAX_FRAME,
        fullBytes: 1 << 20,
        bytes: new Uint8Array(1 << 20),
        forSlot: 15,
      },
      { kind: 'resyncRequest', frame: MAX_FRAME, signature: new Uint8Array(64 * 1024) },
      { kind: 'stateFailed', frame: MAX_FRAME },
      {
        kind: 'rejoin',
        matchId: '~'.repeat(64),
        token: '~'.repeat(256),
        participantId: '~'.repeat(128),
      },
    ];
    for (const m of clients) expect(decodeClientMessage(encodeClientMessage(m))).toEqual(m);
    const servers: ServerMessage[] = [
      { kind: 'waiting', scene: 'z'.repeat(64), waiting: 0xffff, players: 16 },
      {
        kind: 'start',
        matchId: '~'.repeat(64),
        slot: 15,
        seed: 0xffff_ffff,
        settings: big,
        token: '~'.repeat(256),
      },
      { kind: 'end', reason: '中'.repeat(256) },
      { kind: 'verdict', frame: MAX_FRAME, agreed: false, next: MAX_FRAME, differing: 0xffff },
      {
        kind: 'stateRequest',
        frame: MAX_FRAME,
        baseFrame: -1,
        forSlot: 15,
        signature: new Uint8Array(64 * 1024),
      },
      {
        kind: 'state',
        frame: 1,
        hash: 'a'.repeat(16),
        baseFrame: -1,
        bytes: new Uint8Array(1 << 20),
      },
      {
        kind: 'rejoined',
        matchId: '~'.repeat(64),
        slot: 15,
        seed: 1,
        settings: big,
        token: '~'.repeat(256),
        resumeFrame: MAX_FRAME,
      },
      { kind: 'error', code: 'FRAME_WINDOW', message: '中'.repeat(512), refused: '~'.repeat(32) },
      { kind: 'error', code: 'INTERNAL', message: '\u{1f600}'.repeat(256), refused: 'input' },
      {
        kind: 'authState',
        frame: MAX_FRAME,
        hash: 'b'.repeat(16),
        baseFrame: MAX_FRAME,
        bytes: new Uint8Array(1 << 20),
        lastInputFrames: new Array(16).fill(MAX_FRAME),
        inputs: new Uint8Array(64),
      },
    ];
    for (const m of servers) expect(decodeServerMessage(encodeServerMessage(m))).toEqual(m);
  });
});

describe('the authoritative mode messages', () => {
  const authState: ServerMessage = {
    kind: 'authState',
    frame: 90,
    hash: '0123456789abcdef',
    baseFrame: -1,
    bytes: new Uint8Array([1, 2, 3]),
    lastInputFrames: [89, -1],
    inputs: new Uint8Array(8),
  };

  it('round-trip: authState (full and delta) and stateAck', () => {
    expect(decodeServerMessage(encodeServerMessage(authState))).toEqual(authState);
    const delta = { ...authState, baseFrame: 87 };
    expect(decodeServerMessage(encodeServerMessage(delta))).toEqual(delta);
    const ack: ClientMessage = { kind: 'stateAck', frame: 90 };
    expect(decodeClientMessage(encodeClientMessage(ack))).toEqual(ack);
  });

  it('refuses inputs that are not 4 bytes per slot, bad frames and bad bases', () => {
    for (const bad of [
      { ...authState, inputs: new Uint8Array(4) },
      { ...authState, lastInputFrames: [] },
      { ...authState, lastInputFrames: new Array(17).fill(0), inputs: new Uint8Array(68) },
      { ...authState, lastInputFrames: [-2, 0] },
      { ...authState, baseFrame: -3 },
      { ...authState, frame: -1 },
    ]) {
      expectCode(() => encodeServerMessage(bad as ServerMessage), 'BAD_FIELD');
    }
    expectCode(
      () => encodeClientMessage({ kind: 'stateAck', frame: -1 } as ClientMessage),
      'BAD_FIELD',
    );
  });
});

// ---------------------------------------------------------------- encoders refuse invalid messages

/** Kind, a valid message of it, and field values that must be refused with BAD_FIELD. */
const clientBadFields: [ClientMessage, Record<string, unknown[]>][] = [
  [
    { kind: 'join', scene: 'duel', participantId: 'p1' },
    {
      scene: ['', 'Duel', '-duel', `a${'b'.repeat(64)}`, 'duel room', 5, null],
      participantId: ['', 'x'.repeat(129), 'tab\there', 'caf\u00e9', 'nl\n', 7, undefined],
    },
  ],
  [
    { kind: 'input', frame: 10, input: input4, currentFrame: 8 },
    {
      frame: [
        -1,
        MAX_FRAME + 1,
        1.5,
        Number.NaN,
        Number.POSITIVE_INFINITY,
        '10',
        null,
        undefined,
        10n,
      ],
      input: [
        new Uint8Array(3),
        new Uint8Array(5),
        new Uint8Array(0),
        [1, 2, 3, 4],
        new Uint16Array(4),
        new Uint8ClampedArray(4),
        'abcd',
        null,
      ],
      currentFrame: [-1, 2 ** 31, 0.5, Number.NaN],
    },
  ],
  [
    { kind: 'hash', frame: 10, hash: '0123456789abcdef' },
    {
      hash: [
        '0123456789ABCDEF',
        '0123456789abcde',
        '0123456789abcdef0',
        '0123456789abcdeg',
        '',
        1,
        null,
      ],
      frame: [-5],
    },
  ],
  [
    { kind: 'done', frame: 10, hash: '0123456789abcdef' },
    { hash: ['0x23456789abcdef', ' 123456789abcdef'], frame: [2 ** 40] },
  ],
  [
    { kind: 'ping', id: 1, sentMs: 2.5 },
    {
      id: [-1, 2 ** 32, 0.1, '1'],
      sentMs: [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, '2', null],
    },
  ],
  [{ kind: 'peerPing', sentMs: 1 }, { sentMs: [Number.NaN, undefined] }],
  [
    { kind: 'peerPong', to: 1, sentMs: 1 },
    { to: [-1, 16, 1.5, '1'], sentMs: [Number.NaN] },
  ],
];

const serverBadFields: [ServerMessage, Record<string, unknown[]>][] = [
  [
    { kind: 'waiting', scene: 'duel', waiting: 1, players: 2 },
    { scene: ['DUEL'], waiting: [-1, 65_536, 0.5], players: [0, 17] },
  ],
  [
    { kind: 'start', matchId: 'm1', slot: 1, seed: 7, settings, token: 't' },
    {
      matchId: ['', 'x'.repeat(65), 'a\u0000b'],
      slot: [-1, 16, 2],
      seed: [-1, 2 ** 32, 1.5],
      settings: [null, { ...settings, tickRate: 0 }, { ...settings, extra: 1 }, []],
      token: ['', 'x'.repeat(257)],
    },
  ],
  [
    { kind: 'input', slot: 0, frame: 1, input: input4, currentFrame: 1 },
    { slot: [-1, 16, 0.5], frame: [-1], input: [new Uint8Array(8)], currentFrame: [MAX_FRAME + 1] },
  ],
  [
    { kind: 'peerPing', slot: 0, sentMs: 1 },
    { slot: [16], sentMs: [Number.NaN] },
  ],
  [
    { kind: 'peerPong', slot: 0, to: 1, sentMs: 1 },
    { to: [16], slot: ['0'] },
  ],
  [
    { kind: 'pong', id: 0, sentMs: 1 },
    { id: [-1], sentMs: [Number.POSITIVE_INFINITY] },
  ],
  [
    { kind: 'peerLeft', slot: 0, lastFrame: -1 },
    { lastFrame: [-2, 1.5, MAX_FRAME + 1], slot: [99] },
  ],
  [
    { kind: 'verdict', frame: 1, agreed: true, next: 2, differing: 0 },
    { agreed: [1, 'true', null], frame: [-1], next: [-1], differing: [-1, 0x10000] },
  ],
  [{ kind: 'end', reason: 'finished' }, { reason: ['x'.repeat(257), 5, null] }],
  [
    { kind: 'error', code: 'MALFORMED', message: 'bad' },
    {
      code: ['NOPE', 'malformed', 0, null],
      message: ['x'.repeat(513), 5],
      refused: ['', 'x'.repeat(33), 'in\nput', null],
    },
  ],
];

describe('encoders refuse invalid messages', () => {
  for (const [valid, bad] of clientBadFields) {
    for (const [name, values] of Object.entries(bad)) {
      it(`client ${valid.kind}.${name}`, () => {
        expect(() => encodeClientMessage(valid)).not.toThrow();
        for (const value of values) {
          const m = { ...valid, [name]: value } as ClientMessage;
          expectCode(() => encodeClientMessage(m), 'BAD_FIELD', `${valid.kind}.${name}`);
          // The same values on the wire are refused by the decoder.
          const codec = CLIENT_DIRECTION.byKind.get(valid.kind)!;
          const wire = [
            codec.code,
            ...codec.fields.map((f) => (f.name === name ? value : m[f.name as keyof typeof m])),
          ];
          if (
            typeof value !== 'bigint' &&
            !(value instanceof Uint16Array) &&
            !(value instanceof Uint8ClampedArray)
          ) {
            expectCode(() => decodeClientMessage(pack(wire)), 'BAD_FIELD', `${valid.kind}.${name}`);
          }
        }
      });
    }
  }
  for (const [valid, bad] of serverBadFields) {
    for (const [name, values] of Object.entries(bad)) {
      it(`server ${valid.kind}.${name}`, () => {
        expect(() => encodeServerMessage(valid)).not.toThrow();
        for (const value of values) {
          const m = { ...valid, [name]: value } as ServerMessage;
          expectCode(() => encodeServerMessage(m), 'BAD_FIELD', `${valid.kind}.${name}`);
        }
      });
    }
  }

  it('unknown kinds and non-objects', () => {
    expectCode(
      () => encodeClientMessage({ kind: 'shout' } as unknown as ClientMessage),
      'UNKNOWN_KIND',
      'shout',
    );
    expectCode(
      () => encodeClientMessage({ kind: 'verdict' } as unknown as ClientMessage),
      'UNKNOWN_KIND',
    );
    expectCode(
      () => encodeServerMessage({ kind: 'join' } as unknown as ServerMessage),
      'UNKNOWN_KIND',
    );
    expectCode(() => encodeClientMessage(null as unknown as ClientMessage), 'BAD_FIELD');
    expectCode(() => encodeServerMessage(42 as unknown as ServerMessage), 'BAD_FIELD');
  });

  it('a start slot must be below the number of players', () => {
    const m: ServerMessage = {
      kind: 'start',
      matchId: 'm',
      slot: 2,
      seed: 1,
      settings,
      token: 't',
    };
    expectCode(() => encodeServerMessage(m), 'BAD_FIELD', 'start.slot');
    // The settings as the wire carries them: in wire order, an absent optional one as null.
    const settingsWire = SCENE_SETTINGS_FIELDS.map(([name]) => settings[name] ?? null);
    const wire = pack([1, 'm', 2, 1, settingsWire, 't']);
    expectCode(() => decodeServerMessage(wire), 'BAD_FIELD', 'start.slot');
  });
});

// ---------------------------------------------------------------- decoders refuse invalid bytes

describe('decoders refuse invalid bytes', () => {
  const validInput = [2, 10, input4, 8];

  it('wrong field count: missing or extra fields', () => {
    expectCode(
      () => decodeClientMessage(pack([2, 10, input4])),
      'MALFORMED',
      'input: expected 3 fields, got 2',
    );
    expectCode(() => decodeClientMessage(pack([...validInput, 0])), 'MALFORMED', 'got 4');
    expectCode(() => decodeClientMessage(pack([1, 0])), 'MALFORMED', 'cancel');
    expectCode(() => decodeServerMessage(pack([8])), 'MALFORMED', 'end');
    expectCode(
      () => decodeServerMessage(pack([1, 'm', 0, 1, Object.values(settings).slice(1), 't'])),
      'BAD_FIELD',
      'start.settings',
    );
  });

  it('unknown kind codes', () => {
    for (const code of [16, 99, -1, 1.5, 'input', null, true]) {
      expectCode(() => decodeClientMessage(pack([code, 1])), 'UNKNOWN_KIND');
    }
    expectCode(() => decodeServerMessage(pack([17, 'x'])), 'UNKNOWN_KIND');
  });

  it('not an array, an empty array, not MessagePack, trailing or missing bytes', () => {
    expectCode(
      () => decodeClientMessage(pack({ kind: 'cancel' })),
      'MALFORMED',
      'expected an array',
    );
    expectCode(() => decodeClientMessage(pack(2)), 'MALFORMED');
    expectCode(() => decodeClientMessage(pack('input')), 'MALFORMED');
    expectCode(() => decodeClientMessage(pack([])), 'MALFORMED');
    expectCode(() => decodeClientMessage(new Uint8Array(0)), 'MALFORMED', 'empty');
    expectCode(() => decodeClientMessage(new Uint8Array([0xc1])), 'MALFORMED');
    const ok = encodeClientMessage({ kind: 'input', frame: 10, input: input4, currentFrame: 8 });
    const trailing = new Uint8Array([...ok, 0]);
    expectCode(() => decodeClientMessage(trailing), 'MALFORMED', 'trailing');
    expectCode(() => decodeClientMessage(ok.subarray(0, ok.length - 1)), 'MALFORMED');
    expectCode(() => decodeClientMessage(new Uint8Array(300).fill(0x91)), 'MALFORMED');
  });

  it('non-Uint8Array arguments', () => {
    for (const value of [null, undefined, 'abc', [0x91, 0x01], new ArrayBuffer(2), {}]) {
      expectCode(() => decodeClientMessage(value as Uint8Array), 'MALFORMED');
      expectCode(() => decodeServerMessage(value as Uint8Array), 'MALFORMED');
    }
  });

  it('NaN and other non-integers on the wire', () => {
    expectCode(() => decodeClientMessage(pack([4, 1, Number.NaN])), 'BAD_FIELD', 'ping.sentMs');
    expectCode(
      () => decodeClientMessage(pack([4, 1, Number.POSITIVE_INFINITY])),
      'BAD_FIELD',
      'ping.sentMs',
    );
    expectCode(() => decodeClientMessage(pack([2, 1.5, input4, 8])), 'BAD_FIELD', 'input.frame');
    expectCode(
      () => decodeClientMessage(pack([2, 2 ** 31, input4, 8])),
      'BAD_FIELD',
      'input.frame',
    );
    expectCode(
      () => decodeClientMessage(pack([2, 2n ** 40n, input4, 8])),
      'BAD_FIELD',
      'input.frame',
    );
    expectCode(() => decodeClientMessage(pack([2, 1, 'abcd', 8])), 'BAD_FIELD', 'input.input');
    expectCode(
      () => decodeClientMessage(pack([2, 1, new Uint8Array(5), 8])),
      'BAD_FIELD',
      'input.input',
    );
    expectCode(
      () => decodeClientMessage(pack([3, 1, 'ABCDEF0123456789'])),
      'BAD_FIELD',
      'hash.hash',
    );
    expectCode(() => decodeClientMessage(pack([0, 'duel', ''])), 'BAD_FIELD', 'join.participantId');
  });

  it('oversize messages are refused before decoding', () => {
    const huge = new Uint8Array(MAX_CLIENT_MESSAGE_BYTES + 1).fill(0xc1); // not even MessagePack
    expectCode(
      () => decodeClientMessage(huge),
      'OVERSIZE',
      `${MAX_CLIENT_MESSAGE_BYTES + 1} bytes`,
    );
    expectCode(() => decodeServerMessage(new Uint8Array(MAX_SERVER_MESSAGE_BYTES + 1)), 'OVERSIZE');
    // A kind's own limit: an "input" padded past 32 bytes with garbage after the kind code.
    const paddedInput = new Uint8Array(33).fill(0xc1);
    paddedInput[0] = 0x94;
    paddedInput[1] = 2;
    const err = protocolErrorOf(() => decodeClientMessage(paddedInput));
    expect(err.code).toBe('OVERSIZE');
    expect(err.kind).toBe('input');
    // A cancel with a long extra field is over the cancel limit, whatever else is wrong with it.
    expectCode(() => decodeClientMessage(pack([1, 'x'.repeat(20)])), 'OVERSIZE', 'cancel');
    expectCode(() => decodeClientMessage(pack([2, 1, new Uint8Array(40), 1])), 'OVERSIZE');
  });

  it('every error carries the kind when it is known', () => {
    expect(protocolErrorOf(() => decodeClientMessage(pack([3, 1, 'x']))).kind).toBe('hash');
    expect(protocolErrorOf(() => decodeClientMessage(pack([77]))).kind).toBeUndefined();
  });
});

// ---------------------------------------------------------------- fuzz

/** Decoding `bytes` either throws a ProtocolError, or yields a message that re-encodes to itself. */
function checkTotal(
  bytes: Uint8Array,
  decode: (b: Uint8Array) => unknown,
  encode: (m: never) => Uint8Array,
): void {
  let m: unknown;
  try {
    m = decode(bytes);
  } catch (err) {
    if (!(err instanceof ProtocolError)) throw err;
    expect(PROTOCOL_ERROR_CODES).toContain(err.code);
    // Error messages are short and safe to send back in an `error` reply.
    expect(() =>
      encodeServerMessage({ kind: 'error', code: err.code, message: err.message }),
    ).not.toThrow();
    return;
  }
  expect(decode(encode(m as never))).toEqual(m);
}

/** Fast path and general reader agree: same message, or same error code. */
function checkPathsAgree(bytes: Uint8Array, side: 'client' | 'server'): void {
  const outcome = (f: () => unknown) => {
    try {
      return { ok: f() };
    } catch (err) {
      return { code: (err as ProtocolError).code };
    }
  };
  const fast =
    side === 'client'
      ? outcome(() => decodeClientMessage(bytes))
      : outcome(() => decodeServerMessage(bytes));
  const general = outcome(() =>
    decodeWith(side === 'client' ? CLIENT_DIRECTION : SERVER_DIRECTION, bytes),
  );
  expect(fast).toEqual(general);
}

describe('fuzz: decoding never throws anything but ProtocolError', () => {
  it('random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        checkTotal(bytes, decodeClientMessage, encodeClientMessage);
        checkTotal(bytes, decodeServerMessage, encodeServerMessage);
      }),
      { numRuns: 1000 },
    );
  });

  it('random bytes behind a valid array header and kind code', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0x90, max: 0x9f }),
        fc.integer({ min: 0, max: 12 }),
        fc.uint8Array({ maxLength: 40 }),
        (header, code, rest) => {
          const bytes = new Uint8Array([header, code, ...rest]);
          checkTotal(bytes, decodeClientMessage, encodeClientMessage);
          checkTotal(bytes, decodeServerMessage, encodeServerMessage);
          checkPathsAgree(bytes, 'client');
          checkPathsAgree(bytes, 'server');
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('valid messages with bytes changed, cut or appended', () => {
    const mutated = <T>(arb: fc.Arbitrary<T>, encode: (m: T) => Uint8Array) =>
      fc
        .tuple(
          arb,
          fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 3 }),
          fc.nat(),
          fc.boolean(),
        )
        .map(([m, edits, cut, shorten]) => {
          const bytes = Uint8Array.from(encode(m));
          for (const [at, value] of edits) bytes[at % bytes.length] = value;
          return shorten ? bytes.subarray(0, cut % (bytes.length + 1)) : bytes;
        });
    fc.assert(
      fc.property(mutated(clientArb, encodeClientMessage), (bytes) => {
        checkTotal(bytes, decodeClientMessage, encodeClientMessage);
        checkPathsAgree(bytes, 'client');
      }),
      { numRuns: 1000 },
    );
    fc.assert(
      fc.property(mutated(serverArb, encodeServerMessage), (bytes) => {
        checkTotal(bytes, decodeServerMessage, encodeServerMessage);
        checkPathsAgree(bytes, 'server');
      }),
      { numRuns: 1000 },
    );
  });

  it('arbitrary MessagePack values', () => {
    const valueArb = fc.anything({
      withBigInt: true,
      withDate: true,
      withMap: true,
      withSet: true,
      withTypedArray: true,
      withNullPrototype: true,
    });
    fc.assert(
      fc.property(
        fc.oneof(valueArb, fc.tuple(fc.integer({ min: 0, max: 10 }), valueArb, valueArb)),
        (value) => {
          let bytes: Uint8Array;
          try {
            bytes = pack(value);
          } catch {
            return; // msgpackr cannot write every JS value; not our concern here
          }
          checkTotal(bytes, decodeClientMessage, encodeClientMessage);
          checkTotal(bytes, decodeServerMessage, encodeServerMessage);
        },
      ),
      { numRuns: 1000 },
    );
  });
});
