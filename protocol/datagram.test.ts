import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type ClientDatagram,
  clientDatagramView,
  decodeClientDatagram,
  decodeServerDatagram,
  encodeClientDatagram,
  encodeServerDatagram,
  heldOf,
  MAX_CLIENT_DATAGRAM_BYTES,
  MAX_DATAGRAM_INPUTS,
  MAX_SERVER_DATAGRAM_BYTES,
  readClientDatagram,
  type ServerDatagram,
  ServerDatagramWriter,
  serverDatagramBytes,
} from './datagram.ts';
import { ProtocolError, type ProtocolErrorCode } from './errors.ts';
import { MAX_FRAME, MAX_PLAYERS } from './limits.ts';

const inputArb = fc.uint8Array({ minLength: 4, maxLength: 4 });
const frameArb = fc.integer({ min: 0, max: MAX_FRAME });

const clientArb: fc.Arbitrary<ClientDatagram> = fc
  .record({
    currentFrame: frameArb,
    startFrame: frameArb,
    inputs: fc.array(inputArb, { maxLength: MAX_DATAGRAM_INPUTS }),
    held: fc.array(fc.integer({ min: -1, max: MAX_FRAME }), { maxLength: MAX_PLAYERS }),
  })
  .map((d) => ({
    kind: 'inputs' as const,
    ...d,
    startFrame: Math.min(d.startFrame, MAX_FRAME + 1 - Math.max(1, d.inputs.length)),
  }));

const serverArb: fc.Arbitrary<ServerDatagram> = fc
  .record({
    ack: fc.integer({ min: -1, max: MAX_FRAME }),
    runs: fc.uniqueArray(
      fc.record({
        slot: fc.integer({ min: 0, max: MAX_PLAYERS - 1 }),
        startFrame: frameArb,
        currentFrame: frameArb,
        inputs: fc.array(inputArb, { minLength: 1, maxLength: MAX_DATAGRAM_INPUTS }),
      }),
      { selector: (r) => r.slot, maxLength: MAX_PLAYERS },
    ),
  })
  .map((d) => ({
    kind: 'inputs' as const,
    ack: d.ack,
    runs: d.runs.map((r) => ({
      ...r,
      startFrame: Math.min(r.startFrame, MAX_FRAME + 1 - r.inputs.length),
    })),
  }))
  .filter((d) => serverDatagramBytes(d.runs) <= MAX_SERVER_DATAGRAM_BYTES);

function codeOf(f: () => unknown): ProtocolErrorCode | 'none' {
  try {
    f();
    return 'none';
  } catch (e) {
    if (e instanceof ProtocolError) return e.code;
    throw e;
  }
}

