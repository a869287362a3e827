import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeClientDatagram,
  decodeServerDatagram,
  encodeClientDatagram,
  encodeServerDatagram,
} from '../../protocol/datagram.ts';
import { InputReceiver, type ReceivedInput, RedundantInputSender } from './redundant-inputs.ts';

const input = (frame: number) =>
  new Uint8Array([frame & 0xff, (frame >> 8) & 0xff, (frame * 7) & 0xff, 0x5a]);

describe('RedundantInputSender', () => {
  it('repeats every unacknowledged input and drops them on ack', () => {
    const s = new RedundantInputSender(10, 4);
    for (let f = 10; f < 13; f++) s.push(f, input(f));
    expect(s.datagram(12, [-1, 5])).toEqual({
      kind: 'inputs',
      currentFrame: 12,
      startFrame: 10,
      inputs: [input(10), input(11), input(12)],
      held: [-1, 5],
    });
    expect(s.ack(9)).toBe(0);
    expect(s.ack(11)).toBe(2);
    expect(s.ack(10)).toBe(0); // stale, reordered
    expect(s.datagram(12, []).inputs).toEqual([input(12)]);
    expect(s.firstUnacked).toBe(12);
    expect(s.ack(13)).toBe(0);
    expect(s.badAcks).toBe(1);
  });

  it('bounds the window: a full window refuses the next input', () => {
    const s = new RedundantInputSender(0, 2);
    s.push(0, input(0));
    s.push(1, input(1));
    expect(s.canPush()).toBe(false);
    expect(() => s.push(2, input(2))).toThrow(RangeError);
    s.ack(0);
    s.push(2, input(2));
    expect(() => s.push(4, input(4))).toThrow(/expected frame 3/);
    expect(() => s.push(3, new Uint8Array(3))).toThrow(RangeError);
  });

  it('copies pushed inputs', () => {
    const s = new RedundantInputSender();
    const bytes = input(1);
    s.push(0, bytes);
    bytes.fill(0);
    expect(s.datagram(0, []).inputs[0]).toEqual(input(1));
  });
});

describe('InputReceiver', () => {
  it('delivers in frame order once, drops equal repeats, refuses and counts different ones', () => {
    const r = new InputReceiver(5);
    expect(r.ack).toBe(4);
    expect(r.receive(6, [input(6), input(7)])).toEqual([]);
    expect(r.receive(5, [input(5), input(6)])).toEqual([
      { frame: 5, input: input(5) },
      { frame: 6, input: input(6) },
      { frame: 7, input: input(7) },
    ]);
    expect(r.ack).toBe(7);
    expect(r.receive(7, [new Uint8Array([9, 9, 9, 9]), input(8)])).toEqual([
      { frame: 8, input: input(8) },
    ]);
    expect(r.receive(9, [new Uint8Array(4)])).toHaveLength(1);
    expect(r.receive(9, [new Uint8Array([1, 0, 0, 0])])).toEqual([]);
    expect(r.stats()).toEqual({
      delivered: 5,
      duplicates: 1,
      conflicts: 2,
      stale: 0,
      outOfWindow: 0,
    });
  });

  it('refuses inputs past its window and drops inputs older than its history', () => {
    const r = new InputReceiver(0, 4, 2);
    r.receive(4, [input(4)]);
    expect(r.stats().outOfWindow).toBe(1);
    r.receive(0, [input(0), input(1), input(2), input(3)]);
    r.receive(0, [input(0)]);
    expect(r.stats()).toMatchObject({ delivered: 4, stale: 1, duplicates: 0 });
  });
});

/** One datagram in flight, as encoded bytes, and when it arrives (in steps). */
interface Flight {
  readonly at: number;
  readonly bytes: Uint8Array;
}

const scheduleArb = fc.record({
  seed: fc.integer(),
  frames: fc.integer({ min: 1, max: 400 }),
  lossPct: fc.integer({ min: 0, max: 60 }),
  duplicatePct: fc.integer({ min: 0, max: 30 }),
  maxDelaySteps: fc.integer({ min: 0, max: 12 }),
  window: fc.integer({ min: 1, max: 64 }),
});

describe('sender and receiver under loss, duplication and reorder', () => {
  it('every input is delivered exactly once, in frame order', () => {
    fc.assert(
      fc.property(scheduleArb, ({ seed, frames, lossPct, duplicatePct, maxDelaySteps, window }) => {
        let state = seed >>> 0 || 1;
        const rand = () => {
          // xorshift32: the schedule follows from fast-check's seed alone
          state ^= state << 13;
          state ^= state >>> 17;
          state ^= state << 5;
          return (state >>> 0) / 2 ** 32;
        };
        const sender = new RedundantInputSender(3, window);
        const receiver = new InputReceiver(3);
        const got: ReceivedInput[] = [];
        const up: Flight[] = [];
        const down: Flight[] = [];
        const transmit = (queue: Flight[], step: number, bytes: Uint8Array) => {
          if (rand() * 100 < lossPct) return;
          queue.push({ at: step + Math.floor(rand() * (maxDelaySteps + 1)), bytes });
          if (rand() * 100 < duplicatePct) {
            queue.push({ at: step + Math.floor(rand() * (maxDelaySteps + 1)), bytes });
          }
        };
        const arrived = (queue: Flight[], step: number) => {
          const now = queue.filter((f) => f.at <= step);
          for (const f of now) queue.splice(queue.indexOf(f), 1);
          return now.sort(() => rand() - 0.5);
        };
        let next = 3;
        const last = 3 + frames - 1;
        let step = 0;
        for (; step < 100_000 && receiver.ack < last; step++) {
          if (next <= last && sender.canPush()) sender.push(next, input(next++));
          transmit(up, step, encodeClientDatagram(sender.datagram(next, [])));
          for (const f of arrived(up, step)) {
            const d = decodeClientDatagram(f.bytes);
            got.push(...receiver.receive(d.startFrame, d.inputs));
            transmit(
              down,
              step,
              encodeServerDatagram({ kind: 'inputs', ack: receiver.ack, runs: [] }),
            );
          }
          for (const f of arrived(down, step)) sender.ack(decodeServerDatagram(f.bytes).ack);
        }
        expect(got.map((g) => g.frame)).toEqual(Array.from({ length: frames }, (_, i) => 3 + i));
        for (const g of got) expect(g.input).toEqual(input(g.frame));
        expect(receiver.stats().conflicts).toBe(0);
        expect(sender.badAcks).toBe(0);
      }),
      { numRuns: 200 },
    );
  });
});
