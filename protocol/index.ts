/**
 * Concord's wire between clients and the relay: the message kinds, their MessagePack codecs,
 * size limits and validation, and the socket.io parser that carries them as single binary
 * frames. Imports nothing but msgpackr; client/ and relay/ both use it through this entry.
 *
 * @packageDocumentation
 */

export {
  ADMIN_PATHS,
  type AdminFinishedMatch,
  type AdminMatch,
  type AdminParticipant,
  type AdminPlayer,
  type AdminState,
  type AdminWaitingRoom,
  MAX_ADMIN_FINISHED,
  type ReplayCheck,
  type ReplayData,
  type ReplayEvent,
  type ReplayEventKind,
} from './admin.ts';
export {
  decodeClientMessage,
  decodeServerMessage,
  encodeClientMessage,
  encodeServerMessage,
} from './codec.ts';
export {
  checkDataChannelSignal,
  DATACHANNEL_LABEL,
  type DataChannelSignal,
} from './datachannel-signal.ts';
export {
  type ClientDatagram,
  type ClientDatagramView,
  clientDatagramView,
  DATAGRAM_INPUTS_CODE,
  decodeClientDatagram,
  decodeServerDatagram,
  encodeClientDatagram,
  encodeServerDatagram,
  heldOf,
  type InputRun,
  type InputSource,
  MAX_CLIENT_DATAGRAM_BYTES,
  MAX_DATAGRAM_INPUTS,
  MAX_SERVER_DATAGRAM_BYTES,
  readClientDatagram,
  type ServerDatagram,
  ServerDatagramWriter,
  serverDatagramBytes,
} from './datagram.ts';
export { PROTOCOL_ERROR_CODES, ProtocolError, type ProtocolErrorCode } from './errors.ts';
export {
  DEFAULT_BROADCAST_DIVISOR,
  DEFAULT_INTERPOLATION_DELAY_MS,
  INTEREST_UPDATE_BASE,
  SCENE_NAME,
  validateSceneSettings,
} from './fields.ts';
export {
  CLIENT_MESSAGE_MAX_BYTES,
  HASH_HEX_DIGITS,
  INPUT_BYTES,
  type IntRange,
  MAX_CANDIDATE_LENGTH,
  MAX_CLIENT_MESSAGE_BYTES,
  MAX_END_REASON_LENGTH,
  MAX_ERROR_MESSAGE_LENGTH,
  MAX_FAULT_REASON_LENGTH,
  MAX_FRAME,
  MAX_PARTICIPANT_ID_LENGTH,
  MAX_PLAYERS,
  MAX_SDP_LENGTH,
  MAX_SERVER_MESSAGE_BYTES,
  MAX_SIGNAL_CANDIDATES,
  MAX_SIGNATURE_BYTES,
  MAX_STATE_BYTES,
  PRESENCE,
  SCENE_LIMITS,
  SERVER_MESSAGE_MAX_BYTES,
} from './limits.ts';
export type {
  ClientMessage,
  ClientMessageKind,
  Frame,
  InputPath,
  InputTransportSetting,
  PlayerSlot,
  SceneSettings,
  ServerMessage,
  ServerMessageKind,
  SyncModeSetting,
} from './messages.ts';
export {
  APP_EVENT,
  ConcordDecoder,
  ConcordEncoder,
  concordParser,
  type SocketIoPacket,
  TAG_APP,
} from './socketio-parser.ts';
export {
  STUDY_EVENTS,
  STUDY_ID_MAX_LENGTH,
  STUDY_NAMESPACE,
  type StudyAnswer,
  type StudyHello,
  type StudyOutcome,
  type StudyQuestion,
  type StudyRefusal,
  type StudyReply,
  type StudyScene,
  type StudyStep,
  type StudyView,
  type StudyWaiting,
} from './study.ts';
