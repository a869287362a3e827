/**
 * docs/tutorial-study.md works when pasted: its shell blocks run as written (every one but the
 * `concord serve` block, which serves until Ctrl-C) in a fresh folder inside this checkout, as
 * the tutorial says; the check prints the line the tutorial shows, the pilot takes every
 * headless participant to the completion code, and the database query lists them.
 */
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = path.join(import.meta.dirname, '..');
const DOC = path.join(ROOT, 'docs', 'tutorial-study.md');
// Inside the checkout, where the tutorial's commands run (npx finds `concord` from there).
const DIR = path.join(ROOT, `.tutorial-${randomUUID()}`);

afterAll(async () => {
  await rm(DIR, { recursive: true, force: true });
});

describe('docs/tutorial-study.md', () => {
  it('builds, checks and pilots its study with the commands as written', async () => {
    const doc = await readFile(DOC, 'utf8');
    const blocks = [...doc.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]);
    const run = blocks.filter((b) => !b.includes('concord serve'));
    expect(run.length).toBe(blocks.length - 1);
    expect(run.join('\n')).toContain('npx concord pilot');
    await mkdir(DIR);
    const script = `set -e\n${run.join('\n')}`;
    const r = spawnSync('bash', ['-c', script], { cwd: DIR, encoding: 'utf8', timeout: 240_000 });
    const out = `${r.stdout}\n${r.stderr}`;
    expect(r.status, out).toBe(0);
    // The check's first line, as the tutorial shows it.
    const shown = /The first line it prints:\n\n```text\n(.*)\n```/.exec(doc)?.[1];
    expect(shown).toBeDefined();
    expect(r.stderr).toContain(shown);
    expect(r.stdout).toMatch(
      /2 participants in .*every participant reached the end scene with a code/,
    );
    // The database query: both pilot participants at the end with the completed code.
    expect(r.stdout.match(/'done'\s+│ 'completed' │ 'FIRST0K'/g)?.length).toBe(2);
  }, 300_000);
});
