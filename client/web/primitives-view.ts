import Phaser from 'phaser';
import { ConcordError } from '../../sim/index.ts';
import type { DrawPrimitive } from '../../sim/python/index.ts';
import type { RendererChoice } from './duel-view.ts';

/** Size of the canvas before the first primitives arrive, in canvas pixels. */
const INITIAL_WIDTH = 480;
/** See {@link INITIAL_WIDTH}. */
const INITIAL_HEIGHT = 320;
/** Behind everything, and around the canvas where the parent's aspect ratio differs. */
const BACKGROUND = '#101218';
/** Size of a sprite placeholder whose primitive gives no `w` / `h`, in canvas pixels. */
export const SPRITE_PLACEHOLDER_SIZE = 32;
/** Font size of a text primitive without `size`, in pixels. */
const DEFAULT_FONT_SIZE = 14;
/** Colour of a text primitive without `color`. */
const DEFAULT_TEXT_COLOUR = '#ffffff';
const FONT_FAMILY = 'system-ui, sans-serif';
/** Text is rasterised at this multiple of its size, so that it stays sharp when scaled up. */
const TEXT_RESOLUTION = 2;

/** A parsed CSS colour: 0xRRGGBB and an alpha in 0..1. */
interface Colour {
  readonly rgb: number;
  readonly alpha: number;
}

/** A running Phaser game drawing a Python environment's `render()` output. */
export interface PrimitivesGame {
  /** The Phaser game, for tests and tools (`game.renderer.snapshotPixel`, `game.canvas`). */
  readonly game: Phaser.Game;
  /** The renderer Phaser chose: `webgl`, `canvas`, or `none` while it is still booting. */
  renderer(): string;
  /**
   * The canvas size in the primitives' pixels once the first primitives fixed it, else null.
   * The canvas element has a whole multiple of it (see {@link pixelScaleFor}).
   */
  canvasSize(): { readonly width: number; readonly height: number } | null;
  /**
   * The error that stopped the last primitives from being drawn (a bad colour, an oversized
   * canvas: ConcordError `BAD_STATE` naming the primitive), or null when they drew cleanly.
   */
  lastError(): Error | null;
  /** Stops the game and removes its canvas. */
  destroy(): void;
}

/**
 * Parses CSS colour strings (`#rgb`, `#rrggbb`, `#rrggbbaa`, `rgb()`, `hsl()`, names such as
 * `tomato`) with the browser's own parser, a 2D canvas context, and caches the results.
 */
class ColourParser {
  private readonly cache = new Map<string, Colour>();
  private readonly ctx: CanvasRenderingContext2D;

  constructor() {
    const ctx = document.createElement('canvas').getContext('2d');
    if (!ctx) throw new Error('this browser has no 2D canvas context, needed to parse colours');
    this.ctx = ctx;
  }

  /**
   * @param where names the primitive and field, for the error
   * @throws ConcordError `BAD_STATE` when `css` is not a CSS colour
   */
  parse(css: string, where: string): Colour {
    const hit = this.cache.get(css);
    if (hit) return hit;
    // An invalid colour leaves fillStyle unchanged: set two different sentinels first and see
    // whether the colour replaced both.
    this.ctx.fillStyle = '#010203';
    this.ctx.fillStyle = css;
    const a = String(this.ctx.fillStyle);
    this.ctx.fillStyle = '#040506';
    this.ctx.fillStyle = css;
    const b = String(this.ctx.fillStyle);
    if (a !== b) {
      throw new ConcordError('BAD_STATE', `${where} is ${JSON.stringify(css)}, not a CSS colour`);
    }
    const colour = parseCanonical(a, css, where);
    if (this.cache.size > 4096) this.cache.clear();
    this.cache.set(css, colour);
    return colour;
  }
}

