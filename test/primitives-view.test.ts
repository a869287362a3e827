import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Input } from '../sim/index.ts';
import { type DrawPrimitive, loadPythonSim, type PythonSim } from '../sim/python/index.ts';
import { launchChromium } from './support/chromium.ts';
import { type FixtureServer, serveFixturePage } from './support/primitives-fixture-server.ts';

// The kitchen's real render() output (examples/kitchen.py under Pyodide in Node), drawn by the
// real Phaser view in real Chromium, read back pixel by pixel from each renderer.
const ARTIFACTS = path.join(import.meta.dirname, 'artifacts');
const KITCHEN = readFileSync(path.join(import.meta.dirname, '../examples/kitchen.py'), 'utf8');
const TILE = 48; // kitchen.py's pixels per grid cell
const PARENT = { width: 800, height: 400 }; // CSS pixels, wider than the kitchen's aspect

type Rgba = [number, number, number, number];
interface Fixture {
  show(p: readonly DrawPrimitive[] | null): Promise<void>;
  mutateInPlace(i: number, p: DrawPrimitive): Promise<void>;
  pixel(x: number, y: number): Promise<Rgba>;
  renderer(): string;
  canvasSize(): { width: number; height: number } | null;
  lastError(): string | null;
  texts(): {
    text: string;
    x: number;
    y: number;
    originX: number;
    originY: number;
    fontSize: string;
    color: string;
  }[];
  pooledTexts(): number;
  pixelScale(): number;
  canvasSizeFor(p: readonly DrawPrimitive[]): { width: number; height: number };
  canvasBox(): {
    left: number;
    top: number;
    width: number;
    height: number;
    canvasWidth: number;
    canvasHeight: number;
  };
}

let fixture: FixtureServer | undefined;
let baseUrl: string;
let browser: Browser;
let sim: PythonSim;
/** The kitchen as reset: chef 0 at cell (1, 1), chef 1 at (5, 3), both facing down. */
let start: DrawPrimitive[];
/** After chef 0 stepped right once: chef 0 at (2, 1), facing right. */
let moved: DrawPrimitive[];

const idle: Input = { buttons: 0, x: 0, y: 0 };
const right: Input = { buttons: 1 << 3, x: 0, y: 0 };

beforeAll(async () => {
  sim = await loadPythonSim({ source: KITCHEN, players: 2, seed: 7 });
  start = sim.render() as DrawPrimitive[];
  sim.step([right, idle]);
  moved = sim.render() as DrawPrimitive[];

  fixture = await serveFixturePage();
  baseUrl = fixture.url;
  browser = await launchChromium();
  await mkdir(ARTIFACTS, { recursive: true });
}, 120_000);

afterAll(async () => {
  sim?.dispose();
  await browser?.close();
  await fixture?.close();
});

const hex = (css: string): Rgba => [
  Number.parseInt(css.slice(1, 3), 16),
  Number.parseInt(css.slice(3, 5), 16),
  Number.parseInt(css.slice(5, 7), 16),
  255,
];

