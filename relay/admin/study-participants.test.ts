import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { loadExperiment, ParticipantDatabase } from '../experiment/index.ts';
import { studyParticipants } from './study-participants.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const study = loadExperiment(path.join(ROOT, 'examples/coop-study/study.yaml'));
const tmp = mkdtempSync(path.join(tmpdir(), 'concord-admin-db-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const arrival = (id: string) =>
  ({ id, source: 'prolific', studyId: 'S1', sessionId: `S-${id}` }) as const;

describe('the study participants the admin view lists', () => {
  it('come from the participant database by scene and status, with the live status laid over', () => {
    let t = 1_700_000_000_000;
    const db = ParticipantDatabase.open(study, path.join(tmp, 'data'), { now: () => (t += 10) });
    try {
      db.arrive(arrival('p-consent'), 'tab-1');
      db.arrive(arrival('p-arena'), 'tab-2');
      db.act('p-arena', 'tab-2', { type: 'accept', scene: 'consent' });
      db.arrive(arrival('p-declined'), 'tab-3');
      db.act('p-declined', 'tab-3', { type: 'decline', scene: 'consent' });

      const list = studyParticipants(db, (id) => (id === 'p-arena' ? 'waiting' : null));
      expect(list.map((p) => [p.id, p.scene, p.status])).toEqual([
        ['p-consent', 'consent', 'active'],
        ['p-arena', 'arena', 'waiting'],
        ['p-declined', 'done', 'finished: declined'],
      ]);
      expect(list[0].condition).toMatch(/^delay=\d$/);
      // The first scene's entry on the database's clock, as ISO 8601 UTC.
      expect(list[0].startTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      expect(Date.parse(list[0].startTime!)).toBeGreaterThan(1_700_000_000_000);
      expect(Date.parse(list[0].startTime!)).toBeLessThan(Date.parse(list[1].startTime!));
    } finally {
      db.close();
    }
  });
});
