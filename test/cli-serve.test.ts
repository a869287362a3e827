import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

const BIN = path.join(import.meta.dirname, '..', 'bin', 'concord.js');
let dir: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'concord-serve-'));
});

afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A TCP port that was free a moment ago (the OS picks it). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/**
 * Starts `concord serve` with `args` and the environment variable PORT set to `port`, and waits
 * (at most 20 s) for the address it prints.
 */
async function serve(args: string[], port: string): Promise<URL> {
  const proc = spawn(
    process.execPath,
    [BIN, 'serve', '--host', '127.0.0.1', '--logs', dir, ...args],
    {
      env: { ...process.env, PORT: port },
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
  return new Promise<URL>((resolve, reject) => {
    const timer = setTimeout(() => finish(new Error(`no address in 20 s; output: ${out}`)), 20_000);
    const poll = setInterval(() => {
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) finish(new URL(m[1]));
    }, 20);
    proc.once('exit', (code) => finish(new Error(`exited with ${code}: ${out}`)));
    function finish(r: URL | Error): void {
      clearTimeout(timer);
      clearInterval(poll);
      if (r instanceof URL) resolve(r);
      else reject(r);
    }
  });
}

async function healthy(url: URL): Promise<boolean> {
  const res = await fetch(new URL('/healthz', url));
  return res.ok && ((await res.json()) as { status: string }).status === 'ok';
}

describe('concord serve and the PORT environment variable', () => {
  it('listens on PORT when no --port is given, and prints that address', async () => {
    const port = await freePort();
    const url = await serve([], String(port));
    expect(url.port).toBe(String(port));
    expect(await healthy(url)).toBe(true);
  }, 30_000);

  it('prints the port actually bound when PORT is 0', async () => {
    const url = await serve([], '0');
    expect(Number(url.port)).toBeGreaterThan(0);
    expect(await healthy(url)).toBe(true);
  }, 30_000);

  it('lets --port win over PORT', async () => {
    const port = await freePort();
    const url = await serve(['--port', '0'], String(port));
    expect(url.port).not.toBe(String(port));
    expect(Number(url.port)).toBeGreaterThan(0);
    expect(await healthy(url)).toBe(true);
  }, 30_000);
});
