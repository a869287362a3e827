import { readFileSync } from 'node:fs';
import { loadPyodide, type PyodideInterface } from 'pyodide';
import { beforeAll, describe, expect, it } from 'vitest';
import { canonicalEncode } from '../canonical.ts';
import { ConcordError } from '../errors.ts';
import { initStateHash, stateHash } from '../hash.ts';
import type { Input } from '../input.ts';
import { Prng } from '../prng.ts';
import { runSyncTest } from '../sync-test.ts';
import {
  createPythonSim,
  discreteActionMapping,
  loadConcordPyodide,
  type PythonSim,
  type PythonSimOptions,
  parsePythonSimSpec,
  pythonSimFactory,
  pythonSourceHash,
  sharedPyodide,
} from './index.ts';

// Pyodide takes 2–4 s to load: one shared interpreter for most tests, a second fixed-seed one for
// the cross-instance check, and one loaded without the fixed hash seed as the control.
let shared: PyodideInterface;

const KITCHEN = readFileSync(new URL('../../examples/kitchen.py', import.meta.url), 'utf8');

beforeAll(async () => {
  await initStateHash();
  shared = await sharedPyodide();
});

/** Button field that the default mapping turns into `action`. */
const press = (action: number): Input => ({
  buttons: action === 0 ? 0 : 1 << (action - 1),
  x: 0,
  y: 0,
});

/** Seeded random inputs, a pure function of the frame as the sync test requires. */
function randomInputs(players: number, frames: number, seed: number): (f: number) => Input[] {
  const rng = Prng.fromSeed(seed);
  const all: Input[][] = [];
  for (let f = 0; f < frames; f++) {
    all.push(Array.from({ length: players }, () => press(rng.nextInt(6))));
  }
  return (f) => all[f % frames];
}

function sim(source: string, extra: Partial<PythonSimOptions> = {}): PythonSim {
  return createPythonSim(extra.pyodide ?? shared, { source, players: 2, seed: 7, ...extra });
}

function hashes(s: PythonSim, inputs: (f: number) => Input[], frames: number): string[] {
  const out: string[] = [];
  for (let f = 0; f < frames; f++) {
    s.step(inputs(f));
    out.push(stateHash(s.encode(s.save())));
  }
  return out;
}

function expectConcordError(fn: () => unknown, code: string, pattern: RegExp): ConcordError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConcordError);
    expect((err as ConcordError).code).toBe(code);
    expect((err as Error).message).toMatch(pattern);
    return err as ConcordError;
  }
  throw new Error('expected a ConcordError');
}

const COUNTER = `
class Counter:
    def reset(self, seed=None):
        self.n = 0
    def step(self, actions):
        self.n += sum(actions.values())
        return {}, {}, {}, {}, {}
    def get_state(self):
        return {"n": self.n}
    def set_state(self, state):
        self.n = state["n"]
`;

