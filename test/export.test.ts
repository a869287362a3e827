import { spawn } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SceneSettings } from '../protocol/index.ts';
import { runBots } from '../relay/bots.ts';
import { loadExperiment, ParticipantDatabase } from '../relay/experiment/index.ts';
import { ExportError, exportDataDir, exportMatchLog, matchFrames } from '../relay/export/index.ts';
import { BUILTIN_SCENES, type Relay, startRelay } from '../relay/index.ts';
import { type ReplayResult, readMatchLog, replayMatchLog } from '../relay/log/index.ts';
import { type Input, initStateHash } from '../sim/index.ts';
import type { PythonSim, PythonStepResult } from '../sim/python/index.ts';
import { csvObjects, parseCsv } from './support/csv-parse.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const STUDY = path.join(ROOT, 'examples/coop-study/study.yaml');

let tmp: string;
/** The study's data directory: `coop-study.sqlite` and `logs/`. */
let dataDir: string;
let relay: Relay;
/** The two duel matches the bots played: match id → participant ids by slot. */
let matches: Map<string, string[]>;

/** Replays a log until its end record is written (the relay closes it after the match). */
async function endedReplay(logPath: string, timeoutMs = 10_000): Promise<ReplayResult> {
  const deadline = Date.now() + timeoutMs; // clock-ok: test deadline
  for (;;) {
    const r = await replayMatchLog(logPath);
    if (r.ended) return r;
    if (Date.now() > deadline) throw new Error(`${logPath} has no end record`); // clock-ok
    await new Promise((res) => setTimeout(res, 50));
  }
}

beforeAll(async () => {
  await initStateHash();
  tmp = await mkdtemp(path.join(os.tmpdir(), 'concord-export-'));
  dataDir = path.join(tmp, 'data');
  relay = await startRelay({ port: 0, host: '127.0.0.1', logsDir: path.join(dataDir, 'logs') });
  // Two short duel matches through a real relay on loopback, each with a desync at frame 40 that
  // the relay repairs: the frame tables then carry desync, resync and converged events. Lockstep,
  // so that no rollback re-simulates the corrupted frame away on a busy machine.
  const report = await runBots({
    url: relay.url,
    scene: 'duel-lockstep',
    matches: 2,
    players: 2,
    frames: 150,
    latencyMs: 10,
    jitterMs: 5,
    lossPct: 0,
    seed: 21,
    desyncAt: 40,
    desyncPeer: 1,
  });
  expect(report.failures).toEqual([]);
  matches = new Map();
  for (const m of report.perMatch) {
    const log = path.join(dataDir, 'logs', `${m.matchId}.jsonl`);
    await endedReplay(log);
    const { header } = await readMatchLog(log);
    matches.set(
      m.matchId,
      header.players.map((p) => p.participantId ?? ''),
    );
  }

  // The participants, written through the database's own API as the study server does: the
  // four bots through consent, the duel (its first episode in their match), the kitchen and the
  // survey to the end; a fifth declines consent.
  const experiment = loadExperiment(STUDY);
  let t = Date.parse('2026-12-06T17:00:00.000Z');
  const db = ParticipantDatabase.open(experiment, dataDir, { now: () => (t += 1000) });
  try {
    let n = 0;
    for (const [matchId, ids] of matches) {
      for (const [slot, id] of ids.entries()) {
        db.arrive({ id, source: 'prolific', studyId: 'STUDY1', sessionId: `S-${id}` }, `tab-${id}`);
        db.act(id, `tab-${id}`, { type: 'accept', scene: 'consent' });
        db.recordWaited(id, 'arena', 1500 + n++);
        db.recordSeat(id, { scene: 'arena', matchId, slot, episode: 0 });
        db.endGame(id, 'arena', 'completed');
        db.endGame(id, 'kitchen', 'completed');
        db.act(id, `tab-${id}`, {
          type: 'answer',
          scene: 'post',
          // A text answer with a comma, quotes and a line break: CSV must quote it.
          answers: { enjoy: 1 + slot, partner: 'unsure', notes: `slot ${slot}, "fun"\nreally` },
        });
      }
    }
    db.arrive({ id: 'nope-1', source: 'participant', studyId: null, sessionId: null }, 'tab-n');
    db.act('nope-1', 'tab-n', { type: 'decline', scene: 'consent' });
  } finally {
    db.close();
  }
}, 120_000);