/** Reads the canvas's canonical form of a colour: `#rrggbb` or `rgba(r, g, b, a)`. */
function parseCanonical(canonical: string, css: string, where: string): Colour {
  if (/^#[0-9a-f]{6}$/i.test(canonical)) {
    return { rgb: Number.parseInt(canonical.slice(1), 16), alpha: 1 };
  }
  const m = /^rgba?\((\d+),\s*(\d+),\s*(\d+)(?:,\s*([\d.]+))?\)$/.exec(canonical);
  if (!m) {
    throw new ConcordError(
      'BAD_STATE',
      `${where} is ${JSON.stringify(css)}, which this browser reads as ${canonical}: use #rrggbb, rgb() or a colour name`,
    );
  }
  const rgb = (Number(m[1]) << 16) | (Number(m[2]) << 8) | Number(m[3]);
  return { rgb, alpha: m[4] === undefined ? 1 : Number(m[4]) };
}

/** A stable colour per sprite name, so that different placeholder sprites look different. */
function placeholderColour(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return Phaser.Display.Color.HSVToRGB(((h >>> 0) % 360) / 360, 0.45, 0.75).color;
}

/** Longest canvas side, in canvas pixels (browsers refuse canvases much larger). */
const MAX_CANVAS_SIDE = 4096;

/**
 * The canvas size that the first primitives ask for, in their pixels: the extent of a leading
 * `rect` at the origin (an environment that declares its canvas that way), else the bounding box
 * of all the primitives from the origin (text counts by its anchor and font size, since its
 * width is known only once drawn). At least 1 × 1. Whatever lies left of or above the origin is
 * cut off.
 * @throws ConcordError `BAD_STATE` when a side would exceed 4096 pixels, naming the primitive
 *   that reaches furthest
 */
export function canvasSizeFor(primitives: readonly DrawPrimitive[]): {
  width: number;
  height: number;
} {
  const first = primitives[0];
  let right = 1;
  let bottom = 1;
  let rightmost = -1;
  let bottommost = -1;
  const grow = (i: number, x: number, y: number): void => {
    if (x > right) [right, rightmost] = [x, i];
    if (y > bottom) [bottom, bottommost] = [y, i];
  };
  if (first?.type === 'rect' && first.x === 0 && first.y === 0 && first.w > 0 && first.h > 0) {
    grow(0, first.w, first.h);
  } else {
    primitives.forEach((p, i) => {
      switch (p.type) {
        case 'rect':
          grow(i, p.x + p.w, p.y + p.h);
          break;
        case 'circle':
          grow(i, p.x + p.r, p.y + p.r);
          break;
        case 'line': {
          const half = (p.width ?? 1) / 2;
          grow(i, Math.max(p.x1, p.x2) + half, Math.max(p.y1, p.y2) + half);
          break;
        }
        case 'text': {
          const size = p.size ?? DEFAULT_FONT_SIZE;
          grow(i, p.x + size, p.y + size);
          break;
        }
        case 'sprite':
          grow(i, p.x + (p.w ?? SPRITE_PLACEHOLDER_SIZE), p.y + (p.h ?? SPRITE_PLACEHOLDER_SIZE));
          break;
      }
    });
  }
  for (const [extent, i, side] of [
    [right, rightmost, 'width'],
    [bottom, bottommost, 'height'],
  ] as const) {
    if (!(extent <= MAX_CANVAS_SIDE)) {
      throw new ConcordError(
        'BAD_STATE',
        `render()[${i}] (${primitives[i].type}) makes the canvas ${extent} pixels in ${side}; at most ${MAX_CANVAS_SIDE}`,
      );
    }
  }
  return { width: Math.ceil(right), height: Math.ceil(bottom) };
}

/** Most canvas pixels per primitive pixel. */
const MAX_PIXEL_SCALE = 4;

/**
 * Canvas pixels per primitive pixel: the whole number that makes the canvas at least as large as
 * it is shown in `parent` (in device pixels) when fitted there, so that the browser scales the
 * canvas down or not at all, never up (which blurs). 1 to 4, and no canvas side over 4096.
 * Fixed at the first draw: a parent that grows later shows the canvas scaled up.
 */