async function open(renderer: string, deviceScaleFactor = 1): Promise<{ page: Page; fx: Fixture }> {
  const page = await browser.newPage({ viewport: { width: 1000, height: 600 }, deviceScaleFactor });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${baseUrl}/?renderer=${renderer}&width=${PARENT.width}&height=${PARENT.height}`);
  await page.waitForFunction(() => 'fixture' in window);
  expect(errors).toEqual([]);
  const fx = new Proxy({} as Fixture, {
    get:
      (_, name: string) =>
      (...args: unknown[]) =>
        page.evaluate(
          ([n, a]) =>
            (
              (window as unknown as { fixture: Record<string, (...x: unknown[]) => unknown> })
                .fixture[n as string] as (...x: unknown[]) => unknown
            )(...(a as unknown[])),
          [name, args] as const,
        ),
  });
  return { page, fx };
}

/** Expects the pixel at (x, y) to be `css` (#rrggbb), each channel within 2 (WebGL rounding). */
async function expectPixel(fx: Fixture, x: number, y: number, css: string, what: string) {
  const got = await fx.pixel(x, y);
  const want = hex(css);
  const off = got.map((v, i) => Math.abs(v - want[i]));
  expect(
    Math.max(...off),
    `${what} at (${x}, ${y}): got rgba(${got.join(', ')}), want ${css}`,
  ).toBeLessThanOrEqual(2);
}

describe('canvasSizeFor (in the page: the view module needs a browser)', () => {
  it('takes a leading rect at the origin as the canvas, else the bounding box; refuses over 4096 a side', async () => {
    const { page, fx } = await open('canvas');
    try {
      expect(await fx.canvasSizeFor(start)).toEqual({ width: 7 * TILE, height: 5 * TILE + 24 });
      expect(
        await fx.canvasSizeFor([
          { type: 'circle', x: 50, y: 40, r: 10, color: 'red' },
          { type: 'line', x1: 0, y1: 0, x2: 100, y2: 20, color: 'red', width: 4 },
          { type: 'sprite', x: 10, y: 70, name: 'chef' },
        ]),
      ).toEqual({ width: 102, height: 102 });
      // A leading rect away from the origin declares nothing: the bounding box counts.
      expect(
        await fx.canvasSizeFor([
          { type: 'rect', x: 10, y: 10, w: 50, h: 20, color: 'red' },
          { type: 'text', x: 70, y: 5, text: 'hi', size: 10 },
        ]),
      ).toEqual({ width: 80, height: 30 });
      await expect(
        fx.canvasSizeFor([
          { type: 'rect', x: 0, y: 0, w: 300, h: 200, color: 'red' },
          { type: 'circle', x: 9000, y: 10, r: 5, color: 'red' },
        ]),
      ).resolves.toEqual({ width: 300, height: 200 });
      await expect(
        fx.canvasSizeFor([
          { type: 'circle', x: 10, y: 10, r: 5, color: 'red' },
          { type: 'line', x1: 0, y1: 0, x2: 10, y2: 5000, color: 'red' },
        ]),
      ).rejects.toThrow(
        'render()[1] (line) makes the canvas 5000.5 pixels in height; at most 4096',
      );
      // The view reports it and draws the next list.
      await fx.show([{ type: 'rect', x: 0, y: 0, w: 5000, h: 10, color: 'red' }]);
      expect(await fx.lastError()).toBe(
        'render()[0] (rect) makes the canvas 5000 pixels in width; at most 4096',
      );
      expect(await fx.canvasSize()).toBeNull();
      await fx.show([{ type: 'rect', x: 0, y: 0, w: 100, h: 50, color: 'red' }]);
      expect(await fx.lastError()).toBeNull();
      expect(await fx.canvasSize()).toEqual({ width: 100, height: 50 });
    } finally {
      await page.close();
    }
  });

  it('draws at enough canvas pixels for the screen: 4 per primitive pixel on a 2x display', async () => {
    const { page, fx } = await open('canvas', 2);
    try {
      await fx.show(start);
      // 336 × 264 shown 400 CSS px high is 800 device px: 3.03 times, rounded up to 4.
      expect(await fx.pixelScale()).toBe(4);
      const box = await fx.canvasBox();
      expect([box.canvasWidth, box.canvasHeight]).toEqual([4 * 336, 4 * 264]);
      expect(box.height).toBeCloseTo(PARENT.height, 0);
      await expectPixel(fx, 72 - 10, 72 + 10, '#3070d0', 'chef 0');
    } finally {
      await page.close();
    }
  });
});

describe.each(['canvas', 'webgl'])('the primitives view, %s renderer', (renderer) => {
  it('draws the kitchen: tiles, outlines, chefs, facing lines and texts', async () => {
    const { page, fx } = await open(renderer);
    try {
      expect(await fx.renderer()).toBe(renderer);
      await fx.show(start);
      expect(await fx.canvasSize()).toEqual({ width: 336, height: 264 });
      expect(await fx.lastError()).toBeNull();

      // 336 × 264 primitive pixels, shown scaled to the parent's height, centred.
      const box = await fx.canvasBox();
      // Drawn at 2 canvas pixels per primitive pixel: shown 400 px high, 264 would blur.
      expect(await fx.pixelScale()).toBe(2);
      expect([box.canvasWidth, box.canvasHeight]).toEqual([672, 528]);
      expect(box.height).toBeCloseTo(PARENT.height, 0);
      expect(box.width).toBeCloseTo((PARENT.height * 336) / 264, 0);
      expect(box.left).toBeCloseTo((PARENT.width - box.width) / 2, 0);

      await expectPixel(fx, 10, 10, '#a07850', 'counter tile (0, 0)');
      await expectPixel(fx, 48, 20, '#303030', "tile (1, 0)'s outline");
      await expectPixel(fx, 60, 110, '#e8dcc4', 'floor tile (1, 2)');
      await expectPixel(fx, 3 * 48 + 10, 2 * 48 + 10, '#a07850', 'island counter (3, 2)');
      await expectPixel(fx, 24 + 5, 48 + 24 + 5, '#e0c040', 'onion on the onion box (0, 1)');
      // Chef 0's circle at the centre of cell (1, 1); its facing line runs down from the centre.
      await expectPixel(fx, 72 - 10, 72 + 10, '#3070d0', 'chef 0');
      await expectPixel(fx, 72, 72 + 12, '#ffffff', "chef 0's facing line");
      await expectPixel(fx, 264 + 10, 168 + 10, '#d04040', 'chef 1 at (5, 3)');
      await expectPixel(fx, 330, 258, '#202020', 'the status bar behind the grid');

      const texts = await fx.texts();
      const wanted = start.filter((p) => p.type === 'text');
      expect(texts.map((t) => t.text)).toEqual(wanted.map((p) => p.text));
      const status = texts.find((t) => t.text.startsWith('score 0'));
      expect(status).toMatchObject({ x: 4, y: 5 * TILE + 4, originX: 0, originY: 0 });
      expect(status?.fontSize).toBe('14px');
      const serve = texts.find((t) => t.text === 'serve');
      expect(serve).toMatchObject({ x: 6 * 48 + 24, y: 2 * 48 + 24, originX: 0.5, originY: 0.5 });
      expect(serve?.fontSize).toBe('11px');
      await page.screenshot({
        path: path.join(
          ARTIFACTS,
          renderer === 'canvas' ? 'kitchen-view.png' : `kitchen-view-${renderer}.png`,
        ),
        clip: { x: box.left, y: box.top, width: box.width, height: box.height },
      });
    } finally {
      await page.close();
    }
  });

  it('redraws when the array changes, only then, and reuses its Text objects', async () => {
    const { page, fx } = await open(renderer);
    try {
      await fx.show(start);
      const pooled = await fx.pooledTexts();
      expect(pooled).toBe(start.filter((p) => p.type === 'text').length);

      await fx.show(moved);
      await expectPixel(fx, 72 - 10, 72 + 10, '#e8dcc4', 'floor where chef 0 was');
      await expectPixel(fx, 120 - 10, 72 + 10, '#3070d0', 'chef 0 one cell right');
      await expectPixel(fx, 120 + 12, 72, '#ffffff', "chef 0's facing line, now right");

      // The same array with an entry replaced is not a new picture: nothing is redrawn.
      const chef = moved.findIndex((p) => p.type === 'circle' && p.color === '#3070d0');
      await fx.mutateInPlace(chef, { type: 'circle', x: 120, y: 72, r: 19, color: '#00ff00' });
      await expectPixel(fx, 120 - 10, 72 + 10, '#3070d0', 'chef 0, array changed in place');

      for (let i = 0; i < 10; i++) await fx.show(i % 2 === 0 ? [...start] : [...moved]);
      expect(await fx.pooledTexts()).toBe(pooled);
      expect(await fx.canvasSize()).toEqual({ width: 336, height: 264 });

      await fx.show(null);
      expect(await fx.texts()).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it('draws CSS colour names, alpha, placeholder sprites, and refuses a bad colour', async () => {
    const { page, fx } = await open(renderer);
    try {
      const base: DrawPrimitive[] = [
        { type: 'rect', x: 0, y: 0, w: 200, h: 100, color: 'navy' },
        { type: 'rect', x: 100, y: 0, w: 100, h: 50, color: 'rgba(255, 255, 255, 0.5)' },
        { type: 'sprite', x: 20, y: 20, name: 'onion', w: 60, h: 60 },
        { type: 'text', x: 180, y: 90, text: 'right', align: 'right', size: 10 },
      ];
      await fx.show(base);
      expect(await fx.canvasSize()).toEqual({ width: 200, height: 100 });
      await expectPixel(fx, 150, 80, '#000080', 'navy');
      await expectPixel(fx, 150, 20, '#8080bf', 'half-white over navy');
      const sprite = (await fx.pixel(25, 40)).slice(0, 3);
      expect(sprite, 'the placeholder box is neither the background nor white').not.toEqual([
        0, 0, 128,
      ]);
      expect(sprite).not.toEqual([255, 255, 255]);
      await expectPixel(fx, 30, 30, '#ffffff', "the placeholder's cross");
      const texts = await fx.texts();
      expect(texts).toContainEqual(
        expect.objectContaining({ text: 'onion', x: 50, y: 50, originX: 0.5 }),
      );
      expect(texts).toContainEqual(
        expect.objectContaining({ text: 'right', x: 180, y: 90, originX: 1, originY: 0 }),
      );

      await fx.show([...base, { type: 'circle', x: 10, y: 10, r: 5, color: 'blurple' }]);
      expect(await fx.lastError()).toBe(
        'render()[4] (circle) color is "blurple", not a CSS colour',
      );
      // Nothing of the bad list is drawn; a good list draws again and clears the error.
      await expectPixel(fx, 190, 95, '#101218', 'the background, not a half-drawn picture');
      await fx.show(base);
      expect(await fx.lastError()).toBeNull();
      await expectPixel(fx, 150, 80, '#000080', 'navy again');
    } finally {
      await page.close();
    }
  });
});
