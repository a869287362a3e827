/**
 * relay/study/: the study server, which runs an experiment file's study on a relay
 * ({@link startStudy}), and its parts.
 *
 * @packageDocumentation
 */

import path from 'node:path';
import type { SimFactory } from '../../sim/index.ts';
import { isPythonSimSpec } from '../../sim/python/index.ts';
import { studyParticipants } from '../admin/study-participants.ts';
import { type Experiment, loadExperiment } from '../experiment/index.ts';
import { BUILTIN_SCENES } from '../scenes.ts';
import { type Relay, type RelayOptions, startRelay } from '../server.ts';
import { loadExperimentSims, moduleHeaderSim } from '../sim-modules.ts';
import { moduleRoutes } from './module-routes.ts';
import { relayBots } from './study-bots.ts';
import { StudyServer } from './study-server.ts';

export {
  defaultInputsOf,
  relaySceneName,
  type StudyRelayScene,
  studyRelayScenes,
} from './relay-scenes.ts';
export {
  loadStudyPolicy,
  type RelayBots,
  relayBots,
  type StartStudyBot,
  type StudyBotRequest,
} from './study-bots.ts';
export { StudyServer, type StudyServerOptions, type StudyStats } from './study-server.ts';
export { StudyViews } from './views.ts';
export { type Waiter, WaitingRooms } from './waiting-rooms.ts';
export { parseHello, parseStep } from './wire.ts';

/** Settings of {@link startStudy}: the relay's, but its scenes and hooks are the study's. */
export interface StudyOptions extends Omit<RelayOptions, 'scenes' | 'hooks' | 'python'> {
  /** The experiment, or the path of its file (loaded and checked here). */
  readonly experiment: Experiment | string;
  /** The participant database's directory; match logs go to `<dataDir>/logs` unless `logsDir`. */
  readonly dataDir: string;
  /** How long a bot partner waits in a queue for the participant it was called for, ms (default 30 000). */
  readonly botJoinWaitMs?: number;
  /** How often waiting participants get a `waiting` push, ms (default 1000). */
  readonly waitingPushMs?: number;
}

/** A study being served. */
export interface StudyRelay {
  readonly url: string;
  readonly relay: Relay;
  readonly study: StudyServer;
  /** Stops the bots, the relay (ending every match) and closes the database. */
  close(reason?: string): Promise<void>;
}

/**
 * Serves a study: loads the experiment (a malformed file throws before anything listens), bundles
 * its sim modules, opens the participant database (resuming the participants it holds), starts a
 * relay serving one scene per game scene × condition cell, and serves the study wire on it.
 * @throws ConcordError `BAD_CONFIG` naming every problem of the file; `BAD_DATABASE` when the
 *   data directory's database is another experiment's or no longer fits it
 */
export async function startStudy(o: StudyOptions): Promise<StudyRelay> {
  const experiment = typeof o.experiment === 'string' ? loadExperiment(o.experiment) : o.experiment;
  const sims = await loadExperimentSims(experiment);
  // A module's spec is relative to the experiment file: the same spec in two files is two sims.
  const bySpec = new Map<string, SimFactory>();
  for (const s of experiment.scenes) {
    if (s.kind === 'game' && s.simPath && sims.has(s.simPath))
      bySpec.set(s.sim, sims.get(s.simPath)!.sim);
  }
  let bots: ReturnType<typeof relayBots> | null = null;
  const study = new StudyServer({
    experiment,
    dataDir: o.dataDir,
    startBot: (r) => {
      if (!bots) return Promise.reject(new Error('the relay is not started'));
      return bots.start(r);
    },
    moduleActions: new Map([...sims].map(([file, m]) => [file, m.actions ?? {}])),
    simFactory: (spec) => bySpec.get(spec) ?? null,
    waitingPushMs: o.waitingPushMs,
    onEvent: o.onEvent,
  });
  const python: Record<string, { baseDir: string }> = {};
  for (const [name, rs] of study.relayScenes) {
    if (isPythonSimSpec(rs.game.sim)) python[name] = { baseDir: experiment.baseDir };
  }
  const hooks = study.hooks;
  const modules = moduleRoutes(study.relayScenes, sims);
  const relay = await startRelay({
    ...o,
    // The study page imports a module scene's bundle from the relay (module-routes.ts).
    http: (req, res) => o.http?.(req, res) || modules(req, res),
    logsDir: o.logsDir ?? path.join(o.dataDir, 'logs'),
    // The built-in scenes stay playable at /play for demos; the page at / is the study.
    scenes: { ...BUILTIN_SCENES, ...study.sceneSettings() },
    studyPage: true,
    python,
    participants: () => study.participantsByScene(),
    // The admin view's study side: participants from the database, and removing one.
    ...(o.admin
      ? {
          admin: {
            token: o.admin.token,
            source: {
              participants: () => studyParticipants(study.db),
              remove: (id: string, reason: string) => study.remove(id, reason),
            },
          },
        }
      : {}),
    hooks: {
      ...hooks,
      matchHeader: (scene) => {
        const extras = hooks.matchHeader?.(scene) ?? null;
        const rs = study.relayScenes.get(scene);
        const module = rs?.game.simPath ? sims.get(rs.game.simPath) : undefined;
        return module && rs
          ? { ...extras, sim: moduleHeaderSim(rs.game.sim, module.bundle) }
          : extras;
      },
    },
  }).catch(async (err) => {
    await study.close();
    throw err;
  });
  bots = relayBots(relay.url, { joinWaitMs: o.botJoinWaitMs, simFactory: study.simFactory });
  study.attach(relay.control);
  return {
    url: relay.url,
    relay,
    study,
    close: async (reason = 'relay shutdown') => {
      bots?.stop();
      await relay.close(reason);
      await study.close();
    },
  };
}
