/**
 * A small study for tests: consent, one duel game scene of a few hundred frames, a survey, the
 * end, written to a temp directory with its data directory beside it.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';

/** A temp study: its file, its data directory, and a way to remove both. */
export interface StudyFixture {
  readonly dir: string;
  readonly file: string;
  readonly dataDir: string;
  remove(): Promise<void>;
}

/** The game scene's settings, overridable per test. */
export type GameOverrides = Record<string, unknown>;

/**
 * Writes the study: `consent` (consent), `arena` (duel, 2 players, 240 frames at 60 fps,
 * `game` overrides merged in; null: no game scene), `post` (a survey of one required likert question, an optional
 * choice and an optional text), `done` (every code, `removed` among them); `top` adds top-level fields (`conditions`).
 */
export async function writeStudy(
  game: GameOverrides | null = {},
  id = 'test-study',
  top: Record<string, unknown> = {},
): Promise<StudyFixture> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'concord-study-'));
  await writeFile(path.join(dir, 'consent.md'), '# Consent\n\nYou agree to *play*.\n');
  const study = {
    id,
    ...top,
    scenes: [
      { kind: 'info', id: 'consent', file: 'consent.md', consent: true },
      game === null
        ? null
        : {
            kind: 'game',
            id: 'arena',
            sim: 'duel',
            players: 2,
            framesPerEpisode: 240,
            tickRate: 60,
            sync: { hashInterval: 30, hashIntervalMax: 60, rejoinGraceMs: 1500 },
            waitingRoom: { timeoutMs: 20_000, onTimeout: 'end' },
            onPartnerLost: 'end',
            ...game,
          },
      {
        kind: 'survey',
        id: 'post',
        questions: [
          { id: 'enjoy', type: 'likert', text: 'I enjoyed it.', scale: 5, required: true },
          { id: 'partner', type: 'choice', text: 'A person?', options: ['yes', 'no'] },
          { id: 'notes', type: 'text', text: 'Anything else?' },
        ],
      },
      {
        kind: 'end',
        id: 'done',
        completionCodes: {
          completed: 'DONE1',
          timeout: 'TIME1',
          partnerLeft: 'LEFT1',
          declined: 'NO1',
          removed: 'GONE1',
        },
        redirect: 'https://example.org/done?cc={code}',
      },
    ].filter((x) => x !== null),
  };
  const file = path.join(dir, 'study.yaml');
  await writeFile(file, stringify(study));
  return {
    dir,
    file,
    dataDir: path.join(dir, 'data'),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
