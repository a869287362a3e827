import { beforeAll, describe, expect, it } from 'vitest';
import { MixSim } from '../../test/support/mix-sim.ts';
import { type Input, initStateHash, NEUTRAL_INPUT } from '../index.ts';
import { SessionPeer } from './peer.ts';
import { SyncSession } from './session.ts';
import type { SessionMessage, SessionRequest } from './types.ts';

const press = (buttons: number): Input => ({ buttons, x: 0, y: 0 });
const kinds = (rs: readonly SessionRequest[]) =>
  rs.map((r) => (r.kind === 'free' ? `free:${r.frames.join(',')}` : `${r.kind}:${r.frame}`));
const input = (frame: number, buttons: number, currentFrame = 0): SessionMessage => ({
  kind: 'input',
  frame,
  input: press(buttons),
  currentFrame,
});

beforeAll(initStateHash);

describe('SyncSession requests (GGRS style)', () => {
  it('first tick: saves frame 0, advances with known default inputs, hashes confirmed frames', () => {
    const s = new SyncSession({ players: 2, localSlot: 0, inputDelay: 2 });
    const { requests, stalled } = s.advanceFrame(press(1), 0);
    expect(stalled).toBe(false);
    // Frames 0 and 1 precede the input delay: every peer knows them, so S(0), S(1) are confirmed;
    // once hashed, S(0) can never be loaded again and is freed.
    expect(kinds(requests)).toEqual([
      'save:0',
      'advance:0',
      'save:1',
      'hash:0',
      'hash:1',
      'free:0',
    ]);
    expect(s.confirmedFrame).toBe(1);
    const msgs = s.drainOutgoing();
    expect(msgs.filter((m) => m.kind === 'input')).toEqual([input(2, 1, 0)]);
  });

  it('predicts with the last confirmed input and rolls back once however many inputs contradict it', () => {
    const s = new SyncSession({ players: 2, localSlot: 0, inputDelay: 2, maxPredictionWindow: 8 });
    for (let t = 0; t < 6; t++) s.advanceFrame(press(0), t * 16);
    expect(s.frame).toBe(6);
    expect(s.confirmedFrame).toBe(1);
    // Frames 2..5 were predicted as the neutral input; frames 3 and 4 turn out to differ.
    s.receive(1, input(2, 0), 100);
    s.receive(1, input(3, 4), 100);
    s.receive(1, input(4, 4), 100);
    const { requests } = s.advanceFrame(press(0), 100);
    const k = kinds(requests);
    expect(k.filter((x) => x.startsWith('load'))).toEqual(['load:3']);
    expect(k.slice(0, 8)).toEqual([
      'load:3',
      'advance:3',
      'save:4',
      'advance:4',
      'save:5',
      'advance:5',
      'save:6',
      'advance:6',
    ]);
    // Frame 5 is re-predicted from the newest confirmed input (frame 4: buttons 4).
    const adv5 = requests.find((r) => r.kind === 'advance' && r.frame === 5);
    expect(adv5 && adv5.kind === 'advance' && adv5.inputs[1]).toEqual(press(4));
    expect(s.stats()).toMatchObject({ rollbacks: 1, lastRollbackDepth: 3, confirmedFrame: 4 });
  });

  it('a correct prediction causes no rollback', () => {
    const s = new SyncSession({ players: 2, localSlot: 0 });
    for (let t = 0; t < 5; t++) s.advanceFrame(press(0), t);
    s.receive(1, input(2, 0), 5);
    s.receive(1, input(3, 0), 5);
    const { requests } = s.advanceFrame(press(0), 6);
    expect(kinds(requests).some((k) => k.startsWith('load'))).toBe(false);
    expect(s.stats().rollbacks).toBe(0);
  });

  it('stalls when the prediction window is full, and never predicts more than W frames', () => {
    const W = 3;
    const s = new SyncSession({ players: 2, localSlot: 0, inputDelay: 0, maxPredictionWindow: W });
    const stalls: number[] = [];
    s.on((e) => {
      if (e.type === 'stall') stalls.push(e.frame);
    });
    for (let t = 0; t < 10; t++) s.advanceFrame(press(0), t);
    // Confirmed frame is -1 (no inputs at delay 0); frames 0..W-1 may rest on predictions.
    expect(s.frame).toBe(W);
    expect(s.stats().maxPredictedFrames).toBe(W);
    expect(stalls.length).toBe(10 - W);
    s.receive(1, input(0, 0), 10);
    expect(s.advanceFrame(press(0), 11).stalled).toBe(false);
  });

  it('lockstep waits for every input and never loads a snapshot', () => {
    const s = new SyncSession({ players: 2, localSlot: 1, mode: 'lockstep', inputDelay: 1 });
    expect(s.advanceFrame(press(0), 0).stalled).toBe(false); // frame 0 is before the delay
    expect(s.advanceFrame(press(0), 1).stalled).toBe(true);
    s.receive(0, input(1, 2), 2);
    const r = s.advanceFrame(press(0), 3);
    expect(r.stalled).toBe(false);
    const adv = r.requests.find((x) => x.kind === 'advance');
    expect(adv && adv.kind === 'advance' && adv.inputs).toEqual([press(2), press(0)]);
    expect(s.stats().rollbacks).toBe(0);
    expect(s.maxPredictionWindow).toBe(0);
  });

  it('sparse saving keeps only the confirmed frame and rolls back to it', () => {
    const s = new SyncSession({
      players: 2,
      localSlot: 0,
      inputDelay: 2,
      saveStrategy: 'sparse',
      hashInterval: 1000,
    });
    const all: SessionRequest[] = [];
    for (let t = 0; t < 6; t++) all.push(...s.advanceFrame(press(0), t).requests);
    // Only frame 0 (the start) and frame 1 (confirmed when produced) were saved.
    expect(kinds(all.filter((r) => r.kind === 'save'))).toEqual(['save:0', 'save:1']);
    s.receive(1, input(2, 0), 6);
    s.receive(1, input(3, 0), 6);
    s.receive(1, input(4, 8), 6);
    const { requests } = s.advanceFrame(press(0), 7);
    expect(kinds(requests)[0]).toBe('load:1');
    // On the way back up it saves the newest confirmed frame (4) and frees the old save.
    expect(kinds(requests)).toContain('save:4');
    expect(kinds(requests)).toContain('free:1');
  });

  it('counts conflicting and too-far-ahead remote inputs without changing the confirmed one', () => {
    const s = new SyncSession({ players: 2, localSlot: 0, maxFramesAhead: 1024 });
    s.receive(1, input(2, 1), 0);
    s.receive(1, input(2, 1), 0);
    s.receive(1, input(2, 5), 0);
    s.receive(1, input(5000, 1), 0);
    expect(s.confirmedInput(1, 2)).toEqual(press(1));
    expect(s.stats().refusedInputs).toBe(2);
  });

  it('measures how far ahead an input is from a state waiting to be loaded (a rejoin past frame 1024)', () => {
    const s = new SyncSession({ players: 2, localSlot: 0, maxFramesAhead: 1024 });
    s.loadState(2000, new Uint8Array(0), { fastForward: true });
    s.receive(1, input(2010, 1), 0);
    s.receive(1, input(3100, 1), 0);
    expect(s.confirmedInput(1, 2010)).toEqual(press(1));
    expect(s.stats().refusedInputs).toBe(1);
  });

  it('a player who left plays the default input from the frame after its last one', () => {
    const s = new SyncSession({ players: 3, localSlot: 0, inputDelay: 1 });
    for (let t = 0; t < 4; t++) s.advanceFrame(press(0), t);
    s.receive(1, input(1, 3), 4);
    s.receive(1, input(2, 3), 4);
    s.receive(2, input(1, 0), 4);
    expect(kinds(s.advanceFrame(press(0), 4).requests)[0]).toBe('load:1');
    // Slot 1 is now predicted to keep pressing 3 on frames 3 and 4; it left after frame 2.
    s.playerLeft(1, 2);
    expect(s.confirmedInput(1, 3)).toEqual(NEUTRAL_INPUT);
    const { requests } = s.advanceFrame(press(0), 5);
    expect(kinds(requests)[0]).toBe('load:3');
    s.receive(1, input(3, 9), 6); // too late: ignored
    expect(s.confirmedInput(1, 3)).toEqual(NEUTRAL_INPUT);
    expect(s.confirmedFrame).toBe(1); // slot 2 still owes frame 2
    s.receive(2, input(2, 0), 6);
    s.receive(2, input(3, 0), 6);
    expect(s.confirmedFrame).toBe(3);
    s.playerLeft(2, 3);
    // Only the local inputs remain, stamped up to the current frame (input delay 1).
    expect(s.confirmedFrame).toBe(s.frame);
  });

  it('rejects settings out of range', () => {
    expect(() => new SyncSession({ players: 2, localSlot: 2 })).toThrow(/localSlot/);
    expect(() => new SyncSession({ players: 2, localSlot: 0, inputDelay: -1 })).toThrow(
      /inputDelay/,
    );
    expect(() => new SyncSession({ players: 2, localSlot: 0, maxPredictionWindow: 0 })).toThrow(
      /maxPredictionWindow/,
    );
  });
});

