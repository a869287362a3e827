import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildWebClient } from '../client/web/build.ts';
import { BUILTIN_SCENES, type Relay, startRelay } from '../relay/index.ts';
import { replayMatchLog } from '../relay/log/index.ts';
import { launchChromium, pageHashAt, until } from './support/chromium.ts';
import { type DelayProxy, startDelayProxy } from './support/delay-proxy.ts';

// Real Chromium (Debian's package) playing the real duel page in authoritative mode: the relay's
// sim host runs the match; each page predicts and reconciles, through a proxy adding 75 ms each way.
let tmp: string;
let relay: Relay;
let browser: Browser;
const proxies: DelayProxy[] = [];

interface Stats {
  phase: string;
  frame: number;
  confirmedFrame: number;
  matchId: string | null;
  slot: number | null;
  pingMs: number;
  inputPath: string | null;
}

interface Movement {
  pressedFrame: number | null;
  movedFrame: number | null;
}

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'concord-browser-auth-'));
  const web = await buildWebClient(path.join(tmp, 'web'));
  relay = await startRelay({
    port: 0,
    host: '127.0.0.1',
    logsDir: path.join(tmp, 'logs'),
    webRoot: web.outDir,
    // Inputs through the delaying proxy: a DataChannel would carry them around it, on UDP.
    scenes: {
      'duel-auth': {
        ...BUILTIN_SCENES.duel,
        name: 'duel-auth',
        mode: 'authoritative',
        transport: 'websocket',
      },
    },
  });
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  for (const p of proxies) await p.close();
  await relay?.close();
  await rm(tmp, { recursive: true, force: true });
});

const stats = (page: Page): Promise<Stats> =>
  page.evaluate(() => (window as unknown as { concord: { stats(): Stats } }).concord.stats());
const movement = (page: Page): Promise<Movement> =>
  page.evaluate(() =>
    (window as unknown as { concord: { movement(): Movement } }).concord.movement(),
  );

describe('two browsers play duel in authoritative mode', () => {
  it('through 75 ms each way: the local player moves the frame its key is pressed, and both pages load the host’s states', async () => {
    const [pa, pb] = await Promise.all(
      [0, 1].map((i) =>
        startDelayProxy({ targetPort: relay.port, delayMs: 75, jitterMs: 0, seed: i }),
      ),
    );
    proxies.push(pa, pb);
    const pages = await Promise.all(
      [pa, pb].map(async (p, i) => {
        const page = await browser.newPage({ viewport: { width: 1000, height: 640 } });
        page.on('pageerror', (e) => console.error('page error:', e.message));
        await page.goto(`http://127.0.0.1:${p.port}/?scene=duel-auth&participant=P${i}`);
        return page;
      }),
    );
    await until(
      async () => (await Promise.all(pages.map(stats))).every((s) => s.phase === 'playing'),
      60_000,
      'both pages playing',
    );
    const before = await Promise.all(pages.map(stats));
    expect(before[0].matchId).toBe(before[1].matchId);
    // The round trip really goes through the proxy: at least 2 × 75 ms.
    expect(Math.min(...before.map((s) => s.pingMs))).toBeGreaterThanOrEqual(150);

    // Slot 0 starts in the top-left corner, slot 1 in the bottom-right: each walks out of it.
    await Promise.all(
      pages.map(async (page, i) => {
        await page.bringToFront();
        await page.keyboard.down(before[i].slot === 0 ? 's' : 'w');
      }),
    );
    await until(
      async () => (await Promise.all(pages.map(movement))).every((m) => m.movedFrame !== null),
      20_000,
      'both local players moving',
    );
    for (const page of pages) await page.keyboard.up('s').then(() => page.keyboard.up('w'));
    for (const m of await Promise.all(pages.map(movement))) {
      expect(m.pressedFrame).not.toBeNull();
      // Pressed while the page showed frame f, the move is in S(f+1): no input delay, no round trip.
      expect(m.movedFrame).toBe(m.pressedFrame! + 1);
    }

    // Both pages load the host's states and agree with it on a frame they both loaded.
    await until(
      async () => (await Promise.all(pages.map(stats))).every((s) => s.confirmedFrame > 300),
      30_000,
      'host states past frame 300',
    );
    const s = await Promise.all(pages.map(stats));
    let common: { frame: number; hash: string } | null = null;
    for (let f = Math.min(...s.map((x) => x.confirmedFrame)); f > 0 && !common; f--) {
      const [a, b] = await Promise.all(pages.map((p) => pageHashAt(p, f)));
      if (a !== null && a === b) common = { frame: f, hash: a };
      else if (a !== null && b !== null)
        throw new Error(`the pages hold different host states of frame ${f}`);
    }
    expect(common).not.toBeNull();
    // The prediction runs ahead of the host's last state by about the round trip.
    for (const x of s) expect(x.frame).toBeGreaterThan(x.confirmedFrame);
    console.log(
      `authoritative through 75 ms each way: frames ${s.map((x) => x.frame)}, host states ${s.map((x) => x.confirmedFrame)}, ping ${s.map((x) => Math.round(x.pingMs))} ms, common host hash ${common?.hash} at frame ${common?.frame}`,
    );
    for (const p of pages) await p.close();
    // The match ends when both pages leave; its log replays.
    await until(async () => relay.stats().rooms === 0, 30_000, 'the match to end');
    const logs = await import('node:fs/promises').then((fs) => fs.readdir(path.join(tmp, 'logs')));
    const log = logs.find((f) => f.endsWith('.jsonl'))!;
    const replay = await replayMatchLog(path.join(tmp, 'logs', log));
    expect(replay.mismatches).toEqual([]);
    expect(replay.checks).toBeGreaterThan(0);
  }, 180_000);
});
