/**
 * HTTP routes that give the study page a game scene's sim module: `GET /modules/<relay scene>.js`
 * is the bundle the relay made at start (the module and every import, one self-contained ES
 * module: the page `import()`s it), and `GET /modules/<relay scene>.json` says what the page
 * needs beside it: the sim spec, the bundle's code hash and the scene's keys and actions (the
 * log header's `ActionMapRecord`), which the study view does not carry for named actions.
 *
 * @packageDocumentation
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { LoadedSimModule } from '../sim-modules.ts';
import type { StudyRelayScene } from './relay-scenes.ts';

/** Where the routes live: `/modules/<relay scene>.js` and `.json`. */
export const MODULE_ROUTE_PREFIX = '/modules/';

/**
 * The module routes of a study's relay scenes. Returns false for any other path (the relay tries
 * its other routes); answers 404 with `{error}` for a scene that is not a module scene.
 * @param relayScenes the study's relay scenes by name
 * @param sims the loaded sim modules, by source file (the scenes' `simPath`)
 */
export function moduleRoutes(
  relayScenes: ReadonlyMap<string, StudyRelayScene>,
  sims: ReadonlyMap<string, LoadedSimModule>,
): (req: IncomingMessage, res: ServerResponse) => boolean {
  return (req, res) => {
    if (req.method !== 'GET' || !req.url?.startsWith(MODULE_ROUTE_PREFIX)) return false;
    const file = req.url.slice(MODULE_ROUTE_PREFIX.length).split('?')[0];
    const m = /^(.+)\.(js|json)$/.exec(file);
    let name = m?.[1] ?? '';
    try {
      name = decodeURIComponent(name);
    } catch {
      name = '';
    }
    const rs = relayScenes.get(name);
    const module = rs?.game.simPath ? sims.get(rs.game.simPath) : undefined;
    if (!m || !rs || !module) {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: `no sim module scene "${name.slice(0, 100)}" here` }));
      return true;
    }
    const body =
      m[2] === 'js'
        ? module.bundle.code
        : JSON.stringify({
            sim: rs.game.sim,
            codeHash: module.bundle.codeHash,
            actions: rs.actionsRecord,
          });
    res.writeHead(200, {
      'content-type': m[2] === 'js' ? 'text/javascript; charset=utf-8' : 'application/json',
      'content-length': Buffer.byteLength(body),
      'cache-control': 'no-cache',
    });
    res.end(body);
    return true;
  };
}
