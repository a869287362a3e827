import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RealClock, VirtualClock } from './scheduler.ts';

describe('VirtualClock', () => {
  it('runs callbacks in time order and equal times in scheduling order', () => {
    const clock = new VirtualClock();
    const seen: string[] = [];
    clock.at(20, () => seen.push('c'));
    clock.at(10, () => seen.push('a'));
    clock.at(20, () => seen.push('d'));
    clock.at(10, () => seen.push('b'));
    expect(clock.pending).toBe(4);
    expect(clock.runAll()).toBe(4);
    expect(seen).toEqual(['a', 'b', 'c', 'd']);
    expect(clock.now()).toBe(20);
    expect(clock.pending).toBe(0);
  });

  it('orders any schedule by (time, insertion) and never moves time backwards', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 50 }), { maxLength: 200 }), (times) => {
        const clock = new VirtualClock();
        const seen: { t: number; i: number; now: number }[] = [];
        times.forEach((t, i) => {
          clock.at(t, () => seen.push({ t, i, now: clock.now() }));
        });
        clock.runAll();
        const expected = times
          .map((t, i) => ({ t, i, now: t }))
          .sort((a, b) => a.t - b.t || a.i - b.i);
        expect(seen).toEqual(expected);
      }),
    );
  });

  it('runs a callback scheduled in the past at the current time', () => {
    const clock = new VirtualClock(100);
    let ranAt = -1;
    clock.at(40, () => {
      ranAt = clock.now();
    });
    clock.runNext();
    expect(ranAt).toBe(100);
  });

  it('runUntil runs what is due, including callbacks scheduled meanwhile, then sets the time', () => {
    const clock = new VirtualClock();
    const seen: number[] = [];
    clock.at(5, () => {
      seen.push(clock.now());
      clock.at(8, () => seen.push(clock.now()));
      clock.at(30, () => seen.push(clock.now()));
    });
    expect(clock.runUntil(10)).toBe(2);
    expect(seen).toEqual([5, 8]);
    expect(clock.now()).toBe(10);
    expect(clock.runUntil(3)).toBe(0);
    expect(clock.now()).toBe(10);
    expect(clock.pending).toBe(1);
  });

  it('cancel removes a callback; runNext reports an empty queue', () => {
    const clock = new VirtualClock();
    const seen: string[] = [];
    const id = clock.at(1, () => seen.push('x'));
    clock.at(2, () => seen.push('y'));
    clock.cancel(id);
    clock.cancel(id);
    expect(clock.pending).toBe(1);
    expect(clock.runNext()).toBe(true);
    expect(clock.runNext()).toBe(false);
    expect(seen).toEqual(['y']);
  });

  it('rejects non-finite times and stops runaway reschedules in runAll', () => {
    const clock = new VirtualClock();
    expect(() => clock.at(Number.NaN, () => {})).toThrow(RangeError);
    const again = (): void => {
      clock.at(clock.now() + 1, again);
    };
    again();
    expect(() => clock.runAll(100)).toThrow(/more than 100/);
  });
});

describe('RealClock', () => {
  it('runs callbacks on the real clock in (time, insertion) order', async () => {
    const clock = new RealClock();
    const start = clock.now();
    const seen: string[] = [];
    const done = new Promise<void>((resolve, reject) => {
      const deadline = setTimeout(() => reject(new Error(`timed out; saw ${seen}`)), 2000);
      const push = (name: string) => () => {
        seen.push(name);
        if (seen.length === 3) {
          clearTimeout(deadline);
          resolve();
        }
      };
      clock.at(start + 8, push('b'));
      clock.at(start + 8, push('c'));
      clock.cancel(clock.at(start + 4, push('cancelled')));
      clock.at(start + 2, push('a'));
    });
    await done;
    expect(seen).toEqual(['a', 'b', 'c']);
    expect(clock.now() - start).toBeGreaterThanOrEqual(8);
    expect(clock.pending).toBe(0);
  });
});
