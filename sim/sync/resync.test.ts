import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type CanonicalValue,
  canonicalEncode,
  createStateDelta,
  createStateSignature,
  duel,
  type Frame,
  type Input,
  initStateHash,
  NEUTRAL_INPUT,
  Prng,
  randomDuelInput,
  stateHash,
} from '../index.ts';
import { DesyncCheck } from './desync-check.ts';
import { SessionPeer } from './peer.ts';
import {
  answerStateRequest,
  applyStateTransfer,
  FULL_STATE_BASE,
  RejoinGate,
  SIGNATURE_BASE,
  type StateMessage,
} from './resync.ts';

beforeAll(initStateHash);

/** K_min of these tests: the checkpoint is frame 30, the desync frame 60. */
const K = 30;
const EMPTY = new Uint8Array(0);

/** The encoded duel states S(0..frames) of one seeded match, and the inputs that made them. */
function duelMatch(frames: number, seed = 7) {
  const sim = duel.create({ players: 2, seed });
  const rng = Prng.fromSeed(seed);
  const inputs: Input[][] = [];
  const states: Uint8Array[] = [sim.encode(sim.save())];
  for (let f = 0; f < frames; f++) {
    const step =
      f < 2 ? [NEUTRAL_INPUT, NEUTRAL_INPUT] : [0, 1].map(() => randomDuelInput(rng.nextU32()));
    inputs.push(step);
    sim.step(step);
    states.push(sim.encode(sim.save()));
  }
  return { inputs, states };
}

/**
 * A peer's desync check that holds S(0), the checkpoint S(30) (agreed) unless `agreed` is false,
 * and S(60) as given.
 */
function holding(s0: Uint8Array, s30: Uint8Array, s60: Uint8Array, agreed = true): DesyncCheck {
  const c = new DesyncCheck({ slot: 0, hashInterval: K });
  c.confirmedHash(0, stateHash(s0), s0);
  c.confirmedHash(30, stateHash(s30), s30);
  if (agreed) c.verdict({ frame: 30, agreed: true, next: 60, differing: 0 });
  c.confirmedHash(60, stateHash(s60), s60);
  return c;
}

/** The bytes alone: msgpackr caches a `dataView` property on arrays it decodes, which deep equality sees. */
const plain = (bytes: Uint8Array) => Uint8Array.from(bytes);

/** A copy of `bytes` with one byte changed: a corruption the hash sees. */
function corrupt(bytes: Uint8Array, at: number): Uint8Array {
  const out = bytes.slice();
  out[at % out.length] ^= 0x5a;
  return out;
}

