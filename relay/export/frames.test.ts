import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActionMap, DUEL_ACTIONS, initStateHash } from '../../sim/index.ts';
import { tempDir, writeLogWithTimer } from '../../test/support/log-files.ts';
import { sampleDuelMatch } from '../../test/support/sample-match.ts';
import { replayMatchLog } from '../log/index.ts';
import { matchFrames } from './frames.ts';

let dir: string;
let remove: () => Promise<void>;

beforeAll(async () => {
  await initStateHash();
  ({ dir, remove } = await tempDir());
});

afterAll(async () => {
  await remove?.();
});

describe('a frame table', () => {
  it('names actions by the header, numbers episodes, marks default inputs and departures', async () => {
    const match = sampleDuelMatch({
      matchId: 'episodic',
      players: 3,
      frames: 200,
      seed: 9,
      leave: { slot: 2, lastFrame: 120 },
    });
    const actions = createActionMap(
      { actions: { 'ArrowLeft+ArrowUp': 'UPLEFT', Space: 'FIRE' }, defaultAction: 'NOOP' },
      DUEL_ACTIONS,
    ).toRecord();
    // Two episodes of 100 frames: the sample's hashes are of one episode, so only its inputs and
    // the departure are kept (a replay then has nothing to check but the final state).
    const header = { ...match.header, actions, episodes: { episodes: 2, framesPerEpisode: 100 } };
    const records = match.records.filter((r) => r.type === 'input' || r.type === 'left');
    const writer = await writeLogWithTimer(dir, header, records);

    const seen: { frame: number; buttons: number[] | null }[] = [];
    const replay = await replayMatchLog(writer.path, {
      onFrame: ({ frame, inputs }) =>
        seen.push({ frame, buttons: inputs ? inputs.map((i) => i.buttons) : null }),
    });
    const t = await matchFrames(writer.path);
    const col = (name: string) => t.columns.findIndex((c) => c.name === name);
    expect(t.rows).toHaveLength(201);
    expect(t.rows.map((r) => r[col('frame')])).toEqual(seen.map((s) => s.frame));
    // Episode 0 up to frame 99, 1 from 100 to the end (the final state counts as the last episode's).
    expect(t.rows[99][col('episode')]).toBe(0);
    expect(t.rows[100][col('episode')]).toBe(1);
    expect(t.rows[200][col('episode')]).toBe(1);
    for (let s = 0; s < 3; s++) {
      expect(t.rows.map((r) => r[col(`p${s}_buttons`)])).toEqual(
        seen.map((x) => (x.buttons ? x.buttons[s] : null)),
      );
    }
    // Before the input delay (2) every slot plays the header's default, NOOP; slot 2 too after
    // it left (its last input frame 120).
    expect(t.rows[0][col('p0_action')]).toBe('NOOP');
    expect(t.rows[0][col('p0_default')]).toBe(true);
    expect(t.rows[2][col('p0_default')]).toBe(false);
    expect(t.rows[120][col('p2_default')]).toBe(false);
    expect(t.rows[121][col('p2_default')]).toBe(true);
    expect(t.rows[121][col('p2_action')]).toBe('NOOP');
    expect(t.rows[121][col('events')]).toEqual([
      { type: 'left', s: 2, lastFrame: 120, ms: expect.any(Number) },
    ]);
    // The hash at the last row, the end record on it; no other hash without check frames.
    expect(t.rows[200][col('state_hash')]).toBe(replay.finalHash);
    expect(t.rows.filter((r) => r[col('state_hash')] !== null)).toHaveLength(1);
    expect((t.rows[200][col('events')] as { type: string }[]).map((e) => e.type)).toEqual(['end']);
    expect(t.columns.some((c) => c.name === 'p0_reward')).toBe(false);
  });
});
