import { describe, expect, it } from 'vitest';
import type { SceneSettings } from '../protocol/index.ts';
import type { MatchLogWriter } from './log/index.ts';
import { emptyRoomCounters, MatchRoom, type Member, type RoomCounters } from './room.ts';
import { BUILTIN_SCENES } from './scenes.ts';

describe('MatchRoom input history', () => {
  it('stays bounded when peers never report hashes (no agreed checkpoint to trim at)', () => {
    const settings: SceneSettings = { ...BUILTIN_SCENES.duel, rejoinGraceMs: 1000 };
    const records: unknown[] = [];
    // Only the log's appends are used on this path; the real writer is tested in relay/log.
    const log = {
      append: (r: unknown) => records.push(r),
      appendInput: (f: number, s: number, input: Uint8Array, ms: number) =>
        records.push({ type: 'input', f, s, input: [...input], ms }),
      close: async () => {},
    } as unknown as MatchLogWriter;
    const counters: RoomCounters = emptyRoomCounters();
    const refused: string[] = [];
    const room = new MatchRoom(
      'm',
      settings,
      1,
      log,
      [new Uint8Array(4), new Uint8Array(4)],
      counters,
      {
        refuse: (_m, code) => refused.push(code),
        event: () => {},
        ended: () => {},
        now: () => 0,
      },
      1024,
      0,
    );
    const member = (slot: number): Member => ({
      slot,
      participantId: null,
      token: `t${slot}`,
      link: { send: () => {} },
      status: 'connected',
      nextFrame: settings.inputDelay,
      doneFrame: null,
      syncing: false,
      voteFrom: 0,
      awayTimer: null,
    });
    room.members.push(member(0), member(1));
    const input = new Uint8Array([1, 0, 0, 0]);
    const frames = 30_000;
    for (let f = settings.inputDelay; f < frames; f++) {
      room.input(room.members[0], f, input, f);
      room.input(room.members[1], f, input, f);
    }
    expect(refused).toEqual([]);
    expect(counters.inputsForwarded).toBe(2 * (frames - settings.inputDelay));
    // Grace 1 s at 60 Hz + 2 × K_max (240) + the frame window (1024) = 1564 frames, 2 inputs each,
    // plus at most one trim period of growth.
    expect(room.historySize).toBeLessThan(2 * 1564 * 2 + 4096);
  });
});
