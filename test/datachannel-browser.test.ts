/**
 * Real Chromium, default settings (no WebRTC flags): the page opens the input DataChannel to a
 * relay-side endpoint on loopback with the client module, and packets go both ways. Chromium's
 * host candidates are mDNS names the relay drops; it connects through the relay's host candidate
 * (the relay learns Chromium's address as peer-reflexive).
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import { afterAll, expect, it } from 'vitest';
import { DataChannelEndpoint, shutdownDataChannels } from '../relay/datachannel.ts';
import { launchChromium } from './support/chromium.ts';

afterAll(() => shutdownDataChannels());

async function servePage(): Promise<{ url: string; close(): Promise<void> }> {
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'concord-datachannel-'));
  await build({
    entryPoints: [path.join(import.meta.dirname, 'support', 'datachannel-page.ts')],
    outfile: path.join(tmp, 'page.js'),
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    logLevel: 'silent',
  });
  await writeFile(
    path.join(tmp, 'index.html'),
    '<!doctype html><html><head><meta charset="utf-8"></head><body><script type="module" src="page.js"></script></body></html>',
  );
  const files: Record<string, [string, string]> = {
    '/': ['index.html', 'text/html'],
    '/page.js': ['page.js', 'text/javascript'],
  };
  const server = http.createServer((req, res) => {
    const file = files[new URL(req.url ?? '/', 'http://x').pathname];
    if (!file) return void res.writeHead(404).end();
    readFile(path.join(tmp, file[0])).then(
      (body) => res.writeHead(200, { 'content-type': file[1] }).end(body),
      () => res.writeHead(500).end(),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    async close() {
      await new Promise((r) => server.close(r));
      await rm(tmp, { recursive: true, force: true });
    },
  };
}

it('default Chromium opens the input DataChannel to the relay and exchanges packets', async () => {
  const session = { slot: 0 };
  let packets = 0;
  const relay = new DataChannelEndpoint<typeof session>({
    packet: (s, bytes) => {
      if (s === session) packets++;
      relay.send(s, bytes);
    },
  });
  const page = await servePage();
  const browser = await launchChromium();
  try {
    const tab = await browser.newPage();
    await tab.exposeFunction('signal', (offer: unknown) => relay.answer(session, offer));
    await tab.goto(page.url);
    await tab.waitForFunction(() => typeof window.runDataChannel === 'function');
    const result = await tab.evaluate((n) => window.runDataChannel(n), 50);
    expect(result.state).toBe('open');
    // Unreliable even on loopback in principle; in practice nothing is lost here.
    expect(result.echoed).toBeGreaterThanOrEqual(45);
    expect(packets).toBeGreaterThanOrEqual(45);
    expect(relay.stats().skippedCandidates).toBeGreaterThan(0); // Chromium's mDNS names
  } finally {
    await browser.close();
    relay.close();
    await page.close();
  }
});
