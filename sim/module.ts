/**
 * What a sim module exports: the contract of a researcher's own TypeScript sim, named in a game
 * scene as `sim: ./games/pong.ts`. The relay bundles the file (with the parts of Concord's
 * `sim/` it imports) into one ESM file at start; serve, bots, pilot, replay and the page all
 * load that one bundle, so every peer runs the same code, and the log header carries it.
 *
 * ```ts
 * export const sim: SimFactory<Snap>      // required: the deterministic world
 * export const view: SimView<Snap>        // optional: how the page draws a state
 * export const actions: ActionTable       // optional: the sim's named actions, for `actions:`
 * ```
 *
 * (`actions` may instead be the factory's own `sim.actions`; the export wins.)
 *
 * @packageDocumentation
 */
import { type ActionTable, createActionMap } from './action-map.ts';
import { ConcordError } from './errors.ts';
import { stateHash } from './hash.ts';
import type { DrawPrimitive } from './python/render.ts';
import type { PlayerSlot, SimFactory } from './sim.ts';

export type { DrawPrimitive };

/** Largest canvas a view may ask for, each side, in its own pixels. */
export const MAX_VIEW_SIZE = 4096;

/**
 * How the page draws a sim module's state: a pure function from a snapshot to draw primitives
 * (the same `rect`/`circle`/`line`/`text`/`sprite` list that a Python environment's `render()`
 * returns, so the page's one primitives renderer draws both), on a canvas of a fixed size.
 *
 * The page calls {@link draw} once per display frame with the newest state (predicted past the
 * confirmed frame) and, for smooth motion at display rates above the tick rate, the state
 * before it and the fraction of the next tick already elapsed. It never feeds anything back
 * into the sim, so a view may use fractions and `Math` freely; it must not mutate the snapshot.
 */
export interface SimView<Snap = unknown> {
  /** Canvas width, in the primitives' pixels, 1–{@link MAX_VIEW_SIZE}. */
  readonly width: number;
  /** Canvas height, in the primitives' pixels, 1–{@link MAX_VIEW_SIZE}. */
  readonly height: number;
  /**
   * The picture of a state, drawn in list order (origin top left, y down).
   * @param cur the newest snapshot S(f)
   * @param ctx what the page knows besides the state
   */
  draw(cur: Snap, ctx: ViewContext<Snap>): readonly DrawPrimitive[];
}

/** What {@link SimView.draw} gets besides the newest state. */
export interface ViewContext<Snap = unknown> {
  /** The snapshot S(f−1) drawn before the last tick (after a rollback: what was on screen). */
  readonly prev: Snap;
  /** 0..1: the fraction of the next tick already elapsed, for interpolating between prev and cur. */
  readonly alpha: number;
  /** The slot of the player at this page (to mark "you"). */
  readonly localSlot: PlayerSlot;
  /** Frames per second of the sim. */
  readonly tickRate: number;
  /**
   * The episode of `cur`, 0-based, and the scene's episode count (1 without episodes). In a
   * match of several episodes the page passes the inner sim's snapshots (`EpisodeSnap.inner`),
   * so a view draws its own state whatever the episode; at an episode's first frame `prev` is
   * the previous episode's last state, so do not interpolate across it.
   */
  readonly episode: number;
  readonly episodes: number;
}

/** A sim module's exports, checked; see the module comment for the shape. */
export interface SimModule<Snap = unknown> {
  readonly sim: SimFactory<Snap>;
  /** Null when the module exports no view (bots, replay and the relay need none). */
  readonly view: SimView<Snap> | null;
  /** The sim's named actions; `{}` when it exports none. */
  readonly actions: ActionTable;
}

/** A sim id: what scenes, logs and the page name the sim by. */
const SIM_ID = /^[a-z0-9][a-z0-9_-]{0,63}$/;
const MAX_PLAYERS = 16;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}

/**
 * Checks what a sim module exports and types it. Every problem is found at once.
 * @param exports the module namespace (what `import()` returned)
 * @param file the module's file, for the message
 * @throws ConcordError `BAD_CONFIG`: `FILE: not a sim module:` followed by one line per problem
 *   (`export sim: missing (export const sim: SimFactory = { id, minPlayers, maxPlayers, create })`,
 *   `sim.maxPlayers: must be an integer minPlayers–16, got 40`, `view.draw: must be a function`,
 *   `actions: B has the same input as A`).
 */
