/**
 * Keys and actions as data: a game scene's `actions` (keys and key combinations → the sim's
 * actions, Multi-User Gymnasium's `action_mapping`) and `defaultAction` (`default_action`), as a
 * pure table that turns the keys a player holds into the 4-byte {@link Input} and an input back
 * into the action's name.
 *
 * It lives in sim/ because everything that uses it already imports sim/ and works in its terms
 * (an {@link Input}): the page (held keys → input), the bots (an action → input), the relay
 * (the away player's default input), replay and the export (input → action name). protocol/
 * may not import sim/'s `Input`, and nothing here touches the wire. It reads no clock and no
 * keyboard: the caller passes the held keys.
 *
 * @packageDocumentation
 */
import { ConcordError } from './errors.ts';
import {
  decodeInput,
  encodeInput,
  type Input,
  inputsEqual,
  isValidInput,
  NEUTRAL_INPUT,
} from './input.ts';

/**
 * A sim action as the experiment file names it: a name the sim declares in its action table
 * (`UPLEFT`, an identifier), or a discrete action index 0–{@link MAX_DISCRETE_ACTION} (see
 * {@link discreteActionInput}).
 */
export type Action = string | number;

/** A sim's named actions: each name and the input that means it. What a sim module exports as `actions`. */
export type ActionTable = Readonly<Record<string, Input>>;

/** The largest discrete action index: one per button bit, 0 meaning no button. */
export const MAX_DISCRETE_ACTION = 16;

/** Most keys in one combination (`ArrowLeft+ArrowUp` is 2). */
export const MAX_COMBO_KEYS = 4;

const ACTION_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const KEY_CODE = /^[A-Za-z0-9]{1,32}$/;

/**
 * The input of discrete action `n`: no button for 0, else only button bit n−1 held. The inverse
 * of the Python adapter's default `discreteActionMapping` (lowest held bit + 1), so an integer
 * in `actions` reaches a Python environment as that integer.
 * @throws ConcordError `BAD_CONFIG` when `n` is not an integer 0–{@link MAX_DISCRETE_ACTION}
 */
export function discreteActionInput(n: number): Input {
  if (!Number.isInteger(n) || n < 0 || n > MAX_DISCRETE_ACTION) {
    throw new ConcordError(
      'BAD_CONFIG',
      `a discrete action must be an integer 0–${MAX_DISCRETE_ACTION}, got ${n}`,
    );
  }
  return n === 0 ? NEUTRAL_INPUT : Object.freeze({ buttons: 1 << (n - 1), x: 0, y: 0 });
}

/** The discrete action whose input `input` is (no axes, at most one button), else null. */
function discreteActionOf(input: Input): number | null {
  if (input.x !== 0 || input.y !== 0) return null;
  const b = input.buttons;
  if (b === 0) return 0;
  if ((b & (b - 1)) !== 0) return null;
  return 32 - Math.clz32(b);
}

/** One entry of an {@link ActionMap}: a key combination and the action it means. */
export interface KeyBinding {
  /** The combination as written (`ArrowLeft+ArrowUp`). */
  readonly combo: string;
  /** Its keys, `KeyboardEvent.code` names, in the order written. */
  readonly keys: readonly string[];
  readonly action: Action;
  readonly input: Input;
}

/**
 * The serialisable form of an {@link ActionMap}, as the log header carries it: enough to turn
 * every logged input back into an action name years later without the sim's code.
 */
export interface ActionMapRecord {
  /** Combination → action, in the file's order. */
  readonly keys: Readonly<Record<string, Action>>;
  /** The action of no key, an away player and an idle bot; null for the sim's neutral input. */
  readonly defaultAction: Action | null;
  /** Every named action used above, and its input as 8 lowercase hex digits (the wire bytes). */
  readonly inputs: Readonly<Record<string, string>>;
}

/** The settings an {@link ActionMap} is made from: a game scene's `actions` and `defaultAction`. */
export interface ActionMapSpec {
  /** Combination (`KeyboardEvent.code` names joined by `+`) → action. */
  readonly actions: Readonly<Record<string, Action>>;
  /** Default null: the neutral input (no button, axes 0). */
  readonly defaultAction?: Action | null;
}

