export { FixedTimestep, type FixedTimestepOptions } from './fixed-timestep.ts';
export { InputQueue } from './input-queue.ts';
export { SessionPeer } from './peer.ts';
export { type BatchStepper, SimRunner, type SimRunnerOptions } from './runner.ts';
export { type AdvanceResult, type SessionSettings, SyncSession } from './session.ts';
export { slowdownFor, TimeSync } from './time-sync.ts';
export type {
  ChecksumReport,
  SaveStrategy,
  SessionEvent,
  SessionMessage,
  SessionRequest,
  SessionStats,
  SyncMode,
} from './types.ts';
