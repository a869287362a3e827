/**
 * The admin routes of the relay, all behind the admin token (relay/admin/token.ts); see
 * `docs/admin.md` and `docs/replay-viewer.md`:
 *
 * - `GET /admin/login` the token form; `POST /admin/login` (`token=…`, urlencoded) sets the
 *   cookie and goes on to `next` (the admin page, or the replay page asked for); a wrong token is
 *   401 and counted; `POST /admin/logout` removes the cookie;
 * - `GET /admin`, `GET /replay/<match id>`: the pages (`admin.html`, `replay.html` of the built
 *   web client); without the token, a redirect to the form;
 * - `GET /admin/api/state`: an `AdminState`; `GET /admin/api/events`: server-sent events, a
 *   `state` event at once, then one per second;
 * - `GET /admin/api/logs/<match id>`: the match's `ReplayData` (404 for no such log);
 * - `POST /admin/api/matches/<match id>/end` (`{"reason": "…"}` optional): ends a match;
 * - `POST /admin/api/participants/<id>/remove`: removes a participant through the study's
 *   {@link AdminSource} (501 without a study server).
 *
 * An API request without the token is 401 (`WWW-Authenticate: Bearer`). A POST whose `Origin`
 * header names another site is 403, whatever it carries (with the `SameSite=Strict` cookie, this
 * shuts out cross-site requests twice over).
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import {
  ADMIN_PATHS,
  type AdminMatch,
  type AdminParticipant,
  type AdminState,
  type AdminWaitingRoom,
  MAX_ADMIN_FINISHED,
} from '../../protocol/index.ts';
import { LogError, readMatchLog } from '../log/index.ts';
import { FinishedMatches } from './finished-matches.ts';
import { replayDataOf } from './replay-data.ts';
import type { AdminSource, RelayAdminView } from './source.ts';
import { AdminAuth } from './token.ts';

/** Largest request body the admin routes read (the token form, an action's reason), bytes. */
const MAX_BODY_BYTES = 8192;
/** Time between two `state` events of `/admin/api/events`, ms. */
export const ADMIN_EVENTS_INTERVAL_MS = 1000;
/** Longest reason an action takes, characters. */
const MAX_REASON = 200;

/** What {@link adminRoutes} serves. */
export interface AdminRoutesOptions {
  /** The admin token (never a default; see `resolveAdminToken`). */
  readonly token: string;
  /** The relay's logs directory. */
  readonly logsDir: string;
  /** The built web client, whose `admin.html` and `replay.html` are the pages; none: 404 pages. */
  readonly webRoot?: string;
  readonly relay: RelayAdminView;
  /** The study's side (participants, removal), or none: the relay runs no study. */
  readonly source?: AdminSource;
  /** The relay's counters, shown on the page. */
  readonly counters: () => Readonly<Record<string, unknown>>;
  /** Notable events (logins refused, matches ended, participants removed). */
  readonly onEvent: (event: string, detail: Record<string, unknown>) => void;
}

/** The admin routes as the relay mounts them. */
export interface AdminRoutes {
  /** Answers an admin request; false for any other request. */
  handle(req: IncomingMessage, res: ServerResponse): boolean;
  /** The current state, as `/admin/api/state` sends it. */
  state(): Promise<AdminState>;
  /** Refused admin requests so far: wrong tokens at the form and API requests without one. */
  readonly refused: { login: number; api: number; origin: number };
  /** Ends every event stream (the relay closes). */
  close(): void;
}

const MATCH_PATH = /^\/admin\/api\/matches\/([A-Za-z0-9_-]{1,128})\/end$/;
const PARTICIPANT_PATH = /^\/admin\/api\/participants\/([^/]{1,256})\/remove$/;
const LOG_PATH = /^\/admin\/api\/logs\/([A-Za-z0-9_-]{1,128})$/;
const REPLAY_PAGE = /^\/replay\/([A-Za-z0-9_-]{1,128})$/;

