import type { Seat } from '../match-runner.ts';

/** The `sessionStorage` key under which a page keeps its seat while a match runs. */
export const SEAT_KEY = 'concord.seat';

/** What a page needs of `sessionStorage` (the test passes a stand-in). */
export type SeatStore = Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>;

const isText = (v: unknown): v is string => typeof v === 'string' && v.length > 0;

/**
 * The seat a page kept for `scene`, or null when it has none, kept one for another scene, or the
 * stored value is not a seat (it is then removed). `sessionStorage` lives as long as the tab, so
 * a reload within the grace period finds the seat and rejoins it instead of joining a queue.
 */
export function loadSeat(store: SeatStore, scene: string): Seat | null {
  const raw = store.getItem(SEAT_KEY);
  if (raw === null) return null;
  let v: Partial<Record<keyof Seat, unknown>> | null = null;
  try {
    v = JSON.parse(raw) as Partial<Record<keyof Seat, unknown>>;
  } catch {
    v = null;
  }
  const ok =
    v !== null &&
    typeof v === 'object' &&
    isText(v.matchId) &&
    isText(v.token) &&
    Number.isInteger(v.slot) &&
    isText(v.scene) &&
    (v.participantId === null || isText(v.participantId)) &&
    typeof v.rejoinGraceMs === 'number' &&
    (v.onPlayerLost === 'continue' || v.onPlayerLost === 'end') &&
    (v.rejoins === undefined || Number.isInteger(v.rejoins));
  if (!ok) {
    store.removeItem(SEAT_KEY);
    return null;
  }
  const seat = v as Seat;
  return seat.scene === scene ? seat : null;
}

/** Keeps `seat` while the match runs; null (the match ended) forgets it. */
export function saveSeat(store: SeatStore, seat: Seat | null): void {
  if (seat === null) store.removeItem(SEAT_KEY);
  else store.setItem(SEAT_KEY, JSON.stringify(seat));
}
