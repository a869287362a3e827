/**
 * relay/log/: match logs. The relay writes one JSON Lines file per match
 * ({@link MatchLogWriter}, {@link LogDirectory}); {@link readMatchLog} reads one back and
 * {@link replayMatchLog} re-simulates it and checks every recorded hash. Format: see
 * `docs/match-logs.md`.
 */
export {
  type LogDamage,
  type MatchLog,
  parseMatchLog,
  readMatchLog,
  recordLine,
} from './reader.ts';
export {
  type ArbitrationMethod,
  type AwayReason,
  type AwayRecord,
  type BodyRecord,
  type DesyncRecord,
  type DoneRecord,
  type EndRecord,
  type FaultRecord,
  formatRecord,
  type HandoverRecord,
  type HashRecord,
  type HeaderRecord,
  type HeaderSim,
  type HostRecord,
  type InputPathRecord,
  type InputRecord,
  isValidMatchId,
  type LeftRecord,
  LOG_FORMAT,
  LogError,
  type LogErrorCode,
  type LogPlayer,
  type LogRecord,
  type LogSceneSettings,
  MAX_LOG_PLAYERS,
  MAX_LOG_SOURCE,
  MAX_LOG_STRING,
  parseRecord,
  type RefereeRecord,
  type RejoinRecord,
  type ResyncRecord,
  type VerdictRecord,
  type ViewDelayRecord,
  type ViolationRecord,
  validateRecord,
} from './records.ts';
export {
  type CheckSource,
  formatReplay,
  type PythonSourceFile,
  type ReplayArbitration,
  type ReplayFrame,
  type ReplayLeft,
  type ReplayMismatch,
  type ReplayOptions,
  type ReplayResult,
  type ReplayStep,
  replayLog,
  replayMatchLog,
} from './replay.ts';
export { simCodeHash } from './sim-code.ts';
export {
  LogDirectory,
  MatchLogWriter,
  type MatchLogWriterOptions,
  type WriterState,
} from './writer.ts';
