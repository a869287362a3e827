/**
 * docs/adding-a-typescript-sim.md works as written: its sim module passes the checks the relay
 * makes, and its experiment file loads with the module's action names.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkSimFile } from '../relay/check-sim.ts';
import { loadExperiment } from '../relay/experiment/index.ts';
import { loadExperimentSims } from '../relay/sim-modules.ts';

const DOC = path.join(import.meta.dirname, '..', 'docs', 'adding-a-typescript-sim.md');
let dir = '';

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The doc's first code block of `lang`. */
async function block(lang: string): Promise<string> {
  const doc = await readFile(DOC, 'utf8');
  const m = new RegExp(`\`\`\`${lang}\\n([\\s\\S]*?)\`\`\``).exec(doc);
  expect(m, `a ${lang} block in ${DOC}`).not.toBeNull();
  return m?.[1] ?? '';
}

describe('docs/adding-a-typescript-sim.md', () => {
  it('builds a sim module that passes the sync test, and an experiment file that names it', async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'concord-tug-'));
    await writeFile(path.join(dir, 'tug.ts'), await block('ts'));
    await writeFile(path.join(dir, 'study.yaml'), await block('yaml'));
    const report = await checkSimFile(path.join(dir, 'tug.ts'));
    expect(report).toMatchObject({
      id: 'tug',
      players: 2,
      actions: ['REST', 'PULL'],
      primitives: 3,
    });
    // The doc shows the report's check count, which follows from the code alone (the bundle's
    // size and hash also depend on where Concord's sim/ lies relative to the module).
    const doc = await readFile(DOC, 'utf8');
    expect(doc).toContain(`${report.checks} re-simulated hashes agree`);
    const experiment = loadExperiment(path.join(dir, 'study.yaml'));
    const sims = await loadExperimentSims(experiment);
    expect([...sims.values()].map((m) => m.sim.id)).toEqual(['tug']);
  });
});
