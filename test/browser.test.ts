import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildWebClient } from '../client/web/build.ts';
import { BUILTIN_SCENES, type Relay, startRelay } from '../relay/index.ts';
import { launchChromium, pageHashAt, playDuel, until } from './support/chromium.ts';
import { type DelayProxy, startDelayProxy } from './support/delay-proxy.ts';

// Real Chromium (Debian's package) driving the real page, through the real relay on loopback.
const ARTIFACTS = path.join(import.meta.dirname, 'artifacts');
let tmp: string;
let relay: Relay;
let browser: Browser;
const proxies: DelayProxy[] = [];

interface PageStats {
  phase: string;
  frame: number;
  confirmedFrame: number;
  rollbacks: number;
  lastRollbackDepth: number;
  stalls: number;
  desyncs: number;
  matchId: string | null;
  slot: number | null;
  pingMs: number;
  inputPath: string | null;
  hashInterval: number;
  renderer: string;
}

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'concord-browser-'));
  const web = await buildWebClient(path.join(tmp, 'web'));
  relay = await startRelay({
    port: 0,
    host: '127.0.0.1',
    logsDir: path.join(tmp, 'logs'),
    webRoot: web.outDir,
    // Inputs through the delaying proxy: a DataChannel would carry them around it, on UDP.
    scenes: {
      ...BUILTIN_SCENES,
      'duel-websocket': { ...BUILTIN_SCENES.duel, name: 'duel-websocket', transport: 'websocket' },
    },
  });
  browser = await launchChromium();
  await mkdir(ARTIFACTS, { recursive: true });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  for (const p of proxies) await p.close();
  await relay?.close();
  await rm(tmp, { recursive: true, force: true });
});

const stats = (page: Page): Promise<PageStats> =>
  page.evaluate(() => (window as unknown as { concord: { stats(): PageStats } }).concord.stats());

/** Two pages join the same room at `urls` and play; returns both pages once past `minFrame`. */
async function match(urls: [string, string], playMs: number) {
  const pages = await Promise.all(
    urls.map(async (u) => {
      const page = await browser.newPage({ viewport: { width: 1000, height: 640 } });
      page.on('pageerror', (e) => console.error('page error:', e.message));
      await page.goto(u);
      return page;
    }),
  );
  await until(
    async () => (await Promise.all(pages.map(stats))).every((s) => s.phase === 'playing'),
    30_000,
    'both pages playing',
  );
  const [a, b] = await Promise.all(pages.map(stats));
  expect(a.matchId).toBe(b.matchId);
  expect(new Set([a.slot, b.slot])).toEqual(new Set([0, 1]));
  await Promise.all(pages.map((p, i) => playDuel(p, playMs, 7 + i)));
  return pages;
}

async function commonConfirmedHash(
  pages: Page[],
  after: number,
): Promise<{ frame: number; hash: string }> {
  await until(
    async () => (await Promise.all(pages.map(stats))).every((s) => s.confirmedFrame > after + 20),
    30_000,
    `confirmed frame past ${after}`,
  );
  const all = await Promise.all(pages.map(stats));
  const c = Math.min(...all.map((s) => s.confirmedFrame));
  // Peers keep the hash of every hashInterval-th confirmed frame.
  const frame = Math.floor(c / all[0].hashInterval) * all[0].hashInterval;
  expect(frame).toBeGreaterThan(after);
  const hashes = await Promise.all(pages.map((p) => pageHashAt(p, frame)));
  expect(hashes[0]).toMatch(/^[0-9a-f]{16}$/);
  expect(hashes[1]).toBe(hashes[0]);
  return { frame, hash: hashes[0]! };
}

