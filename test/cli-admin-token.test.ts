import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

// `concord serve` with and without an admin token, as a researcher starts it.
const BIN = path.join(import.meta.dirname, '..', 'bin', 'concord.js');
const TOKEN = 'cli-admin-token-test-0123456789';
let dir: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'concord-cli-admin-'));
});

afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Starts `concord serve --port 0` with `args` and `env`; resolves with its URL or its exit. */
function serve(
  args: string[],
  env: Record<string, string | undefined>,
): Promise<{ url: URL | null; out: string; code: number | null }> {
  const proc = spawn(
    process.execPath,
    [BIN, 'serve', '--host', '127.0.0.1', '--port', '0', '--no-webrtc', '--logs', dir, ...args],
    {
      env: { ...process.env, CONCORD_ADMIN_TOKEN: undefined, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  children.push(proc);
  let out = '';
  proc.stdout?.on('data', (d) => {
    out += d;
  });
  proc.stderr?.on('data', (d) => {
    out += d;
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no address in 30 s; output: ${out}`)), 30_000);
    const poll = setInterval(() => {
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m && /admin view|no admin view/.test(out)) {
        clearInterval(poll);
        clearTimeout(timer);
        resolve({ url: new URL(m[1]), out, code: null });
      }
    }, 20);
    proc.on('exit', (code) => {
      clearInterval(poll);
      clearTimeout(timer);
      resolve({ url: null, out, code });
    });
  });
}

describe('concord serve --admin-token', () => {
  it('serves the admin view behind the token given by flag or environment, and none without', async () => {
    const byFlag = await serve(['--admin-token', TOKEN], {});
    expect(byFlag.out).toContain('/admin');
    const state = `${byFlag.url!.origin}/admin/api/state`;
    expect((await fetch(state)).status).toBe(401);
    expect((await fetch(state, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(
      200,
    );

    const byEnv = await serve([], { CONCORD_ADMIN_TOKEN: TOKEN });
    const envState = `${byEnv.url!.origin}/admin/api/state`;
    expect((await fetch(envState, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(
      200,
    );

    const none = await serve([], {});
    expect(none.out).toContain('no admin view');
    expect((await fetch(`${none.url!.origin}/admin/api/state`)).status).toBe(404);
  }, 90_000);

  it('refuses a token too short to be safe, at start', async () => {
    const short = await serve(['--admin-token', 'secret'], {});
    expect(short.url).toBeNull();
    expect(short.code).not.toBe(0);
    expect(short.out).toMatch(/admin token must be 16/);
  }, 60_000);
});
