import { describe, expect, it } from 'vitest';
import { duel } from '../duel/index.ts';
import { ConcordError } from '../errors.ts';
import { encodeInput, type Input } from '../input.ts';
import { InputValidator, type InputVerdict, type Violation } from './input-validator.ts';

const FIRE = 16;
const bytes = (input: Input) => encodeInput(input);
const move = (buttons: number) => bytes({ buttons, x: 0, y: 0 });

function violationOf(v: InputVerdict): Violation | undefined {
  return v.outcome === 'refused' || v.outcome === 'corrected' ? v.violation : undefined;
}

describe('InputValidator: the framework rules', () => {
  const settings = { players: 2, maxRewindFrames: 12, maxAheadFrames: 30, burst: 2 };

  it('accepts one input per frame inside the window, and drops repeats without counting', () => {
    const v = new InputValidator(settings);
    for (let f = 0; f < 100; f++) {
      v.advance(f);
      expect(v.check(0, f + 2, move(1), f)).toEqual({
        outcome: 'accepted',
        input: { buttons: 1, x: 0, y: 0 },
      });
      // The redundant input path repeats the last few inputs in every packet.
      expect(v.check(0, f + 2, move(1), f).outcome).toBe('duplicate');
    }
    expect(v.violations(0)).toBe(0);
  });

  it('refuses malformed inputs, a second different input for a frame, and frames outside the window', () => {
    const v = new InputValidator(settings);
    v.advance(100);
    expect(violationOf(v.check(0, 101, new Uint8Array(3), 100))?.rule).toBe('malformed');
    expect(violationOf(v.check(0, 1.5, move(0), 100))).toMatchObject({
      rule: 'malformed',
      frame: -1,
    });
    expect(v.check(0, 101, move(1), 100).outcome).toBe('accepted');
    expect(violationOf(v.check(0, 101, move(2), 100))?.rule).toBe('conflicting');
    // Behind the confirmed frame by more than the rewind cap: refused; by exactly the cap: late but allowed.
    expect(violationOf(v.check(0, 87, move(0), 100))?.rule).toBe('tooOld');
    expect(v.check(0, 88, move(0), 100).outcome).toBe('accepted');
    expect(violationOf(v.check(0, 131, move(0), 100))?.rule).toBe('tooFarAhead');
    expect(v.check(0, 130, move(0), 100).outcome).toBe('accepted');
    expect(v.violations(0)).toBe(5);
    expect(v.violations(1)).toBe(0);
  });

  it('refuses inputs beyond one per frame plus the burst (a client running fast)', () => {
    const v = new InputValidator(settings);
    v.advance(10);
    // 1 + burst tokens: three new frames at once pass, the fourth is refused.
    const outcomes = [11, 12, 13, 14].map((f) => v.check(1, f, move(0), 10).outcome);
    expect(outcomes).toEqual(['accepted', 'accepted', 'accepted', 'refused']);
    v.advance(11);
    expect(v.check(1, 14, move(0), 11).outcome).toBe('accepted');
    expect(violationOf(v.check(1, 15, move(0), 11))?.rule).toBe('rate');
    // A client catching up sends many late inputs at once: they cost nothing (and are confirmed
    // with its previous input anyway).
    v.advance(20);
    for (let f = 15; f < 20; f++) expect(v.check(1, f, move(0), 20).outcome).toBe('accepted');
    expect(v.violations(1)).toBe(2);
  });

  it('counts a run of refusals under one network rule once, until an input is accepted', () => {
    const v = new InputValidator(settings);
    v.advance(200);
    // A stalled connection delivers a second of inputs too late: all refused, one counted.
    const late = Array.from({ length: 60 }, (_, i) => v.check(0, 100 + i, move(0), 200));
    expect(late[0].outcome).toBe('refused');
    expect(late.slice(1).every((x) => x.outcome === 'dropped')).toBe(true);
    expect(v.violations(0)).toBe(1);
    // Accepted again: the next refusal starts a new run and counts.
    expect(v.check(0, 201, move(0), 200).outcome).toBe('accepted');
    expect(violationOf(v.check(0, 150, move(0), 200))?.count).toBe(2);
    // Another rule is another run.
    expect(violationOf(v.check(0, 900, move(0), 200))?.count).toBe(3);
  });

  it('warns once at the warning threshold, removes at the removal threshold, and decays', () => {
    const v = new InputValidator({ ...settings, warnAt: 3, removeAt: 5, decayFrames: 10 });
    v.advance(50);
    const actions = [1, 2, 3].map(() => violationOf(v.check(0, 51, new Uint8Array(5), 50))?.action);
    expect(actions).toEqual(['counted', 'counted', 'warned']);
    // Ten frames forgive one violation; the next one warns no more (still at the threshold).
    v.advance(60);
    expect(v.violations(0)).toBe(2);
    expect(violationOf(v.check(0, 61, new Uint8Array(5), 60))?.action).toBe('warned');
    expect(violationOf(v.check(0, 61, new Uint8Array(5), 60))?.action).toBe('counted');
    expect(violationOf(v.check(0, 61, new Uint8Array(5), 60))?.action).toBe('removed');
    expect(v.isRemoved(0)).toBe(true);
    expect(v.check(0, 61, move(0), 60)).toEqual({ outcome: 'removed' });
    v.advance(1000);
    expect(v.isRemoved(0)).toBe(true);
    expect(v.check(1, 1001, move(0), 1000).outcome).toBe('accepted');
  });

  it('refuses bad settings and unknown slots', () => {
    expect(() => new InputValidator({ ...settings, warnAt: 5, removeAt: 4 })).toThrow(ConcordError);
    expect(() => new InputValidator({ ...settings, maxAheadFrames: 0 })).toThrow(ConcordError);
    const v = new InputValidator(settings);
    expect(() => v.check(2, 0, move(0), 0)).toThrow(/slot 2/);
  });
});

