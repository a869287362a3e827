import { beforeAll, describe, expect, it } from 'vitest';
import { DUEL_BUTTONS } from '../../sim/duel/index.ts';
import { type DuelView, duel, duelView, type Input, initStateHash } from '../../sim/index.ts';
import { SessionPeer } from '../../sim/sync/index.ts';
import { captureConfirmedState } from './confirmed-capture.ts';
import { DuelInputCapture } from './input.ts';
import { formatStats } from './overlay.ts';
import { idleStats, presenceNotice } from './page-stats.ts';
import { duelResult, resultHeadline } from './result.ts';
import { loadSeat, SEAT_KEY, type SeatStore, saveSeat } from './seat-storage.ts';

beforeAll(() => initStateHash());

function viewWith(players: { score: number; deaths: number }[]): DuelView {
  const base = duelView(duel.create({ players: players.length, seed: 1 }).save());
  return {
    ...base,
    frame: 600,
    players: base.players.map((p, i) => ({ ...p, ...players[i] })),
  };
}

describe('duelResult', () => {
  const match = { matchId: 'm1', slot: 0, confirmed: true, reason: 'limit' };

  it('gives the win to the most kills, then the fewest deaths', () => {
    const r = duelResult(
      viewWith([
        { score: 3, deaths: 2 },
        { score: 3, deaths: 1 },
        { score: 1, deaths: 0 },
      ]),
      match,
    );
    expect(r.winners).toEqual([1]);
    expect(r.frame).toBe(600);
    expect(resultHeadline(r)).toBe('Player 2 wins');
    expect(resultHeadline({ ...r, slot: 1 })).toBe('You win!');
  });

  it('calls a tie on kills and deaths a draw', () => {
    const r = duelResult(
      viewWith([
        { score: 2, deaths: 1 },
        { score: 2, deaths: 1 },
      ]),
      match,
    );
    expect(r.winners).toEqual([0, 1]);
    expect(resultHeadline(r)).toBe('Draw');
  });
});

/** A stand-in for the window: an event target whose events carry the fields the capture reads. */
function fakeWindow(): { target: Window; fire: (type: string, fields: object) => void } {
  const t = new EventTarget();
  return {
    target: t as unknown as Window,
    fire: (type, fields) => t.dispatchEvent(Object.assign(new Event(type), fields)),
  };
}

describe('DuelInputCapture', () => {
  it('maps WASD and arrows to direction bits and aims from the player to the pointer', () => {
    const w = fakeWindow();
    const capture = new DuelInputCapture(w.target, (x, y) => ({ x, y }));
    w.fire('keydown', { code: 'KeyW' });
    w.fire('keydown', { code: 'ArrowRight' });
    w.fire('mousemove', { clientX: 300, clientY: 100 });
    const input = capture.sample({ x: 100, y: 100 });
    expect(input).toEqual({ buttons: DUEL_BUTTONS.up | DUEL_BUTTONS.right, x: 127, y: 0 });
    w.fire('keyup', { code: 'KeyW' });
    expect(capture.sample({ x: 100, y: 100 }).buttons).toBe(DUEL_BUTTONS.right);
  });

  it('fires once for a click shorter than a tick, and forgets keys on blur', () => {
    const w = fakeWindow();
    const capture = new DuelInputCapture(w.target, (x, y) => ({ x, y }));
    w.fire('mousedown', { button: 0, clientX: 10, clientY: 10 });
    w.fire('mouseup', { button: 0 });
    expect(capture.sample(null).buttons).toBe(DUEL_BUTTONS.fire);
    expect(capture.sample(null).buttons).toBe(0);
    w.fire('keydown', { code: 'KeyA' });
    w.fire('blur', {});
    expect(capture.sample(null)).toEqual({ buttons: 0, x: 0, y: 0 });
  });

  it('ignores clicks off the game and keeps the aim without a pointer', () => {
    const w = fakeWindow();
    const capture = new DuelInputCapture(w.target, () => null);
    w.fire('mousedown', { button: 0, clientX: 10, clientY: 10 });
    expect(capture.sample({ x: 0, y: 0 })).toEqual({ buttons: 0, x: 0, y: 0 });
  });
});

