/**
 * Loading a sim module's bundle into this Node process (the relay, the bots, replay), apart from
 * the bundling itself (`./sim-modules.ts`, which needs esbuild) so that replay loads a bundle from
 * a log without it.
 *
 * @packageDocumentation
 */
import { createHash } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConcordError, checkSimModule, type SimModule } from '../sim/index.ts';

let cacheDir: Promise<string> | null = null;

/**
 * Where this process writes bundles for Node to import them: a folder of its own under the
 * system's temporary folder, made once with `mkdtemp` (readable by this user only), so that no
 * other user can place or swap a file that this process then imports.
 */
function bundleCacheDir(): Promise<string> {
  cacheDir ??= mkdtemp(path.join(os.tmpdir(), 'concord-sim-bundles-'));
  return cacheDir;
}

const imported = new Map<string, Promise<unknown>>();

/**
 * Imports a bundle in this process and checks its exports (`checkSimModule`). The code is
 * written to a file named by its content hash in a temporary folder of this process's own and
 * imported from there (Node imports ES modules from files; the same code is imported once per
 * process, and a file is never rewritten).
 * @param code the bundle (from `bundleSimModule`, or a log header)
 * @param name the file to name in errors (the source path, or the log)
 * @throws ConcordError `BAD_CONFIG` naming `name` when the code throws while loading, or when
 *   its exports are not a sim module (each missing or wrong export on its own line)
 */
export async function importSimBundle(code: string, name: string): Promise<SimModule> {
  // A content hash as file name: two bundles never share a file, one bundle is written once.
  const key = createHash('sha256').update(code).digest('hex').slice(0, 32);
  let pending = imported.get(key);
  if (pending === undefined) {
    pending = (async () => {
      const target = path.join(await bundleCacheDir(), `${key}.mjs`);
      await writeFile(target, code, { encoding: 'utf8', flag: 'wx' });
      return import(pathToFileURL(target).href);
    })();
    imported.set(key, pending);
  }
  let exports: unknown;
  try {
    exports = await pending;
  } catch (err) {
    // Kept: Node keeps a module that threw while loading as failed, so a second import fails alike.
    throw new ConcordError(
      'BAD_CONFIG',
      `${name}: the sim module threw while loading: ${(err as Error).message ?? String(err)}`,
    );
  }
  return checkSimModule(exports, name);
}
