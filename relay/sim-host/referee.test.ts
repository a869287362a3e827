import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SimHostError } from './errors.ts';
import { type ArbitrationFacts, arbitrate, type RefereeOutcome, votesAgree } from './referee.ts';

// Hashes as the peers report them: G is the line that follows from the inputs, B and C damaged.
const G = '00000000000000aa';
const B = '00000000000000bb';
const C = '00000000000000cc';
const ran = (hash: string): RefereeOutcome => ({ kind: 'hash', hash });
const down: RefereeOutcome = { kind: 'unavailable', reason: 'sim cannot run on the relay' };

function facts(reports: (string | null)[], referee: RefereeOutcome | null): ArbitrationFacts {
  return { frame: 120, fromFrame: 60, reports, referee };
}

interface Case {
  readonly name: string;
  readonly reports: (string | null)[];
  readonly referee: RefereeOutcome | null;
  readonly method: 'agreed' | 'referee' | 'host';
  readonly right: number[];
  readonly repair: number[];
  /** Sources in order: slots, or 'R' for the referee. */
  readonly sources: (number | 'R')[];
  readonly absent?: number[];
}

const cases: Case[] = [
  // All agree.
  ...[2, 3, 4].map(
    (n): Case => ({
      name: `${n} players, all agree, referee not run`,
      reports: new Array(n).fill(G),
      referee: null,
      method: 'agreed',
      right: [...Array(n).keys()],
      repair: [],
      sources: [],
    }),
  ),
  ...[2, 3, 4].map(
    (n): Case => ({
      name: `${n} players, all agree with the referee`,
      reports: new Array(n).fill(G),
      referee: ran(G),
      method: 'agreed',
      right: [...Array(n).keys()],
      repair: [],
      sources: [],
    }),
  ),
  // The host (slot 0) is damaged: the referee repairs it from the lowest right peer.
  {
    name: '2 players, host damaged',
    reports: [B, G],
    referee: ran(G),
    method: 'referee',
    right: [1],
    repair: [0],
    sources: [1, 'R'],
  },
  {
    name: '3 players, host damaged',
    reports: [B, G, G],
    referee: ran(G),
    method: 'referee',
    right: [1, 2],
    repair: [0],
    sources: [1, 2, 'R'],
  },
  {
    name: '4 players, host damaged',
    reports: [B, G, G, G],
    referee: ran(G),
    method: 'referee',
    right: [1, 2, 3],
    repair: [0],
    sources: [1, 2, 3, 'R'],
  },
  {
    name: '4 players, host and slot 2 damaged differently',
    reports: [B, G, C, G],
    referee: ran(G),
    method: 'referee',
    right: [1, 3],
    repair: [0, 2],
    sources: [1, 3, 'R'],
  },
  {
    name: '4 players, damaged majority agrees with the host: the referee still decides',
    reports: [B, B, B, G],
    referee: ran(G),
    method: 'referee',
    right: [3],
    repair: [0, 1, 2],
    sources: [3, 'R'],
  },
  // A non-host peer is damaged.
  {
    name: '2 players, guest damaged',
    reports: [G, B],
    referee: ran(G),
    method: 'referee',
    right: [0],
    repair: [1],
    sources: [0, 'R'],
  },
  {
    name: '3 players, slot 2 damaged',
    reports: [G, G, B],
    referee: ran(G),
    method: 'referee',
    right: [0, 1],
    repair: [2],
    sources: [0, 1, 'R'],
  },
  // Every copy damaged: the referee's own state repairs all.
  {
    name: '2 players, all damaged differently',
    reports: [B, C],
    referee: ran(G),
    method: 'referee',
    right: [],
    repair: [0, 1],
    sources: ['R'],
  },
  {
    name: '3 players, all damaged',
    reports: [B, C, B],
    referee: ran(G),
    method: 'referee',
    right: [],
    repair: [0, 1, 2],
    sources: ['R'],
  },
  {
    name: '4 players, all damaged alike (unanimous but wrong)',
    reports: [B, B, B, B],
    referee: ran(G),
    method: 'referee',
    right: [],
    repair: [0, 1, 2, 3],
    sources: ['R'],
  },
  // A peer missing (away, left, syncing): neither right nor repaired.
  {
    name: '3 players, host missing, the others agree',
    reports: [null, G, G],
    referee: null,
    method: 'agreed',
    right: [1, 2],
    repair: [],
    sources: [],
    absent: [0],
  },
  {
    name: '3 players, host missing, slot 1 (the acting host) damaged',
    reports: [null, B, G],
    referee: ran(G),
    method: 'referee',
    right: [2],
    repair: [1],
    sources: [2, 'R'],
    absent: [0],
  },
  {
    name: '4 players, slot 2 missing, slot 3 damaged',
    reports: [G, G, null, B],
    referee: ran(G),
    method: 'referee',
    right: [0, 1],
    repair: [3],
    sources: [0, 1, 'R'],
    absent: [2],
  },
  {
    name: '2 players, one missing',
    reports: [G, null],
    referee: null,
    method: 'agreed',
    right: [0],
    repair: [],
    sources: [],
    absent: [1],
  },
  // The fallback: no referee, today's host rule.
  {
    name: '2 players, referee unavailable: the host is taken as right',
    reports: [B, G],
    referee: down,
    method: 'host',
    right: [0],
    repair: [1],
    sources: [0],
  },
  {
    name: '3 players, referee not run: the host and those agreeing with it',
    reports: [G, B, G],
    referee: null,
    method: 'host',
    right: [0, 2],
    repair: [1],
    sources: [0, 2],
  },
  {
    name: '4 players, referee unavailable, host damaged: the damaged host wins (the old rule)',
    reports: [B, G, G, G],
    referee: down,
    method: 'host',
    right: [0],
    repair: [1, 2, 3],
    sources: [0],
  },
  {
    name: '4 players, referee unavailable, host missing: the lowest voter is the host',
    reports: [null, G, B, C],
    referee: down,
    method: 'host',
    right: [1],
    repair: [2, 3],
    sources: [1],
    absent: [0],
  },
];