/** Builds the admin routes; see the module comment. */
export function adminRoutes(o: AdminRoutesOptions): AdminRoutes {
  const auth = new AdminAuth(o.token);
  const finished = new FinishedMatches(o.logsDir);
  const refused = { login: 0, api: 0, origin: 0 };
  const streams = new Set<ServerResponse>();
  let timer: ReturnType<typeof setInterval> | null = null;

  const state = async (): Promise<AdminState> => {
    const matches = o.relay.matches();
    const waiting = o.relay.waiting();
    const running = new Set(matches.map((m) => m.matchId));
    return {
      at: new Date().toISOString(), // clock-ok: the snapshot's time for the page
      matches,
      waiting,
      finished: await finished.list(running, MAX_ADMIN_FINISHED),
      participants: o.source
        ? withRelayStatus(await o.source.participants(), matches, waiting)
        : null,
      canRemove: typeof o.source?.remove === 'function',
      counters: { ...o.counters(), adminRefused: { ...refused } },
    };
  };

  const push = async (): Promise<void> => {
    if (streams.size === 0) return;
    const body = `event: state\ndata: ${JSON.stringify(await state())}\n\n`;
    for (const res of streams) res.write(body);
  };

  const openStream = (req: IncomingMessage, res: ServerResponse): void => {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
    });
    res.write(`retry: ${ADMIN_EVENTS_INTERVAL_MS * 2}\n\n`);
    streams.add(res);
    req.on('close', () => {
      streams.delete(res);
      if (streams.size === 0 && timer) {
        clearInterval(timer);
        timer = null;
      }
    });
    void push().catch(() => {});
    timer ??= setInterval(() => void push().catch(() => {}), ADMIN_EVENTS_INTERVAL_MS);
  };

  const handle = (req: IncomingMessage, res: ServerResponse): boolean => {
    const url = new URL(req.url ?? '/', 'http://relay');
    const p = url.pathname;
    const isAdmin = p === ADMIN_PATHS.page || p.startsWith('/admin/') || REPLAY_PAGE.test(p);
    if (!isAdmin) return false;
    const method = req.method ?? 'GET';

    if (method === 'POST' && !sameOrigin(req)) {
      refused.origin++;
      json(res, 403, { error: 'a request from another site' });
      return true;
    }
    if (p === ADMIN_PATHS.login) {
      if (method === 'GET') loginPage(res, 200, safeNext(url.searchParams.get('next')), null);
      else if (method === 'POST') void login(req, res);
      else json(res, 405, { error: 'GET or POST' });
      return true;
    }
    if (p === ADMIN_PATHS.logout && method === 'POST') {
      res.writeHead(303, { location: ADMIN_PATHS.login, 'set-cookie': AdminAuth.logoutCookie() });
      res.end();
      return true;
    }

    const allowed = auth.allows(req);
    const page = p === ADMIN_PATHS.page ? 'admin.html' : REPLAY_PAGE.test(p) ? 'replay.html' : null;
    if (page !== null && method === 'GET') {
      if (!allowed) {
        res.writeHead(303, { location: `${ADMIN_PATHS.login}?next=${encodeURIComponent(p)}` });
        res.end();
        return true;
      }
      servePage(o.webRoot, page, res);
      return true;
    }
    if (!allowed) {
      refused.api++;
      res.setHeader('www-authenticate', 'Bearer realm="concord-admin"');
      json(res, 401, { error: 'the admin token is missing or wrong' });
      return true;
    }
    if (method === 'GET' && p === ADMIN_PATHS.state) {
      state().then(
        (s) => json(res, 200, s),
        (err) => json(res, 500, { error: String(err) }),
      );
      return true;
    }
    if (method === 'GET' && p === ADMIN_PATHS.events) {
      openStream(req, res);
      return true;
    }
    const log = LOG_PATH.exec(p);
    if (method === 'GET' && log) {
      void serveReplayData(finished.logPath(log[1]), log[1], res);
      return true;
    }
    const end = MATCH_PATH.exec(p);
    if (method === 'POST' && end) {
      void readReason(req).then((reason) => {
        if (reason instanceof Error) return json(res, 400, { error: reason.message });
        const why = reason ?? 'ended by the administrator';
        if (!o.relay.endMatch(end[1], why)) {
          return json(res, 404, { error: `no match ${end[1]} is running` });
        }
        o.onEvent('admin-end-match', { matchId: end[1], reason: why });
        void push().catch(() => {});
        json(res, 200, { ended: end[1], reason: why });
      });
      return true;
    }
    const remove = PARTICIPANT_PATH.exec(p);
    if (method === 'POST' && remove) {
      let id: string;
      try {
        id = decodeURIComponent(remove[1]);
      } catch {
        json(res, 400, { error: 'a participant id that is not valid percent-encoding' });
        return true;
      }
      void readReason(req).then(async (reason) => {
        if (reason instanceof Error) return json(res, 400, { error: reason.message });
        if (!o.source?.remove) {
          return json(res, 501, {
            error: o.source
              ? "this relay's study server cannot remove participants"
              : 'this relay runs no study: there is no participant to remove',
          });
        }
        const why = reason ?? 'removed by the administrator';
        try {
          const outcome = await o.source.remove(id, why);
          o.onEvent('admin-remove-participant', { participantId: id, reason: why, outcome });
          void push().catch(() => {});
          json(res, outcome === 'unknown' ? 404 : 200, { participantId: id, outcome });
        } catch (err) {
          json(res, 500, { error: String((err as Error).message ?? err) });
        }
      });
      return true;
    }
    json(res, 404, { error: 'no such admin route' });
    return true;
  };

  const login = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const body = await readBody(req);
    const form = new URLSearchParams(body instanceof Error ? '' : body);
    const next = safeNext(form.get('next'));
    const token = form.get('token') ?? '';
    if (body instanceof Error || !auth.isToken(token)) {
      refused.login++;
      o.onEvent('admin-login-refused', { address: req.socket.remoteAddress ?? null });
      loginPage(res, 401, next, 'That is not the admin token.');
      return;
    }
    const secure =
      (req.socket as { encrypted?: boolean }).encrypted === true ||
      forwarded(req, 'x-forwarded-proto') === 'https';
    res.writeHead(303, { location: next, 'set-cookie': auth.loginCookie(secure) });
    res.end();
  };

  return {
    handle,
    state,
    refused,
    close: () => {
      if (timer) clearInterval(timer);
      timer = null;
      for (const res of streams) res.end();
      streams.clear();
    },
  };
}