describe('client datagram', () => {
  it('round-trips every valid datagram, at the documented size', () => {
    fc.assert(
      fc.property(clientArb, (d) => {
        const bytes = encodeClientDatagram(d);
        expect(bytes.length).toBe(11 + 4 * d.inputs.length + 4 * d.held.length);
        expect(bytes.length).toBeLessThanOrEqual(MAX_CLIENT_DATAGRAM_BYTES);
        expect(decodeClientDatagram(bytes)).toEqual(d);
      }),
    );
  });

  it('decodes inputs as copies, not views of the received buffer', () => {
    const bytes = encodeClientDatagram({
      kind: 'inputs',
      currentFrame: 3,
      startFrame: 1,
      inputs: [new Uint8Array([1, 2, 3, 4])],
      held: [0],
    });
    const d = decodeClientDatagram(bytes);
    bytes.fill(0);
    expect([...d.inputs[0]]).toEqual([1, 2, 3, 4]);
  });

  it('refuses oversize before decoding, then kind, truncation and trailing bytes', () => {
    const big = new Uint8Array(MAX_CLIENT_DATAGRAM_BYTES + 1).fill(0xff);
    expect(codeOf(() => decodeClientDatagram(big))).toBe('OVERSIZE');
    expect(codeOf(() => decodeClientDatagram(new Uint8Array(0)))).toBe('MALFORMED');
    expect(codeOf(() => decodeClientDatagram(new Uint8Array([2, 0, 0, 0, 0])))).toBe(
      'UNKNOWN_KIND',
    );
    expect(codeOf(() => decodeClientDatagram('x' as unknown as Uint8Array))).toBe('MALFORMED');
    const good = encodeClientDatagram({
      kind: 'inputs',
      currentFrame: 9,
      startFrame: 5,
      inputs: [new Uint8Array(4), new Uint8Array(4)],
      held: [4, -1],
    });
    for (let n = 1; n < good.length; n++) {
      expect(codeOf(() => decodeClientDatagram(good.subarray(0, n)))).toBe('MALFORMED');
    }
    const longer = new Uint8Array(good.length + 1);
    longer.set(good);
    expect(codeOf(() => decodeClientDatagram(longer))).toBe('MALFORMED');
  });

  it('refuses counts and frames out of range', () => {
    const d = encodeClientDatagram({
      kind: 'inputs',
      currentFrame: 0,
      startFrame: 0,
      inputs: [],
      held: [],
    });
    const tooMany = d.slice();
    tooMany[9] = MAX_DATAGRAM_INPUTS + 1;
    expect(codeOf(() => decodeClientDatagram(tooMany))).toBe('BAD_FIELD');
    const hugeFrame = d.slice();
    hugeFrame[1] = 0x80;
    expect(codeOf(() => decodeClientDatagram(hugeFrame))).toBe('BAD_FIELD');
    const heldBelow = encodeClientDatagram({
      kind: 'inputs',
      currentFrame: 0,
      startFrame: 0,
      inputs: [],
      held: [-1],
    });
    heldBelow[11] = 0xff;
    heldBelow[14] = 0xfe; // -2
    expect(codeOf(() => decodeClientDatagram(heldBelow))).toBe('BAD_FIELD');
    const pastEnd = encodeClientDatagram({
      kind: 'inputs',
      currentFrame: 0,
      startFrame: MAX_FRAME,
      inputs: [new Uint8Array(4)],
      held: [],
    });
    pastEnd[9] = 2;
    expect(codeOf(() => decodeClientDatagram(pastEnd))).toBe('BAD_FIELD');
  });

  it('refuses to encode invalid fields', () => {
    const base: ClientDatagram = {
      kind: 'inputs',
      currentFrame: 0,
      startFrame: 0,
      inputs: [],
      held: [],
    };
    expect(codeOf(() => encodeClientDatagram({ ...base, currentFrame: -1 }))).toBe('BAD_FIELD');
    expect(codeOf(() => encodeClientDatagram({ ...base, inputs: [new Uint8Array(3)] }))).toBe(
      'BAD_FIELD',
    );
    expect(
      codeOf(() => encodeClientDatagram({ ...base, inputs: Array(65).fill(new Uint8Array(4)) })),
    ).toBe('BAD_FIELD');
    expect(codeOf(() => encodeClientDatagram({ ...base, held: Array(17).fill(0) }))).toBe(
      'BAD_FIELD',
    );
  });
});

describe('server datagram', () => {
  it('round-trips every valid datagram', () => {
    fc.assert(
      fc.property(serverArb, (d) => {
        const bytes = encodeServerDatagram(d);
        expect(bytes.length).toBe(serverDatagramBytes(d.runs));
        expect(decodeServerDatagram(bytes)).toEqual(d);
      }),
    );
  });

  it('refuses two runs of one slot, empty runs, and too much for one datagram', () => {
    const run = { slot: 1, startFrame: 0, currentFrame: 0, inputs: [new Uint8Array(4)] };
    expect(codeOf(() => encodeServerDatagram({ kind: 'inputs', ack: -1, runs: [run, run] }))).toBe(
      'BAD_FIELD',
    );
    const bytes = encodeServerDatagram({
      kind: 'inputs',
      ack: -1,
      runs: [run, { ...run, slot: 2 }],
    });
    bytes[20] = 1; // the second run's slot
    expect(codeOf(() => decodeServerDatagram(bytes))).toBe('BAD_FIELD');
    const empty = encodeServerDatagram({ kind: 'inputs', ack: -1, runs: [run] });
    empty[15] = 0;
    expect(codeOf(() => decodeServerDatagram(empty.subarray(0, 16)))).toBe('BAD_FIELD');
    const full = { ...run, inputs: Array(64).fill(new Uint8Array(4)) };
    expect(
      codeOf(() =>
        encodeServerDatagram({
          kind: 'inputs',
          ack: -1,
          runs: [0, 1, 2, 3, 4].map((slot) => ({ ...full, slot })),
        }),
      ),
    ).toBe('OVERSIZE');
    expect(codeOf(() => decodeServerDatagram(new Uint8Array(MAX_SERVER_DATAGRAM_BYTES + 1)))).toBe(
      'OVERSIZE',
    );
  });
});

