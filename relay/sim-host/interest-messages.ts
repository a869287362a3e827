/**
 * The `authState` messages of an authoritative match whose sim gives its entities positions
 * (`SimFactory.interest`): each client's interest update (sim/sync's `InterestBroadcaster`: the
 * entities near it at every broadcast, the others one broadcast in four, against what it
 * acknowledged) instead of a delta of the whole state. See docs/authoritative.md.
 */
import { encodeServerMessage, INTEREST_UPDATE_BASE } from '../../protocol/index.ts';
import { type Frame, getSimFactory } from '../../sim/index.ts';
import { encodeInterestUpdate, InterestBroadcaster } from '../../sim/sync/index.ts';
import type { BroadcastBytes, HostState } from './authority.ts';

/**
 * The broadcaster for a match of `simId`, or null when the sim gives no entity interest (a
 * built-in sim without it, a Python or module sim).
 */
export function interestBroadcasterFor(
  simId: string,
  players: number,
): InterestBroadcaster<unknown> | null {
  try {
    const interest = getSimFactory(simId).interest;
    return interest ? new InterestBroadcaster(interest, players) : null;
  } catch {
    return null;
  }
}

/**
 * Every client's `authState` for `state` (whose snapshot is `snap`) as an interest update.
 * @param acked by slot, the frame the client acknowledged last (-1: none, or a rejoin: it is
 *   sent every entity again)
 * @returns by slot the encoded message, and the byte counts (updates count as deltas; the full
 *   state's size stands for what a full message would have been)
 */
export function interestMessages(
  broadcaster: InterestBroadcaster<unknown>,
  snap: unknown,
  state: HostState,
  lastInputFrames: readonly Frame[],
  applied: Uint8Array,
): { messages: Uint8Array[]; bytes: BroadcastBytes } {
  const updates = broadcaster.update(snap, state.frame);
  const messages = updates.map((u) =>
    encodeServerMessage({
      kind: 'authState',
      frame: state.frame,
      hash: state.hash,
      baseFrame: INTEREST_UPDATE_BASE,
      bytes: encodeInterestUpdate(u),
      lastInputFrames,
      inputs: applied,
    }),
  );
  const deltaBytes = messages.reduce((n, m) => n + m.length, 0);
  return {
    messages,
    bytes: {
      deltaBytes,
      fullBytes: 0,
      deltas: messages.length,
      fulls: 0,
      allFullBytes: messages.length * (state.bytes.length + 40),
    },
  };
}
