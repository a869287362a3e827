/**
 * sim/sync/: the engine that keeps copies of a sim identical, run by every peer (the browser page,
 * the Python Worker, the headless bots) and by the relay's sim host. The sync session (lockstep,
 * rollback), the input queue, the runner that carries out a session's requests on a sim, the
 * fixed timestep, time sync, the {@link Transport} interface that messages travel over, and the
 * peer's side of desync detection and repair: the {@link DesyncCheck} and the resync steps
 * ({@link answerStateRequest}, {@link applyStateTransfer}, {@link RejoinGate}), pure modules that
 * return what must be sent in sim/sync's own vocabulary (the match client maps it to the wire).
 * Imports only sim/; knows no socket.io, no DOM and no Node API. Other folders import it through
 * this entry only.
 *
 * @packageDocumentation
 */
export {
  DesyncCheck,
  type DesyncCheckSettings,
  type HashReportMessage,
  type HeldState,
  type Verdict,
  type VerdictOutcome,
} from './desync-check.ts';
export {
  FixedTimestep,
  type FixedTimestepOptions,
  frameDueAtMs,
  framesDue,
} from './fixed-timestep.ts';
export { InputQueue } from './input-queue.ts';
export {
  FRAMEWORK_RULES,
  INPUT_BURST,
  InputValidator,
  type InputValidatorSettings,
  type InputVerdict,
  NETWORK_RULES,
  VIOLATION_DEFAULTS,
  type Violation,
  type ViolationAction,
} from './input-validator.ts';
export {
  DEFAULT_FAR_DIVISOR,
  decodeInterestUpdate,
  encodeInterestUpdate,
  InterestBroadcaster,
  InterestReplica,
  type InterestUpdate,
} from './interest.ts';
export { SessionPeer } from './peer.ts';
export {
  HostLead,
  type HostStateIn,
  type PredictedInputMessage,
  PredictReconcileSession,
  type PredictReconcileSettings,
  type PredictReconcileStats,
} from './predict-reconcile.ts';
export {
  answerStateRequest,
  applyStateTransfer,
  FULL_STATE_BASE,
  type IncomingState,
  RejoinGate,
  SIGNATURE_BASE,
  type StateFailedMessage,
  type StateMessage,
  type StateOutcome,
  type StateRequest,
  type StateSource,
} from './resync.ts';
export { type BatchStepper, SimRunner, type SimRunnerOptions } from './runner.ts';
export { type AdvanceResult, type SessionSettings, SyncSession } from './session.ts';
export { slowdownFor, TimeSync } from './time-sync.ts';
export type { Transport, TransportState } from './transport.ts';
export type {
  HashReport,
  SaveStrategy,
  SessionEvent,
  SessionMessage,
  SessionRequest,
  SessionStats,
  SyncMode,
} from './types.ts';
