/**
 * Between-participant conditions: the cells of the factors' cross product, and balanced
 * assignment in arrival order. Pure: the same arrival sequence always gives the same
 * assignments, so a study's allocation can be re-derived from its database.
 *
 * @packageDocumentation
 */
import { ConcordError } from '../../sim/index.ts';
import type { ConditionLevel } from './schema.ts';

/** A condition factor: its name (as in the file) and its levels, in file order. */
export interface ConditionFactor {
  /** The factor's name, e.g. `delay`. */
  readonly name: string;
  /** Its levels: the game settings each one overrides. */
  readonly levels: readonly ConditionLevel[];
}

/**
 * One cell of the conditions' cross product: factor name → level index (0-based, in file
 * order). An experiment without conditions has one cell, `{}`.
 */
export type Condition = Readonly<Record<string, number>>;

/**
 * Every cell of the factors' cross product, in order: the first factor varies slowest
 * (`a=0,b=0`, `a=0,b=1`, `a=1,b=0`, …), as nested loops in file order would list them.
 * @returns at least one cell (`{}` when there are no factors).
 */
export function conditionCells(factors: readonly ConditionFactor[]): Condition[] {
  let cells: Record<string, number>[] = [{}];
  for (const f of factors) {
    const next: Record<string, number>[] = [];
    for (const cell of cells) {
      for (let i = 0; i < f.levels.length; i++) next.push({ ...cell, [f.name]: i });
    }
    cells = next;
  }
  return cells;
}

/**
 * A cell's stable text form, for database rows, logs and exports: `name=level` pairs in factor
 * order joined by `,` (`delay=1,partner=0`), or `-` for the empty condition.
 */
export function conditionKey(factors: readonly ConditionFactor[], condition: Condition): string {
  if (factors.length === 0) return '-';
  return factors.map((f) => `${f.name}=${condition[f.name]}`).join(',');
}

/**
 * Checks that `condition` is a cell of `factors`: exactly their names, each a level index in
 * range.
 * @returns the condition, copied with its keys in factor order.
 * @throws ConcordError `BAD_CONFIG` naming the unknown factor, the missing one or the level.
 */
export function checkCondition(factors: readonly ConditionFactor[], condition: unknown): Condition {
  const bad = (why: string) => new ConcordError('BAD_CONFIG', `condition: ${why}`);
  if (typeof condition !== 'object' || condition === null || Array.isArray(condition)) {
    throw bad(`expected an object of factor levels, got ${JSON.stringify(condition)}`);
  }
  const c = condition as Record<string, unknown>;
  for (const key of Object.keys(c)) {
    if (!factors.some((f) => f.name === key)) throw bad(`unknown factor "${key}"`);
  }
  const out: Record<string, number> = {};
  for (const f of factors) {
    const level = c[f.name];
    if (!Number.isInteger(level) || (level as number) < 0 || (level as number) >= f.levels.length) {
      throw bad(
        `${f.name} must be a level index 0–${f.levels.length - 1}, got ${JSON.stringify(level)}`,
      );
    }
    out[f.name] = level as number;
  }
  return out;
}

/**
 * The cell for the next participant, balanced by least-filled: the cell with the fewest
 * participants so far, ties broken by cell order. With no dropouts this is round-robin in cell
 * order; when `assigned` counts only some participants (say those not excluded), it refills
 * the cells that fell behind.
 * @param cellCount number of cells, at least 1 ({@link conditionCells}`.length`)
 * @param assigned the cell index of each participant assigned so far, in arrival order; each
 *   in `0..cellCount-1`
 * @returns a cell index in `0..cellCount-1`
 * @throws ConcordError `BAD_CONFIG` when `cellCount` < 1 or an index is out of range.
 */
export function nextCell(cellCount: number, assigned: readonly number[]): number {
  if (!Number.isInteger(cellCount) || cellCount < 1) {
    throw new ConcordError('BAD_CONFIG', `cellCount must be an integer >= 1, got ${cellCount}`);
  }
  const counts = new Array<number>(cellCount).fill(0);
  for (const i of assigned) {
    if (!Number.isInteger(i) || i < 0 || i >= cellCount) {
      throw new ConcordError('BAD_CONFIG', `assigned cell ${i} is not in 0..${cellCount - 1}`);
    }
    counts[i]++;
  }
  let best = 0;
  for (let i = 1; i < cellCount; i++) if (counts[i] < counts[best]) best = i;
  return best;
}

/**
 * The cells of `n` participants arriving one after another, each by {@link nextCell}.
 * @returns `n` cell indices in arrival order.
 */
export function assignCells(cellCount: number, n: number): number[] {
  const out: number[] = [];
  for (let k = 0; k < n; k++) out.push(nextCell(cellCount, out));
  return out;
}
