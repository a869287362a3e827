import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConcordError, initStateHash, stateHash } from '../../sim/index.ts';
import { simCodeHash } from './sim-code.ts';

beforeAll(async () => {
  await initStateHash();
});

describe('simCodeHash', () => {
  it('is 16 hex digits, stable, and covers the core and the sim folder but not tests', () => {
    const h = simCodeHash('duel');
    expect(h).toMatch(/^[0-9a-f]{16}$/);
    expect(simCodeHash('duel')).toBe(h);
    // Recompute independently from the documented recipe.
    const root = fileURLToPath(new URL('../../sim/', import.meta.url));
    const list = (dir: string, prefix: string) =>
      readdirSync(dir)
        .filter((n) => n.endsWith('.ts') && !n.endsWith('.test.ts'))
        .map((n) => ({ rel: prefix + n, abs: path.join(dir, n) }));
    const files = [...list(root, ''), ...list(path.join(root, 'duel'), 'duel/')].sort((a, b) =>
      a.rel < b.rel ? -1 : 1,
    );
    expect(files.map((f) => f.rel)).toContain('duel/step.ts');
    expect(files.map((f) => f.rel)).toContain('hash.ts');
    expect(files.some((f) => f.rel.endsWith('.test.ts'))).toBe(false);
    const bytes = Buffer.concat(
      files.flatMap(({ rel, abs }) => {
        const content = Buffer.from(readFileSync(abs, 'utf8').replace(/\r\n/g, '\n'));
        return [Buffer.from(`${rel}\0${content.length}\0`), content];
      }),
    );
    expect(stateHash(bytes)).toBe(h);
  });

  it('refuses an unknown sim', () => {
    expect(() => simCodeHash('tug')).toThrow(ConcordError);
    expect(() => simCodeHash('tug')).toThrow(expect.objectContaining({ code: 'UNKNOWN_SIM' }));
  });
});