describe('resync steps', () => {
  const { inputs, states } = duelMatch(1100);
  const [s0, s30, s60] = [states[0], states[30], states[60]];
  const bad60 = corrupt(s60, 40);

  it('a state answered as a delta against the last agreed checkpoint, and applied', () => {
    const host = holding(s0, s30, s60);
    const answer = answerStateRequest(
      { frame: 60, baseFrame: 30, forSlot: 2, signature: EMPTY },
      host,
    );
    expect(answer).toEqual({
      kind: 'state',
      frame: 60,
      hash: stateHash(s60),
      baseFrame: 30,
      fullBytes: s60.length,
      bytes: createStateDelta(s30, s60),
      forSlot: 2,
    } satisfies StateMessage);
    expect(answer!.bytes.length).toBeLessThan(s60.length);
    const target = holding(s0, s30, bad60);
    expect(applyStateTransfer(answer!, target)).toEqual({
      kind: 'restore',
      state: { frame: 60, hash: stateHash(s60), state: s60 },
      fastForward: false,
    });
  });

  it('with the target signature of its own S(f), a delta against that when it is smaller', () => {
    const host = holding(s0, s30, s60);
    const target = holding(s0, s30, bad60);
    const answer = answerStateRequest(
      { frame: 60, baseFrame: 30, forSlot: 1, signature: createStateSignature(bad60) },
      host,
    )!;
    // One byte differs: the delta against the target's own S(60) beats the one against S(30).
    expect(answer.baseFrame).toBe(SIGNATURE_BASE);
    expect(answer.bytes.length).toBeLessThan(createStateDelta(s30, s60).length);
    const out = applyStateTransfer(answer, target);
    expect(out.kind === 'restore' && out.state.state).toEqual(s60);
  });

  it('a state that fails to rebuild: stateFailed, then the full state is applied', () => {
    const host = holding(s0, s30, s60);
    // This peer missed the agreed check of frame 30: its checkpoint is still S(0).
    const target = holding(s0, s30, bad60, false);
    const delta = answerStateRequest(
      { frame: 60, baseFrame: 30, forSlot: 1, signature: EMPTY },
      host,
    )!;
    const failed = applyStateTransfer(delta, target);
    expect(failed).toMatchObject({
      kind: 'failed',
      send: { kind: 'stateFailed', frame: 60 },
      error: { code: 'SNAPSHOT_MISSING', frame: 30 },
    });
    // A delta that rebuilds other bytes than the host hashed fails the hash check.
    const wrongHash = applyStateTransfer(
      { ...delta, hash: stateHash(bad60) },
      holding(s0, s30, bad60),
    );
    expect(wrongHash).toMatchObject({
      kind: 'failed',
      send: { kind: 'stateFailed', frame: 60 },
      error: { code: 'BAD_STATE' },
    });
    // The relay asks the host for the full state (baseFrame -1).
    const full = answerStateRequest(
      { frame: 60, baseFrame: FULL_STATE_BASE, forSlot: 1, signature: EMPTY },
      host,
    )!;
    expect(full).toMatchObject({ baseFrame: FULL_STATE_BASE, bytes: s60, fullBytes: s60.length });
    expect(applyStateTransfer(full, target)).toEqual({
      kind: 'restore',
      state: { frame: 60, hash: stateHash(s60), state: s60 },
      fastForward: false,
    });
  });

  it('a peer that does not hold S(f) does not answer (the relay asks the next host)', () => {
    const host = holding(s0, s30, s60);
    expect(
      answerStateRequest({ frame: 90, baseFrame: 30, forSlot: 1, signature: EMPTY }, host),
    ).toBeNull();
    // A malformed signature only rules out the delta against it.
    const answer = answerStateRequest(
      { frame: 60, baseFrame: 30, forSlot: 1, signature: new Uint8Array([1, 200]) },
      host,
    );
    expect(answer?.baseFrame).toBe(30);
  });

  it('the rejoin path: the full checkpoint state, then the inputs since, fast-forwards to the present on the host line of play', () => {
    // The relay's last agreed checkpoint is S(960); the rejoining peer resumes at frame 1050,
    // more than the 1024 frames a session accepts ahead of its own frame (still 0) past frame 0.
    const host = new DesyncCheck({ slot: 0, hashInterval: K });
    host.confirmedHash(0, stateHash(s0), s0);
    host.confirmedHash(960, stateHash(states[960]), states[960]);
    host.verdict({ frame: 960, agreed: true, next: 1200, differing: 0 });
    const resumeFrame: Frame = 1050;
    const gate = new RejoinGate(resumeFrame, true);
    const check = new DesyncCheck({ slot: 1, hashInterval: K, rejoining: true });
    const peer = new SessionPeer(
      duel.create({ players: 2, seed: 7 }),
      { players: 2, localSlot: 1, hashInterval: K, maxFramesAhead: 1024 },
      () => {},
    );
    peer.session.on((e) => {
      if (e.type === 'confirmedHash') check.confirmedHash(e.frame, e.hash, e.state);
    });
    const own = (f: Frame) => peer.session.confirmedInput(1, f) !== undefined;
    expect([gate.awaitingFirstState, gate.ready(own)]).toEqual([true, false]);

    // The relay asks the host for the last agreed checkpoint in full.
    const answer = answerStateRequest(
      { frame: 960, baseFrame: FULL_STATE_BASE, forSlot: 1, signature: EMPTY },
      host,
    )!;
    const out = applyStateTransfer(answer, check, { rejoin: gate.awaitingFirstState });
    expect(out).toEqual({
      kind: 'restore',
      state: { frame: 960, hash: stateHash(states[960]), state: states[960] },
      fastForward: true,
    });
    if (out.kind !== 'restore') return;
    check.stateLoaded(out.state, { rejoin: true });
    gate.firstStateLoaded(out.state.frame);
    peer.session.loadState(out.state.frame, out.state.state, { fastForward: out.fastForward });
    expect(check.checkpoint?.frame).toBe(960);

    // Then every input since, its own among them (played by the relay while it was away); the
    // other player is ten frames further on.
    for (let f = 960; f < resumeFrame + 10; f++) {
      peer.receive(0, { kind: 'input', frame: f, input: inputs[f][0], currentFrame: f }, 0);
      if (f >= resumeFrame) continue;
      expect(gate.ready(own)).toBe(false);
      peer.session.receiveOwnInput(f, inputs[f][1]);
    }
    expect(peer.session.stats().refusedInputs).toBe(0);
    expect(gate.ready(own)).toBe(true);
    peer.tick(NEUTRAL_INPUT, 0);
    // One tick caught up to the last frame whose inputs are known, on the host's line of play.
    expect(peer.session.frame).toBeGreaterThanOrEqual(resumeFrame);
    expect(peer.session.hashAt(1020)).toBe(stateHash(states[1020]));
    expect(plain(check.stateAt(1020)!.state)).toEqual(plain(states[1020]));
    // Once ready it stays ready, though those inputs may later be freed.
    expect(gate.ready(() => false)).toBe(true);
    expect(new RejoinGate(0, false).ready(() => false)).toBe(true);
  });

  it('duel states at any two frames: answering then applying rebuilds the target exactly', () => {
    const frames = [0, 1, 30, 60, 61, 300, 899];
    const kinds = new Set<number>();
    for (const base of frames) {
      for (const at of frames) {
        if (at <= base) continue;
        for (const own of [states[at - 1], corrupt(states[at], at)]) {
          for (const withSignature of [false, true]) {
            const out = roundTrip(states[base], states[at], own, withSignature, true, base, at);
            expect(plain(out.state)).toEqual(plain(states[at]));
            kinds.add(Math.min(out.baseFrame, 0));
          }
        }
      }
    }
    // Deltas against the checkpoint (0 here) and against the signature both served.
    expect(kinds.has(0) && kinds.has(SIGNATURE_BASE)).toBe(true);
  });

  it('property: for random canonical states, answering then applying rebuilds the target exactly, whichever transfer was chosen', () => {
    const key = fc.string({ minLength: 1, maxLength: 6 }).filter((k) => k !== '__proto__');
    const { value } = fc.letrec<{ value: CanonicalValue }>((tie) => ({
      value: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        fc.constant(null),
        fc.boolean(),
        fc.integer(),
        fc.double({ noNaN: true, noDefaultInfinity: true }),
        fc.string({ maxLength: 20 }),
        fc.uint8Array({ maxLength: 2500 }),
        fc.array(tie('value'), { maxLength: 4 }),
        fc.dictionary(key, tie('value'), { maxKeys: 4, noNullPrototype: true }),
      ),
    }));
    // Pairs of states that share most of their bytes, as states of one match do, or nothing.
    const kinds = new Set<number>();
    fc.assert(
      fc.property(
        value,
        value,
        value,
        fc.constantFrom('shared', 'unrelated'),
        fc.boolean(),
        (a, b, c, how, withSignature) => {
          const base = canonicalEncode({ a, b });
          const target = canonicalEncode(how === 'shared' ? { a, b: c } : c);
          const own = canonicalEncode({ a: b, b: c });
          const out = roundTrip(base, target, own, withSignature, true, 30, 60);
          expect(plain(out.state)).toEqual(plain(target));
          kinds.add(out.baseFrame);
        },
      ),
      { numRuns: 300, seed: 20261206 },
    );
    expect([...kinds].sort()).toEqual([SIGNATURE_BASE, FULL_STATE_BASE, 30].sort());
  });
});