afterAll(async () => {
  await relay?.close();
  await rm(tmp, { recursive: true, force: true });
});

const BIN = path.join(ROOT, 'bin', 'concord.js');

/** Runs the `concord` command and returns its exit status and output. */
function concord(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d) => {
      stdout += d;
    });
    proc.stderr.on('data', (d) => {
      stderr += d;
    });
    proc.once('error', reject);
    proc.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** What an independent replay of a log sees at every frame: inputs and computed hashes. */
async function replayedFrames(logPath: string) {
  const frames: { frame: number; inputs: readonly Input[] | null; hash: string | null }[] = [];
  const r = await replayMatchLog(logPath, {
    onFrame: ({ frame, inputs, hash }) => frames.push({ frame, inputs, hash }),
  });
  return { frames, r };
}

/** A CSV field as the JSON value the JSONL row holds (by the column's codebook type). */
function csvAsJson(v: string, name: string): unknown {
  if (v === '') return name === 'events' ? undefined : null;
  if (name === 'match_id' || name === 'state_hash' || name.endsWith('_action')) {
    return name.endsWith('_action') && /^\d+$/.test(v) ? Number(v) : v;
  }
  if (v === 'true' || v === 'false') return v === 'true';
  return Number(v);
}

describe('concord export of a study data directory', () => {
  let out: string;
  let written: string[];

  beforeAll(async () => {
    out = path.join(tmp, 'export');
    const summary = await exportDataDir(dataDir, { experiment: STUDY, out, statesEvery: 30 });
    written = [...summary.files];
    expect(summary.participants).toBe(5);
    expect(summary.matches.map((m) => m.matchId).sort()).toEqual([...matches.keys()].sort());
  }, 60_000);

  it('writes per-frame tables whose rows are the replay frames, in CSV and JSONL alike', async () => {
    for (const matchId of matches.keys()) {
      const { frames, r } = await replayedFrames(path.join(dataDir, 'logs', `${matchId}.jsonl`));
      expect(r.ok).toBe(true);
      expect(r.desyncs).toHaveLength(1); // the bots' corruption, repaired
      const csv = csvObjects(
        await readFile(path.join(out, 'matches', matchId, 'frames.csv'), 'utf8'),
      );
      const jsonl = (await readFile(path.join(out, 'matches', matchId, 'frames.jsonl'), 'utf8'))
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(csv).toHaveLength(frames.length);
      expect(jsonl).toHaveLength(frames.length);
      expect(frames.length).toBe(r.finalFrame + 1);
      frames.forEach((f, i) => {
        const row = csv[i];
        expect(row.match_id).toBe(matchId);
        expect(Number(row.frame)).toBe(f.frame);
        expect(row.episode).toBe('0');
        for (let s = 0; s < 2; s++) {
          const input = f.inputs?.[s];
          expect(row[`p${s}_buttons`]).toBe(input ? String(input.buttons) : '');
          expect(row[`p${s}_x`]).toBe(input ? String(input.x) : '');
          expect(row[`p${s}_y`]).toBe(input ? String(input.y) : '');
        }
        expect(row.state_hash).toBe(f.hash ?? '');
        expect(row.state === '').toBe(f.frame % 30 !== 0);
        // The JSONL row holds the same values, typed.
        const j = jsonl[i];
        expect(Object.keys(j)).toEqual(Object.keys(row));
        for (const [k, v] of Object.entries(row)) {
          if (k === 'events') {
            expect((j.events as { type: string }[]).length).toBe(
              v === '' ? 0 : v.split(';').length,
            );
          } else if (k === 'state') {
            expect(j.state).toEqual(v === '' ? null : JSON.parse(v));
          } else {
            expect(j[k]).toEqual(csvAsJson(v, k));
          }
        }
      });
      // Inputs named by the duel's actions where they are one (no aim): frame 0 is before the
      // input delay, where the sim's default (NOOP) plays.
      expect(csv[0].p0_action).toBe('NOOP');
      expect(csv[0].p0_default).toBe('true');
      expect(csv[r.finalFrame].p0_action).toBe('');
      // The repaired desync, its resync and the convergence on their frames; the end last.
      const d = r.desyncs[0];
      expect(csv[d.frame].events.split(';')).toEqual([
        `desync:${d.differing.join('+')}`,
        `resync:${d.differing.join('+')}`,
      ]);
      expect(csv[d.frame + (d.framesToConverge ?? -1)].events).toContain('converged');
      expect(csv[r.finalFrame].events.split(';')).toContain('end');
      expect(csv[r.finalFrame].state_hash).toBe(r.finalHash);
    }
  });

  it('writes one participants.csv row per participant; partners of a match name the same match', async () => {
    const rows = csvObjects(await readFile(path.join(out, 'participants.csv'), 'utf8'));
    expect(rows.map((r) => r.participant_id)).toEqual([...[...matches.values()].flat(), 'nope-1']);
    for (const [matchId, ids] of matches) {
      ids.forEach((id, slot) => {
        const row = rows.find((r) => r.participant_id === id)!;
        expect(row['match_id.arena.0']).toBe(matchId);
        expect(row['slot.arena.0']).toBe(String(slot));
        expect(row['match_id.arena.1']).toBe('');
        expect(row.prolific_pid).toBe(id);
        expect(row.study_id).toBe('STUDY1');
        expect(row.outcome).toBe('completed');
        expect(row.completion_code).toBe('C0MPL3T');
        expect(row['answer.post.enjoy']).toBe(String(1 + slot));
        expect(row['answer.post.partner']).toBe('unsure');
        expect(row['answer.post.notes']).toBe(`slot ${slot}, "fun"\nreally`);
        expect(Number.isNaN(Date.parse(row['entered_at.arena']))).toBe(false);
        expect(Date.parse(row['left_at.arena'])).toBeGreaterThan(
          Date.parse(row['entered_at.arena']),
        );
        expect(row['left_with.consent']).toBe('completed');
        expect(Number(row['waited_ms.arena'])).toBeGreaterThanOrEqual(1500);
        expect(row.waited_ms).toBe(row['waited_ms.arena']);
        expect(['0', '1']).toContain(row['condition.delay']);
        expect(row.condition).toBe(`delay=${row['condition.delay']}`);
      });
    }
    const declined = rows.find((r) => r.participant_id === 'nope-1')!;
    expect(declined.outcome).toBe('declined');
    expect(declined.completion_code).toBe('N0C0NS');
    expect(declined.prolific_pid).toBe('');
    expect(declined['left_with.consent']).toBe('declined');
    expect(declined['entered_at.arena']).toBe('');
    // Balanced assignment in arrival order, in blocks of a match (2 players): two to a cell,
    // then the least filled cell, the lowest on a tie.
    expect(rows.map((r) => r.cell)).toEqual(['0', '0', '1', '1', '0']);
    expect(rows.map((r) => r.arrival)).toEqual(['0', '1', '2', '3', '4']);
  });

  it('lists every column of every CSV written in codebook.md', async () => {
    const codebook = await readFile(path.join(out, 'codebook.md'), 'utf8');
    const csvFiles = written.filter((f) => f.endsWith('.csv'));
    expect(csvFiles).toContain('participants.csv');
    expect(csvFiles).toContain('matches.csv');
    expect(csvFiles.filter((f) => f.endsWith('frames.csv'))).toHaveLength(2);
    let columns = 0;
    for (const f of csvFiles) {
      const [header] = parseCsv(await readFile(path.join(out, f), 'utf8'));
      for (const name of header) {
        expect(codebook, `${f}: ${name}`).toContain(`| \`${name}\` |`);
        columns++;
      }
    }
    expect(columns).toBeGreaterThan(60);
    // And the files on disk are exactly those the summary lists (no partial file left).
    const onDisk = await readdir(out, { recursive: true });
    expect(onDisk.filter((f) => f.endsWith('.partial'))).toEqual([]);
  });

  it('`concord export` writes the same tables', async () => {
    const cliOut = path.join(tmp, 'cli-export');
    const r = await concord(['export', dataDir, '--experiment', STUDY, '--out', cliOut]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('exported 5 participants and 2 matches');
    const csvFiles = written.filter((f) => f.endsWith('.csv'));
    expect(csvFiles).toHaveLength(4);
    for (const f of csvFiles) {
      const mine = parseCsv(await readFile(path.join(out, f), 'utf8'));
      const theirs = parseCsv(await readFile(path.join(cliOut, f), 'utf8'));
      // Frame tables: the same without --states-every's state column (the last).
      expect(theirs).toEqual(f.endsWith('frames.csv') ? mine.map((row) => row.slice(0, -1)) : mine);
    }
  }, 60_000);

  it('matches.csv has one row per match, with the replay figures', async () => {
    const rows = csvObjects(await readFile(path.join(out, 'matches.csv'), 'utf8'));
    expect(rows.map((r) => r.match_id).sort()).toEqual([...matches.keys()].sort());
    for (const row of rows) {
      expect(row.participant_ids).toBe(matches.get(row.match_id)?.join(';'));
      expect(row.desyncs).toBe('1');
      expect(row.resyncs).toBe('1');
      expect(Number(row.checks)).toBeGreaterThan(3);
      expect(row.frames_csv).toBe(`matches/${row.match_id}/frames.csv`);
    }
  });
});

describe('an edited log', () => {
  it('stops the export with an error naming the match and the frame', async () => {
    const [matchId] = [...matches.keys()].sort();
    const edited = path.join(tmp, 'edited');
    await mkdir(path.join(edited, 'logs'), { recursive: true });
    for (const id of matches.keys()) {
      await copyFile(
        path.join(dataDir, 'logs', `${id}.jsonl`),
        path.join(edited, 'logs', `${id}.jsonl`),
      );
    }
    // Change one input of slot 0 (every direction bit flipped) from frame 20 on, one frame at a
    // time, until the change shows in a recorded hash (a player against a wall may not move).
    const file = path.join(edited, 'logs', `${matchId}.jsonl`);
    const original = (await readFile(file, 'utf8')).split('\n');
    let frame = -1;
    for (let f = 20; f < 120 && frame < 0; f++) {
      const lines = [...original];
      const at = lines.findIndex((l) => l.startsWith(`{"type":"input","f":${f},"s":0,`));
      expect(at).toBeGreaterThan(0);
      const record = JSON.parse(lines[at]) as { in: string };
      const low = Number.parseInt(record.in.slice(0, 2), 16) ^ 0x0f;
      record.in = low.toString(16).padStart(2, '0') + record.in.slice(2);
      lines[at] = JSON.stringify(record);
      await writeFile(file, lines.join('\n'));
      const replayed = await replayMatchLog(file);
      if (replayed.mismatches.length > 0) {
        frame = replayed.mismatches[0].frame;
        expect(frame).toBeGreaterThan(f);
      }
    }
    expect(frame).toBeGreaterThan(20);

    const err = await exportDataDir(edited, { out: path.join(edited, 'export') }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ExportError);
    const e = err as ExportError;
    expect(e.code).toBe('REPLAY_MISMATCH');
    expect(e.matchId).toBe(matchId);
    expect(e.frame).toBe(frame);
    expect(e.message).toContain(`match ${matchId}`);
    expect(e.message).toContain(`frame ${frame}`);
    // The edited match's table is not written (it is the first match in id order, so nothing is).
    await expect(readdir(path.join(edited, 'export', 'matches', matchId))).rejects.toThrow();

    // `concord replay LOG --export FILE` refuses it the same way, writing nothing.
    const one = path.join(edited, 'one.csv');
    const err2 = await exportMatchLog(file, one).catch((x: unknown) => x);
    expect((err2 as ExportError).code).toBe('REPLAY_MISMATCH');
    expect((err2 as ExportError).frame).toBe(frame);
    await expect(readFile(one)).rejects.toThrow();

    // And so do the commands: an error naming the match and frame, a failing exit status.
    const cli = await concord(['export', edited, '--out', path.join(edited, 'cli-export')]);
    expect(cli.code).toBe(2);
    expect(cli.stderr).toContain(`match ${matchId}`);
    expect(cli.stderr).toContain(`frame ${frame}`);
    const replay = await concord(['replay', file, '--export', one]);
    expect(replay.code).toBe(1);
    expect(replay.stderr).toContain(`frame ${frame}`);
    await expect(readFile(one)).rejects.toThrow();
  }, 60_000);

  it('a database without its experiment file is refused, naming the option', async () => {
    const err = await exportDataDir(dataDir, { out: path.join(tmp, 'x') }).catch((e: unknown) => e);
    expect((err as ExportError).code).toBe('NO_EXPERIMENT');
    expect((err as Error).message).toContain('--experiment');
  });
});

describe('concord replay --export of a Python match', () => {
  it("adds the rewards, terminations and truncations the environment's step returned", async () => {
    const kitchen60: SceneSettings = { ...BUILTIN_SCENES.kitchen, name: 'kitchen60', tickRate: 60 };
    const logsDir = path.join(tmp, 'py-logs');
    const report = await runBots({
      matches: 1,
      players: 2,
      frames: 120,
      latencyMs: 0,
      jitterMs: 0,
      lossPct: 0,
      seed: 8,
      scene: 'kitchen60',
      scenes: { ...BUILTIN_SCENES, kitchen60 },
      logsDir,
    });
    expect(report.failures).toEqual([]);
    const logPath = report.perMatch[0].logPath!;
    await endedReplay(logPath, 30_000);

    // Independently: the environment's own last step result, read one frame later.
    const results: (PythonStepResult | null)[] = [];
    await replayMatchLog(logPath, {
      onFrame: ({ frame, sim }) => {
        if (frame > 0) results[frame - 1] = (sim as PythonSim).lastStep();
      },
    });
    const file = path.join(tmp, 'kitchen.jsonl');
    const frames = await exportMatchLog(logPath, file);
    const rows = (await readFile(file, 'utf8'))
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(rows).toHaveLength(frames.replay.finalFrame + 1);
    expect(results).toHaveLength(frames.replay.finalFrame);
    results.forEach((res, f) => {
      expect(res).not.toBeNull();
      const step = res as PythonStepResult;
      const rewards = step.rewards as Record<string, number>;
      const terminateds = step.terminateds as Record<string, boolean>;
      const truncateds = step.truncateds as Record<string, boolean>;
      ['chef_0', 'chef_1'].forEach((agent, s) => {
        expect(rows[f][`p${s}_reward`]).toBe(rewards[agent]);
        expect(rows[f][`p${s}_terminated`]).toBe(terminateds[agent]);
        expect(rows[f][`p${s}_truncated`]).toBe(truncateds[agent]);
      });
    });
    // Discrete actions by number: the kitchen names none, so its inputs are action numbers.
    const last = rows[rows.length - 1];
    expect(last.p0_reward).toBeNull();
    expect(rows.some((r) => typeof r.p0_action === 'number' && (r.p0_action as number) > 0)).toBe(
      true,
    );
    // matchFrames on the same log gives the same rows (one code path).
    const again = await matchFrames(logPath);
    expect(again.rows.length).toBe(rows.length);
  }, 120_000);
});
