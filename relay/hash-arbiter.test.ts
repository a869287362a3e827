import { describe, expect, it } from 'vitest';
import { HashArbiter, type Verdict } from './hash-arbiter.ts';

const A = 'aaaaaaaaaaaaaaaa';
const B = 'bbbbbbbbbbbbbbbb';

/** Every voter reports `hashes[slot]` for the next check, then the arbiter judges. */
function check(arbiter: HashArbiter, hashes: readonly string[]): Verdict | null {
  const frame = arbiter.nextCheck;
  for (const [slot, h] of hashes.entries()) expect(arbiter.report(slot, frame, h)).toBeNull();
  return arbiter.judge(hashes.map((_, slot) => slot));
}

const brief = (v: Verdict | null) =>
  v && [v.frame, v.agreed, v.differing, v.next, v.interval, v.converged];

describe('HashArbiter', () => {
  it('doubles K on agreement up to K_max, falls back to K_min on a desync, and says when it converged', () => {
    const a = new HashArbiter(2, 30, 120);
    const verdicts = [
      check(a, [A, A]),
      check(a, [A, A]),
      check(a, [A, A]),
      check(a, [A, B]),
      check(a, [B, B]),
      check(a, [A, A]),
      check(a, [A, A]),
      check(a, [A, A]),
    ].map(brief);
    expect(verdicts).toEqual([
      [30, true, [], 60, 60, null],
      [60, true, [], 120, 120, null],
      [120, true, [], 240, 120, null],
      [240, false, [1], 270, 30, null],
      [270, true, [], 300, 60, 240],
      [300, true, [], 360, 120, null],
      [360, true, [], 480, 120, null],
      [480, true, [], 600, 120, null],
    ]);
    expect(a.lastAgreed).toBe(480);
  });

  it('takes the lowest voter as host and masks every slot that differs from it', () => {
    const a = new HashArbiter(4, 10, 10);
    expect(a.report(1, 10, A)).toBeNull();
    expect(a.report(2, 10, B)).toBeNull();
    expect(a.report(3, 10, B)).toBeNull();
    // Slot 0 is away: slot 1 is the host and slots 2 and 3 differ from it.
    const v = a.judge([1, 2, 3]);
    expect(v).toMatchObject({ frame: 10, agreed: false, host: 1, differing: [2, 3] });
    expect(v?.differingMask).toBe(0b1100);
    expect(v?.hashes).toEqual([null, A, B, B]);
  });

  it('waits for every voter, and judges when a missing voter goes', () => {
    const a = new HashArbiter(3, 30, 60);
    expect(a.report(0, 30, A)).toBeNull();
    expect(a.report(1, 30, A)).toBeNull();
    expect(a.judge([0, 1, 2])).toBeNull();
    expect(a.judge([0, 1])).toMatchObject({ frame: 30, agreed: true, next: 60 });
  });

  it('refuses reports for another frame, twice for one frame, and from a slot that skips the check', () => {
    const a = new HashArbiter(2, 30, 60);
    expect(a.report(0, 60, A)).toMatch(/next check is frame 30/);
    expect(a.report(0, 30, A)).toBeNull();
    expect(a.report(0, 30, A)).toMatch(/already reported/);
    a.skipCurrentCheck(1);
    expect(a.report(1, 30, A)).toMatch(/not asked/);
    // Slot 1 does not vote on frame 30, so slot 0 alone decides it; slot 1 votes on the next.
    expect(brief(a.judge([0, 1]))).toEqual([30, true, [], 60, 60, null]);
    expect(brief(check(a, [A, B]))).toEqual([60, false, [1], 90, 30, null]);
  });
});