export function pixelScaleFor(
  parent: HTMLElement | null,
  size: { readonly width: number; readonly height: number },
): number {
  const box = parent?.getBoundingClientRect();
  const fit = box ? Math.min(box.width / size.width, box.height / size.height) : 1;
  const want = Math.ceil(
    (Number.isFinite(fit) && fit > 0 ? fit : 1) * (window.devicePixelRatio || 1),
  );
  const room = Math.floor(MAX_CANVAS_SIDE / Math.max(size.width, size.height));
  return Math.max(1, Math.min(MAX_PIXEL_SCALE, want, room));
}

/** What a pooled Text object shows now, so that unchanged ones are not re-rasterised. */
interface TextSlot {
  readonly object: Phaser.GameObjects.Text;
  text: string;
  size: number;
  colour: string;
}

/**
 * Draws a list of {@link DrawPrimitive}s with Phaser Graphics and Text, in list order (later
 * ones on top), whenever `source` returns a different array (by identity); between changes the
 * picture stays as it is and nothing is redrawn.
 *
 * - `rect`: filled, with a 1-pixel outline when it has `stroke`; `circle`: filled; `line`: of
 *   `width` pixels (default 1). Colours are any CSS colour the browser knows, alpha included.
 * - `text`: `size` pixels (default 14), `color` (default white), in the system UI font.
 *   Without `align` or with `center` the text is centred on (x, y); with `left` (x, y) is its
 *   top left corner, with `right` its top right corner (a line of a status bar).
 *   Text objects are pooled and reused from one draw to the next: a draw allocates a new one
 *   only when it has more texts than any draw before, and re-rasterises only changed ones.
 * - `sprite`: there is no asset pipeline yet, so a sprite is drawn as a placeholder: a box of
 *   `w` × `h` (default 32 × 32) in a colour derived from its name, crossed, with the name on
 *   it. Loading the images a scene ships (by name, from the relay) is future work.
 *
 * A bad colour, or a first list that asks for a canvas over 4096 pixels a side, is reported
 * (console, {@link PrimitivesGame.lastError} and a red message over the canvas) and the whole
 * list is not drawn: never a silently wrong picture. The next list is drawn as usual.
 */
export class PrimitivesScene extends Phaser.Scene {
  private last: readonly DrawPrimitive[] | null = null;
  private readonly graphics: Phaser.GameObjects.Graphics[] = [];
  private readonly texts: TextSlot[] = [];
  private errorText: Phaser.GameObjects.Text | null = null;
  private colours: ColourParser | null = null;
  /** The canvas size fixed by the first primitives, null before. */
  size: { readonly width: number; readonly height: number } | null = null;
  /** See {@link PrimitivesGame.lastError}. */
  error: Error | null = null;
  /** Canvas pixels per primitive pixel (see {@link pixelScaleFor}); 1 before the first draw. */
  pixelScale = 1;

  /** @param source the primitives to draw now, or null before the first frame */
  constructor(private readonly source: () => readonly DrawPrimitive[] | null) {
    super({ key: 'primitives' });
  }

  /** Phaser's hook: prepares the colour parser. */
  create(): void {
    this.colours = new ColourParser();
  }

  /** Phaser's hook, once per display frame: redraws when the primitives changed. */
  override update(): void {
    const primitives = this.source();
    if (primitives === this.last) return;
    this.last = primitives;
    if (primitives === null) {
      this.hideFrom(0, 0);
      return;
    }
    try {
      if (this.size === null && primitives.length > 0) this.fixSize(canvasSizeFor(primitives));
      this.draw(primitives);
      this.error = null;
      this.errorText?.setVisible(false);
    } catch (err) {
      this.hideFrom(0, 0);
      this.showError(err instanceof Error ? err : new Error(String(err)));
    }
  }

  private fixSize(size: { readonly width: number; readonly height: number }): void {
    const k = pixelScaleFor(this.scale.parent as HTMLElement | null, size);
    this.size = size;
    this.pixelScale = k;
    this.scale.setGameSize(size.width * k, size.height * k);
    this.cameras.main.setZoom(k).centerOn(size.width / 2, size.height / 2);
  }

