import { createReadStream, existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';

/** The URL path under which the relay serves Pyodide's files. */
export const PYODIDE_URL_PREFIX = '/pyodide/';

/** Pyodide's own files, with their content types. */
const CORE_FILES: Record<string, string> = {
  'pyodide.mjs': 'text/javascript; charset=utf-8',
  'pyodide.mjs.map': 'application/json',
  'pyodide.js': 'text/javascript; charset=utf-8',
  'pyodide.js.map': 'application/json',
  'pyodide.asm.mjs': 'text/javascript; charset=utf-8',
  'pyodide.asm.js': 'text/javascript; charset=utf-8',
  'pyodide.asm.wasm': 'application/wasm',
  'python_stdlib.zip': 'application/zip',
  'pyodide-lock.json': 'application/json',
};

/** Content types of the packages a deployment may add next to them (wheels, zipped libraries). */
const PACKAGE_TYPES: Record<string, string> = {
  '.whl': 'application/zip',
  '.zip': 'application/zip',
  '.tar': 'application/x-tar',
};

/**
 * The directory of the installed `pyodide` npm package, found the way Node resolves it from this
 * file (so it works from a checkout, an installed package and a workspace alike).
 * @throws Error naming the package when it is not installed
 */
export function pyodidePackageDir(): string {
  const require = createRequire(import.meta.url);
  let manifest: string;
  try {
    manifest = require.resolve('pyodide/package.json');
  } catch {
    throw new Error(
      'the "pyodide" package is not installed (run "npm install"): the relay serves its files to browsers',
    );
  }
  const dir = path.dirname(manifest);
  for (const f of ['pyodide.mjs', 'pyodide.asm.wasm', 'python_stdlib.zip', 'pyodide-lock.json']) {
    if (!existsSync(path.join(dir, f))) {
      throw new Error(`the "pyodide" package at ${dir} lacks ${f}: reinstall it`);
    }
  }
  return dir;
}

/**
 * An HTTP handler that serves the installed Pyodide package's files at `/pyodide/<file>` for
 * GET and HEAD (`pyodide.mjs`, `pyodide.asm.mjs`, `pyodide.asm.wasm` as `application/wasm`,
 * `python_stdlib.zip`, `pyodide-lock.json`, and any wheel or zip a deployment put next to them
 * for a scene's extra packages), so that browsers load Python from the relay, never from a CDN.
 * Only those names directly in the package directory are served (no sub-paths, no dot files,
 * not the package's `package.json` or README). Each answer has an ETag, and a request that
 * names the current one gets 304 Not Modified. Returns false for requests
 * outside `/pyodide/`, so the relay can try its other routes; answers 404 for a file that is
 * not there or not of a served kind.
 *
 * @param dir the package directory (default {@link pyodidePackageDir})
 * @throws Error when the package is not installed or incomplete (at creation, not per request)
 */
export function pyodideFiles(
  dir: string = pyodidePackageDir(),
): (req: IncomingMessage, res: ServerResponse) => boolean {
  const base = path.resolve(dir);
  const notFound = (res: ServerResponse, why: string): void => {
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
    res.end(`${why}\n`);
  };
  return (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    const pathname = new URL(req.url ?? '/', 'http://x').pathname;
    if (!pathname.startsWith(PYODIDE_URL_PREFIX)) return false;
    let name: string;
    try {
      name = decodeURIComponent(pathname.slice(PYODIDE_URL_PREFIX.length));
    } catch {
      notFound(res, 'bad file name');
      return true;
    }
    const type = Object.hasOwn(CORE_FILES, name)
      ? CORE_FILES[name]
      : PACKAGE_TYPES[path.extname(name)];
    if (!/^[A-Za-z0-9_][A-Za-z0-9_.+-]*$/.test(name) || !type) {
      notFound(res, `not a Pyodide file: ${JSON.stringify(name)}`);
      return true;
    }
    const file = path.join(base, name);
    stat(file).then(
      (s) => {
        if (!s.isFile()) {
          notFound(res, 'not found');
          return;
        }
        // Revalidated on every load (the URLs carry no version), answered 304 while the
        // installed file is unchanged: a reload then skips the 12 MB download, and the browser
        // can reuse the WebAssembly it compiled.
        const etag = `"${s.size.toString(16)}-${Math.floor(s.mtimeMs).toString(16)}"`;
        const headers = { etag, 'cache-control': 'no-cache' };
        if (req.headers['if-none-match'] === etag) {
          res.writeHead(304, headers).end();
          return;
        }
        res.writeHead(200, { ...headers, 'content-type': type, 'content-length': s.size });
        if (req.method === 'HEAD') res.end();
        else createReadStream(file).pipe(res);
      },
      () => notFound(res, `no ${name} in the installed Pyodide package`),
    );
    return true;
  };
}
