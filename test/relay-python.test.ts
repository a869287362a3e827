import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchPythonEnv } from '../client/index.ts';
import type { SceneSettings } from '../protocol/index.ts';
import { runBots } from '../relay/bots.ts';
import { BUILTIN_SCENES, type Relay, startRelay } from '../relay/index.ts';
import {
  formatReplay,
  LOG_FORMAT,
  LogError,
  parseMatchLog,
  readMatchLog,
  replayMatchLog,
  validateRecord,
} from '../relay/log/index.ts';
import { ConcordError, decodeInput, initStateHash, stateHash } from '../sim/index.ts';
import { pythonSourceHash } from '../sim/python/index.ts';

const KITCHEN_PATH = new URL('../examples/kitchen.py', import.meta.url);
const FRAMES = 1000;

let dir: string;
let envFile: string;
let relay: Relay;

beforeAll(async () => {
  await initStateHash();
  dir = await mkdtemp(path.join(os.tmpdir(), 'concord-python-'));
  // A copy of the example, so that the test can change and delete it after the match.
  await mkdir(path.join(dir, 'env'));
  envFile = path.join(dir, 'env', 'kitchen.py');
  await copyFile(KITCHEN_PATH, envFile);
  const faulty = `${await readFile(KITCHEN_PATH, 'utf8')}

class Faulty(Kitchen):
    def step(self, actions):
        assert self.tick < 90, "chef off the grid"
        return super().step(actions)
`;
  await writeFile(path.join(dir, 'env', 'faulty.py'), faulty);
  const kitchen60: SceneSettings = {
    ...BUILTIN_SCENES.kitchen,
    name: 'kitchen60',
    sim: `python:${envFile}`,
    tickRate: 60, // 1,000 frames in about 17 s
  };
  relay = await startRelay({
    port: 0,
    host: '127.0.0.1',
    logsDir: path.join(dir, 'logs'),
    scenes: { ...BUILTIN_SCENES, kitchen60, faulty: faultyScene() },
  });
});

/**
 * A kitchen whose `step` raises at tick 90: a copy of the example with a subclass appended
 * (the scene names the class), so the fault comes from the environment's own code.
 */
function faultyScene(): SceneSettings {
  return {
    ...BUILTIN_SCENES.kitchen,
    name: 'faulty',
    sim: `python:${path.join(dir, 'env', 'faulty.py')}:Faulty`,
    tickRate: 60,
    onPlayerLost: 'end',
    transport: 'auto',
  };
}

