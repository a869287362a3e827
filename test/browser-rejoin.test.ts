import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Browser, CDPSession, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildWebClient } from '../client/web/build.ts';
import { type Relay, startRelay } from '../relay/server.ts';
import { launchChromium, pageHashAt, playDuel, until } from './support/chromium.ts';
import { type DelayProxy, startDelayProxy } from './support/delay-proxy.ts';

// Real Chromium (Debian's package) driving two duel pages through the real relay on loopback,
// page 1 through a proxy that delays traffic 50 ms each way and can cut the path. Mid-match, a
// page loses its connection three ways (a network cut, a frozen tab, a reload); each time it must
// get its own seat back and play on in agreement with its partner.
let tmp: string;
let relay: Relay;
let browser: Browser;
let proxy: DelayProxy;
let pages: [Page, Page];

interface PageStats {
  phase: string;
  frame: number;
  confirmedFrame: number;
  desyncs: number;
  matchId: string | null;
  slot: number | null;
  hashInterval: number;
  rejoins: number;
  away: number[];
}

/** Where each page sat when the match started: a rejoin must give back the same seat. */
let seats: { matchId: string; slot: number }[];

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'concord-browser-rejoin-'));
  const web = await buildWebClient(path.join(tmp, 'web'));
  relay = await startRelay({
    port: 0,
    host: '127.0.0.1',
    logsDir: path.join(tmp, 'logs'),
    webRoot: web.outDir,
  });
  proxy = await startDelayProxy({ targetPort: relay.port, delayMs: 50, jitterMs: 0, seed: 5 });
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await proxy?.close();
  await relay?.close();
  await rm(tmp, { recursive: true, force: true });
});

type Hook = { concord: { stats(): PageStats } };
const stats = (page: Page): Promise<PageStats> =>
  page.evaluate(() => (window as unknown as Hook).concord.stats());
const notice = (page: Page): Promise<string | null> =>
  page.evaluate(() => {
    const el = document.getElementById('notice');
    return el && !el.hidden ? el.textContent : null;
  });
/** Starts keeping every text the page's notice shows, for {@link noticesSeen}. */
const recordNotices = (page: Page): Promise<void> =>
  page.evaluate(() => {
    const el = document.getElementById('notice')!;
    const seen: string[] = [];
    (window as unknown as { noticesSeen: string[] }).noticesSeen = seen;
    new MutationObserver(() => {
      if (!el.hidden && el.textContent) seen.push(el.textContent);
    }).observe(el, { attributes: true, childList: true, characterData: true, subtree: true });
  });
const noticesSeen = (page: Page): Promise<string[]> =>
  page.evaluate(() => (window as unknown as { noticesSeen: string[] }).noticesSeen);
const overlayText = (page: Page): Promise<string> =>
  page.evaluate(() => document.getElementById('overlay')?.textContent ?? '');

/** Both pages play on in the match they started, in their own seats. */
async function bothPlayingInTheirSeats(what: string): Promise<PageStats[]> {
  await until(
    async () => (await Promise.all(pages.map(stats))).every((s) => s.phase === 'playing'),
    30_000,
    `both pages playing ${what}`,
  );
  const all = await Promise.all(pages.map(stats));
  all.forEach((s, i) => {
    expect({ matchId: s.matchId, slot: s.slot }).toEqual(seats[i]);
  });
  return all;
}

/** Both pages agree on the hash of a confirmed frame past `after` (waits for one to exist). */
async function agreePast(after: number): Promise<void> {
  await until(
    async () => (await Promise.all(pages.map(stats))).every((s) => s.confirmedFrame > after + 30),
    30_000,
    `both pages confirming frames past ${after}`,
  ).catch(async (err: Error) => {
    const all = await Promise.all(pages.map(stats));
    throw new Error(`${err.message}: ${JSON.stringify(all)}`);
  });
  const all = await Promise.all(pages.map(stats));
  const c = Math.min(...all.map((s) => s.confirmedFrame));
  // Peers keep the hash of every hashInterval-th confirmed frame.
  const frame = Math.floor(c / all[0].hashInterval) * all[0].hashInterval;
  expect(frame).toBeGreaterThan(after);
  const hashes = await Promise.all(pages.map((p) => pageHashAt(p, frame)));
  expect(hashes[0]).toMatch(/^[0-9a-f]{16}$/);
  expect(hashes[1]).toBe(hashes[0]);
  expect(all.every((s) => s.desyncs === 0)).toBe(true);
}

/**
 * Freezes a page for `ms` as Chrome freezes a background tab: CDP `Page.setWebLifecycleState`
 * `frozen`, then `active`. Headless Chromium leaves a visible page running through that call
 * (no `freeze` event, its timers go on), so the page's JavaScript is also held in the debugger
 * for the same time: its timers, its heartbeat and its socket events all stop, as in a frozen or
 * suspended tab, while the network stack keeps the connection.
 */
