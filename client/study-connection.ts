/**
 * A participant's connection to the study server: the study wire (protocol/study.ts) from the
 * page's side, socket.io namespace `/study` with Concord's parser. What the browser page and the
 * headless participant (client/study-client.ts) share; it loads no sim and no Pyodide.
 *
 * @packageDocumentation
 */
import { io, type Socket } from 'socket.io-client';
import {
  concordParser,
  STUDY_EVENTS,
  STUDY_NAMESPACE,
  type StudyHello,
  type StudyReply,
  type StudyStep,
  type StudyView,
  type StudyWaiting,
} from '../protocol/index.ts';

/** The ids a participant's page sends in `hello` (its URL's query parameters), tab id aside. */
export type StudyIds = Omit<StudyHello, 'tabId'>;

/** Settings of {@link StudyConnection.connect}. */
export interface StudyConnectionOptions {
  /** Give up connecting, and each `hello` or `step` without an answer, after this long, ms (default 10 000). */
  readonly timeoutMs?: number;
}

/**
 * A participant's connection to the study server (socket.io namespace `/study`, Concord's
 * parser). It keeps the last view and token, and follows the server's pushes.
 */
export class StudyConnection {
  /** The last view the server gave (a reply or a push), or null before `hello`. */
  view: StudyView | null = null;
  /** The token of the last `hello` (the game connection's handshake `auth.studyToken`). */
  token: string | null = null;
  /** The last `waiting` push, cleared when the view changes scene. */
  waiting: StudyWaiting | null = null;
  readonly #socket: Socket;
  readonly #timeoutMs: number;
  readonly #viewListeners = new Set<(v: StudyView) => void>();
  readonly #waitingListeners = new Set<(w: StudyWaiting) => void>();
  #closedReason: string | null = null;

  private constructor(socket: Socket, timeoutMs: number) {
    this.#socket = socket;
    this.#timeoutMs = timeoutMs;
    socket.on(STUDY_EVENTS.view, (v: StudyView) => this.#setView(v));
    socket.on(STUDY_EVENTS.waiting, (w: StudyWaiting) => {
      this.waiting = w;
      for (const l of [...this.#waitingListeners]) l(w);
    });
    socket.once('disconnect', (reason) => {
      this.#closedReason = String(reason);
    });
  }

  /**
   * Connects to the study server of the relay at `url` (e.g. `http://127.0.0.1:8080`).
   * @throws Error when the connection fails or times out
   */
  static connect(url: string, o: StudyConnectionOptions = {}): Promise<StudyConnection> {
    const timeoutMs = o.timeoutMs ?? 10_000;
    const socket = io(`${url.replace(/\/+$/, '')}${STUDY_NAMESPACE}`, {
      transports: ['websocket'],
      parser: concordParser,
      reconnection: false,
      forceNew: true,
      timeout: timeoutMs,
    });
    return new Promise((resolve, reject) => {
      socket.once('connect', () => resolve(new StudyConnection(socket, timeoutMs)));
      socket.once('connect_error', (err) => {
        socket.close();
        reject(new Error(`cannot connect to the study server at ${url}: ${err.message}`));
      });
    });
  }

  /** True until the connection closed. */
  get open(): boolean {
    return this.#closedReason === null && this.#socket.connected;
  }

  #setView(v: StudyView): void {
    if (this.view?.scene.id !== v.scene.id) this.waiting = null;
    this.view = v;
    for (const l of [...this.#viewListeners]) l(v);
  }

  async #ask(event: string, data: unknown): Promise<StudyReply> {
    const reply = (await this.#socket
      .timeout(this.#timeoutMs)
      .emitWithAck(event, data)) as StudyReply;
    if (reply.ok) {
      this.token = reply.token;
      this.#setView(reply.view);
    }
    return reply;
  }

  /**
   * Says who this is: `tabId` (the same across a reload, another in a second tab) and the URL's
   * ids. Resolves with the server's reply (a view and token, or a refusal such as `otherTab`).
   * @throws Error when the server does not answer in time or the connection closed
   */
  hello(tabId: string, ids: StudyIds = {}): Promise<StudyReply> {
    return this.#ask(STUDY_EVENTS.hello, { ...ids, tabId });
  }

  /**
   * Takes a step in the scene the page shows.
   * @throws Error when the server does not answer in time or the connection closed
   */
  step(step: StudyStep): Promise<StudyReply> {
    return this.#ask(STUDY_EVENTS.step, step);
  }

  /** Follows the `view` pushes (and replies); returns a function that stops following. */
  onView(listener: (v: StudyView) => void): () => void {
    this.#viewListeners.add(listener);
    return () => this.#viewListeners.delete(listener);
  }

  /** Follows the `waiting` pushes; returns a function that stops following. */
  onWaiting(listener: (w: StudyWaiting) => void): () => void {
    this.#waitingListeners.add(listener);
    return () => this.#waitingListeners.delete(listener);
  }

  /**
   * Resolves with the next view whose scene is not `sceneId` (the current one when it is not),
   * or null after `timeoutMs`.
   */
  nextScene(sceneId: string, timeoutMs: number): Promise<StudyView | null> {
    if (this.view && this.view.scene.id !== sceneId) return Promise.resolve(this.view);
    return new Promise((resolve) => {
      const stop = this.onView((v) => {
        if (v.scene.id === sceneId) return;
        clearTimeout(timer);
        stop();
        resolve(v);
      });
      const timer = setTimeout(() => {
        stop();
        resolve(null);
      }, timeoutMs);
    });
  }

  /** Closes the connection (the server releases this tab). */
  close(): void {
    this.#socket.close();
  }
}
