import { describe, expect, it } from 'vitest';
import { decodeServerMessage } from '../../protocol/index.ts';
import { applyStateDelta } from '../../sim/index.ts';
import { InputAuthority, StateHistory, stateMessages } from './authority.ts';

const bytes = (...b: number[]) => new Uint8Array([...b, 0, 0, 0].slice(0, 4));
const D0 = bytes(0);
const D1 = bytes(9);

describe('InputAuthority: confirm or replace', () => {
  it('plays the defaults below the input delay, then each input at the frame it is stamped for', () => {
    const a = new InputAuthority(2, 2, [D0, D1]);
    expect(a.receive(0, 2, bytes(5))).toBe('accepted');
    expect(a.receive(1, 2, bytes(6))).toBe('accepted');
    expect([...a.confirm()]).toEqual([...D0, ...D1]); // frame 0
    expect([...a.confirm()]).toEqual([...D0, ...D1]); // frame 1
    expect([...a.confirm()]).toEqual([...bytes(5), ...bytes(6)]); // frame 2
    expect(a.lastInputFrames).toEqual([2, 2]);
    expect(a.frame).toBe(3);
  });

  it('confirms the last input for a frame whose input is missing, and counts the late one', () => {
    const a = new InputAuthority(2, 0, [D0, D0]);
    a.receive(0, 0, bytes(1));
    a.receive(1, 0, bytes(2));
    a.confirm(); // frame 0
    a.receive(0, 1, bytes(3));
    expect([...a.confirm()]).toEqual([...bytes(3), ...bytes(2)]); // slot 1 replaced
    expect(a.replaced).toEqual([0, 1]);
    expect(a.receive(1, 1, bytes(4))).toBe('late');
    expect(a.late).toEqual([0, 1]);
    expect(a.lastInputFrames).toEqual([1, 0]);
    // The late input is dropped: frame 2 repeats slot 1's frame-1 input again.
    expect([...a.confirm()].slice(4)).toEqual([...bytes(2)]);
  });

  it('keeps the first input for a frame and reports a second as a duplicate', () => {
    const a = new InputAuthority(1, 0, [D0]);
    expect(a.receive(0, 0, bytes(1))).toBe('accepted');
    expect(a.receive(0, 0, bytes(2))).toBe('duplicate');
    expect([...a.confirm()]).toEqual([...bytes(1)]);
  });

  it('passes every input through the per-frame apply hook, the seam of input validation', () => {
    const seen: string[] = [];
    const a = new InputAuthority(2, 0, [D0, D0], (slot, frame, input, replaced) => {
      seen.push(`${slot}@${frame}${replaced ? ' replaced' : ''}`);
      return slot === 1 ? D0 : input;
    });
    a.receive(0, 0, bytes(7));
    a.receive(1, 0, bytes(8));
    expect([...a.confirm()]).toEqual([...bytes(7), ...D0]);
    a.confirm();
    expect(seen).toEqual(['0@0', '1@0', '0@1 replaced', '1@1 replaced']);
  });
});

describe('StateHistory', () => {
  it('keeps the last `capacity` states by frame', () => {
    const h = new StateHistory(2);
    for (const frame of [3, 6, 9]) h.push({ frame, hash: 'x', bytes: new Uint8Array([frame]) });
    expect(h.get(3)).toBeUndefined();
    expect(h.get(6)?.bytes[0]).toBe(6);
    expect(h.get(9)?.bytes[0]).toBe(9);
    expect(h.size).toBe(2);
  });
});

describe('stateMessages', () => {
  const base = new Uint8Array(200).map((_, i) => i);
  const target = base.slice();
  target[50] = 255;
  const history = new StateHistory(8);
  history.push({ frame: 3, hash: '0'.repeat(16), bytes: base });
  const state = { frame: 6, hash: '1'.repeat(16), bytes: target };
  history.push(state);
  const inputs = new Uint8Array(12);

  it('sends a delta against the acknowledged state, the full state to one that acknowledged none', () => {
    const { messages, bytes } = stateMessages(state, history, [3, -1, 3], [5, 5, 5], inputs);
    const [a, b] = messages.map((m) => decodeServerMessage(m!));
    expect(a).toMatchObject({ kind: 'authState', frame: 6, baseFrame: 3 });
    expect(b).toMatchObject({ kind: 'authState', frame: 6, baseFrame: -1, bytes: target });
    expect(messages[0]).toBe(messages[2]); // one delta for every client with the same base
    if (a.kind !== 'authState') throw new Error('not authState');
    expect(applyStateDelta(base, a.bytes, { allowUnchecked: true })).toEqual(target);
    expect(bytes.deltas).toBe(2);
    expect(bytes.fulls).toBe(1);
    expect(bytes.deltaBytes).toBeLessThan(bytes.fullBytes * 2);
  });

  it('sends the full state when the acknowledged state is no longer held, and none to a null slot', () => {
    const { messages } = stateMessages(state, history, [1, null], [5, 5], new Uint8Array(8));
    expect(decodeServerMessage(messages[0]!)).toMatchObject({ baseFrame: -1 });
    expect(messages[1]).toBeNull();
  });
});