describe('the kitchen example', () => {
  it('passes the sync test at check distances 4 and 8', () => {
    const inputs = randomInputs(2, 250, 11);
    const k4 = sim(KITCHEN, { strictStates: true });
    const r4 = runSyncTest(k4, { frames: 250, checkDistance: 4, inputs });
    const k8 = sim(KITCHEN);
    const r8 = runSyncTest(k8, { frames: 250, checkDistance: 8, inputs });
    expect(r4.checks).toBeGreaterThan(900);
    expect(r8.finalHash).toBe(r4.finalHash);
    k4.dispose();
    k8.dispose();
  });

  it('takes its agent ids from possible_agents and reports rewards per agent', () => {
    const k = sim(KITCHEN);
    expect(k.id).toBe('python:Kitchen');
    expect(k.agentIds).toEqual(['chef_0', 'chef_1']);
    expect(k.lastStep()).toBeNull();
    // Chef 0 fetches three onions into a pot, waits for the soup, plates it and serves it.
    const [N, U, D, L, R, I] = [0, 1, 2, 3, 4, 5];
    const plan = [
      ...[L, I, R, U, I, L, L, I, R, U, I, L, L, I, R, U, I],
      ...Array(20).fill(N),
      ...[D, D, L, I, U, U, R, U, I, R, R, R, D, R, I],
    ];
    let reward = 0;
    for (const a of plan) {
      k.step([press(a), press(N)]);
      const last = k.lastStep() as { rewards: Record<string, number> };
      expect(Object.keys(last.rewards)).toEqual(['chef_0', 'chef_1']);
      reward += last.rewards.chef_0;
    }
    expect(reward).toBe(19); // the order's value, drawn from the kitchen's seeded generator
    expect((k.save().env as { score: number }).score).toBe(19);
    k.dispose();
  });

  it('renders draw primitives', () => {
    const k = sim(KITCHEN);
    const prims = k.render()!;
    expect(prims.length).toBeGreaterThan(35);
    expect(new Set(prims.map((p) => p.type))).toEqual(new Set(['rect', 'circle', 'text', 'line']));
    expect(sim(COUNTER).render()).toBeNull();
    k.dispose();
  });

  it('save and load round-trip, and re-simulation gives the same hashes', () => {
    const k = sim(KITCHEN);
    const inputs = randomInputs(2, 120, 3);
    hashes(k, inputs, 60);
    const snap = k.save();
    const h = stateHash(k.encode(snap));
    const ahead = hashes(k, (f) => inputs(f + 60), 60);
    k.load(snap);
    expect(k.frame).toBe(60);
    expect(stateHash(k.encode(k.save()))).toBe(h);
    expect(hashes(k, (f) => inputs(f + 60), 60)).toEqual(ahead);
    k.dispose();
  });

  it('stepMany equals stepping frame by frame', () => {
    const inputs = randomInputs(2, 40, 5);
    const a = sim(KITCHEN);
    const b = sim(KITCHEN);
    a.stepMany(Array.from({ length: 40 }, (_, f) => inputs(f)));
    const last = hashes(b, inputs, 40).at(-1);
    expect(a.frame).toBe(40);
    expect(stateHash(a.encode(a.save()))).toBe(last);
    a.dispose();
    b.dispose();
  });

  it('encodes and decodes snapshots, and refuses bytes that are not one', () => {
    const k = sim(KITCHEN);
    hashes(k, randomInputs(2, 30, 9), 30);
    const snap = k.save();
    const bytes = k.encode(snap);
    const back = k.decode(bytes);
    expect(back).toEqual(snap);
    expect([...k.encode(back)]).toEqual([...bytes]);
    // A decoded state loads into a fresh sim and continues identically.
    const other = sim(KITCHEN, { seed: 99 });
    other.load(back);
    const inputs = randomInputs(2, 20, 4);
    expect(hashes(other, inputs, 20)).toEqual(hashes(k, inputs, 20));
    expectConcordError(() => k.decode(new Uint8Array([0xc1])), 'BAD_STATE', /state bytes/);
    expectConcordError(
      () => k.decode(canonicalEncode({ frame: 1, env: {}, random: [3, [1], 'x'] })),
      'BAD_STATE',
      /random/,
    );
    expectConcordError(
      () => k.decode(canonicalEncode({ frame: 1, env: {} })),
      'BAD_STATE',
      /fields env,frame/,
    );
    k.dispose();
    other.dispose();
  });
});

