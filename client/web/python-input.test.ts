import { describe, expect, it } from 'vitest';
import { discreteActionMapping } from '../../sim/python/index.ts';
import { PYTHON_BUTTONS, PythonInputCapture } from './python-input.ts';

/** A key event as the DOM dispatches it, on Node's own EventTarget. */
function key(
  type: 'keydown' | 'keyup',
  code: string,
  extra: { repeat?: boolean; ctrlKey?: boolean } = {},
): Event {
  const e = new Event(type, { cancelable: true });
  Object.defineProperties(e, {
    code: { value: code },
    repeat: { value: extra.repeat ?? false },
    ctrlKey: { value: extra.ctrlKey ?? false },
  });
  return e;
}

function setup() {
  const target = new EventTarget();
  const capture = new PythonInputCapture(target as unknown as Window);
  const down = (code: string, extra?: { repeat?: boolean; ctrlKey?: boolean }): Event => {
    const e = key('keydown', code, extra);
    target.dispatchEvent(e);
    return e;
  };
  const up = (code: string): void => {
    target.dispatchEvent(key('keyup', code));
  };
  /** The kitchen action the default mapping makes of this tick's bits. */
  const action = (): number =>
    discreteActionMapping({ buttons: capture.sample(), x: 0, y: 0 }, 0) as number;
  return { target, capture, down, up, action };
}

describe('PythonInputCapture', () => {
  it('maps arrows and WASD to the direction bits and Space / E / Enter to interact', () => {
    const { capture, down, up } = setup();
    const cases: [string, number][] = [
      ['ArrowUp', PYTHON_BUTTONS.up],
      ['KeyW', PYTHON_BUTTONS.up],
      ['ArrowDown', PYTHON_BUTTONS.down],
      ['KeyS', PYTHON_BUTTONS.down],
      ['ArrowLeft', PYTHON_BUTTONS.left],
      ['KeyA', PYTHON_BUTTONS.left],
      ['ArrowRight', PYTHON_BUTTONS.right],
      ['KeyD', PYTHON_BUTTONS.right],
      ['Space', PYTHON_BUTTONS.interact],
      ['KeyE', PYTHON_BUTTONS.interact],
      ['Enter', PYTHON_BUTTONS.interact],
    ];
    for (const [code, bit] of cases) {
      down(code);
      expect(capture.sample(), code).toBe(bit);
      up(code);
      expect(capture.sample(), `${code} released`).toBe(0);
    }
    expect(PYTHON_BUTTONS).toEqual({ up: 1, down: 2, left: 4, right: 8, interact: 16 });
  });

  it('gives the kitchen actions through the default discrete mapping', () => {
    const { down, up, action } = setup();
    expect(action()).toBe(0);
    const expected: [string, number][] = [
      ['ArrowUp', 1],
      ['ArrowDown', 2],
      ['ArrowLeft', 3],
      ['ArrowRight', 4],
      ['KeyE', 5],
    ];
    for (const [code, act] of expected) {
      down(code);
      expect(action(), code).toBe(act);
      up(code);
    }
  });

  it('sends a held movement key every tick and stops when it is released', () => {
    const { capture, down, up } = setup();
    down('KeyD');
    expect([capture.sample(), capture.sample(), capture.sample()]).toEqual([8, 8, 8]);
    up('KeyD');
    expect(capture.sample()).toBe(0);
  });

  it('counts a press shorter than a tick once', () => {
    const { capture, down, up } = setup();
    down('ArrowLeft');
    up('ArrowLeft');
    expect(capture.sample()).toBe(PYTHON_BUTTONS.left);
    expect(capture.sample()).toBe(0);
    down('Space');
    up('Space');
    expect(capture.sample()).toBe(PYTHON_BUTTONS.interact);
    expect(capture.sample()).toBe(0);
  });

  it('gives two presses within one tick on two ticks, in order', () => {
    const { capture, down, up } = setup();
    down('ArrowRight');
    up('ArrowRight');
    down('ArrowUp');
    up('ArrowUp');
    expect([capture.sample(), capture.sample(), capture.sample()]).toEqual([8, 1, 0]);
  });

  it('does not lose an interact press to a held movement key', () => {
    const { down, up, action } = setup();
    down('ArrowUp');
    expect(action()).toBe(1);
    down('Space');
    expect(action()).toBe(5);
    expect(action()).toBe(1); // still walking up, Space still held: interact does not repeat
    up('Space');
    expect(action()).toBe(1);
    up('ArrowUp');
    expect(action()).toBe(0);
  });

  it('acts once per interact press, ignoring keyboard auto-repeat', () => {
    const { capture, down, up } = setup();
    down('KeyE');
    down('KeyE', { repeat: true });
    down('KeyE', { repeat: true });
    expect([capture.sample(), capture.sample(), capture.sample()]).toEqual([16, 0, 0]);
    up('KeyE');
    down('KeyE');
    expect(capture.sample()).toBe(16);
  });

  it('keeps at most three presses waiting', () => {
    const { capture, down, up } = setup();
    for (const code of ['KeyW', 'KeyA', 'KeyS', 'KeyD', 'KeyE']) {
      down(code);
      up(code);
    }
    expect([capture.sample(), capture.sample(), capture.sample(), capture.sample()]).toEqual([
      1, 4, 2, 0,
    ]);
  });

  it('prevents the default of bound keys only, and ignores shortcuts', () => {
    const { capture, down } = setup();
    expect(down('ArrowDown').defaultPrevented).toBe(true);
    expect(down('KeyQ').defaultPrevented).toBe(false);
    capture.releaseAll();
    expect(down('KeyW', { ctrlKey: true }).defaultPrevented).toBe(false);
    expect(capture.sample()).toBe(0);
  });

  it('ignores keys typed into a form field', () => {
    const { capture } = setup();
    const field = Object.assign(new EventTarget(), { tagName: 'INPUT' });
    const e = key('keydown', 'KeyW');
    // The window sees the event bubble up from the field.
    Object.defineProperty(e, 'target', { value: field });
    const target = new EventTarget();
    const c = new PythonInputCapture(target as unknown as Window);
    target.dispatchEvent(e);
    expect(c.sample()).toBe(0);
    expect(capture.sample()).toBe(0);
  });

  it('releases everything on blur and on releaseAll', () => {
    const { target, capture, down } = setup();
    down('ArrowUp');
    down('ArrowLeft');
    target.dispatchEvent(new Event('blur'));
    expect(capture.sample()).toBe(0);
    down('ArrowRight');
    capture.releaseAll();
    expect(capture.sample()).toBe(0);
  });

  it('stops listening after dispose', () => {
    const { capture, down } = setup();
    capture.dispose();
    down('ArrowUp');
    expect(capture.sample()).toBe(0);
    expect(capture.bindingsText).toMatch(/WASD.*interact/);
  });
});

