import { DUEL_BUTTONS, duelAim } from '../../sim/duel/index.ts';
import type { Input } from '../../sim/index.ts';

/** The duel's key bindings as shown on screen. */
export const DUEL_BINDINGS_TEXT = 'WASD / arrows move · mouse aim · click / Space fire · F3 stats';

/** Movement keys by `KeyboardEvent.code` (layout independent: the key's place, not its letter). */
const MOVE_KEYS: Readonly<Record<string, number>> = {
  KeyW: DUEL_BUTTONS.up,
  ArrowUp: DUEL_BUTTONS.up,
  KeyS: DUEL_BUTTONS.down,
  ArrowDown: DUEL_BUTTONS.down,
  KeyA: DUEL_BUTTONS.left,
  ArrowLeft: DUEL_BUTTONS.left,
  KeyD: DUEL_BUTTONS.right,
  ArrowRight: DUEL_BUTTONS.right,
};
const FIRE_KEY = 'Space';

/** A point in duel world units (y down). */
export interface WorldPoint {
  readonly x: number;
  readonly y: number;
}

/**
 * Maps a pointer position in CSS pixels of the viewport (`clientX`, `clientY`) to world units,
 * or null when the game is not on screen.
 */
export type ClientToWorld = (clientX: number, clientY: number) => WorldPoint | null;

/**
 * Captures the duel's controls from the DOM: WASD and the arrow keys for the direction bits,
 * the mouse for aim (relative to the local player), the left button or Space for fire. A press
 * shorter than a tick still fires once: fire is latched until the next {@link sample}. Every key
 * is released when the window loses focus, so that a player who alt-tabs does not keep walking.
 */
export class DuelInputCapture {
  private readonly held = new Set<string>();
  private mouseDown = false;
  private fireLatched = false;
  private pointer: { clientX: number; clientY: number } | null = null;
  private readonly detach: () => void;

  /**
   * @param target where key and mouse events are listened for (the window)
   * @param toWorld maps the pointer to world units (the view knows where the arena is drawn)
   */
  constructor(
    target: Window,
    private readonly toWorld: ClientToWorld,
  ) {
    const onKeyDown = (e: KeyboardEvent): void => {
      if (!(e.code in MOVE_KEYS) && e.code !== FIRE_KEY) return;
      e.preventDefault(); // arrows and Space would scroll the page
      this.held.add(e.code);
      if (e.code === FIRE_KEY) this.fireLatched = true;
    };
    const onKeyUp = (e: KeyboardEvent): void => {
      this.held.delete(e.code);
    };
    const onMouseMove = (e: MouseEvent): void => {
      this.pointer = { clientX: e.clientX, clientY: e.clientY };
    };
    const onMouseDown = (e: MouseEvent): void => {
      this.pointer = { clientX: e.clientX, clientY: e.clientY };
      if (e.button !== 0 || !this.toWorld(e.clientX, e.clientY)) return;
      this.mouseDown = true;
      this.fireLatched = true;
    };
    const onMouseUp = (e: MouseEvent): void => {
      if (e.button === 0) this.mouseDown = false;
    };
    const onBlur = (): void => this.releaseAll();
    target.addEventListener('keydown', onKeyDown);
    target.addEventListener('keyup', onKeyUp);
    target.addEventListener('mousemove', onMouseMove);
    target.addEventListener('mousedown', onMouseDown);
    target.addEventListener('mouseup', onMouseUp);
    target.addEventListener('blur', onBlur);
    this.detach = () => {
      target.removeEventListener('keydown', onKeyDown);
      target.removeEventListener('keyup', onKeyUp);
      target.removeEventListener('mousemove', onMouseMove);
      target.removeEventListener('mousedown', onMouseDown);
      target.removeEventListener('mouseup', onMouseUp);
      target.removeEventListener('blur', onBlur);
    };
  }

  /**
   * The input for this tick.
   * @param player the local player's position in world units, for aim (null while unknown:
   *   the aim pair is then 0, 0, which the duel reads as "keep the current aim")
   */
  sample(player: WorldPoint | null): Input {
    let buttons = 0;
    for (const code of this.held) buttons |= MOVE_KEYS[code] ?? 0;
    if (this.mouseDown || this.held.has(FIRE_KEY) || this.fireLatched) buttons |= DUEL_BUTTONS.fire;
    this.fireLatched = false;
    const aim = this.aimFrom(player);
    return { buttons, x: aim.x, y: aim.y };
  }

  /** Forgets every held key and button (focus lost, tab hidden). */
  releaseAll(): void {
    this.held.clear();
    this.mouseDown = false;
    this.fireLatched = false;
  }

  /** Stops listening. */
  dispose(): void {
    this.detach();
    this.releaseAll();
  }

  private aimFrom(player: WorldPoint | null): { x: number; y: number } {
    if (!player || !this.pointer) return { x: 0, y: 0 };
    const at = this.toWorld(this.pointer.clientX, this.pointer.clientY);
    if (!at) return { x: 0, y: 0 };
    return duelAim(at.x - player.x, at.y - player.y);
  }
}
