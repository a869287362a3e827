/**
 * Pong for two, as a Concord sim module: the example of docs/adding-a-typescript-sim.md.
 *
 * Integer arithmetic only (positions in 1/256 pixel), its own seeded generator in the state, no
 * clock and no `Math.random`: every peer computes the same states from the same inputs. The
 * state is one Int32Array, so a snapshot is a copy and the encoding is its little-endian bytes.
 *
 * Name it in a game scene as `sim: ./pong.ts` (relative to the experiment file), with
 * `actions: { ArrowUp: UP, ArrowDown: DOWN, KeyW: UP, KeyS: DOWN }` and `defaultAction: STAY`.
 */
import {
  type ActionTable,
  ConcordError,
  type DrawPrimitive,
  type Frame,
  type Input,
  type PlayerSlot,
  type Sim,
  type SimConfig,
  type SimFactory,
  type SimView,
  type ViewContext,
} from '../../sim/index.ts';

/** Field size in pixels. */
const W = 640;
const H = 480;
/** Sub-pixel units per pixel: positions and speeds are integers in 1/256 pixel. */
const Q = 256;
const PADDLE_H = 80;
const PADDLE_W = 10;
/** Distance of each paddle's inner face from its wall, pixels. */
const PADDLE_X = 30;
const PADDLE_SPEED = 6 * Q;
const BALL = 8;
const SERVE_SPEED = 4 * Q;
const MAX_SPEED = 12 * Q;
/** Frames between a point and the next serve. */
const SERVE_PAUSE = 45;

/** Button bits of the input. */
export const PONG_BUTTONS = Object.freeze({ up: 1, down: 2 } as const);

/** The sim's named actions, for a scene's `actions:` and `defaultAction:`. */
export const actions: ActionTable = Object.freeze({
  STAY: Object.freeze({ buttons: 0, x: 0, y: 0 }),
  UP: Object.freeze({ buttons: PONG_BUTTONS.up, x: 0, y: 0 }),
  DOWN: Object.freeze({ buttons: PONG_BUTTONS.down, x: 0, y: 0 }),
});

// State layout (Int32Array indices).
const FRAME = 0;
const BX = 1;
const BY = 2;
const VX = 3;
const VY = 4;
const P0 = 5; // paddle tops, Q units; P0 + slot
const S0 = 7; // scores; S0 + slot
const PAUSE = 9;
const RNG = 10;
const HITS = 11;
const SIZE = 12;

/** xorshift32: one int of state, never 0. */
function nextRandom(state: Int32Array): number {
  let x = state[RNG];
  x ^= x << 13;
  x ^= x >>> 17;
  x ^= x << 5;
  state[RNG] = x;
  return x >>> 0;
}

/** Puts the ball in the middle, moving towards `towards` (0 or 1), at a random slope. */
function serve(state: Int32Array, towards: number): void {
  state[BX] = ((W - BALL) / 2) * Q;
  state[BY] = ((H - BALL) / 2) * Q;
  state[VX] = towards === 0 ? -SERVE_SPEED : SERVE_SPEED;
  state[VY] = (nextRandom(state) % (4 * Q + 1)) - 2 * Q;
  state[HITS] = 0;
}

function create(seed: number): Int32Array {
  const s = new Int32Array(SIZE);
  s[P0] = s[P0 + 1] = ((H - PADDLE_H) / 2) * Q;
  s[RNG] = (seed ^ 0x2545f491) | 0 || 1;
  serve(s, nextRandom(s) & 1);
  s[PAUSE] = SERVE_PAUSE;
  return s;
}

function step(s: Int32Array, inputs: readonly Input[]): void {
  s[FRAME]++;
  for (let p = 0; p < 2; p++) {
    const b = inputs[p].buttons;
    const dy =
      (b & PONG_BUTTONS.down ? PADDLE_SPEED : 0) - (b & PONG_BUTTONS.up ? PADDLE_SPEED : 0);
    s[P0 + p] = Math.max(0, Math.min((H - PADDLE_H) * Q, s[P0 + p] + dy));
  }
  if (s[PAUSE] > 0) {
    s[PAUSE]--;
    return;
  }
  s[BX] += s[VX];
  s[BY] += s[VY];
  if (s[BY] < 0) {
    s[BY] = -s[BY];
    s[VY] = -s[VY];
  } else if (s[BY] > (H - BALL) * Q) {
    s[BY] = 2 * (H - BALL) * Q - s[BY];
    s[VY] = -s[VY];
  }
  // Paddles: slot 0 on the left, slot 1 on the right.
  const left = s[VX] < 0;
  const p = left ? 0 : 1;
  const face = left ? PADDLE_X * Q : (W - PADDLE_X - BALL) * Q;
  const crossed = left
    ? s[BX] <= face && s[BX] - s[VX] > face
    : s[BX] >= face && s[BX] - s[VX] < face;
  if (crossed) {
    const top = s[P0 + p];
    const ballMid = s[BY] + (BALL * Q) / 2;
    if (ballMid >= top && ballMid <= top + PADDLE_H * Q) {
      // Reflect at the face; speed up by 1/16 up to the limit; the slope follows where it hit.
      s[BX] = 2 * face - s[BX];
      const speed = Math.min(MAX_SPEED, Math.abs(s[VX]) + (Math.abs(s[VX]) >> 4));
      s[VX] = left ? speed : -speed;
      const offset = ballMid - (top + (PADDLE_H * Q) / 2); // -40Q..40Q
      s[VY] = Math.trunc((offset * 6) / PADDLE_H) + (s[VY] >> 2);
      s[HITS]++;
    }
  }
  if (s[BX] < -BALL * Q || s[BX] > W * Q) {
    const scorer = s[BX] < 0 ? 1 : 0;
    s[S0 + scorer]++;
    serve(s, 1 - scorer);
    s[PAUSE] = SERVE_PAUSE;
  }
}

