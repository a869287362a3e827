import { describe, expect, it } from 'vitest';
import { encodeInput, INPUT_BYTES as SIM_INPUT_BYTES } from '../sim/index.ts';
import { INPUT_BYTES, SCENE_LIMITS, validateSceneSettings } from './index.ts';

describe('the table of scene limits', () => {
  it("agrees with the sim's input size: what the sim encodes is what the wire carries", () => {
    expect(SIM_INPUT_BYTES).toBe(INPUT_BYTES);
    expect(encodeInput({ buttons: 0xffff, x: -128, y: 127 }).length).toBe(INPUT_BYTES);
  });

  it('is what scene validation enforces, at both ends of every range', () => {
    const base = {
      name: 'duel',
      sim: 'duel',
      players: 2,
      tickRate: 60,
      mode: 'rollback',
      inputDelay: 2,
      maxPredictionWindow: 8,
      saveStrategy: 'ring',
      hashInterval: 30,
      frames: 0,
      hashIntervalMax: 240,
      rejoinGraceMs: 10_000,
      onPlayerLost: 'continue',
      transport: 'auto',
    };
    const fields = [
      'players',
      'tickRate',
      'inputDelay',
      'maxPredictionWindow',
      'frames',
      'rejoinGraceMs',
    ] as const;
    for (const f of fields) {
      const { min, max } = SCENE_LIMITS[f];
      expect(validateSceneSettings({ ...base, [f]: min })[f]).toBe(min);
      expect(validateSceneSettings({ ...base, [f]: max })[f]).toBe(max);
      expect(() => validateSceneSettings({ ...base, [f]: min - 1 })).toThrow(f);
      expect(() => validateSceneSettings({ ...base, [f]: max + 1 })).toThrow(f);
    }
  });
});
