/**
 * How the duel page draws an authoritative match (scene `mode: authoritative`): the local player
 * where the client's prediction has it (its movement shows the frame it is pressed), with a
 * correction from the host smoothed away over a few frames unless it is large; the other players
 * interpolated between two host states `interpolationDelayMs` in the past, so that they move
 * smoothly between the host's states (Valve's entity interpolation).
 */
import { DUEL_RULES, type DuelPlayerView } from '../../sim/duel/index.ts';
import type { DuelView } from '../../sim/index.ts';

/** A correction larger than this, in world units, is shown at once (a respawn, a long stall). */
export const SNAP_DISTANCE = 12 * DUEL_RULES.playerSpeed;
/** Fraction of the remaining correction kept after each frame (about 10 frames to fade). */
export const CORRECTION_DECAY = 0.75;

/**
 * `cur` with every player but `localSlot` drawn between `from` and `to` (host states) at `alpha`:
 * where a player teleported (a respawn) or died between the two, as in `to`.
 */
export function interpolateOthers(
  cur: DuelView,
  from: DuelView,
  to: DuelView,
  alpha: number,
  localSlot: number,
): DuelView {
  const players = cur.players.map((p): DuelPlayerView => {
    if (p.slot === localSlot) return p;
    const a = from.players[p.slot];
    const b = to.players[p.slot];
    if (!a || !b) return p;
    const far = Math.abs(b.x - a.x) + Math.abs(b.y - a.y) > SNAP_DISTANCE;
    if (far || a.alive !== b.alive) return b;
    const lerp = (u: number, v: number) => u + (v - u) * alpha;
    return {
      ...b,
      x: lerp(a.x, b.x),
      y: lerp(a.y, b.y),
      aimX: lerp(a.aimX, b.aimX),
      aimY: lerp(a.aimY, b.aimY),
    };
  });
  return { ...cur, players };
}

/**
 * The local player's drawn offset after reconciliations: each correction (where the prediction
 * had the player minus where the host's state puts it) is added, then fades by
 * {@link CORRECTION_DECAY} per frame; a correction larger than {@link SNAP_DISTANCE} is shown at
 * once (the offset is dropped).
 */
export class CorrectionSmoother {
  x = 0;
  y = 0;
  /** Corrections smoothed, and corrections shown at once. */
  smoothed = 0;
  snapped = 0;

  /** A reconciliation moved the local player by (-dx, -dy): draw it where it was, then fade. */
  correct(dx: number, dy: number): void {
    if (dx === 0 && dy === 0) return;
    const x = this.x + dx;
    const y = this.y + dy;
    if (Math.abs(x) + Math.abs(y) > SNAP_DISTANCE) {
      this.x = 0;
      this.y = 0;
      this.snapped++;
      return;
    }
    this.x = x;
    this.y = y;
    this.smoothed++;
  }

  /** One frame passed. */
  decay(): void {
    this.x *= CORRECTION_DECAY;
    this.y *= CORRECTION_DECAY;
    if (Math.abs(this.x) < 0.01) this.x = 0;
    if (Math.abs(this.y) < 0.01) this.y = 0;
  }
}
