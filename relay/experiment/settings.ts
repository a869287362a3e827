/**
 * From a game scene and a condition to what a match runs with: the scene with the
 * condition's overrides applied, and the protocol's {@link SceneSettings} sent in `start`.
 *
 * @packageDocumentation
 */
import path from 'node:path';
import { type SceneSettings, validateSceneSettings } from '../../protocol/index.ts';
import { ConcordError } from '../../sim/index.ts';
import { type Condition, type ConditionFactor, checkCondition } from './conditions.ts';
import type { Experiment, GameScene } from './load.ts';
import { BUILTIN_BOTS, type ConditionLevel, SyncSchema } from './schema.ts';

/** Every key of `sync`, those without a default (`referee`, `maxRewindMs`, …) included. */
const SYNC_KEYS = new Set(Object.keys(SyncSchema.shape));

/**
 * The absolute path of a module `bot`, or null for a built-in policy.
 * @param baseDir the experiment file's directory
 */
export function resolveBotPath(bot: string, baseDir: string): string | null {
  return (BUILTIN_BOTS as readonly string[]).includes(bot) ? null : path.resolve(baseDir, bot);
}

/**
 * `scene` with the overrides of `condition`'s levels applied, factor by factor in file order
 * (a later factor wins where two set the same setting). Sync settings are overridden inside
 * `sync`; a `bot` override gets its `botPath` resolved against `baseDir`.
 * @param condition a cell of `factors`, already checked
 */
export function applyCondition(
  scene: GameScene,
  factors: readonly ConditionFactor[],
  condition: Condition,
  baseDir: string,
): GameScene {
  const top: Record<string, unknown> = {};
  const sync: Record<string, unknown> = {};
  for (const f of factors) {
    const level: ConditionLevel = f.levels[condition[f.name]];
    for (const [key, value] of Object.entries(level)) {
      if (value === undefined) continue;
      if (SYNC_KEYS.has(key)) sync[key] = value;
      else top[key] = value;
    }
  }
  const out = { ...scene, ...top, sync: { ...scene.sync, ...sync } } as GameScene;
  if (typeof top.bot === 'string') return { ...out, botPath: resolveBotPath(top.bot, baseDir) };
  return out;
}

/**
 * The wire settings of a game scene as it stands (conditions already applied): `name` is the
 * scene id, `frames` its `framesPerEpisode`, `onPlayerLost` `end` when `onPartnerLost` is
 * `end` and `continue` otherwise (a bot takes the seat on `bot`). `sim` is the spec as written;
 * a Python FILE in it is relative to the experiment file (the relay resolves it with the
 * experiment's directory as `baseDir`).
 * @throws ConcordError `BAD_CONFIG` with the protocol's message when a setting is out of its
 *   wire range (`settings.hashIntervalMax: expected at least hashInterval (30), got 20`).
 */
export function toSceneSettings(scene: GameScene): SceneSettings {
  try {
    return validateSceneSettings({
      name: scene.id,
      sim: scene.sim,
      players: scene.players,
      tickRate: scene.tickRate,
      mode: scene.sync.mode,
      inputDelay: scene.sync.inputDelay,
      maxPredictionWindow: scene.sync.maxPredictionWindow,
      saveStrategy: scene.sync.saveStrategy,
      hashInterval: scene.sync.hashInterval,
      hashIntervalMax: scene.sync.hashIntervalMax,
      rejoinGraceMs: scene.sync.rejoinGraceMs,
      onPlayerLost: scene.onPartnerLost === 'end' ? 'end' : 'continue',
      frames: scene.framesPerEpisode,
      ...(scene.sync.referee === undefined ? {} : { referee: scene.sync.referee }),
      transport: scene.sync.transport,
      ...(scene.sync.broadcastDivisor === undefined
        ? {}
        : { broadcastDivisor: scene.sync.broadcastDivisor }),
      ...(scene.sync.interpolationDelayMs === undefined
        ? {}
        : { interpolationDelayMs: scene.sync.interpolationDelayMs }),
      ...optionalSettings(scene.sync),
    });
  } catch (err) {
    throw new ConcordError('BAD_CONFIG', `scene "${scene.id}": ${(err as Error).message}`);
  }
}

/** The optional sync settings the scene sets (absent ones keep the wire's defaults). */
function optionalSettings(sync: GameScene['sync']): Partial<SceneSettings> {
  const out: Partial<SceneSettings> = {};
  for (const key of [
    'maxRewindMs',
    'violationWarnAt',
    'violationRemoveAt',
    'violationDecayFrames',
  ] as const) {
    const value = sync[key];
    if (value !== undefined) out[key] = value;
  }
  return out;
}

function findGameScene(experiment: Experiment, sceneId: string): GameScene {
  const scene = experiment.scenes.find((s) => s.id === sceneId);
  if (scene === undefined) {
    throw new ConcordError('BAD_CONFIG', `experiment "${experiment.id}" has no scene "${sceneId}"`);
  }
  if (scene.kind !== 'game') {
    throw new ConcordError('BAD_CONFIG', `scene "${sceneId}" is a ${scene.kind} scene, not a game`);
  }
  return scene;
}

/**
 * The game scene `sceneId` as participants in `condition` play it: every default filled and
 * the condition's overrides applied.
 * @param condition a cell of the experiment's conditions (`{}` when it has none)
 * @throws ConcordError `BAD_CONFIG` for an unknown scene, a scene that is not a game, or a
 *   condition that is not a cell of the experiment's factors.
 */
export function gameSceneFor(
  experiment: Experiment,
  sceneId: string,
  condition: Condition,
): GameScene {
  const scene = findGameScene(experiment, sceneId);
  const c = checkCondition(experiment.factors, condition);
  return applyCondition(scene, experiment.factors, c, experiment.baseDir);
}

/**
 * The protocol settings the relay sends in `start` for game scene `sceneId` under
 * `condition`, checked by the protocol's `validateSceneSettings`.
 * @throws ConcordError `BAD_CONFIG` as {@link gameSceneFor} and {@link toSceneSettings}.
 */
export function sceneSettingsFor(
  experiment: Experiment,
  sceneId: string,
  condition: Condition,
): SceneSettings {
  return toSceneSettings(gameSceneFor(experiment, sceneId, condition));
}
