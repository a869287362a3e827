import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initStateHash } from '../../sim/index.ts';
import { tempDir } from '../../test/support/log-files.ts';
import { sampleDuelMatch } from '../../test/support/sample-match.ts';
import { parseMatchLog, readMatchLog } from './reader.ts';
import {
  type BodyRecord,
  type HeaderRecord,
  LOG_FORMAT,
  LogError,
  parseRecord,
} from './records.ts';
import { MatchLogWriter } from './writer.ts';

let dir: string;
let remove: () => Promise<void>;
let header: HeaderRecord;

beforeAll(async () => {
  await initStateHash();
  ({ dir, remove } = await tempDir());
  header = sampleDuelMatch({ frames: 10, players: 2 }).header;
});

afterAll(async () => {
  await remove?.();
});

const H = '0123456789abcdef';

function logOf(...lines: (string | object)[]): Uint8Array {
  const text = lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n');
  return new TextEncoder().encode(`${text}\n`);
}

function thrown(f: () => unknown): LogError {
  try {
    f();
  } catch (err) {
    if (err instanceof LogError) return err;
    throw err;
  }
  throw new Error('did not throw');
}

describe('parseRecord', () => {
  it('accepts every record type', () => {
    const records = [
      { type: 'input', f: 2, s: 0, in: '01ff7f80', ms: 1234.5 },
      { type: 'hash', f: 60, s: 1, h: H, ms: 0 },
      { type: 'verdict', f: 60, agreed: false, hashes: [H, null, 'fedcba9876543210'] },
      { type: 'left', s: 1, lastFrame: -1, ms: 3 },
      { type: 'done', s: 0, f: 600, h: H, ms: 9 },
      { type: 'fault', s: 1, f: 410, reason: 'AssertionError: chef off the grid', ms: 9.5 },
      {
        type: 'referee',
        f: 60,
        from: 30,
        method: 'referee',
        hashes: [H, 'fedcba9876543210'],
        referee: 'fedcba9876543210',
        reason: null,
        right: [1],
        differing: [0],
        source: 1,
        ms: 8,
      },
      {
        type: 'referee',
        f: 60,
        from: null,
        method: 'host',
        hashes: [H, null, 'fedcba9876543210'],
        referee: null,
        reason: 'no sim host on this relay',
        right: [0],
        differing: [2],
        source: 0,
        ms: 8,
      },
      { type: 'end', reason: 'every player left', ms: 10 },
    ];
    for (const r of records) expect(parseRecord(JSON.stringify(r), 5)).toEqual(r);
    expect(parseRecord(JSON.stringify(header), 1)).toEqual(header);
  });

  it.each([
    ['not JSON', '{"type":"input",', /line 7: not JSON/],
    ['an array', '[1,2]', /must be a JSON object/],
    ['an unknown type', '{"type":"rewind","f":1}', /unknown record type "rewind"/],
    [
      'an unknown field',
      `{"type":"hash","f":1,"s":0,"h":"${H}","ms":1,"x":1}`,
      /unknown field "x"/,
    ],
    ['a missing field', '{"type":"input","f":1,"s":0,"ms":1}', /"in" must be 8 lowercase hex/],
    [
      'upper-case hex',
      `{"type":"hash","f":1,"s":0,"h":"${H.toUpperCase()}","ms":1}`,
      /"h" must be 16/,
    ],
    ['short hex', '{"type":"input","f":1,"s":0,"in":"0100","ms":1}', /"in" must be 8/],
    [
      'a negative frame',
      '{"type":"input","f":-1,"s":0,"in":"01000000","ms":1}',
      /"f" must be an integer/,
    ],
    [
      'a fractional frame',
      '{"type":"done","f":1.5,"s":0,"h":"' + H + '","ms":1}',
      /"f" must be an integer/,
    ],
    [
      'slot 16',
      '{"type":"input","f":1,"s":16,"in":"01000000","ms":1}',
      /"s" must be an integer in 0..15/,
    ],
    [
      'negative ms',
      '{"type":"input","f":1,"s":0,"in":"01000000","ms":-1}',
      /"ms" must be a finite/,
    ],
    ['lastFrame -2', '{"type":"left","s":0,"lastFrame":-2,"ms":1}', /"lastFrame"/],
    [
      'an agreed verdict with differing hashes',
      `{"type":"verdict","f":1,"agreed":true,"hashes":["${H}","fedcba9876543210"]}`,
      /agreed/,
    ],
    ['an empty end reason', '{"type":"end","reason":"","ms":1}', /"reason"/],
    [
      'a referee record with an unknown method',
      `{"type":"referee","f":1,"from":null,"method":"vote","hashes":["${H}"],"referee":null,"reason":null,"right":[],"differing":[],"source":null,"ms":1}`,
      /"method" must be one of/,
    ],
    [
      'a referee record with a bad source',
      `{"type":"referee","f":1,"from":0,"method":"referee","hashes":["${H}"],"referee":"${H}","reason":null,"right":[0],"differing":[],"source":"host","ms":1}`,
      /"source"/,
    ],
  ])('refuses %s as DAMAGED naming the line', (_, line, message) => {
    const err = thrown(() => parseRecord(line, 7));
    expect(err.code).toBe('DAMAGED');
    expect(err.line).toBe(7);
    expect(err.message).toMatch(message);
    expect(err.message).toMatch(/^line 7: /);
  });

  it('checks the header: scene, players, sim, seed, time, format', () => {
    const bad: [object, RegExp][] = [
      [{ ...header, scene: { ...header.scene, players: 3 } }, /"players" must be an array of 3/],
      [{ ...header, scene: { ...header.scene, tickRate: 0 } }, /scene: "tickRate"/],
      [{ ...header, scene: { ...header.scene, mode: 'fast' } }, /scene: "mode" must be one of/],
      [{ ...header, scene: { ...header.scene, inputDelay: 31 } }, /scene: "inputDelay"/],
      [{ ...header, scene: { ...header.scene, hashInterval: 0 } }, /scene: "hashInterval"/],
      [{ ...header, scene: { ...header.scene, frames: -1 } }, /scene: "frames"/],
      [{ ...header, sim: { id: 'tug', codeHash: H } }, /scene's sim is "duel"/],
      [{ ...header, sim: { id: 'duel', codeHash: 'x' } }, /"codeHash"/],
      [{ ...header, seed: 2 ** 32 }, /"seed"/],
      [{ ...header, matchId: 'a/b' }, /"matchId"/],
      [{ ...header, startTime: 'yesterday' }, /"startTime"/],
      [
        { ...header, players: [{ slot: 1, participantId: null }, header.players[1]] },
        /players\[0\]\.slot/,
      ],
    ];
    for (const [h, message] of bad) {
      const err = thrown(() => parseRecord(JSON.stringify(h), 1));
      expect(err.code).toBe('DAMAGED');
      expect(err.message).toMatch(message);
    }
    const future = thrown(() =>
      parseRecord(JSON.stringify({ ...header, format: LOG_FORMAT + 1 }), 1),
    );
    expect(future.code).toBe('BAD_FORMAT_VERSION');
    // A scene setting this reader does not know is kept, not refused.
    const extra = { ...header, scene: { ...header.scene, broadcastDivisor: 2 } };
    expect(parseRecord(JSON.stringify(extra), 1)).toEqual(extra);
  });
});

describe('the words of formats 1 to 3', () => {
  it('reads disconnect, reconnect and reconnectGraceMs as left, rejoin and rejoinGraceMs', () => {
    const old = { ...header, format: 3, scene: { ...header.scene, reconnectGraceMs: 5000 } };
    const read = parseRecord(JSON.stringify(old), 1);
    expect(read.type === 'header' && read.scene).toEqual({ ...header.scene, rejoinGraceMs: 5000 });
    expect(parseRecord('{"type":"disconnect","s":1,"lastFrame":4,"ms":3}', 2)).toEqual({
      type: 'left',
      s: 1,
      lastFrame: 4,
      ms: 3,
    });
    expect(parseRecord('{"type":"reconnect","s":1,"f":30,"bytes":200,"ms":3}', 3)).toEqual({
      type: 'rejoin',
      s: 1,
      f: 30,
      bytes: 200,
      ms: 3,
    });
  });
});

describe('away records', () => {
  it('reads the reason of format 5 and an away record without one from older logs', () => {
    expect(parseRecord('{"type":"away","s":1,"lastFrame":40,"reason":"silent","ms":3}', 2)).toEqual(
      { type: 'away', s: 1, lastFrame: 40, reason: 'silent', ms: 3 },
    );
    // Formats 2 to 4 wrote no reason (a closed connection was the only way to go away).
    expect(parseRecord('{"type":"away","s":1,"lastFrame":40,"ms":3}', 2)).toEqual({
      type: 'away',
      s: 1,
      lastFrame: 40,
      ms: 3,
    });
    const err = thrown(() =>
      parseRecord('{"type":"away","s":1,"lastFrame":40,"reason":"asleep","ms":3}', 2),
    );
    expect(err.code).toBe('DAMAGED');
    expect(err.message).toMatch(/"reason"/);
  });
});

describe('inputPath records', () => {
  it("reads which path carries a slot's inputs, and refuses an unknown path", () => {
    const line = '{"type":"inputPath","s":1,"path":"webrtc","reason":"peer","ms":3}';
    expect(parseRecord(line, 2)).toEqual({
      type: 'inputPath',
      s: 1,
      path: 'webrtc',
      reason: 'peer',
      ms: 3,
    });
    const err = thrown(() => parseRecord(line.replace('webrtc', 'udp'), 2));
    expect(err.code).toBe('DAMAGED');
    expect(err.message).toMatch(/"path"/);
  });
});

describe('violation and viewDelay records', () => {
  it('reads an input refused or corrected, and refuses an unknown action or a bad rule name', () => {
    const line =
      '{"type":"violation","s":1,"f":120,"rule":"fireRate","outcome":"corrected","count":10,"action":"warned","ms":2000}';
    expect(parseRecord(line, 2)).toMatchObject({
      type: 'violation',
      rule: 'fireRate',
      action: 'warned',
    });
    expect(parseRecord(line.replace('"f":120', '"f":-1'), 2)).toMatchObject({ f: -1 });
    for (const [from, to, field] of [
      ['warned', 'kicked', '"action"'],
      ['fireRate', 'fire rate', '"rule"'],
      ['corrected', 'ignored', '"outcome"'],
      ['"count":10', '"count":0', '"count"'],
    ]) {
      const err = thrown(() => parseRecord(line.replace(from, to), 2));
      expect(err.code).toBe('DAMAGED');
      expect(err.message).toContain(field);
    }
  });

  it("reads a slot's view delay and refuses one past the rewind cap's range", () => {
    const line = '{"type":"viewDelay","s":0,"f":300,"frames":17,"ms":5000}';
    expect(parseRecord(line, 2)).toEqual({ type: 'viewDelay', s: 0, f: 300, frames: 17, ms: 5000 });
    expect(thrown(() => parseRecord(line.replace('17', '1001'), 2)).message).toMatch(/"frames"/);
  });
});

describe('parseMatchLog', () => {
  const input = (f: number, s: number) => ({ type: 'input', f, s, in: '01000000', ms: f });

  it('refuses logs without a whole, valid header', () => {
    const cases: [Uint8Array, string][] = [
      [new Uint8Array(0), 'NO_HEADER'],
      [new TextEncoder().encode(JSON.stringify(header).slice(0, 50)), 'TRUNCATED'],
      [logOf(input(2, 0)), 'NO_HEADER'],
      [logOf('{"type":"header",'), 'DAMAGED'],
      [logOf({ ...header, format: LOG_FORMAT + 1 }), 'BAD_FORMAT_VERSION'],
      [logOf({ ...header, seed: 'x' }), 'DAMAGED'],
    ];
    for (const [bytes, code] of cases) {
      const err = thrown(() => parseMatchLog(bytes));
      expect(err.code).toBe(code);
      expect(err.line).toBe(1);
    }
  });

  it('ignores a cut last line and reports it', () => {
    const bytes = logOf(header, input(2, 0));
    const cut = new Uint8Array([...bytes, ...new TextEncoder().encode('{"type":"inp')]);
    const log = parseMatchLog(cut);
    expect(log.truncated).toBe(true);
    expect(log.truncatedLine).toBe(3);
    expect(log.records).toHaveLength(1);
    expect(log.damaged).toBeNull();
    const whole = parseMatchLog(bytes);
    expect(whole.truncated).toBe(false);
    expect(whole.truncatedLine).toBeNull();
  });

  it.each([
    ['an empty line', [''], /line 3: empty line/],
    ['a second header', ['HEADER'], /a second header/],
    [
      'a record after the end',
      [{ type: 'end', reason: 'x', ms: 1 }, input(3, 1)],
      /line 4: .*after the end/,
    ],
    ['a slot outside the players', [input(2, 2)], /slot 2 is outside the match's 2 players/],
    [
      'a referee record naming a slot outside the players',
      [
        {
          type: 'referee',
          f: 0,
          from: 0,
          method: 'referee',
          hashes: [H, H],
          referee: H,
          reason: null,
          right: [0, 1],
          differing: [],
          source: 2,
          ms: 1,
        },
      ],
      /slot 2 is outside the match's 2 players/,
    ],
    [
      'a verdict with too few hashes',
      [{ type: 'verdict', f: 0, agreed: true, hashes: [H] }],
      /1 hashes for 2 players/,
    ],
    [
      'an input before the input delay',
      [input(1, 1)],
      /input of slot 1 for frame 1, below the input delay 2/,
    ],
    ['a gap', [input(3, 1)], /gap: slot 1 has no input for frame 2/],
    [
      'an input after it left',
      [{ type: 'left', s: 0, lastFrame: 2, ms: 1 }, input(3, 0)],
      /after it left/,
    ],
    [
      'a left record with the wrong lastFrame',
      [{ type: 'left', s: 0, lastFrame: 5, ms: 1 }],
      /lastFrame 5 but the last input of slot 0 is frame 2/,
    ],
    [
      'a left record past inputs never sent',
      [{ type: 'left', s: 1, lastFrame: 2, ms: 1 }],
      /lastFrame 2 but slot 1 sent no input/,
    ],
    [
      'a second left record',
      [
        { type: 'left', s: 1, lastFrame: -1, ms: 1 },
        { type: 'left', s: 1, lastFrame: -1, ms: 2 },
      ],
      /left twice/,
    ],
  ])('stops at %s and keeps what precedes it', (_, tail, message) => {
    // The table is built before beforeAll runs: 'HEADER' stands for the header.
    const lines = (tail as (string | object)[]).map((l) => (l === 'HEADER' ? header : l));
    const log = parseMatchLog(logOf(header, input(2, 0), ...lines, input(3, 0)));
    expect(log.damaged?.message).toMatch(message);
    const line = log.damaged!.line;
    expect(log.damaged?.message).toMatch(new RegExp(`^line ${line}: `));
    expect(log.records).toHaveLength(line - 2);
  });

  it('accepts a left record below the input delay for a slot that sent nothing', () => {
    for (const lastFrame of [-1, 0, 1]) {
      const log = parseMatchLog(logOf(header, { type: 'left', s: 1, lastFrame, ms: 1 }));
      expect(log.damaged).toBeNull();
    }
  });

  it('names a line that is not UTF-8', () => {
    const good = logOf(header, input(2, 0));
    const bytes = new Uint8Array([...good, 0xff, 0xfe, 0x0a]);
    const log = parseMatchLog(bytes);
    expect(log.damaged).toEqual({ line: 3, message: 'line 3: not UTF-8' });
    expect(log.records).toHaveLength(1);
  });
});

/** A random valid log: a header and body records consistent with it. */
const arbLog = fc
  .record({
    players: fc.integer({ min: 1, max: 4 }),
    inputDelay: fc.integer({ min: 0, max: 3 }),
    seed: fc.integer({ min: 0, max: 0xffffffff }),
    name: fc.string({ unit: 'binary', minLength: 1, maxLength: 12 }),
    participants: fc.array(fc.option(fc.string({ unit: 'binary', minLength: 1, maxLength: 12 })), {
      minLength: 4,
      maxLength: 4,
    }),
    events: fc.array(
      fc.record({
        kind: fc.constantFrom('input', 'input', 'input', 'hash', 'verdict', 'left', 'done'),
        slot: fc.nat(15),
        frame: fc.nat(100_000),
        ms: fc.double({ min: 0, max: 1e9, noNaN: true }).map(Math.abs),
        hash: fc
          .bigInt({ min: 0n, max: 2n ** 64n - 1n })
          .map((b) => b.toString(16).padStart(16, '0')),
        bytes: fc.integer({ min: 0, max: 0xffffffff }).map((n) => n.toString(16).padStart(8, '0')),
        agreed: fc.boolean(),
      }),
      { maxLength: 80 },
    ),
    end: fc.option(fc.string({ unit: 'binary', minLength: 1, maxLength: 20 })),
  })
  .map(({ players, inputDelay, seed, name, participants, events, end }) => {
    const h: HeaderRecord = {
      ...header,
      scene: { ...header.scene, name, players, inputDelay },
      seed,
      players: participants
        .slice(0, players)
        .map((participantId, slot) => ({ slot, participantId })),
    };
    const next = new Array(players).fill(inputDelay);
    const left = new Array(players).fill(false);
    const body: BodyRecord[] = [];
    for (const e of events) {
      const s = e.slot % players;
      if (e.kind === 'input' && !left[s]) {
        body.push({ type: 'input', f: next[s]++, s, in: e.bytes, ms: e.ms });
      } else if (e.kind === 'hash') {
        body.push({ type: 'hash', f: e.frame, s, h: e.hash, ms: e.ms });
      } else if (e.kind === 'verdict') {
        const hashes = Array.from({ length: players }, (_, i) =>
          (i + e.frame) % 3 === 0 ? null : e.agreed ? e.hash : `${i}`.padStart(16, '0'),
        );
        const agreed = e.agreed || new Set(hashes.filter((x) => x !== null)).size <= 1;
        body.push({ type: 'verdict', f: e.frame, agreed, hashes });
      } else if (e.kind === 'left' && !left[s]) {
        left[s] = true;
        body.push({ type: 'left', s, lastFrame: next[s] - 1, ms: e.ms });
      } else if (e.kind === 'done') {
        body.push({ type: 'done', s, f: e.frame, h: e.hash, ms: e.ms });
      }
    }
    return { header: h, body, end };
  });

describe('write then read', () => {
  it('gives back exactly the records written (property)', async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(arbLog, async ({ header: h0, body, end }) => {
        const h = { ...h0, matchId: `prop-${n++}` };
        const w = await MatchLogWriter.open(dir, h.matchId, h);
        for (const r of body) w.append(r);
        const endRecord = end === null ? undefined : ({ type: 'end', reason: end, ms: 1 } as const);
        await w.close(endRecord);
        const log = await readMatchLog(w.path);
        expect(log.damaged).toBeNull();
        expect(log.truncated).toBe(false);
        expect(log.header).toEqual(h);
        expect(log.records).toEqual(endRecord ? [...body, endRecord] : body);
        expect(LOG_FORMAT).toBe(log.header.format);
      }),
      { numRuns: 60 },
    );
  });
});