describe('any bytes', () => {
  it('decode to a valid datagram or a ProtocolError, never anything else', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => {
        codeOf(() => decodeClientDatagram(bytes));
        codeOf(() => decodeServerDatagram(bytes));
      }),
    );
  });

  it('truncating or extending a valid datagram is always refused', () => {
    fc.assert(
      fc.property(clientArb, serverArb, fc.nat(), (c, s, cut) => {
        const cb = encodeClientDatagram(c);
        expect(codeOf(() => decodeClientDatagram(cb.subarray(0, cut % cb.length)))).not.toBe(
          'none',
        );
        const sb = encodeServerDatagram(s);
        expect(codeOf(() => decodeServerDatagram(sb.subarray(0, cut % sb.length)))).not.toBe(
          'none',
        );
        const extended = new Uint8Array(sb.length + 1);
        extended.set(sb);
        expect(codeOf(() => decodeServerDatagram(extended))).not.toBe('none');
      }),
    );
  });
});

describe('the forward path: readClientDatagram and ServerDatagramWriter', () => {
  it('reads in place what decodeClientDatagram decodes, and refuses what it refuses', () => {
    fc.assert(
      fc.property(clientArb, (d) => {
        const bytes = encodeClientDatagram(d);
        const view = clientDatagramView();
        readClientDatagram(bytes, view);
        const decoded = decodeClientDatagram(bytes);
        expect(view.startFrame).toBe(decoded.startFrame);
        expect(view.currentFrame).toBe(decoded.currentFrame);
        expect(view.count).toBe(decoded.inputs.length);
        decoded.inputs.forEach((input, i) => {
          expect(bytes.subarray(view.inputsAt + 4 * i, view.inputsAt + 4 * i + 4)).toEqual(input);
        });
        expect(Array.from({ length: view.players }, (_, i) => heldOf(bytes, view, i))).toEqual(
          decoded.held,
        );
      }),
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => {
        let a: unknown = null;
        let b: unknown = null;
        try {
          decodeClientDatagram(bytes);
        } catch (e) {
          a = (e as ProtocolError).code;
        }
        try {
          readClientDatagram(bytes, clientDatagramView());
        } catch (e) {
          b = (e as ProtocolError).code;
        }
        expect(b).toBe(a);
      }),
    );
  });

  it('writes, datagram after datagram into one buffer, what decodeServerDatagram reads', () => {
    const w = new ServerDatagramWriter();
    const source = {
      copyInput: (f: number, out: Uint8Array, at: number) => out.set([f & 0xff, 1, 2, 3], at),
    };
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            ack: fc.integer({ min: -1, max: 1000 }),
            runs: fc.uniqueArray(
              fc.record({
                slot: fc.integer({ min: 0, max: MAX_PLAYERS - 1 }),
                startFrame: fc.integer({ min: 0, max: 1000 }),
                currentFrame: fc.integer({ min: 0, max: 1000 }),
                count: fc.integer({ min: 1, max: 16 }),
              }),
              { selector: (r) => r.slot, maxLength: 4 },
            ),
          }),
          { minLength: 1, maxLength: 4 },
        ),
        (datagrams) => {
          for (const d of datagrams) {
            w.begin(d.ack);
            for (const r of d.runs) w.addRun(r.slot, r.startFrame, r.currentFrame, r.count, source);
            const got = decodeServerDatagram(w.bytes());
            expect(got.ack).toBe(d.ack);
            expect(
              got.runs.map((r) => [r.slot, r.startFrame, r.currentFrame, r.inputs.length]),
            ).toEqual(d.runs.map((r) => [r.slot, r.startFrame, r.currentFrame, r.count]));
            got.runs.forEach((r) => {
              r.inputs.forEach((input, i) => {
                expect(Array.from(input)).toEqual([(r.startFrame + i) & 0xff, 1, 2, 3]);
              });
            });
          }
        },
      ),
    );
  });
});