/** A game scene's keys and actions, checked against its sim's action table. */
export interface ActionMap {
  /** The bindings, in the file's order. */
  readonly bindings: readonly KeyBinding[];
  readonly defaultAction: Action | null;
  /** The input of {@link defaultAction}: what no key, an away player and an idle bot play. */
  readonly defaultInput: Input;
  /**
   * The binding the held keys select: among the bindings whose keys are all held, the one with
   * the most keys; between equally large ones, the one whose most recently pressed key was
   * pressed last; then the first in file order. Held keys that no binding names are ignored.
   * Null when no binding's keys are all held.
   * @param held the held keys (`KeyboardEvent.code`), oldest press first; duplicates ignored
   */
  bindingFor(held: readonly string[]): KeyBinding | null;
  /** The input of the held keys: {@link bindingFor}'s, else {@link defaultInput}. */
  inputFor(held: readonly string[]): Input;
  /**
   * The input of an action.
   * @throws ConcordError `BAD_CONFIG` for a name the sim's table does not hold, or an integer
   *   out of range
   */
  inputOf(action: Action): Input;
  /**
   * The action an input means, for exports and bots: the first name in the table (bindings'
   * names first, then the sim's) whose input equals it, else its discrete action index when it
   * is one (no axes, at most one button), else null.
   */
  actionOf(input: Input): Action | null;
  /**
   * The distinct inputs a player can give through this map: the default's first, then each
   * binding's in file order, without repeats. What a `random` bot draws from, so that it plays
   * only what a person could press (never up and down at once, unless a key means that).
   */
  readonly choices: readonly Input[];
  /** The form the log header carries. */
  toRecord(): ActionMapRecord;
}

function hexInput(input: Input): string {
  return Array.from(encodeInput(input), (b) => b.toString(16).padStart(2, '0')).join('');
}

