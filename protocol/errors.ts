/**
 * Every code a {@link ProtocolError} (and a relay's `error` reply) can carry, in a stable order.
 *
 * - `MALFORMED`: not MessagePack, not an array, an empty array, the wrong number of fields, a
 *   text frame where a binary one was expected, or a socket.io packet that is not valid.
 * - `OVERSIZE`: more bytes than the kind's limit (checked before decoding).
 * - `UNKNOWN_KIND`: a kind code (or kind name, when encoding) that this version does not know.
 * - `BAD_FIELD`: a field of the wrong type or outside its range (the message names the field).
 * - `NOT_IN_MATCH`, `FRAME_WINDOW`, `RATE_LIMIT`, `BAD_SCENE`, `INTERNAL`: raised by the relay
 *   (a message that needs a match outside one, an input frame outside the accepted window, too
 *   many messages, an unknown scene, a relay bug); defined here so that the `error` reply's
 *   code is a closed set.
 */
export const PROTOCOL_ERROR_CODES = [
  'MALFORMED',
  'OVERSIZE',
  'UNKNOWN_KIND',
  'BAD_FIELD',
  'NOT_IN_MATCH',
  'FRAME_WINDOW',
  'RATE_LIMIT',
  'BAD_SCENE',
  'INTERNAL',
] as const;

/** One of {@link PROTOCOL_ERROR_CODES}. */
export type ProtocolErrorCode = (typeof PROTOCOL_ERROR_CODES)[number];

/**
 * The one error type of the wire boundary: a stable {@link ProtocolErrorCode} and a short human
 * message that names the offending field (`input.frame: expected an integer in 0..2147483647,
 * got 1.5`). Its message is at most a few hundred characters and quotes received values only in
 * escaped, truncated form, so a relay can send it back verbatim in an `error` reply.
 *
 * The decoders of this folder throw nothing but this error, whatever bytes they are given.
 */
export class ProtocolError extends Error {
  /** What went wrong; see {@link ProtocolErrorCode}. */
  readonly code: ProtocolErrorCode;
  /**
   * The message kind concerned (`'input'`, `'join'`, …) when it is known, e.g. to fill the
   * `refused` field of an `error` reply; `undefined` when the kind itself could not be read.
   */
  readonly kind: string | undefined;

  constructor(code: ProtocolErrorCode, message: string, kind?: string) {
    super(message);
    this.name = 'ProtocolError';
    this.code = code;
    this.kind = kind;
  }
}

/**
 * A short, printable rendering of a received value for error messages: strings are quoted,
 * escaped and cut to 24 characters; containers are summarised, never dumped.
 */
export function describeValue(value: unknown): string {
  switch (typeof value) {
    case 'string': {
      const cut = value.length > 24 ? `${value.slice(0, 24)}...` : value;
      // JSON escapes quotes, control characters and lone surrogates.
      return JSON.stringify(cut);
    }
    case 'number':
      return Object.is(value, -0) ? '-0' : String(value);
    case 'bigint':
      return `${value}n`;
    case 'boolean':
    case 'undefined':
      return String(value);
    case 'object':
      if (value === null) return 'null';
      if (value instanceof Uint8Array) return `${value.length} bytes`;
      if (Array.isArray(value)) return `an array of ${value.length}`;
      return Object.getPrototypeOf(value) === Object.prototype ? 'an object' : 'a non-plain object';
    default:
      return `a ${typeof value}`;
  }
}
