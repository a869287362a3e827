import { duel } from './duel/index.ts';
import { ConcordError } from './errors.ts';
import type { SimFactory } from './sim.ts';

const factories = new Map<string, SimFactory>([[duel.id, duel as SimFactory]]);

/**
 * The built-in sim registered under `id`.
 * @throws ConcordError `UNKNOWN_SIM` naming the id and the known ones.
 */
export function getSimFactory(id: string): SimFactory {
  const f = factories.get(id);
  if (!f)
    throw new ConcordError('UNKNOWN_SIM', `unknown sim "${id}" (known: ${simIds().join(', ')})`);
  return f;
}

/** Ids of the built-in sims, sorted. */
export function simIds(): string[] {
  return [...factories.keys()].sort();
}
