import { describe, expect, it } from 'vitest';
import { DesyncCheck, type HashReportMessage } from './desync-check.ts';

/** A stand-in state for frame f on a line of play (`line` tells lines apart). */
const stateOf = (f: number, line = 'a') => new TextEncoder().encode(`${line}:${f}`);
const hashOf = (f: number, line = 'a') => `${line}${String(f).padStart(15, '0')}`;
const confirm = (c: DesyncCheck, f: number, line = 'a') =>
  c.confirmedHash(f, hashOf(f, line), stateOf(f, line));
const report = (f: number, line = 'a'): HashReportMessage => ({
  kind: 'hash',
  frame: f,
  hash: hashOf(f, line),
});

describe('DesyncCheck', () => {
  it('agreed checks: reports the announced check frames only, moves the checkpoint, frees what was judged', () => {
    const c = new DesyncCheck({ slot: 1, hashInterval: 30 });
    expect(confirm(c, 0)).toEqual([]);
    expect(c.checkpoint).toEqual({ frame: 0, hash: hashOf(0), state: stateOf(0) });
    expect(c.nextCheck).toBe(30);
    // Frames off the K_min grid are never held.
    expect(c.confirmedHash(31, hashOf(31), stateOf(31))).toEqual([]);
    expect(c.stateAt(31)).toBeNull();
    expect(confirm(c, 30)).toEqual([report(30)]);
    expect(confirm(c, 60)).toEqual([]);
    expect(confirm(c, 90)).toEqual([]);
    // The relay doubled K to 60: the next check is frame 90, which this peer already holds.
    expect(c.verdict({ frame: 30, agreed: true, next: 90, differing: 0 })).toEqual({
      send: [report(90)],
      outcome: { kind: 'agreed', frame: 30, checkpoint: 30, convergedAfter: null },
    });
    expect(c.checkpoint?.frame).toBe(30);
    expect(c.stateAt(0)).toBeNull();
    expect(c.heldChecks).toBe(2); // 60 and 90, awaiting a verdict
    expect(confirm(c, 120)).toEqual([]);
    // K doubles again (120): the next check is frame 210; frame 60 was never judged and goes.
    expect(c.verdict({ frame: 90, agreed: true, next: 210, differing: 0 })).toEqual({
      send: [],
      outcome: { kind: 'agreed', frame: 90, checkpoint: 90, convergedAfter: null },
    });
    expect([c.stateAt(60), c.heldChecks]).toEqual([null, 1]);
    expect(confirm(c, 150)).toEqual([]);
    expect(confirm(c, 180)).toEqual([]);
    expect(confirm(c, 210)).toEqual([report(210)]);
    // A report is sent once, even when the session hashes the frame again.
    expect(confirm(c, 210)).toEqual([]);
  });

  it('a differing verdict: reports are held until the host state is loaded, then resume on the repaired line at the next check', () => {
    const c = new DesyncCheck({ slot: 2, hashInterval: 30 });
    confirm(c, 0);
    expect(confirm(c, 30, 'bad')).toEqual([report(30, 'bad')]);
    expect(confirm(c, 60, 'bad')).toEqual([]);
    // Slot 2's hash differed from the host's (bit 2); K falls back to K_min: next check 60.
    expect(c.verdict({ frame: 30, agreed: false, next: 60, differing: 0b100 })).toEqual({
      send: [],
      outcome: { kind: 'desync', frame: 30, awaitState: true },
    });
    expect(c.awaitingState).toBe(30);
    expect(confirm(c, 90, 'bad')).toEqual([]);
    // The host's S(30) is rebuilt and handed to the session: the old line's checks go.
    c.stateLoaded({ frame: 30, hash: hashOf(30), state: stateOf(30) });
    expect([c.stateAt(60), c.stateAt(90)]).toEqual([null, null]);
    // A restore of another frame does not end the wait.
    expect(c.restored(29)).toEqual([]);
    expect(c.awaitingState).toBe(30);
    expect(c.restored(30)).toEqual([]); // S(60) not re-simulated yet
    expect(c.awaitingState).toBeNull();
    expect(confirm(c, 30)).toEqual([]); // judged already: not reported again
    expect(confirm(c, 60)).toEqual([report(60)]);
    expect(c.verdict({ frame: 60, agreed: true, next: 120, differing: 0 })).toEqual({
      send: [],
      outcome: { kind: 'agreed', frame: 60, checkpoint: 60, convergedAfter: 30 },
    });
    expect(c.checkpoint).toEqual({ frame: 60, hash: hashOf(60), state: stateOf(60) });
  });

  it('hashes re-simulated between the state and its load are held, then sent once the session restores', () => {
    const c = new DesyncCheck({ slot: 1, hashInterval: 10 });
    confirm(c, 0);
    confirm(c, 10, 'bad');
    c.verdict({ frame: 10, agreed: false, next: 20, differing: 0b10 });
    c.stateLoaded({ frame: 10, hash: hashOf(10), state: stateOf(10) });
    expect(confirm(c, 20)).toEqual([]);
    expect(c.restored(10)).toEqual([report(20)]);
  });

  it('a state loaded before its verdict arrives still ends the wait when the session restores it', () => {
    const c = new DesyncCheck({ slot: 1, hashInterval: 10 });
    confirm(c, 0);
    confirm(c, 10, 'bad');
    c.stateLoaded({ frame: 10, hash: hashOf(10), state: stateOf(10) });
    c.verdict({ frame: 10, agreed: false, next: 20, differing: 0b10 });
    expect(confirm(c, 20)).toEqual([]);
    expect(c.restored(10)).toEqual([report(20)]);
    expect(c.awaitingState).toBeNull();
  });

  it('a peer whose bit is clear reports on at once, and counts the convergence too', () => {
    const c = new DesyncCheck({ slot: 0, hashInterval: 30 });
    confirm(c, 0);
    confirm(c, 30);
    confirm(c, 60);
    expect(c.verdict({ frame: 30, agreed: false, next: 60, differing: 0b100 })).toEqual({
      send: [report(60)],
      outcome: { kind: 'desync', frame: 30, awaitState: false },
    });
    expect(c.awaitingState).toBeNull();
    expect(c.checkpoint?.frame).toBe(0);
    expect(c.verdict({ frame: 60, agreed: true, next: 90, differing: 0 }).outcome).toEqual({
      kind: 'agreed',
      frame: 60,
      checkpoint: 60,
      convergedAfter: 30,
    });
  });

  it('a rejoining peer reports nothing until a verdict names the check it votes on', () => {
    const c = new DesyncCheck({ slot: 1, hashInterval: 30, rejoining: true });
    expect(c.nextCheck).toBeNull();
    // Its first state is the relay's last agreed checkpoint, S(300).
    c.stateLoaded({ frame: 300, hash: hashOf(300), state: stateOf(300) }, { rejoin: true });
    expect(c.checkpoint?.frame).toBe(300);
    expect(c.awaitingState).toBeNull();
    expect(confirm(c, 300)).toEqual([]);
    expect(confirm(c, 330)).toEqual([]);
    expect(confirm(c, 360)).toEqual([]);
    // The check under way (330) is judged without it; the next one is its.
    expect(c.verdict({ frame: 330, agreed: true, next: 390, differing: 0 })).toEqual({
      send: [],
      outcome: { kind: 'agreed', frame: 330, checkpoint: 330, convergedAfter: null },
    });
    expect(confirm(c, 390)).toEqual([report(390)]);
  });

  it('bounded memory: without verdicts it keeps at most maxHeldChecks states, the newest', () => {
    const c = new DesyncCheck({ slot: 0, hashInterval: 5, maxHeldChecks: 4 });
    for (let f = 0; f <= 500; f += 5) confirm(c, f);
    expect(c.heldChecks).toBe(4);
    expect([485, 490, 495, 500].map((f) => c.stateAt(f)?.frame)).toEqual([485, 490, 495, 500]);
    expect(c.stateAt(480)).toBeNull();
    expect(c.checkpoint?.frame).toBe(0);
  });
});