describe('loading', () => {
  it('refuses an environment without set_state, naming it', () => {
    const source = COUNTER.replace(/ {4}def set_state[\s\S]*$/, '');
    expectConcordError(
      () => sim(source),
      'BAD_CONFIG',
      /^Python environment Counter has no set_state method$/,
    );
  });

  it('names the class to use when the source has several', () => {
    const two = `${COUNTER}\nclass Other(Counter):\n    pass\n`;
    expectConcordError(() => sim(two), 'BAD_CONFIG', /Counter, Other.*className/);
    expect(sim(two, { className: 'Other' }).className).toBe('Other');
  });

  it('uses player slots as agent ids without possible_agents, and checks the count', () => {
    const s = sim(COUNTER, { players: 3 });
    expect(s.agentIds).toEqual([0, 1, 2]);
    s.step([press(1), press(2), press(5)]);
    expect((s.save().env as { n: number }).n).toBe(1 + 2 + 5);
    expectConcordError(
      () => sim(KITCHEN, { players: 3 }),
      'BAD_CONFIG',
      /Kitchen has 2 agents \(possible_agents\) but the match has 3 players/,
    );
  });

  it('refuses a state that JSON would change or set_state does not restore', () => {
    const keyed = COUNTER.replace('return {"n": self.n}', 'return {1: self.n}').replace(
      'state["n"]',
      'state[1]',
    );
    expectConcordError(() => sim(keyed), 'BAD_CONFIG', /key 1 at \$ is not a string/);
    const offByOne = COUNTER.replace('self.n = state["n"]', 'self.n = state["n"] + 1');
    expectConcordError(() => sim(offByOne), 'BAD_CONFIG', /differs at \$\.n/);
  });

  it('passes actions through the scene mapping, keyed by agent id', () => {
    const echo = COUNTER.replace(
      'self.n += sum(actions.values())',
      'self.n = sorted([str(k), v] for k, v in actions.items())',
    );
    const s = sim(echo, { actionMapping: (input, slot) => ({ slot, x: input.x }) });
    s.step([
      { buttons: 0, x: -5, y: 0 },
      { buttons: 0, x: 7, y: 0 },
    ]);
    expect(s.save().env).toEqual({
      n: [
        ['0', { slot: 0, x: -5 }],
        ['1', { slot: 1, x: 7 }],
      ],
    });
    expect(discreteActionMapping({ buttons: 0b10100, x: 0, y: 0 }, 0)).toBe(3);
  });

  it('makes a synchronous factory', async () => {
    const factory = await pythonSimFactory({
      id: 'kitchen',
      source: KITCHEN,
      minPlayers: 2,
      maxPlayers: 2,
    });
    const k = factory.create({ players: 2, seed: 1 });
    expect(k.id).toBe('kitchen');
    expectConcordError(() => factory.create({ players: 3, seed: 1 }), 'BAD_CONFIG', /2\.\.2/);
    k.dispose();
  });
});

