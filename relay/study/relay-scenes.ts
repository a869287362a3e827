/**
 * The relay scenes of an experiment: one per game scene × condition cell, so that participants
 * of different cells never share a match and each match runs its cell's settings. Pure.
 *
 * @packageDocumentation
 */
import { SCENE_NAME, type SceneSettings } from '../../protocol/index.ts';
import {
  type ActionMap,
  type ActionMapRecord,
  type ActionTable,
  ConcordError,
  createActionMap,
  encodeInput,
  getSimFactory,
  isSimModuleSpec,
  NEUTRAL_INPUT,
} from '../../sim/index.ts';
import { isPythonSimSpec } from '../../sim/python/index.ts';
import {
  type Experiment,
  type GameScene,
  gameSceneFor,
  toSceneSettings,
} from '../experiment/index.ts';

/** One relay scene of a study: a game scene under one condition cell. */
export interface StudyRelayScene {
  /** The relay scene's name (see {@link relaySceneName}). */
  readonly name: string;
  /** The game scene's id and index in the experiment. */
  readonly sceneId: string;
  readonly sceneIndex: number;
  /** The condition cell's index in `experiment.cells`. */
  readonly cell: number;
  /** The game scene as this cell plays it (the condition's overrides applied). */
  readonly game: GameScene;
  /**
   * The wire settings: the scene's, named {@link name}, with `frames` the whole match
   * (`episodes × framesPerEpisode`: one match plays every episode, see sim/episodes.ts).
   */
  readonly settings: SceneSettings;
  /** The scene's keys and actions (its `defaultAction` is what an away or lost player plays). */
  readonly actions: ActionMap;
  /** The log header's record of {@link actions}. */
  readonly actionsRecord: ActionMapRecord;
}

/**
 * The relay scene name of game scene `sceneId` in cell `cell`: the scene id itself when the
 * experiment has one cell, else `<sceneId>-c<cell>`.
 * @throws ConcordError `BAD_CONFIG` when the name does not fit the protocol's scene names (a
 *   scene id of more than 60 characters in an experiment with conditions)
 */
export function relaySceneName(sceneId: string, cell: number, cells: number): string {
  const name = cells === 1 ? sceneId : `${sceneId}-c${cell}`;
  if (!SCENE_NAME.test(name)) {
    throw new ConcordError(
      'BAD_CONFIG',
      `game scene "${sceneId}": its relay scene "${name}" is longer than 64 characters; shorten the scene id`,
    );
  }
  return name;
}

/**
 * Every relay scene of the experiment, by name, in scene then cell order.
 * @param moduleActions a sim module's named actions, by its absolute path (loaded modules)
 * @throws ConcordError `BAD_CONFIG` when a name does not fit or two names collide, or a scene's
 *   settings or actions do not check (the experiment loader has checked them already)
 */
export function studyRelayScenes(
  experiment: Experiment,
  moduleActions: ReadonlyMap<string, ActionTable> = new Map(),
): Map<string, StudyRelayScene> {
  const out = new Map<string, StudyRelayScene>();
  experiment.scenes.forEach((scene, sceneIndex) => {
    if (scene.kind !== 'game') return;
    experiment.cells.forEach((condition, cell) => {
      const game = gameSceneFor(experiment, scene.id, condition);
      const name = relaySceneName(scene.id, cell, experiment.cells.length);
      if (out.has(name)) {
        throw new ConcordError('BAD_CONFIG', `two game scenes would share relay scene "${name}"`);
      }
      const base = toSceneSettings(game);
      const settings: SceneSettings = {
        ...base,
        name,
        frames: game.episodes * game.framesPerEpisode,
      };
      let table: ActionTable = {};
      if (isSimModuleSpec(game.sim)) table = moduleActions.get(game.simPath ?? '') ?? {};
      else if (!isPythonSimSpec(game.sim)) table = getSimFactory(game.sim).actions ?? {};
      const actions = createActionMap(
        { actions: game.actions, defaultAction: game.defaultAction },
        table,
      );
      out.set(name, {
        name,
        sceneId: scene.id,
        sceneIndex,
        cell,
        game,
        settings,
        actions,
        actionsRecord: actions.toRecord(),
      });
    });
  });
  return out;
}

/**
 * The encoded default input of every slot of a relay scene: the scene's `defaultAction` when it
 * names one, else the sim's own default (built-in sims), else the neutral input.
 */
export function defaultInputsOf(scene: StudyRelayScene): Uint8Array[] {
  const players = scene.settings.players;
  if (scene.game.defaultAction !== null) {
    const bytes = encodeInput(scene.actions.defaultInput);
    return Array.from({ length: players }, () => bytes);
  }
  const sim = scene.game.sim;
  if (isPythonSimSpec(sim) || isSimModuleSpec(sim)) {
    return Array.from({ length: players }, () => encodeInput(NEUTRAL_INPUT));
  }
  const s = getSimFactory(sim).create({ players, seed: 1 });
  return Array.from({ length: players }, (_, slot) =>
    encodeInput(s.defaultInput?.(slot) ?? NEUTRAL_INPUT),
  );
}