/**
 * The study's participants with what only the relay knows laid over an `active` status: `playing`
 * for a participant connected in a running match, `waiting` for one in a waiting room, `away`
 * for one whose connection dropped mid-match.
 */
export function withRelayStatus(
  participants: readonly AdminParticipant[],
  matches: readonly AdminMatch[],
  waiting: readonly AdminWaitingRoom[],
): AdminParticipant[] {
  const now = new Map<string, string>();
  for (const w of waiting) for (const id of w.waiting) if (id !== null) now.set(id, 'waiting');
  for (const m of matches) {
    for (const p of m.players) {
      if (p.participantId === null || p.status === 'left') continue;
      now.set(p.participantId, p.status === 'connected' ? 'playing' : 'away');
    }
  }
  return participants.map((p) => {
    const status = p.status === 'active' ? now.get(p.id) : undefined;
    return status === undefined ? p : { ...p, status };
  });
}

/** `next` of the form when it is one of the admin pages, else the admin page. */
function safeNext(next: string | null): string {
  return next !== null && (next === ADMIN_PATHS.page || REPLAY_PAGE.test(next))
    ? next
    : ADMIN_PATHS.page;
}

/** The first value of a header that a reverse proxy may set (`X-Forwarded-Host: a, b`), or null. */
function forwarded(req: IncomingMessage, name: string): string | null {
  const v = req.headers[name];
  const first = (Array.isArray(v) ? v[0] : v)?.split(',')[0]?.trim();
  return first ? first : null;
}