  private draw(primitives: readonly DrawPrimitive[]): void {
    const colours = this.colours as ColourParser;
    // Parse every colour first, so that a bad one stops the draw before anything changed.
    const parsed: (Colour | undefined)[] = primitives.map((p, i) => {
      const where = `render()[${i}] (${p.type})`;
      if (p.type === 'sprite') return undefined;
      if (p.type === 'text') {
        if (p.color !== undefined) colours.parse(p.color, `${where} color`);
        return undefined;
      }
      if (p.type === 'rect' && p.stroke !== undefined) colours.parse(p.stroke, `${where} stroke`);
      return colours.parse(p.color, `${where} color`);
    });
    let depth = 0;
    let usedGraphics = 0;
    let usedTexts = 0;
    /** The Graphics that shapes go into now: a new one after each text, to keep list order. */
    let g: Phaser.GameObjects.Graphics | null = null;
    const shapes = (): Phaser.GameObjects.Graphics => {
      if (g) return g;
      let next = this.graphics[usedGraphics];
      if (!next) {
        next = this.add.graphics();
        this.graphics.push(next);
      }
      usedGraphics++;
      g = next.clear().setVisible(true).setDepth(depth++);
      return g;
    };
    const text = (
      x: number,
      y: number,
      value: string,
      size: number,
      colour: string,
      originX: number,
      originY: number,
    ): void => {
      const slot = this.textSlot(usedTexts++);
      if (slot.size !== size) {
        slot.object.setFontSize(size);
        slot.size = size;
      }
      if (slot.colour !== colour) {
        slot.object.setColor(colour);
        slot.colour = colour;
      }
      if (slot.text !== value) {
        slot.object.setText(value);
        slot.text = value;
      }
      slot.object.setOrigin(originX, originY).setPosition(x, y).setDepth(depth++).setVisible(true);
      g = null;
    };
    primitives.forEach((p, i) => {
      switch (p.type) {
        case 'rect': {
          const c = parsed[i] as Colour;
          const s = shapes();
          s.fillStyle(c.rgb, c.alpha).fillRect(p.x, p.y, p.w, p.h);
          if (p.stroke !== undefined) {
            const o = colours.parse(p.stroke, '');
            s.lineStyle(1, o.rgb, o.alpha).strokeRect(p.x + 0.5, p.y + 0.5, p.w - 1, p.h - 1);
          }
          break;
        }
        case 'circle': {
          const c = parsed[i] as Colour;
          shapes().fillStyle(c.rgb, c.alpha).fillCircle(p.x, p.y, p.r);
          break;
        }
        case 'line': {
          const c = parsed[i] as Colour;
          shapes()
            .lineStyle(p.width ?? 1, c.rgb, c.alpha)
            .lineBetween(p.x1, p.y1, p.x2, p.y2);
          break;
        }
        case 'text': {
          const [ox, oy] = p.align === 'left' ? [0, 0] : p.align === 'right' ? [1, 0] : [0.5, 0.5];
          const size = p.size ?? DEFAULT_FONT_SIZE;
          text(p.x, p.y, p.text, size, p.color ?? DEFAULT_TEXT_COLOUR, ox, oy);
          break;
        }
        case 'sprite': {
          const w = p.w ?? SPRITE_PLACEHOLDER_SIZE;
          const h = p.h ?? SPRITE_PLACEHOLDER_SIZE;
          shapes()
            .fillStyle(placeholderColour(p.name), 1)
            .fillRect(p.x, p.y, w, h)
            .lineStyle(1, 0xffffff, 1)
            .strokeRect(p.x + 0.5, p.y + 0.5, w - 1, h - 1)
            .lineStyle(2, 0xffffff, 1)
            .lineBetween(p.x, p.y, p.x + w, p.y + h)
            .lineBetween(p.x + w, p.y, p.x, p.y + h);
          const size = Math.max(6, Math.min(12, Math.floor(h / 3)));
          text(p.x + w / 2, p.y + h / 2, p.name, size, '#ffffff', 0.5, 0.5);
          break;
        }
      }
    });
    this.hideFrom(usedGraphics, usedTexts);
  }