class PongSim implements Sim<Int32Array> {
  readonly id = 'pong';
  readonly players = 2;
  private state: Int32Array;

  constructor(seed: number) {
    this.state = create(seed);
  }

  get frame(): Frame {
    return this.state[FRAME];
  }

  step(inputs: readonly Input[]): void {
    if (inputs.length !== 2)
      throw new ConcordError('BAD_INPUT', `pong needs 2 inputs, got ${inputs.length}`);
    step(this.state, inputs);
  }

  save(reuse?: Int32Array): Int32Array {
    if (reuse && reuse.length === SIZE) {
      reuse.set(this.state);
      return reuse;
    }
    return this.state.slice();
  }

  load(snapshot: Int32Array): void {
    this.state.set(snapshot);
  }

  encode(snapshot: Int32Array): Uint8Array {
    const out = new Uint8Array(SIZE * 4);
    const view = new DataView(out.buffer);
    for (let i = 0; i < SIZE; i++) view.setInt32(i * 4, snapshot[i], true);
    return out;
  }

  decode(bytes: Uint8Array): Int32Array {
    if (bytes.length !== SIZE * 4) {
      throw new ConcordError(
        'BAD_STATE',
        `not a pong state: ${bytes.length} bytes, expected ${SIZE * 4}`,
      );
    }
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
    return Int32Array.from({ length: SIZE }, (_, i) => view.getInt32(i * 4, true));
  }

  defaultInput(_slot: PlayerSlot): Input {
    return actions.STAY;
  }

  reset(seed: number): void {
    this.state = create(seed);
  }
}

/** The factory Concord loads: 2 players exactly. */
export const sim: SimFactory<Int32Array> = {
  id: 'pong',
  minPlayers: 2,
  maxPlayers: 2,
  create(config: SimConfig): Sim<Int32Array> {
    if (config.players !== 2)
      throw new ConcordError('BAD_CONFIG', `pong takes 2 players, got ${config.players}`);
    return new PongSim(config.seed);
  },
};

/** The score of each slot in a pong snapshot (for exports and tests). */
export function pongScores(snapshot: Int32Array): [number, number] {
  return [snapshot[S0], snapshot[S0 + 1]];
}

const COLOURS = ['#4fc3f7', '#ff8a65'];

/** How the page draws pong: the field, the paddles (yours outlined), the ball and the score. */
export const view: SimView<Int32Array> = {
  width: W,
  height: H,
  draw(cur: Int32Array, ctx: ViewContext<Int32Array>): DrawPrimitive[] {
    const lerp = (i: number): number => {
      const a = ctx.prev[i];
      const b = cur[i];
      // No interpolation across a serve (the ball jumps to the middle).
      return (Math.abs(b - a) > MAX_SPEED * 2 ? b : a + (b - a) * ctx.alpha) / Q;
    };
    const out: DrawPrimitive[] = [
      { type: 'rect', x: 0, y: 0, w: W, h: H, color: '#101218' },
      { type: 'line', x1: W / 2, y1: 0, x2: W / 2, y2: H, color: '#2a2f3c', width: 2 },
    ];
    for (let p = 0; p < 2; p++) {
      const x = p === 0 ? PADDLE_X - PADDLE_W : W - PADDLE_X;
      out.push({
        type: 'rect',
        x,
        y: lerp(P0 + p),
        w: PADDLE_W,
        h: PADDLE_H,
        color: COLOURS[p],
        ...(p === ctx.localSlot ? { stroke: '#ffffff' } : {}),
      });
      out.push({
        type: 'text',
        x: p === 0 ? W / 4 : (3 * W) / 4,
        y: 32,
        text: String(cur[S0 + p]),
        color: COLOURS[p],
        size: 28,
      });
    }
    out.push({ type: 'rect', x: lerp(BX), y: lerp(BY), w: BALL, h: BALL, color: '#ffffff' });
    if (ctx.episodes > 1) {
      const round = `round ${ctx.episode + 1} of ${ctx.episodes}`;
      out.push({ type: 'text', x: W / 2, y: H - 16, text: round, color: '#8a90a2', size: 14 });
    }
    return out;
  },
};
