import { ConcordError } from '../errors.ts';
import { decodeInput, INPUT_BYTES, type Input } from '../input.ts';
import type { SimInputRules } from '../input-rules.ts';
import type { Frame, PlayerSlot } from '../sim.ts';

/**
 * The framework's own rules, by the name a violation of each is counted and logged under
 * (a sim's rules add their own names, see `SimInputRules`):
 * - `malformed`: not exactly `INPUT_BYTES` bytes, or a frame that is not an integer ≥ 0;
 * - `rate`: more than one new input per host frame beyond the burst ({@link INPUT_BURST}), for
 *   inputs stamped for frames the host has not stepped yet (a late input gains nothing and is
 *   confirmed with the player's previous one anyway: a client catching up sends many at once);
 * - `tooOld`: stamped behind the confirmed frame by more than the rewind cap;
 * - `tooFarAhead`: stamped more than `maxAheadFrames` past the host's frame;
 * - `conflicting`: a second, different input for a frame the player already sent.
 */
export const FRAMEWORK_RULES = [
  'malformed',
  'rate',
  'tooOld',
  'tooFarAhead',
  'conflicting',
] as const;

/**
 * The rules a connection can break without cheating (a stall, a burst after one, a clock that
 * drifts): a run of refusals under one of them counts once, until an input of that player is
 * accepted again, so that a stalled connection delivering a second of late inputs at once costs
 * one violation, not sixty. Each input is refused all the same.
 */
export const NETWORK_RULES: readonly string[] = ['rate', 'tooOld', 'tooFarAhead'];

/**
 * Inputs a player may send beyond one per host frame before the rate rule refuses them: a
 * token bucket one frame deep plus this many, refilled by one token per host frame. Eight frames
 * (133 ms at 60 Hz) absorbs a burst after a stalled tab or a lost packet's repeats.
 */
export const INPUT_BURST = 8;

/** Defaults of the violation scene settings (`violationWarnAt`, `violationRemoveAt`, `violationDecayFrames`). */
export const VIOLATION_DEFAULTS = Object.freeze({
  /** Count at which the player is warned. */
  warnAt: 10,
  /** Count at which the player is removed from the match. */
  removeAt: 30,
  /** Host frames per point of decay: every this many frames each count drops by one. */
  decayFrames: 60,
});

/** Settings of an {@link InputValidator}. Frames are host frames. */
export interface InputValidatorSettings {
  /** Players in the match, 1..16. */
  readonly players: number;
  /** The rewind cap in frames (`maxRewindMs` at the tick rate): how far behind the confirmed frame an input may be stamped. */
  readonly maxRewindFrames: number;
  /** How far past the host's current frame an input may be stamped, frames, ≥ 1. */
  readonly maxAheadFrames: number;
  /** Violation count that warns the player (≥ 1). Default {@link VIOLATION_DEFAULTS}. */
  readonly warnAt?: number;
  /** Violation count that removes the player (≥ warnAt). Default {@link VIOLATION_DEFAULTS}. */
  readonly removeAt?: number;
  /** Host frames per point of decay (≥ 1). Default {@link VIOLATION_DEFAULTS}. */
  readonly decayFrames?: number;
  /** Inputs beyond one per frame allowed in a burst (≥ 0). Default {@link INPUT_BURST}. */
  readonly burst?: number;
  /** The sim's own rules, if it has any. */
  readonly rules?: SimInputRules;
}

/**
 * What follows a violation: `counted` (below the warning threshold), `warned` (the count just
 * reached `warnAt`: tell the player), `removed` (the count reached `removeAt`: take the player
 * out of the match; its later inputs are dropped uncounted).
 */
export type ViolationAction = 'counted' | 'warned' | 'removed';

/** One violation, as the host logs it. */
export interface Violation {
  /** The rule broken: one of {@link FRAMEWORK_RULES} or a sim rule's name. */
  readonly rule: string;
  readonly slot: PlayerSlot;
  /** The frame the input was stamped for (-1 when the frame itself was malformed). */
  readonly frame: Frame;
  /** `refused`: the input is dropped (the host keeps the player's last input for that frame); `corrected`: the sim's rule replaced it. */
  readonly outcome: 'refused' | 'corrected';
  /** The player's violation count after this one. */
  readonly count: number;
  readonly action: ViolationAction;
}

