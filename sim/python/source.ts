import { ConcordError } from '../errors.ts';
import { stateHash } from '../hash.ts';

/** The prefix of a sim spec that names a Python environment: `python:FILE[:CLASS]`. */
export const PYTHON_SIM_PREFIX = 'python:';

/** A parsed `python:FILE[:CLASS]` sim spec. */
export interface PythonSimSpec {
  /** The `.py` file, as written in the spec (relative paths are resolved by the caller). */
  readonly file: string;
  /** The environment class, or null to use the single class with a `step` attribute. */
  readonly className: string | null;
}

const utf8 = new TextEncoder();
const PY_IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The code hash of a Python environment's source: xxhash64 (seed 0) of the UTF-8 bytes of the
 * text exactly as given (no line-ending normalisation), as 16 lowercase hex digits, the form of
 * every Concord hash. The relay serves it beside the source, match logs record it, and clients
 * check it against the source they fetched.
 * @throws ConcordError `HASH_NOT_READY` before `initStateHash()` has completed.
 */
export function pythonSourceHash(source: string): string {
  return stateHash(utf8.encode(source));
}

/** True when a scene's sim spec names a Python environment (starts with `python:`). */
export function isPythonSimSpec(sim: string): boolean {
  return sim.startsWith(PYTHON_SIM_PREFIX);
}

/**
 * Parses a sim spec `python:FILE[:CLASS]`. FILE is a path ending in `.py` (POSIX paths: no
 * drive letters, so the first ':' after FILE separates the class); CLASS, when present, is a
 * Python identifier.
 * @throws ConcordError `BAD_CONFIG` naming the spec and what is wrong with it: no `python:`
 *   prefix, an empty file, a file not ending in `.py`, an empty or invalid class name, or more
 *   than one class separator.
 */
export function parsePythonSimSpec(spec: string): PythonSimSpec {
  const bad = (why: string): ConcordError =>
    new ConcordError(
      'BAD_CONFIG',
      `sim spec ${JSON.stringify(spec)}: ${why} (expected python:FILE.py or python:FILE.py:CLASS)`,
    );
  if (!isPythonSimSpec(spec)) throw bad(`does not start with "${PYTHON_SIM_PREFIX}"`);
  const rest = spec.slice(PYTHON_SIM_PREFIX.length);
  const parts = rest.split(':');
  if (parts.length > 2) throw bad('more than one ":" after the file');
  const [file, className] = parts;
  if (file.length === 0) throw bad('no file');
  if (!file.endsWith('.py')) throw bad(`the file "${file}" does not end in .py`);
  if (className === undefined) return { file, className: null };
  if (className.length === 0) throw bad('an empty class name after ":"');
  if (!PY_IDENTIFIER.test(className)) {
    throw bad(`the class name "${className}" is not a Python identifier`);
  }
  return { file, className };
}