describe('InputValidator with the duel rules', () => {
  const rules = () => duel.inputRules?.(2);

  it('lets a player hold fire, and tap it as fast as rapid fire shoots', () => {
    const v = new InputValidator({
      players: 2,
      maxRewindFrames: 12,
      maxAheadFrames: 30,
      rules: rules(),
    });
    for (let f = 0; f < 600; f++) {
      v.advance(f);
      const held = v.check(0, f, move(FIRE | 8), f);
      const tapping = f % 12 < 6 ? FIRE : 0; // 5 presses a second
      const tapped = v.check(1, f, move(tapping), f);
      expect([held.outcome, tapped.outcome]).toEqual(['accepted', 'accepted']);
    }
    expect(v.violations(0) + v.violations(1)).toBe(0);
  });

  it('corrects a bot that presses fire every other frame or sets unknown buttons, warns it, and removes it', () => {
    const v = new InputValidator({
      players: 2,
      maxRewindFrames: 12,
      maxAheadFrames: 30,
      warnAt: 10,
      removeAt: 30,
      decayFrames: 60,
      rules: rules(),
    });
    const log: Violation[] = [];
    let removedAt = -1;
    for (let f = 0; f < 600 && removedAt < 0; f++) {
      v.advance(f);
      const sent = f % 2 === 0 ? FIRE : f % 10 === 1 ? 0x100 : 0;
      const verdict = v.check(0, f, move(sent), f);
      const violation = violationOf(verdict);
      if (violation) log.push(violation);
      if (verdict.outcome === 'corrected') {
        // The input applied has neither the unknown bit nor, when the press came too soon, fire.
        expect(verdict.input.buttons & ~31).toBe(0);
        if (violation?.rule === 'fireRate') expect(verdict.input.buttons & FIRE).toBe(0);
      }
      if (violation?.action === 'removed') removedAt = f;
      // The honest player beside it is never counted.
      expect(v.check(1, f, move(f % 30 < 15 ? FIRE : 0), f).outcome).toBe('accepted');
    }
    expect(new Set(log.map((x) => x.rule))).toEqual(new Set(['unknownButtons', 'fireRate']));
    expect(log.filter((x) => x.action === 'warned')).toHaveLength(1);
    expect(log.at(-1)?.action).toBe('removed');
    expect(removedAt).toBeGreaterThan(0);
    expect(v.isRemoved(0)).toBe(true);
    expect(v.isRemoved(1)).toBe(false);
  });
});