export function checkSimModule(exports: unknown, file: string): SimModule {
  const problems: string[] = [];
  const ns = isObject(exports) ? exports : {};
  const sim = ns.sim;
  if (sim === undefined) {
    const hint = 'default' in ns ? ' (a default export is not read: name it sim)' : '';
    problems.push(
      `export sim: missing${hint} (export const sim: SimFactory = { id, minPlayers, maxPlayers, create })`,
    );
  } else if (!isObject(sim)) {
    problems.push(`export sim: must be a SimFactory object, got ${typeof sim}`);
  } else {
    if (typeof sim.id !== 'string' || !SIM_ID.test(sim.id)) {
      problems.push(
        `sim.id: must be an id [a-z0-9][a-z0-9_-]{0,63}, got ${JSON.stringify(sim.id)}`,
      );
    }
    const min = sim.minPlayers;
    const max = sim.maxPlayers;
    const minOk = Number.isInteger(min) && (min as number) >= 1 && (min as number) <= MAX_PLAYERS;
    if (!minOk) {
      problems.push(
        `sim.minPlayers: must be an integer 1–${MAX_PLAYERS}, got ${JSON.stringify(min)}`,
      );
    }
    if (
      !Number.isInteger(max) ||
      (max as number) > MAX_PLAYERS ||
      (max as number) < (minOk ? (min as number) : 1)
    ) {
      problems.push(
        `sim.maxPlayers: must be an integer minPlayers–${MAX_PLAYERS}, got ${JSON.stringify(max)}`,
      );
    }
    if (typeof sim.create !== 'function') {
      problems.push('sim.create: must be a function (config: {players, seed}) => Sim');
    }
  }
  const view = ns.view;
  if (view !== undefined) {
    if (!isObject(view)) {
      problems.push(`export view: must be a SimView object, got ${typeof view}`);
    } else {
      for (const side of ['width', 'height'] as const) {
        const v = view[side];
        if (!Number.isInteger(v) || (v as number) < 1 || (v as number) > MAX_VIEW_SIZE) {
          problems.push(
            `view.${side}: must be an integer 1–${MAX_VIEW_SIZE}, got ${JSON.stringify(v)}`,
          );
        }
      }
      if (typeof view.draw !== 'function') {
        problems.push('view.draw: must be a function (cur, ctx) => DrawPrimitive[]');
      }
    }
  }
  const actions = ns.actions ?? (isObject(sim) ? sim.actions : undefined) ?? {};
  if (!isObject(actions) || Array.isArray(actions)) {
    problems.push('export actions: must be an object of action names to inputs');
  } else {
    try {
      createActionMap({ actions: {} }, actions as ActionTable);
    } catch (err) {
      problems.push(...(err as Error).message.split('\n'));
    }
  }
  if (problems.length > 0) {
    throw new ConcordError('BAD_CONFIG', `${file}: not a sim module:\n${problems.join('\n')}`);
  }
  return Object.freeze({
    sim: sim as SimFactory,
    view: (view as SimView | undefined) ?? null,
    actions: Object.freeze({ ...(actions as ActionTable) }),
  });
}

const MODULE_SPEC = /^\.{0,2}\/[\x21-\x7e]*\.(ts|mts|js|mjs)$/;

/**
 * True when a scene's sim spec names a sim module: a path starting with `./`, `../` or `/` and
 * ending in `.ts`, `.mts`, `.js` or `.mjs` (relative to the experiment file). Built-in ids
 * (`duel`) and Python environments (`python:FILE[:CLASS]`) are not.
 */
export function isSimModuleSpec(spec: string): boolean {
  return MODULE_SPEC.test(spec);
}

const utf8 = new TextEncoder();

/**
 * The code hash of a sim module's bundle: xxhash64 (as `stateHash`) of its UTF-8 bytes, 16
 * lowercase hex digits, as the log header records it. The bytes depend on the source, on the
 * Concord `sim/` files it imports and on the esbuild version that bundled it: the hash names
 * the exact code that ran, and the log carries that code.
 * @throws ConcordError `HASH_NOT_READY` before `initStateHash()` has completed
 */
export function simBundleHash(code: string): string {
  return stateHash(utf8.encode(code));
}
