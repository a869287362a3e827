import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../client/index.ts';
import { ACK_PERIOD_MS, type AckSender, DelayedAcks } from './delayed-acks.ts';
import type { Member } from './room-state.ts';

/** Just what the acknowledgements touch of a member. */
const member = (slot: number) => ({ slot, ackDueTick: -1 }) as unknown as Member;

/** A room's datagram path that records what it sends, and marks the acknowledgement carried. */
function path(clock: VirtualClock) {
  const sent: [number, number][] = [];
  const sender: AckSender = {
    sendTo(m) {
      sent.push([m.slot, clock.now()]);
      DelayedAcks.carried(m);
    },
  };
  return { sent, sender };
}

describe('DelayedAcks', () => {
  it('sends an acknowledgement no datagram carried, once, one to two periods later', () => {
    const clock = new VirtualClock();
    const acks = new DelayedAcks(clock);
    const p = path(clock);
    const a = member(0);
    clock.runUntil(5);
    acks.due(a, p.sender);
    acks.due(a, p.sender); // a second datagram before it went: still one acknowledgement
    clock.runUntil(5 + ACK_PERIOD_MS);
    expect(p.sent).toEqual([]); // the first period: it may yet ride on another datagram
    clock.runAll();
    expect(p.sent).toEqual([[0, 5 + 2 * ACK_PERIOD_MS]]);
    expect(clock.pending).toBe(0); // the timer stops when nothing is due
  });

  it('sends nothing alone when datagrams to the member carry every acknowledgement', () => {
    const clock = new VirtualClock();
    const acks = new DelayedAcks(clock);
    const p = path(clock);
    const a = member(0);
    const b = member(1);
    // Two players at 60 fps, 7 ms apart: each one's input goes to the other, carrying its ack.
    for (let f = 0; f < 60; f++) {
      const t = f * (1000 / 60);
      clock.runUntil(t);
      acks.due(a, p.sender);
      DelayedAcks.carried(b);
      clock.runUntil(t + 7);
      acks.due(b, p.sender);
      DelayedAcks.carried(a);
    }
    clock.runAll();
    // Only the last one, which no datagram followed, went alone.
    const lastDueMs = 59 * (1000 / 60) + 7;
    expect(p.sent.map(([slot]) => slot)).toEqual([1]);
    expect(p.sent[0][1]).toBeGreaterThanOrEqual(lastDueMs + ACK_PERIOD_MS);
    expect(p.sent[0][1]).toBeLessThanOrEqual(lastDueMs + 2 * ACK_PERIOD_MS);
  });

  it('serves several rooms on one timer', () => {
    const clock = new VirtualClock();
    const acks = new DelayedAcks(clock);
    const p1 = path(clock);
    const p2 = path(clock);
    acks.due(member(0), p1.sender);
    acks.due(member(1), p2.sender);
    expect(clock.pending).toBe(1);
    expect(acks.dueCount).toBe(2);
    clock.runAll();
    expect(p1.sent.map(([s]) => s)).toEqual([0]);
    expect(p2.sent.map(([s]) => s)).toEqual([1]);
    acks.due(member(2), p1.sender);
    acks.close();
    clock.runAll();
    expect(p1.sent).toHaveLength(1);
  });
});
