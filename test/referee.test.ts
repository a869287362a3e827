import { afterAll, describe, expect, it } from 'vitest';
import { CorruptingSim } from '../client/index.ts';
import type { SceneSettings } from '../protocol/index.ts';
import { BUILTIN_SCENES } from '../relay/index.ts';
import {
  type BodyRecord,
  LOG_FORMAT,
  type LogRecord,
  parseMatchLog,
  replayLog,
} from '../relay/log/index.ts';
import { SimHostPool } from '../relay/sim-host/index.ts';
import {
  type CanonicalValue,
  canonicalDecode,
  canonicalEncode,
  getSimFactory,
  initStateHash,
  type PlayerSlot,
  type Sim,
} from '../sim/index.ts';
import { VirtualRelayMatch } from './support/virtual-relay.ts';

await initStateHash();

const settings: SceneSettings = {
  ...BUILTIN_SCENES.duel,
  hashInterval: 30,
  hashIntervalMax: 120,
  rejoinGraceMs: 5000,
};

const pool = new SimHostPool({ size: 1 });
afterAll(() => pool.close());

const ofType = <T extends BodyRecord['type']>(log: BodyRecord[], type: T) =>
  log.filter((r): r is Extract<BodyRecord, { type: T }> => r.type === type);

/**
 * A duel sim whose top-level field `field` grows by `by` when a step produces frame `at`: damage
 * unlike {@link CorruptingSim}'s (which changes the first field by one), so that two copies can
 * be damaged differently.
 */
class ShiftingSim extends CorruptingSim<unknown> {
  constructor(
    private readonly sim: Sim,
    private readonly at: number,
    private readonly field: string,
    private readonly by: number,
  ) {
    super(sim, -1);
  }
  override step(inputs: Parameters<Sim['step']>[0]): void {
    this.sim.step(inputs);
    if (this.sim.frame !== this.at) return;
    const plain = canonicalDecode(this.sim.encode(this.sim.save())) as Record<string, number>;
    plain[this.field] += this.by;
    this.sim.load(this.sim.decode(canonicalEncode(plain as unknown as CanonicalValue)));
  }
}

/** Duel sims for `players`; slot s's copy is corrupted when a step produces frame `damage[s]`. */
function sims(players: number, damage: Readonly<Record<number, number>>) {
  return (slot: PlayerSlot, seed: number): Sim => {
    const sim = getSimFactory('duel').create({ players, seed });
    return damage[slot] === undefined ? sim : new CorruptingSim(sim, damage[slot]);
  };
}

/** The match's log as a file would hold it: header, then what the room appended. */
async function replay(m: VirtualRelayMatch, s: SceneSettings, seed: number) {
  const header: LogRecord = {
    type: 'header',
    format: LOG_FORMAT,
    matchId: 'virtual',
    scene: s,
    sim: { id: s.sim, codeHash: (await import('../relay/log/index.ts')).simCodeHash(s.sim) },
    seed,
    players: Array.from({ length: s.players }, (_, slot) => ({ slot, participantId: `p${slot}` })),
    startTime: '2026-12-06T10:00:00Z',
  };
  const text = [header, ...m.log.records].map((r) => `${JSON.stringify(r)}\n`).join('');
  return replayLog(parseMatchLog(new TextEncoder().encode(text)));
}

/** Runs `m` until every peer's confirmed frame reaches `frame`. */
async function playTo(m: VirtualRelayMatch, frame: number): Promise<void> {
  const reached = () => m.peers.every((p) => p.client?.peer.session.confirmedFrame >= frame);
  expect(await m.settle(reached)).toBe(true);
}

/** The hash every peer holds for check frames from `from` on: all equal, and some compared. */
function expectAgreeFrom(m: VirtualRelayMatch, from: number): void {
  const lowest = Math.min(...m.peers.map((p) => p.client.peer.session.confirmedFrame));
  let compared = 0;
  for (let f = from; f <= lowest; f += settings.hashInterval) {
    const hashes = m.peers.map((p) => p.client.peer.session.hashAt(f));
    if (hashes.some((h) => h === null)) continue;
    expect(new Set(hashes).size, `frame ${f}: ${hashes}`).toBe(1);
    compared++;
  }
  expect(compared).toBeGreaterThan(2);
}