describe('arbitrate', () => {
  for (const c of cases) {
    it(c.name, () => {
      const a = arbitrate(facts(c.reports, c.referee));
      expect(a.method).toBe(c.method);
      expect(a.right).toEqual(c.right);
      expect(a.repair).toEqual(c.repair);
      expect(a.agreed).toBe(c.repair.length === 0);
      expect(a.absent).toEqual(c.absent ?? []);
      expect(
        a.sources.map((s) => (s.kind === 'peer' ? s.slot : 'R')),
        'repair sources, best first',
      ).toEqual(c.sources);
      const r = a.record;
      expect(r.type).toBe('referee');
      expect(r.f).toBe(120);
      expect(r.method).toBe(c.method);
      expect(r.hashes).toEqual(c.reports);
      expect(r.right).toEqual(c.right);
      expect(r.differing).toEqual(c.repair);
      expect(r.source).toBe(
        c.sources.length === 0 ? null : c.sources[0] === 'R' ? 'referee' : c.sources[0],
      );
      if (c.referee?.kind === 'hash') {
        expect(a.rightHash).toBe(c.referee.hash);
        expect(r.from).toBe(60);
        expect(r.referee).toBe(c.referee.hash);
        expect(r.reason).toBeNull();
      } else {
        expect(r.from).toBeNull();
        expect(r.referee).toBeNull();
      }
      if (c.method === 'host') {
        expect(r.reason).toBe(
          c.referee === null ? 'referee not run' : 'sim cannot run on the relay',
        );
      }
      // The record is JSON: one line of the match log.
      expect(JSON.parse(JSON.stringify(r))).toEqual(r);
    });
  }

  it('throws NO_VOTES when no slot voted', () => {
    expect(() => arbitrate(facts([null, null], ran(G)))).toThrow(SimHostError);
    try {
      arbitrate(facts([null, null, null], null));
    } catch (e) {
      expect((e as SimHostError).code).toBe('NO_VOTES');
    }
  });

  it('does not keep or alter the reports it is given', () => {
    const reports = [B, G];
    const a = arbitrate(facts(reports, ran(G)));
    reports[0] = G;
    expect(a.record.hashes).toEqual([B, G]);
  });

  it('holds its invariants for any votes (property)', () => {
    const hash = fc.constantFrom(G, B, C, null);
    fc.assert(
      fc.property(
        fc.array(hash, { minLength: 2, maxLength: 4 }),
        fc.option(fc.constantFrom(ran(G), ran(B), down), { nil: null }),
        (reports, referee) => {
          fc.pre(reports.some((h) => h !== null));
          const a = arbitrate(facts(reports, referee));
          const voters = reports.flatMap((h, s) => (h === null ? [] : [s]));
          // Every voter is either right or repaired, never both; non-voters are neither.
          expect([...a.right, ...a.repair].sort()).toEqual(voters);
          for (const s of a.right) expect(reports[s]).toBe(a.rightHash);
          for (const s of a.repair) expect(reports[s]).not.toBe(a.rightHash);
          // A referee's hash is always the right one; without it a voter's is.
          if (referee?.kind === 'hash') expect(a.rightHash).toBe(referee.hash);
          else expect(voters.some((s) => reports[s] === a.rightHash)).toBe(true);
          // Repairs come from a right peer (lowest first) or the referee, never a damaged one.
          if (a.repair.length > 0) {
            expect(a.sources.length).toBeGreaterThan(0);
            const peers = a.sources.flatMap((s) => (s.kind === 'peer' ? [s.slot] : []));
            expect(peers).toEqual(a.right);
          } else {
            expect(a.sources).toEqual([]);
          }
          expect(a.agreed).toBe(a.repair.length === 0);
          if (a.method === 'agreed') expect(votesAgree(reports)).toBe(true);
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('votesAgree', () => {
  it('ignores non-voters and needs one voter', () => {
    expect(votesAgree([G, G, null])).toBe(true);
    expect(votesAgree([null, G])).toBe(true);
    expect(votesAgree([G, B])).toBe(false);
    expect(votesAgree([null, null])).toBe(false);
    expect(votesAgree([])).toBe(false);
  });
});
