import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../client/index.ts';
import { decodeServerMessage, type SceneSettings, type ServerMessage } from '../protocol/index.ts';
import { memoryLog } from '../test/support/virtual-relay.ts';
import { MatchRoom } from './room.ts';
import { emptyRoomCounters } from './room-state.ts';
import { BUILTIN_SCENES } from './scenes.ts';

/** A duel room of `settings.players` seats on a virtual clock; each seat's link collects what it is sent. */
function room(settings: SceneSettings, awayAfterSilentMs = 2000, clock = new VirtualClock()) {
  const seats = Array.from({ length: settings.players }, (_, slot) => slot);
  const log = memoryLog();
  const counters = emptyRoomCounters();
  const refused: string[] = [];
  const r = new MatchRoom({
    matchId: 'm',
    settings,
    seed: 1,
    log,
    defaultInputs: seats.map(() => new Uint8Array(4)),
    counters,
    hooks: {
      refuse: (_m, code, message) => refused.push(`${code}: ${message}`),
      event: () => {},
      ended: () => {},
    },
    scheduler: clock,
    maxFramesAhead: 1024,
    awayAfterSilentMs,
  });
  const inboxes: ServerMessage[][] = seats.map(() => []);
  const closed = seats.map(() => false);
  for (const slot of seats) {
    r.seat(
      `p${slot}`,
      {
        send: (b) => inboxes[slot].push(decodeServerMessage(b)),
        close: () => {
          closed[slot] = true;
        },
      },
      `t${slot}`,
    );
  }
  r.begin();
  return { clock, log, counters, refused, room: r, inboxes, closed };
}

const input = new Uint8Array([1, 0, 0, 0]);

describe('MatchRoom input history', () => {
  it('stays bounded when peers never report hashes (no agreed checkpoint to trim at)', () => {
    const settings: SceneSettings = { ...BUILTIN_SCENES.duel, rejoinGraceMs: 1000 };
    const { room: r, counters, refused } = room(settings, 0);
    const frames = 30_000;
    for (let f = settings.inputDelay; f < frames; f++) {
      r.input(r.members[0], f, input, f);
      r.input(r.members[1], f, input, f);
    }
    expect(refused).toEqual([]);
    expect(counters.inputsForwarded).toBe(2 * (frames - settings.inputDelay));
    // Grace 1 s at 60 Hz + 2 × K_max (240) + the frame window (1024) = 1564 frames, 2 inputs each,
    // plus at most one trim period of growth.
    expect(r.historySize).toBeLessThan(2 * 1564 * 2 + 4096);
  });
});

