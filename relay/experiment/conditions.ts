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
 * The largest assignment block {@link assignmentBlockSize} makes from a least common multiple;
 * past it the block is the largest match size alone.
 */
export const MAX_LCM_BLOCK = 12;

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/**
 * The assignment block of an experiment whose game scenes seat `matchSizes` players (every game
 * scene's `players`, under every condition cell): their least common multiple when it is at
 * most {@link MAX_LCM_BLOCK}, else the largest of them. A block of that many consecutive
 * arrivals fills whole matches of every game scene (`players: 2` and `3` give 6: three pairs,
 * two triples). 1 when there is no multi-player game scene.
 * @param matchSizes players per match, each an integer >= 1 (an empty list gives 1)
 * @throws ConcordError `BAD_CONFIG` for a size that is not an integer >= 1.
 */
export function assignmentBlockSize(matchSizes: readonly number[]): number {
  let lcm = 1;
  let max = 1;
  for (const n of matchSizes) {
    if (!Number.isInteger(n) || n < 1) {
      throw new ConcordError('BAD_CONFIG', `a match size must be an integer >= 1, got ${n}`);
    }
    max = Math.max(max, n);
    if (lcm <= MAX_LCM_BLOCK) lcm = (lcm / gcd(lcm, n)) * n;
  }
  return lcm <= MAX_LCM_BLOCK ? lcm : max;
}

/**
 * The cell for the next participant: balanced, in arrival order, in blocks of `blockSize`
 * consecutive arrivals, so that participants who arrive together share a condition and can be
 * matched (each game scene × cell is its own waiting room).
 *
 * The rule: while the cell of the last arrival has an open block (its count is not a multiple
 * of `blockSize`), the next arrival joins it; otherwise the next arrival opens a block in the
 * cell with the fewest participants so far, ties broken by cell order. With no dropouts this is
 * round-robin of whole blocks in cell order (block 2, two cells: `0 0 1 1 0 0 1 1 …`); when
 * `assigned` counts only some participants (say those not excluded), new blocks refill the
 * cells that fell behind. Every cell stays within `blockSize` of every other. `blockSize` 1 is
 * plain least-filled round-robin. The idea is permuted-block allocation as in clinical trials,
 * with the block laid out in cell order rather than shuffled, so that partners share a cell.
 * @param cellCount number of cells, at least 1 ({@link conditionCells}`.length`)
 * @param assigned the cell index of each participant assigned so far, in arrival order; each
 *   in `0..cellCount-1`
 * @param blockSize arrivals per block, an integer >= 1 ({@link assignmentBlockSize})
 * @returns a cell index in `0..cellCount-1`
 * @throws ConcordError `BAD_CONFIG` when `cellCount` or `blockSize` < 1 or an index is out of
 *   range.
 */
export function nextCell(cellCount: number, assigned: readonly number[], blockSize = 1): number {
  if (!Number.isInteger(cellCount) || cellCount < 1) {
    throw new ConcordError('BAD_CONFIG', `cellCount must be an integer >= 1, got ${cellCount}`);
  }
  if (!Number.isInteger(blockSize) || blockSize < 1) {
    throw new ConcordError('BAD_CONFIG', `blockSize must be an integer >= 1, got ${blockSize}`);
  }
  const counts = new Array<number>(cellCount).fill(0);
  for (const i of assigned) {
    if (!Number.isInteger(i) || i < 0 || i >= cellCount) {
      throw new ConcordError('BAD_CONFIG', `assigned cell ${i} is not in 0..${cellCount - 1}`);
    }
    counts[i]++;
  }
  const last = assigned.at(-1);
  if (last !== undefined && counts[last] % blockSize !== 0) return last;
  let best = 0;
  for (let i = 1; i < cellCount; i++) if (counts[i] < counts[best]) best = i;
  return best;
}

/**
 * The cells of `n` participants arriving one after another, each by {@link nextCell}.
 * @returns `n` cell indices in arrival order.
 */
export function assignCells(cellCount: number, n: number, blockSize = 1): number[] {
  const out: number[] = [];
  for (let k = 0; k < n; k++) out.push(nextCell(cellCount, out, blockSize));
  return out;
}
