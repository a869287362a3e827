import type { PlayerSlot } from './sim.ts';

/**
 * The entities of one state, for interest management: stable integer ids, positions in whole
 * world units, and each entity's fields (integers, `width` of them per entity, entity-major)
 * that together with the rest of the state ({@link EntityInterest.encodeRest}) make the state.
 */
export interface EntityTable {
  /** Number of entities. */
  readonly count: number;
  /** Ids, strictly increasing; an id names one entity for the whole match. */
  readonly ids: Int32Array;
  /** Positions, world units (any integer; the grid clamps nothing). */
  readonly x: Int32Array;
  readonly y: Int32Array;
  /** Fields per entity. */
  readonly width: number;
  /** `count × width` integers: entity i's fields at `i * width`. */
  readonly fields: Int32Array;
}

/**
 * What a sim gives for interest management: its entities with positions, where each player
 * looks from, and how to split a state into its entities and the rest and join them again. With
 * it, the host of an authoritative match sends each client the entities inside its area of
 * interest (the grid cells within `radiusCells` of the cell it looks from) at every broadcast and
 * the others less often (see `InterestBroadcaster` in sim/sync/), instead of the whole state.
 *
 * A client of such a match holds an approximate state: far entities are as of their last
 * update. Its prediction and drawing use it as is; only the host's state is exact, and only the
 * host's state hashes mean anything (the log records them).
 *
 * Idea: grid-based area of interest (Colyseus' `StateView`, Unreal's net relevancy and net
 * update frequency, the "interest management" of MMO servers): relevant entities often, the
 * rest rarely.
 */
export interface EntityInterest<Snap> {
  /** Side of a grid cell, world units (≥ 1). */
  readonly cellSize: number;
  /** A player's area of interest: the cells within this many cells of its own, both axes (≥ 0). */
  readonly radiusCells: number;
  /** The entities of `snap`. */
  entities(snap: Snap): EntityTable;
  /** Where player `slot` looks from in `snap`, world units. */
  focus(snap: Snap, slot: PlayerSlot): { readonly x: number; readonly y: number };
  /** The state without its entities, as canonical bytes (frame, random generator, counters). */
  encodeRest(snap: Snap): Uint8Array;
  /**
   * The state made of `rest` (from {@link encodeRest}) and `entities` (ids and fields; positions
   * are read from the fields).
   * @throws ConcordError `BAD_STATE` when they do not make a state of this sim.
   */
  compose(rest: Uint8Array, entities: EntityTable): Snap;
}
