/**
 * A browser page for test/primitives-view.test.ts: one {@link createPrimitivesGame} in a fixed
 * size parent, drawing whatever the test hands to `window.fixture.show`. `?renderer=` picks
 * Phaser's renderer (`auto`, `webgl` or `canvas`), `?width=` and `?height=` the parent's size in
 * CSS pixels.
 */
import Phaser from 'phaser';
import type { RendererChoice } from '../../client/web/duel-view.ts';
import {
  canvasSizeFor,
  createPrimitivesGame,
  type PrimitivesScene,
} from '../../client/web/primitives-view.ts';
import type { DrawPrimitive } from '../../sim/python/index.ts';

const params = new URLSearchParams(location.search);
const renderer = (params.get('renderer') ?? 'auto') as RendererChoice;
const parent = document.createElement('div');
parent.id = 'game';
parent.style.width = `${Number(params.get('width') ?? 800)}px`;
parent.style.height = `${Number(params.get('height') ?? 400)}px`;
document.body.style.margin = '0';
document.body.append(parent);

let current: readonly DrawPrimitive[] | null = null;
const view = createPrimitivesGame(parent, () => current, renderer);
const scene = (): PrimitivesScene => view.game.scene.getScene('primitives') as PrimitivesScene;

/** Counts rendered display frames, so that the test can wait for a draw to reach the canvas. */
let renders = 0;
view.game.events.on('postrender', () => {
  renders++;
});

/** What the test drives and reads. */
const fixture = {
  /** Hands over primitives; returns once two more frames have rendered. */
  async show(primitives: readonly DrawPrimitive[] | null): Promise<void> {
    current = primitives;
    const target = renders + 2;
    while (renders < target) await new Promise((r) => requestAnimationFrame(r));
  },
  /** Replaces entry `i` of the array shown now, keeping the array itself (its identity). */
  async mutateInPlace(i: number, p: DrawPrimitive): Promise<void> {
    (current as DrawPrimitive[])[i] = p;
    const target = renders + 2;
    while (renders < target) await new Promise((r) => requestAnimationFrame(r));
  },
  /**
   * The colour that the renderer drew at the centre of pixel (x, y) of the primitives' space,
   * `[r, g, b, a]` (the canvas has a whole number of its pixels per primitive pixel).
   */
  pixel(x: number, y: number): Promise<[number, number, number, number]> {
    const k = scene().pixelScale;
    return new Promise((resolve) => {
      view.game.renderer.snapshotPixel(
        Math.floor((x + 0.5) * k),
        Math.floor((y + 0.5) * k),
        (c) => {
          const colour = c as Phaser.Display.Color;
          resolve([colour.red, colour.green, colour.blue, colour.alpha]);
        },
      );
    });
  },
  renderer: () => view.renderer(),
  canvasSize: () => view.canvasSize(),
  lastError: () => view.lastError()?.message ?? null,
  /** The visible Text objects: content, position, origin, font size and colour. */
  texts: () =>
    scene()
      .children.list.filter(
        (o): o is Phaser.GameObjects.Text => o instanceof Phaser.GameObjects.Text && o.visible,
      )
      .map((t) => ({
        text: t.text,
        x: t.x,
        y: t.y,
        originX: t.originX,
        originY: t.originY,
        fontSize: String(t.style.fontSize),
        color: String(t.style.color),
      })),
  pooledTexts: () => scene().pooledTexts,
  pixelScale: () => scene().pixelScale,
  canvasSizeFor,
  /** Where the canvas is on the page and how big it is shown, in CSS pixels. */
  canvasBox: () => {
    const r = view.game.canvas.getBoundingClientRect();
    const p = parent.getBoundingClientRect();
    return {
      left: r.left - p.left,
      top: r.top - p.top,
      width: r.width,
      height: r.height,
      canvasWidth: view.game.canvas.width,
      canvasHeight: view.game.canvas.height,
    };
  },
  /**
   * Runs one game step (scene update and render) per entry of `lists`, each a new array, and
   * returns each step's duration in ms; then as many steps with the last array unchanged. For
   * measuring, not for checks.
   */
  timeSteps(lists: readonly (readonly DrawPrimitive[])[]): { changed: number[]; same: number[] } {
    const step = (): number => {
      const t0 = performance.now(); // clock-ok: measurement
      view.game.step(t0, 16);
      return performance.now() - t0; // clock-ok: measurement
    };
    const changed = lists.map((l) => {
      current = l;
      return step();
    });
    const same = lists.map(() => step());
    return { changed, same };
  },
  destroy: () => view.destroy(),
};

(window as unknown as { fixture: typeof fixture }).fixture = fixture;
