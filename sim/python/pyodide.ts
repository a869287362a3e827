import type { PyodideInterface } from 'pyodide';

/**
 * The hash seed every Concord Python interpreter starts with. Python salts `str` and `bytes`
 * hashes with a random seed per process, which makes the iteration order of a set of strings
 * differ between peers; one fixed seed makes it the same everywhere.
 */
export const PYTHON_HASH_SEED = '0';

/** Options of {@link loadConcordPyodide}. */
export interface ConcordPyodideOptions {
  /**
   * Where Pyodide's files are (`pyodide.asm.wasm`, `python_stdlib.zip`, ...). In Node the
   * installed `pyodide` package is used when omitted; in a browser the relay's own copy.
   */
  readonly indexURL?: string;
  /** Receives what Python prints to stdout, one line per call (default: the console). */
  readonly stdout?: (line: string) => void;
  /** Receives what Python prints to stderr, one line per call (default: the console). */
  readonly stderr?: (line: string) => void;
}

/**
 * Loads a fresh Pyodide interpreter whose string hashing is fixed ({@link PYTHON_HASH_SEED}).
 * Takes about 2–3 s in Node. Interpreters loaded any other way are refused by the adapter.
 */
export async function loadConcordPyodide(
  options: ConcordPyodideOptions = {},
): Promise<PyodideInterface> {
  const { loadPyodide } = await import('pyodide');
  // loadPyodide adds HOME and others to the object it is given: pass a new one every time.
  return loadPyodide({ ...options, env: { PYTHONHASHSEED: PYTHON_HASH_SEED } });
}

let shared: Promise<PyodideInterface> | undefined;

/**
 * The process's shared interpreter, loaded by {@link loadConcordPyodide} on first use. Several
 * Python sims can live in it: each keeps its own module namespace and `random` state.
 */
export function sharedPyodide(): Promise<PyodideInterface> {
  if (!shared) {
    shared = loadConcordPyodide();
    // A failed load must not poison later attempts.
    shared.catch(() => {
      shared = undefined;
    });
  }
  return shared;
}
