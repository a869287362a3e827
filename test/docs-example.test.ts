import { randomUUID } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { ConcordError, canonicalEncode, type Sim, type SimFactory } from '../sim/index.ts';

const ROOT = path.join(import.meta.dirname, '..');
const DOC = path.join(ROOT, 'docs', 'sim-contract.md');
// At the repository root, where the doc says to save it, so that its imports resolve as written.
const FILE = path.join(ROOT, `.docs-example-${randomUUID()}.ts`);

afterAll(async () => {
  await rm(FILE, { force: true });
});

/** The TypeScript blocks of the doc's worked example, in order, exactly as written. */
async function workedExample(): Promise<string> {
  const doc = await readFile(DOC, 'utf8');
  const start = doc.indexOf('## A worked example');
  const end = doc.indexOf('\n## ', start + 1);
  expect(start).toBeGreaterThan(0);
  const section = doc.slice(start, end === -1 ? undefined : end);
  const blocks = [...section.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);
  expect(blocks.length).toBe(2);
  return blocks.join('\n');
}

describe('docs/sim-contract.md worked example', () => {
  it('runs as written: the sim passes the sync test and its factory checks the player count', async () => {
    await writeFile(FILE, await workedExample());
    const printed: unknown[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((...args) => printed.push(...args));
    let mod: {
      tug: SimFactory;
      result: { checks: number; frames: number };
    };
    try {
      mod = await import(FILE);
    } finally {
      log.mockRestore();
    }
    expect(printed).toEqual([expect.stringContaining('tug passed the sync test')]);
    expect(mod.result.checks).toBe(8 * (600 - 7));
    expect(mod.result.frames).toBe(600);
    expect(mod.tug.minPlayers).toBeLessThanOrEqual(2);
    expect(() => mod.tug.create({ players: mod.tug.maxPlayers + 1, seed: 1 })).toThrow(
      expect.objectContaining({ code: 'BAD_CONFIG' }),
    );
    const t: Sim = mod.tug.create({ players: 2, seed: 1 });
    expect(t.decode(t.encode(t.save()))).toEqual(t.save());
    expect(() => t.decode(canonicalEncode({ frame: 'x' }))).toThrow(ConcordError);
  });
});
