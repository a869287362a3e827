/**
 * Keyboard capture for Python environments with a discrete action space, such as the kitchen.
 * It produces the button bits that the scene's action mapping turns into an action; with the
 * default `discreteActionMapping` (lowest held bit b → action b + 1, nothing held → 0):
 * (a game scene's `actions` replace these: see {@link SceneKeys})
 *
 * | keys                 | bit | action |
 * | -------------------- | --- | ------ |
 * | ↑ / W                | 0   | 1 up   |
 * | ↓ / S                | 1   | 2 down |
 * | ← / A                | 2   | 3 left |
 * | → / D                | 3   | 4 right |
 * | Space / E / Enter    | 4   | 5 interact |
 */

import { type ActionMap, createActionMap } from '../../sim/index.ts';

/**
 * A game scene's keys as the study wire gives them (`StudyScene.actions`): key or `Key+Key`
 * (`KeyboardEvent.code` names) → discrete action index, and the action of no key.
 */
export interface SceneKeys {
  readonly map: Readonly<Record<string, number>>;
  readonly defaultAction: number;
}

/** Bit of each action button in `Input.buttons`. */
export const PYTHON_BUTTONS = {
  up: 1 << 0,
  down: 1 << 1,
  left: 1 << 2,
  right: 1 << 3,
  interact: 1 << 4,
} as const;

/** Bound keys by `KeyboardEvent.code` (the key's place on the keyboard, not its letter). */
const KEY_BITS: Readonly<Record<string, number>> = {
  ArrowUp: PYTHON_BUTTONS.up,
  KeyW: PYTHON_BUTTONS.up,
  ArrowDown: PYTHON_BUTTONS.down,
  KeyS: PYTHON_BUTTONS.down,
  ArrowLeft: PYTHON_BUTTONS.left,
  KeyA: PYTHON_BUTTONS.left,
  ArrowRight: PYTHON_BUTTONS.right,
  KeyD: PYTHON_BUTTONS.right,
  Space: PYTHON_BUTTONS.interact,
  KeyE: PYTHON_BUTTONS.interact,
  Enter: PYTHON_BUTTONS.interact,
  NumpadEnter: PYTHON_BUTTONS.interact,
};

/** The key bindings as shown on screen. */
export const PYTHON_BINDINGS_TEXT = 'arrows / WASD move · Space / E / Enter interact';

/** Presses kept waiting for a tick at most; more presses within a few ticks are dropped. */
const MAX_PENDING_PRESSES = 3;

/** What an event listener needs of a key event (the DOM's `KeyboardEvent` has all of it). */
interface KeyEventLike {
  readonly code: string;
  readonly repeat?: boolean;
  readonly ctrlKey?: boolean;
  readonly metaKey?: boolean;
  readonly altKey?: boolean;
  readonly target?: unknown;
  preventDefault(): void;
}

/** True for form fields, where typed keys belong to the field, not to the game. */
function isEditable(target: unknown): boolean {
  if (typeof target !== 'object' || target === null) return false;
  const el = target as { tagName?: unknown; isContentEditable?: unknown };
  return (
    el.isContentEditable === true ||
    el.tagName === 'INPUT' ||
    el.tagName === 'TEXTAREA' ||
    el.tagName === 'SELECT'
  );
}

/**
 * Captures the keys of a discrete-action Python environment from the DOM and gives, once per
 * tick (or display frame), the button bits of the local player's input ({@link sample}).
 *
 * - A held movement key is sent every tick while it is held.
 * - Every press counts at least once, even one shorter than a tick: a key press waits in a
 *   short queue (up to 3 presses) and the next {@link sample} sends that key's bit alone. So
 *   two keys pressed within one tick give two actions on two ticks, and an interact press is
 *   not lost to a movement key held at the same time (the discrete mapping takes the lowest
 *   held bit, so up + interact would otherwise mean up). Keyboard auto-repeat adds no presses.
 * - Interact acts once per press: holding it does not repeat it (picking up and putting down
 *   on alternate ticks is never what a player means).
 * - Keys typed into form fields and keys with Ctrl, Alt or Meta (browser shortcuts) are
 *   ignored; bound keys have their default action (scrolling) prevented.
 * - Everything is released when the window loses focus, so that a player who switches away
 *   does not keep walking.
 */