/**
 * A host holding checkpoint `base` (frame `baseFrame`) and `target` (frame `at`) answers the
 * relay's request for a peer holding the same checkpoint and `own` as its S(at); that peer
 * applies it. Fails the test unless the state was rebuilt.
 */
function roundTrip(
  base: Uint8Array,
  target: Uint8Array,
  own: Uint8Array,
  withSignature: boolean,
  holdsCheckpoint: boolean,
  baseFrame: Frame,
  at: Frame,
): { state: Uint8Array; baseFrame: Frame } {
  const make = (s: Uint8Array) => {
    const c = new DesyncCheck({ slot: 1, hashInterval: 1 });
    if (baseFrame !== 0) c.confirmedHash(0, 'start', new Uint8Array(0));
    c.confirmedHash(baseFrame, stateHash(base), base);
    if (holdsCheckpoint) c.verdict({ frame: baseFrame, agreed: true, next: at, differing: 0 });
    c.confirmedHash(at, stateHash(s), s);
    return c;
  };
  const answer = answerStateRequest(
    {
      frame: at,
      baseFrame,
      forSlot: 1,
      signature: withSignature ? createStateSignature(own) : EMPTY,
    },
    make(target),
  );
  if (answer === null) throw new Error('the host held the state but did not answer');
  const out = applyStateTransfer(answer, make(own));
  if (out.kind !== 'restore') throw out.error;
  return { state: out.state.state, baseFrame: answer.baseFrame };
}
