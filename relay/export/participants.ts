/**
 * `participants.csv`: one row per participant of a study, in arrival order, from the participant
 * database read through its own API (`ParticipantDatabase`), its columns laid out by the
 * experiment file (every factor, scene, episode and question, answered or not).
 *
 * @packageDocumentation
 */
import {
  conditionKey,
  type Experiment,
  gameSceneFor,
  type ParticipantDatabase,
} from '../experiment/index.ts';
import { type Column, column } from './columns.ts';
import type { CsvValue } from './csv.ts';

/** A table: its columns and its rows, values in column order. */
export interface Table {
  readonly columns: readonly Column[];
  readonly rows: readonly (readonly CsvValue[])[];
}

/** An ISO 8601 UTC time from ms since the epoch, or null. */
function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

/** The most episodes game scene `sceneId` has under any condition cell. */
function maxEpisodes(experiment: Experiment, sceneId: string): number {
  let n = 1;
  for (const cell of experiment.cells) {
    n = Math.max(n, gameSceneFor(experiment, sceneId, cell).episodes);
  }
  return n;
}

/** One column and how to read its value from a participant's data. */
interface Field {
  readonly column: Column;
  readonly value: (p: ParticipantData) => CsvValue;
}

/** What the database holds of one participant. */
interface ParticipantData {
  readonly record: ReturnType<ParticipantDatabase['participant']>;
  readonly visits: ReturnType<ParticipantDatabase['visits']>;
  readonly answers: ReturnType<ParticipantDatabase['answers']>;
  readonly seats: ReturnType<ParticipantDatabase['seats']>;
}

/**
 * The participants table of `db` (see docs/your-data.md for every column). Column names: fixed
 * ones without a dot; per factor `condition.<factor>`; per scene `entered_at.<scene>`,
 * `left_at.<scene>`, `left_with.<scene>`; per game scene `waited_ms.<scene>` and its seats,
 * `match_id.<scene>` and `slot.<scene>` (a scene of several episodes: `match_id.<scene>.<episode>`,
 * `slot.<scene>.<episode>`); per question `answer.<scene>.<question>`. An answer stored for a
 * question the experiment file no longer has gets a column too, after the others, so nothing in
 * the database is left out.
 */
