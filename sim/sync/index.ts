/**
 * sim/sync/: the engine that keeps copies of a sim identical, run by every peer (the browser page,
 * the Python Worker, the headless bots) and by the relay's sim host. The sync session (lockstep,
 * rollback), the input queue, the runner that carries out a session's requests on a sim, the
 * fixed timestep, time sync, and the {@link Transport} interface that messages travel over.
 * Imports only sim/; knows no socket.io, no DOM and no Node API. Other folders import it through
 * this entry only.
 *
 * @packageDocumentation
 */
export { FixedTimestep, type FixedTimestepOptions } from './fixed-timestep.ts';
export { InputQueue } from './input-queue.ts';
export { SessionPeer } from './peer.ts';
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