/**
 * False when the request's `Origin` names a site other than the one it was sent to: the `Host`
 * header, or behind a reverse proxy that rewrites it, its `X-Forwarded-Host`.
 */
function sameOrigin(req: IncomingMessage): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true; // scripts (curl) send none; browsers always do on POST
  try {
    const host = new URL(origin).host;
    return host === req.headers.host || host === forwarded(req, 'x-forwarded-host');
  } catch {
    return false;
  }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(text);
}

/** The request body as text, or an Error when it is longer than {@link MAX_BODY_BYTES}. */
function readBody(req: IncomingMessage): Promise<string | Error> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        if (!done) resolve(new Error(`the request body is over ${MAX_BODY_BYTES} bytes`));
        done = true;
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (!done) resolve(Buffer.concat(chunks).toString('utf8'));
      done = true;
    });
    req.on('error', (err) => {
      if (!done) resolve(err);
      done = true;
    });
  });
}

/** An action's optional `{"reason": "…"}`: the reason, null for none, or an Error for bad JSON. */
async function readReason(req: IncomingMessage): Promise<string | null | Error> {
  const body = await readBody(req);
  if (body instanceof Error) return body;
  if (body.trim() === '') return null;
  try {
    const v = JSON.parse(body) as { reason?: unknown };
    if (v.reason === undefined) return null;
    if (typeof v.reason !== 'string' || v.reason.length === 0 || v.reason.length > MAX_REASON) {
      return new Error(`"reason" must be a string of 1–${MAX_REASON} characters`);
    }
    return v.reason;
  } catch {
    return new Error('the body must be JSON: {"reason": "…"}');
  }
}

async function serveReplayData(file: string | null, matchId: string, res: ServerResponse) {
  if (file === null) return json(res, 404, { error: 'not a match id' });
  try {
    const data = replayDataOf(await readMatchLog(file));
    json(res, 200, data);
  } catch (err) {
    if (err instanceof LogError && err.code === 'IO') {
      return json(res, 404, { error: `no log of match ${matchId}` });
    }
    json(res, 422, {
      error: `the log of match ${matchId} cannot be read: ${(err as Error).message}`,
    });
  }
}

function servePage(webRoot: string | undefined, name: string, res: ServerResponse): void {
  const missing = () => {
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
    res.end('The admin pages are not built: run "npm run build" and serve its output (--web).\n');
  };
  if (!webRoot) {
    missing();
    return;
  }
  const file = path.join(webRoot, name);
  stat(file).then(
    (s) => {
      res.writeHead(200, {
        'content-type': 'text/html; charset=utf-8',
        'content-length': s.size,
        'cache-control': 'no-store',
      });
      createReadStream(file).pipe(res);
    },
    () => missing(),
  );
}

const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The token form. */
function loginPage(res: ServerResponse, status: number, next: string, error: string | null): void {
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Concord · admin token</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/admin.css"></head>
<body class="admin"><main class="admin-login">
<h1>Concord admin</h1>
<form method="post" action="${ADMIN_PATHS.login}">
<label for="token">Admin token</label>
<input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
<input type="hidden" name="next" value="${escapeHtml(next)}">
<button type="submit">Open</button>
${error ? `<p class="error" role="alert">${escapeHtml(error)}</p>` : ''}
<p>The token is the one the relay was started with (<code>--admin-token</code> or
<code>CONCORD_ADMIN_TOKEN</code>). Scripts send it as <code>Authorization: Bearer TOKEN</code>.</p>
</form></main></body></html>
`;
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'content-length': Buffer.byteLength(html),
    'cache-control': 'no-store',
  });
  res.end(html);
}
