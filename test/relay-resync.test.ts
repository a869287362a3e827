import { describe, expect, it } from 'vitest';
import { CorruptingSim } from '../client/index.ts';
import type { SceneSettings } from '../protocol/index.ts';
import { BUILTIN_SCENES } from '../relay/index.ts';
import type { BodyRecord } from '../relay/log/index.ts';
import { getSimFactory, initStateHash, type PlayerSlot } from '../sim/index.ts';
import { VirtualRelayMatch } from './support/virtual-relay.ts';

await initStateHash();

const settings: SceneSettings = {
  ...BUILTIN_SCENES.duel,
  hashInterval: 30,
  hashIntervalMax: 120,
  rejoinGraceMs: 5000,
};

const ofType = <T extends BodyRecord['type']>(log: BodyRecord[], type: T) =>
  log.filter((r): r is Extract<BodyRecord, { type: T }> => r.type === type);

/** Duel sims for `players`, the one of slot `corrupt` corrupted when a step produces frame `at`. */
function sims(players: number, corrupt: PlayerSlot, at: number) {
  return (slot: PlayerSlot, seed: number) => {
    const sim = getSimFactory('duel').create({ players, seed });
    return slot === corrupt ? new CorruptingSim(sim, at) : sim;
  };
}

/** Every confirmed hash of check frames that all `slots` hold agrees, and there are some. */
function expectAgreeAfter(m: VirtualRelayMatch, from: number, slots: PlayerSlot[]): void {
  const frames: number[] = [];
  const lowest = Math.min(...slots.map((s) => m.peers[s].client.peer.session.confirmedFrame));
  for (let f = from; f <= lowest; f += settings.hashInterval) frames.push(f);
  expect(frames.length).toBeGreaterThan(2);
  for (const f of frames) {
    const hashes = slots.map((s) => m.peers[s].client.peer.session.hashAt(f));
    expect(
      hashes.every((h) => h !== null && h === hashes[0]),
      `frame ${f}: ${hashes}`,
    ).toBe(true);
  }
}

