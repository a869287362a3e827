import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { staticFiles } from './static-files.ts';

let dir: string;
const servers: Server[] = [];

async function serve(index?: string): Promise<string> {
  const handler = staticFiles(dir, index ? { index } : {});
  const server = createServer((req, res) => {
    if (!handler(req, res)) res.writeHead(418).end();
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const body = async (url: string): Promise<string> => {
  const res = await fetch(url);
  return `${res.status} ${(await res.text()).trim()}`;
};

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'concord-static-'));
  await writeFile(path.join(dir, 'index.html'), 'demo');
  await writeFile(path.join(dir, 'study.html'), 'study');
});

afterAll(async () => {
  for (const s of servers) s.close();
  await rm(dir, { recursive: true, force: true });
});

describe('staticFiles', () => {
  it('serves the demo page at / and /play by default', async () => {
    const url = await serve();
    expect(await body(`${url}/`)).toBe('200 demo');
    expect(await body(`${url}/play?scene=kitchen`)).toBe('200 demo');
    expect(await body(`${url}/study.html`)).toBe('200 study');
  });

  it('serves the study page at / when it is the index, and the demo page still at /play', async () => {
    const url = await serve('study.html');
    expect(await body(`${url}/`)).toBe('200 study');
    expect(await body(`${url}/?PROLIFIC_PID=abc`)).toBe('200 study');
    expect(await body(`${url}/play`)).toBe('200 demo');
    expect(await body(`${url}/play/?scene=duel`)).toBe('200 demo');
  });
});
