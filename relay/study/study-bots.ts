/**
 * The study's bot partners: headless peers beside the relay, each a {@link playMatch} through the
 * relay's own URL on loopback, so that their inputs travel, are checked and are logged like a
 * player's. A policy is `random` or `idle` (client/policy-bot.ts), or a module the experiment
 * file names (`bot: ./my-bot.ts`) whose `policy` export (or default export) is a
 * {@link BotPolicy}.
 *
 * @packageDocumentation
 */

import { pathToFileURL } from 'node:url';
import {
  type BotPolicy,
  builtinPolicy,
  type PlayMatchResult,
  playMatch,
  type Seat,
} from '../../client/index.ts';
import type { SimFactory } from '../../sim/index.ts';
import { ConcordError } from '../../sim/index.ts';
import type { GameScene } from '../experiment/index.ts';
import type { StudyRelayScene } from './relay-scenes.ts';

/** A bot the study server asks for. */
export interface StudyBotRequest {
  readonly scene: StudyRelayScene;
  /** The bot's study token (its handshake `auth.studyToken`), admitted for this scene only. */
  readonly token: string;
  /** The policy spec: `random`, `idle` or a module path as the file names it. */
  readonly policy: string;
  /** The participant id it joins with (a replacement: the lost seat's). */
  readonly participantId: string | null;
  /** The seat to take over (rejoin with its token), or null to join the queue. */
  readonly seat: Seat | null;
}

/** Starts a bot; resolves when its match is over for it. */
export type StartStudyBot = (request: StudyBotRequest) => Promise<unknown>;

/** The policy name a log's `handover` record gives: the scene's `bot` as written. */
export function studyBotPolicyName(game: GameScene): string {
  return game.bot;
}

/**
 * A {@link BotPolicy} for a game scene: a built-in one, or the module's (`botPath`, imported
 * once per file).
 * @throws ConcordError `BAD_CONFIG` when the module has no `policy` (or default) function
 */
export async function loadStudyPolicy(
  scene: StudyRelayScene,
  modules: Map<string, BotPolicy> = new Map(),
): Promise<BotPolicy> {
  const game = scene.game;
  if (game.botPath === null) {
    return builtinPolicy(game.bot, {
      sim: game.sim,
      choices: scene.actions.bindings.length > 0 ? scene.actions.choices : undefined,
    });
  }
  const cached = modules.get(game.botPath);
  if (cached) return cached;
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(game.botPath).href)) as Record<string, unknown>;
  } catch (err) {
    throw new ConcordError(
      'BAD_CONFIG',
      `bot ${game.bot}: cannot load ${game.botPath}: ${(err as Error).message}`,
    );
  }
  const policy = (mod.policy ?? mod.default) as unknown;
  if (typeof policy !== 'function') {
    throw new ConcordError(
      'BAD_CONFIG',
      `bot ${game.bot}: ${game.botPath} exports no policy function (export function policy(view) { … })`,
    );
  }
  modules.set(game.botPath, policy as BotPolicy);
  return policy as BotPolicy;
}

/** Bots of a relay: {@link RelayBots.start} one, {@link RelayBots.stop} them all. */
export interface RelayBots {
  readonly start: StartStudyBot;
  /** Every running bot leaves its match now (the relay is closing). */
  stop(): void;
}

/**
 * The bots of a relay at `url`: each request plays one match (joins the scene's queue, or
 * rejoins the lost seat), giving up after `joinWaitMs` in the queue (a partner who left
 * meanwhile).
 */
export function relayBots(
  url: string,
  o: {
    joinWaitMs?: number;
    seed?: number;
    simFactory?: (sim: string) => SimFactory | null;
  } = {},
): RelayBots {
  const modules = new Map<string, BotPolicy>();
  const runners = new Set<{ leave(reason?: string): void }>();
  let n = 0;
  const start = async (r: StudyBotRequest): Promise<PlayMatchResult> => {
    const policy = await loadStudyPolicy(r.scene, modules);
    const g = r.scene.game;
    const seed = ((o.seed ?? 0x5eed) + 7919 * n++) >>> 0;
    let waitTimer: ReturnType<typeof setTimeout> | null = null;
    const result = await playMatch({
      url,
      scene: r.scene.name,
      participantId: r.participantId,
      auth: { studyToken: r.token },
      seat: r.seat ?? undefined,
      policy,
      episodes: { episodes: g.episodes, framesPerEpisode: g.framesPerEpisode },
      defaultInput: g.defaultAction === null ? undefined : r.scene.actions.defaultInput,
      seed,
      simFactory: o.simFactory,
      onRunner: (runner) => {
        runners.add(runner);
        void runner.closed.then(() => runners.delete(runner));
        runner.on((e) => {
          if (e.type !== 'phase') return;
          if (e.phase === 'waiting' && waitTimer === null) {
            waitTimer = setTimeout(() => {
              if (runner.phase === 'waiting') runner.leave('nobody to play with');
            }, o.joinWaitMs ?? 30_000);
          } else if (e.phase !== 'waiting' && waitTimer !== null) {
            clearTimeout(waitTimer);
          }
        });
      },
    });
    if (waitTimer !== null) clearTimeout(waitTimer);
    return result;
  };
  return {
    start,
    stop: () => {
      for (const r of [...runners]) r.leave('the relay is closing');
    },
  };
}