describe('the desync referee, in-process with a real sim host', () => {
  it('repairs the host (slot 0) when its copy is the damaged one, from the agreeing peer, and the log replays', async () => {
    const seed = 31;
    const m = new VirtualRelayMatch({ settings, seed, makeSim: sims(2, { 0: 90 }), simHost: pool });
    await playTo(m, 400);
    const [desync] = ofType(m.log.records, 'desync');
    // The first check at or after frame 90 is frame 120 (K grew 30, 60, 120).
    expect(desync).toMatchObject({ f: 120, host: 0, differing: [0] });
    expect(ofType(m.log.records, 'referee')).toMatchObject([
      { f: 120, from: 60, method: 'referee', right: [1], differing: [0], source: 1, reason: null },
    ]);
    expect(ofType(m.log.records, 'resync')).toMatchObject([{ f: 120, s: [0], base: 60 }]);
    expect(m.peers[0].client.resync.resyncs).toBe(1);
    expect(m.peers[1].client.resync.statesSent).toBe(1);
    expect(m.refused).toEqual([]);
    expectAgreeFrom(m, 120);
    const r = await replay(m, settings, seed);
    expect(r.mismatches).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.repaired.every((x) => x.slot === 0 && x.frame <= 120)).toBe(true);
    expect(r.arbitrations).toMatchObject([{ frame: 120, method: 'referee', source: 1 }]);
    m.room.end('test over');
  });

  it('repairs a damaged non-host peer from the host, and the log replays', async () => {
    const seed = 32;
    const m = new VirtualRelayMatch({ settings, seed, makeSim: sims(2, { 1: 90 }), simHost: pool });
    await playTo(m, 400);
    expect(ofType(m.log.records, 'referee')).toMatchObject([
      { f: 120, method: 'referee', right: [0], differing: [1], source: 0 },
    ]);
    expectAgreeFrom(m, 120);
    expect((await replay(m, settings, seed)).ok).toBe(true);
    m.room.end('test over');
  });

  it('repairs every copy from its own state when no peer agrees with it', async () => {
    const seed = 33;
    // Two players damaged differently (frames 90 and 100): no copy follows from the inputs.
    const m = new VirtualRelayMatch({
      settings,
      seed,
      makeSim: (slot, s) => {
        const sim = getSimFactory('duel').create({ players: 2, seed: s });
        return slot === 0 ? new CorruptingSim(sim, 90) : new ShiftingSim(sim, 100, 'collected', 5);
      },
      simHost: pool,
    });
    await playTo(m, 400);
    expect(ofType(m.log.records, 'referee')).toMatchObject([
      { f: 120, method: 'referee', right: [], differing: [0, 1], source: 'referee' },
    ]);
    // The referee's S(120), a delta against the checkpoint S(60) that every peer holds.
    expect(ofType(m.log.records, 'resync')).toMatchObject([
      { f: 120, s: [0], base: 60 },
      { f: 120, s: [1], base: 60 },
    ]);
    for (const p of m.peers)
      expect(p.client.resync).toMatchObject({ resyncs: 1, fullStateRequests: 0 });
    expectAgreeFrom(m, 120);
    const r = await replay(m, settings, seed);
    expect(r.ok).toBe(true);
    expect(r.checks).toBeGreaterThan(r.repaired.length);
    m.room.end('test over');
  });

  it('falls back to the host rule when the referee cannot run, and logs why', async () => {
    const closed = new SimHostPool({ size: 1 });
    await closed.close();
    const seed = 34;
    const m = new VirtualRelayMatch({
      settings,
      seed,
      makeSim: sims(2, { 1: 90 }),
      simHost: closed,
    });
    await playTo(m, 300);
    const [record] = ofType(m.log.records, 'referee');
    expect(record).toMatchObject({ f: 120, method: 'host', from: null, referee: null });
    expect(record.reason).toMatch(/POOL_CLOSED/);
    expect(ofType(m.log.records, 'desync')).toMatchObject([{ f: 120, host: 0, differing: [1] }]);
    expect(m.refereeNotices).toMatchObject([{ kind: 'lost' }]);
    expectAgreeFrom(m, 120);
    // Here the host's copy was right, so the log still replays.
    expect((await replay(m, settings, seed)).ok).toBe(true);
  });

  it('holds the verdict while the referee works, and lets the host rule decide when it gives no answer in time', () => {
    // Driven without ever yielding to the event loop: the worker's answer cannot arrive, and
    // 10 s of virtual time pass while the verdict is held.
    const m = new VirtualRelayMatch({
      settings,
      seed: 36,
      makeSim: sims(2, { 1: 90 }),
      simHost: pool,
    });
    const reports120 = () => m.log.records.filter((r) => r.type === 'hash' && r.f === 120).length;
    expect(m.runUntil(() => reports120() === 2)).toBe(true);
    expect(m.room.arbitration).not.toBeNull();
    // Meanwhile nobody knows the next check: no report of a later frame, no verdict on 120.
    m.runFor(5000);
    expect(m.log.records.filter((r) => r.type === 'hash' && r.f > 120)).toEqual([]);
    expect(ofType(m.log.records, 'verdict').filter((v) => v.f === 120)).toEqual([]);
    m.runFor(5100);
    expect(ofType(m.log.records, 'referee')).toMatchObject([
      {
        f: 120,
        method: 'host',
        reason: 'the referee gave no answer within 10000 ms',
        differing: [1],
        source: 0,
      },
    ]);
    expect(m.room.arbitration).toBeNull();
    // The verdict names the next check, and the peers report it at once from what they hold.
    expect(m.runUntil(() => ofType(m.log.records, 'verdict').some((v) => v.f > 120))).toBe(true);
    expect(m.refused).toEqual([]);
    m.room.end('test over');
  });

  it('without a sim host the host rule decides, and the record says so', async () => {
    const m = new VirtualRelayMatch({ settings, seed: 35, makeSim: sims(2, { 1: 90 }) });
    await playTo(m, 300);
    expect(ofType(m.log.records, 'referee')).toMatchObject([
      { f: 120, method: 'host', reason: 'no sim host on this relay', source: 0, differing: [1] },
    ]);
  });
});
