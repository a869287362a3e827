/**
 * The signalling of a peer's input DataChannel: the offer a peer sends the relay over its
 * existing socket.io connection, and the relay's answer. Both are one message each (no trickle):
 * with no STUN or TURN server, gathering host candidates takes milliseconds.
 */
import { describeValue, ProtocolError } from './errors.ts';
import { MAX_CANDIDATE_LENGTH, MAX_SDP_LENGTH, MAX_SIGNAL_CANDIDATES } from './limits.ts';

export { MAX_CANDIDATE_LENGTH, MAX_SDP_LENGTH, MAX_SIGNAL_CANDIDATES };

/** The label of the input DataChannel; the relay accepts no other. */
export const DATACHANNEL_LABEL = 'concord-inputs';

/**
 * An offer (peer → relay) or answer (relay → peer): the session description `sdp` (printable
 * ASCII with CR/LF, 1..{@link MAX_SDP_LENGTH} characters) and ICE candidates gathered after it
 * (0..{@link MAX_SIGNAL_CANDIDATES} lines of printable ASCII, 1..{@link MAX_CANDIDATE_LENGTH}
 * characters each, `candidate:...` with or without the `a=` of SDP). Candidates may also sit in
 * the SDP itself.
 */
export interface DataChannelSignal {
  readonly sdp: string;
  readonly candidates: readonly string[];
}

const SDP_CHARS = /^[\x20-\x7e\r\n]+$/;
const CANDIDATE_CHARS = /^[\x20-\x7e]+$/;

/**
 * Checks a received offer or answer (any value, e.g. what socket.io delivered) and returns it as
 * a fresh {@link DataChannelSignal} with no other properties.
 *
 * @param kind the message name for errors (`'rtcOffer'`, `'rtcAnswer'`)
 * @throws {@link ProtocolError} `MALFORMED` (not an object of that shape), `OVERSIZE` (an SDP,
 *   candidate or candidate count over its limit, checked before the characters), `BAD_FIELD`
 *   (empty, or characters outside printable ASCII)
 */
export function checkDataChannelSignal(value: unknown, kind: string): DataChannelSignal {
  if (typeof value !== 'object' || value === null) {
    throw new ProtocolError(
      'MALFORMED',
      `${kind}: expected an object, got ${describeValue(value)}`,
      kind,
    );
  }
  const { sdp, candidates } = value as Record<string, unknown>;
  if (typeof sdp !== 'string') {
    throw new ProtocolError(
      'MALFORMED',
      `${kind}.sdp: expected a string, got ${describeValue(sdp)}`,
      kind,
    );
  }
  if (sdp.length > MAX_SDP_LENGTH) {
    throw new ProtocolError(
      'OVERSIZE',
      `${kind}.sdp: ${sdp.length} characters; at most ${MAX_SDP_LENGTH}`,
      kind,
    );
  }
  if (!SDP_CHARS.test(sdp)) {
    throw new ProtocolError('BAD_FIELD', `${kind}.sdp: expected printable ASCII lines`, kind);
  }
  if (!Array.isArray(candidates)) {
    throw new ProtocolError(
      'MALFORMED',
      `${kind}.candidates: expected an array, got ${describeValue(candidates)}`,
      kind,
    );
  }
  if (candidates.length > MAX_SIGNAL_CANDIDATES) {
    throw new ProtocolError(
      'OVERSIZE',
      `${kind}.candidates: ${candidates.length}; at most ${MAX_SIGNAL_CANDIDATES}`,
      kind,
    );
  }
  const out: string[] = [];
  candidates.forEach((c: unknown, i) => {
    const path = `${kind}.candidates[${i}]`;
    if (typeof c !== 'string') {
      throw new ProtocolError(
        'MALFORMED',
        `${path}: expected a string, got ${describeValue(c)}`,
        kind,
      );
    }
    if (c.length > MAX_CANDIDATE_LENGTH) {
      throw new ProtocolError(
        'OVERSIZE',
        `${path}: ${c.length} characters; at most ${MAX_CANDIDATE_LENGTH}`,
        kind,
      );
    }
    if (!CANDIDATE_CHARS.test(c)) {
      throw new ProtocolError('BAD_FIELD', `${path}: expected one line of printable ASCII`, kind);
    }
    out.push(c);
  });
  return { sdp, candidates: out };
}
