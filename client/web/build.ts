import { copyFile, mkdir, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const HERE = path.dirname(fileURLToPath(import.meta.url));
/** Files copied as they are next to the bundle. */
const STATIC_FILES = ['index.html', 'style.css'];

/** What {@link buildWebClient} wrote. */
export interface WebClientBuild {
  /** Absolute path of the output directory. */
  readonly outDir: string;
  /**
   * The files written, relative to `outDir`, sorted: `app.js`, `app.js.LEGAL.txt` (the bundled
   * libraries' licence comments), `app.js.map`, `index.html`, `style.css`.
   */
  readonly files: string[];
}

/**
 * Builds the browser page: bundles `client/web/main.ts` and everything it imports (the session,
 * the protocol, the sim, socket.io-client, msgpackr, xxhash-wasm with its WebAssembly inline,
 * Phaser) with esbuild into one minified ES2022 module `app.js` with a source map, for the
 * browser platform, so that an import of a Node built-in fails the build instead of the page;
 * then copies `index.html` and `style.css`. Every file the page needs is in `outDir`: the relay
 * serves them, nothing comes from a CDN. The directory is emptied first.
 *
 * @param outDir where to write (default `dist/web`, relative to the working directory)
 * @throws the esbuild error (with its messages) when the bundle does not build
 */
export async function buildWebClient(outDir = 'dist/web'): Promise<WebClientBuild> {
  const out = path.resolve(outDir);
  await rm(out, { recursive: true, force: true });
  await mkdir(out, { recursive: true });
  await build({
    entryPoints: [path.join(HERE, 'main.ts')],
    outfile: path.join(out, 'app.js'),
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    sourcemap: true,
    legalComments: 'linked',
    logLevel: 'silent',
  });
  for (const f of STATIC_FILES) await copyFile(path.join(HERE, f), path.join(out, f));
  const files = (await readdir(out)).sort();
  return { outDir: out, files };
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const started = Date.now(); // clock-ok: build timing
  const result = await buildWebClient(process.argv[2]);
  console.log(
    `built the web client into ${result.outDir} in ${Date.now() - started} ms: ${result.files.join(', ')}`, // clock-ok
  );
}
