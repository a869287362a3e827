/**
 * A study whose game is a researcher's TypeScript sim module (examples/pong/pong.ts) in real
 * Chromium: the study page imports the bundle the relay made (`/modules/<scene>.js`), plays it
 * with the scene's keys over two episodes, draws the module's view, and both pages agree on the
 * checked state hashes; then the server moves both on to the completion code. A third
 * participant, alone in the waiting room, leaves it and gets the timeout code.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildWebClient } from '../client/web/build.ts';
import type { StudyView } from '../protocol/index.ts';
import { type StudyRelay, startStudy } from '../relay/study/index.ts';
import { launchChromium, until } from './support/chromium.ts';

const ROOT = path.join(import.meta.dirname, '..');
const ARTIFACTS = path.join(import.meta.dirname, 'artifacts');
// Inside the checkout, so that the scene names the example module by a relative path.
const DIR = path.join(ROOT, `.study-module-${randomUUID()}`);
const STUDY = `id: pong-study
scenes:
  - kind: game
    id: pong
    sim: ../examples/pong/pong.ts
    players: 2
    episodes: 2
    framesPerEpisode: 240
    tickRate: 60
    actions: { ArrowUp: UP, ArrowDown: DOWN, KeyW: UP, KeyS: DOWN }
    defaultAction: STAY
    sync: { hashInterval: 30, hashIntervalMax: 60 }
    waitingRoom: { timeoutMs: 60000, onTimeout: end }
  - kind: end
    id: done
    completionCodes: { completed: P0NG0K, timeout: P0NGT0, partnerLeft: P0NGPL, declined: P0NGN0 }
`;

let tmp: string;
let study: StudyRelay;
let browser: Browser;

type Win = {
  concordStudy: { view(): StudyView | null };
  concord: {
    phase: string;
    hashAt(f: number): string | null;
    stats(): { renderer: string | null; confirmedFrame: number | null };
  };
};
const sceneId = async (p: Page): Promise<string | null> =>
  (await p.evaluate(() => (window as unknown as Win).concordStudy.view()))?.scene.id ?? null;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'concord-browser-module-'));
  await mkdir(DIR);
  await writeFile(path.join(DIR, 'study.yaml'), STUDY);
  const web = await buildWebClient(path.join(tmp, 'web'));
  study = await startStudy({
    experiment: path.join(DIR, 'study.yaml'),
    dataDir: path.join(tmp, 'data'),
    port: 0,
    host: '127.0.0.1',
    webRoot: web.outDir,
    webrtc: false,
  });
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await study?.close();
  await rm(tmp, { recursive: true, force: true });
  await rm(DIR, { recursive: true, force: true });
});

describe('a sim module in the study page', () => {
  it('plays the module with its keys and view, the pages agree, both get the code; a lone participant leaves', async () => {
    const pages: Page[] = [];
    for (const who of ['A', 'B']) {
      const context = await browser.newContext({ viewport: { width: 800, height: 600 } });
      const page = await context.newPage();
      await page.goto(`${study.url}/?participant=${who}&renderer=canvas`);
      pages.push(page);
    }
    const [a, b] = pages;
    const bundle = await fetch(`${study.url}/modules/pong.js`);
    expect(bundle.headers.get('content-type')).toContain('text/javascript');
    expect((await fetch(`${study.url}/modules/nothing.js`)).status).toBe(404);
    await until(
      async () =>
        (await a.evaluate(() => (window as unknown as Win).concord.phase)) === 'playing' &&
        (await b.evaluate(() => (window as unknown as Win).concord.phase)) === 'playing',
      60_000,
      'the pong match to start on both pages',
    );
    await a.keyboard.down('ArrowUp');
    await b.keyboard.down('KeyS');
    // Both pages hold the checked hash of frame 60, and it is the same.
    let hashes: (string | null)[] = [];
    await until(
      async () => {
        hashes = await Promise.all(
          pages.map((p) => p.evaluate(() => (window as unknown as Win).concord.hashAt(60))),
        );
        return hashes.every((h) => h !== null);
      },
      30_000,
      'both pages to check frame 60',
    );
    expect(hashes[0]).toBe(hashes[1]);
    const stats = await a.evaluate(() => (window as unknown as Win).concord.stats());
    expect(stats.renderer).toBe('canvas');
    await expect(a.locator('#game canvas').count()).resolves.toBe(1);
    await expect(a.locator('#keys').textContent()).resolves.toContain('ArrowUp: UP');
    await mkdir(ARTIFACTS, { recursive: true });
    await a.screenshot({ path: path.join(ARTIFACTS, 'study-module.png') });
    await a.keyboard.up('ArrowUp');
    await b.keyboard.up('KeyS');
    // A third participant waits alone, sees the waiting room, and leaves: the timeout code.
    const c = await (await browser.newContext()).newPage();
    await c.goto(`${study.url}/?participant=C&renderer=canvas`);
    await until(
      async () => /1 of 2 players here/.test((await c.locator('#study-body').textContent()) ?? ''),
      30_000,
      'C in the waiting room',
    );
    await c.getByRole('button', { name: 'Leave the study' }).click();
    await until(async () => (await sceneId(c)) === 'done', 30_000, "C's end scene");
    await expect(c.locator('#completion-code').textContent()).resolves.toBe('P0NGT0');
    for (const p of pages) {
      await until(async () => (await sceneId(p)) === 'done', 60_000, 'the end scene');
      await expect(p.locator('#completion-code').textContent()).resolves.toBe('P0NG0K');
    }
  }, 180_000);
});
