import { afterEach, describe, expect, it } from 'vitest';
import { decodeServerMessage } from '../../protocol/index.ts';
import { duel, encodeInput, INPUT_BYTES } from '../../sim/index.ts';
import type { AuthBroadcastEvent } from './messages.ts';
import { SimHostPool } from './pool.ts';

// A real worker thread running an authoritative duel match on its fixed timestep.
let pool: SimHostPool | null = null;
afterEach(async () => {
  await pool?.close();
  pool = null;
});

const settings = {
  tickRate: 60,
  broadcastDivisor: 3,
  inputDelay: 2,
  frames: 0,
  defaultInputs: new Uint8Array(2 * INPUT_BYTES),
  historyStates: 64,
};

async function until(cond: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('an authoritative match on the sim host', () => {
  it('steps at the tick rate, sends a state every broadcastDivisor frames (full, then deltas against the acknowledged one), and applies inputs at their frames or replaces the late ones', async () => {
    pool = new SimHostPool({ size: 1 });
    const events: AuthBroadcastEvent[] = [];
    const failures: Error[] = [];
    const h = await pool.openAuthoritative({ sim: duel.id, players: 2, seed: 5 }, settings, {
      broadcast: (e) => events.push(e),
      failed: (err) => failures.push(err),
    });
    const right = encodeInput({ buttons: 8, x: 0, y: 0 });
    // Slot 0 stamps inputs well ahead of the host; slot 1 sends one for frame 3 only once the
    // host is past it (late: confirmed with its previous input, the default).
    await h.start();
    for (let f = 12; f < 400; f++) h.input(0, f, right);
    await until(() => events.length >= 3, 'three states');
    expect(events[0]).toMatchObject({ frame: 0, fromFrame: 0 });
    expect(events[1].frame).toBe(3);
    expect(events[2].frame).toBe(6);
    h.input(1, 3, right);
    h.ack(0, events[2].frame);
    await until(() => events.length >= 12, 'more states');
    const e = events[11];
    expect(e.frame % 3).toBe(0);
    expect(e.applied.length).toBe(3 * 2 * INPUT_BYTES);
    // Slot 0's input applied as stamped; slot 1 never sent one in time: its default, repeated.
    expect([...e.applied.subarray(0, INPUT_BYTES)]).toEqual([...right]);
    expect([...e.applied.subarray(INPUT_BYTES, 2 * INPUT_BYTES)]).toEqual([0, 0, 0, 0]);
    expect(e.late).toEqual([0, 1]);
    const m0 = decodeServerMessage(e.messages[0]);
    const m1 = decodeServerMessage(e.messages[1]);
    expect(m0).toMatchObject({ kind: 'authState', frame: e.frame });
    expect(m0.kind === 'authState' && m0.baseFrame).toBeGreaterThanOrEqual(6);
    expect(m1).toMatchObject({ kind: 'authState', baseFrame: -1 });
    expect(failures).toEqual([]);
    // A player who left plays its default input from the host's next frame on.
    h.leave(0);
    const n = events.length;
    await until(() => events.length >= n + 3, 'states after the departure');
    const after = events.at(-1)!;
    expect(after.leftAt[0]).not.toBeNull();
    expect([
      ...after.applied.subarray(after.applied.length - 2 * INPUT_BYTES).subarray(0, 4),
    ]).toEqual([0, 0, 0, 0]);
    await h.close();
  }, 60_000);

  it('tells the room when its worker dies (the match cannot move)', async () => {
    pool = new SimHostPool({ size: 1 });
    const failures: Error[] = [];
    const h = await pool.openAuthoritative({ sim: duel.id, players: 2, seed: 5 }, settings, {
      broadcast: () => {},
      failed: (err) => failures.push(err),
    });
    await h.start();
    await pool.terminateWorker(0);
    expect(failures.map((f) => f.message)).toEqual([
      expect.stringContaining('sim host worker 0 was terminated'),
    ]);
  }, 60_000);
});
