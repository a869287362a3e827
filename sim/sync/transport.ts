/**
 * The state of a {@link Transport}: `connecting` until it can carry messages, `open` while it
 * can, `closed` for good (a transport never reopens; a peer that rejoins opens a new one).
 */
export type TransportState = 'connecting' | 'open' | 'closed';

/**
 * The channel a peer's messages travel over, whatever carries them: socket.io over websocket to
 * the relay (`client/transport/relay-connection.ts`), the in-process impaired link of the tests
 * (`client/net/`), a WebRTC DataChannel. The engine and the match runner depend on this
 * interface only, so that the same match runs over any of them, and on a virtual clock in tests.
 *
 * `Out` is what this end sends and `In` what it receives (for a client of the relay, the
 * protocol's `ClientMessage` and `ServerMessage`). Delivery guarantees are the implementation's:
 * socket.io delivers in order and without loss while open; a datagram transport may lose,
 * duplicate and reorder, and its users must tolerate that.
 *
 * Idea: GGRS's `NonBlockingSocket`, and fortress-rollback's `ChaosSocket` as a test double.
 */
export interface Transport<Out, In> {
  /** Where the transport stands; see {@link TransportState}. */
  readonly state: TransportState;
  /**
   * Sends a message. Silently dropped once the transport is closed (the caller learns of the
   * close through {@link onClose}, once).
   */
  send(message: Out): void;
  /**
   * Calls `handler` with every message received, in arrival order. Messages that arrive while no
   * handler is registered wait and go to the next handler registered, so that a caller switching
   * handlers never loses one.
   * @returns a function that unregisters the handler
   */
  onMessage(handler: (message: In) => void): () => void;
  /**
   * Calls `handler` once when the transport closes, with the reason in words (called at once if it
   * is already closed).
   * @returns a function that unregisters the handler
   */
  onClose(handler: (reason: string) => void): () => void;
  /** Closes the transport; messages not yet delivered may be lost. Idempotent. */
  close(): void;
}