describe("PythonInputCapture with a scene's keys", () => {
  function sceneSetup() {
    const target = new EventTarget();
    const capture = new PythonInputCapture(target as unknown as Window, {
      map: { ArrowUp: 1, ArrowLeft: 3, 'ArrowLeft+ArrowUp': 7, KeyX: 5 },
      defaultAction: 0,
    });
    const down = (code: string): void => void target.dispatchEvent(key('keydown', code));
    const up = (code: string): void => void target.dispatchEvent(key('keyup', code));
    const action = (): number =>
      discreteActionMapping({ buttons: capture.sample(), x: 0, y: 0 }, 0) as number;
    return { capture, down, up, action };
  }

  it("gives only the scene's keys their actions, combinations included", () => {
    const { capture, down, up, action } = sceneSetup();
    down('KeyW'); // not the scene's key: the built-in table no longer applies
    expect(action()).toBe(0);
    down('ArrowUp');
    expect(action()).toBe(1); // the press
    expect(action()).toBe(1); // held
    down('ArrowLeft');
    expect(action()).toBe(3); // the press alone, once
    expect(action()).toBe(7); // both held: the combination
    up('ArrowUp');
    expect(action()).toBe(3);
    up('ArrowLeft');
    expect(action()).toBe(0);
    down('KeyX');
    up('KeyX');
    expect(action()).toBe(5); // a press shorter than a tick still counts once
    expect(action()).toBe(0);
    expect(capture.bindingsText).toBe('Keys: ArrowUp · ArrowLeft · ArrowLeft + ArrowUp · KeyX');
  });

  it('refuses a key map that is not one', () => {
    const target = new EventTarget();
    expect(
      () =>
        new PythonInputCapture(target as unknown as Window, {
          map: { 'Arrow Up': 1 },
          defaultAction: 0,
        }),
    ).toThrow(/KeyboardEvent.code/);
  });
});