describe('MatchRoom presence', () => {
  const settings: SceneSettings = { ...BUILTIN_SCENES.duel, rejoinGraceMs: 5000 };

  it('takes a silent member as away, closes its connection, plays its default input, and lets it go after the grace period', () => {
    const { clock, log, room: r, inboxes, closed, counters } = room(settings);
    // Slot 0 keeps talking, slot 1 falls silent after its first input.
    r.input(r.members[1], 2, input, 2);
    for (let t = 0; t <= 2600; t += 100) {
      clock.runUntil(t);
      r.members[0].heard = true;
    }
    expect(r.members[1].status).toBe('away');
    expect(r.members[0].status).toBe('connected');
    expect(closed).toEqual([false, true]);
    expect(counters.silentAway).toBe(1);
    expect(log.records).toContainEqual({
      type: 'away',
      s: 1,
      lastFrame: 2,
      reason: 'silent',
      ms: expect.any(Number),
    });
    expect(inboxes[0]).toContainEqual({ kind: 'peerAway', slot: 1, lastFrame: 2 });
    // While it is away the relay plays its default input as slot 0 plays on.
    r.input(r.members[0], 2, input, 2);
    r.input(r.members[0], 3, input, 3);
    expect(r.members[1].nextFrame).toBe(4);
    expect(inboxes[0].filter((m) => m.kind === 'input')).toMatchObject([
      { slot: 1, frame: 2 },
      { slot: 1, frame: 3 },
    ]);
    for (let t = 2600; t <= 8000; t += 100) {
      clock.runUntil(t);
      r.members[0].heard = true;
    }
    expect(r.members[1].status).toBe('left');
    expect(inboxes[0]).toContainEqual({ kind: 'peerLeft', slot: 1, lastFrame: 3 });
    expect(r.ended).toBe(false);
  });

  it('counts silence afresh after a sweep that came late because the relay itself stalled', () => {
    const clock = new VirtualClock();
    let lateMs = 0;
    // The relay's event loop stalls: the next timer fires `lateMs` after its time.
    const stalling = {
      now: () => clock.now(),
      at: (t: number, fn: () => void) => clock.at(t + lateMs, fn),
      cancel: (id: number) => clock.cancel(id),
    };
    const { room: r } = room(settings, 2000, stalling as unknown as VirtualClock);
    lateMs = 3000;
    clock.runUntil(3400); // the first sweep (due at 500) runs at 3500: not yet
    lateMs = 0;
    clock.runUntil(3600);
    // Nobody was heard for 3.5 s, but the relay could not have read them: both still play.
    expect(r.members.map((m) => m.status)).toEqual(['connected', 'connected']);
    clock.runUntil(3600 + 2600);
    // Silent as long again while the relay was attentive: slot 0 goes away, and slot 1, then the
    // only one left playing, has left with it (nobody to play with); the match is over.
    expect(r.members.map((m) => m.status)).toEqual(['away', 'left']);
    expect(r.ended).toBe(true);
  });

  it("refuses a rejoin with a token of no seat, or of another participant's seat", () => {
    const { room: r } = room(settings);
    r.disconnected(r.members[1]);
    expect(r.members[1].status).toBe('away');
    const link = { send: () => {} };
    expect(r.rejoin('t9', 'p1', link)).toMatch(/no seat's of match m/);
    expect(r.rejoin('t1', 'p0', link)).toMatch(/another participant's/);
    expect(r.rejoin('t0', 'p0', link)).toMatch(/connected already/);
    expect(r.members[1].status).toBe('away');
    expect(r.rejoin('t1', 'p1', link)).toBe(r.members[1]);
    expect(r.members[1]).toMatchObject({ status: 'connected', syncing: true });
  });

  it('refuses the retired resyncRequest', () => {
    const { room: r, refused } = room(settings);
    r.handle(r.members[1], { kind: 'resyncRequest', frame: 30, signature: new Uint8Array(0) });
    expect(refused).toEqual([expect.stringMatching(/^UNKNOWN_KIND: resyncRequest is retired/)]);
  });
});

describe('MatchRoom checks around a rejoin', () => {
  const three: SceneSettings = {
    ...BUILTIN_SCENES.duel,
    name: 'duel-3',
    players: 3,
    hashInterval: 30,
    hashIntervalMax: 120,
    rejoinGraceMs: 5000,
  };
  const h = (c: string) => c.repeat(16);

  it('tells a member whose rejoin completes the next check frame, and takes its first report', () => {
    const { room: r, inboxes, refused } = room(three, 0);
    for (const m of r.members) r.handle(m, { kind: 'hash', frame: 30, hash: h('a') });
    r.disconnected(r.members[0]);
    const inbox: ServerMessage[] = [];
    expect(r.rejoin('t0', 'p0', { send: (b) => inbox.push(decodeServerMessage(b)) })).toBe(
      r.members[0],
    );
    // The host asked for the rejoining slot's state is slot 1, the lowest that votes.
    expect(inboxes[1].at(-1)).toMatchObject({ kind: 'stateRequest', frame: 30, forSlot: 0 });
    // While slot 0 syncs, slots 1 and 2 agree on frame 60: it misses that verdict.
    for (const m of r.members.slice(1)) r.handle(m, { kind: 'hash', frame: 60, hash: h('b') });
    expect(inbox.filter((m) => m.kind === 'verdict')).toEqual([]);
    const state = { frame: 30, hash: h('a'), baseFrame: -1, fullBytes: 3, forSlot: 0 };
    r.handle(r.members[1], { kind: 'state', ...state, bytes: new Uint8Array(3) });
    // Its syncing over, it gets the state, then the last verdict again: the next check is 120.
    expect(inbox.filter((m) => m.kind === 'state' || m.kind === 'verdict')).toMatchObject([
      { kind: 'state', frame: 30 },
      { kind: 'verdict', frame: 60, agreed: true, next: 120 },
    ]);
    for (const m of r.members) r.handle(m, { kind: 'hash', frame: 120, hash: h('c') });
    expect(refused).toEqual([]);
    expect(r.arbiter.lastAgreed).toBe(120);
  });

  it('asks the same host as the verdict names: never a just-rejoined lower slot that does not vote yet', () => {
    const { room: r, inboxes, log } = room(three, 0);
    for (const m of r.members) r.handle(m, { kind: 'hash', frame: 30, hash: h('a') });
    r.disconnected(r.members[0]);
    const inbox: ServerMessage[] = [];
    r.rejoin('t0', 'p0', { send: (b) => inbox.push(decodeServerMessage(b)) });
    const state = { frame: 30, hash: h('a'), baseFrame: -1, fullBytes: 3, forSlot: 0 };
    r.handle(r.members[1], { kind: 'state', ...state, bytes: new Uint8Array(3) });
    // Slot 0 is back and synced, but votes only from the check after frame 60.
    expect(r.members[0].syncing).toBe(false);
    expect(r.host()).toBe(r.members[1]);
    r.handle(r.members[1], { kind: 'hash', frame: 60, hash: h('b') });
    r.handle(r.members[2], { kind: 'hash', frame: 60, hash: h('d') });
    expect(log.records.find((x) => x.type === 'desync')).toMatchObject({ host: 1, differing: [2] });
    expect(inboxes[1].at(-1)).toMatchObject({ kind: 'stateRequest', frame: 60, forSlot: 2 });
    // The delta fails at slot 2: the full state comes from the same source, not from slot 0.
    const before = inbox.length;
    r.handle(r.members[2], { kind: 'stateFailed', frame: 60 });
    expect(inboxes[1].at(-1)).toMatchObject({ kind: 'stateRequest', frame: 60, baseFrame: -1 });
    expect(inbox.slice(before).filter((m) => m.kind === 'stateRequest')).toEqual([]);
  });
});
