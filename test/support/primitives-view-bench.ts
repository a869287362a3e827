/**
 * What drawing a Python environment's `render()` output costs in the browser: the kitchen's
 * primitives after 40 frames of play, drawn by the primitives view in real Chromium, one Phaser
 * game step (scene update and render, on the page's main thread) per measurement, with a new
 * array every step (the picture changed: Graphics refilled, changed texts re-rasterised) and
 * with the same array (nothing redrawn), for each renderer.
 *
 *   npx tsx test/support/primitives-view-bench.ts [steps]
 *
 * Prints one JSON line per renderer. Headless Chromium here has no GPU: WebGL runs in software
 * (SwiftShader), so its figures are an upper bound for a real machine.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { type DrawPrimitive, loadPythonSim } from '../../sim/python/index.ts';
import { launchChromium } from './chromium.ts';
import { serveFixturePage } from './primitives-fixture-server.ts';

const steps = Number(process.argv[2] ?? 400);
if (!Number.isInteger(steps) || steps < 20) {
  throw new Error(`steps must be an integer of at least 20, not ${process.argv[2]}`);
}

const here = import.meta.dirname;
const sim = await loadPythonSim({
  source: readFileSync(path.join(here, '../../examples/kitchen.py'), 'utf8'),
  players: 2,
  seed: 7,
});
const pictures: DrawPrimitive[][] = [];
for (let f = 0; f < 40; f++) {
  // Both chefs cycle through the five actions, so chefs move and texts change.
  sim.step([
    { buttons: 1 << (f % 5), x: 0, y: 0 },
    { buttons: 1 << ((f + 2) % 5), x: 0, y: 0 },
  ]);
  pictures.push(sim.render() as DrawPrimitive[]);
}
sim.dispose();

const fixture = await serveFixturePage();
const url = fixture.url;
const browser = await launchChromium();

const quantiles = (xs: number[]): { p50: number; p90: number; p99: number } => {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number): number => Math.round(s[Math.floor((s.length - 1) * p)] * 1000) / 1000;
  return { p50: q(0.5), p90: q(0.9), p99: q(0.99) };
};

try {
  for (const renderer of ['canvas', 'webgl']) {
    const page = await browser.newPage({ viewport: { width: 1000, height: 600 } });
    await page.goto(`${url}/?renderer=${renderer}&width=800&height=400`);
    await page.waitForFunction(() => 'fixture' in window);
    type Fx = {
      show(p: readonly DrawPrimitive[]): Promise<void>;
      timeSteps(l: readonly (readonly DrawPrimitive[])[]): { changed: number[]; same: number[] };
    };
    await page.evaluate((p) => (window as unknown as { fixture: Fx }).fixture.show(p), pictures[0]);
    // Warm up (shaders, text textures), then measure.
    const lists = Array.from({ length: steps }, (_, i) => pictures[i % pictures.length]);
    await page.evaluate(
      (l) => (window as unknown as { fixture: Fx }).fixture.timeSteps(l),
      lists.slice(0, 20),
    );
    const t = await page.evaluate(
      (l) => (window as unknown as { fixture: Fx }).fixture.timeSteps(l),
      lists,
    );
    console.log(
      JSON.stringify({
        renderer,
        primitives: pictures[0].length,
        texts: pictures[0].filter((p) => p.type === 'text').length,
        steps,
        stepMsNewPicture: quantiles(t.changed),
        stepMsSamePicture: quantiles(t.same),
      }),
    );
    await page.close();
  }
} finally {
  await browser.close();
  await fixture.close();
}
