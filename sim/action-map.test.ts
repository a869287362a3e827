import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type Action,
  type ActionTable,
  actionMapFromRecord,
  createActionMap,
  discreteActionInput,
  MAX_DISCRETE_ACTION,
} from './action-map.ts';
import { ConcordError } from './errors.ts';
import { type Input, NEUTRAL_INPUT } from './input.ts';
import { discreteActionMapping } from './python/actions.ts';

const MOVES: ActionTable = {
  NOOP: { buttons: 0, x: 0, y: 0 },
  UP: { buttons: 1, x: 0, y: 0 },
  LEFT: { buttons: 4, x: 0, y: 0 },
  UPLEFT: { buttons: 5, x: 0, y: 0 },
  FIRE: { buttons: 16, x: 0, y: 0 },
};

const arrows = createActionMap(
  {
    actions: { ArrowUp: 'UP', ArrowLeft: 'LEFT', 'ArrowLeft+ArrowUp': 'UPLEFT', Space: 'FIRE' },
    defaultAction: 'NOOP',
  },
  MOVES,
);

describe('createActionMap', () => {
  it('picks the largest combination held, whatever the order of the presses', () => {
    expect(arrows.bindingFor(['ArrowUp', 'ArrowLeft'])?.action).toBe('UPLEFT');
    expect(arrows.bindingFor(['ArrowLeft', 'ArrowUp'])?.action).toBe('UPLEFT');
    expect(arrows.inputFor(['ArrowLeft', 'ShiftLeft', 'ArrowUp'])).toEqual(MOVES.UPLEFT);
  });

  it('lets the latest press win between combinations of one size', () => {
    expect(arrows.bindingFor(['ArrowUp', 'Space'])?.action).toBe('FIRE');
    expect(arrows.bindingFor(['Space', 'ArrowUp'])?.action).toBe('UP');
  });

  it('plays the default action with no key, or with keys it does not know', () => {
    expect(arrows.inputFor([])).toEqual(MOVES.NOOP);
    expect(arrows.inputFor(['KeyQ'])).toEqual(MOVES.NOOP);
    expect(arrows.defaultInput).toEqual(MOVES.NOOP);
    const none = createActionMap({ actions: {} });
    expect(none.defaultAction).toBeNull();
    expect(none.defaultInput).toEqual(NEUTRAL_INPUT);
  });

  it("takes an idle Mountain Car player's default from the file, not from action 0", () => {
    // Mountain Car: 0 push left, 1 no push, 2 push right.
    const car = createActionMap({ actions: { ArrowLeft: 0, ArrowRight: 2 }, defaultAction: 1 });
    expect(discreteActionMapping(car.inputFor([]), 0)).toBe(1);
    expect(discreteActionMapping(car.inputFor(['ArrowLeft']), 0)).toBe(0);
    expect(discreteActionMapping(car.inputFor(['ArrowRight']), 0)).toBe(2);
    expect(car.actionOf(car.defaultInput)).toBe(1);
  });

  it('lists the distinct inputs a player can give, the default first, for a random bot', () => {
    expect(arrows.choices).toEqual([MOVES.NOOP, MOVES.UP, MOVES.LEFT, MOVES.UPLEFT, MOVES.FIRE]);
    const twoKeysOneAction = createActionMap({ actions: { KeyW: 1, ArrowUp: 1 } });
    expect(twoKeysOneAction.choices).toEqual([NEUTRAL_INPUT, discreteActionInput(1)]);
  });

  it('turns inputs back into action names, and unknown inputs into null', () => {
    expect(arrows.actionOf(MOVES.UPLEFT)).toBe('UPLEFT');
    expect(arrows.actionOf({ buttons: 3, x: 0, y: 0 })).toBeNull();
    expect(arrows.actionOf({ buttons: 0, x: 5, y: 0 })).toBeNull();
    expect(arrows.inputOf('FIRE')).toEqual(MOVES.FIRE);
    expect(() => arrows.inputOf('JUMP')).toThrow(/not one of the sim's actions/);
  });

  it('names every problem by its field', () => {
    let error: unknown;
    try {
      createActionMap(
        {
          actions: {
            ArrowUp: 'UPP',
            'KeyA+KeyA': 'UP',
            'KeyB+KeyA': 'UP',
            'KeyA+KeyB': 'UP',
            Space: 99,
          },
          defaultAction: 'STAY',
        },
        MOVES,
      );
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConcordError);
    expect((error as ConcordError).code).toBe('BAD_CONFIG');
    expect((error as Error).message.split('\n')).toEqual([
      `actions.ArrowUp: action "UPP" is not one of the sim's actions (NOOP, UP, LEFT, UPLEFT, FIRE)`,
      'actions["KeyA+KeyA"]: a key is repeated in the combination',
      'actions["KeyA+KeyB"]: the same keys as KeyB+KeyA',
      `actions.Space: a discrete action must be an integer 0–${MAX_DISCRETE_ACTION}, got 99`,
      `defaultAction: action "STAY" is not one of the sim's actions (NOOP, UP, LEFT, UPLEFT, FIRE)`,
    ]);
  });

  it('refuses names for a sim that declares none, and a table with two names for one input', () => {
    expect(() => createActionMap({ actions: { KeyW: 'UP' } })).toThrow(/the sim names no actions/);
    expect(() =>
      createActionMap(
        { actions: {} },
        { A: { buttons: 1, x: 0, y: 0 }, B: { buttons: 1, x: 0, y: 0 } },
      ),
    ).toThrow(/B has the same input as A/);
  });

  it('makes discrete action inputs that the Python default mapping reads back', () => {
    for (let n = 0; n <= MAX_DISCRETE_ACTION; n++) {
      expect(discreteActionMapping(discreteActionInput(n), 0)).toBe(n);
    }
    expect(() => discreteActionInput(17)).toThrow(ConcordError);
  });
});

const KEYS = [
  'ArrowUp',
  'ArrowDown',
  'ArrowLeft',
  'ArrowRight',
  'KeyW',
  'KeyA',
  'KeyS',
  'KeyD',
  'Space',
];

/** A random sim table (distinct names, distinct inputs) and a mapping of distinct key sets to its actions. */
const scene = fc
  .uniqueArray(
    fc.record({
      buttons: fc.integer({ min: 0, max: 0xffff }),
      x: fc.integer({ min: -128, max: 127 }),
      y: fc.integer({ min: -128, max: 127 }),
    }),
    { minLength: 1, maxLength: 12, selector: (i) => `${i.buttons},${i.x},${i.y}` },
  )
  .chain((inputs) => {
    const table: Record<string, Input> = {};
    inputs.forEach((input, i) => {
      table[`A${i}`] = input;
    });
    const action: fc.Arbitrary<Action> = fc.oneof(
      fc.constantFrom(...Object.keys(table)),
      fc.integer({ min: 0, max: MAX_DISCRETE_ACTION }),
    );
    const combo = fc.uniqueArray(fc.constantFrom(...KEYS), { minLength: 1, maxLength: 4 });
    return fc.record({
      table: fc.constant(table as ActionTable),
      bindings: fc.uniqueArray(fc.tuple(combo, action), {
        minLength: 1,
        maxLength: 10,
        selector: ([keys]) => [...keys].sort().join('+'),
      }),
      defaultAction: fc.option(action, { nil: null }),
      extra: fc.uniqueArray(fc.constantFrom('KeyQ', 'KeyE', 'ShiftLeft', 'Tab'), { maxLength: 3 }),
    });
  });

describe('round trip (property)', () => {
  it('every mapped combination, held in any order among unmapped keys, gives its input, and that input its action', () => {
    fc.assert(
      fc.property(scene, fc.nat(), ({ table, bindings, defaultAction, extra }, shuffleSeed) => {
        const actions = Object.fromEntries(bindings.map(([keys, a]) => [keys.join('+'), a]));
        const map = createActionMap({ actions, defaultAction }, table);
        for (const [keys, action] of bindings) {
          // A deterministic shuffle of the combo's keys mixed with keys that no binding names.
          const held = [...keys, ...extra].sort(
            (a, b) => ((a.length * 31 + shuffleSeed) % 7) - ((b.length * 31 + shuffleSeed) % 7),
          );
          const input = map.inputFor(held);
          const expected = typeof action === 'number' ? discreteActionInput(action) : table[action];
          expect(input).toEqual(expected);
          const back = map.actionOf(input);
          expect(back).not.toBeNull();
          expect(map.inputOf(back as Action)).toEqual(expected);
          if (typeof action === 'string') expect(back).toBe(action);
        }
        // And the log header's form rebuilds the same map without the sim's table.
        const again = actionMapFromRecord(JSON.parse(JSON.stringify(map.toRecord())));
        expect(again.defaultInput).toEqual(map.defaultInput);
        for (const [keys, action] of bindings) {
          expect(again.inputFor(keys)).toEqual(map.inputFor(keys));
          if (typeof action === 'string') expect(again.actionOf(map.inputFor(keys))).toBe(action);
        }
      }),
      { numRuns: 300 },
    );
  });
});
