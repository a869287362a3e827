import type { Input } from './input.ts';
import type { Frame, PlayerSlot } from './sim.ts';

/**
 * What a sim's own input rule says about one input: the input to apply (the one given, or a
 * corrected one), and, when the input broke a rule, a short name of the rule (`fireRate`,
 * `unknownButtons`) that the host counts as a violation and logs.
 */
export interface InputRuleVerdict {
  /** The input to apply: the input as sent when it broke no rule, else its corrected form. */
  readonly input: Input;
  /** The rule broken, a short camelCase name (1..32 characters), or undefined when none was. */
  readonly violation?: string;
}

/**
 * A sim's own input rules, on top of the framework's checks (shape, rate, frame window; see
 * `InputValidator` in sim/sync/). The host of an authoritative match calls {@link check} once per
 * accepted input, in the order of the frames it is stamped for, per player; the rules may keep
 * per-player history between calls (the last frame fire was pressed). They run only on the host:
 * the inputs as applied (corrected) are what the log records, so replay never needs them.
 *
 * Idea: Valve's server-side "sanity checks" on user commands (Source's `CUserCmd` clamping) and
 * the Photon Quantum / Colyseus advice to validate every client command on the server.
 */
export interface SimInputRules {
  /**
   * Judges `input`, stamped for `frame`, from the player in `slot`.
   * @returns the input to apply and the rule it broke, if any. Never throws for a well-formed
   *   input (the framework refuses malformed ones before).
   */
  check(slot: PlayerSlot, frame: Frame, input: Input): InputRuleVerdict;
}