describe('determinism of Python environments', () => {
  it('catches an environment that reads the clock', () => {
    const clock = `import time\n${COUNTER}`.replace(
      'self.n += sum(actions.values())',
      'self.n = time.perf_counter()',
    );
    const err = expectConcordError(
      () =>
        runSyncTest(sim(clock), { frames: 20, checkDistance: 4, inputs: randomInputs(2, 20, 1) }),
      'SYNC_TEST_MISMATCH',
      /re-simulated/,
    );
    expect(err.frame).toBeGreaterThan(0);
  });

  const GLOBAL_RANDOM = `
import random
class Dice:
    def reset(self, seed=None):
        self.rolls = []
    def step(self, actions):
        self.rolls = (self.rolls + [random.randint(1, 6) + sum(actions.values())])[-8:]
        return {}, {}, {}, {}, {}
    def get_state(self):
        return {"rolls": list(self.rolls)}
    def set_state(self, state):
        self.rolls = list(state["rolls"])
`;

  it('rolls back an environment that uses the global random module', () => {
    const r = runSyncTest(sim(GLOBAL_RANDOM), {
      frames: 120,
      checkDistance: 8,
      inputs: randomInputs(2, 120, 2),
    });
    expect(r.checks).toBeGreaterThan(800);
  });

  it('catches a random generator the environment keeps out of get_state', () => {
    const hidden = GLOBAL_RANDOM.replace(
      'self.rolls = []',
      'self.rolls = []; self.rng = random.Random(seed)',
    ).replace('random.randint(1, 6)', 'self.rng.randint(1, 6)');
    expectConcordError(
      () =>
        runSyncTest(sim(hidden), { frames: 30, checkDistance: 4, inputs: randomInputs(2, 30, 2) }),
      'SYNC_TEST_MISMATCH',
      /frame/,
    );
  });

  it('keeps the global random state of sims in one interpreter apart', () => {
    const inputs = randomInputs(2, 50, 8);
    const alone = hashes(sim(GLOBAL_RANDOM), inputs, 50);
    const a = sim(GLOBAL_RANDOM);
    const b = sim(GLOBAL_RANDOM);
    const ha: string[] = [];
    const hb: string[] = [];
    for (let f = 0; f < 50; f++) {
      a.step(inputs(f));
      b.step(inputs(f));
      ha.push(stateHash(a.encode(a.save())));
      hb.push(stateHash(b.encode(b.save())));
    }
    expect(ha).toEqual(alone);
    expect(hb).toEqual(alone);
  });

  it('iterates a set of strings in the same order in two separately loaded interpreters', async () => {
    const other = await loadConcordPyodide();
    const probe = `str([hash("abc"), list({"apple", "banana", "cherry", "date", "elder", "fig", "grape"})])`;
    expect(other.runPython(probe)).toBe(shared.runPython(probe));

    const fruit = `
class Fruit:
    def reset(self, seed=None):
        self.basket = []
    def step(self, actions):
        kinds = set(["apple", "banana", "cherry", "date", "elder", "fig", "grape"][: 3 + sum(actions.values()) % 5])
        self.basket = list(kinds) + self.basket[:10]
        return {}, {}, {}, {}, {}
    def get_state(self):
        return {"basket": self.basket}
    def set_state(self, state):
        self.basket = list(state["basket"])
`;
    const inputs = randomInputs(2, 40, 6);
    expect(hashes(sim(fruit, { pyodide: other }), inputs, 40)).toEqual(
      hashes(sim(fruit), inputs, 40),
    );

    // The control: an interpreter with a random hash seed orders the set differently, and the
    // adapter refuses to run in it.
    const unseeded = await loadPyodide();
    expect(unseeded.runPython(probe)).not.toBe(shared.runPython(probe));
    expectConcordError(() => sim(fruit, { pyodide: unseeded }), 'BAD_CONFIG', /PYTHONHASHSEED=0/);
  });
});

describe('sim specs and source hashes', () => {
  it('parses python:FILE[:CLASS] and refuses malformed specs, naming them', () => {
    expect(parsePythonSimSpec('python:examples/kitchen.py')).toEqual({
      file: 'examples/kitchen.py',
      className: null,
    });
    expect(parsePythonSimSpec('python:/tmp/envs/grid.py:GridWorld')).toEqual({
      file: '/tmp/envs/grid.py',
      className: 'GridWorld',
    });
    const bad: [string, RegExp][] = [
      ['duel', /does not start with "python:"/],
      ['python:', /no file/],
      ['python::Kitchen', /no file/],
      ['python:kitchen', /does not end in \.py/],
      ['python:kitchen.py:', /empty class name/],
      ['python:kitchen.py:9Lives', /not a Python identifier/],
      ['python:a.py:B:C', /more than one ":"/],
    ];
    for (const [spec, pattern] of bad) {
      const err = expectConcordError(() => parsePythonSimSpec(spec), 'BAD_CONFIG', pattern);
      expect(err.message).toContain(JSON.stringify(spec));
    }
  });

  it('hashes the UTF-8 bytes of the source as xxhash64, 16 hex digits', () => {
    const h = pythonSourceHash(KITCHEN);
    expect(h).toMatch(/^[0-9a-f]{16}$/);
    expect(h).toBe(stateHash(new TextEncoder().encode(KITCHEN)));
    expect(pythonSourceHash(`${KITCHEN}\n`)).not.toBe(h);
    // Not the UTF-16 code units: "é" is two bytes in UTF-8.
    expect(pythonSourceHash('é')).toBe(stateHash(new Uint8Array([0xc3, 0xa9])));
  });
});

