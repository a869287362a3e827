import { io, type Socket } from 'socket.io-client';
import {
  APP_EVENT,
  type ClientMessage,
  concordParser,
  decodeServerMessage,
  encodeClientMessage,
  type ServerMessage,
} from '../../protocol/index.ts';
import type { Transport, TransportState } from '../../sim/sync/index.ts';
import { ImpairedLink, type LinkImpairment, RealClock, type Scheduler } from '../net/index.ts';

/** Settings of {@link RelayConnection.connect}. */
export interface RelayConnectionOptions {
  /**
   * Impairment applied to this connection in both directions (outgoing before the socket,
   * incoming after it), on the real clock: the in-process network harness on a real socket.
   */
  readonly impairment?: LinkImpairment;
  /** Seed of the impairment's random draws (default 1). */
  readonly seed?: number;
  /** Clock for the impairment (default a new real clock). */
  readonly clock?: Scheduler;
  /** Give up connecting after this long, in ms (default 10 000). */
  readonly timeoutMs?: number;
  /**
   * The socket.io handshake's `auth` payload, which the relay reads from the connection (never
   * from a message): a study participant's page or bot sends `{ studyToken }` (the token of its
   * `/study` hello, see protocol/study.ts) so that the relay admits its join or rejoin of a study
   * scene. Default: none.
   */
  readonly auth?: Readonly<Record<string, string>>;
}

/**
 * A client's connection to the relay: socket.io over websocket with Concord's single-frame
 * binary parser, sending {@link ClientMessage}s and receiving {@link ServerMessage}s, optionally
 * through a seeded impairment (latency, jitter, TCP-style loss) in each direction.
 */
export class RelayConnection implements Transport<ClientMessage, ServerMessage> {
  private readonly handlers: ((m: ServerMessage) => void)[] = [];
  private readonly queued: ServerMessage[] = [];
  private readonly out: ImpairedLink<Uint8Array> | null;
  private readonly inbound: ImpairedLink<Uint8Array> | null;
  /** Messages from the relay that failed to decode (a relay bug or a version mismatch). */
  undecodable = 0;
  /** Why the connection closed, once it has. */
  private closedReason: string | null = null;

  private constructor(
    private readonly socket: Socket,
    options: RelayConnectionOptions,
  ) {
    const imp = options.impairment;
    if (imp && (imp.latencyMs > 0 || imp.jitterMs > 0 || imp.lossPct > 0)) {
      const clock = options.clock ?? new RealClock();
      const seed = options.seed ?? 1;
      this.out = new ImpairedLink<Uint8Array>({
        clock,
        impairment: imp,
        seed,
        deliver: (bytes) => socket.emit(APP_EVENT, bytes),
      });
      this.inbound = new ImpairedLink<Uint8Array>({
        clock,
        impairment: imp,
        seed: seed ^ 0x5bd1e995,
        deliver: (bytes) => this.dispatch(bytes),
      });
    } else {
      this.out = null;
      this.inbound = null;
    }
    socket.once('disconnect', (reason) => {
      this.closedReason = String(reason);
    });
    socket.on(APP_EVENT, (data: unknown) => {
      if (!(data instanceof Uint8Array)) {
        this.undecodable++;
        return;
      }
      if (this.inbound) this.inbound.send(data);
      else this.dispatch(data);
    });
  }

  /**
   * Connects to the relay at `url` (e.g. `http://127.0.0.1:8080`).
   * @throws Error when the connection fails or times out
   */
  static connect(url: string, options: RelayConnectionOptions = {}): Promise<RelayConnection> {
    const socket = io(url, {
      transports: ['websocket'],
      parser: concordParser,
      reconnection: false,
      forceNew: true,
      timeout: options.timeoutMs ?? 10_000,
      ...(options.auth ? { auth: { ...options.auth } } : {}),
    });
    return new Promise((resolve, reject) => {
      socket.once('connect', () => resolve(new RelayConnection(socket, options)));
      socket.once('connect_error', (err) => {
        socket.close();
        reject(new Error(`cannot connect to the relay at ${url}: ${err.message}`));
      });
    });
  }

  /** Sends a message to the relay (through the impairment, if any). */
  send(m: ClientMessage): void {
    const bytes = encodeClientMessage(m);
    if (this.out) this.out.send(bytes);
    else this.socket.emit(APP_EVENT, bytes);
  }

  /**
   * Calls `handler` with every message from the relay, in order. Messages that arrive while no
   * handler is registered wait in a queue and go to the next handler registered, so that a
   * caller switching handlers (after `start`, say) never loses one: several messages can arrive
   * in one event-loop turn, before an awaiting caller resumes.
   * @returns a function that unregisters the handler
   */
  onMessage(handler: (m: ServerMessage) => void): () => void {
    this.handlers.push(handler);
    const queued = this.queued.splice(0, this.queued.length);
    for (const m of queued) for (const h of this.handlers) h(m);
    return () => {
      const i = this.handlers.indexOf(handler);
      if (i >= 0) this.handlers.splice(i, 1);
    };
  }

  /** Calls `handler` once when the connection closes (at once, if it has closed already). */
  onClose(handler: (reason: string) => void): () => void {
    if (this.closedReason !== null) {
      handler(this.closedReason);
      return () => {};
    }
    const listener = (reason: unknown): void => handler(String(reason));
    this.socket.once('disconnect', listener);
    return () => {
      this.socket.off('disconnect', listener);
    };
  }

  /** True while the socket is connected. */
  get connected(): boolean {
    return this.socket.connected;
  }

  /** `open` while the socket is connected, then `closed` (a connection is made open). */
  get state(): TransportState {
    return this.closedReason === null && this.socket.connected ? 'open' : 'closed';
  }

  /** Closes the connection (messages still in the impairment are dropped). */
  close(): void {
    this.out?.close();
    this.inbound?.close();
    this.socket.close();
  }

  private dispatch(bytes: Uint8Array): void {
    let m: ServerMessage;
    try {
      m = decodeServerMessage(bytes);
    } catch {
      this.undecodable++;
      return;
    }
    if (this.handlers.length === 0) this.queued.push(m);
    else for (const h of [...this.handlers]) h(m);
  }
}
