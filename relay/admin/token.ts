/**
 * The admin token: the one secret that opens the admin view and the replay viewer. It is given at
 * start (`concord serve --admin-token TOKEN` or the `CONCORD_ADMIN_TOKEN` environment variable),
 * never defaulted: a relay started without one serves no admin route at all (404).
 *
 * A request proves it holds the token in one of two ways, so that both a researcher's browser and
 * a script can use it:
 * - `Authorization: Bearer TOKEN` (scripts, `curl -H`);
 * - the cookie {@link ADMIN_COOKIE}, set by the token form at `/admin/login` (browsers). The
 *   cookie holds an HMAC of the token, not the token, and is `HttpOnly; SameSite=Strict`, so a
 *   page of another site can neither read it nor send it with a request.
 *
 * Every comparison runs in constant time (`crypto.timingSafeEqual` over SHA-256 digests, so
 * that the lengths compared are always equal and the time says nothing about the token).
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { ConcordError } from '../../sim/index.ts';

/** Name of the cookie the token form sets. */
export const ADMIN_COOKIE = 'concord_admin';

/** Shortest token accepted, in characters: a guessable token is refused at start. */
export const MIN_ADMIN_TOKEN_LENGTH = 16;

/** Longest token accepted, in characters. */
export const MAX_ADMIN_TOKEN_LENGTH = 512;

/** The environment variable read when `--admin-token` is not given. */
export const ADMIN_TOKEN_ENV = 'CONCORD_ADMIN_TOKEN';

/**
 * The admin token to use: the command-line option when given, else `env[CONCORD_ADMIN_TOKEN]`
 * when set and non-empty, else null (no admin view).
 * @throws ConcordError `BAD_CONFIG` when the token is shorter than {@link MIN_ADMIN_TOKEN_LENGTH}
 *   or longer than {@link MAX_ADMIN_TOKEN_LENGTH} characters, or holds whitespace or control
 *   characters (it travels in a header and a form)
 */
export function resolveAdminToken(
  option: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
): string | null {
  const given = option ?? (env[ADMIN_TOKEN_ENV] || undefined);
  if (given === undefined) return null;
  const from = option !== undefined ? '--admin-token' : ADMIN_TOKEN_ENV;
  if (given.length < MIN_ADMIN_TOKEN_LENGTH || given.length > MAX_ADMIN_TOKEN_LENGTH) {
    throw new ConcordError(
      'BAD_CONFIG',
      `${from}: the admin token must be ${MIN_ADMIN_TOKEN_LENGTH}–${MAX_ADMIN_TOKEN_LENGTH} characters ` +
        `(got ${given.length}); make one with: node -e "console.log(crypto.randomBytes(24).toString('base64url'))"`,
    );
  }
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters
  if (/[\s\u0000-\u001f\u007f]/.test(given)) {
    throw new ConcordError(
      'BAD_CONFIG',
      `${from}: the admin token must not hold spaces or control characters`,
    );
  }
  return given;
}

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/** Compares two strings in time independent of where they differ (and of their lengths). */
export function constantTimeEqual(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

/**
 * Checks requests against one admin token; see the module comment for the two ways a request
 * carries it.
 */
export class AdminAuth {
  /** The cookie value that proves the token: HMAC-SHA-256 of a fixed label, keyed by the token. */
  private readonly cookieValue: string;

  /** @param token the admin token ({@link resolveAdminToken}) */
  constructor(private readonly token: string) {
    this.cookieValue = createHmac('sha256', token).update('concord admin cookie v1').digest('hex');
  }

  /** True when `candidate` is the token (constant time). */
  isToken(candidate: string): boolean {
    return constantTimeEqual(candidate, this.token);
  }

  /** True when the request carries the token (bearer header) or the cookie the form set. */
  allows(req: IncomingMessage): boolean {
    const header = req.headers.authorization;
    if (typeof header === 'string') {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
      if (m && this.isToken(m[1])) return true;
    }
    const cookie = readCookie(req.headers.cookie, ADMIN_COOKIE);
    return cookie !== null && constantTimeEqual(cookie, this.cookieValue);
  }

  /**
   * The `Set-Cookie` value after a good token at the form: the session cookie (no expiry: it
   * goes when the browser closes), `HttpOnly; SameSite=Strict; Path=/`, `Secure` when the page
   * came over HTTPS (`secure`).
   */
  loginCookie(secure: boolean): string {
    return `${ADMIN_COOKIE}=${this.cookieValue}; Path=/; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
  }

  /** The `Set-Cookie` value that removes the cookie (`/admin/logout`). */
  static logoutCookie(): string {
    return `${ADMIN_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`;
  }
}

/** The value of cookie `name` in a `Cookie` header, or null. */
export function readCookie(header: string | undefined, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}
