import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MAX_PLAYERS } from '../../protocol/index.ts';
import {
  ExperimentFileSchema,
  experimentJsonSchema,
  GameSceneSchema,
  OVERRIDABLE_SETTINGS,
  SYNC_MODES,
  showValue,
} from './schema.ts';
import { applyCondition, toSceneSettings } from './settings.ts';
import { JSON_SCHEMA_PATH } from './write-json-schema.ts';

describe('the experiment schema', () => {
  it('fills defaults of nested objects', () => {
    const g = GameSceneSchema.parse({ kind: 'game', id: 'g', sync: { inputDelay: 4 } });
    expect(g.sync).toMatchObject({ inputDelay: 4, mode: 'rollback', hashIntervalMax: 240 });
    expect(g.waitingRoom).toEqual({ timeoutMs: 120_000, onTimeout: 'end' });
  });

  it('passes sync.referee to the scene settings only when the file sets it', () => {
    const off = GameSceneSchema.parse({ kind: 'game', id: 'g', sync: { referee: false } });
    const paths = { simPath: null, botPath: null };
    expect(toSceneSettings({ ...off, ...paths }).referee).toBe(false);
    const auto = GameSceneSchema.parse({ kind: 'game', id: 'g' });
    expect('referee' in toSceneSettings({ ...auto, ...paths })).toBe(false);
    expect(
      GameSceneSchema.safeParse({ kind: 'game', id: 'g', sync: { referee: 'no' } }).success,
    ).toBe(false);
  });

  it('passes lag compensation and violation settings through, and lets a condition set them', () => {
    const paths = { simPath: null, botPath: null };
    const g = GameSceneSchema.parse({
      kind: 'game',
      id: 'g',
      sync: {
        maxRewindMs: 500,
        violationWarnAt: 3,
        violationRemoveAt: 9,
        violationDecayFrames: 30,
      },
    });
    expect(toSceneSettings({ ...g, ...paths })).toMatchObject({
      maxRewindMs: 500,
      violationWarnAt: 3,
      violationRemoveAt: 9,
      violationDecayFrames: 30,
    });
    const plain = { ...GameSceneSchema.parse({ kind: 'game', id: 'g' }), ...paths };
    expect('maxRewindMs' in toSceneSettings(plain)).toBe(false);
    const strict = applyCondition(
      plain,
      [{ name: 'cap', levels: [{ maxRewindMs: 100, referee: false }] }],
      { cap: 0 },
      '.',
    );
    expect(strict.sync.maxRewindMs).toBe(100);
    expect(strict.sync.referee).toBe(false);
    expect(toSceneSettings(strict).maxRewindMs).toBe(100);
    expect(
      GameSceneSchema.safeParse({ kind: 'game', id: 'g', sync: { maxRewindMs: 1001 } }).success,
    ).toBe(false);
    expect(() =>
      toSceneSettings({
        ...GameSceneSchema.parse({
          kind: 'game',
          id: 'g',
          sync: { violationWarnAt: 9, violationRemoveAt: 8 },
        }),
        ...paths,
      }),
    ).toThrow(/violationRemoveAt/);
  });

  it('takes its player range from protocol/', () => {
    expect(GameSceneSchema.safeParse({ kind: 'game', id: 'g', players: MAX_PLAYERS }).success).toBe(
      true,
    );
    expect(
      GameSceneSchema.safeParse({ kind: 'game', id: 'g', players: MAX_PLAYERS + 1 }).success,
    ).toBe(false);
  });

  it('accepts only the sync modes the protocol has', () => {
    expect(SYNC_MODES).toEqual(['lockstep', 'rollback', 'authoritative']);
    const ok = GameSceneSchema.safeParse({
      kind: 'game',
      id: 'g',
      sync: { mode: 'authoritative' },
    });
    expect(ok.success).toBe(true);
    const r = GameSceneSchema.safeParse({ kind: 'game', id: 'g', sync: { mode: 'server' } });
    expect(r.success).toBe(false);
  });

  it('refuses unknown keys, fractions and wrong types', () => {
    for (const bad of [
      { kind: 'game', id: 'g', tickrate: 30 },
      { kind: 'game', id: 'g', tickRate: 30.5 },
      { kind: 'game', id: 'g', revealBot: 'no' },
      { kind: 'game', id: 'g', bot: 'smart' },
      { kind: 'game', id: 'g', actions: { 'Arrow Left': 1 } },
    ]) {
      expect(GameSceneSchema.safeParse(bad).success, JSON.stringify(bad)).toBe(false);
    }
  });

  it('lets conditions override sync and game settings by flat name', () => {
    expect(OVERRIDABLE_SETTINGS).toContain('inputDelay');
    expect(OVERRIDABLE_SETTINGS).toContain('revealBot');
    expect(OVERRIDABLE_SETTINGS).not.toContain('sync');
    const r = ExperimentFileSchema.safeParse({
      id: 'x',
      conditions: { d: [{ sync: { inputDelay: 2 } }] },
      scenes: [{ kind: 'end', id: 'e' }],
    });
    expect(r.success).toBe(false);
  });

  it('shows values briefly', () => {
    expect(showValue(undefined)).toBe('nothing');
    expect(showValue('x'.repeat(100))).toHaveLength(60);
    expect(showValue(-3)).toBe('-3');
  });
});

describe('docs/experiment.schema.json', () => {
  it('is what the code generates (regenerate: npx tsx relay/experiment/write-json-schema.ts)', () => {
    const committed = JSON.parse(readFileSync(JSON_SCHEMA_PATH, 'utf8'));
    expect(committed).toEqual(experimentJsonSchema());
  });

  it('describes defaults and strict objects for editors', () => {
    const s = experimentJsonSchema() as {
      additionalProperties: boolean;
      required: string[];
    };
    expect(s.additionalProperties).toBe(false);
    expect(s.required).toEqual(['id', 'scenes']);
    expect(JSON.stringify(s)).toContain('"default":"rollback"');
  });
});
