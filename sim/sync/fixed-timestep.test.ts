import { describe, expect, it } from 'vitest';
import { FixedTimestep } from './fixed-timestep.ts';
import { slowdownFor, TimeSync } from './time-sync.ts';

describe('FixedTimestep', () => {
  it('turns elapsed time into whole ticks and keeps the remainder', () => {
    const t = new FixedTimestep({ tickRate: 50 }); // 20 ms
    expect(t.update(10)).toBe(0);
    expect(t.update(10)).toBe(1);
    expect(t.update(45)).toBe(2);
    expect(t.backlogMs).toBeCloseTo(5);
    expect(t.alpha).toBeCloseTo(0.25);
  });

  it('catches up after a slow frame over several updates instead of dropping ticks', () => {
    const t = new FixedTimestep({ tickRate: 100, maxTicksPerUpdate: 4 }); // 10 ms
    expect(t.update(105)).toBe(4);
    expect(t.update(0)).toBe(4);
    expect(t.update(0)).toBe(2);
    expect(t.update(0)).toBe(0);
    expect(t.droppedMs).toBe(0);
  });

  it('counts, never hides, time beyond the backlog bound', () => {
    const t = new FixedTimestep({ tickRate: 100, maxTicksPerUpdate: 1000, maxBacklogMs: 500 });
    expect(t.update(800)).toBe(50);
    expect(t.droppedMs).toBe(300);
  });

  it('slowdown lengthens ticks', () => {
    const t = new FixedTimestep({ tickRate: 100 });
    t.setSlowdown(0.2);
    expect(t.update(100)).toBe(8);
    expect(() => new FixedTimestep({ tickRate: 0 })).toThrow(RangeError);
  });
});

describe('TimeSync', () => {
  it('estimates frame advantage from remote frames and the round trip', () => {
    const ts = new TimeSync(3, 0, 60);
    expect(ts.frameAdvantage()).toBe(0);
    ts.setRtt(1, 100); // one way 50 ms = 3 frames
    ts.setRtt(2, 100);
    ts.onRemoteFrame(1, 90, 100); // remote now ~93: we are ~7 ahead
    ts.onRemoteFrame(2, 97, 100); // remote now ~100: level
    expect(ts.frameAdvantage()).toBeCloseTo(7);
    expect(slowdownFor(ts.frameAdvantage())).toBeCloseTo(0.2);
    expect(slowdownFor(0.5)).toBe(0);
    expect(slowdownFor(2)).toBeCloseTo(0.1);
  });
});
