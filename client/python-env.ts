import { ConcordError, initStateHash } from '../sim/index.ts';
import { pythonSourceHash } from '../sim/python/index.ts';

/**
 * A Python scene's environment as the relay serves it at `GET /sims/<scene>`: the scene's sim
 * spec (`python:FILE[:CLASS]`), the class to run (null: the single class with `step`), the
 * source text, its code hash (`pythonSourceHash(source)`, 16 lowercase hex digits) and the
 * extra Pyodide packages to load before the environment.
 */
export interface PythonEnvSource {
  readonly sim: string;
  readonly className: string | null;
  readonly source: string;
  readonly codeHash: string;
  readonly packages: readonly string[];
}

function isStringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'string');
}

/**
 * Fetches a Python scene's environment from a relay (`GET <relayUrl>/sims/<scene>`, global
 * `fetch`, so it runs in Node, a page and a Worker alike) and checks that the source hashes to
 * the code hash the relay sent.
 * @param relayUrl the relay's base URL, e.g. `http://127.0.0.1:8080` (a trailing '/' is fine)
 * @param scene the scene name
 * @throws ConcordError `BAD_CONFIG` when the request fails, the relay answers with an HTTP error
 *   (naming the status and the relay's message, e.g. 404 for an unknown or non-Python scene),
 *   the body is not the expected JSON, or the source does not hash to `codeHash`.
 */
export async function fetchPythonEnv(relayUrl: string, scene: string): Promise<PythonEnvSource> {
  return requestPythonEnv(relayUrl, scene, false) as Promise<PythonEnvSource>;
}

/**
 * {@link fetchPythonEnv}, but null when the relay answers 404 (an unknown scene or one that is
 * not a Python scene), for a peer that does not know in advance what its scene runs.
 * @throws ConcordError `BAD_CONFIG` as {@link fetchPythonEnv} does for anything but a 404.
 */
export function findPythonEnv(relayUrl: string, scene: string): Promise<PythonEnvSource | null> {
  return requestPythonEnv(relayUrl, scene, true);
}

async function requestPythonEnv(
  relayUrl: string,
  scene: string,
  nullOn404: boolean,
): Promise<PythonEnvSource | null> {
  await initStateHash();
  const url = `${relayUrl.replace(/\/+$/, '')}/sims/${encodeURIComponent(scene)}`;
  let res: Response;
  try {
    res = await fetch(url);
  } catch (err) {
    throw new ConcordError(
      'BAD_CONFIG',
      `cannot fetch the Python environment of scene "${scene}" from ${url}: ${(err as Error).message}`,
    );
  }
  const text = await res.text();
  if (res.status === 404 && nullOn404) return null;
  if (!res.ok) {
    let detail = text.slice(0, 200);
    try {
      const body = JSON.parse(text) as { error?: unknown };
      if (typeof body.error === 'string') detail = body.error;
    } catch {
      // not JSON: the start of the body is the detail
    }
    throw new ConcordError(
      'BAD_CONFIG',
      `the relay answered ${res.status} for the Python environment of scene "${scene}" (${url}): ${detail}`,
    );
  }
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new ConcordError('BAD_CONFIG', `${url} did not answer JSON`);
  }
  const { sim, className, source, codeHash, packages } = body ?? {};
  if (
    typeof sim !== 'string' ||
    (className !== null && typeof className !== 'string') ||
    typeof source !== 'string' ||
    typeof codeHash !== 'string' ||
    !isStringArray(packages)
  ) {
    throw new ConcordError(
      'BAD_CONFIG',
      `${url} answered JSON without the fields {sim, className, source, codeHash, packages}`,
    );
  }
  const computed = pythonSourceHash(source);
  if (computed !== codeHash) {
    throw new ConcordError(
      'BAD_CONFIG',
      `the Python source of scene "${scene}" hashes to ${computed}, not the code hash ${codeHash} the relay sent`,
    );
  }
  return { sim, className, source, codeHash, packages };
}
