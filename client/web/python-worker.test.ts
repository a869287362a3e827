import { describe, expect, it } from 'vitest';
import { InputMixer } from './python-worker.ts';

const UP = 1;
const RIGHT = 8;
const INTERACT = 16;

/** Feeds `samples` (one per display frame) and returns the input of one tick. */
function tick(mixer: InputMixer, ...samples: number[]): number {
  for (const s of samples) mixer.receive(s);
  return mixer.next();
}

describe('InputMixer: display-frame samples to one input per tick', () => {
  it('keeps a held key acting on every tick, even when no sample arrives between ticks', () => {
    const m = new InputMixer();
    expect(tick(m, RIGHT, RIGHT)).toBe(RIGHT);
    expect(tick(m)).toBe(RIGHT); // the page was slow: still held
    expect(tick(m, RIGHT)).toBe(RIGHT);
    expect(tick(m, 0, 0)).toBe(0); // released after being used: no extra step
  });

  it('counts a tap shorter than a tick once', () => {
    const m = new InputMixer();
    expect(tick(m, UP, 0)).toBe(UP);
    expect(tick(m, 0)).toBe(0);
  });

  it('uses an interact press once, though no sample follows it before the next tick', () => {
    const m = new InputMixer();
    expect(tick(m, INTERACT)).toBe(INTERACT);
    expect(tick(m)).toBe(0);
  });

  it('sends an interact press alone while a movement key is held, then the movement again', () => {
    const m = new InputMixer();
    expect(tick(m, RIGHT, INTERACT, RIGHT)).toBe(INTERACT);
    expect(tick(m, RIGHT)).toBe(RIGHT);
  });

  it('spreads two presses within one tick over two ticks, and forgets everything on clear', () => {
    const m = new InputMixer();
    expect(tick(m, UP, 0, INTERACT, 0)).toBe(UP);
    expect(tick(m)).toBe(INTERACT);
    expect(tick(m)).toBe(0);
    m.receive(RIGHT);
    m.receive(0);
    m.clear();
    expect(m.next()).toBe(0);
  });
});