export class PythonInputCapture {
  /** The key bindings as shown on screen. */
  readonly bindingsText: string = PYTHON_BINDINGS_TEXT;
  private readonly held = new Set<string>();
  private readonly pending: number[] = [];
  private readonly detach: () => void;
  /** The scene's own keys, when it has them. */
  private readonly map: ActionMap | null;

  /**
   * @param target where key events are listened for (the page's window)
   * @param keys a game scene's `actions`: then only its keys count, a held combination gives its
   *   action every tick (the action map's rule: the largest combination held, then the latest
   *   pressed), a press shorter than a tick still gives its key's action once, and no key gives
   *   `defaultAction`. Absent: the built-in table above.
   * @throws ConcordError `BAD_CONFIG` when `keys` is not a valid key map
   */
  constructor(target: Window, keys?: SceneKeys) {
    this.map = keys
      ? createActionMap({ actions: keys.map, defaultAction: keys.defaultAction })
      : null;
    if (keys) {
      // The keys only: a discrete action's number means nothing to a participant.
      this.bindingsText = `Keys: ${Object.keys(keys.map)
        .map((combo) => combo.replaceAll('+', ' + '))
        .join(' · ')}`;
    }
    const onKeyDown = (event: Event): void => {
      const e = event as unknown as KeyEventLike;
      const bit = this.pressBits(e.code);
      if (bit === undefined || e.ctrlKey || e.metaKey || e.altKey || isEditable(e.target)) return;
      e.preventDefault(); // arrows and Space would scroll the page
      if (e.repeat || this.held.has(e.code)) return;
      this.held.add(e.code);
      if (bit !== null && this.pending.length < MAX_PENDING_PRESSES) this.pending.push(bit);
    };
    const onKeyUp = (event: Event): void => {
      this.held.delete((event as unknown as KeyEventLike).code);
    };
    const onBlur = (): void => this.releaseAll();
    target.addEventListener('keydown', onKeyDown);
    target.addEventListener('keyup', onKeyUp);
    target.addEventListener('blur', onBlur);
    this.detach = () => {
      target.removeEventListener('keydown', onKeyDown);
      target.removeEventListener('keyup', onKeyUp);
      target.removeEventListener('blur', onBlur);
    };
  }

  /**
   * The button bits now (see {@link PYTHON_BUTTONS}): the oldest press not yet sent, alone,
   * when there is one; otherwise every held movement key. Each call consumes a press, so call it
   * once per tick, or once per display frame when something downstream turns samples into ticks
   * (the Python page sends every display frame's sample to its worker's `InputMixer`).
   */
  sample(): number {
    const press = this.pending.shift();
    if (press !== undefined) return press;
    if (this.map) return this.map.inputFor([...this.held]).buttons;
    let bits = 0;
    for (const code of this.held) {
      const bit = KEY_BITS[code] ?? 0;
      if (bit !== PYTHON_BUTTONS.interact) bits |= bit;
    }
    return bits;
  }

  /**
   * The button bits a press of `code` alone gives; null for a key that only combinations of a
   * scene's keys name (held, but no press of its own); undefined for a key that means nothing.
   */
  private pressBits(code: string): number | null | undefined {
    if (!this.map) return KEY_BITS[code];
    const own = this.map.bindings.find((b) => b.keys.length === 1 && b.keys[0] === code);
    if (own) return own.input.buttons;
    return this.map.bindings.some((b) => b.keys.includes(code)) ? null : undefined;
  }

  /** Forgets every held key and every press not yet sent (focus lost, tab hidden). */
  releaseAll(): void {
    this.held.clear();
    this.pending.length = 0;
  }

  /** Stops listening and releases everything. */
  dispose(): void {
    this.detach();
    this.releaseAll();
  }
}
