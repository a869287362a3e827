/**
 * A study's game scene in authoritative mode with episodes: the relay's sim host runs the episode
 * wrapper as the peers do, so the pilot's bots reconcile onto the host's states, every
 * participant reaches the end, and the match log (host hashes at every state sent, episodes in
 * its header) replays.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readMatchLog, replayLog } from '../relay/log/index.ts';
import { runPilot } from '../relay/pilot.ts';
import { type StudyFixture, writeStudy } from './support/study-fixture.ts';

let study: StudyFixture | undefined;

afterAll(async () => {
  await study?.remove();
});

describe('an authoritative game scene in a study', () => {
  it('runs two episodes on the host as on the peers, and the log replays', async () => {
    study = await writeStudy({
      episodes: 2,
      framesPerEpisode: 120,
      sync: { mode: 'authoritative', hashInterval: 30, hashIntervalMax: 60, rejoinGraceMs: 1500 },
    });
    const report = await runPilot({
      experiment: study.file,
      participants: 2,
      latencyMs: 10,
      jitterMs: 3,
      dataDir: study.dataDir,
    });
    expect(report.failures).toEqual([]);
    expect(report.outcomes).toEqual({ completed: 2 });

    const logs = (await readdir(path.join(study.dataDir, 'logs'))).filter((f) =>
      f.endsWith('.jsonl'),
    );
    expect(logs).toHaveLength(1);
    const log = await readMatchLog(path.join(study.dataDir, 'logs', logs[0]));
    expect(log.header.scene.mode).toBe('authoritative');
    expect(log.header.episodes).toEqual({ episodes: 2, framesPerEpisode: 120 });
    const hosts = log.records.filter((r) => r.type === 'host');
    // States went out across both episodes (frames 0..239), each with the host's hash.
    expect(hosts.some((r) => r.f > 120)).toBe(true);
    const replay = await replayLog(log);
    expect(replay.episodes).toEqual({ episodes: 2, framesPerEpisode: 120 });
    expect(replay.mismatches).toEqual([]);
    // Every host hash is a check the replay passed.
    expect(replay.passed).toBeGreaterThanOrEqual(hosts.length);
  }, 120_000);
});
