import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConcordError, getSimFactory, stateHash } from '../../sim/index.ts';

/** The `sim/` folder of this checkout, found from this module's own location. */
const SIM_ROOT = fileURLToPath(new URL('../../sim/', import.meta.url));

const cache = new Map<string, string>();

/**
 * The code hash of a built-in sim: xxhash64 (16 lowercase hex digits, as {@link stateHash}) of
 * its source, so that a replay years later can tell whether it runs the code that played the
 * match. The source is every non-test `.ts` file of the sim core (`sim/*.ts`) and of the sim's
 * own folder (`sim/<id>/`, recursively), sorted by path relative to `sim/` ('/'-separated,
 * compared by code unit); for each file the hash input holds its relative path, a NUL byte,
 * its length in bytes after CRLF→LF normalisation (decimal), a NUL byte, and those bytes. The
 * normalisation keeps the hash the same in a checkout with Windows line endings.
 *
 * The result is cached per id for the life of the process.
 *
 * @throws ConcordError `UNKNOWN_SIM` for an id the registry does not know or whose source
 *   folder is missing; `HASH_NOT_READY` before `initStateHash()` has completed.
 */
export function simCodeHash(simId: string): string {
  const cached = cache.get(simId);
  if (cached !== undefined) return cached;
  getSimFactory(simId);
  const simDir = path.join(SIM_ROOT, simId);
  if (!isDirectory(simDir)) {
    throw new ConcordError('UNKNOWN_SIM', `sim "${simId}" has no source folder ${simDir}`);
  }
  const files = [...sourceFiles(SIM_ROOT, '', false), ...sourceFiles(simDir, `${simId}/`, true)];
  files.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
  const parts: Buffer[] = [];
  for (const { rel, abs } of files) {
    const text = readFileSync(abs, 'utf8').replace(/\r\n/g, '\n');
    const bytes = Buffer.from(text, 'utf8');
    parts.push(Buffer.from(`${rel}\0${bytes.length}\0`, 'utf8'), bytes);
  }
  const hash = stateHash(Buffer.concat(parts));
  cache.set(simId, hash);
  return hash;
}

function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** Non-test `.ts` files under `dir`, named `prefix` + their path below it. */
function sourceFiles(
  dir: string,
  prefix: string,
  recursive: boolean,
): { rel: string; abs: string }[] {
  const out: { rel: string; abs: string }[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const abs = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (recursive) out.push(...sourceFiles(abs, `${prefix}${entry.name}/`, true));
    } else if (entry.isFile() && entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) {
      out.push({ rel: `${prefix}${entry.name}`, abs });
    }
  }
  return out;
}
