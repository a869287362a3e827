import type { SceneSettings } from '../protocol/index.ts';

const duelBase = {
  sim: 'duel',
  tickRate: 60,
  mode: 'rollback',
  inputDelay: 2,
  maxPredictionWindow: 8,
  saveStrategy: 'ring',
  hashInterval: 30,
  hashIntervalMax: 240,
  frames: 0,
  reconnectGraceMs: 10_000,
  onPlayerLost: 'continue',
} as const;

/**
 * The scenes a relay serves when no experiment file names others: duel for 2, 3 and 4 players
 * (`duel`, `duel-3`, `duel-4`) and a lockstep variant (`duel-lockstep`). Sixty frames per second,
 * input delay 2 frames, prediction window 8 frames, state-hash checks every 30 to 240 frames
 * (0.5 to 4 s; a 10 Hz grid world would use 5 to 40), 10 s to reconnect, no frame limit.
 */
export const BUILTIN_SCENES: Readonly<Record<string, SceneSettings>> = Object.freeze({
  duel: { ...duelBase, name: 'duel', players: 2 },
  'duel-3': { ...duelBase, name: 'duel-3', players: 3 },
  'duel-4': { ...duelBase, name: 'duel-4', players: 4 },
  'duel-lockstep': {
    ...duelBase,
    name: 'duel-lockstep',
    players: 2,
    mode: 'lockstep',
    maxPredictionWindow: 0,
    inputDelay: 3,
  },
});
