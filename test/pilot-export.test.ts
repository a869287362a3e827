/**
 * Issue 12's done-when, end to end: `concord pilot` plays a small experiment with bots (two
 * condition cells, four participants: two matches), and `concord export` of its data directory
 * gives one per-frame table per match whose rows equal an independent replay of the match's log,
 * the table both partners' rows in `participants.csv` point to; and `GET /metrics` reported the
 * study's participants by scene while the pilot ran.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readMatchLog, replayMatchLog } from '../relay/log/index.ts';
import { type PilotReport, runPilot } from '../relay/pilot.ts';
import { actionMapFromRecord, type Input, initStateHash, stateHash } from '../sim/index.ts';
import { csvObjects, parseCsv } from './support/csv-parse.ts';
import { type Family, parsePrometheus, sampleValue } from './support/prometheus.ts';
import { type StudyFixture, writeStudy } from './support/study-fixture.ts';

const BIN = path.join(import.meta.dirname, '..', 'bin', 'concord.js');
/** The input delay (frames) of each condition cell: the levels of the factor `delay`. */
const DELAYS = [1, 5];
const FRAMES = 240;
const PARTICIPANTS = 4;
const SCENES = ['consent', 'arena', 'post', 'done'];

let fx: StudyFixture;
let report: PilotReport;
/** Every scrape of `/metrics` while the pilot ran, in order; the last one after every participant finished. */
const scrapes: Map<string, Family>[] = [];
let exportOut: string;
let exportRun: { code: number | null; stdout: string; stderr: string };
/** participants.csv as objects, and the participant ids of each match by slot (matches.csv). */
let participants: Record<string, string>[];
let matchPlayers: Map<string, string[]>;

/** Runs `concord ARGS` and resolves with its exit status and output. */
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

/** One scrape of the study's `/metrics`, parsed strictly. */
async function scrape(url: string): Promise<Map<string, Family>> {
  const r = await fetch(`${url}/metrics`);
  if (r.status !== 200) throw new Error(`GET /metrics: ${r.status}`);
  return parsePrometheus(await r.text());
}

/** The `concord_participants` gauge of a scrape: scene id → participants in it. */
function participantsByScene(m: Map<string, Family>): Record<string, number> {
  const f = m.get('concord_participants');
  if (!f) throw new Error('no concord_participants in the scrape');
  expect(f.type).toBe('gauge');
  return Object.fromEntries(f.samples.map((s) => [s.labels.scene, s.value]));
}

beforeAll(async () => {
  await initStateHash();
  fx = await writeStudy(
    { framesPerEpisode: FRAMES, waitingRoom: { timeoutMs: 30_000, onTimeout: 'end' } },
    'pilot-export',
    { conditions: { delay: DELAYS.map((inputDelay) => ({ inputDelay })) } },
  );
  // Scrape /metrics every 100 ms from the moment the study listens until every participant has
  // finished, then once more before the study stops.
  let polling: Promise<void> | null = null;
  let stop = false;
  const pollErrors: unknown[] = [];
  report = await runPilot({
    experiment: fx.file,
    participants: PARTICIPANTS,
    latencyMs: 10,
    jitterMs: 5,
    lossPct: 1,
    seed: 12,
    dataDir: fx.dataDir,
    onListening: (url) => {
      polling = (async () => {
        while (!stop) {
          try {
            scrapes.push(await scrape(url));
          } catch (err) {
            pollErrors.push(err);
          }
          await new Promise((r) => setTimeout(r, 100));
        }
      })();
    },
    beforeClose: async (url) => {
      stop = true;
      await polling;
      scrapes.push(await scrape(url));
    },
  });
  expect(pollErrors).toEqual([]);

  exportOut = path.join(fx.dir, 'export');
  exportRun = await concord(['export', fx.dataDir, '--experiment', fx.file, '--out', exportOut]);
  if (exportRun.code === 0) {
    participants = csvObjects(await readFile(path.join(exportOut, 'participants.csv'), 'utf8'));
    matchPlayers = new Map(
      csvObjects(await readFile(path.join(exportOut, 'matches.csv'), 'utf8')).map((m) => [
        m.match_id,
        m.participant_ids.split(';'),
      ]),
    );
  }
}, 90_000);

