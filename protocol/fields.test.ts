import { describe, expect, it } from 'vitest';
import { ProtocolError, type SceneSettings, validateSceneSettings } from './index.ts';

const valid: SceneSettings = {
  name: 'duel-lockstep',
  sim: 'python:envs.grid:GridWorld',
  players: 2,
  tickRate: 30,
  mode: 'lockstep',
  inputDelay: 3,
  maxPredictionWindow: 0,
  saveStrategy: 'sparse',
  hashInterval: 64,
  frames: 18_000,
  hashIntervalMax: 512,
  rejoinGraceMs: 10_000,
  onPlayerLost: 'end',
  transport: 'auto',
};

function refusal(value: unknown): ProtocolError {
  try {
    validateSceneSettings(value);
  } catch (err) {
    if (err instanceof ProtocolError) return err;
    throw err;
  }
  throw new Error('expected a refusal');
}

describe('validateSceneSettings', () => {
  it('returns a copy of valid settings with exactly their fields', () => {
    const copy = validateSceneSettings(valid);
    expect(copy).toEqual(valid);
    expect(copy).not.toBe(valid);
    expect(validateSceneSettings(Object.assign(Object.create(null), valid))).toEqual(valid);
  });

  const bad: Record<keyof SceneSettings, unknown[]> = {
    name: ['', 'Duel', '_duel', 'a'.repeat(65), 'du el', 'duel!', 3],
    sim: ['', 'x'.repeat(201), 'caf\u00e9', 'a\nb', null],
    players: [0, 17, 1.5, '2'],
    tickRate: [0, 241, Number.NaN, 60.5],
    mode: ['server', 'Lockstep', ''],
    inputDelay: [-1, 31],
    maxPredictionWindow: [-1, 61],
    saveStrategy: ['every', null],
    hashInterval: [0, 65_537],
    frames: [-1, 10_000_001, Number.POSITIVE_INFINITY],
    hashIntervalMax: [0, 63, 65_537],
    rejoinGraceMs: [-1, 600_001, 1.5],
    onPlayerLost: ['stop', null],
    referee: ['yes', 1, null],
    transport: ['udp', 'WebRTC', null],
    broadcastDivisor: [0, 61, 1.5, '3'],
    interpolationDelayMs: [-1, 1001, 'x'],
    maxRewindMs: [-1, 1001, 1.5, null],
    violationWarnAt: [0, 100_001, null],
    violationRemoveAt: [0, 100_001, 5, null],
    violationDecayFrames: [0, 65_537, null],
  };
  const OPTIONAL = [
    'referee',
    'broadcastDivisor',
    'interpolationDelayMs',
    'maxRewindMs',
    'violationWarnAt',
    'violationRemoveAt',
    'violationDecayFrames',
  ];
  for (const [field, values] of Object.entries(bad)) {
    it(`refuses a bad ${field}`, () => {
      for (const value of values) {
        const err = refusal({ ...valid, [field]: value });
        expect(err.code).toBe('BAD_FIELD');
        expect(err.message).toContain(`settings.${field}:`);
      }
      const missing: Record<string, unknown> = { ...valid };
      delete missing[field];
      if (OPTIONAL.includes(field)) expect(validateSceneSettings(missing)).toEqual(missing);
      else expect(refusal(missing).message).toContain(`settings.${field}: expected`);
    });
  }

  it('keeps the optional referee setting when given, and leaves it out when absent', () => {
    expect(validateSceneSettings({ ...valid, referee: false }).referee).toBe(false);
    expect('referee' in validateSceneSettings(valid)).toBe(false);
  });

  it('keeps the lag compensation and violation settings when given', () => {
    const given = {
      ...valid,
      maxRewindMs: 1000,
      violationWarnAt: 5,
      violationRemoveAt: 5,
      violationDecayFrames: 1,
    };
    expect(validateSceneSettings(given)).toEqual(given);
  });

  it('refuses unknown fields, naming them', () => {
    const err = refusal({ ...valid, tickrate: 60 });
    expect(err.code).toBe('BAD_FIELD');
    expect(err.message).toBe('settings: unknown field "tickrate"');
  });

  it('refuses what is not a plain object', () => {
    for (const value of [null, undefined, 'duel', 5, [], new Map(), new Date()]) {
      expect(refusal(value).code).toBe('BAD_FIELD');
    }
  });
});