  private textSlot(i: number): TextSlot {
    let slot = this.texts[i];
    if (!slot) {
      const object = this.add.text(0, 0, '', {
        fontFamily: FONT_FAMILY,
        fontSize: `${DEFAULT_FONT_SIZE}px`,
        color: DEFAULT_TEXT_COLOUR,
        resolution: this.pixelScale * TEXT_RESOLUTION,
      });
      slot = { object, text: '', size: DEFAULT_FONT_SIZE, colour: DEFAULT_TEXT_COLOUR };
      this.texts.push(slot);
    }
    return slot;
  }

  private hideFrom(graphics: number, texts: number): void {
    for (let i = graphics; i < this.graphics.length; i++)
      this.graphics[i].clear().setVisible(false);
    for (let i = texts; i < this.texts.length; i++) this.texts[i].object.setVisible(false);
  }

  private showError(err: Error): void {
    const first = this.error === null || this.error.message !== err.message;
    this.error = err;
    if (first) console.error('cannot draw the environment:', err);
    if (!this.errorText) {
      this.errorText = this.add
        .text(4, 4, '', {
          fontFamily: FONT_FAMILY,
          fontSize: '13px',
          color: '#ff5252',
          backgroundColor: '#000000',
          resolution: this.pixelScale * TEXT_RESOLUTION,
          wordWrap: { width: Math.max(100, (this.size?.width ?? INITIAL_WIDTH) - 8) },
        })
        .setDepth(Number.MAX_SAFE_INTEGER);
    }
    this.errorText.setText(`cannot draw: ${err.message}`).setVisible(true);
  }

  /** The number of pooled Text objects (for tests: it must not grow while the text count stays). */
  get pooledTexts(): number {
    return this.texts.length;
  }
}

/**
 * Creates a Phaser game in `parent` that draws what `getPrimitives` returns (see
 * {@link PrimitivesScene}): its canvas takes the size the first primitives ask for (see
 * {@link canvasSizeFor}; fixed from then on), drawn at a whole multiple of it (see
 * {@link pixelScaleFor}) so that it stays sharp, and is scaled to fit `parent` (which must have a
 * size of its own, as a flex item or with a CSS width and height), keeping its aspect ratio,
 * centred. Phaser's own input is off: keys come from the DOM (see `python-input.ts`).
 *
 * @param getPrimitives called once per display frame; return the same array while nothing
 *   changed (redrawing happens only when the identity changes), null before the first frame
 * @param renderer WebGL when available (`auto`), or force `webgl` or `canvas`
 */
export function createPrimitivesGame(
  parent: HTMLElement,
  getPrimitives: () => readonly DrawPrimitive[] | null,
  renderer: RendererChoice,
): PrimitivesGame {
  const type =
    renderer === 'canvas' ? Phaser.CANVAS : renderer === 'webgl' ? Phaser.WEBGL : Phaser.AUTO;
  const scene = new PrimitivesScene(getPrimitives);
  const game = new Phaser.Game({
    type,
    parent,
    backgroundColor: BACKGROUND,
    banner: false,
    audio: { noAudio: true },
    input: { keyboard: false, mouse: false, touch: false, gamepad: false },
    scale: {
      mode: Phaser.Scale.FIT,
      autoCenter: Phaser.Scale.CENTER_BOTH,
      width: INITIAL_WIDTH,
      height: INITIAL_HEIGHT,
    },
    scene: [scene],
  });
  return {
    game,
    renderer: () => {
      if (!game.renderer) return 'none';
      return game.renderer.type === Phaser.WEBGL ? 'webgl' : 'canvas';
    },
    canvasSize: () => scene.size,
    lastError: () => scene.error,
    destroy: () => game.destroy(true),
  };
}