afterAll(async () => {
  await fx?.remove();
});

describe('concord pilot, then concord export of its data', () => {
  it('the pilot brings every participant to the end scene with a code, two to a match', () => {
    expect(report.failures).toEqual([]);
    expect(report.outcomes).toEqual({ completed: PARTICIPANTS });
    const byMatch = new Map<string, string[]>();
    for (const p of report.participants) {
      expect(p.completionCode).toBe('DONE1');
      expect(p.games.map((g) => g.sceneId)).toEqual(['arena']);
      const matchId = p.games[0].matchId;
      expect(matchId).not.toBeNull();
      byMatch.set(matchId ?? '', [...(byMatch.get(matchId ?? '') ?? []), p.participantId]);
    }
    expect([...byMatch.values()].map((ids) => ids.length)).toEqual([2, 2]);
    expect(exportRun.stderr).toBe('');
    expect(exportRun.code).toBe(0);
    expect(exportRun.stdout).toContain(`exported ${PARTICIPANTS} participants and 2 matches`);
  });

  it('GET /metrics reported the study’s participants by scene while the pilot ran', () => {
    expect(scrapes.length).toBeGreaterThan(2);
    for (const m of scrapes) {
      const by = participantsByScene(m);
      // One series per scene of the experiment, counts of participants who arrived.
      expect(Object.keys(by).sort()).toEqual([...SCENES].sort());
      const total = Object.values(by).reduce((a, b) => a + b, 0);
      for (const n of Object.values(by)) expect(Number.isInteger(n) && n >= 0).toBe(true);
      expect(total).toBeLessThanOrEqual(PARTICIPANTS);
    }
    // A game of 240 frames at 60 frames/s lasts 4 s: scrapes 100 ms apart saw players in it.
    expect(scrapes.some((m) => participantsByScene(m).arena > 0)).toBe(true);
    // After every participant finished: all at the end scene; the two matches started.
    const last = scrapes[scrapes.length - 1];
    expect(participantsByScene(last)).toEqual({ consent: 0, arena: 0, post: 0, done: 4 });
    expect(sampleValue(last, 'concord_matches_started_total')).toBe(2);
  });

  it('participants.csv has every participant with their outcome, code, condition and seat', async () => {
    expect(participants.map((r) => r.participant_id).sort()).toEqual(
      report.participants.map((p) => p.participantId).sort(),
    );
    // Balanced assignment: both condition cells filled, two participants each.
    expect(participants.map((r) => r.cell).sort()).toEqual(['0', '0', '1', '1']);
    for (const row of participants) {
      const pilot = report.participants.find((p) => p.participantId === row.participant_id)!;
      expect(row.outcome).toBe('completed');
      expect(row.completion_code).toBe(pilot.completionCode);
      expect(row.condition).toBe(`delay=${row['condition.delay']}`);
      expect(row['condition.delay']).toBe(row.cell);
      // The seat: the match this participant played, whose table exists, at a slot of it.
      expect(row['match_id.arena']).toBe(pilot.games[0].matchId);
      expect(existsSync(path.join(exportOut, 'matches', row['match_id.arena'], 'frames.csv'))).toBe(
        true,
      );
      const players = matchPlayers.get(row['match_id.arena']);
      expect(players?.[Number(row['slot.arena'])]).toBe(row.participant_id);
      // And the match log agrees: this participant at this slot, in this cell's relay scene.
      const { header } = await readMatchLog(
        path.join(fx.dataDir, 'logs', `${row['match_id.arena']}.jsonl`),
      );
      expect(header.players[Number(row['slot.arena'])].participantId).toBe(row.participant_id);
      expect(header.scene.name).toBe(`arena-c${row.cell}`);
      expect(header.scene.inputDelay).toBe(DELAYS[Number(row.cell)]);
    }
  });

  it('both participants of a match point to the one table, which holds both slots', async () => {
    expect(matchPlayers.size).toBe(2);
    for (const [matchId, ids] of matchPlayers) {
      expect(ids).toHaveLength(2);
      const rows = ids.map((id) => participants.find((r) => r.participant_id === id)!);
      expect(rows.map((r) => r['match_id.arena'])).toEqual([matchId, matchId]);
      expect(rows.map((r) => r['slot.arena'])).toEqual(['0', '1']);
      expect(rows[0].cell).toBe(rows[1].cell);
      const [header] = parseCsv(
        await readFile(path.join(exportOut, 'matches', matchId, 'frames.csv'), 'utf8'),
      );
      const inputColumns = header.filter((c) => /^p\d+_/.test(c));
      for (const s of [0, 1]) {
        for (const c of ['action', 'buttons', 'x', 'y', 'default']) {
          expect(inputColumns).toContain(`p${s}_${c}`);
        }
      }
      expect(inputColumns.filter((c) => !/^p[01]_/.test(c))).toEqual([]);
    }
  });

  it("every match's per-frame rows equal an independent replay of its log", async () => {
    for (const [matchId, ids] of matchPlayers) {
      const log = path.join(fx.dataDir, 'logs', `${matchId}.jsonl`);
      const frames: { frame: number; inputs: readonly Input[] | null; hash: string }[] = [];
      const r = await replayMatchLog(log, {
        // The state hash of every frame, computed here from the replayed state.
        onFrame: ({ frame, sim, inputs }) =>
          frames.push({ frame, inputs, hash: stateHash(sim.encode(sim.save())) }),
      });
      const { header } = await readMatchLog(log);
      expect(r.ok).toBe(true);
      expect(r.ended).toBe(true);
      expect(r.mismatches).toEqual([]);
      expect(r.checks).toBeGreaterThan(3);
      expect(r.finalFrame).toBe(FRAMES);
      expect(header.players.map((p) => p.participantId)).toEqual(ids);
      const actions = actionMapFromRecord(header.actions!);
      const delay = header.scene.inputDelay;

      const dir = path.join(exportOut, 'matches', matchId);
      const csv = csvObjects(await readFile(path.join(dir, 'frames.csv'), 'utf8'));
      const jsonl = (await readFile(path.join(dir, 'frames.jsonl'), 'utf8'))
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(frames.map((f) => f.frame)).toEqual(frames.map((_, i) => i));
      expect(csv).toHaveLength(frames.length);
      expect(jsonl).toHaveLength(frames.length);
      let hashed = 0;
      for (const f of frames) {
        const row = csv[f.frame];
        const j = jsonl[f.frame];
        expect(row.match_id).toBe(matchId);
        expect(row.frame).toBe(String(f.frame));
        expect(row.episode).toBe('0');
        expect(j.frame).toBe(f.frame);
        for (const s of [0, 1]) {
          const input = f.inputs?.[s] ?? null;
          // Every frame but the final one has both players' inputs.
          expect(input === null).toBe(f.frame === FRAMES);
          expect(row[`p${s}_buttons`]).toBe(input ? String(input.buttons) : '');
          expect(row[`p${s}_x`]).toBe(input ? String(input.x) : '');
          expect(row[`p${s}_y`]).toBe(input ? String(input.y) : '');
          expect(j[`p${s}_buttons`]).toBe(input ? input.buttons : null);
          const name = input ? actions.actionOf(input) : null;
          expect(row[`p${s}_action`]).toBe(name === null ? '' : String(name));
          // The sim's default plays before the input delay, the players' inputs after it.
          expect(row[`p${s}_default`]).toBe(input ? String(f.frame < delay) : '');
        }
        if (row.state_hash !== '') {
          expect(row.state_hash).toBe(f.hash);
          hashed++;
        }
      }
      expect(hashed).toBeGreaterThan(3);
      expect(csv[FRAMES].state_hash).toBe(r.finalHash);
      expect(csv[FRAMES].events.split(';')).toContain('end');
    }
  });
});
