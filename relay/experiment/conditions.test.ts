import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  assignCells,
  assignmentBlockSize,
  checkCondition,
  conditionCells,
  conditionKey,
  nextCell,
} from './conditions.ts';

const factors = [
  { name: 'delay', levels: [{ inputDelay: 2 }, { inputDelay: 6 }] },
  { name: 'mode', levels: [{ mode: 'lockstep' as const }, { mode: 'rollback' as const }, {}] },
];

describe('conditionCells', () => {
  it('lists the cross product, the first factor slowest', () => {
    expect(conditionCells(factors)).toEqual([
      { delay: 0, mode: 0 },
      { delay: 0, mode: 1 },
      { delay: 0, mode: 2 },
      { delay: 1, mode: 0 },
      { delay: 1, mode: 1 },
      { delay: 1, mode: 2 },
    ]);
  });

  it('has one empty cell without factors', () => {
    expect(conditionCells([])).toEqual([{}]);
    expect(conditionKey([], {})).toBe('-');
  });

  it('names a cell by its levels in factor order', () => {
    expect(conditionKey(factors, { mode: 2, delay: 1 })).toBe('delay=1,mode=2');
  });
});

describe('checkCondition', () => {
  it('accepts a cell and orders its keys', () => {
    expect(Object.keys(checkCondition(factors, { mode: 1, delay: 0 }))).toEqual(['delay', 'mode']);
  });

  it('refuses what is not a cell', () => {
    expect(() => checkCondition(factors, null)).toThrow(/expected an object/);
    expect(() => checkCondition(factors, { delay: 0 })).toThrow(/mode must be a level index 0–2/);
    expect(() => checkCondition(factors, { delay: 0.5, mode: 0 })).toThrow(/delay must be/);
    expect(() => checkCondition(factors, { delay: 0, mode: 0, x: 0 })).toThrow(/unknown factor/);
  });
});

describe('nextCell', () => {
  it('is round-robin in cell order when nobody is excluded', () => {
    expect(assignCells(3, 7)).toEqual([0, 1, 2, 0, 1, 2, 0]);
    expect(assignCells(1, 3)).toEqual([0, 0, 0]);
  });

  it('refills the least-filled cell, ties by order', () => {
    expect(nextCell(3, [0, 1, 2, 0, 2])).toBe(1);
    expect(nextCell(3, [2, 2])).toBe(0);
    expect(nextCell(3, [])).toBe(0);
  });

  it('keeps every cell within one of the others at every arrival', () => {
    for (const cells of [2, 3, 5, 6]) {
      const counts = new Array<number>(cells).fill(0);
      for (const c of assignCells(cells, 50)) {
        counts[c]++;
        expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
      }
    }
  });

  it('is deterministic given the arrival sequence', () => {
    const seq = [1, 1, 0, 2, 1];
    expect(nextCell(3, seq)).toBe(nextCell(3, [...seq]));
  });

  it('refuses bad input', () => {
    expect(() => nextCell(0, [])).toThrow(/cellCount/);
    expect(() => nextCell(2, [2])).toThrow(/not in 0..1/);
  });
});

describe('nextCell in blocks of a match', () => {
  it("fills one cell's block before the next cell gets anyone", () => {
    expect(assignCells(2, 9, 2)).toEqual([0, 0, 1, 1, 0, 0, 1, 1, 0]);
    expect(assignCells(3, 10, 3)).toEqual([0, 0, 0, 1, 1, 1, 2, 2, 2, 0]);
    expect(assignCells(1, 4, 2)).toEqual([0, 0, 0, 0]);
    expect(assignCells(3, 4, 1)).toEqual(assignCells(3, 4));
  });

  it('finishes an open block, then refills the least-filled cell', () => {
    // The last arrival's cell 1 has 1 of 2: its block is open.
    expect(nextCell(2, [0, 0, 1], 2)).toBe(1);
    // Cell 0 fell behind (its block was 0 0, cell 1 had two blocks): a new block there.
    expect(nextCell(2, [0, 0, 1, 1, 1, 1], 2)).toBe(0);
    expect(nextCell(3, [], 4)).toBe(0);
  });

  it('pairs every two consecutive arrivals in one cell, and keeps cells within a block', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 6 }),
        fc.nat(60),
        (cells, block, n) => {
          const seq = assignCells(cells, n, block);
          const counts = new Array<number>(cells).fill(0);
          for (const [k, c] of seq.entries()) {
            counts[c]++;
            expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(block);
            // Arrivals k and k+1 of one block share the cell.
            if (k % block !== 0) expect(c).toBe(seq[k - 1]);
          }
        },
      ),
    );
  });

  it('refuses a bad block size', () => {
    expect(() => nextCell(2, [], 0)).toThrow(/blockSize/);
    expect(() => nextCell(2, [], 1.5)).toThrow(/blockSize/);
  });
});

describe('assignmentBlockSize', () => {
  it('is the least common multiple of the match sizes while small, else the largest', () => {
    expect(assignmentBlockSize([])).toBe(1);
    expect(assignmentBlockSize([1, 1])).toBe(1);
    expect(assignmentBlockSize([2])).toBe(2);
    expect(assignmentBlockSize([2, 2, 1])).toBe(2);
    expect(assignmentBlockSize([2, 3])).toBe(6);
    expect(assignmentBlockSize([2, 3, 4])).toBe(12);
    expect(assignmentBlockSize([3, 4, 5])).toBe(5);
    expect(assignmentBlockSize([16, 2])).toBe(16);
    expect(() => assignmentBlockSize([0])).toThrow(/match size/);
  });
});