/**
 * The verdict on one input:
 * - `accepted`: apply `input` at `frame`;
 * - `corrected`: apply `input` (the sim's rule replaced what was sent) and log `violation`;
 * - `refused`: drop it and log `violation`;
 * - `duplicate`: the same input for a frame already received (a repeat of the redundant input
 *   path): drop it, nothing to count;
 * - `dropped`: refused under the same network rule as the input before (see
 *   {@link NETWORK_RULES}): drop it, counted and logged with the first of its run;
 * - `removed`: the player was removed earlier; drop it, nothing to count.
 */
export type InputVerdict =
  | { readonly outcome: 'accepted'; readonly input: Input }
  | { readonly outcome: 'corrected'; readonly input: Input; readonly violation: Violation }
  | { readonly outcome: 'refused'; readonly violation: Violation }
  | { readonly outcome: 'duplicate' }
  | { readonly outcome: 'dropped'; readonly rule: string }
  | { readonly outcome: 'removed' };

interface PlayerRecord {
  tokens: number;
  count: number;
  warned: boolean;
  removed: boolean;
  /** The network rule of the run of refusals in progress, or null. */
  run: string | null;
  /** Encoded input (u32) of each frame received and still inside the window. */
  readonly received: Map<number, number>;
}

/**
 * Validates the inputs that reach the host of an authoritative match, player by player: the
 * framework's rules ({@link FRAMEWORK_RULES}) and then the sim's own, counting violations per
 * player with a count that decays over frames, so that a rare slip (a packet burst after a stall)
 * is forgiven while a bot that keeps cheating reaches the warning and then the removal threshold.
 * A player's identity is its connection's slot (the caller's), never a field of the message: a
 * client cannot send inputs for another slot.
 *
 * Pure and clock-free: the host calls {@link advance} with the frame its clock has reached (so
 * that a host that stalls does not count the inputs that arrived meanwhile as too many) and
 * {@link check} for each input as it arrives, and carries out the returned verdict (apply, log,
 * warn, remove).
 *
 * Idea: Valve's server-side command validation and rate limiting ("Latency Compensating Methods
 * in Client/Server In-game Protocol Design and Optimization", 2001, and Source's `sv_maxusrcmdprocessticks`),
 * a token bucket for the rate, and decaying violation scores as in anti-cheat "trust factors".
 */
export class InputValidator {
  private readonly players: PlayerRecord[];
  private readonly warnAt: number;
  private readonly removeAt: number;
  private readonly decayFrames: number;
  private readonly burst: number;
  private hostFrame: Frame = 0;
  private decayClock = 0;

  /** @throws ConcordError `BAD_CONFIG` for a setting out of range. */
  constructor(private readonly settings: InputValidatorSettings) {
    const s = settings;
    this.warnAt = s.warnAt ?? VIOLATION_DEFAULTS.warnAt;
    this.removeAt = s.removeAt ?? VIOLATION_DEFAULTS.removeAt;
    this.decayFrames = s.decayFrames ?? VIOLATION_DEFAULTS.decayFrames;
    this.burst = s.burst ?? INPUT_BURST;
    const ok =
      Number.isInteger(s.players) &&
      s.players >= 1 &&
      Number.isInteger(s.maxRewindFrames) &&
      s.maxRewindFrames >= 0 &&
      Number.isInteger(s.maxAheadFrames) &&
      s.maxAheadFrames >= 1 &&
      Number.isInteger(this.warnAt) &&
      this.warnAt >= 1 &&
      Number.isInteger(this.removeAt) &&
      this.removeAt >= this.warnAt &&
      Number.isInteger(this.decayFrames) &&
      this.decayFrames >= 1 &&
      Number.isInteger(this.burst) &&
      this.burst >= 0;
    if (!ok) {
      throw new ConcordError(
        'BAD_CONFIG',
        `input validator settings out of range: ${JSON.stringify({ ...s, rules: undefined })}`,
      );
    }
    this.players = Array.from({ length: s.players }, () => ({
      tokens: 1 + this.burst,
      count: 0,
      warned: false,
      removed: false,
      run: null,
      received: new Map<number, number>(),
    }));
  }

