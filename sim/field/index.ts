/**
 * The field: a deterministic world of 200 drifting entities and up to 8 players, for interest
 * management in authoritative mode. `field` is the factory the registry lists.
 */
export { FIELD_RULES, field } from './sim.ts';
