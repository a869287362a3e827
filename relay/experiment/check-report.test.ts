import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { filledExperimentFile, formatExperiment } from './check-report.ts';
import { loadExperiment } from './load.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const STUDY = 'examples/coop-study/study.yaml';
const tmp = mkdtempSync(path.join(tmpdir(), 'concord-check-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Runs `concord check ARGS` as a user would, from the repository's root. */
function concordCheck(
  ...args: string[]
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.join(ROOT, 'bin/concord.js'), 'check', ...args],
      { cwd: ROOT, timeout: 60_000 },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : null;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

describe('concord check', () => {
  it('prints the example study with every default filled in, as YAML, and says so', async () => {
    const { code, stdout, stderr } = await concordCheck(STUDY);
    expect(code, stderr).toBe(0);
    expect(stderr).toContain(
      'experiment "coop-study" is valid: 5 scenes (info, game, game, survey, end), 2 condition cells; every default filled in, as YAML',
    );
    const printed = parse(stdout);
    expect(printed).toEqual(filledExperimentFile(loadExperiment(path.join(ROOT, STUDY))));
    // Defaults the file leaves out are there.
    expect(printed.scenes[1]).toMatchObject({ bot: 'random', revealBot: false, actions: {} });
    expect(printed.scenes[2].sync).toMatchObject({ mode: 'rollback', maxPredictionWindow: 8 });
    expect(printed.scenes[3].questions[2]).toMatchObject({ required: false, maxLength: 5000 });
    expect(printed.scenes[1]).not.toHaveProperty('simPath');
  });

  it('prints JSON with --json', async () => {
    const { code, stdout, stderr } = await concordCheck(STUDY, '--json');
    expect(code, stderr).toBe(0);
    expect(stderr).toContain('as JSON');
    expect(JSON.parse(stdout).scenes[0]).toEqual({
      kind: 'info',
      id: 'consent',
      file: 'consent.md',
      consent: true,
    });
  });

  it('exits 2 on a broken file and prints every problem with its field path', async () => {
    const dir = path.join(tmp, 'broken');
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, 'study.yaml');
    writeFileSync(
      file,
      [
        'id: Broken Study',
        'scenes:',
        '  - { kind: info, id: consent, file: missing.md, consent: true }',
        '  - { kind: game, id: arena, sync: { inputDelay: -3 }, tickrate: 30 }',
        '  - { kind: survey, id: post, questions: [{ id: q, type: likert, text: Q, scale: 20 }] }',
        '  - { kind: end, id: done, completionCodes: { completed: OK } }',
        '',
      ].join('\n'),
    );
    const { code, stdout, stderr } = await concordCheck(file);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    const lines = stderr.trim().split('\n');
    expect(lines[0]).toMatch(/study\.yaml: 5 problems$/);
    for (const problem of [
      'id: must be an id [a-z0-9][a-z0-9_-]{0,63}, got "Broken Study"',
      'scenes[0].file: no such file',
      'scenes[1].sync.inputDelay: must be an integer 0–30, got -3',
      'scenes[1].tickrate: unknown key',
      'scenes[2].questions[0].scale: must be an integer 2–11, got 20',
    ]) {
      expect(
        lines.some((l) => l.startsWith(problem)),
        `${problem}\n${stderr}`,
      ).toBe(true);
    }
  });

  it('prints a file that loads back to the same experiment (YAML and JSON)', () => {
    const dir = path.join(tmp, 'roundtrip');
    mkdirSync(dir, { recursive: true });
    copyFileSync(path.join(ROOT, 'examples/coop-study/consent.md'), path.join(dir, 'consent.md'));
    copyFileSync(path.join(ROOT, 'examples/kitchen.py'), path.join(tmp, 'kitchen.py'));
    writeFileSync(path.join(dir, 'study.yaml'), readStudy());
    const original = loadExperiment(path.join(dir, 'study.yaml'));
    for (const format of ['yaml', 'json'] as const) {
      const again = path.join(dir, `again.${format}`);
      writeFileSync(again, formatExperiment(original, format));
      expect(loadExperiment(again)).toEqual({ ...original, file: again });
    }
  });
});

function readStudy(): string {
  return formatExperiment(loadExperiment(path.join(ROOT, STUDY)), 'yaml');
}
