/**
 * `concord export DATA_DIR`: a study's data directory (`<experiment id>.sqlite` and `logs/`)
 * turned into tidy tables: `participants.csv`, `matches.csv`, per match
 * `matches/<match id>/frames.csv` and `frames.jsonl` (every row from replaying the match's log),
 * and `codebook.md`. See docs/your-data.md.
 *
 * @packageDocumentation
 */
import { existsSync, statSync } from 'node:fs';
import { mkdir, readdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { type ActionMap, type ActionTable, createActionMap } from '../../sim/index.ts';
import {
  databaseFile,
  type Experiment,
  loadExperiment,
  ParticipantDatabase,
} from '../experiment/index.ts';
import type { HeaderRecord } from '../log/index.ts';
import { type CodebookSection, codebookMarkdown } from './codebook.ts';
import { type Column, column } from './columns.ts';
import { type CsvValue, csvRecord } from './csv.ts';
import { ExportError } from './errors.ts';
import { framesCsv, framesJsonl, type MatchFrames, matchFrames } from './frames.ts';
import { participantsTable, type Table } from './participants.ts';

/** Settings of {@link exportDataDir}. */
export interface ExportOptions {
  /** Where to write (created if missing; files of the same names are replaced). Default `<dataDir>/export`. */
  readonly out?: string;
  /** The state as JSON every this many frames (`--states-every N`); 0 or absent: none. */
  readonly statesEvery?: number;
  /**
   * The experiment the study ran: a file to load, or one loaded. Needed when the data directory
   * holds a participant database (the database stores the experiment's id and condition cells,
   * not the file, whose scenes and questions lay out `participants.csv`); its database is
   * `<dataDir>/<experiment id>.sqlite`. Without one, a directory of logs only is exported without
   * `participants.csv`.
   */
  readonly experiment?: string | Experiment;
  /** Told of each file as it is written (the CLI prints it). */
  readonly onFile?: (file: string) => void;
}

/** One match as exported. */
export interface ExportedMatch {
  readonly matchId: string;
  /** Rows of its frame table (frames 0..final). */
  readonly rows: number;
  /** Recorded hashes the replay reproduced. */
  readonly checks: number;
}

/** What {@link exportDataDir} wrote. */
export interface ExportSummary {
  /** The output directory, absolute. */
  readonly out: string;
  /** Every file written, relative to `out`, in the order written. */
  readonly files: readonly string[];
  /** Participants exported (0 without a database). */
  readonly participants: number;
  readonly matches: readonly ExportedMatch[];
  /** Things a researcher should know (a log cut by a crash, a sim whose source changed), one line each. */
  readonly warnings: readonly string[];
}

/**
 * Exports a study's data directory. Writes `participants.csv` first (when there is a database),
 * then each match's frame tables, one match at a time in match id order, and `matches.csv` and
 * `codebook.md` last: an export that stopped lacks them.
 *
 * @param dataDir the study's data directory: `<experiment id>.sqlite` and `logs/*.jsonl`
 * @throws ExportError `NOT_FOUND` when `dataDir` is not a directory, or the experiment's database
 *   is not in it; `NO_EXPERIMENT` when it holds a database and no experiment was given;
 *   `REPLAY_MISMATCH` naming the match and frame where a replay does not reproduce a recorded hash;
 *   `DAMAGED_LOG` naming the match and line of a damaged log; `BAD_OPTION` for `statesEvery`.
 *   ConcordError `BAD_CONFIG` for an experiment file that does not load, `BAD_DATABASE` for a
 *   database that is not that experiment's; LogError for a log without a valid header.
 */
export async function exportDataDir(
  dataDir: string,
  options: ExportOptions = {},
): Promise<ExportSummary> {
  if (!existsSync(dataDir) || !statSync(dataDir).isDirectory()) {
    throw new ExportError('NOT_FOUND', `no data directory ${dataDir}`);
  }
  const out = path.resolve(options.out ?? path.join(dataDir, 'export'));
  const files: string[] = [];
  const warnings: string[] = [];
  const write = async (rel: string, text: string) => {
    const file = path.join(out, rel);
    await mkdir(path.dirname(file), { recursive: true });
    // Written beside, then renamed: a file of the export is whole or absent.
    await writeFile(`${file}.partial`, text);
    await rename(`${file}.partial`, file);
    files.push(rel);
    options.onFile?.(file);
  };

  const sections: CodebookSection[] = [];
  const experiment =
    typeof options.experiment === 'string'
      ? loadExperiment(options.experiment)
      : options.experiment;
  let participants = 0;
  if (experiment) {
    const dbFile = databaseFile(dataDir, experiment.id);
    if (!existsSync(dbFile)) {
      throw new ExportError(
        'NOT_FOUND',
        `${dataDir} holds no database of experiment "${experiment.id}" (${path.basename(dbFile)})`,
      );
    }
    const db = ParticipantDatabase.open(experiment, dataDir);
    let table: Table;
    try {
      table = participantsTable(db);
    } finally {
      db.close();
    }
    participants = table.rows.length;
    await write('participants.csv', tableCsv(table));
    sections.push({
      file: 'participants.csv',
      about: 'One row per participant, in arrival order.',
      columns: table.columns,
    });
  } else {
    const databases = (await readdir(dataDir)).filter((f) => f.endsWith('.sqlite'));
    if (databases.length > 0) {
      throw new ExportError(
        'NO_EXPERIMENT',
        `${dataDir} holds the participant database ${databases.join(', ')}: give the experiment file the study ran (--experiment FILE); the database does not store it`,
      );
    }
  }

  const logsDir = path.join(dataDir, 'logs');
  const logs = existsSync(logsDir)
    ? (await readdir(logsDir)).filter((f) => f.endsWith('.jsonl')).sort()
    : [];
  const matches: ExportedMatch[] = [];
  const matchRows: CsvValue[][] = [];
  const frameColumns: Column[] = [];
  for (const name of logs) {
    const frames = await matchFrames(path.join(logsDir, name), {
      statesEvery: options.statesEvery,
      actionsFor: experiment
        ? (header, table) => sceneActions(experiment, header, table)
        : undefined,
    });
    const dir = `matches/${frames.matchId}`;
    await write(`${dir}/frames.csv`, framesCsv(frames));
    await write(`${dir}/frames.jsonl`, framesJsonl(frames));
    frameColumns.push(...frames.columns);
    matchRows.push(matchRow(frames, dir));
    matches.push({
      matchId: frames.matchId,
      rows: frames.rows.length,
      checks: frames.replay.checks,
    });
    warnings.push(...matchWarnings(frames));
  }
  await write('matches.csv', tableCsv({ columns: MATCH_COLUMNS, rows: matchRows }));
  sections.push({
    file: 'matches.csv',
    about: 'One row per match log in `logs/`, in match id order.',
    columns: MATCH_COLUMNS,
  });
  if (frameColumns.length > 0) {
    sections.push({
      file: 'matches/<match_id>/frames.csv and frames.jsonl',
      about:
        'One row per frame of the match, from replaying its log; both files hold the same rows and columns (a match has the `p<slot>_…` columns of its own players, and the reward columns only for a Python environment). Every recorded state hash was reproduced by the replay.',
      columns: frameColumns,
    });
  }
  await write(
    'codebook.md',
    codebookMarkdown(`Codebook of ${path.basename(path.resolve(dataDir))}`, sections),
  );
  return { out, files, participants, matches, warnings };
}

/**
 * The keys and actions of the experiment's game scene that a match was played in (the relay's
 * scene named as the game scene's id), over the sim's named actions `simActions`, for a log whose
 * header does not carry them; null when no game scene has that id, or its actions do not fit.
 */
function sceneActions(
  experiment: Experiment,
  header: HeaderRecord,
  simActions: ActionTable,
): ActionMap | null {
  const scene = experiment.scenes.find((s) => s.kind === 'game' && s.id === header.scene.name);
  if (scene?.kind !== 'game') return null;
  try {
    return createActionMap(
      { actions: scene.actions, defaultAction: scene.defaultAction },
      simActions,
    );
  } catch {
    return null; // the scene changed since the match: the sim's own names
  }
}

/** The CSV text of a table. */
export function tableCsv(table: Table): string {
  return [csvRecord(table.columns.map((c) => c.name)), ...table.rows.map(csvRecord)].join('');
}

/** The columns of `matches.csv`. */
export const MATCH_COLUMNS: readonly Column[] = [
  column('match_id', 'string', 'The match id (its log: `logs/<match_id>.jsonl`).'),
  column('scene', 'string', 'The scene the match was played in.'),
  column('sim', 'string', 'The sim id (`duel`, `python:FILE[:CLASS]`, `./FILE.ts`).'),
  column('sim_code_hash', 'hex', "The xxhash64 of the sim's source that played the match."),
  column('seed', 'integer', 'The match seed (32-bit unsigned).'),
  column('players', 'integer', 'Player slots.'),
  column(
    'participant_ids',
    'string',
    "The players' participant ids in slot order, joined by `;` (empty for a player who gave none).",
  ),
  column('tick_rate', 'integer', 'Frames per second.', 'frames/s'),
  column('mode', 'string', 'Sync mode: `lockstep`, `rollback` or `authoritative`.'),
  column(
    'input_delay',
    'integer',
    'Input delay D: an input captured at frame f is stamped for f + D.',
    'frames',
  ),
  column('episodes', 'integer', 'Episodes in the match (1 unless the header records episodes).'),
  column(
    'frames_per_episode',
    'integer',
    "Frames per episode (the scene's frame limit for one episode; 0: no limit).",
    'frames',
  ),
  column('start_time', 'time', 'When the match started (wall clock of the relay).'),
  column(
    'final_frame',
    'integer',
    'The last frame replayed: the frame the players finished at, else the last one with every input logged.',
    'frames',
  ),
  column('final_hash', 'hex', 'The state hash of S(final_frame).'),
  column('checks', 'integer', 'Recorded state hashes the replay reproduced.'),
  column('desyncs', 'integer', 'Desyncs the relay found (and repaired, see `resyncs`).'),
  column('resyncs', 'integer', 'Desyncs repaired by a state transfer.'),
  column('aways', 'integer', 'Times a player went away (connection closed or silent).'),
  column('rejoins', 'integer', 'Times a player came back.'),
  column('lefts', 'integer', 'Players who left for good.'),
  column('faults', 'integer', 'Players whose sim threw (the replay stops there too).'),
  column(
    'end_reason',
    'string',
    "Why the match ended, as the log's end record says; empty when the log has no end record (the relay stopped).",
  ),
  column(
    'truncated',
    'boolean',
    "True when the log's last line was cut by a crash (the rows stop at the last whole record).",
  ),
  column('frames_csv', 'string', 'The per-frame table, relative to the export directory.'),
  column('frames_jsonl', 'string', 'The same rows as JSON Lines.'),
];

function matchRow(frames: MatchFrames, dir: string): CsvValue[] {
  const { header, replay } = frames;
  const eventsAt = frames.columns.findIndex((c) => c.name === 'events');
  let aways = 0;
  let rejoins = 0;
  for (const row of frames.rows) {
    for (const e of row[eventsAt] as { type: string }[]) {
      if (e.type === 'away') aways++;
      if (e.type === 'rejoin') rejoins++;
    }
  }
  return [
    header.matchId,
    header.scene.name,
    header.sim.id,
    header.sim.codeHash,
    header.seed,
    header.scene.players,
    header.players.map((p) => p.participantId ?? '').join(';'),
    header.scene.tickRate,
    header.scene.mode,
    header.scene.inputDelay,
    header.episodes?.episodes ?? 1,
    header.episodes?.framesPerEpisode ?? header.scene.frames,
    header.startTime,
    replay.finalFrame,
    replay.finalHash,
    replay.checks,
    replay.desyncs.length,
    replay.desyncs.filter((d) => d.repaired).length,
    aways,
    rejoins,
    replay.left.length,
    replay.faults.length,
    replay.endReason,
    replay.truncated,
    `${dir}/frames.csv`,
    `${dir}/frames.jsonl`,
  ];
}

function matchWarnings(frames: MatchFrames): string[] {
  const r = frames.replay;
  const out: string[] = [];
  if (r.truncated) {
    out.push(
      `match ${r.matchId}: the log's last line is cut (the relay stopped mid-write); rows end at frame ${r.finalFrame}`,
    );
  }
  if (!r.ended) out.push(`match ${r.matchId}: the log has no end record`);
  if (!r.codeHashMatches) {
    out.push(
      `match ${r.matchId}: the sim's source differs from the one that played it (recorded ${r.sim.codeHash}, now ${r.codeHash}); every recorded hash was still reproduced`,
    );
  }
  for (const f of r.faults) {
    out.push(`match ${r.matchId}: slot ${f.slot}'s sim threw at frame ${f.frame}; rows end there`);
  }
  return out;
}

/**
 * `concord replay LOG --export FILE`: the per-frame table of one match log, as CSV (`FILE.csv`)
 * or JSON Lines (`FILE.jsonl`), from the same replay as {@link exportDataDir}.
 * @throws ExportError `BAD_OPTION` for another extension; otherwise as {@link matchFrames}
 *   (`REPLAY_MISMATCH` naming the match and frame; nothing is written then).
 */
export async function exportMatchLog(
  logPath: string,
  file: string,
  options: { readonly statesEvery?: number } = {},
): Promise<MatchFrames> {
  const ext = path.extname(file).toLowerCase();
  if (ext !== '.csv' && ext !== '.jsonl') {
    throw new ExportError('BAD_OPTION', `--export ${file}: the file must end in .csv or .jsonl`);
  }
  const frames = await matchFrames(logPath, options);
  await mkdir(path.dirname(path.resolve(file)), { recursive: true });
  await writeFile(`${file}.partial`, ext === '.csv' ? framesCsv(frames) : framesJsonl(frames));
  await rename(`${file}.partial`, file);
  return frames;
}
