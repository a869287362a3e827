/**
 * In-process network impairment: seeded latency, jitter, loss, duplication and reorder on a
 * virtual or real clock, for property tests of sync sessions and for headless bots.
 */
export {
  ImpairedLink,
  type ImpairedLinkOptions,
  type LinkImpairment,
  type LinkStats,
  MAX_RETRANSMISSIONS,
  type ResolvedImpairment,
  resolveImpairment,
} from './impaired-link.ts';
export { deriveSeed, ImpairmentRng } from './rng.ts';
export { RealClock, type Scheduler, type TimerId, VirtualClock } from './scheduler.ts';
export {
  createMeshNetwork,
  createStarNetwork,
  type Endpoint,
  type MeshNetworkOptions,
  type NetworkDeliver,
  type NetworkLinkStats,
  type NetworkStats,
  type StarNetworkOptions,
  type VirtualNetwork,
} from './virtual-network.ts';
