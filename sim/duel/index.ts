/**
 * The duel: a deterministic top-down arena shooter for 2–4 players, built on Concord's sim
 * contract. `duel` is the factory the registry lists; the rest is for renderers, input capture
 * and bots.
 */
export {
  DUEL_ARENA,
  type DuelArena,
  type DuelPoint,
  type DuelWall,
} from './arena.ts';
export { DUEL_ACTIONS, DUEL_BUTTONS, duelAim, randomDuelInput } from './controls.ts';
export { DUEL_RULES, type DuelRules } from './rules.ts';
export { duel } from './sim.ts';
export {
  type DuelPickupView,
  type DuelPlayerView,
  type DuelProjectileView,
  type DuelView,
  duelView,
} from './view.ts';
