/**
 * client/: one peer. The in-process network harness, the connection to the relay, the match
 * client that joins them, the match runner (join, tick loop, end, rejoin) that every host runs,
 * and headless bots. The relay imports only this entry.
 */
export {
  type BotFaults,
  type BotOptions,
  type BotResult,
  inputForAction,
  runBot,
} from './bot.ts';
export { CorruptingSim, corruptOneField } from './faults.ts';
export {
  MatchClient,
  type MatchConnection,
  type MatchObservers,
  type MatchStart,
  type ResyncStats,
} from './match-client.ts';
export {
  COUNTDOWN_MS,
  countdownFramesFor,
  END_GRACE_MS,
  FIRST_RETRY_MS,
  MAX_RETRY_MS,
  MatchRunner,
  type MatchRunnerOptions,
  type RelayTransport,
  type RunnerEnd,
  type RunnerEvent,
  type RunnerPhase,
  type Seat,
} from './match-runner.ts';
export * from './net/index.ts';
export {
  type BotPolicy,
  type BotView,
  type BuiltinPolicyOptions,
  builtinPolicy,
  type PlayMatchOptions,
  type PlayMatchResult,
  playMatch,
} from './policy-bot.ts';
export { fetchPythonEnv, findPythonEnv, type PythonEnvSource } from './python-env.ts';
export {
  type PlayStudyOptions,
  playStudy,
  randomAnswers,
  type StudyClientEvent,
  type StudyResult,
} from './study-client.ts';
export {
  StudyConnection,
  type StudyConnectionOptions,
  type StudyIds,
} from './study-connection.ts';
export {
  PeerDataChannel,
  type PeerDataChannelOptions,
  type PeerDataChannelState,
} from './transport/datachannel.ts';
export {
  DatagramTransport,
  type DatagramTransportOptions,
  type DatagramTransportStats,
  type InputPathChange,
} from './transport/datagram-transport.ts';
export { RelayConnection, type RelayConnectionOptions } from './transport/relay-connection.ts';