describe('resync through the relay room, in-process on a virtual network', () => {
  it('reports a corrupted peer exactly once, repairs it at once, and the peers agree after', () => {
    const m = new VirtualRelayMatch({ settings, seed: 7, makeSim: sims(2, 1, 100) });
    const agreedAfter = () => ofType(m.log.records, 'verdict').filter((v) => v.agreed && v.f > 120);
    expect(m.runUntil(() => agreedAfter().length >= 3)).toBe(true);

    const desyncs = ofType(m.log.records, 'desync');
    expect(desyncs).toHaveLength(1);
    // The first check at or after the damage (frame 100) is frame 120 (K grew 30, 60, 120).
    expect(desyncs[0]).toMatchObject({ f: 120, host: 0, differing: [1] });
    // The relay asked the host at once: the repair went to slot 1, nobody asked for it.
    expect(ofType(m.log.records, 'resync')).toMatchObject([{ f: 120, s: [1] }]);
    expect(ofType(m.log.records, 'converged')).toMatchObject([{ f: 120 }]);
    expect(m.refused).toEqual([]);
    for (const p of m.peers) expect(p.client.resync.desyncs).toBe(1);
    expect(m.peers[1].client.resync.resyncs).toBe(1);
    expectAgreeAfter(m, 120, [0, 1]);
  });

  it('repairs a later desync after the host left (host migration)', () => {
    const three = { ...settings, name: 'duel-3', players: 3 };
    const m = new VirtualRelayMatch({
      settings: three,
      seed: 8,
      makeSim: sims(3, 2, 400),
    });
    expect(m.runUntil(() => m.peers[0].client?.peer.session.confirmedFrame >= 200)).toBe(true);
    m.cut(0); // the host goes; with a grace period it is away, then slot 1 is the host
    expect(m.member(0).status).toBe('away');
    expect(m.runUntil(() => ofType(m.log.records, 'converged').length === 1)).toBe(true);
    const desyncs = ofType(m.log.records, 'desync');
    expect(desyncs).toHaveLength(1);
    expect(desyncs[0]).toMatchObject({ host: 1, differing: [2] });
    expect(ofType(m.log.records, 'resync')).toMatchObject([{ f: desyncs[0].f, s: [2] }]);
    const after = desyncs[0].f;
    expect(m.runUntil(() => m.peers[2].client.peer.session.confirmedFrame >= after + 200)).toBe(
      true,
    );
    expectAgreeAfter(m, after, [1, 2]);
    // The others heard the host go away.
    expect(m.peers[1].inbox).toContainEqual({
      kind: 'peerAway',
      slot: 0,
      lastFrame: expect.any(Number),
    });
  });

  it('a peer goes away and rejoins: it gets the state and the inputs since, and agrees', () => {
    const m = new VirtualRelayMatch({ settings, seed: 9 });
    expect(m.runUntil(() => m.peers[1].client?.peer.session.confirmedFrame >= 150)).toBe(true);
    m.cut(1);
    expect(m.log.records.at(-1)).toMatchObject({ type: 'away', s: 1, reason: 'closed' });
    // Away for a second: the relay plays slot 1's default input, so slot 0 plays on.
    const frameAtCut = m.peers[0].client.peer.session.confirmedFrame;
    m.runFor(1000);
    expect(m.peers[0].client.peer.session.confirmedFrame).toBeGreaterThan(frameAtCut + 30);
    m.rejoin(1);
    const rejoined = () => ofType(m.log.records, 'rejoin').length === 1;
    expect(m.runUntil(() => rejoined() && m.peers[1].client.ready)).toBe(true);
    expect(m.peers[0].inbox).toContainEqual({ kind: 'peerRejoined', slot: 1 });
    const back = m.peers[1].client.peer.session.frame;
    expect(m.runUntil(() => m.peers[1].client.peer.session.confirmedFrame >= back + 300)).toBe(
      true,
    );
    const rejoin = ofType(m.log.records, 'rejoin')[0];
    expectAgreeAfter(m, rejoin.f, [0, 1]);
    expect(ofType(m.log.records, 'desync')).toEqual([]);
    // It learns the next check frame (from the verdict on the check under way, or the last
    // verdict sent again when its rejoin completes): its first report is taken, none refused,
    // and it votes on the checks after.
    const after = () => m.log.records.slice(m.log.records.indexOf(rejoin));
    const voted = () => ofType(after(), 'verdict').filter((v) => v.hashes[1] !== null);
    expect(m.runUntil(() => voted().length >= 3)).toBe(true);
    expect(m.refused).toEqual([]);
  });

  it('takes a frozen peer as away (silent), closes its connection, and it rejoins and agrees', () => {
    const m = new VirtualRelayMatch({ settings, seed: 10 });
    expect(m.runUntil(() => m.peers[1].client?.peer.session.confirmedFrame >= 150)).toBe(true);
    m.freeze(1);
    const frozenAt = m.clock.now();
    expect(m.runUntil(() => m.member(1).status === 'away', 10_000)).toBe(true);
    // Not before PRESENCE.awayAfterSilentMs of silence, and the relay closed the connection.
    expect(m.clock.now() - frozenAt).toBeGreaterThanOrEqual(2000);
    expect(m.peers[1].up.closed && m.peers[1].down.closed).toBe(true);
    expect(ofType(m.log.records, 'away')).toMatchObject([{ s: 1, reason: 'silent' }]);
    expect(m.counters.silentAway).toBe(1);
    m.runFor(100); // the news travels to slot 0
    expect(m.peers[0].inbox.filter((x) => x.kind === 'peerAway')).toMatchObject([{ slot: 1 }]);
    m.rejoin(1);
    expect(m.runUntil(() => ofType(m.log.records, 'rejoin').length === 1)).toBe(true);
    const back = m.peers[1].client.peer.session.frame;
    expect(m.runUntil(() => m.peers[1].client.peer.session.confirmedFrame >= back + 300)).toBe(
      true,
    );
    expectAgreeAfter(m, ofType(m.log.records, 'rejoin')[0].f, [0, 1]);
    // The peer that kept playing was never taken as silent.
    expect(ofType(m.log.records, 'away')).toHaveLength(1);
  });
});
