/**
 * relay/sim-host/: the relay's sim host. Match sims run in a pool of worker threads, off the
 * forwarding event loop; the referee re-simulates a disputed check from the last agreed
 * checkpoint, and {@link arbitrate} decides from its hash which peers' copies are right.
 */

export {
  type BroadcastBytes,
  type HostState,
  type InputApplyHook,
  type InputArrival,
  InputAuthority,
  StateHistory,
  stateMessages,
} from './authority.ts';
export { SimHostError, type SimHostErrorCode } from './errors.ts';
export type {
  AuthBroadcastEvent,
  AuthoritativeSettings,
  CallCost,
  MatchSpec,
  PythonMatchSource,
} from './messages.ts';
export {
  type AuthoritativeHandle,
  type AuthoritativeListener,
  defaultPoolSize,
  type MatchSimHandle,
  type MatchSimStats,
  type OpenMatchOptions,
  packInputs,
  type RefereeCall,
  type RefereeResult,
  SimHostPool,
  type SimHostPoolOptions,
  type SimHostStats,
  type WorkerStats,
} from './pool.ts';
export {
  type Arbitration,
  type ArbitrationFacts,
  type ArbitrationMethod,
  arbitrate,
  type RefereeOutcome,
  type RefereeRecord,
  type RepairSource,
  votesAgree,
} from './referee.ts';