describe('captureConfirmedState', () => {
  it('keeps the exact confirmed state of the frame, through rollbacks', () => {
    const seed = 7;
    const limit = 30;
    const capture = captureConfirmedState(
      duel.create({ players: 2, seed }),
      limit,
      (s) => duelView(s).frame,
    );
    const peer = new SessionPeer(
      capture.sim,
      { players: 2, localSlot: 0, inputDelay: 2, hashInterval: 10 },
      () => {},
    );
    const local = (f: number): Input => ({
      buttons: f % 3 === 0 ? DUEL_BUTTONS.right : DUEL_BUTTONS.fire,
      x: 50,
      y: 0,
    });
    const remote = (f: number): Input => ({
      buttons: f % 7 < 3 ? DUEL_BUTTONS.up : DUEL_BUTTONS.left,
      x: -60,
      y: 20,
    });
    // The remote inputs arrive five ticks late, so the session predicts and rolls back.
    for (let tick = 0; tick < 60; tick++) {
      const f = tick - 5;
      if (f >= 2)
        peer.receive(1, { kind: 'input', frame: f, input: remote(f), currentFrame: f }, tick);
      peer.tick(local(tick), tick);
    }
    expect(peer.session.stats().rollbacks).toBeGreaterThan(0);
    const reference = duel.create({ players: 2, seed });
    const neutral = { buttons: 0, x: 0, y: 0 };
    for (let f = 0; f < limit; f++) {
      reference.step(f < 2 ? [neutral, neutral] : [local(f - 2), remote(f)]);
    }
    const captured = capture.captured();
    expect(captured).not.toBeNull();
    expect(duelView(captured!).frame).toBe(limit);
    expect(Array.from(captured!)).toEqual(Array.from(reference.save()));
  });
});

describe('formatStats', () => {
  it('shows dashes before a match', () => {
    const text = formatStats(idleStats('waiting'));
    expect(text).toContain('frame        –');
    expect(text).toContain('desyncs      0');
  });
});

describe('the seat a page keeps in sessionStorage', () => {
  const seat = {
    matchId: 'm1',
    token: 'secret',
    slot: 1,
    scene: 'duel',
    participantId: 'P1',
    rejoinGraceMs: 10_000,
    onPlayerLost: 'continue' as const,
    transport: 'auto',
    rejoins: 1,
  };
  const store = (): SeatStore & { items: Map<string, string> } => {
    const items = new Map<string, string>();
    return {
      items,
      getItem: (k) => items.get(k) ?? null,
      setItem: (k, v) => {
        items.set(k, v);
      },
      removeItem: (k) => {
        items.delete(k);
      },
    };
  };

  it('comes back for its scene after a reload, and is forgotten when the match ends', () => {
    const s = store();
    saveSeat(s, seat);
    expect(loadSeat(s, 'duel')).toEqual(seat);
    expect(loadSeat(s, 'kitchen')).toBeNull();
    saveSeat(s, null);
    expect(loadSeat(s, 'duel')).toBeNull();
  });

  it('drops a stored value that is not a seat', () => {
    const s = store();
    for (const bad of ['{', '{"matchId":"m1"}', JSON.stringify({ ...seat, slot: 'one' })]) {
      s.setItem(SEAT_KEY, bad);
      expect(loadSeat(s, 'duel')).toBeNull();
      expect(s.items.has(SEAT_KEY)).toBe(false);
    }
  });
});

describe('presenceNotice and the overlay', () => {
  it('says "Reconnecting…" for this page, and who is away for the others', () => {
    expect(presenceNotice('reconnecting', [], 2)).toBe('Reconnecting…');
    expect(presenceNotice('playing', [1], 2)).toBe('Your partner is reconnecting…');
    expect(presenceNotice('playing', [1, 2], 3)).toBe('Player 2, Player 3 are reconnecting…');
    expect(presenceNotice('playing', [], 2)).toBeNull();
    expect(presenceNotice('ended', [1], 2)).toBeNull();
  });

  it('counts rejoins and names who is away', () => {
    const text = formatStats({ ...idleStats('playing'), rejoins: 2, away: [1] });
    expect(text).toContain('rejoins      2');
    expect(text).toContain('away         P2');
  });
});
