import { ConcordError } from '../errors.ts';

/**
 * One shape that a Python environment's `render()` asks the client to draw, in pixels of the
 * scene's canvas (origin top left, y down), drawn in list order. Unknown extra fields are kept
 * and ignored, so an environment may carry hints for its own view.
 */
export type DrawPrimitive =
  | {
      readonly type: 'rect';
      readonly x: number;
      readonly y: number;
      readonly w: number;
      readonly h: number;
      /** Fill colour, any CSS colour string. */
      readonly color: string;
      /** Outline colour; no outline when absent. */
      readonly stroke?: string;
    }
  | {
      readonly type: 'circle';
      /** Centre. */
      readonly x: number;
      readonly y: number;
      readonly r: number;
      readonly color: string;
    }
  | {
      readonly type: 'line';
      readonly x1: number;
      readonly y1: number;
      readonly x2: number;
      readonly y2: number;
      readonly color: string;
      /** Stroke width in pixels (default 1). */
      readonly width?: number;
    }
  | {
      readonly type: 'text';
      /** Anchor point; the text is centred on it unless `align` says otherwise. */
      readonly x: number;
      readonly y: number;
      readonly text: string;
      readonly color?: string;
      /** Font size in pixels (default 14). */
      readonly size?: number;
      readonly align?: 'left' | 'center' | 'right';
    }
  | {
      readonly type: 'sprite';
      /** Top left corner. */
      readonly x: number;
      readonly y: number;
      /** The name of an image the scene provides. */
      readonly name: string;
      readonly w?: number;
      readonly h?: number;
    };

const NUMBERS: Record<DrawPrimitive['type'], readonly string[]> = {
  rect: ['x', 'y', 'w', 'h'],
  circle: ['x', 'y', 'r'],
  line: ['x1', 'y1', 'x2', 'y2'],
  text: ['x', 'y'],
  sprite: ['x', 'y'],
};
const STRINGS: Record<DrawPrimitive['type'], readonly string[]> = {
  rect: ['color'],
  circle: ['color'],
  line: ['color'],
  text: ['text'],
  sprite: ['name'],
};
const OPTIONAL_NUMBERS = ['width', 'size', 'w', 'h'];
const OPTIONAL_STRINGS = ['stroke', 'color'];

/**
 * Checks what a `render()` returned and types it.
 * @throws ConcordError `BAD_STATE` naming the first primitive and field that is wrong.
 */
export function checkDrawPrimitives(value: unknown, source: string): DrawPrimitive[] {
  if (!Array.isArray(value)) {
    throw new ConcordError('BAD_STATE', `${source} must return a list of draw primitives`);
  }
  value.forEach((p: unknown, i) => {
    const where = `${source}[${i}]`;
    if (typeof p !== 'object' || p === null || Array.isArray(p)) {
      throw new ConcordError('BAD_STATE', `${where} is not a dict`);
    }
    const prim = p as Record<string, unknown>;
    const type = prim.type as DrawPrimitive['type'];
    if (typeof type !== 'string' || !Object.hasOwn(NUMBERS, type)) {
      throw new ConcordError(
        'BAD_STATE',
        `${where} has type ${JSON.stringify(prim.type)}; expected one of ${Object.keys(NUMBERS).join(', ')}`,
      );
    }
    for (const f of NUMBERS[type]) {
      if (typeof prim[f] !== 'number') {
        throw new ConcordError('BAD_STATE', `${where} (${type}) needs a number ${f}`);
      }
    }
    for (const f of STRINGS[type]) {
      if (typeof prim[f] !== 'string') {
        throw new ConcordError('BAD_STATE', `${where} (${type}) needs a string ${f}`);
      }
    }
    for (const f of OPTIONAL_NUMBERS) {
      if (prim[f] !== undefined && typeof prim[f] !== 'number') {
        throw new ConcordError('BAD_STATE', `${where} (${type}): ${f} must be a number`);
      }
    }
    for (const f of OPTIONAL_STRINGS) {
      if (prim[f] !== undefined && typeof prim[f] !== 'string') {
        throw new ConcordError('BAD_STATE', `${where} (${type}): ${f} must be a string`);
      }
    }
  });
  return value as DrawPrimitive[];
}
