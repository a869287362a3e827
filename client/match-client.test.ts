import { beforeAll, describe, expect, it } from 'vitest';
import type { ClientMessage, SceneSettings, ServerMessage } from '../protocol/index.ts';
import { duel, type Input, initStateHash, type PlayerSlot } from '../sim/index.ts';
import { CorruptingSim } from './faults.ts';
import { MatchClient } from './match-client.ts';

beforeAll(initStateHash);

const settings: SceneSettings = {
  name: 'duel',
  sim: 'duel',
  players: 2,
  tickRate: 60,
  mode: 'rollback',
  inputDelay: 2,
  maxPredictionWindow: 8,
  saveStrategy: 'ring',
  hashInterval: 30,
  hashIntervalMax: 240,
  rejoinGraceMs: 10_000,
  onPlayerLost: 'continue',
  transport: 'auto',
  frames: 0,
};

/**
 * Two match clients whose inputs a hand-driven relay forwards; every other message is kept.
 * Slot 1's sim corrupts its state at frame `corruptAt` when given.
 */
function pair(corruptAt?: number) {
  const sent: ClientMessage[][] = [[], []];
  const clients = [0, 1].map(
    (slot) =>
      new MatchClient(
        { send: (m) => sent[slot].push(m) },
        { kind: 'start', matchId: 'm1', slot, seed: 5, settings, token: `t${slot}` },
        {},
        slot === 1 && corruptAt !== undefined
          ? new CorruptingSim(duel.create({ players: 2, seed: 5 }), corruptAt)
          : undefined,
      ),
  );
  /** Forwards the inputs each client sent, as the relay does, and returns the rest. */
  const relay = (): ClientMessage[][] =>
    [0, 1].map((slot) => {
      const rest: ClientMessage[] = [];
      for (const m of sent[slot].splice(0)) {
        if (m.kind !== 'input') {
          rest.push(m);
          continue;
        }
        clients[1 - slot].handle({ ...m, slot }, 0);
      }
      return rest;
    });
  const input = (t: number, slot: PlayerSlot): Input => ({ buttons: (t >> 3) & slot, x: 0, y: 0 });
  return { clients, relay, input };
}

const hashes = (ms: ClientMessage[]) => ms.filter((m) => m.kind === 'hash');

describe('MatchClient on the desync check and the resync steps', () => {
  it('a differing peer asks for nothing, gets the host state through the relay, and reports again on the host line of play', () => {
    const { clients, relay, input } = pair(20);
    const kept: ClientMessage[][] = [[], []];
    const run = (ticks: number, from: number) => {
      for (let t = from; t < from + ticks; t++) {
        for (const slot of [0, 1]) clients[slot].tick(input(t, slot), t * 16);
        relay().forEach((ms, slot) => {
          kept[slot].push(...ms);
        });
      }
    };
    run(40, 0);
    const first = kept.map((ms) => hashes(ms));
    expect(first.map((ms) => ms.map((m) => m.frame))).toEqual([[30], [30]]);
    expect(first[1][0]).not.toEqual(first[0][0]);
    for (const ms of kept) ms.splice(0);

    // The relay judged slot 1's hash of frame 30 different from the host's.
    const verdict: ServerMessage = {
      kind: 'verdict',
      frame: 30,
      agreed: false,
      next: 60,
      differing: 0b10,
    };
    for (const c of clients) c.handle(verdict, 700);
    run(40, 40);
    // The host reports frame 60; slot 1 holds its report and sends no resyncRequest.
    expect(hashes(kept[0]).map((m) => m.frame)).toEqual([60]);
    expect(kept[1].map((m) => m.kind).filter((k) => k !== 'peerPing' && k !== 'peerPong')).toEqual(
      [],
    );
    expect(clients[1].desyncs).toBe(1);
    expect(clients[1].finishAt(60)).toBeNull();

    // The relay asks the host at once: a delta against the last agreed checkpoint (frame 0).
    clients[0].handle(
      { kind: 'stateRequest', frame: 30, baseFrame: 0, forSlot: 1, signature: new Uint8Array(0) },
      1400,
    );
    const [state] = relay()[0];
    expect(state).toMatchObject({ kind: 'state', frame: 30, baseFrame: 0, forSlot: 1 });
    if (state.kind !== 'state') return;
    expect(clients[0].resync.statesSent).toBe(1);
    clients[1].handle(
      { kind: 'state', frame: 30, hash: state.hash, baseFrame: 0, bytes: state.bytes },
      1400,
    );
    expect(clients[1].resync.resyncs).toBe(1);
    run(1, 80);
    // Frame 60 is reported from the repaired line of play: the host's hash.
    const report = hashes(kept[1]);
    expect(report).toEqual([{ kind: 'hash', frame: 60, hash: clients[0].peer.session.hashAt(60) }]);
    for (const c of clients)
      c.handle({ kind: 'verdict', frame: 60, agreed: true, next: 120, differing: 0 }, 1500);
    expect(clients.map((c) => c.resync.framesToConverge)).toEqual([[30], [30]]);
    expect(clients[1].finishAt(60)).toBe(clients[0].peer.session.hashAt(60));
  });

  it('a state that cannot be rebuilt is answered with stateFailed', () => {
    const sent: ClientMessage[] = [];
    const c = new MatchClient(
      { send: (m) => sent.push(m) },
      { kind: 'start', matchId: 'm1', slot: 1, seed: 5, settings, token: 't1' },
    );
    c.handle({ kind: 'verdict', frame: 30, agreed: false, next: 60, differing: 0b10 }, 0);
    // A delta against a checkpoint this peer does not hold.
    c.handle(
      {
        kind: 'state',
        frame: 30,
        hash: '0123456789abcdef',
        baseFrame: 12,
        bytes: new Uint8Array([1, 2, 3]),
      },
      0,
    );
    expect(sent).toEqual([{ kind: 'stateFailed', frame: 30 }]);
    expect(c.resync.fullStateRequests).toBe(1);
  });

  it('follows presence: away until rejoined, and a slot that left is no longer away', () => {
    const { clients } = pair();
    const c = clients[0];
    expect([...c.away]).toEqual([]);
    c.handle({ kind: 'peerAway', slot: 1, lastFrame: 10 }, 0);
    expect([...c.away]).toEqual([1]);
    c.handle({ kind: 'peerRejoined', slot: 1 }, 0);
    expect([...c.away]).toEqual([]);
    c.handle({ kind: 'peerAway', slot: 1, lastFrame: 20 }, 0);
    c.handle({ kind: 'peerLeft', slot: 1, lastFrame: 20 }, 0);
    expect([...c.away]).toEqual([]);
    expect(c.departed.get(1)).toBe(20);
  });
});
