import type { ProtocolErrorCode } from '../protocol/index.ts';
import { emptyRoomCounters, type RoomCounters } from './room-state.ts';

/** Counters of a running relay: the rooms' counters and the relay's own (`GET /healthz`). */
export interface RelayStats extends RoomCounters {
  /** Open connections. */
  connections: number;
  /** People in every scene's waiting queue. */
  waiting: number;
  /** Matches under way. */
  rooms: number;
  matchesStarted: number;
  matchesEnded: number;
  /** Messages refused, by error code. */
  refused: Partial<Record<ProtocolErrorCode, number>>;
}

/** Every counter at zero. */
export function emptyRelayStats(): RelayStats {
  return {
    connections: 0,
    waiting: 0,
    rooms: 0,
    matchesStarted: 0,
    matchesEnded: 0,
    ...emptyRoomCounters(),
    refused: {},
  };
}