describe('two browsers play duel through the relay', () => {
  it('agree on the state hash of a confirmed frame past 300 after 10 s of play', async () => {
    const pages = await match(
      [`${relay.url}/?participant=A`, `${relay.url}/?participant=B`],
      10_000,
    );
    const { frame, hash } = await commonConfirmedHash(pages, 300);
    await pages[0].screenshot({ path: path.join(ARTIFACTS, 'duel.png') });
    const s = await Promise.all(pages.map(stats));
    console.log(
      `direct: both pages hash ${hash} at frame ${frame}; frames ${s.map((x) => x.frame)}, rollbacks ${s.map((x) => x.rollbacks)}, stalls ${s.map((x) => x.stalls)}, ping ${s.map((x) => Math.round(x.pingMs))} ms`,
    );
    expect(s.every((x) => x.desyncs === 0)).toBe(true);
    for (const p of pages) await p.close();
  });

  it('agree with each page behind a proxy that delays traffic 80 ± 20 ms each way', async () => {
    const [pa, pb] = await Promise.all(
      [0, 1].map((i) =>
        startDelayProxy({ targetPort: relay.port, delayMs: 80, jitterMs: 20, seed: 3 + i }),
      ),
    );
    proxies.push(pa, pb);
    const pages = await match(
      [
        `http://127.0.0.1:${pa.port}/?scene=duel-websocket&participant=C`,
        `http://127.0.0.1:${pb.port}/?scene=duel-websocket&participant=D`,
      ],
      10_000,
    );
    const { frame, hash } = await commonConfirmedHash(pages, 300);
    const s = await Promise.all(pages.map(stats));
    console.log(
      `proxied 80±20 ms: both pages hash ${hash} at frame ${frame}; frames ${s.map((x) => x.frame)}, rollbacks ${s.map((x) => x.rollbacks)}, stalls ${s.map((x) => x.stalls)}, ping ${s.map((x) => Math.round(x.pingMs))} ms`,
    );
    expect(s.every((x) => x.desyncs === 0)).toBe(true);
    // The inputs, too, went through the proxy (on socket.io), and it really delays: a round trip
    // through it takes at least 2 × (80 − 20) ms.
    expect(s.map((x) => x.inputPath)).toEqual(['websocket', 'websocket']);
    expect(Math.min(...s.map((x) => x.pingMs))).toBeGreaterThanOrEqual(120);
    expect(s.some((x) => x.rollbacks > 0)).toBe(true);
    for (const p of pages) await p.close();
  });

  it('a tab hidden for 5 s keeps the match going and does not desync it', async () => {
    const pages = await match(
      [`${relay.url}/?participant=E`, `${relay.url}/?participant=F`],
      2_000,
    );
    const hidden = pages[1];
    // Headless Chromium keeps every page visible; flip the page's visibility as a background tab does.
    const setVisibility = (state: 'hidden' | 'visible') =>
      hidden.evaluate((st) => {
        Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => st });
        Object.defineProperty(document, 'hidden', {
          configurable: true,
          get: () => st === 'hidden',
        });
        document.dispatchEvent(new Event('visibilitychange'));
      }, state);
    await setVisibility('hidden');
    const before = await Promise.all(pages.map(stats));
    expect(before[1].phase).toBe('playing');
    await playDuel(pages[0], 5_000, 99);
    // Behaviour, not a rate: while still hidden, the hidden page's match moves on (its own
    // frame), and the visible page confirms frames past where it was, which needs the hidden
    // page's inputs. How far it gets in 5 s depends on the machine, so wait for it.
    const past = Math.max(...before.map((x) => x.confirmedFrame)) + 2 * before[0].hashInterval;
    await until(
      async () => {
        const [visible, background] = await Promise.all(pages.map(stats));
        return background.frame > past && visible.confirmedFrame > past;
      },
      30_000,
      `both pages past frame ${past} while one is hidden`,
    );
    expect((await stats(hidden)).phase).toBe('playing');
    await setVisibility('visible');
    // Both pages agree on the hash of a confirmed frame that the match reached while hidden,
    // or later.
    await commonConfirmedHash(pages, past);
    const s = await Promise.all(pages.map(stats));
    expect(s.every((x) => x.desyncs === 0)).toBe(true);
    for (const p of pages) await p.close();
  });
});