export function participantsTable(db: ParticipantDatabase): Table {
  const e = db.experiment;
  const people: ParticipantData[] = db.participants().map((record) => ({
    record,
    visits: db.visits(record.id),
    answers: db.answers(record.id),
    seats: db.seats(record.id),
  }));
  const fields: Field[] = [
    {
      column: column(
        'participant_id',
        'string',
        "The participant's id (Prolific's PID, or the study's).",
      ),
      value: (p) => p.record.id,
    },
    {
      column: column(
        'id_source',
        'string',
        "Where the id came from: `prolific` (PROLIFIC_PID), `participant` (the link's id) or `generated` (made by Concord).",
      ),
      value: (p) => p.record.source,
    },
    {
      column: column(
        'prolific_pid',
        'string',
        "Prolific's PROLIFIC_PID; empty when the id is not Prolific's.",
      ),
      value: (p) => (p.record.source === 'prolific' ? p.record.id : null),
    },
    {
      column: column('study_id', 'string', "Prolific's STUDY_ID; empty when none came."),
      value: (p) => p.record.studyId,
    },
    {
      column: column('session_id', 'string', "Prolific's SESSION_ID; empty when none came."),
      value: (p) => p.record.sessionId,
    },
    {
      column: column(
        'arrival',
        'integer',
        'Arrival order: 0 for the first participant enrolled, then 1, 2, …',
      ),
      value: (p) => p.record.arrival,
    },
    {
      column: column(
        'cell',
        'integer',
        "The condition cell's index (0-based) in the cross product of the factors, first factor slowest.",
      ),
      value: (p) => p.record.cell,
    },
    {
      column: column(
        'condition',
        'string',
        'The condition cell as text: `factor=level` pairs joined by `,` (`-` without conditions).',
      ),
      value: (p) => conditionKey(e.factors, p.record.condition),
    },
  ];
  for (const f of e.factors) {
    fields.push({
      column: column(
        `condition.${f.name}`,
        'integer',
        `The level of factor \`${f.name}\`: its index (0-based) in the experiment file's list of ${f.levels.length} levels.`,
      ),
      value: (p) => p.record.condition[f.name] ?? null,
    });
  }
  fields.push(
    {
      column: column(
        'outcome',
        'string',
        'How the study ended for the participant: `completed`, `timeout`, `partnerLeft`, `declined` or `removed` (an administrator removed them); empty while it goes on normally.',
      ),
      value: (p) => p.record.outcome,
    },
    {
      column: column(
        'completion_code',
        'string',
        'The completion code shown at the end; empty before the end, and after a removal when the end scene has no `removed` code.',
      ),
      value: (p) => p.record.completionCode,
    },
    {
      column: column(
        'waited_ms',
        'integer',
        'Time spent in waiting rooms, all game scenes together.',
        'ms',
      ),
      value: (p) => p.visits.reduce((sum, v) => sum + v.waitedMs, 0),
    },
  );
  const visit = (p: ParticipantData, index: number) => p.visits.find((v) => v.sceneIndex === index);
  e.scenes.forEach((scene, index) => {
    const id = scene.id;
    fields.push({
      column: column(
        `entered_at.${id}`,
        'time',
        `When the participant entered scene \`${id}\` (${scene.kind}); empty when they never did.`,
      ),
      value: (p) => iso(visit(p, index)?.enteredMs ?? null),
    });
    if (scene.kind !== 'end') {
      fields.push(
        {
          column: column(
            `left_at.${id}`,
            'time',
            `When they left scene \`${id}\`; empty while in it or never there.`,
          ),
          value: (p) => iso(visit(p, index)?.leftMs ?? null),
        },
        {
          column: column(
            `left_with.${id}`,
            'string',
            `How they left scene \`${id}\`: \`completed\` (went on normally), \`timeout\`, \`partnerLeft\`, \`declined\` or \`removed\`.`,
          ),
          value: (p) => visit(p, index)?.leftWith ?? null,
        },
      );
    }
    if (scene.kind === 'game') {
      fields.push({
        column: column(
          `waited_ms.${id}`,
          'integer',
          `Time spent in the waiting room of scene \`${id}\`.`,
          'ms',
        ),
        value: (p) => visit(p, index)?.waitedMs ?? null,
      });
      const episodes = maxEpisodes(e, id);
      for (let k = 0; k < episodes; k++) {
        const suffix = episodes === 1 ? id : `${id}.${k}`;
        const which = episodes === 1 ? `scene \`${id}\`` : `episode ${k} of scene \`${id}\``;
        const seat = (p: ParticipantData) => p.seats.find((s) => s.scene === id && s.episode === k);
        fields.push(
          {
            column: column(
              `match_id.${suffix}`,
              'string',
              `The match the participant played in ${which} (its frames: \`matches/<match_id>/frames.csv\`); empty when none.`,
            ),
            value: (p) => seat(p)?.matchId ?? null,
          },
          {
            column: column(
              `slot.${suffix}`,
              'integer',
              `The participant's player slot in that match (0-based; columns \`p<slot>_…\` of its frames).`,
            ),
            value: (p) => seat(p)?.slot ?? null,
          },
        );
      }
    }
    if (scene.kind === 'survey') {
      for (const q of scene.questions) {
        const type = q.type === 'likert' ? 'integer' : 'string';
        const detail =
          q.type === 'likert'
            ? `likert 1–${q.scale}`
            : q.type === 'choice'
              ? `one of ${q.options.map((o) => JSON.stringify(o)).join(', ')}`
              : `free text of at most ${q.maxLength} characters`;
        fields.push({
          column: column(
            `answer.${id}.${q.id}`,
            type,
            `Answer to question \`${q.id}\` of survey \`${id}\` (${detail}): "${q.text.replace(/\s+/g, ' ').slice(0, 200)}"; empty when not answered.`,
          ),
          value: (p) =>
            p.answers.find((a) => a.sceneId === id && a.questionId === q.id)?.value ?? null,
        });
      }
    }
  });
  // Answers to questions the experiment file does not (or no longer) have: kept, after the rest.
  const known = new Set(fields.map((f) => f.column.name));
  for (const p of people) {
    for (const a of p.answers) {
      const name = `answer.${a.sceneId}.${a.questionId}`;
      if (known.has(name)) continue;
      known.add(name);
      fields.push({
        column: column(
          name,
          typeof a.value === 'number' ? 'integer' : 'string',
          `Answer to question \`${a.questionId}\` of scene \`${a.sceneId}\`, which the experiment file given does not have.`,
        ),
        value: (x) =>
          x.answers.find((y) => y.sceneId === a.sceneId && y.questionId === a.questionId)?.value ??
          null,
      });
    }
  }
  return {
    columns: fields.map((f) => f.column),
    rows: people.map((p) => fields.map((f) => f.value(p))),
  };
}
