import { spawn } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { ConcordError, type ConcordErrorCode } from '../../sim/index.ts';
import { assignCells } from './conditions.ts';
import { DATABASE_SCHEMA_VERSION, databaseFile, ParticipantDatabase } from './database.ts';
import { loadExperiment } from './load.ts';
import type { Arrival, PageAction } from './participant-flow.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '../..');
const STUDY = path.join(ROOT, 'examples/coop-study/study.yaml');
const study = loadExperiment(STUDY);

const tmp = mkdtempSync(path.join(tmpdir(), 'concord-db-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let dirs = 0;
const newDir = () => path.join(tmp, `data${dirs++}`);

/** A clock that moves 10 ms per reading, from a fixed start. */
function clock(start = 1_700_000_000_000) {
  let t = start;
  return () => {
    t += 10;
    return t;
  };
}

function prolific(id: string): Arrival {
  return { id, source: 'prolific', studyId: 'STUDY1', sessionId: `S-${id}` };
}

function refused(code: ConcordErrorCode, f: () => unknown): string {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(ConcordError);
    expect((err as ConcordError).code).toBe(code);
    return (err as Error).message;
  }
  throw new Error(`expected a ${code} error`);
}

/** Everything the database holds about every participant, for before/after comparisons. */
function dump(db: ParticipantDatabase) {
  return db.participants().map((p) => ({
    p,
    visits: db.visits(p.id),
    answers: db.answers(p.id),
    seats: db.seats(p.id),
  }));
}

const accept: PageAction = { type: 'accept', scene: 'consent' };
const goodAnswers: PageAction = {
  type: 'answer',
  scene: 'post',
  answers: { enjoy: 5, partner: 'no', notes: 'fun' },
};

describe('the participant database', () => {
  it("records a participant's whole path, consent → games → survey → end, in a WAL file", () => {
    const dir = newDir();
    const db = ParticipantDatabase.open(study, dir, { now: clock() });
    expect(db.file).toBe(path.resolve(databaseFile(dir, 'coop-study')));
    expect(existsSync(db.file)).toBe(true);
    expect(db.journalMode).toBe('wal');
    expect(db.schemaVersion).toBe(DATABASE_SCHEMA_VERSION);

    const { record, now, enrolled } = db.arrive(prolific('5f0c0ffee'), 'tab-a');
    expect(enrolled).toBe(true);
    expect(record).toMatchObject({ arrival: 0, cell: 0, condition: { delay: 0 }, sceneIndex: 0 });
    expect(now.scene.id).toBe('consent');

    expect(db.act('5f0c0ffee', 'tab-a', accept).now.scene.id).toBe('arena');
    expect(db.recordWaited('5f0c0ffee', 'arena', 4200)).toBe(4200);
    expect(db.recordWaited('5f0c0ffee', 'arena', 300)).toBe(4500);
    db.recordSeat('5f0c0ffee', { scene: 'arena', matchId: 'm-1', slot: 1, episode: 0 });
    db.recordSeat('5f0c0ffee', { scene: 'arena', matchId: 'm-2', slot: 0, episode: 1 });
    db.endGame('5f0c0ffee', 'arena', 'completed');
    db.endGame('5f0c0ffee', 'kitchen', 'completed');
    const end = db.act('5f0c0ffee', 'tab-a', goodAnswers);
    expect(end.now).toMatchObject({
      finished: true,
      outcome: 'completed',
      completionCode: 'C0MPL3T',
      redirect: 'https://app.prolific.com/submissions/complete?cc=C0MPL3T',
    });
    db.close();

    // Read back from the file itself, as an export would.
    const raw = new Database(databaseFile(dir, 'coop-study'), { readonly: true });
    expect(raw.prepare('SELECT * FROM participants').all()).toMatchObject([
      {
        id: '5f0c0ffee',
        id_source: 'prolific',
        prolific_pid: '5f0c0ffee',
        study_id: 'STUDY1',
        session_id: 'S-5f0c0ffee',
        arrival: 0,
        cell: 0,
        condition_key: 'delay=0',
        condition_json: '{"delay":0}',
        values_json: '{"inputDelay":2}',
        scene_id: 'done',
        outcome: 'completed',
        completion_code: 'C0MPL3T',
      },
    ]);
    const visits = raw
      .prepare('SELECT scene_id, entered_ms, left_ms, left_with, waited_ms FROM scene_visits')
      .all() as { scene_id: string; entered_ms: number; left_ms: number | null }[];
    expect(visits.map((v) => v.scene_id)).toEqual(['consent', 'arena', 'kitchen', 'post', 'done']);
    expect(visits[1]).toMatchObject({ left_with: 'completed', waited_ms: 4500 });
    for (let i = 0; i < visits.length - 1; i++) {
      expect(visits[i].left_ms).toBe(visits[i + 1].entered_ms);
      expect(visits[i].left_ms).toBeGreaterThan(visits[i].entered_ms);
    }
    expect(visits[4].left_ms).toBeNull();
    expect(
      raw
        .prepare('SELECT question_id, value, typeof(value) AS t FROM survey_answers ORDER BY rowid')
        .all(),
    ).toEqual([
      { question_id: 'enjoy', value: 5, t: 'integer' },
      { question_id: 'partner', value: 'no', t: 'text' },
      { question_id: 'notes', value: 'fun', t: 'text' },
    ]);
    expect(raw.prepare('SELECT match_id, slot, episode FROM match_seats').all()).toEqual([
      { match_id: 'm-1', slot: 1, episode: 0 },
      { match_id: 'm-2', slot: 0, episode: 1 },
    ]);
    raw.close();
  });

  it('resumes a reloaded participant in the same scene, after the file is closed and reopened', () => {
    const dir = newDir();
    let db = ParticipantDatabase.open(study, dir);
    db.arrive(prolific('p1'), 'tab-1');
    db.act('p1', 'tab-1', accept);
    db.endGame('p1', 'arena', 'completed');
    db.endGame('p1', 'kitchen', 'completed');
    db.close();

    db = ParticipantDatabase.open(study, dir);
    const back = db.arrive(prolific('p1'), 'tab-2');
    expect(back.enrolled).toBe(false);
    expect(back.now.scene.id).toBe('post');
    expect(back.record.condition).toEqual({ delay: 0 });
    db.act('p1', 'tab-2', goodAnswers);
    db.close();

    // A finished participant who comes back sees their code again and cannot start over.
    db = ParticipantDatabase.open(study, dir);
    const again = db.arrive(prolific('p1'), 'tab-3');
    expect(again.now).toMatchObject({ finished: true, completionCode: 'C0MPL3T' });
    refused('BAD_STEP', () => db.act('p1', 'tab-3', accept));
    db.close();
  });

  it('loses nothing when restarted mid-study: every participant resumes as they were', () => {
    const dir = newDir();
    let db = ParticipantDatabase.open(study, dir, { now: clock() });
    const path_: ((id: string) => void)[] = [
      (id) => db.act(id, `t-${id}`, accept),
      (id) => db.recordSeat(id, { scene: 'arena', matchId: `m-${id}`, slot: 0, episode: 0 }),
      (id) => db.recordWaited(id, 'arena', 1234),
      (id) => db.endGame(id, 'arena', 'completed'),
      (id) => db.endGame(id, 'kitchen', 'completed'),
      (id) => db.act(id, `t-${id}`, goodAnswers),
    ];
    for (let i = 0; i < 14; i++) {
      const id = `p${i}`;
      db.arrive(prolific(id), `t-${id}`);
      for (const step of path_.slice(0, i % (path_.length + 1))) step(id);
    }
    db.act('p7', 't-p7', { type: 'decline', scene: 'consent' });
    const before = dump(db);
    const mid = db.midStudy().map((p) => [p.id, p.sceneIndex]);
    db.close();

    db = ParticipantDatabase.open(study, dir, { now: clock(1_800_000_000_000) });
    expect(dump(db)).toEqual(before);
    expect(db.midStudy().map((p) => [p.id, p.sceneIndex])).toEqual(mid);
    expect(mid.length).toBeGreaterThan(0);
    expect(db.midStudy().every((p) => !db.now(p.id).finished)).toBe(true);
    // And they go on from where they were.
    const atKitchen = db.midStudy().find((p) => db.now(p.id).scene.id === 'kitchen');
    expect(atKitchen).toBeDefined();
    expect(db.endGame(atKitchen!.id, 'kitchen', 'completed').now.scene.id).toBe('post');
    db.close();
  });

  it('keeps every committed change when the writing process is killed with SIGKILL', async () => {
    const dir = newDir();
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(HERE, 'database-writer.fixture.ts'), STUDY, dir],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const exited = new Promise<NodeJS.Signals | number | null>((resolve) =>
      child.on('exit', (code, signal) => resolve(signal ?? code)),
    );
    const lines: Record<string, unknown>[] = [];
    const deadline = setTimeout(() => child.kill('SIGKILL'), 60_000);
    for await (const line of createInterface({ input: child.stdout })) {
      lines.push(JSON.parse(line));
      // Kill it mid-participant, while it is still writing.
      if (lines.length === 200) child.kill('SIGKILL');
    }
    clearTimeout(deadline);
    expect(await exited, stderr).toBe('SIGKILL');
    expect(lines.length).toBeGreaterThanOrEqual(200);

    const db = ParticipantDatabase.open(study, dir);
    for (const l of lines) {
      const id = l.id as string;
      const p = db.participant(id);
      const scenes = db.visits(id).map((v) => v.sceneId);
      expect(scenes).toContain(l.scene ?? 'arena');
      if (l.cell !== undefined) expect(p.cell).toBe(l.cell);
      if (l.seat !== undefined) expect(db.seats(id).map((s) => s.matchId)).toContain(l.seat);
      if (l.enjoy !== undefined) {
        expect(p.completionCode).toBe('C0MPL3T');
        expect(db.answers(id)).toMatchObject([{ questionId: 'enjoy', value: l.enjoy }]);
      }
    }
    // Arrival order and balance survived too, and the study goes on from there.
    const all = db.participants();
    expect(all.map((p) => p.arrival)).toEqual(all.map((_, i) => i));
    expect(all.map((p) => p.cell)).toEqual(assignCells(study.cells.length, all.length, 2));
    expect(db.arrive(prolific('after'), 't').record.arrival).toBe(all.length);
    db.close();
  });

  it("lets no participant touch another's data", () => {
    const db = ParticipantDatabase.open(study, newDir());
    db.arrive(prolific('alice'), 'tab-alice');
    db.arrive(prolific('bob'), 'tab-bob');
    const before = dump(db).find((d) => d.p.id === 'alice');
    // Bob's tab acting as Alice, while Alice's tab is open: refused.
    expect(refused('SECOND_TAB', () => db.act('alice', 'tab-bob', accept))).toContain(
      'participant alice has the study open in another tab',
    );
    // Bob's whole path changes nothing of Alice's.
    db.act('bob', 'tab-bob', accept);
    db.recordSeat('bob', { scene: 'arena', matchId: 'm', slot: 0, episode: 0 });
    db.endGame('bob', 'arena', 'completed');
    db.endGame('bob', 'kitchen', 'completed');
    db.act('bob', 'tab-bob', goodAnswers);
    expect(dump(db).find((d) => d.p.id === 'alice')).toEqual(before);
    // Nor can Alice's seat be taken by Bob's report.
    db.act('alice', 'tab-alice', accept);
    db.recordSeat('alice', { scene: 'arena', matchId: 'm2', slot: 1, episode: 0 });
    db.close();
  });

  it('keeps participants apart under any interleaving of their steps (property)', () => {
    const steps: PageAction[] = [
      accept,
      { type: 'decline', scene: 'consent' },
      goodAnswers,
      { type: 'answer', scene: 'post', answers: { enjoy: 99 } },
    ];
    const games = ['arena', 'kitchen'] as const;
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            who: fc.constantFrom('a', 'b', 'c'),
            what: fc.oneof(
              fc.constantFrom(...steps),
              fc.record({
                scene: fc.constantFrom(...games),
                outcome: fc.constantFrom('completed' as const, 'timeout' as const),
              }),
            ),
          }),
          { maxLength: 25 },
        ),
        (script) => {
          const apply = (
            db: ParticipantDatabase,
            who: string,
            what: (typeof script)[0]['what'],
          ) => {
            try {
              if ('type' in what) db.act(who, `t-${who}`, what);
              else db.endGame(who, what.scene, what.outcome);
            } catch (err) {
              expect(['BAD_STEP', 'BAD_ANSWER']).toContain((err as ConcordError).code);
            }
          };
          const together = ParticipantDatabase.open(study, newDir(), { now: () => 0 });
          for (const who of ['a', 'b', 'c']) together.arrive(prolific(who), `t-${who}`);
          for (const s of script) apply(together, s.who, s.what);
          const all = dump(together);
          together.close();
          // Each participant alone, after the same arrivals, ends up exactly the same.
          for (const who of ['a', 'b', 'c']) {
            const alone = ParticipantDatabase.open(study, newDir(), { now: () => 0 });
            for (const w of ['a', 'b', 'c']) alone.arrive(prolific(w), `t-${w}`);
            for (const s of script) if (s.who === who) apply(alone, who, s.what);
            expect(dump(alone).find((d) => d.p.id === who)).toEqual(
              all.find((d) => d.p.id === who),
            );
            alone.close();
          }
        },
      ),
      { numRuns: 25 },
    );
  });

  it('refuses survey answers that do not fit, naming the question, and writes none of them', () => {
    const db = ParticipantDatabase.open(study, newDir());
    db.arrive(prolific('p'), 't');
    db.act('p', 't', accept);
    db.endGame('p', 'arena', 'completed');
    db.endGame('p', 'kitchen', 'completed');
    const message = refused('BAD_ANSWER', () =>
      db.act('p', 't', { type: 'answer', scene: 'post', answers: { enjoy: 8, partner: 'no' } }),
    );
    expect(message).toContain('answers.enjoy: must be an integer 1–7, got 8');
    expect(db.answers('p')).toEqual([]);
    expect(db.now('p').scene.id).toBe('post');
    expect(db.visits('p').at(-1)).toMatchObject({ sceneId: 'post', leftMs: null });
    db.close();
  });

  it('assigns conditions balanced in arrival order in blocks of a match, and keeps balancing after a restart', () => {
    const dir = newDir();
    let db = ParticipantDatabase.open(study, dir);
    for (let i = 0; i < 5; i++) db.enrol(prolific(`p${i}`));
    db.close();
    db = ParticipantDatabase.open(study, dir);
    for (let i = 5; i < 9; i++) db.enrol(prolific(`p${i}`));
    const all = db.participants();
    expect(all.map((p) => p.id)).toEqual(all.map((_, i) => `p${i}`));
    // In blocks of the match size (2): the restart falls inside a block, which is finished.
    expect(all.map((p) => p.cell)).toEqual(assignCells(2, 9, 2));
    expect(all.map((p) => p.condition.delay)).toEqual([0, 0, 1, 1, 0, 0, 1, 1, 0]);
    db.close();
  });

  it('says clearly what is wrong: unknown, duplicate, another session, a second tab', () => {
    const db = ParticipantDatabase.open(study, newDir());
    expect(refused('UNKNOWN_PARTICIPANT', () => db.participant('ghost'))).toBe(
      'no participant "ghost" in experiment "coop-study"',
    );
    refused('UNKNOWN_PARTICIPANT', () => db.endGame('ghost', 'arena', 'completed'));
    refused('UNKNOWN_PARTICIPANT', () => db.claimTab('ghost', 't'));
    db.enrol(prolific('p'));
    expect(refused('DUPLICATE_PARTICIPANT', () => db.enrol(prolific('p')))).toBe(
      'participant p is enrolled in experiment "coop-study" already',
    );
    expect(
      refused('SESSION_MISMATCH', () => db.arrive({ ...prolific('p'), sessionId: 'OTHER' }, 't1')),
    ).toBe('participant p is enrolled with SESSION_ID S-p, not OTHER');
    db.arrive(prolific('p'), 't1');
    expect(refused('SECOND_TAB', () => db.arrive(prolific('p'), 't2'))).toContain('another tab');
    refused('SECOND_TAB', () => db.act('p', 't2', accept));
    expect(db.now('p').scene.id).toBe('consent');
    // The first tab closes: the second may take over.
    db.releaseTab('p', 't1');
    db.arrive(prolific('p'), 't2');
    expect(db.act('p', 't2', accept).now.scene.id).toBe('arena');
    refused('BAD_STEP', () => db.arrive(prolific('q'), 'no tabs here'));
    refused('BAD_STEP', () => db.act('p', 't2', { type: 'gameEnd' } as unknown as PageAction));
    db.close();
  });

  it('removes a participant from any scene to the end with outcome removed, and only once', () => {
    const dir = newDir();
    const db = ParticipantDatabase.open(study, dir, { now: clock() });
    db.arrive(prolific('r'), 'tab-r');
    db.act('r', 'tab-r', accept);
    db.endGame('r', 'arena', 'partnerLeft');
    // A page cannot remove itself, whatever it sends.
    refused('BAD_STEP', () =>
      db.act('r', 'tab-r', { type: 'removed', scene: 'kitchen' } as unknown as PageAction),
    );
    refused('BAD_STEP', () => db.remove('r', ''));
    const r = db.remove('r', 'asked to stop by e-mail');
    // The removal wins over the partnerLeft before it; the example has no `removed` code.
    expect(r.record).toMatchObject({ sceneIndex: 4, outcome: 'removed', completionCode: null });
    expect(r.now).toMatchObject({ finished: true, completionCode: null, redirect: null });
    expect(db.visits('r').map((v) => [v.sceneId, v.leftWith])).toEqual([
      ['consent', 'completed'],
      ['arena', 'partnerLeft'],
      ['kitchen', 'removed'],
      ['done', null],
    ]);
    expect(db.removedReason('r')).toBe('asked to stop by e-mail');
    expect(db.midStudy().map((p) => p.id)).toEqual([]);
    refused('BAD_STEP', () => db.remove('r', 'again'));
    refused('UNKNOWN_PARTICIPANT', () => db.remove('ghost', 'why'));
    db.close();
    // Committed: a reopened file says the same, and the finish time is set.
    const again = ParticipantDatabase.open(study, dir);
    expect(again.participant('r')).toMatchObject({ outcome: 'removed', completionCode: null });
    again.close();
    const raw = new Database(databaseFile(dir, 'coop-study'), { readonly: true });
    expect(raw.prepare('SELECT finished_ms IS NOT NULL AS f FROM participants').get()).toEqual({
      f: 1,
    });
    raw.close();
  });

  it('takes a schema version 2 file to version 3 (outcome removed), keeping every row', () => {
    const dir = newDir();
    const db = ParticipantDatabase.open(study, dir);
    db.arrive(prolific('a'), 'a');
    db.act('a', 'a', accept);
    db.recordSeat('a', { scene: 'arena', matchId: 'm1', slot: 0, episode: 0 });
    db.arrive(prolific('b'), 'b');
    const before = dump(db);
    db.close();
    // Back to version 2: no `removed` in the CHECKs, no removed_reason column.
    const raw = new Database(databaseFile(dir, 'coop-study'));
    raw.pragma('foreign_keys = OFF');
    const v2 = (table: string, sql: string) =>
      raw.exec(`CREATE TABLE old_${table} ${sql} STRICT;
        INSERT INTO old_${table} SELECT ${table === 'participants' ? 'id, id_source, prolific_pid, study_id, session_id, arrival, cell, condition_key, condition_json, values_json, scene_index, scene_id, outcome, completion_code, enrolled_ms, finished_ms' : '*'} FROM ${table};
        DROP TABLE ${table}; ALTER TABLE old_${table} RENAME TO ${table};`);
    v2(
      'participants',
      `(id TEXT PRIMARY KEY, id_source TEXT NOT NULL, prolific_pid TEXT, study_id TEXT, session_id TEXT,
        arrival INTEGER NOT NULL UNIQUE, cell INTEGER NOT NULL, condition_key TEXT NOT NULL,
        condition_json TEXT NOT NULL, values_json TEXT NOT NULL, scene_index INTEGER NOT NULL,
        scene_id TEXT NOT NULL,
        outcome TEXT CHECK (outcome IN ('completed', 'timeout', 'partnerLeft', 'declined')),
        completion_code TEXT, enrolled_ms INTEGER NOT NULL, finished_ms INTEGER)`,
    );
    v2(
      'scene_visits',
      `(participant_id TEXT NOT NULL REFERENCES participants (id), scene_index INTEGER NOT NULL,
        scene_id TEXT NOT NULL, entered_ms INTEGER NOT NULL, left_ms INTEGER,
        left_with TEXT CHECK (left_with IN ('completed', 'timeout', 'partnerLeft', 'declined')),
        waited_ms INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (participant_id, scene_index))`,
    );
    raw.exec('DELETE FROM schema_version WHERE version = 3');
    expect(() =>
      raw.prepare("UPDATE participants SET outcome = 'removed' WHERE id = 'a'").run(),
    ).toThrow(/CHECK/);
    raw.close();
    const again = ParticipantDatabase.open(study, dir);
    expect(again.schemaVersion).toBe(3);
    expect(dump(again)).toEqual(before);
    expect(again.remove('a', 'test').record.outcome).toBe('removed');
    expect(again.visits('a').map((v) => v.leftWith)).toEqual(['completed', 'removed', null]);
    again.close();
  });

  it('takes a schema version 1 file to version 2, keeping its seats', () => {
    const dir = newDir();
    const db = ParticipantDatabase.open(study, dir);
    db.arrive(prolific('a'), 'a');
    db.act('a', 'a', accept);
    db.recordSeat('a', { scene: 'arena', matchId: 'm1', slot: 0, episode: 0 });
    db.close();
    // Back to version 1: its match_seats had one seat per participant, scene and episode.
    const raw = new Database(databaseFile(dir, 'coop-study'));
    raw.exec(`
      CREATE TABLE v1 (participant_id TEXT NOT NULL REFERENCES participants (id), scene_id TEXT NOT NULL,
        episode INTEGER NOT NULL CHECK (episode >= 0), match_id TEXT NOT NULL, slot INTEGER NOT NULL CHECK (slot >= 0),
        seated_ms INTEGER NOT NULL, PRIMARY KEY (participant_id, scene_id, episode), UNIQUE (match_id, slot)) STRICT;
      INSERT INTO v1 SELECT * FROM match_seats; DROP TABLE match_seats; ALTER TABLE v1 RENAME TO match_seats;
      DELETE FROM schema_version WHERE version >= 2;`);
    raw.close();
    const again = ParticipantDatabase.open(study, dir);
    expect(again.schemaVersion).toBe(DATABASE_SCHEMA_VERSION);
    expect(again.seats('a').map((x) => x.matchId)).toEqual(['m1']);
    // A replacement match of the same episode (the first died with the relay) is a new row.
    again.recordSeat('a', { scene: 'arena', matchId: 'm2', slot: 1, episode: 0 });
    expect(again.seats('a').map((x) => x.matchId)).toEqual(['m1', 'm2']);
    again.close();
  });

  it('refuses seats that are not the participant’s to take', () => {
    const db = ParticipantDatabase.open(study, newDir());
    for (const id of ['a', 'b']) {
      db.arrive(prolific(id), id);
      db.act(id, id, accept);
    }
    db.recordSeat('a', { scene: 'arena', matchId: 'm', slot: 0, episode: 0 });
    // The same seat again (a rejoin) is fine; another slot of that match is not; a seat in a
    // new match of that episode (the first one died with the relay) is a new row.
    db.recordSeat('a', { scene: 'arena', matchId: 'm', slot: 0, episode: 0 });
    refused('BAD_STEP', () =>
      db.recordSeat('a', { scene: 'arena', matchId: 'm', slot: 1, episode: 0 }),
    );
    db.recordSeat('a', { scene: 'arena', matchId: 'm9', slot: 0, episode: 0 });
    expect(db.seats('a').map((x) => x.matchId)).toEqual(['m', 'm9']);
    expect(
      refused('BAD_STEP', () =>
        db.recordSeat('b', { scene: 'arena', matchId: 'm', slot: 0, episode: 0 }),
      ),
    ).toBe("slot 0 of match m is another participant's");
    refused('BAD_STEP', () =>
      db.recordSeat('b', { scene: 'kitchen', matchId: 'k', slot: 0, episode: 0 }),
    );
    expect(db.seats('b')).toEqual([]);
    db.close();
  });

  it("refuses a file that is not this experiment's, or whose conditions or scenes moved", () => {
    const dir = newDir();
    const db = ParticipantDatabase.open(study, dir);
    db.arrive(prolific('p'), 't');
    db.act('p', 't', accept);
    db.close();

    // The same study, edited, beside a copy of its consent page.
    const text = readFileSync(STUDY, 'utf8');
    const copy = (name: string, edited: string) => {
      const dirOf = path.join(tmp, 'edited', name);
      mkdirSync(dirOf, { recursive: true });
      const file = path.join(dirOf, 'study.yaml');
      writeFileSync(file, edited.replace('../kitchen.py', path.join(ROOT, 'examples/kitchen.py')));
      copyFileSync(
        path.join(ROOT, 'examples/coop-study/consent.md'),
        path.join(dirOf, 'consent.md'),
      );
      return loadExperiment(file);
    };
    const threeLevels = copy(
      'cells',
      text.replace(
        '[{ inputDelay: 2 }, { inputDelay: 6 }]',
        '[{ inputDelay: 2 }, { inputDelay: 4 }, { inputDelay: 6 }]',
      ),
    );
    expect(refused('BAD_DATABASE', () => ParticipantDatabase.open(threeLevels, dir))).toContain(
      'condition cells changed',
    );
    const noConsent = copy(
      'scenes',
      text.replace('  - { kind: info, id: consent, file: consent.md, consent: true }\n', ''),
    );
    expect(refused('BAD_DATABASE', () => ParticipantDatabase.open(noConsent, dir))).toContain(
      'participant p is in scene "arena" (index 1)',
    );

    // A file written by a newer Concord.
    const raw = new Database(databaseFile(dir, 'coop-study'));
    raw.prepare('INSERT INTO schema_version VALUES (?, 0)').run(DATABASE_SCHEMA_VERSION + 1);
    raw.close();
    expect(refused('BAD_DATABASE', () => ParticipantDatabase.open(study, dir))).toContain(
      `schema version ${DATABASE_SCHEMA_VERSION + 1}, newer`,
    );

    // A file that is not a database at all.
    const junk = newDir();
    mkdirSync(junk);
    writeFileSync(databaseFile(junk, 'coop-study'), 'not a database, just text '.repeat(200));
    expect(refused('BAD_DATABASE', () => ParticipantDatabase.open(study, junk))).toContain(
      'coop-study.sqlite: file is not a database',
    );
  });
});
