/**
 * The study's commands as a researcher runs them: `concord pilot` on a small study with five
 * participants, `concord serve EXPERIMENT` serving the study wire and its database, and a
 * malformed experiment that never starts a relay.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { StudyConnection } from '../client/index.ts';
import { type StudyFixture, writeStudy } from './support/study-fixture.ts';

const BIN = path.join(import.meta.dirname, '..', 'bin', 'concord.js');
const children: ChildProcess[] = [];
let fx: StudyFixture | null = null;

afterEach(async () => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
  await fx?.remove();
  fx = null;
});

/** Runs `concord ARGS`; resolves with its exit code and output once it exits (or `untilOut` matches). */
function concord(
  args: string[],
  untilOut?: RegExp,
): Promise<{ code: number | null; out: string; err: string }> {
  const proc = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(proc);
  let out = '';
  let err = '';
  return new Promise((resolve) => {
    const check = () => {
      if (untilOut?.test(out)) resolve({ code: null, out, err });
    };
    proc.stdout?.on('data', (d) => {
      out += d;
      check();
    });
    proc.stderr?.on('data', (d) => {
      err += d;
    });
    proc.on('exit', (code) => resolve({ code, out, err }));
  });
}

describe('the study commands', () => {
  it('concord pilot: five participants reach the end scene with a code (one of them times out alone)', async () => {
    fx = await writeStudy({ waitingRoom: { timeoutMs: 4000, onTimeout: 'end' } });
    const r = await concord([
      'pilot',
      fx.file,
      '--participants',
      '5',
      '--latency',
      '20',
      '--loss',
      '1',
    ]);
    expect(r.err).not.toMatch(/FAIL/);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(
      /5 participants in [\d.]+ s: 4 completed, 1 timeout; every participant reached the end scene with a code/,
    );
    expect(r.out.match(/ end at done /g)).toHaveLength(5);
  }, 60_000);

  it('concord serve EXPERIMENT --data DIR: serves the study wire and writes the participant database there', async () => {
    fx = await writeStudy();
    const data = path.join(fx.dir, 'served');
    const r = await concord(
      ['serve', fx.file, '--data', data, '--host', '127.0.0.1', '--port', '0', '--no-webrtc'],
      /concord study .* on (http:\/\/\S+);/,
    );
    const url = /on (http:\/\/\S+);/.exec(r.out)?.[1] ?? '';
    const tab = await StudyConnection.connect(url);
    const reply = await tab.hello('tab', { participant: 'cli' });
    tab.close();
    expect(reply.ok && reply.view.scene.id).toBe('consent');
    expect(existsSync(path.join(data, 'test-study.sqlite'))).toBe(true);
  }, 30_000);

  it('a malformed experiment never starts a relay: exit 2, each field named', async () => {
    fx = await writeStudy();
    const bad = path.join(fx.dir, 'bad.yaml');
    await writeFile(
      bad,
      'id: bad\nscenes:\n  - { kind: game, id: g, sync: { inputDelay: -3 }, tickrate: 5 }\n  - { kind: end, id: done, completionCodes: { completed: C } }\n',
    );
    const runs = await Promise.all([
      concord(['serve', bad, '--port', '0']),
      concord(['pilot', bad]),
    ]);
    for (const r of runs) {
      expect(r.code).toBe(2);
      expect(r.err).toMatch(/scenes\[0\]\.sync\.inputDelay: must be an integer 0–30, got -3/);
      expect(r.err).toMatch(/scenes\[0\]\.tickrate: unknown key/);
      expect(r.out).not.toMatch(/listening|concord study/);
    }
  }, 30_000);
});
