import { ConcordError } from '../errors.ts';
import type { Input } from '../input.ts';
import type { RewindView } from '../lag-compensation.ts';
import type { Frame, Sim, SimConfig, SimFactory } from '../sim.ts';
import { decodeDuelState, encodeDuelState } from './codec.ts';
import { DUEL_ACTIONS } from './controls.ts';
import { duelInputRules } from './input-rules.ts';
import { H_FRAME, H_PLAYERS, MAX_PLAYERS, MIN_PLAYERS, STATE_SIZE } from './layout.ts';
import { createDuelState } from './state.ts';
import { stepDuel } from './step.ts';

/**
 * Snapshots are cut from shared slabs of this many states: V8 gives every typed array above 64
 * bytes its own off-heap buffer, which costs about a microsecond, more than a step; a view on a
 * slab costs a few tens of nanoseconds.
 */
const SLAB_STATES = 16;

class DuelSim implements Sim<Int32Array> {
  readonly id = 'duel';
  readonly players: number;
  private readonly state: Int32Array;
  private slab = new Int32Array(0);
  private slabUsed = 0;

  constructor(players: number, seed: number) {
    this.players = players;
    this.state = createDuelState(players, seed);
  }

  get frame(): Frame {
    return this.state[H_FRAME];
  }

  step(inputs: readonly Input[], rewind?: RewindView<Int32Array>): void {
    if (inputs.length !== this.players) {
      throw new ConcordError(
        'BAD_INPUT',
        `duel step needs ${this.players} inputs, got ${inputs.length}`,
        this.frame,
      );
    }
    stepDuel(this.state, inputs, rewind);
  }

  save(reuse?: Int32Array): Int32Array {
    if (reuse !== undefined && reuse.length === STATE_SIZE) {
      reuse.set(this.state);
      return reuse;
    }
    if (this.slabUsed === this.slab.length) {
      this.slab = new Int32Array(STATE_SIZE * SLAB_STATES);
      this.slabUsed = 0;
    }
    const snapshot = this.slab.subarray(this.slabUsed, this.slabUsed + STATE_SIZE);
    this.slabUsed += STATE_SIZE;
    snapshot.set(this.state);
    return snapshot;
  }

  load(snapshot: Int32Array): void {
    this.checkShape(snapshot);
    this.state.set(snapshot);
  }

  encode(snapshot: Int32Array): Uint8Array {
    this.checkShape(snapshot);
    return encodeDuelState(snapshot);
  }

  decode(bytes: Uint8Array): Int32Array {
    const snapshot = decodeDuelState(bytes);
    this.checkShape(snapshot);
    return snapshot;
  }

  private checkShape(snapshot: Int32Array): void {
    if (snapshot.length !== STATE_SIZE || snapshot[H_PLAYERS] !== this.players) {
      throw new ConcordError(
        'BAD_STATE',
        `not a ${this.players}-player duel state (${snapshot.length} words, ${snapshot[H_PLAYERS]} players)`,
      );
    }
  }
}

/**
 * The duel: a top-down arena shooter for 2–4 players (move with the four direction buttons, aim
 * with the input's axis pair, fire; four hits kill, the killer scores, the dead respawn after
 * 1.5 s; health and rapid-fire pickups appear every 4 s). Integer and Q8 fixed-point arithmetic
 * only, so every engine computes the same frames.
 *
 * Snapshots are `Int32Array`s of a fixed layout (copied on save, never mutated afterwards unless
 * handed back to `save` as `reuse`);
 * `encode` gives canonical msgpack of plain integers (see `encodeDuelState`). For speed, a
 * snapshot from `save` is a view on a buffer shared with up to 15 other snapshots of the same
 * sim: never transfer its `.buffer` to a worker, and `slice()` a snapshot you keep for long so
 * that it does not hold the whole slab (about 22 KB) alive. Snapshots from `decode` own theirs.
 *
 * `create` throws ConcordError `BAD_CONFIG` when `players` is not an integer in 2..4 or `seed` is
 * not an integer in 0..2^32-1. `step` throws `BAD_INPUT` when the input count differs from the
 * player count (inputs themselves must be valid, see `isValidInput`); `load` and `encode` throw
 * `BAD_STATE` for an array that is not a state of this sim's player count; `decode` throws
 * `BAD_STATE` for bytes that are not one.
 */
export const duel: SimFactory<Int32Array> = Object.freeze({
  id: 'duel',
  minPlayers: MIN_PLAYERS,
  maxPlayers: MAX_PLAYERS,
  actions: DUEL_ACTIONS,
  inputRules: duelInputRules,
  create(config: SimConfig): Sim<Int32Array> {
    const { players, seed } = config;
    if (!Number.isInteger(players) || players < MIN_PLAYERS || players > MAX_PLAYERS) {
      throw new ConcordError(
        'BAD_CONFIG',
        `duel needs ${MIN_PLAYERS}..${MAX_PLAYERS} players, got ${players}`,
      );
    }
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
      throw new ConcordError(
        'BAD_CONFIG',
        `duel seed must be an integer in 0..2^32-1, got ${seed}`,
      );
    }
    return new DuelSim(players, seed);
  },
});
