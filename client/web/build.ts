import { copyFile, mkdir, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build, type Plugin } from 'esbuild';

const HERE = path.dirname(fileURLToPath(import.meta.url));
/** Files copied as they are next to the bundle. */
const STATIC_FILES = [
  'index.html',
  'study.html',
  'style.css',
  'admin.html',
  'replay.html',
  'admin.css',
];

/** Where the relay serves Pyodide's loader (relay/pyodide-files.ts), imported at runtime. */
const PYODIDE_MODULE_URL = '/pyodide/pyodide.mjs';

/**
 * The files every build must write, relative to its output directory (the page, the Python
 * scenes' worker, the HTML and the style); {@link buildWebClient} fails when one is missing.
 */
export const WEB_CLIENT_OUTPUTS: readonly string[] = [
  'app.js',
  'study.js',
  'python-worker.js',
  'index.html',
  'study.html',
  'style.css',
  'admin.js',
  'admin.html',
  'admin.css',
  'replay.js',
  'replay-worker.js',
  'replay.html',
];

/**
 * Leaves the `pyodide` package out of the worker's bundle: its import becomes a runtime import of
 * the relay's copy (`/pyodide/pyodide.mjs`), which loads the WebAssembly and the standard library
 * next to it. Bundling it would break its own file lookups and double the worker's size.
 */
const pyodideFromRelay: Plugin = {
  name: 'pyodide-from-relay',
  setup(b) {
    b.onResolve({ filter: /^pyodide$/ }, () => ({ path: PYODIDE_MODULE_URL, external: true }));
  },
};

/** What {@link buildWebClient} wrote. */
export interface WebClientBuild {
  /** Absolute path of the output directory. */
  readonly outDir: string;
  /**
   * The files written, relative to `outDir`, sorted: `app.js`, `app.js.LEGAL.txt` (the bundled
   * libraries' licence comments), `app.js.map`, `index.html`, `python-worker.js` and its
   * `.map`, `study.html`, `study.js` and its `.LEGAL.txt` and `.map`, `style.css`, and the admin
   * pages' files (`admin.*`, `replay.*`, `replay-worker.js`).
   */
  readonly files: string[];
}

/**
 * Builds the browser pages: bundles `client/web/main.ts` (the demo page, `/play`) and everything
 * it imports (the session,
 * the protocol, the sim, socket.io-client, msgpackr, xxhash-wasm with its WebAssembly inline,
 * Phaser) with esbuild into one minified ES2022 module `app.js` with a source map, for the
 * browser platform, so that an import of a Node built-in fails the build instead of the page;
 * bundles the study page (`client/web/study-page.ts`, served at `/` with an experiment) the same
 * way into `study.js`;
 * bundles the Python scenes' Web Worker (`client/web/python-worker.ts`: the session, the protocol,
 * socket.io-client, the Python adapter) the same way into `python-worker.js`, with the `pyodide`
 * import left as a runtime import of `/pyodide/pyodide.mjs`, which the relay serves from the
 * installed package; bundles the admin pages the same way: the admin view (`admin-page.ts` into
 * `admin.js`), the replay viewer (`replay-page.ts` into `replay.js`, with the duel's and the
 * primitives' Phaser views) and its Worker (`replay-worker.ts` into `replay-worker.js`, Pyodide
 * left to the relay as above); then copies `index.html`, `study.html`, `style.css`, `admin.html`,
 * `replay.html` and `admin.css`. Every file the page needs is in
 * `outDir` or served by the relay: nothing comes from a CDN. The directory is emptied first.
 *
 * @param outDir where to write (default `dist/web`, relative to the working directory)
 * @throws the esbuild error (with its messages) when a bundle does not build, or an Error naming
 *   an expected output ({@link WEB_CLIENT_OUTPUTS}) that is missing
 */
export async function buildWebClient(outDir = 'dist/web'): Promise<WebClientBuild> {
  const out = path.resolve(outDir);
  await rm(out, { recursive: true, force: true });
  await mkdir(out, { recursive: true });
  const common = {
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    sourcemap: true,
    legalComments: 'linked',
    logLevel: 'silent',
  } as const;
  await Promise.all([
    build({
      ...common,
      entryPoints: [path.join(HERE, 'main.ts')],
      outfile: path.join(out, 'app.js'),
    }),
    build({
      ...common,
      entryPoints: [path.join(HERE, 'study-page.ts')],
      outfile: path.join(out, 'study.js'),
    }),
    build({
      ...common,
      entryPoints: [path.join(HERE, 'python-worker.ts')],
      outfile: path.join(out, 'python-worker.js'),
      plugins: [pyodideFromRelay],
    }),
    // The admin pages: served only behind the admin token (relay/admin/routes.ts).
    build({
      ...common,
      entryPoints: [path.join(HERE, 'admin-page.ts')],
      outfile: path.join(out, 'admin.js'),
    }),
    build({
      ...common,
      entryPoints: [path.join(HERE, 'replay-page.ts')],
      outfile: path.join(out, 'replay.js'),
    }),
    build({
      ...common,
      entryPoints: [path.join(HERE, 'replay-worker.ts')],
      outfile: path.join(out, 'replay-worker.js'),
      plugins: [pyodideFromRelay],
    }),
  ]);
  for (const f of STATIC_FILES) await copyFile(path.join(HERE, f), path.join(out, f));
  const files = (await readdir(out)).sort();
  const missing = WEB_CLIENT_OUTPUTS.filter((f) => !files.includes(f));
  if (missing.length > 0) throw new Error(`the web build did not write ${missing.join(', ')}`);
  return { outDir: out, files };
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const started = Date.now(); // clock-ok: build timing
  const result = await buildWebClient(process.argv[2]);
  console.log(
    `built the web client into ${result.outDir} in ${Date.now() - started} ms: ${result.files.join(', ')}`, // clock-ok
  );
}