describe('action spaces', () => {
  it("reports action_space(agent).n per slot (PettingZoo), an attribute's n (Gymnasium), else null", () => {
    const k = sim(KITCHEN);
    expect(k.actionCounts).toEqual([6, 6]);
    k.dispose();
    expect(sim(COUNTER).actionCounts).toEqual([null, null]);
    const gym = COUNTER.replace(
      'class Counter:',
      'class Space:\n    n = 4\n\nclass Counter:\n    action_space = Space()',
    );
    expect(sim(gym).actionCounts).toEqual([4, 4]);
    const perAgent = COUNTER.replace(
      'class Counter:',
      'class Space:\n    def __init__(self, n):\n        self.n = n\n\nclass Counter:\n' +
        '    def action_space(self, agent):\n        return Space(3 + agent)',
    );
    expect(sim(perAgent).actionCounts).toEqual([3, 4]);
    const box = COUNTER.replace(
      'class Counter:',
      'class Box:\n    shape = (2,)\n\nclass Counter:\n    action_space = Box()',
    );
    expect(sim(box).actionCounts).toEqual([null, null]);
  });

  it('refuses an action_space that raises, naming it', () => {
    const raising = COUNTER.replace(
      'class Counter:',
      'class Counter:\n    def action_space(self, agent):\n        raise KeyError(agent)',
    );
    expectConcordError(() => sim(raising), 'BAD_CONFIG', /action_space\(0\) raised KeyError/);
  });
});

describe('errors of the environment', () => {
  const raisingIn = (method: string, line: string) =>
    COUNTER.replace(`    def ${method}(self`, `    def ${method}(self`).replace(
      new RegExp(`(    def ${method}\\(self[^\\n]*\\n)`),
      `$1        ${line}\n`,
    );

  it('reports an exception raised in step as ENV_ERROR with the traceback and the frame', () => {
    const s = sim(raisingIn('step', 'if self.n > 2: 1 / 0'));
    s.step([press(2), press(1)]);
    const err = expectConcordError(
      () => s.step([press(0), press(0)]),
      'ENV_ERROR',
      /Counter\.step raised:[\s\S]*Traceback[\s\S]*ZeroDivisionError/,
    );
    expect(err.frame).toBe(1);
    // The same through the batched re-simulation call.
    const t = sim(raisingIn('step', 'if self.n > 2: 1 / 0'));
    expectConcordError(
      () =>
        t.stepMany([
          [press(2), press(1)],
          [press(0), press(0)],
        ]),
      'ENV_ERROR',
      /ZeroDivisionError/,
    );
  });

  it('reports exceptions in get_state, set_state and render as ENV_ERROR', () => {
    const saving = sim(raisingIn('get_state', 'if self.n: raise RuntimeError("no save")'));
    const snap = saving.save();
    saving.step([press(1), press(0)]);
    expectConcordError(() => saving.save(), 'ENV_ERROR', /get_state raised:[\s\S]*no save/);
    const loading = sim(raisingIn('set_state', 'if state["n"] == 5: raise ValueError("five")'));
    expectConcordError(
      () => loading.load({ ...snap, env: { n: 5 } }),
      'ENV_ERROR',
      /set_state raised:[\s\S]*ValueError: five/,
    );
    const drawing = sim(`${COUNTER}    def render(self):\n        return [][0]\n`);
    expectConcordError(() => drawing.render(), 'ENV_ERROR', /render raised:[\s\S]*IndexError/);
  });

  it('keeps BAD_STATE for a state JSON cannot carry, and BAD_CONFIG for one raising at load', () => {
    const s = sim(COUNTER.replace('return {"n": self.n}', 'return {"n": self.n or 0.5}'), {
      strictStates: true,
    });
    const nan = COUNTER.replace(
      'return {"n": self.n}',
      'return {"n": self.n if self.n < 3 else float("nan")}',
    );
    const t = sim(nan);
    t.step([press(2), press(1)]);
    expectConcordError(() => t.save(), 'BAD_STATE', /not JSON-compatible|non-finite/);
    expect(s.save().env).toEqual({ n: 0.5 });
    expectConcordError(
      () => sim(raisingIn('reset', 'raise OSError("no reset")')),
      'BAD_CONFIG',
      /loading the Python environment raised:[\s\S]*no reset/,
    );
  });
});
