/**
 * The participant database: one SQLite file per experiment (better-sqlite3), in WAL mode with
 * `synchronous = FULL`, holding each participant (ids, arrival order, condition), every scene
 * visit (entered and left, in ms since the epoch, and how it was left), survey answers (one row
 * per question), match seats and time waited, and the final outcome with its completion code.
 *
 * Every change is one `BEGIN IMMEDIATE` transaction, committed (and, with `synchronous = FULL`,
 * on disk) before the method returns: a page told to move on, or redirected to Prolific, never
 * outruns its data, and a process killed at any point leaves every returned change readable.
 * What is allowed is decided by the pure participant flow (./participant-flow.ts) inside the
 * same transaction as the write, from the record as stored, so a stale or forged request cannot
 * slip between a check and its write.
 *
 * Opening an existing file resumes the study: participants mid-study are read back as they were.
 * The file remembers the experiment's id, its condition cells and each participant's scene id,
 * and refuses (`BAD_DATABASE`) to be opened for an experiment whose cells or scenes no longer
 * match, rather than silently misplacing participants.
 *
 * Tabs are not data: which tab is a participant's active one lives in memory only (a restart
 * closes every connection), so one process serves one database file.
 *
 * @packageDocumentation
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { ConcordError } from '../../sim/index.ts';
import { type Condition, checkCondition, conditionKey } from './conditions.ts';
import type { Experiment } from './load.ts';
import {
  type Arrival,
  applyStep,
  checkArrival,
  checkSeat,
  checkWaited,
  conditionValues,
  decide,
  decideRemoval,
  enrol,
  type FlowAction,
  type GameEnd,
  type IdSource,
  type LeftWith,
  type Now,
  PARTICIPANT_ID_PATTERN,
  type PageAction,
  type ParticipantRecord,
  type Seat,
  type Step,
  whatNow,
} from './participant-flow.ts';
import { type Outcome, showValue } from './schema.ts';
import type { AnswerValue } from './survey.ts';

/** The schema version this code writes; a file of a higher version is refused. */
export const DATABASE_SCHEMA_VERSION = 3;

/**
 * The schema, by version: `MIGRATIONS[v - 1]` takes a file from version v-1 to v. Append only;
 * each runs in the transaction that records its version.
 */
