import type { Frame, Input, PlayerSlot, Sim } from '../../sim/index.ts';

/** A sim wrapped by {@link captureConfirmedState}, and what it captured. */
export interface ConfirmedCapture<Snap> {
  /** Hand this to the session instead of the original sim. */
  readonly sim: Sim<Snap>;
  /** A private copy of the confirmed state S(frame), once the session has hashed it; else null. */
  captured(): Snap | null;
}

/**
 * Wraps `sim` so that the confirmed state of one `frame` (the scene's frame limit, a multiple of
 * its hash interval) is kept when the session hashes it. The session encodes a snapshot only to
 * hash a confirmed frame, and frees that snapshot in the same tick, so catching the encode is the
 * one moment the exact, final S(frame) is in hand; the copy is decoded from the canonical bytes,
 * so later snapshot reuse cannot change it. Everything else passes straight through.
 *
 * @param frameOf reads the frame of a snapshot of this sim
 */
export function captureConfirmedState<Snap>(
  sim: Sim<Snap>,
  frame: Frame,
  frameOf: (snapshot: Snap) => Frame,
): ConfirmedCapture<Snap> {
  let kept: Snap | null = null;
  const wrapped: Sim<Snap> = {
    id: sim.id,
    players: sim.players,
    get frame(): Frame {
      return sim.frame;
    },
    step: (inputs: readonly Input[]) => sim.step(inputs),
    save: (reuse?: Snap) => sim.save(reuse),
    load: (snapshot: Snap) => sim.load(snapshot),
    encode: (snapshot: Snap) => {
      const bytes = sim.encode(snapshot);
      // The latest wins: after a resync the session hashes the restored line of play again.
      if (frameOf(snapshot) === frame) kept = sim.decode(bytes);
      return bytes;
    },
    decode: (bytes: Uint8Array) => sim.decode(bytes),
  };
  if (sim.defaultInput) {
    const defaultInput = sim.defaultInput.bind(sim);
    wrapped.defaultInput = (slot: PlayerSlot) => defaultInput(slot);
  }
  return { sim: wrapped, captured: () => kept };
}