  /**
   * The host stepped to `frame` (its new current frame): one rate token per frame stepped for
   * every player, one point of decay every `decayFrames` frames, and inputs older than the
   * window forgotten. Frames that do not move forward are ignored.
   */
  advance(frame: Frame): void {
    const steps = frame - this.hostFrame;
    if (!(steps > 0)) return;
    this.hostFrame = frame;
    this.decayClock += steps;
    const decay = Math.floor(this.decayClock / this.decayFrames);
    this.decayClock -= decay * this.decayFrames;
    const oldest = frame - this.settings.maxRewindFrames;
    for (const p of this.players) {
      p.tokens = Math.min(1 + this.burst, p.tokens + steps);
      if (decay > 0) {
        p.count = Math.max(0, p.count - decay);
        if (p.count < this.warnAt) p.warned = false;
      }
      for (const f of p.received.keys()) if (f < oldest) p.received.delete(f);
    }
  }

  /**
   * Judges one input from the player in `slot` (the slot of the connection it came on).
   * @param frame the frame it is stamped for.
   * @param bytes its encoded form (`INPUT_BYTES` bytes).
   * @param confirmedFrame the host's confirmed frame (in an authoritative match, its current
   *   frame: everything before is final).
   * @throws ConcordError `BAD_CONFIG` for a slot that is not a player of the match (a caller bug).
   */
  check(slot: PlayerSlot, frame: Frame, bytes: Uint8Array, confirmedFrame: Frame): InputVerdict {
    const p = this.players[slot];
    if (p === undefined) {
      throw new ConcordError('BAD_CONFIG', `slot ${slot} is not a player of this match`);
    }
    if (p.removed) return { outcome: 'removed' };
    if (!Number.isInteger(frame) || frame < 0 || bytes.length !== INPUT_BYTES) {
      return this.refuse(p, slot, Number.isInteger(frame) && frame >= 0 ? frame : -1, 'malformed');
    }
    const word = (bytes[0] | (bytes[1] << 8) | (bytes[2] << 16) | (bytes[3] << 24)) >>> 0;
    const before = p.received.get(frame);
    if (before !== undefined) {
      return before === word
        ? { outcome: 'duplicate' }
        : this.refuse(p, slot, frame, 'conflicting');
    }
    if (frame < confirmedFrame - this.settings.maxRewindFrames) {
      return this.refuse(p, slot, frame, 'tooOld');
    }
    if (frame > this.hostFrame + this.settings.maxAheadFrames) {
      return this.refuse(p, slot, frame, 'tooFarAhead');
    }
    if (frame >= confirmedFrame) {
      if (p.tokens < 1) return this.refuse(p, slot, frame, 'rate');
      p.tokens -= 1;
    }
    p.received.set(frame, word);
    p.run = null;
    const input = decodeInput(bytes);
    const rules = this.settings.rules;
    if (rules === undefined) return { outcome: 'accepted', input };
    const verdict = rules.check(slot, frame, input);
    if (verdict.violation === undefined) return { outcome: 'accepted', input: verdict.input };
    return {
      outcome: 'corrected',
      input: verdict.input,
      violation: this.count(p, slot, frame, verdict.violation, 'corrected'),
    };
  }

  /** The violation count of `slot` now (after decay). */
  violations(slot: PlayerSlot): number {
    return this.players[slot]?.count ?? 0;
  }

  /** True once `slot` reached the removal threshold. */
  isRemoved(slot: PlayerSlot): boolean {
    return this.players[slot]?.removed ?? false;
  }

  private refuse(p: PlayerRecord, slot: PlayerSlot, frame: Frame, rule: string): InputVerdict {
    if (NETWORK_RULES.includes(rule)) {
      if (p.run === rule) return { outcome: 'dropped', rule };
      p.run = rule;
    }
    return { outcome: 'refused', violation: this.count(p, slot, frame, rule, 'refused') };
  }

  private count(
    p: PlayerRecord,
    slot: PlayerSlot,
    frame: Frame,
    rule: string,
    outcome: 'refused' | 'corrected',
  ): Violation {
    p.count += 1;
    let action: ViolationAction = 'counted';
    if (p.count >= this.removeAt) {
      p.removed = true;
      action = 'removed';
    } else if (p.count >= this.warnAt && !p.warned) {
      p.warned = true;
      action = 'warned';
    }
    return { rule, slot, frame, outcome, count: p.count, action };
  }
}
