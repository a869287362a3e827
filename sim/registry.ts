import { duel } from './duel/index.ts';
import { ConcordError } from './errors.ts';
import { field } from './field/index.ts';
import { isSimModuleSpec } from './module.ts';
import type { SimFactory } from './sim.ts';

const factories = new Map<string, SimFactory>([
  [duel.id, duel as SimFactory],
  [field.id, field as SimFactory],
]);

/**
 * The built-in sim registered under `id`.
 * @throws ConcordError `UNKNOWN_SIM` naming the id and the known ones; for a Python environment
 *   (`python:FILE[:CLASS]`), saying that it has no built-in factory (its factory is made from
 *   its source by `pythonSimFactory` in `sim/python/`); for a sim module (`./FILE.ts`), saying that
 *   it is loaded from its bundle.
 */
export function getSimFactory(id: string): SimFactory {
  const f = factories.get(id);
  if (f) return f;
  if (id.startsWith('python:')) {
    throw new ConcordError(
      'UNKNOWN_SIM',
      `sim "${id}" is a Python environment, not a built-in sim: make its factory from its source with pythonSimFactory (sim/python/)`,
    );
  }
  if (isSimModuleSpec(id)) {
    throw new ConcordError(
      'UNKNOWN_SIM',
      `sim "${id}" is a sim module, not a built-in sim: bundle and load it with loadSimModule (relay/sim-modules.ts), or from a log's bundle with importSimBundle`,
    );
  }
  throw new ConcordError('UNKNOWN_SIM', `unknown sim "${id}" (known: ${simIds().join(', ')})`);
}

/** Ids of the built-in sims, sorted. */
export function simIds(): string[] {
  return [...factories.keys()].sort();
}