function inputFromHex(hex: string): Input | null {
  if (!/^[0-9a-f]{8}$/.test(hex)) return null;
  const bytes = new Uint8Array(4);
  for (let i = 0; i < 4; i++) bytes[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return decodeInput(bytes);
}

function describeAction(a: Action): string {
  return typeof a === 'number' ? String(a) : `"${a}"`;
}

class ActionMapImpl implements ActionMap {
  readonly bindings: readonly KeyBinding[];
  readonly defaultAction: Action | null;
  readonly defaultInput: Input;
  readonly choices: readonly Input[];
  /** Names used, then the table's other names: the reverse lookup's order. */
  private readonly names: readonly [string, Input][];
  private readonly table: ActionTable;

  constructor(
    bindings: KeyBinding[],
    defaultAction: Action | null,
    defaultInput: Input,
    table: ActionTable,
  ) {
    this.bindings = Object.freeze(bindings);
    this.defaultAction = defaultAction;
    this.defaultInput = defaultInput;
    this.table = table;
    const used = new Map<string, Input>();
    for (const b of bindings) if (typeof b.action === 'string') used.set(b.action, b.input);
    if (typeof defaultAction === 'string') used.set(defaultAction, defaultInput);
    for (const [name, input] of Object.entries(table)) if (!used.has(name)) used.set(name, input);
    this.names = [...used];
    const choices: Input[] = [defaultInput];
    for (const b of bindings)
      if (!choices.some((c) => inputsEqual(c, b.input))) choices.push(b.input);
    this.choices = Object.freeze(choices);
  }

  bindingFor(held: readonly string[]): KeyBinding | null {
    // Position of each held key's latest press; later presses win ties.
    const order = new Map<string, number>();
    for (let i = 0; i < held.length; i++) order.set(held[i], i);
    let best: KeyBinding | null = null;
    let bestLatest = -1;
    for (const b of this.bindings) {
      let latest = -1;
      let all = true;
      for (const k of b.keys) {
        const at = order.get(k);
        if (at === undefined) {
          all = false;
          break;
        }
        if (at > latest) latest = at;
      }
      if (!all) continue;
      if (
        best === null ||
        b.keys.length > best.keys.length ||
        (b.keys.length === best.keys.length && latest > bestLatest)
      ) {
        best = b;
        bestLatest = latest;
      }
    }
    return best;
  }

  inputFor(held: readonly string[]): Input {
    return this.bindingFor(held)?.input ?? this.defaultInput;
  }

  inputOf(action: Action): Input {
    if (typeof action === 'number') return discreteActionInput(action);
    const input = this.table[action];
    if (input === undefined || !Object.hasOwn(this.table, action)) {
      throw new ConcordError('BAD_CONFIG', unknownName(action, this.table));
    }
    return input;
  }

  actionOf(input: Input): Action | null {
    for (const [name, named] of this.names) if (inputsEqual(named, input)) return name;
    return discreteActionOf(input);
  }

  toRecord(): ActionMapRecord {
    const keys: Record<string, Action> = {};
    for (const b of this.bindings) keys[b.combo] = b.action;
    const inputs: Record<string, string> = {};
    for (const b of this.bindings) {
      if (typeof b.action === 'string') inputs[b.action] = hexInput(b.input);
    }
    if (typeof this.defaultAction === 'string') {
      inputs[this.defaultAction] = hexInput(this.defaultInput);
    }
    return { keys, defaultAction: this.defaultAction, inputs };
  }
}

function unknownName(name: string, table: ActionTable): string {
  const known = Object.keys(table);
  return known.length === 0
    ? `action "${name}": the sim names no actions (use discrete action numbers 0–${MAX_DISCRETE_ACTION})`
    : `action "${name}" is not one of the sim's actions (${known.join(', ')})`;
}

/** Problems of a sim's action table, one line each (empty when it is fine). */
function tableProblems(table: ActionTable): string[] {
  const out: string[] = [];
  const seen: [string, Input][] = [];
  for (const [name, input] of Object.entries(table)) {
    if (!ACTION_NAME.test(name)) out.push(`actions table: "${name}" is not an identifier`);
    if (!isValidInput(input)) {
      out.push(`actions table: ${name} is not an input {buttons 0–65535, x, y −128–127}`);
      continue;
    }
    const twin = seen.find(([, other]) => inputsEqual(other, input));
    if (twin) out.push(`actions table: ${name} has the same input as ${twin[0]}`);
    seen.push([name, input]);
  }
  return out;
}

/**
 * Builds a scene's {@link ActionMap} and checks it against the sim's action table.
 * @param spec the scene's `actions` and `defaultAction`
 * @param table the sim's named actions (a sim module's `actions` export; `{}` for a sim that names
 *   none, such as a Python environment, whose actions are then discrete numbers)
 * @throws ConcordError `BAD_CONFIG` listing every problem, one per line, named by field as in the
 *   experiment file (`actions["ArrowLeft+ArrowUp"]: action "UPLFT" is not one of the sim's
 *   actions (…)`, `actions["KeyA+KeyA"]: a key is repeated`, `actions["KeyB+KeyA"]: the same keys
 *   as KeyA+KeyB`, `defaultAction: …`); a table with two names for one input or an invalid input.
 */
export function createActionMap(spec: ActionMapSpec, table: ActionTable = {}): ActionMap {
  const problems = tableProblems(table);
  const bindings: KeyBinding[] = [];
  const sets = new Map<string, string>();
  for (const [combo, action] of Object.entries(spec.actions)) {
    // As the experiment file's loader names paths: `actions.KeyW`, `actions["ArrowLeft+ArrowUp"]`.
    const where = /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(combo)
      ? `actions.${combo}`
      : `actions[${JSON.stringify(combo)}]`;
    const keys = combo.split('+');
    if (keys.length > MAX_COMBO_KEYS || !keys.every((k) => KEY_CODE.test(k))) {
      problems.push(
        `${where}: must be up to ${MAX_COMBO_KEYS} KeyboardEvent.code names joined by + (ArrowLeft+ArrowUp)`,
      );
      continue;
    }
    if (new Set(keys).size !== keys.length) {
      problems.push(`${where}: a key is repeated in the combination`);
      continue;
    }
    const canonical = [...keys].sort().join('+');
    const other = sets.get(canonical);
    if (other !== undefined) {
      problems.push(`${where}: the same keys as ${other}`);
      continue;
    }
    sets.set(canonical, combo);
    try {
      const input = inputFrom(action, table);
      bindings.push({ combo, keys: Object.freeze(keys), action, input });
    } catch (err) {
      problems.push(`${where}: ${(err as Error).message}`);
    }
  }
  const defaultAction = spec.defaultAction ?? null;
  let defaultInput: Input = NEUTRAL_INPUT;
  if (defaultAction !== null) {
    try {
      defaultInput = inputFrom(defaultAction, table);
    } catch (err) {
      problems.push(`defaultAction: ${(err as Error).message}`);
    }
  }
  if (problems.length > 0) {
    throw new ConcordError('BAD_CONFIG', problems.join('\n'));
  }
  return new ActionMapImpl(bindings, defaultAction, defaultInput, table);
}

function inputFrom(action: Action, table: ActionTable): Input {
  if (typeof action === 'number') return discreteActionInput(action);
  if (typeof action !== 'string' || !ACTION_NAME.test(action)) {
    throw new ConcordError(
      'BAD_CONFIG',
      `${describeAction(action)} is not an action (a name or an integer 0–${MAX_DISCRETE_ACTION})`,
    );
  }
  if (!Object.hasOwn(table, action))
    throw new ConcordError('BAD_CONFIG', unknownName(action, table));
  return table[action];
}

/**
 * Rebuilds an {@link ActionMap} from the log header's record alone (its `inputs` stand in for
 * the sim's table), so that a replay or an export reads action names without the sim's code.
 * @throws ConcordError `BAD_CONFIG` when the record is malformed (a named action without an
 *   input, an input that is not 8 hex digits) or breaks the rules of {@link createActionMap}
 */
export function actionMapFromRecord(record: ActionMapRecord): ActionMap {
  const table: Record<string, Input> = {};
  for (const [name, hex] of Object.entries(record.inputs)) {
    const input = typeof hex === 'string' ? inputFromHex(hex) : null;
    if (input === null) {
      throw new ConcordError(
        'BAD_CONFIG',
        `actions record: input of ${name} must be 8 lowercase hex digits, got ${JSON.stringify(hex)}`,
      );
    }
    table[name] = input;
  }
  return createActionMap({ actions: record.keys, defaultAction: record.defaultAction }, table);
}
