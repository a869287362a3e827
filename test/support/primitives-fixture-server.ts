import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';

/** The primitives-view fixture page, built and served on loopback. */
export interface FixtureServer {
  /** `http://127.0.0.1:<port>`: the page is at `/`, its bundle at `/fixture.js`. */
  readonly url: string;
  /** Stops the server and removes the built files. */
  close(): Promise<void>;
}

/**
 * Bundles `test/support/primitives-fixture.ts` for the browser with esbuild into a temp dir and
 * serves it with its page on a free port of 127.0.0.1 (404 for any other path). Used by the
 * primitives-view test and its measurement.
 * @throws the esbuild error when the fixture does not build
 */
export async function serveFixturePage(): Promise<FixtureServer> {
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'concord-primitives-'));
  await build({
    entryPoints: [path.join(import.meta.dirname, 'primitives-fixture.ts')],
    outfile: path.join(tmp, 'fixture.js'),
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    logLevel: 'silent',
  });
  await writeFile(
    path.join(tmp, 'index.html'),
    '<!doctype html><html><head><meta charset="utf-8"></head><body><script type="module" src="fixture.js"></script></body></html>',
  );
  const files: Record<string, [string, string]> = {
    '/': ['index.html', 'text/html'],
    '/fixture.js': ['fixture.js', 'text/javascript'],
  };
  const server = http.createServer((req, res) => {
    const file = files[new URL(req.url ?? '/', 'http://x').pathname];
    if (!file) {
      res.writeHead(404).end();
      return;
    }
    readFile(path.join(tmp, file[0])).then(
      (body) => res.writeHead(200, { 'content-type': file[1] }).end(body),
      () => res.writeHead(500).end(),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      await new Promise((r) => server.close(r));
      await rm(tmp, { recursive: true, force: true });
    },
  };
}
