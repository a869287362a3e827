import { describe, expect, it } from 'vitest';
import { type Input, NEUTRAL_INPUT } from '../index.ts';
import { HostLead, PredictReconcileSession } from './predict-reconcile.ts';

const I = (buttons: number): Input => ({ buttons, x: 0, y: 0 });
const state = new Uint8Array([1, 2, 3]);

describe('PredictReconcileSession', () => {
  it('applies the local input at the frame it is captured and sends it stamped for that frame', () => {
    const s = new PredictReconcileSession({ players: 2, localSlot: 1 });
    const r = s.advanceFrame(I(4));
    expect(r).toEqual({
      stalled: false,
      requests: [{ kind: 'advance', frame: 0, inputs: [NEUTRAL_INPUT, I(4)] }],
    });
    expect(s.drainOutgoing()).toEqual([{ kind: 'input', frame: 0, input: I(4), currentFrame: 0 }]);
    expect(s.frame).toBe(1);
  });

  it('plays the default input below the input delay and sends nothing for those frames', () => {
    const s = new PredictReconcileSession({ players: 1, localSlot: 0, inputDelay: 2 });
    s.advanceFrame(I(1));
    s.advanceFrame(I(1));
    const r = s.advanceFrame(I(1));
    expect(r.requests).toEqual([{ kind: 'advance', frame: 2, inputs: [I(1)] }]);
    expect(s.drainOutgoing().map((m) => m.frame)).toEqual([2]);
  });

  it('loads a host state and re-simulates its own unacknowledged inputs on it, predicting the others by the host’s last inputs', () => {
    const s = new PredictReconcileSession({ players: 2, localSlot: 0 });
    for (let f = 0; f < 5; f++) s.advanceFrame(I(10 + f));
    expect(s.receiveState({ frame: 3, state, inputs: [I(12), I(7)] })).toBe(true);
    const r = s.advanceFrame(I(15));
    expect(r.requests).toEqual([
      { kind: 'restore', frame: 3, state },
      { kind: 'save', frame: 3 },
      { kind: 'hash', frame: 3 },
      { kind: 'free', frames: [3] },
      { kind: 'advance', frame: 3, inputs: [I(13), I(7)] },
      { kind: 'advance', frame: 4, inputs: [I(14), I(7)] },
      { kind: 'advance', frame: 5, inputs: [I(15), I(7)] },
    ]);
    expect(s.stats()).toMatchObject({
      frame: 6,
      hostFrame: 3,
      reconciliations: 1,
      resimulatedFrames: 2,
      maxResimulatedFrames: 2,
    });
  });

  it('jumps to a host state of a later frame than its own, and drops an older state', () => {
    const s = new PredictReconcileSession({ players: 1, localSlot: 0 });
    s.advanceFrame(I(1));
    s.receiveState({ frame: 9, state, inputs: [I(1)] });
    expect(s.receiveState({ frame: 6, state, inputs: [I(1)] })).toBe(false);
    const r = s.advanceFrame(I(2));
    expect(r.requests.map((q) => q.kind)).toEqual(['restore', 'save', 'hash', 'free', 'advance']);
    expect(r.requests.at(-1)).toMatchObject({ frame: 9 });
    expect(s.stats()).toMatchObject({ frame: 10, jumps: 1, staleStates: 1 });
    // The skipped frames go out too: the relay takes a player's inputs in order.
    expect(s.drainOutgoing().map((m) => m.frame)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('a rejoining client sends its inputs from the frame the relay resumes it at', () => {
    const s = new PredictReconcileSession({ players: 1, localSlot: 0, firstInputFrame: 5 });
    s.receiveState({ frame: 3, state, inputs: [I(0)] });
    for (let i = 0; i < 4; i++) s.advanceFrame(I(1));
    expect(s.drainOutgoing().map((m) => m.frame)).toEqual([5, 6]);
  });

  it('stalls once it runs the prediction window past the last host state', () => {
    const s = new PredictReconcileSession({ players: 1, localSlot: 0, maxPredictionWindow: 2 });
    s.receiveState({ frame: 0, state, inputs: [I(0)] });
    expect(s.advanceFrame(I(1)).stalled).toBe(false);
    expect(s.advanceFrame(I(1)).stalled).toBe(false);
    expect(s.advanceFrame(I(1))).toEqual({ stalled: true, requests: [] });
    expect(s.stats().stalls).toBe(1);
  });

  it('refuses settings out of range', () => {
    expect(() => new PredictReconcileSession({ players: 2, localSlot: 2 })).toThrow(/localSlot/);
    expect(
      () => new PredictReconcileSession({ players: 1, localSlot: 0, maxPredictionWindow: 0 }),
    ).toThrow(/maxPredictionWindow/);
  });
});

describe('HostLead', () => {
  it('aims a round trip and a margin ahead of the host', () => {
    const lead = new HostLead(60, 2);
    expect(lead.targetFrame(0, 100)).toBeNull();
    // Frame 60 arrives at 1000 ms with a 100 ms round trip: the host is at about frame 63 then.
    lead.sample(60, 1000, 100);
    expect(lead.hostFrame(1000)).toBeCloseTo(63, 5);
    // Its inputs take another 50 ms (3 frames), plus the margin of 2.
    expect(lead.targetFrame(1000, 100)).toBeCloseTo(68, 5);
    expect(lead.targetFrame(2000, 100)).toBeCloseTo(128, 5);
  });
});
