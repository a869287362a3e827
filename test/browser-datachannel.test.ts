/**
 * Real Chromium (Debian's package, default settings) playing the real page through the real relay
 * on loopback, with the scene's default `transport: auto`: both pages open their input
 * DataChannel to the relay, the overlay says `webrtc`, the relay logs it, and the pages agree on
 * the hash of a confirmed frame.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildWebClient } from '../client/web/build.ts';
import { shutdownDataChannels } from '../relay/datachannel.ts';
import { type Relay, startRelay } from '../relay/index.ts';
import { launchChromium, until } from './support/chromium.ts';

let tmp: string;
let relay: Relay;
let browser: Browser;

interface Stats {
  phase: string;
  confirmedFrame: number;
  hashInterval: number;
  desyncs: number;
  matchId: string | null;
  inputPath: string | null;
}

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'concord-browser-dc-'));
  const web = await buildWebClient(path.join(tmp, 'web'));
  relay = await startRelay({
    port: 0,
    host: '127.0.0.1',
    logsDir: path.join(tmp, 'logs'),
    webRoot: web.outDir,
  });
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await relay?.close();
  shutdownDataChannels();
  await rm(tmp, { recursive: true, force: true });
});

const stats = (page: Page): Promise<Stats> =>
  page.evaluate(() => (window as unknown as { concord: { stats(): Stats } }).concord.stats());

it('two pages send their inputs over DataChannels to the relay (overlay: webrtc) and agree on a confirmed hash', async () => {
  const pages = await Promise.all(
    ['A', 'B'].map(async (id) => {
      const page = await browser.newPage({ viewport: { width: 1000, height: 640 } });
      page.on('pageerror', (e) => console.error('page error:', e.message));
      await page.goto(`${relay.url}/?participant=${id}`);
      return page;
    }),
  );
  try {
    await until(
      async () => (await Promise.all(pages.map(stats))).every((s) => s.inputPath === 'webrtc'),
      30_000,
      'both pages sending inputs over their DataChannel',
    );
    // The overlay (F3) names the path.
    for (const p of pages) {
      await p.keyboard.press('F3');
      await until(
        async () => /inputs\s+webrtc/.test((await p.textContent('#overlay')) ?? ''),
        5000,
        'the overlay to show webrtc',
      );
    }
    // Some play, so that there is something to agree on.
    for (let i = 0; i < 10; i++) {
      await Promise.all(pages.map((p, k) => p.keyboard.down(['a', 'd', 'w', 's'][(i + k) % 4])));
      await new Promise((r) => setTimeout(r, 150));
      await Promise.all(pages.map((p, k) => p.keyboard.up(['a', 'd', 'w', 's'][(i + k) % 4])));
    }
    await until(
      async () => (await Promise.all(pages.map(stats))).every((s) => s.confirmedFrame > 340),
      30_000,
      'confirmed frame past 340',
    );
    const all = await Promise.all(pages.map(stats));
    expect(all[0].matchId).toBe(all[1].matchId);
    const c = Math.min(...all.map((s) => s.confirmedFrame));
    const frame = Math.floor(c / all[0].hashInterval) * all[0].hashInterval;
    expect(frame).toBeGreaterThan(300);
    const hashes = await Promise.all(
      pages.map((p) =>
        p.evaluate(
          (f) =>
            (window as unknown as { concord: { hashAt(f: number): string | null } }).concord.hashAt(
              f,
            ),
          frame,
        ),
      ),
    );
    expect(hashes[0]).toMatch(/^[0-9a-f]{16}$/);
    expect(hashes[1]).toBe(hashes[0]);
    expect(all.every((s) => s.desyncs === 0 && s.inputPath === 'webrtc')).toBe(true);
    // The relay took the inputs as datagrams, and its log says so for both slots.
    expect(relay.stats().datagramsIn).toBeGreaterThan(100);
    const log = await readFile(path.join(tmp, 'logs', `${all[0].matchId}.jsonl`), 'utf8');
    const paths = log
      .split('\n')
      .filter((l) => l.includes('"inputPath"'))
      .map((l) => JSON.parse(l) as { s: number; path: string });
    expect(new Set(paths.filter((r) => r.path === 'webrtc').map((r) => r.s))).toEqual(
      new Set([0, 1]),
    );
  } finally {
    for (const p of pages) await p.close();
  }
});