async function freeze(cdp: CDPSession, ms: number): Promise<void> {
  await cdp.send('Debugger.enable');
  await cdp.send('Page.setWebLifecycleState', { state: 'frozen' });
  const paused = new Promise<void>((resolve) => cdp.once('Debugger.paused', () => resolve()));
  await cdp.send('Debugger.pause');
  await paused;
  // The freeze itself lasts `ms`, as a tab Chrome froze would; nothing here waits for a result.
  await new Promise((r) => setTimeout(r, ms));
  await cdp.send('Page.setWebLifecycleState', { state: 'active' });
  await cdp.send('Debugger.resume');
  await cdp.send('Debugger.disable');
}

/** Waits until `page` rejoined once more than `before` and plays again; returns its stats. */
async function rejoined(page: Page, before: number, what: string): Promise<PageStats> {
  await until(
    async () => {
      const s = await stats(page);
      return s.rejoins >= before + 1 && s.phase === 'playing';
    },
    30_000,
    `the page to rejoin after ${what}`,
  );
  const s = await stats(page);
  expect(s.rejoins).toBe(before + 1);
  return s;
}

describe('a page whose connection drops mid-match rejoins its seat', () => {
  it('two pages start a match, page 1 through a 50 ms proxy', async () => {
    const urls = [`http://127.0.0.1:${proxy.port}/?participant=R1`, `${relay.url}/?participant=R2`];
    pages = (await Promise.all(
      urls.map(async (u) => {
        const page = await browser.newPage({ viewport: { width: 1000, height: 640 } });
        page.on('pageerror', (e) => console.error('page error:', e.message));
        await page.goto(u);
        return page;
      }),
    )) as [Page, Page];
    await until(
      async () => (await Promise.all(pages.map(stats))).every((s) => s.phase === 'playing'),
      30_000,
      'both pages playing',
    );
    const all = await Promise.all(pages.map(stats));
    expect(all[0].matchId).toBe(all[1].matchId);
    expect(new Set(all.map((s) => s.slot))).toEqual(new Set([0, 1]));
    expect(all.map((s) => s.rejoins)).toEqual([0, 0]);
    seats = all.map((s) => ({ matchId: s.matchId!, slot: s.slot! }));
    await Promise.all(pages.map((p, i) => playDuel(p, 2_000, 3 + i, { min: 100, max: 300 })));
    await agreePast(0);
  });

  it('a network cut of 3 s: "Reconnecting…", then the same seat, and both agree after it', async () => {
    const [page1, page2] = pages;
    await page1.keyboard.press('F3'); // the overlay, to read its rejoin count
    const before = await stats(page1);
    proxy.cut(3_000);
    await until(
      async () => (await stats(page1)).phase === 'reconnecting',
      10_000,
      'page 1 reconnecting',
    );
    expect(await notice(page1)).toBe('Reconnecting…');
    // The partner plays on meanwhile (the relay plays page 1's default input once it is away).
    await playDuel(page2, 1_000, 11, { min: 100, max: 300 });
    const after = await rejoined(page1, before.rejoins, 'the cut');
    await bothPlayingInTheirSeats('after the cut');
    expect(await notice(page1)).toBeNull();
    await until(
      async () => /rejoins\s+1\b/.test(await overlayText(page1)),
      5_000,
      'the overlay counting the rejoin',
    );
    await Promise.all(pages.map((p, i) => playDuel(p, 1_500, 20 + i, { min: 100, max: 300 })));
    await agreePast(after.frame);
  });

  // Needs the relay's presence (it closes a member silent for PRESENCE.awayAfterSilentMs and
  // broadcasts peerAway/peerRejoined): a frozen page's socket stays open, so only the relay can
  // tell that it is gone.
  it('a tab frozen for 3 s: the relay closes it as away, its partner says so, and on thawing it rejoins', async () => {
    const [page1, page2] = pages;
    const before = await stats(page2);
    await recordNotices(page1);
    const cdp = await page2.context().newCDPSession(page2);
    await freeze(cdp, 3_000);
    const after = await rejoined(page2, before.rejoins, 'the freeze');
    await bothPlayingInTheirSeats('after the freeze');
    // While it was away (the relay's peerAway, then peerRejoined), its partner said so.
    expect(await noticesSeen(page1)).toContain('Your partner is reconnecting…');
    expect(await notice(page1)).toBeNull();
    await Promise.all(pages.map((p, i) => playDuel(p, 1_500, 30 + i, { min: 100, max: 300 })));
    await agreePast(after.frame);
  });

  it('a reload: the page rejoins the seat it kept in sessionStorage instead of joining a queue', async () => {
    const [page1] = pages;
    const before = await stats(page1);
    await page1.reload();
    const after = await rejoined(page1, before.rejoins, 'the reload');
    await bothPlayingInTheirSeats('after the reload');
    await Promise.all(pages.map((p, i) => playDuel(p, 1_500, 40 + i, { min: 100, max: 300 })));
    await agreePast(after.frame);
  });
});
