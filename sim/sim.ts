import type { Input } from './input.ts';
import type { SimInputRules } from './input-rules.ts';
import type { EntityInterest } from './interest.ts';
import type { RewindView } from './lag-compensation.ts';

/**
 * A frame number: an integer count of ticks since the match began (frame 0 is the initial state).
 *
 * `Frame` and {@link PlayerSlot} are flavoured numbers: a plain number (a literal, the result of
 * arithmetic) is accepted where one is expected, so `frame + 1` needs no cast, but a value typed
 * as one is refused where the other is expected, so a slot passed for a frame is a compile
 * error. protocol/ declares the same two types (it imports nothing from sim/); being structurally
 * identical, they are one type.
 */
export type Frame = number & { readonly __unit?: 'frame' };

/** A player's slot in a match, 0..players-1. Slot 0 is the host. A flavoured number, see {@link Frame}. */
export type PlayerSlot = number & { readonly __unit?: 'slot' };

/**
 * The deterministic simulation contract. A sim holds the state S(f) of one frame f; {@link step}
 * takes it to S(f+1) from every player's input for frame f and from nothing else: no clock, no
 * unseeded randomness, no iteration over containers whose order can differ between peers.
 *
 * A snapshot (`Snap`) is an immutable value that fully describes a state, including the frame
 * number and the state of every random generator. The sim never mutates a snapshot after
 * {@link save} returns it, so the session can keep it in a ring and {@link load} it later.
 *
 * Idea: GGPO's save/load/advance callbacks, GGRS's `SaveGameState`/`LoadGameState`/`AdvanceFrame`.
 */
export interface Sim<Snap = unknown> {
  /** The sim's id, as named in scenes and logs (e.g. `"duel"`). */
  readonly id: string;
  /** Number of players, fixed for a match. */
  readonly players: number;
  /** The frame of the current state. */
  readonly frame: Frame;
  /**
   * Advances one frame. `inputs[slot]` is each player's input for the current frame; the array's
   * length equals {@link players}.
   * @param rewind lag compensation, passed only by the host of an authoritative match: the world
   *   each player saw when it acted, for judging its actions (see {@link RewindView}). Absent in
   *   lockstep, rollback and replay of those: a sim must then step exactly as it always did.
   */
  step(inputs: readonly Input[], rewind?: RewindView<Snap>): void;
  /**
   * A snapshot of the current state.
   * @param reuse a snapshot of this sim that the caller no longer needs: the sim may overwrite it
   * and return it instead of allocating a new one (GGRS's preallocated cells serve the same
   * purpose). Sims whose snapshots are not reusable ignore it.
   */
  save(reuse?: Snap): Snap;
  /** Restores a snapshot taken from a sim of the same id and player count. */
  load(snapshot: Snap): void;
  /**
   * The canonical encoding of a snapshot: equal states give equal bytes in every engine
   * (see `canonicalEncode`). Its xxhash64 is the state hash.
   */
  encode(snapshot: Snap): Uint8Array;
  /**
   * The inverse of {@link encode}, used when a state arrives from elsewhere (resync, the
   * authoritative relay, a rejoin).
   * @throws ConcordError `BAD_STATE` when the bytes are not a state of this sim.
   */
  decode(bytes: Uint8Array): Snap;
  /**
   * The input assumed for a player whose input is missing and cannot be predicted from an earlier
   * one (the frames before the input delay, an absent player). Defaults to the neutral input.
   */
  defaultInput?(slot: PlayerSlot): Input;
  /**
   * Returns the sim to frame 0 of a match with the same players seeded `seed` (a 32-bit unsigned
   * integer): afterwards its state equals that of `create({players, seed})`. Optional: sims
   * whose creation is costly (a Python environment, whose `reset(seed=…)` it calls) offer it so
   * that an episode start (`sim/episodes.ts`) need not create a new one.
   * @throws ConcordError `BAD_CONFIG` for a seed out of range.
   */
  reset?(seed: number): void;
}

/** What a sim needs to start a match. */
export interface SimConfig {
  /** Number of players (the sim states its own range). */
  readonly players: number;
  /** The match seed, a 32-bit unsigned integer. */
  readonly seed: number;
}

/** Makes sims of one kind: what scenes, bots and replay look up by id. */
export interface SimFactory<Snap = unknown> {
  /** The sim's id. */
  readonly id: string;
  /** The smallest and largest player count the sim supports. */
  readonly minPlayers: number;
  readonly maxPlayers: number;
  /**
   * The sim's named actions (`UP`, `FIRE`: each name and the input that means it), for a game
   * scene's `actions` and `defaultAction`; absent when the sim names none (then those name
   * discrete action numbers). Optional.
   */
  readonly actions?: Readonly<Record<string, Input>>;
  /**
   * The sim's own input rules for the host of an authoritative match (an impossible move, firing
   * faster than the weapon allows), on top of the framework's; see {@link SimInputRules}. Called
   * once per match. Optional.
   */
  inputRules?(players: number): SimInputRules;
  /**
   * The sim's entities with positions, for interest management in authoritative mode (see
   * {@link EntityInterest}). Optional: without it every client gets the whole state.
   */
  readonly interest?: EntityInterest<Snap>;
  /**
   * Creates a sim at frame 0.
   * @throws ConcordError `BAD_CONFIG` when the player count is out of range.
   */
  create(config: SimConfig): Sim<Snap>;
}
