/**
 * relay/: the Concord relay. {@link startRelay} serves matches (connections, matchmaker, rooms,
 * HTTP); a {@link MatchRoom} is one match, whose parts (forwarding, {@link HashArbiter},
 * resync broker, presence) run on any {@link RelayScheduler}, so tests can drive a room
 * in-process on a virtual clock. Match logs have their own entry, `relay/log/index.ts`, and so
 * does the export of a study's data, `relay/export/index.ts`; the `concord` command line is
 * `relay/cli.ts`, its bots `relay/bots.ts`. `GET /metrics`: {@link relayMetrics}.
 */

export { replayDataOf } from './admin/replay-data.ts';
export { ADMIN_EVENTS_INTERVAL_MS, type AdminRoutes, adminRoutes } from './admin/routes.ts';
export {
  type AdminRemoveOutcome,
  type AdminSource,
  type RelayAdminView,
  relayAdminView,
} from './admin/source.ts';
export { studyParticipants } from './admin/study-participants.ts';
export {
  ADMIN_COOKIE,
  ADMIN_TOKEN_ENV,
  AdminAuth,
  MIN_ADMIN_TOKEN_LENGTH,
  resolveAdminToken,
} from './admin/token.ts';
export { HashArbiter, type Verdict } from './hash-arbiter.ts';
export { type HttpRoute, type HttpRoutesOptions, httpRoutes } from './http-routes.ts';
export {
  type DisputeOutcome,
  MatchReferee,
  type RefereeHost,
  type RefereeNotice,
} from './match-referee.ts';
export { type Candidate, Matchmaker, type MatchmakerOptions } from './matchmaker.ts';
export {
  FORWARD_LATENCY_BUCKETS_MS,
  FORWARD_LATENCY_EVERY_FRAMES,
  ForwardLatency,
  type RelayMetricsSources,
  relayMetrics,
} from './metrics.ts';
export type { RefereeRepair } from './resync-broker.ts';
export { MatchRoom, REFEREE_TIMEOUT_MS, type RoomMessage, type RoomOptions } from './room.ts';
export {
  emptyRoomCounters,
  type Member,
  type MemberLink,
  type MemberStatus,
  type RoomCounters,
  type RoomHooks,
  type RoomLog,
  type RoomState,
} from './room-state.ts';
export {
  BUILTIN_PYTHON_SCENES,
  BUILTIN_SCENES,
  loadPythonScenes,
  PACKAGE_ROOT,
  type PythonSceneDefaults,
  type PythonSceneOptions,
  type PythonSceneSource,
  pythonSceneName,
  pythonSceneSettings,
} from './scenes.ts';
export { type RelayScheduler, type RelayTimerId, realScheduler } from './scheduler.ts';
export { type Relay, type RelayOptions, startRelay } from './server.ts';
export { emptyRelayStats, type RelayStats } from './stats.ts';
