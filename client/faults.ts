import {
  type CanonicalValue,
  canonicalDecode,
  canonicalEncode,
  type Frame,
  type Input,
  type PlayerSlot,
  type Sim,
} from '../sim/index.ts';

/** Keys whose change would not be a state corruption but a different frame or format. */
const SKIPPED = new Set(['frame', 'v', 'rng', 'version']);

function* numericLeaves(
  value: CanonicalValue,
  path: (string | number)[],
): Generator<(string | number)[]> {
  if (typeof value === 'number') {
    yield path;
    return;
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) yield* numericLeaves(value[i], [...path, i]);
    return;
  }
  if (value !== null && typeof value === 'object' && !(value instanceof Uint8Array)) {
    for (const key of Object.keys(value).sort()) {
      if (path.length === 0 && SKIPPED.has(key)) continue;
      yield* numericLeaves((value as Record<string, CanonicalValue>)[key], [...path, key]);
    }
  }
}

/**
 * Changes one numeric field of the sim's current state by one (down if positive, else up): the
 * first field, in canonical order, whose changed state the sim accepts. Works for every sim,
 * through its canonical encoding. For fault injection only.
 * @returns the path of the field changed, e.g. `players.0.4`, or null if no field could change
 */
export function corruptOneField<Snap>(sim: Sim<Snap>): string | null {
  const plain = canonicalDecode(sim.encode(sim.save()));
  for (const path of numericLeaves(plain, [])) {
    const copy = structuredClone(plain) as Record<string | number, unknown>;
    let at = copy;
    for (const k of path.slice(0, -1)) at = at[k] as Record<string | number, unknown>;
    const last = path[path.length - 1];
    const v = at[last] as number;
    at[last] = v > 0 ? v - 1 : v + 1;
    try {
      sim.load(sim.decode(canonicalEncode(copy as CanonicalValue)));
      return path.join('.');
    } catch {
      // Not a value this sim accepts there: try the next field.
    }
  }
  return null;
}

/**
 * A sim that corrupts one field of its state each time a step produces frame `atFrame`: the
 * fault `concord bots --desync-at` injects. Re-simulations through that frame corrupt it the same
 * way, so the damage stays on this peer's line of play until a state from the host replaces it.
 */
export class CorruptingSim<Snap> implements Sim<Snap> {
  /** The field changed, once it has been. */
  corruptedField: string | null = null;

  constructor(
    private readonly inner: Sim<Snap>,
    private readonly atFrame: Frame,
  ) {}

  get id(): string {
    return this.inner.id;
  }
  get players(): number {
    return this.inner.players;
  }
  get frame(): Frame {
    return this.inner.frame;
  }
  step(inputs: readonly Input[]): void {
    this.inner.step(inputs);
    if (this.inner.frame === this.atFrame) this.corruptedField = corruptOneField(this.inner);
  }
  save(reuse?: Snap): Snap {
    return this.inner.save(reuse);
  }
  load(snapshot: Snap): void {
    this.inner.load(snapshot);
  }
  encode(snapshot: Snap): Uint8Array {
    return this.inner.encode(snapshot);
  }
  decode(bytes: Uint8Array): Snap {
    return this.inner.decode(bytes);
  }
  defaultInput(slot: PlayerSlot): Input {
    return this.inner.defaultInput?.(slot) ?? { buttons: 0, x: 0, y: 0 };
  }
}
