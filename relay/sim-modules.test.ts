import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ConcordError,
  createActionMap,
  encodeInput,
  episodicFactory,
  type Input,
  initStateHash,
  Prng,
  runSyncTest,
  type Sim,
  simBundleHash,
  stateHash,
} from '../sim/index.ts';
import { checkDrawPrimitives } from '../sim/python/index.ts';
import { checkSimFile } from './check-sim.ts';
import { loadExperiment } from './experiment/index.ts';
import { readMatchLog } from './log/reader.ts';
import { type BodyRecord, formatRecord, type HeaderRecord, LOG_FORMAT } from './log/records.ts';
import { replayMatchLog } from './log/replay.ts';
import {
  bundleSimModule,
  type LoadedSimModule,
  loadExperimentSims,
  loadSimModule,
  moduleHeaderSim,
  sceneActionMap,
} from './sim-modules.ts';

const PONG = fileURLToPath(new URL('../examples/pong/pong.ts', import.meta.url));

let dir: string;
let pong: LoadedSimModule;

beforeAll(async () => {
  await initStateHash();
  dir = await mkdtemp(path.join(os.tmpdir(), 'concord-sim-modules-'));
  pong = await loadSimModule(PONG);
}, 60_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Seeded random pong actions for both players, a pure function of the frame. */
function randomInputs(seed: number, frames: number): (f: number) => Input[] {
  const rng = Prng.fromSeed(seed);
  const choices = Object.values(pong.actions);
  const all = Array.from({ length: frames }, () => [
    choices[rng.nextInt(choices.length)],
    choices[rng.nextInt(choices.length)],
  ]);
  return (f) => all[f];
}

async function moduleFile(name: string, text: string): Promise<string> {
  const file = path.join(dir, name);
  await writeFile(file, text, 'utf8');
  return file;
}

async function loadError(file: string): Promise<ConcordError> {
  try {
    await loadSimModule(file);
  } catch (err) {
    expect(err).toBeInstanceOf(ConcordError);
    return err as ConcordError;
  }
  throw new Error(`${file} loaded`);
}

describe('bundling and loading a sim module', () => {
  it('bundles pong into one self-contained module with its code hash, without the built-in sims', () => {
    const { code, codeHash, file } = pong.bundle;
    expect(file).toBe(PONG);
    expect(codeHash).toMatch(/^[0-9a-f]{16}$/);
    expect(codeHash).toBe(simBundleHash(code));
    expect(code).not.toMatch(/^\s*import\s/m);
    expect(code).toContain('sim/errors.ts'); // Concord's sim/ is bundled in (ConcordError)
    expect(code).not.toContain('sim/duel/'); // but not what pong does not use
  });

  it('bundles the same source to the same bytes and hash', async () => {
    const again = await bundleSimModule(PONG);
    expect(again.code).toBe(pong.bundle.code);
    expect(again.codeHash).toBe(pong.bundle.codeHash);
  });

  it('loads the factory, the view and the actions, and pong passes the sync test', () => {
    expect(pong.sim.id).toBe('pong');
    expect([pong.sim.minPlayers, pong.sim.maxPlayers]).toEqual([2, 2]);
    expect(Object.keys(pong.actions)).toEqual(['STAY', 'UP', 'DOWN']);
    const sim = pong.sim.create({ players: 2, seed: 3 });
    const r = runSyncTest(sim, { frames: 600, checkDistance: 8, inputs: randomInputs(1, 600) });
    expect(r.checks).toBeGreaterThan(4000);
    // Something happened: the ball moved and the paddles too.
    expect(r.finalHash).not.toBe(
      stateHash(sim.encode(pong.sim.create({ players: 2, seed: 3 }).save())),
    );
  });

  it('passes the sync test across episode boundaries (pong resets itself)', () => {
    const sim = episodicFactory(pong.sim, { episodes: 4, framesPerEpisode: 150 }).create({
      players: 2,
      seed: 8,
    });
    runSyncTest(sim, { frames: 600, checkDistance: 6, inputs: randomInputs(2, 600) });
    expect(sim.episode).toBe(3);
  });

  it('draws a state as valid draw primitives', () => {
    const sim = pong.sim.create({ players: 2, seed: 3 });
    const prev = sim.save();
    sim.step([pong.actions.UP, pong.actions.DOWN]);
    const view = pong.view!;
    expect([view.width, view.height]).toEqual([640, 480]);
    const prims = checkDrawPrimitives(
      view.draw(sim.save(), {
        prev,
        alpha: 0.5,
        localSlot: 1,
        tickRate: 60,
        episode: 0,
        episodes: 1,
      }),
      'pong view',
    );
    expect(prims.filter((p) => p.type === 'rect').length).toBeGreaterThanOrEqual(4);
  });

  it("maps a scene's keys to pong's named actions", () => {
    const map = sceneActionMap(
      { actions: { ArrowUp: 'UP', ArrowDown: 'DOWN' }, defaultAction: 'STAY' },
      pong,
      'scenes[1]',
    );
    expect(map.inputFor(['ArrowUp'])).toEqual(pong.actions.UP);
    expect(() =>
      sceneActionMap({ actions: { ArrowUp: 'JUMP' }, defaultAction: null }, pong, 'scenes[1]'),
    ).toThrow(
      `scenes[1].actions.ArrowUp: action "JUMP" is not one of the sim's actions (STAY, UP, DOWN)`,
    );
  });
});

describe('loadExperimentSims', () => {
  it("loads an experiment's modules once and checks every scene's action names against them", async () => {
    const study = path.join(dir, 'study');
    await mkdir(study, { recursive: true });
    await writeFile(
      path.join(study, 'pong.ts'),
      await readFile(PONG, 'utf8').then((t) => t.replace("'../../sim/index.ts'", "'concord/sim'")),
    );
    const scenes = (defaultAction: string) => `id: s
conditions:
  idle: [{ defaultAction: ${defaultAction} }, { defaultAction: STAY }]
scenes:
  - { kind: game, id: a, sim: ./pong.ts, actions: { ArrowUp: UP, KeyW: UPP } }
  - { kind: game, id: b, sim: ./pong.ts, actions: { ArrowUp: UP } }
  - { kind: end, id: done, completionCodes: { completed: OK, timeout: T, partnerLeft: P } }
`;
    await writeFile(path.join(study, 'bad.yaml'), scenes('SLEEP'));
    let error: unknown;
    try {
      await loadExperimentSims(loadExperiment(path.join(study, 'bad.yaml')));
    } catch (err) {
      error = err;
    }
    expect((error as Error).message.split('\n').slice(1)).toEqual([
      'scenes[0].actions.KeyW: action "UPP" is not one of the sim\'s actions (STAY, UP, DOWN)',
      'scenes[0].defaultAction: action "SLEEP" is not one of the sim\'s actions (STAY, UP, DOWN)',
      'scenes[1].defaultAction: action "SLEEP" is not one of the sim\'s actions (STAY, UP, DOWN)',
    ]);
    await writeFile(path.join(study, 'good.yaml'), scenes('DOWN').replace(', KeyW: UPP', ''));
    const sims = await loadExperimentSims(loadExperiment(path.join(study, 'good.yaml')));
    expect([...sims.keys()]).toEqual([path.join(study, 'pong.ts')]);
  });
});

describe('checkSimFile', () => {
  it('checks pong as the relay will use it', async () => {
    const r = await checkSimFile(PONG, 200);
    expect(r).toMatchObject({
      id: 'pong',
      players: 2,
      frames: 200,
      actions: ['STAY', 'UP', 'DOWN'],
    });
    expect(r.checks).toBeGreaterThan(0);
    expect(r.primitives).toBeGreaterThan(0);
  });

  it('fails a module with state that its snapshot misses, naming the frame', async () => {
    const file = await moduleFile(
      'hidden.ts',
      `let hidden = 0; // outside the snapshot: a rollback cannot restore it
class S {
  id = 'hidden'; players = 1; frame = 0; x = 0;
  step() { hidden++; this.x += hidden; this.frame++; }
  save() { return [this.frame, this.x]; }
  load(s: number[]) { [this.frame, this.x] = s; }
  encode(s: number[]) { return new Uint8Array(new Int32Array(s).buffer); }
  decode(b: Uint8Array) { return Array.from(new Int32Array(b.slice().buffer)); }
}
export const sim = { id: 'hidden', minPlayers: 1, maxPlayers: 1, create: () => new S() };
`,
    );
    await expect(checkSimFile(file, 50)).rejects.toThrow(/sync test: frame \d+ re-simulated/);
  });
});

describe('a module that is not a sim module', () => {
  it('names the file and every missing export', async () => {
    const file = await moduleFile('empty.ts', 'export const view = { width: 0, draw: 1 };\n');
    const e = await loadError(file);
    expect(e.code).toBe('BAD_CONFIG');
    expect(e.message.split('\n')).toEqual([
      `${file}: not a sim module:`,
      'export sim: missing (export const sim: SimFactory = { id, minPlayers, maxPlayers, create })',
      'view.width: must be an integer 1–4096, got 0',
      'view.height: must be an integer 1–4096, got undefined',
      'view.draw: must be a function (cur, ctx) => DrawPrimitive[]',
    ]);
  });

  it('names what is wrong with the factory', async () => {
    const file = await moduleFile(
      'bad-factory.ts',
      "export const sim = { id: 'Bad Id', minPlayers: 3, maxPlayers: 2, create: 5 };\n",
    );
    const e = await loadError(file);
    expect(e.message.split('\n').slice(1)).toEqual([
      'sim.id: must be an id [a-z0-9][a-z0-9_-]{0,63}, got "Bad Id"',
      'sim.maxPlayers: must be an integer minPlayers–16, got 2',
      'sim.create: must be a function (config: {players, seed}) => Sim',
    ]);
  });

  it('refuses a module that imports a Node built-in, naming the line', async () => {
    const file = await moduleFile(
      'node.ts',
      "import { readFileSync } from 'node:fs';\nexport const sim = readFileSync;\n",
    );
    const e = await loadError(file);
    expect(e.message).toContain(`${file}: the sim module does not build:`);
    expect(e.message).toMatch(/node\.ts:1:\d+: Could not resolve "node:fs"/);
    expect(e.message).toContain('may not import Node built-ins');
  });

  it('refuses a syntax error and a module that throws while loading', async () => {
    const broken = await moduleFile('broken.ts', 'export const sim = {\n');
    expect((await loadError(broken)).message).toMatch(/broken\.ts:2:\d+: /);
    const throws = await moduleFile('throws.ts', "throw new Error('no luck');\nexport {};\n");
    expect((await loadError(throws)).message).toBe(
      `${throws}: the sim module threw while loading: no luck`,
    );
  });

  it('resolves concord/sim from any folder', async () => {
    const file = await moduleFile(
      'named.ts',
      "import { ConcordError } from 'concord/sim';\nexport const sim = { id: 'named', minPlayers: 1, maxPlayers: 1, create() { throw new ConcordError('BAD_CONFIG', 'none'); } };\n",
    );
    const m = await loadSimModule(file);
    expect(() => m.sim.create({ players: 1, seed: 0 })).toThrow('none');
  });
});

describe('replaying a match of a sim module from its log alone', () => {
  /**
   * A pong match as a relay logs it: 2 episodes of 120 frames, the bundle, actions and episodes
   * in the header, slot 1 leaving after frame 150 (then playing its defaultAction, DOWN here,
   * not pong's own STAY), hash reports every 20 frames, done records at the end.
   */
  async function writePongLog(
    bundleCode: string,
    codeHash: string,
    matchId: string,
  ): Promise<{ file: string; hashes: string[] }> {
    const episodes = { episodes: 2, framesPerEpisode: 120 };
    const frames = 240;
    const delay = 2;
    const actions = createActionMap(
      { actions: { ArrowUp: 'UP', ArrowDown: 'DOWN' }, defaultAction: 'DOWN' },
      pong.actions,
    );
    const header: HeaderRecord = {
      type: 'header',
      format: LOG_FORMAT,
      matchId,
      scene: {
        name: 'pong',
        sim: './pong.ts',
        players: 2,
        tickRate: 60,
        mode: 'rollback',
        inputDelay: delay,
        maxPredictionWindow: 8,
        saveStrategy: 'ring',
        hashInterval: 20,
        frames,
      },
      sim: moduleHeaderSim('./pong.ts', { file: PONG, code: bundleCode, codeHash }),
      seed: 1234,
      players: [
        { slot: 0, participantId: 'P0' },
        { slot: 1, participantId: 'P1' },
      ],
      startTime: '2026-12-06T10:00:00.000Z',
      actions: actions.toRecord(),
      episodes,
    };
    const inputs = randomInputs(5, frames + delay);
    const leftAfter = 150;
    const sim: Sim = episodicFactory(pong.sim, episodes).create({ players: 2, seed: 1234 });
    const at = (s: number, f: number): Input =>
      f < delay || (s === 1 && f > leftAfter) ? actions.defaultInput : inputs(f)[s];
    const hashes = [stateHash(sim.encode(sim.save()))];
    for (let f = 0; f < frames; f++) {
      sim.step([at(0, f), at(1, f)]);
      hashes.push(stateHash(sim.encode(sim.save())));
    }
    const records: BodyRecord[] = [];
    const hex = (i: Input) => Buffer.from(encodeInput(i)).toString('hex');
    for (let f = delay; f < frames + delay; f++) {
      records.push({ type: 'input', f, s: 0, in: hex(inputs(f)[0]), ms: f * 16 });
      if (f <= leftAfter)
        records.push({ type: 'input', f, s: 1, in: hex(inputs(f)[1]), ms: f * 16 });
      if (f === leftAfter + 1)
        records.push({ type: 'left', s: 1, lastFrame: leftAfter, ms: f * 16 });
      if (f % 20 === 0 && f <= frames) {
        records.push({ type: 'hash', f, s: 0, h: hashes[f], ms: f * 16 + 1 });
      }
    }
    records.push({ type: 'done', s: 0, f: frames, h: hashes[frames], ms: 5000 });
    const file = path.join(dir, `${matchId}.jsonl`);
    const lines = [header, ...records, { type: 'end', reason: 'completed', ms: 5001 }];
    await writeFile(file, lines.map((r) => formatRecord(r as HeaderRecord)).join(''), 'utf8');
    return { file, hashes };
  }

  it('replays every recorded hash, after the source folder is gone', async () => {
    // Bundle from a copy of the source, then delete the copy: the log must be enough.
    const studyDir = await mkdtemp(path.join(os.tmpdir(), 'concord-pong-study-'));
    const copy = path.join(studyDir, 'pong.ts');
    // The copy imports Concord's sim/ by name, as a module outside this checkout does.
    const source = await readFile(PONG, 'utf8');
    await writeFile(copy, source.replace("'../../sim/index.ts'", "'concord/sim'"), 'utf8');
    const bundle = await bundleSimModule(copy);
    await rm(studyDir, { recursive: true, force: true });

    const { file, hashes } = await writePongLog(bundle.code, bundle.codeHash, 'pong-log');
    const r = await replayMatchLog(file);
    expect(r.ok).toBe(true);
    expect(r.mismatches).toEqual([]);
    expect(r.codeHashMatches).toBe(true);
    expect(r.codeHash).toBe(bundle.codeHash);
    expect(r.finalFrame).toBe(240);
    expect(r.finalHash).toBe(hashes[240]);
    expect(r.checks).toBe(13); // 12 hash reports (20..240) and the done record
    expect(r.passed).toBe(13);
    expect(r.episodes).toEqual({ episodes: 2, framesPerEpisode: 120 });
    expect(r.actions?.actionOf(pong.actions.UP)).toBe('UP');
    expect(r.left).toEqual([{ slot: 1, lastFrame: 150 }]);
  });

  it('refuses a log whose bundle was changed', async () => {
    const { file } = await writePongLog(pong.bundle.code, pong.bundle.codeHash, 'pong-edit');
    const text = await readFile(file, 'utf8');
    await writeFile(file, text.replace('SERVE_PAUSE = 45', 'SERVE_PAUSE = 46'), 'utf8');
    await expect(readMatchLog(file)).rejects.toThrow(
      /"sim.bundle" hashes to [0-9a-f]{16}, not the recorded codeHash/,
    );
  });
});
