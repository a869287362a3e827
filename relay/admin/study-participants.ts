/**
 * The participants of a study as the admin view lists them, read from the participant database
 * (relay/experiment/database.ts): what the study server's `AdminSource.participants()` returns,
 * with the live part (waiting, playing) laid over it by the study server, which alone knows it.
 */
import type { AdminParticipant } from '../../protocol/index.ts';
import { conditionKey, type ParticipantDatabase } from '../experiment/index.ts';

/**
 * Every participant of the database, in arrival order: id, the id of the scene they are in, a
 * status, their condition (`factor=level,…`, `-` without factors) and when they entered the
 * first scene (ISO 8601 UTC).
 *
 * Status: `finished: <outcome>` at the end scene; the outcome (`partnerLeft`…) when one cut the
 * study short before it; else `active`, or what `live(id)` says (`waiting`, `playing`).
 * @param live the study server's view of a participant now, or null when it has nothing to add
 */
export function studyParticipants(
  db: ParticipantDatabase,
  live: (id: string) => string | null = () => null,
): AdminParticipant[] {
  const { scenes, factors } = db.experiment;
  const end = scenes.length - 1;
  return db.participants().map((p) => {
    const first = db.visits(p.id)[0];
    const status =
      p.sceneIndex >= end
        ? `finished: ${p.outcome ?? 'completed'}`
        : (p.outcome ?? live(p.id) ?? 'active');
    return {
      id: p.id,
      scene: scenes[p.sceneIndex]?.id ?? String(p.sceneIndex),
      status,
      condition: conditionKey(factors, p.condition),
      startTime: first ? new Date(first.enteredMs).toISOString() : null,
    };
  });
}
