import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.py': 'text/x-python; charset=utf-8',
  '.zip': 'application/zip',
  '.txt': 'text/plain; charset=utf-8',
};

/** The page a path without a file names: `/` is `index`, `/play` (the demo page) `index.html`. */
export interface StaticFilesOptions {
  /** The file served at `/` (and any path ending in `/`), default `index.html`. */
  readonly index?: string;
}

/** The demo page's path: the built-in scenes, playable whatever `/` serves. */
export const PLAY_PATH = '/play';

/**
 * An HTTP handler that serves the files under `root` for GET and HEAD (`/` is `/index.html`, or
 * `options.index`; `/play` is `/index.html`), refusing any path that leaves the root. Returns
 * false for requests it does not serve, so the relay can try its other routes.
 */
export function staticFiles(
  root: string,
  options: StaticFilesOptions = {},
): (req: IncomingMessage, res: ServerResponse) => boolean {
  const base = path.resolve(root);
  const index = options.index ?? 'index.html';
  return (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/healthz' || url.pathname.startsWith('/socket.io/')) return false;
    let rel: string;
    try {
      rel = decodeURIComponent(url.pathname);
    } catch {
      return false;
    }
    if (rel === PLAY_PATH || rel === `${PLAY_PATH}/`) rel = '/index.html';
    else if (rel.endsWith('/')) rel += index;
    const file = path.resolve(base, `.${rel}`);
    if (file !== base && !file.startsWith(base + path.sep)) return false;
    const type = TYPES[path.extname(file)];
    if (!type) return false;
    stat(file).then(
      (s) => {
        if (!s.isFile()) {
          res.writeHead(404).end();
          return;
        }
        res.writeHead(200, {
          'content-type': type,
          'content-length': s.size,
          'cache-control': 'no-cache',
        });
        if (req.method === 'HEAD') res.end();
        else createReadStream(file).pipe(res);
      },
      () => {
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end(
          rel === '/index.html' || rel === `/${index}`
            ? `The page is not built: run "npm run build" (npm start does it for you).\n`
            : 'not found\n',
        );
      },
    );
    return true;
  };
}