const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
  ) STRICT;
  CREATE TABLE participants (
    id              TEXT PRIMARY KEY,
    id_source       TEXT NOT NULL CHECK (id_source IN ('prolific', 'participant', 'generated')),
    prolific_pid    TEXT,
    study_id        TEXT,
    session_id      TEXT,
    arrival         INTEGER NOT NULL UNIQUE CHECK (arrival >= 0),
    cell            INTEGER NOT NULL CHECK (cell >= 0),
    condition_key   TEXT NOT NULL,
    condition_json  TEXT NOT NULL,
    values_json     TEXT NOT NULL,
    scene_index     INTEGER NOT NULL CHECK (scene_index >= 0),
    scene_id        TEXT NOT NULL,
    outcome         TEXT CHECK (outcome IN ('completed', 'timeout', 'partnerLeft', 'declined')),
    completion_code TEXT,
    enrolled_ms     INTEGER NOT NULL,
    finished_ms     INTEGER
  ) STRICT;
  CREATE TABLE scene_visits (
    participant_id TEXT NOT NULL REFERENCES participants (id),
    scene_index    INTEGER NOT NULL,
    scene_id       TEXT NOT NULL,
    entered_ms     INTEGER NOT NULL,
    left_ms        INTEGER,
    left_with      TEXT CHECK (left_with IN ('completed', 'timeout', 'partnerLeft', 'declined')),
    waited_ms      INTEGER NOT NULL DEFAULT 0 CHECK (waited_ms >= 0),
    PRIMARY KEY (participant_id, scene_index)
  ) STRICT;
  CREATE TABLE survey_answers (
    participant_id TEXT NOT NULL REFERENCES participants (id),
    scene_id       TEXT NOT NULL,
    question_id    TEXT NOT NULL,
    value          ANY NOT NULL,
    answered_ms    INTEGER NOT NULL,
    PRIMARY KEY (participant_id, scene_id, question_id)
  ) STRICT;
  CREATE TABLE match_seats (
    participant_id TEXT NOT NULL REFERENCES participants (id),
    scene_id       TEXT NOT NULL,
    episode        INTEGER NOT NULL CHECK (episode >= 0),
    match_id       TEXT NOT NULL,
    slot           INTEGER NOT NULL CHECK (slot >= 0),
    seated_ms      INTEGER NOT NULL,
    PRIMARY KEY (participant_id, scene_id, episode),
    UNIQUE (match_id, slot)
  ) STRICT;
  `,
  // Version 2: a participant may hold several seats for one episode, one per match: a match
  // that died with the relay (a restart) or lost them is replaced by a new one.
  `
  CREATE TABLE match_seats_v2 (
    participant_id TEXT NOT NULL REFERENCES participants (id),
    scene_id       TEXT NOT NULL,
    episode        INTEGER NOT NULL CHECK (episode >= 0),
    match_id       TEXT NOT NULL,
    slot           INTEGER NOT NULL CHECK (slot >= 0),
    seated_ms      INTEGER NOT NULL,
    PRIMARY KEY (participant_id, match_id),
    UNIQUE (match_id, slot)
  ) STRICT;
  INSERT INTO match_seats_v2 SELECT participant_id, scene_id, episode, match_id, slot, seated_ms FROM match_seats;
  DROP TABLE match_seats;
  ALTER TABLE match_seats_v2 RENAME TO match_seats;
  `,
  // Version 3: the outcome `removed` (an administrator removed the participant), with the
  // administrator's reason. SQLite cannot change a CHECK in place: the two tables are rebuilt
  // (foreign keys are off while migrations run, and checked after).
  `
  CREATE TABLE participants_v3 (
    id              TEXT PRIMARY KEY,
    id_source       TEXT NOT NULL CHECK (id_source IN ('prolific', 'participant', 'generated')),
    prolific_pid    TEXT,
    study_id        TEXT,
    session_id      TEXT,
    arrival         INTEGER NOT NULL UNIQUE CHECK (arrival >= 0),
    cell            INTEGER NOT NULL CHECK (cell >= 0),
    condition_key   TEXT NOT NULL,
    condition_json  TEXT NOT NULL,
    values_json     TEXT NOT NULL,
    scene_index     INTEGER NOT NULL CHECK (scene_index >= 0),
    scene_id        TEXT NOT NULL,
    outcome         TEXT CHECK (outcome IN ('completed', 'timeout', 'partnerLeft', 'declined', 'removed')),
    completion_code TEXT,
    enrolled_ms     INTEGER NOT NULL,
    finished_ms     INTEGER,
    removed_reason  TEXT
  ) STRICT;
  INSERT INTO participants_v3 (id, id_source, prolific_pid, study_id, session_id, arrival, cell,
      condition_key, condition_json, values_json, scene_index, scene_id, outcome, completion_code,
      enrolled_ms, finished_ms)
    SELECT id, id_source, prolific_pid, study_id, session_id, arrival, cell, condition_key,
      condition_json, values_json, scene_index, scene_id, outcome, completion_code, enrolled_ms,
      finished_ms
    FROM participants;
  CREATE TABLE scene_visits_v3 (
    participant_id TEXT NOT NULL REFERENCES participants (id),
    scene_index    INTEGER NOT NULL,
    scene_id       TEXT NOT NULL,
    entered_ms     INTEGER NOT NULL,
    left_ms        INTEGER,
    left_with      TEXT CHECK (left_with IN ('completed', 'timeout', 'partnerLeft', 'declined', 'removed')),
    waited_ms      INTEGER NOT NULL DEFAULT 0 CHECK (waited_ms >= 0),
    PRIMARY KEY (participant_id, scene_index)
  ) STRICT;
  INSERT INTO scene_visits_v3 SELECT participant_id, scene_index, scene_id, entered_ms, left_ms,
    left_with, waited_ms FROM scene_visits;
  DROP TABLE scene_visits;
  DROP TABLE participants;
  ALTER TABLE participants_v3 RENAME TO participants;
  ALTER TABLE scene_visits_v3 RENAME TO scene_visits;
  `,
];

/** The database file of an experiment in a data directory: `<dataDir>/<experiment id>.sqlite`. */
export function databaseFile(dataDir: string, experimentId: string): string {
  return path.join(dataDir, `${experimentId}.sqlite`);
}

/** Options of {@link ParticipantDatabase.open}. */
export interface DatabaseOptions {
  /** The clock, in ms since the epoch (default `Date.now`); tests pass their own. */
  readonly now?: () => number;
}

/** One scene visit: a participant entered a scene, and maybe left it. Times in ms since the epoch. */
export interface SceneVisit {
  /** The scene's index in the experiment. */
  readonly sceneIndex: number;
  /** The scene's id. */
  readonly sceneId: string;
  /** When the participant entered it. */
  readonly enteredMs: number;
  /** When they left it; null while they are in it (always null for the end scene). */
  readonly leftMs: number | null;
  /** How they left it; null while they are in it. */
  readonly leftWith: LeftWith | null;
  /** Time spent in the scene's waiting room, in ms (0 for other scenes). */
  readonly waitedMs: number;
}

/** One stored survey answer. */
export interface StoredAnswer {
  /** The survey scene's id. */
  readonly sceneId: string;
  /** The question's id. */
  readonly questionId: string;
  /** The answer: an integer for likert, the option or the text otherwise. */
  readonly value: AnswerValue;
  /** When it was written, in ms since the epoch. */
  readonly answeredMs: number;
}

/** One stored match seat. */
export interface StoredSeat extends Seat {
  /** When the relay reported it, in ms since the epoch. */
  readonly seatedMs: number;
}

/** What a step returns: the record as committed, and what the participant may do now. */
export interface StepResult {
  /** The step that was written. */
  readonly step: Step;
  /** The participant's record after it. */
  readonly record: ParticipantRecord;
  /** What the participant may do now (the page shows `now.scene`). */
  readonly now: Now;
}

/** What {@link ParticipantDatabase.arrive} returns. */
export interface ArriveResult {
  /** The participant's record, new or as stored. */
  readonly record: ParticipantRecord;
  /** What they may do now: the scene to show (for a returning one, the scene they were in). */
  readonly now: Now;
  /** True when the participant was enrolled by this call, false when they returned. */
  readonly enrolled: boolean;
}

interface ParticipantRow {
  id: string;
  id_source: IdSource;
  study_id: string | null;
  session_id: string | null;
  arrival: number;
  cell: number;
  condition_json: string;
  scene_index: number;
  scene_id: string;
  outcome: Outcome | null;
  completion_code: string | null;
}

const TAB_ID = PARTICIPANT_ID_PATTERN;

/**
 * The participant database of one experiment. Open it with {@link ParticipantDatabase.open};
 * every method that changes something commits one transaction before it returns. Methods that
 * a page's request reaches take the participant id and the tab id from the connection (never
 * from the request's body) and touch no other participant's rows.
 */
export class ParticipantDatabase {
  /** The database file's absolute path. */
  readonly file: string;
  /** The experiment it belongs to. */
  readonly experiment: Experiment;
  readonly #db: Database.Database;
  readonly #now: () => number;
  /** Participant id → the id of their active tab. */
  readonly #tabs = new Map<string, string>();

  private constructor(
    experiment: Experiment,
    file: string,
    db: Database.Database,
    now: () => number,
  ) {
    this.experiment = experiment;
    this.file = file;
    this.#db = db;
    this.#now = now;
  }

  /**
   * Opens (creating it and `dataDir` when missing) the database of `experiment` at
   * {@link databaseFile}`(dataDir, experiment.id)`, and resumes it: every participant is
   * read back as stored.
   * @throws ConcordError `BAD_DATABASE` when the file is of another experiment, of a newer
   *   schema version, its condition cells differ from the experiment's, or a participant's
   *   scene is no longer at the same place in the experiment (the message says which and what
   *   to do), or the file cannot be opened or is not an SQLite database.
   */
  static open(
    experiment: Experiment,
    dataDir: string,
    options: DatabaseOptions = {},
  ): ParticipantDatabase {
    mkdirSync(dataDir, { recursive: true });
    const file = path.resolve(databaseFile(dataDir, experiment.id));
    let db: Database.Database;
    try {
      db = new Database(file);
    } catch (err) {
      throw new ConcordError('BAD_DATABASE', `${file}: cannot open: ${(err as Error).message}`);
    }
    try {
      db.pragma('journal_mode = WAL');
      // FULL: a commit is on disk before it returns, even if the machine loses power (NORMAL
      // in WAL mode is safe against a killed process but may lose the last commits then).
      db.pragma('synchronous = FULL');
      // Off while migrations rebuild tables (SQLite's way to change a table: a new one, copied,
      // renamed), on from then on; the migration checks every reference before it commits.
      db.pragma('foreign_keys = OFF');
      const out = new ParticipantDatabase(experiment, file, db, options.now ?? Date.now);
      out.#migrate();
      db.pragma('foreign_keys = ON');
      out.#checkFits();
      return out;
    } catch (err) {
      db.close();
      if (err instanceof ConcordError) throw err;
      // Not SQLite, or damaged: say which file, with SQLite's own words.
      throw new ConcordError('BAD_DATABASE', `${file}: ${(err as Error).message}`);
    }
  }

  /** The schema version of the open file. */
  get schemaVersion(): number {
    const row = this.#db.prepare('SELECT max(version) AS v FROM schema_version').get() as {
      v: number | null;
    };
    return row.v ?? 0;
  }

  /** The SQLite journal mode in force (`wal`). */
  get journalMode(): string {
    return String(this.#db.pragma('journal_mode', { simple: true }));
  }

  #migrate(): void {
    const db = this.#db;
    db.transaction(() => {
      db.exec(
        'CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_ms INTEGER NOT NULL) STRICT',
      );
      const have = this.schemaVersion;
      if (have > DATABASE_SCHEMA_VERSION) {
        throw new ConcordError(
          'BAD_DATABASE',
          `${this.file}: schema version ${have}, newer than this Concord's ${DATABASE_SCHEMA_VERSION}; open it with a newer Concord`,
        );
      }
      for (let v = have + 1; v <= DATABASE_SCHEMA_VERSION; v++) {
        db.exec(MIGRATIONS[v - 1]);
        db.prepare('INSERT INTO schema_version (version, applied_ms) VALUES (?, ?)').run(
          v,
          this.#now(),
        );
      }
      const broken = db.pragma('foreign_key_check') as { table: string; rowid: number }[];
      if (broken.length > 0) {
        throw new ConcordError(
          'BAD_DATABASE',
          `${this.file}: ${broken.length} rows refer to a missing row (the first in table ${broken[0].table}, rowid ${broken[0].rowid})`,
        );
      }
      const meta = db.prepare('INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)');
      meta.run('experiment_id', this.experiment.id);
      meta.run('cells', JSON.stringify(this.#cellKeys()));
    }).immediate();
  }

  #cellKeys(): string[] {
    return this.experiment.cells.map((c) => conditionKey(this.experiment.factors, c));
  }

  #meta(key: string): string | null {
    const row = this.#db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as
      | { value: string }
      | undefined;
    return row?.value ?? null;
  }

  /** Refuses a file whose experiment, cells or participants' scenes differ from `experiment`. */
  #checkFits(): void {
    const e = this.experiment;
    const id = this.#meta('experiment_id');
    if (id !== e.id) {
      throw new ConcordError(
        'BAD_DATABASE',
        `${this.file} holds experiment "${id}", not "${e.id}"`,
      );
    }
    const cells = this.#meta('cells');
    if (cells !== JSON.stringify(this.#cellKeys())) {
      throw new ConcordError(
        'BAD_DATABASE',
        `${this.file}: the experiment's condition cells changed since participants were assigned (${cells} then, ${JSON.stringify(this.#cellKeys())} now); restore the conditions or use a new data directory`,
      );
    }
    const rows = this.#db
      .prepare('SELECT id, scene_index, scene_id FROM participants ORDER BY arrival')
      .all() as { id: string; scene_index: number; scene_id: string }[];
    for (const r of rows) {
      const scene = e.scenes[r.scene_index];
      if (scene?.id !== r.scene_id) {
        throw new ConcordError(
          'BAD_DATABASE',
          `${this.file}: participant ${r.id} is in scene "${r.scene_id}" (index ${r.scene_index}), but the experiment's scene ${r.scene_index} is ${scene ? `"${scene.id}"` : 'missing'}; restore the scenes' order or use a new data directory`,
        );
      }
    }
  }

  #toRecord(row: ParticipantRow): ParticipantRecord {
    let condition: Condition;
    try {
      condition = checkCondition(this.experiment.factors, JSON.parse(row.condition_json));
    } catch (err) {
      throw new ConcordError(
        'BAD_DATABASE',
        `${this.file}: participant ${row.id}: ${(err as Error).message}`,
      );
    }
    return {
      id: row.id,
      source: row.id_source,
      studyId: row.study_id,
      sessionId: row.session_id,
      arrival: row.arrival,
      cell: row.cell,
      condition,
      sceneIndex: row.scene_index,
      outcome: row.outcome,
      completionCode: row.completion_code,
    };
  }

  /** The participant with this id, or null. */
  find(id: string): ParticipantRecord | null {
    const row = this.#db.prepare('SELECT * FROM participants WHERE id = ?').get(id) as
      | ParticipantRow
      | undefined;
    return row === undefined ? null : this.#toRecord(row);
  }

  /**
   * The participant with this id.
   * @throws ConcordError `UNKNOWN_PARTICIPANT` when there is none.
   */
  participant(id: string): ParticipantRecord {
    const r = this.find(id);
    if (r === null) {
      throw new ConcordError(
        'UNKNOWN_PARTICIPANT',
        `no participant ${showValue(id)} in experiment "${this.experiment.id}"`,
      );
    }
    return r;
  }

  /** Every participant, in arrival order. */
  participants(): ParticipantRecord[] {
    const rows = this.#db
      .prepare('SELECT * FROM participants ORDER BY arrival')
      .all() as ParticipantRow[];
    return rows.map((r) => this.#toRecord(r));
  }

  /** The participants who have not reached the end scene, in arrival order: those to resume. */
  midStudy(): ParticipantRecord[] {
    const end = this.experiment.scenes.length - 1;
    const rows = this.#db
      .prepare('SELECT * FROM participants WHERE scene_index < ? ORDER BY arrival')
      .all(end) as ParticipantRow[];
    return rows.map((r) => this.#toRecord(r));
  }

  /** What the participant may do now (their scene, its next, the code at the end). */
  now(id: string): Now {
    return whatNow(this.experiment, this.participant(id));
  }

  /**
   * Enrols a new participant: the next arrival, the next balanced condition cell, in the first
   * scene (whose visit starts now). One transaction.
   * @throws ConcordError `DUPLICATE_PARTICIPANT` when the id is enrolled already; `BAD_STEP`
   *   for malformed ids.
   */
  enrol(arrival: Arrival): ParticipantRecord {
    const a = checkArrival(arrival);
    return this.#db
      .transaction(() => {
        if (this.find(a.id) !== null) {
          throw new ConcordError(
            'DUPLICATE_PARTICIPANT',
            `participant ${a.id} is enrolled in experiment "${this.experiment.id}" already`,
          );
        }
        return this.#insert(a);
      })
      .immediate();
  }

  #insert(a: Arrival): ParticipantRecord {
    const cells = (
      this.#db.prepare('SELECT cell FROM participants ORDER BY arrival').all() as { cell: number }[]
    ).map((r) => r.cell);
    const record = enrol(this.experiment, a, cells);
    const t = this.#now();
    const scene = this.experiment.scenes[record.sceneIndex];
    this.#db
      .prepare(
        `INSERT INTO participants (id, id_source, prolific_pid, study_id, session_id, arrival, cell,
           condition_key, condition_json, values_json, scene_index, scene_id, outcome,
           completion_code, enrolled_ms, finished_ms)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        record.id,
        record.source,
        record.source === 'prolific' ? record.id : null,
        record.studyId,
        record.sessionId,
        record.arrival,
        record.cell,
        conditionKey(this.experiment.factors, record.condition),
        JSON.stringify(record.condition),
        JSON.stringify(conditionValues(this.experiment, record.condition)),
        record.sceneIndex,
        scene.id,
        record.outcome,
        record.completionCode,
        t,
        record.completionCode === null ? null : t,
      );
    this.#enterVisit(record.id, record.sceneIndex, t);
    return record;
  }

  #enterVisit(id: string, sceneIndex: number, t: number): void {
    this.#db
      .prepare(
        'INSERT INTO scene_visits (participant_id, scene_index, scene_id, entered_ms) VALUES (?, ?, ?, ?)',
      )
      .run(id, sceneIndex, this.experiment.scenes[sceneIndex].id, t);
  }

  /**
   * A participant's page opens: enrols them if new, or resumes them (same scene, same
   * condition; a finished one sees their code again), and makes `tabId` their active tab.
   * One transaction.
   * @param tabId the page's tab id (1–128 of `A-Z a-z 0-9 _ -`), kept by the page across
   *   reloads (sessionStorage) or new on each load
   * @throws ConcordError `SESSION_MISMATCH` when a known id arrives with another Prolific
   *   `STUDY_ID` or `SESSION_ID`; `SECOND_TAB` when another tab of this participant is active;
   *   `BAD_STEP` for malformed ids.
   */
  arrive(arrival: Arrival, tabId: string): ArriveResult {
    const a = checkArrival(arrival);
    this.#checkTabId(tabId);
    const result = this.#db
      .transaction((): { record: ParticipantRecord; enrolled: boolean } => {
        const known = this.find(a.id);
        if (known === null) return { record: this.#insert(a), enrolled: true };
        for (const [field, name] of [
          ['studyId', 'STUDY_ID'],
          ['sessionId', 'SESSION_ID'],
        ] as const) {
          if (known[field] !== null && a[field] !== null && known[field] !== a[field]) {
            throw new ConcordError(
              'SESSION_MISMATCH',
              `participant ${a.id} is enrolled with ${name} ${known[field]}, not ${a[field]}`,
            );
          }
        }
        return { record: known, enrolled: false };
      })
      .immediate();
    this.claimTab(a.id, tabId);
    return { ...result, now: whatNow(this.experiment, result.record) };
  }

  #checkTabId(tabId: string): void {
    if (typeof tabId !== 'string' || !TAB_ID.test(tabId)) {
      throw new ConcordError(
        'BAD_STEP',
        `tab id: must be 1–128 characters of A-Z a-z 0-9 _ -, got ${showValue(tabId)}`,
      );
    }
  }

  /**
   * Makes `tabId` the participant's active tab (again, for the same tab).
   * @throws ConcordError `UNKNOWN_PARTICIPANT`; `SECOND_TAB` when another tab is active: that
   *   tab is told so and does nothing until the active one is released.
   */
  claimTab(id: string, tabId: string): void {
    this.#checkTabId(tabId);
    this.participant(id);
    const active = this.#tabs.get(id);
    if (active !== undefined && active !== tabId) {
      throw new ConcordError(
        'SECOND_TAB',
        `participant ${id} has the study open in another tab; this tab does nothing (close the other tab, or this one)`,
      );
    }
    this.#tabs.set(id, tabId);
  }

  /** Releases the participant's active tab when it is `tabId` (its connection closed). */
  releaseTab(id: string, tabId: string): void {
    if (this.#tabs.get(id) === tabId) this.#tabs.delete(id);
  }

  /** The participant's active tab id, or null. */
  activeTab(id: string): string | null {
    return this.#tabs.get(id) ?? null;
  }

  /**
   * A step from the participant's page (accept, decline, continue, answer), from their active
   * tab (a tab that acts while none is active becomes the active one): decided by the participant flow from the stored record and written in one
   * transaction (the scene left, survey answers, the scene entered, outcome and code).
   * @param action as parsed by `parsePageAction` (the page's raw message must go through it)
   * @throws ConcordError `UNKNOWN_PARTICIPANT`; `SECOND_TAB` when `tabId` is not the active tab;
   *   `BAD_STEP` or `BAD_ANSWER` as `decide` (nothing is written then).
   */
  act(id: string, tabId: string, action: PageAction): StepResult {
    this.claimTab(id, tabId);
    if ((action as FlowAction).type === 'gameEnd') {
      throw new ConcordError('BAD_STEP', 'a page cannot end a game; the relay does');
    }
    return this.#step(id, action);
  }

  /**
   * The relay ends a game scene for a participant: `completed`, `timeout` or `partnerLeft`.
   * @throws ConcordError `UNKNOWN_PARTICIPANT`; `BAD_STEP` when they are not in that game scene
   *   or it cannot end so under their condition.
   */
  endGame(id: string, sceneId: string, outcome: GameEnd['outcome']): StepResult {
    return this.#step(id, { type: 'gameEnd', scene: sceneId, outcome });
  }

  /**
   * An administrator removes a participant: their study ends at once with outcome `removed`
   * (from whatever scene they are in, to the end scene, with `completionCodes.removed` or no
   * code) and the reason is kept in `participants.removed_reason`. One transaction. Only the
   * study server calls it (the admin view's action); nothing a page sends leads here.
   * @param reason the administrator's words, 1–500 characters
   * @throws ConcordError `UNKNOWN_PARTICIPANT`; `BAD_STEP` when they have finished already or
   *   the reason is not 1–500 characters.
   */
  remove(id: string, reason: string): StepResult {
    if (typeof reason !== 'string' || reason.length < 1 || reason.length > 500) {
      throw new ConcordError(
        'BAD_STEP',
        `reason: must be 1–500 characters, got ${showValue(reason)}`,
      );
    }
    return this.#db
      .transaction((): StepResult => {
        const record = this.participant(id);
        const step = decideRemoval(this.experiment, record);
        const after = applyStep(record, step);
        this.#write(after, step);
        this.#db.prepare('UPDATE participants SET removed_reason = ? WHERE id = ?').run(reason, id);
        return { step, record: after, now: whatNow(this.experiment, after) };
      })
      .immediate();
  }

  /** Why an administrator removed the participant, or null when they were not removed. */
  removedReason(id: string): string | null {
    const row = this.#db
      .prepare('SELECT removed_reason AS r FROM participants WHERE id = ?')
      .get(id) as { r: string | null } | undefined;
    return row?.r ?? null;
  }

  #step(id: string, action: FlowAction): StepResult {
    return this.#db
      .transaction((): StepResult => {
        const record = this.participant(id);
        const step = decide(this.experiment, record, action);
        const after = applyStep(record, step);
        this.#write(after, step);
        return { step, record: after, now: whatNow(this.experiment, after) };
      })
      .immediate();
  }

  #write(after: ParticipantRecord, step: Step): void {
    const db = this.#db;
    const t = this.#now();
    const left = db
      .prepare(
        'UPDATE scene_visits SET left_ms = ?, left_with = ? WHERE participant_id = ? AND scene_index = ? AND left_ms IS NULL',
      )
      .run(t, step.leftWith, after.id, step.from);
    if (left.changes !== 1) {
      throw new ConcordError(
        'BAD_DATABASE',
        `${this.file}: participant ${after.id} has no open visit of scene index ${step.from}`,
      );
    }
    if (step.answers !== null) {
      const scene = this.experiment.scenes[step.from].id;
      const insert = db.prepare(
        'INSERT INTO survey_answers (participant_id, scene_id, question_id, value, answered_ms) VALUES (?, ?, ?, ?, ?)',
      );
      // A likert answer is bound as a BigInt so that SQLite stores an INTEGER, not a REAL.
      for (const [q, v] of Object.entries(step.answers)) {
        insert.run(after.id, scene, q, typeof v === 'number' ? BigInt(v) : v, t);
      }
    }
    // At the end scene (a removal without a `removed` code has none, but is finished too).
    const atEnd = after.sceneIndex === this.experiment.scenes.length - 1;
    db.prepare(
      'UPDATE participants SET scene_index = ?, scene_id = ?, outcome = ?, completion_code = ?, finished_ms = ? WHERE id = ?',
    ).run(
      after.sceneIndex,
      this.experiment.scenes[after.sceneIndex].id,
      after.outcome,
      after.completionCode,
      atEnd ? t : null,
      after.id,
    );
    this.#enterVisit(after.id, after.sceneIndex, t);
  }

  /**
   * The relay seats a participant in a match of their current game scene. Reporting the same
   * seat again (a rejoin) changes nothing; a seat in another match for the same episode is a
   * new row (the match before died with the relay, or went on without them).
   * @throws ConcordError `UNKNOWN_PARTICIPANT`; `BAD_STEP` when they are not in that game
   *   scene, the slot or episode does not exist under their condition, they hold another slot
   *   of that match, or another participant holds that seat.
   */
  recordSeat(id: string, seat: Seat): StoredSeat {
    return this.#db
      .transaction((): StoredSeat => {
        const s = checkSeat(this.experiment, this.participant(id), seat);
        const held = this.seats(id).find((x) => x.matchId === s.matchId);
        if (held !== undefined) {
          if (held.slot === s.slot && held.episode === s.episode) return held;
          throw new ConcordError(
            'BAD_STEP',
            `participant ${id} holds slot ${held.slot} of match ${held.matchId} (episode ${held.episode} of "${held.scene}") already`,
          );
        }
        const other = this.#db
          .prepare('SELECT participant_id AS p FROM match_seats WHERE match_id = ? AND slot = ?')
          .get(s.matchId, s.slot) as { p: string } | undefined;
        if (other !== undefined) {
          throw new ConcordError(
            'BAD_STEP',
            `slot ${s.slot} of match ${s.matchId} is another participant's`,
          );
        }
        const t = this.#now();
        this.#db
          .prepare(
            'INSERT INTO match_seats (participant_id, scene_id, episode, match_id, slot, seated_ms) VALUES (?, ?, ?, ?, ?, ?)',
          )
          .run(id, s.scene, s.episode, s.matchId, s.slot, t);
        return { ...s, seatedMs: t };
      })
      .immediate();
  }

  /**
   * Adds time the participant waited in the waiting room of their current game scene.
   * @param waitedMs ms waited, an integer 0–86 400 000
   * @returns the scene visit's total time waited, in ms
   * @throws ConcordError `UNKNOWN_PARTICIPANT`; `BAD_STEP` when they are not in that game scene
   *   or the time is out of range.
   */
  recordWaited(id: string, sceneId: string, waitedMs: number): number {
    return this.#db
      .transaction((): number => {
        const record = this.participant(id);
        checkWaited(this.experiment, record, sceneId, waitedMs);
        this.#db
          .prepare(
            'UPDATE scene_visits SET waited_ms = waited_ms + ? WHERE participant_id = ? AND scene_index = ?',
          )
          .run(waitedMs, id, record.sceneIndex);
        const row = this.#db
          .prepare(
            'SELECT waited_ms AS w FROM scene_visits WHERE participant_id = ? AND scene_index = ?',
          )
          .get(id, record.sceneIndex) as { w: number };
        return row.w;
      })
      .immediate();
  }

  /** The participant's scene visits, in order. */
  visits(id: string): SceneVisit[] {
    const rows = this.#db
      .prepare(
        'SELECT scene_index, scene_id, entered_ms, left_ms, left_with, waited_ms FROM scene_visits WHERE participant_id = ? ORDER BY scene_index',
      )
      .all(id) as {
      scene_index: number;
      scene_id: string;
      entered_ms: number;
      left_ms: number | null;
      left_with: LeftWith | null;
      waited_ms: number;
    }[];
    return rows.map((r) => ({
      sceneIndex: r.scene_index,
      sceneId: r.scene_id,
      enteredMs: r.entered_ms,
      leftMs: r.left_ms,
      leftWith: r.left_with,
      waitedMs: r.waited_ms,
    }));
  }

  /** The participant's survey answers, by scene then question order of writing. */
  answers(id: string): StoredAnswer[] {
    const rows = this.#db
      .prepare(
        'SELECT scene_id, question_id, value, answered_ms FROM survey_answers WHERE participant_id = ? ORDER BY rowid',
      )
      .all(id) as {
      scene_id: string;
      question_id: string;
      value: AnswerValue;
      answered_ms: number;
    }[];
    return rows.map((r) => ({
      sceneId: r.scene_id,
      questionId: r.question_id,
      value: r.value,
      answeredMs: r.answered_ms,
    }));
  }

  /** The participant's match seats, by scene and episode. */
  seats(id: string): StoredSeat[] {
    const rows = this.#db
      .prepare(
        'SELECT scene_id, episode, match_id, slot, seated_ms FROM match_seats WHERE participant_id = ? ORDER BY rowid',
      )
      .all(id) as {
      scene_id: string;
      episode: number;
      match_id: string;
      slot: number;
      seated_ms: number;
    }[];
    return rows.map((r) => ({
      scene: r.scene_id,
      episode: r.episode,
      matchId: r.match_id,
      slot: r.slot,
      seatedMs: r.seated_ms,
    }));
  }

  /** Closes the file (checkpointing the WAL). Further calls throw. */
  close(): void {
    this.#tabs.clear();
    this.#db.close();
  }
}
