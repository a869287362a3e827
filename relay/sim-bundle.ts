/**
 * Loading a sim module's bundle into this Node process (the relay, the bots, replay), apart from
 * the bundling itself (`./sim-modules.ts`, which needs esbuild) so that replay loads a bundle from
 * a log without it.
 *
 * @packageDocumentation
 */
import { createHash } from 'node:crypto';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConcordError, checkSimModule, type SimModule } from '../sim/index.ts';

/** Where bundles are written for Node to import them (one file per code hash). */
function bundleCacheDir(): string {
  return path.join(os.tmpdir(), 'concord-sim-bundles');
}

const imported = new Map<string, Promise<unknown>>();

/**
 * Imports a bundle in this process and checks its exports ({@link checkSimModule}). The code is
 * written to a file named by its content hash in the system's temporary folder and imported
 * from there (Node imports ES modules from files; the same code is imported once per process).
 * @param code the bundle (from {@link bundleSimModule}, or a log header)
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
      const dir = bundleCacheDir();
      await mkdir(dir, { recursive: true });
      const target = path.join(dir, `${key}.mjs`);
      const temp = `${target}.${process.pid}.tmp`;
      await writeFile(temp, code, 'utf8');
      await rename(temp, target);
      return import(pathToFileURL(target).href);
    })();
    imported.set(key, pending);
  }
  let exports: unknown;
  try {
    exports = await pending;
  } catch (err) {
    imported.delete(key);
    throw new ConcordError(
      'BAD_CONFIG',
      `${name}: the sim module threw while loading: ${(err as Error).message ?? String(err)}`,
    );
  }
  return checkSimModule(exports, name);
}
