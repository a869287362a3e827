/**
 * A child process for `database.test.ts`: writes participants' steps to a participant
 * database as fast as it can and prints one line per call that returned (so committed), until
 * it is killed. The test kills it with SIGKILL mid-stream and checks that every printed change
 * is in the file.
 *
 *     node --import tsx relay/experiment/database-writer.fixture.ts EXPERIMENT DATA_DIR
 *
 * @packageDocumentation
 */
import { ParticipantDatabase } from './database.ts';
import { loadExperiment } from './load.ts';

const [file, dataDir] = process.argv.slice(2);
const db = ParticipantDatabase.open(loadExperiment(file), dataDir);
const say = (line: object) => process.stdout.write(`${JSON.stringify(line)}\n`);

for (let i = 0; i < 100_000; i++) {
  const id = `k${i}`;
  const tab = `tab${i}`;
  const { record } = db.arrive(
    { id, source: 'prolific', studyId: 'STUDY', sessionId: `S${i}` },
    tab,
  );
  say({ id, cell: record.cell, scene: 'consent' });
  db.act(id, tab, { type: 'accept', scene: 'consent' });
  say({ id, scene: 'arena' });
  db.recordSeat(id, { scene: 'arena', matchId: `m${i >> 1}`, slot: i & 1, episode: 0 });
  say({ id, seat: `m${i >> 1}` });
  db.endGame(id, 'arena', 'completed');
  say({ id, scene: 'kitchen' });
  db.endGame(id, 'kitchen', 'completed');
  say({ id, scene: 'post' });
  db.act(id, tab, { type: 'answer', scene: 'post', answers: { enjoy: 1 + (i % 7) } });
  say({ id, scene: 'done', enjoy: 1 + (i % 7) });
}