describe('SessionPeer over a direct link', () => {
  it('a state loaded from another peer is a load plus a re-simulation, and the copies agree', () => {
    const inbox: SessionMessage[][] = [[], []];
    const peers = [0, 1].map(
      (slot) =>
        new SessionPeer(new MixSim(2), { players: 2, localSlot: slot }, (msgs) => {
          inbox[1 - slot].push(...msgs);
        }),
    );
    const drive = (t: number, skipDelivery = false) => {
      for (const slot of [0, 1]) {
        if (!skipDelivery)
          for (const m of inbox[slot].splice(0)) peers[slot].receive(1 - slot, m, t);
        peers[slot].tick(press((t * 7 + slot) % 16), t);
      }
    };
    for (let t = 0; t < 40; t++) drive(t);
    // Damage peer 1's copy, then repair it from peer 0's confirmed state.
    const c = Math.min(peers[0].session.confirmedFrame, peers[1].session.confirmedFrame);
    const state =
      peers[0].runner.encodedSnapshot(c) ?? peers[0].runner.sim.encode(peers[0].runner.sim.save());
    const f = peers[0].runner.encodedSnapshot(c) ? c : peers[0].session.frame;
    peers[1].session.loadState(f, state);
    let restored = 0;
    peers[1].session.on((e) => {
      if (e.type === 'restore') restored++;
    });
    for (let t = 40; t < 80; t++) drive(t);
    expect(restored).toBe(1);
    const h0 = peers[0].session.confirmedHashes();
    const h1 = peers[1].session.confirmedHashes();
    let compared = 0;
    for (const [frame, hash] of h1) {
      if (frame >= f && h0.has(frame)) {
        expect(hash).toBe(h0.get(frame));
        compared++;
      }
    }
    expect(compared).toBeGreaterThan(20);
    expect(NEUTRAL_INPUT).toEqual(press(0));
  });
});
