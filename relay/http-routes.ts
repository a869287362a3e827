/**
 * The relay's HTTP routes, tried in this order: the embedder's own (`RelayOptions.http`),
 * `GET /healthz`, `GET /metrics`, `GET /sims/<scene>`, Pyodide's files and the built web client
 * (when a web root is served), else 404.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import { pyodideFiles } from './pyodide-files.ts';
import type { PythonSceneSource } from './scenes.ts';
import type { SimHostStats } from './sim-host/index.ts';
import { staticFiles } from './static-files.ts';
import type { RelayStats } from './stats.ts';

/** A request handler that says whether it answered. */
export type HttpRoute = (req: IncomingMessage, res: ServerResponse) => boolean;

/** What {@link httpRoutes} serves. */
export interface HttpRoutesOptions {
  /** Tried first; see `RelayOptions.http`. */
  readonly http?: HttpRoute;
  /** Directory of the built web client to serve at `/` (and Pyodide beside it), or none. */
  readonly webRoot?: string;
  /**
   * True when the relay serves an experiment: `/` is then the study page (`study.html`) and the
   * demo page stays at `/play`; false (default): `/` and `/play` are the demo page.
   */
  readonly studyPage?: boolean;
  readonly pythonScenes: ReadonlyMap<string, PythonSceneSource>;
  /** The relay's counters, for `/healthz`. */
  readonly stats: () => RelayStats;
  /** True once the relay is shutting down (`/healthz` answers 503 `closing`). */
  readonly closing: () => boolean;
  /** The sim host's figures (the referees' cost per frame), for `/healthz`; absent: none. */
  readonly simHost?: () => SimHostStats;
  /** The registry `GET /metrics` serves (Prometheus text format); absent: no `/metrics`. */
  readonly metrics?: Registry;
}

/**
 * The relay's request handler.
 *
 * - `GET /healthz`: 200 `{status: 'ok', uptimeS, ...RelayStats, simHost}`, 503
 *   `{status: 'closing', ...}` while shutting down; `simHost` is the sim host's `SimHostStats`
 *   (workers, calls, frames stepped, µs per frame, per match), or null without one;
 * - `GET /sims/<scene>`: a Python scene's environment `{sim, className, source, codeHash,
 *   packages}`, 404 `{error}` for an unknown or non-Python scene;
 * - `GET /metrics`: the relay's metrics in Prometheus text format 0.0.4 (docs/metrics.md); 500
 *   with the error when a metric cannot be read.
 */
export function httpRoutes(
  o: HttpRoutesOptions,
): (req: IncomingMessage, res: ServerResponse) => void {
  const startedAt = Date.now(); // clock-ok: relay uptime, not sim
  const web = o.webRoot
    ? staticFiles(o.webRoot, { index: o.studyPage ? 'study.html' : 'index.html' })
    : null;
  const pyodide = o.webRoot ? pyodideFiles() : null; // Pyodide for the page's Python worker
  return (req, res) => {
    if (o.http?.(req, res)) return;
    if (req.method === 'GET' && req.url === '/healthz') {
      const closing = o.closing();
      res.writeHead(closing ? 503 : 200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          status: closing ? 'closing' : 'ok',
          uptimeS: Math.round((Date.now() - startedAt) / 1000), // clock-ok
          ...o.stats(),
          simHost: o.simHost?.() ?? null,
        }),
      );
      return;
    }
    const metrics = o.metrics;
    if (
      metrics &&
      req.method === 'GET' &&
      (req.url === '/metrics' || req.url?.startsWith('/metrics?'))
    ) {
      metrics.metrics().then(
        (body) => {
          res.writeHead(200, { 'content-type': metrics.contentType, 'cache-control': 'no-cache' });
          res.end(body);
        },
        (err: unknown) => {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(`metrics: ${err instanceof Error ? err.message : String(err)}\n`);
        },
      );
      return;
    }
    if (req.method === 'GET' && req.url?.startsWith('/sims/')) {
      serveSim(o.pythonScenes, req.url, res);
      return;
    }
    if (pyodide?.(req, res) || web?.(req, res)) return;
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found\n');
  };
}

/** `GET /sims/<scene>`: a Python scene's environment as JSON, else 404 with `{error}`. */
function serveSim(
  pythonScenes: ReadonlyMap<string, PythonSceneSource>,
  url: string,
  res: ServerResponse,
): void {
  const raw = url.slice('/sims/'.length).split('?')[0];
  let name: string;
  try {
    name = decodeURIComponent(raw);
  } catch {
    name = raw;
  }
  const python = pythonScenes.get(name);
  if (!python) {
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: `no Python scene "${name.slice(0, 100)}" on this relay` }));
    return;
  }
  const body = JSON.stringify({
    sim: python.sim,
    className: python.className,
    source: python.source,
    codeHash: python.codeHash,
    packages: python.packages,
  });
  res.writeHead(200, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-cache',
  });
  res.end(body);
}