afterAll(async () => {
  await relay?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('Python scenes on the relay', () => {
  it('serves the environment at /sims/<scene> with its hash, and 404 for other scenes', async () => {
    const source = await readFile(KITCHEN_PATH, 'utf8');
    const res = await fetch(`${relay.url}/sims/kitchen`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(await res.json()).toEqual({
      sim: 'python:examples/kitchen.py',
      className: null,
      source,
      codeHash: pythonSourceHash(source),
      packages: [],
    });
    const env = await fetchPythonEnv(`${relay.url}/`, 'kitchen');
    expect(env.codeHash).toBe(stateHash(new TextEncoder().encode(source)));

    for (const scene of ['duel', 'no-such-scene']) {
      const r = await fetch(`${relay.url}/sims/${scene}`);
      expect(r.status).toBe(404);
      expect((await r.json()).error).toContain(scene);
    }
    await expect(fetchPythonEnv(relay.url, 'duel')).rejects.toThrow(/answered 404.*"duel"/);
  });

  it('refuses to start when a Python scene cannot read its file, naming scene and file', async () => {
    const missing = path.join(dir, 'gone', 'env.py');
    const err = await startRelay({
      port: 0,
      host: '127.0.0.1',
      logsDir: path.join(dir, 'logs-refused'),
      scenes: { lost: { ...BUILTIN_SCENES.kitchen, name: 'lost', sim: `python:${missing}` } },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConcordError);
    expect((err as ConcordError).code).toBe('BAD_CONFIG');
    expect((err as Error).message).toMatch(
      /scene "lost": cannot read the Python file .*gone\/env\.py/,
    );
  });

  it(`2 bots play ${FRAMES} frames of kitchen at 40±10 ms with 0 desyncs; the log replays from its header alone, after the file changed and after it is gone`, async () => {
    const report = await runBots({
      url: relay.url,
      scene: 'kitchen60',
      matches: 1,
      players: 2,
      frames: FRAMES,
      latencyMs: 40,
      jitterMs: 10,
      lossPct: 0,
      seed: 5,
    });
    expect(report.failures).toEqual([]);
    expect(report.desyncs).toBe(0);
    expect(report.rollbacks).toBeGreaterThan(0);
    const m = report.perMatch[0];
    expect(m.finished).toBe(true);
    expect(new Set(m.finalHashes).size).toBe(1);
    const logPath = path.join(dir, 'logs', `${m.matchId}.jsonl`);

    const log = await waitForEnd(logPath);
    expect(log.header.format).toBe(LOG_FORMAT);
    expect(log.header.sim).toEqual({
      id: `python:${envFile}`,
      codeHash: pythonSourceHash(await readFile(envFile, 'utf8')),
      source: await readFile(envFile, 'utf8'),
      className: null,
    });

    // Actions were drawn from the kitchen's 6 actions, as inputs the default mapping inverts:
    // no button, or exactly one of bits 0..4; and all six occur.
    const buttons = new Set(
      log.records.flatMap((r) =>
        r.type === 'input' ? [decodeInput(Buffer.from(r.in, 'hex')).buttons] : [],
      ),
    );
    expect([...buttons].sort((a, b) => a - b)).toEqual([0, 1, 2, 4, 8, 16]);

    const check = async (state: 'same' | 'changed' | 'missing') => {
      let atFinal: string | null = null;
      const r = await replayMatchLog(logPath, {
        onFrame: ({ frame, sim }) => {
          if (frame === FRAMES) atFinal = stateHash(sim.encode(sim.save()));
        },
      });
      expect(r.damaged).toBeNull();
      expect(r.mismatches).toEqual([]);
      expect(r.checks).toBeGreaterThan(20); // checks every 10 to 80 frames
      expect(r.passed).toBe(r.checks);
      expect(r.codeHashMatches).toBe(true);
      expect(r.sourceFile).toEqual({ path: envFile, state });
      const note = { same: null, changed: 'now holds a different source', missing: 'is gone' }[
        state
      ];
      if (note) expect(formatReplay(r)).toContain(`the file ${envFile} ${note}`);
      else expect(formatReplay(r)).not.toContain('note: replayed the Python source');
      expect(atFinal).toBe(m.finalHashes[0]);
    };
    await check('same');
    // A change that reseeds the orders: a replay that ran the file would mismatch at every check.
    const original = await readFile(envFile, 'utf8');
    const changed = original.replace(
      'self.rng = random.Random(seed)',
      'self.rng = random.Random(seed + 1)',
    );
    expect(changed).not.toBe(original);
    await writeFile(envFile, changed);
    await check('changed');
    await rm(envFile);
    await check('missing');
  });
});

describe('Python sims in match logs', () => {
  const source = 'class Env:\n    def step(self, actions):\n        pass\n';
  const header = (over: Record<string, unknown> = {}, sim: Record<string, unknown> = {}) => ({
    type: 'header',
    format: 3,
    matchId: 'py-1',
    scene: { ...BUILTIN_SCENES.kitchen, sim: 'python:env.py:Env' },
    sim: {
      id: 'python:env.py:Env',
      codeHash: pythonSourceHash(source),
      source,
      className: 'Env',
      ...sim,
    },
    seed: 1,
    players: [
      { slot: 0, participantId: null },
      { slot: 1, participantId: null },
    ],
    startTime: '2026-11-22T00:00:00.000Z',
    ...over,
  });
  const bytes = (value: unknown) => new TextEncoder().encode(`${JSON.stringify(value)}\n`);

  it('reports an environment that raises in step as a failure, and its log ends with the fault', async () => {
    const report = await runBots({
      url: relay.url,
      scene: 'faulty',
      matches: 1,
      players: 2,
      frames: 600,
      latencyMs: 0,
      jitterMs: 0,
      lossPct: 0,
      seed: 3,
    });
    const m = report.perMatch[0];
    expect(report.failures.join('\n')).toMatch(/sim threw.*chef off the grid/s);
    const logPath = path.join(dir, 'logs', `${m.matchId}.jsonl`);
    const log = await waitForEnd(logPath);
    const fault = log.records.find((r) => r.type === 'fault');
    expect(fault).toMatchObject({ type: 'fault' });
    expect(fault?.type === 'fault' && fault.reason).toMatch(/AssertionError.*chef off the grid/s);
    expect(log.records.at(-1)?.type).toBe('end');
    const replay = await replayMatchLog(logPath);
    expect(replay.faults.length).toBeGreaterThanOrEqual(1);
    expect(formatReplay(replay)).toMatch(/fault: slot \d's sim threw at frame \d+/);
  });

  it('refuses a header whose source does not hash to its codeHash, naming the header', () => {
    expect(parseMatchLog(bytes(header())).header.sim.source).toBe(source);
    const changed = header({}, { source: source.replace('pass', 'return None') });
    const err = (() => {
      try {
        parseMatchLog(bytes(changed), 'm.jsonl');
      } catch (e) {
        return e;
      }
      return null;
    })();
    expect(err).toBeInstanceOf(LogError);
    expect((err as LogError).code).toBe('DAMAGED');
    expect((err as LogError).line).toBe(1);
    expect((err as Error).message).toMatch(
      /^line 1: header record: "sim\.source" hashes to [0-9a-f]{16}, not the recorded codeHash/,
    );
  });

  it('checks the Python fields and keeps reading format 1 and 2 headers', () => {
    const refused: [unknown, RegExp][] = [
      [header({}, { source: undefined }), /"sim\.source" must be/],
      [header({}, { className: null }), /"sim\.className" must be "Env"/],
      [header({}, { packages: 'numpy' }), /"sim\.packages"/],
      [header({ format: 2 }), /needs log format 3/],
      [
        header({ scene: { ...BUILTIN_SCENES.duel } }, { id: 'duel', codeHash: '0123456789abcdef' }),
        /"sim\.source" is only for Python sims/,
      ],
    ];
    for (const [value, pattern] of refused) {
      expect(() => validateRecord(JSON.parse(JSON.stringify(value)), 1)).toThrow(pattern);
    }
    for (const format of [1, 2, 3]) {
      const duel = header(
        { format, scene: { ...BUILTIN_SCENES.duel } },
        { id: 'duel', codeHash: '0123456789abcdef' },
      );
      const { source: _s, className: _c, ...sim } = duel.sim;
      expect(validateRecord({ ...duel, sim }, 1).type).toBe('header');
    }
  });
});

/** Reads the log until the relay has written its end record (it closes logs off the forward path). */
async function waitForEnd(logPath: string) {
  const deadline = Date.now() + 10_000; // clock-ok: test deadline
  for (;;) {
    const log = await readMatchLog(logPath).catch(() => null);
    if (log?.records.at(-1)?.type === 'end') return log;
    if (Date.now() > deadline) throw new Error(`${logPath} has no end record after 10 s`); // clock-ok
    await new Promise((r) => setTimeout(r, 50));
  }
}
