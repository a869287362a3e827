import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { ConcordError, type ConcordErrorCode, type Frame, INPUT_BYTES } from '../../sim/index.ts';
import { SimHostError } from './errors.ts';
import type {
  AuthBroadcastEvent,
  AuthoritativeSettings,
  CallCost,
  MatchSpec,
  RefereeReply,
  WorkerErrorData,
  WorkerEvent,
  WorkerReply,
  WorkerRequest,
} from './messages.ts';

/** What an authoritative match tells its room, from its worker. */
export interface AuthoritativeListener {
  /** A state went out: each client's message, the inputs applied since the last, the figures. */
  broadcast(e: AuthBroadcastEvent): void;
  /** The match's sim threw, or its worker died: the match cannot go on. */
  failed(err: Error): void;
}

/**
 * An authoritative match running on the pool (see {@link SimHostPool.openAuthoritative}). Inputs
 * and acknowledgements are posted to its worker without waiting for an answer.
 */
export interface AuthoritativeHandle {
  readonly matchId: string;
  /** Starts the match's loop at frame 0 (once; the relay calls it as it sends `start`). */
  start(): Promise<void>;
  /** A player's input stamped for `frame` (4 bytes). */
  input(slot: number, frame: Frame, input: Uint8Array): void;
  /** The client in `slot` acknowledged S(frame) (-1: it holds none, send it the full state). */
  ack(slot: number, frame: Frame): void;
  /** The player in `slot` left for good: it plays its default input from the next frame on. */
  leave(slot: number): void;
  /** Stops the loop and releases the sim. */
  close(): Promise<void>;
}

/** Settings of {@link SimHostPool}. */
export interface SimHostPoolOptions {
  /**
   * Most worker threads (default `os.availableParallelism() - 1`, at least 1: one core stays
   * with the relay's event loop). Workers start as matches need them. At least 1.
   */
  readonly size?: number;
  /**
   * A worker that owes referee answers and gives none for this long is taken to be stuck (a
   * sim that never returns): it is terminated, its calls rejected with `WORKER_STALLED`, and it
   * is replaced. Milliseconds, default 60 000; 0 turns the watchdog off. Not armed while an open
   * is under way on the worker (a first Python open loads Pyodide, about 3 s). It must cover the
   * longest referee call (the frames since the last agreed checkpoint).
   */
  readonly stallTimeoutMs?: number;
}

/** What {@link SimHostPool.openMatch} needs: the match's sim, as its header names it. */
export interface OpenMatchOptions extends MatchSpec {
  /** A label for stats and errors, e.g. the relay's match id (default `match-N`). */
  readonly matchId?: string;
}

/** A referee call: re-simulate S(fromFrame) to S(toFrame) with the logged inputs. */
export interface RefereeCall {
  /** The last agreed checkpoint. */
  readonly fromFrame: Frame;
  /**
   * Canonical bytes of S(fromFrame) (what `sim.encode` gives; every peer holds the same), or
   * null for the match's own S(0) when `fromFrame` is 0.
   */
  readonly fromState: Uint8Array | null;
  /**
   * Every slot's 4-byte input for frames fromFrame..toFrame-1: frame-major, then slot, so the
   * input of slot s for frame f is at byte ((f - fromFrame) × players + s) × 4. See
   * {@link packInputs}.
   */
  readonly inputs: Uint8Array;
  /** The frame to stop at (the check frame); at least `fromFrame`. */
  readonly toFrame: Frame;
}

/** What a referee call found. */
export interface RefereeResult {
  /** `toFrame`. */
  readonly frame: Frame;
  /** State hash of S(toFrame), 16 hex digits. */
  readonly hash: string;
  /** Canonical bytes of S(toFrame): the repair when no peer holds the right state. */
  readonly state: Uint8Array;
  /** What the call cost in the worker. */
  readonly cost: CallCost;
}

/**
 * One match's sim on the pool. Calls on one handle run in the order made. A handle whose worker
 * died moves to another worker on its next call (the sim is created again there; a referee call
 * needs nothing else, since it starts from the state it is given).
 */
export interface MatchSimHandle {
  /** The label given to {@link SimHostPool.openMatch}. */
  readonly matchId: string;
  readonly spec: MatchSpec;
  /**
   * Re-simulates from a checkpoint: loads `fromState`, steps it with `inputs` to `toFrame`, and
   * returns the hash and canonical bytes of S(toFrame). Idea: the referee of ARCHITECTURE.md,
   * "Desync detection and resync"; GGPO's sync test re-simulates the same way.
   * @throws ConcordError (as a rejection) the sim's own error: `BAD_STATE` for bytes that are
   *   not a state of this sim or not of `fromFrame`, `BAD_INPUT` for inputs of the wrong size
   *   or a frame range that is not one, `ENV_ERROR` when a Python environment raises.
   * @throws SimHostError (as a rejection) `WORKER_EXITED`, `WORKER_STALLED`, `MATCH_CLOSED`,
   *   `POOL_CLOSED`.
   */
  referee(call: RefereeCall): Promise<RefereeResult>;
  /** Releases the sim in its worker. Calls made afterwards reject with `MATCH_CLOSED`. */
  close(): Promise<void>;
}

/** One match's figures in {@link SimHostStats}. */
export interface MatchSimStats {
  readonly matchId: string;
  readonly sim: string;
  readonly players: number;
  /** Index of the worker that holds it, or null while it waits to move after a worker died. */
  readonly worker: number | null;
  /** Referee calls answered. */
  readonly calls: number;
  /** Frames stepped by those calls. */
  readonly framesStepped: number;
  /** Mean time in the sim's step per frame, µs (0 before any frame). */
  readonly usPerFrame: number;
  /** Mean time of a whole call in the worker, µs (0 before any call). */
  readonly usPerCall: number;
  /** Calls made and not yet answered. */
  readonly queued: number;
}

/** One worker's figures in {@link SimHostStats}. */
export interface WorkerStats {
  readonly index: number;
  /** Matches it holds. */
  readonly matches: number;
  /** Requests sent to it and not yet answered (its queue). */
  readonly queued: number;
  /** True once a Python match was opened on it (its Pyodide is loaded). */
  readonly python: boolean;
}

/**
 * The pool's figures, for `/healthz`: JSON data. Totals include matches already closed.
 * Times are measured in the workers around the sim's calls.
 */
export interface SimHostStats {
  /** The most workers the pool starts. */
  readonly size: number;
  /** Workers running. */
  readonly workers: number;
  /** Workers that died or stalled (each is replaced when a match next needs a worker). */
  readonly restarts: number;
  /** Matches open. */
  readonly matches: number;
  /** Referee calls answered. */
  readonly calls: number;
  /** Calls that were rejected (sim errors, worker deaths). */
  readonly failures: number;
  readonly framesStepped: number;
  /** Mean time in the sim's step per frame over all calls, µs. */
  readonly usPerFrame: number;
  /** Requests sent and not yet answered, all workers. */
  readonly queueLength: number;
  readonly perWorker: readonly WorkerStats[];
  readonly perMatch: readonly MatchSimStats[];
}

/**
 * Packs per-frame inputs into the layout of {@link RefereeCall.inputs}.
 * @param frames `frames[i][s]`: slot s's 4-byte input for frame fromFrame + i
 * @throws ConcordError `BAD_INPUT` when a frame does not have `players` inputs of 4 bytes
 */
export function packInputs(
  frames: readonly (readonly Uint8Array[])[],
  players: number,
): Uint8Array {
  const out = new Uint8Array(frames.length * players * INPUT_BYTES);
  frames.forEach((row, f) => {
    if (row.length !== players) {
      throw new ConcordError('BAD_INPUT', `frame ${f} has ${row.length} inputs, not ${players}`);
    }
    row.forEach((input, s) => {
      if (input.length !== INPUT_BYTES) {
        throw new ConcordError('BAD_INPUT', `input of slot ${s} is ${input.length} bytes`);
      }
      out.set(input, (f * players + s) * INPUT_BYTES);
    });
  });
  return out;
}

/** The default pool size: every core but one, at least 1. */
export function defaultPoolSize(): number {
  return Math.max(1, os.availableParallelism() - 1);
}

const WORKER_ENTRY = new URL('./worker.ts', import.meta.url);

/**
 * The worker's bootstrap, as a `data:` module: registers tsx's loader in the new thread, then
 * imports the TypeScript entry. Node 20 does not carry the main thread's tsx hooks into a
 * worker, and `execArgv: ['--import', 'tsx']` leaves `.ts` unknown there; a data: URL cannot
 * resolve a bare specifier, so tsx is named by its resolved file URL.
 */
function bootstrapUrl(): URL {
  const tsx = import.meta.resolve('tsx/esm/api');
  const code =
    `import { register } from ${JSON.stringify(tsx)};\n` +
    `register();\n` +
    `await import(${JSON.stringify(WORKER_ENTRY.href)});\n`;
  return new URL(`data:text/javascript,${encodeURIComponent(code)}`);
}

interface Pending {
  readonly op: WorkerRequest['op'];
  resolve(value: RefereeReply | null): void;
  reject(err: Error): void;
}

interface WorkerSlot {
  readonly index: number;
  readonly worker: Worker;
  readonly pending: Map<number, Pending>;
  readonly matches: Set<MatchEntry>;
  python: boolean;
  /** Set once it exited or was terminated: nothing more is sent to it. */
  dead: boolean;
  watchdog: ReturnType<typeof setTimeout> | null;
}

interface MatchEntry {
  /** Set for an authoritative match: where its worker's reports go. */
  auth?: AuthoritativeListener;
  readonly id: number;
  readonly matchId: string;
  readonly spec: MatchSpec;
  slot: WorkerSlot | null;
  closed: boolean;
  calls: number;
  frames: number;
  stepUs: number;
  callUs: number;
  queued: number;
}

/**
 * A pool of `worker_threads` workers that run match sims off the relay's event loop, each worker
 * holding several matches (placed on the worker with the fewest). Used for the desync referee
 * of peer-to-peer matches; the same workers will step authoritative matches.
 *
 * Failure model: a sim's error rejects that call only; a worker that exits or stalls rejects
 * every call it had not answered (`WORKER_EXITED`, `WORKER_STALLED`) and is replaced when a
 * match next needs a worker; its matches move to a live worker on their next call. Call {@link close} before the process
 * ends: running workers keep it alive.
 */
export class SimHostPool {
  /** The most workers this pool starts. */
  readonly size: number;
  private readonly stallTimeoutMs: number;
  private readonly slots: (WorkerSlot | null)[];
  private readonly matches = new Set<MatchEntry>();
  private nextMatch = 1;
  private nextCall = 1;
  private restarts = 0;
  private closed = false;
  // Totals over every match, closed ones included.
  private calls = 0;
  private failures = 0;
  private frames = 0;
  private stepUs = 0;

  /** @throws RangeError when `size` is not an integer of at least 1 or `stallTimeoutMs` is negative. */
  constructor(options: SimHostPoolOptions = {}) {
    const size = options.size ?? defaultPoolSize();
    if (!Number.isInteger(size) || size < 1) {
      throw new RangeError(`sim host pool size must be an integer >= 1, got ${size}`);
    }
    const stall = options.stallTimeoutMs ?? 60_000;
    if (!(stall >= 0)) throw new RangeError(`stallTimeoutMs must be >= 0, got ${stall}`);
    this.size = size;
    this.stallTimeoutMs = stall;
    this.slots = new Array(size).fill(null);
  }

  /**
   * Creates a match's sim at frame 0 in a worker. Resolves once it is created, so a sim that
   * cannot load fails here.
   * @throws ConcordError (as a rejection) `UNKNOWN_SIM`, `BAD_CONFIG` (player count, a Python
   *   environment that cannot load, a Python id without source or a built-in one with it).
   * @throws SimHostError (as a rejection) `POOL_CLOSED`, `WORKER_EXITED`, `WORKER_STALLED`.
   */
  async openMatch(options: OpenMatchOptions): Promise<MatchSimHandle> {
    return this.handle(await this.openEntry(options));
  }

  private async openEntry(options: OpenMatchOptions): Promise<MatchEntry> {
    if (this.closed) throw new SimHostError('POOL_CLOSED', 'the sim host pool is closed');
    const { matchId, ...rest } = options;
    const spec: MatchSpec = rest;
    const id = this.nextMatch++;
    const entry: MatchEntry = {
      id,
      matchId: matchId ?? `match-${id}`,
      spec,
      slot: null,
      closed: false,
      calls: 0,
      frames: 0,
      stepUs: 0,
      callUs: 0,
      queued: 0,
    };
    this.matches.add(entry);
    try {
      await this.place(entry);
    } catch (err) {
      this.forget(entry);
      throw err;
    }
    return entry;
  }

  /**
   * Opens a match's sim to run as an authoritative match at the scene's tick rate in its worker
   * (ARCHITECTURE.md, "Sync modes"), from the handle's `start()`: the worker's loop confirms each player's input per
   * frame and reports each state to `listener`. A match whose worker dies is not moved: the
   * listener's `failed` is told, and the room ends the match.
   * @throws as {@link openMatch}
   */
  async openAuthoritative(
    options: OpenMatchOptions,
    settings: AuthoritativeSettings,
    listener: AuthoritativeListener,
  ): Promise<AuthoritativeHandle> {
    const entry = await this.openEntry(options);
    const handle = this.handle(entry);
    if (!entry.slot) throw new SimHostError('WORKER_EXITED', 'the sim host worker went away');
    entry.auth = listener;
    const post = (req: WorkerRequest): void => {
      const slot = entry.slot;
      if (entry.closed || !slot || slot.dead) return;
      slot.worker.postMessage(req);
    };
    let started: Promise<void> | null = null;
    return {
      matchId: entry.matchId,
      start: () => {
        started ??= (async () => {
          if (entry.closed || !entry.slot) {
            throw new SimHostError('MATCH_CLOSED', `match ${entry.matchId} is closed`);
          }
          await this.send(entry.slot, { op: 'authStart', call: 0, match: entry.id, settings });
        })();
        return started;
      },
      input: (slot, frame, input) =>
        post({ op: 'authInput', call: 0, match: entry.id, slot, frame, input }),
      ack: (slot, frame) => post({ op: 'authAck', call: 0, match: entry.id, slot, frame }),
      leave: (slot) => post({ op: 'authLeave', call: 0, match: entry.id, slot }),
      close: () => handle.close(),
    };
  }

  /** The pool's figures now (see {@link SimHostStats}). */
  stats(): SimHostStats {
    const live = this.slots.filter((s): s is WorkerSlot => s !== null);
    let queueLength = 0;
    for (const s of live) queueLength += s.pending.size;
    return {
      size: this.size,
      workers: live.length,
      restarts: this.restarts,
      matches: this.matches.size,
      calls: this.calls,
      failures: this.failures,
      framesStepped: this.frames,
      usPerFrame: this.frames > 0 ? this.stepUs / this.frames : 0,
      queueLength,
      perWorker: live.map((s) => ({
        index: s.index,
        matches: s.matches.size,
        queued: s.pending.size,
        python: s.python,
      })),
      perMatch: [...this.matches].map((m) => ({
        matchId: m.matchId,
        sim: m.spec.sim,
        players: m.spec.players,
        worker: m.slot?.index ?? null,
        calls: m.calls,
        framesStepped: m.frames,
        usPerFrame: m.frames > 0 ? m.stepUs / m.frames : 0,
        usPerCall: m.calls > 0 ? m.callUs / m.calls : 0,
        queued: m.queued,
      })),
    };
  }

  /**
   * Terminates worker `index` as if it had died: its unanswered calls reject with
   * `WORKER_EXITED` and it is replaced. For operators (a worker grown too large) and tests.
   * Resolves once it has stopped; does nothing for a worker that is not running.
   */
  async terminateWorker(index: number): Promise<void> {
    const slot = this.slots[index];
    if (!slot) return;
    await this.kill(
      slot,
      new SimHostError('WORKER_EXITED', `sim host worker ${index} was terminated`),
    );
  }

  /** Stops every worker; calls not yet answered reject with `POOL_CLOSED`. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const err = new SimHostError('POOL_CLOSED', 'the sim host pool was closed');
    await Promise.all(
      this.slots.filter((s): s is WorkerSlot => s !== null).map((s) => this.kill(s, err)),
    );
    for (const m of this.matches) m.closed = true;
    this.matches.clear();
  }

  private handle(entry: MatchEntry): MatchSimHandle {
    return {
      matchId: entry.matchId,
      spec: entry.spec,
      referee: (call) => this.referee(entry, call),
      close: () => this.closeMatch(entry),
    };
  }

  private async referee(entry: MatchEntry, call: RefereeCall): Promise<RefereeResult> {
    if (this.closed) throw new SimHostError('POOL_CLOSED', 'the sim host pool is closed');
    if (entry.closed) {
      throw new SimHostError('MATCH_CLOSED', `match ${entry.matchId} is closed`);
    }
    const { fromFrame, toFrame, inputs, fromState } = call;
    if (
      !Number.isInteger(fromFrame) ||
      fromFrame < 0 ||
      !Number.isInteger(toFrame) ||
      toFrame < fromFrame
    ) {
      throw new ConcordError('BAD_INPUT', `bad frame range ${fromFrame}..${toFrame}`);
    }
    const want = (toFrame - fromFrame) * entry.spec.players * INPUT_BYTES;
    if (!(inputs instanceof Uint8Array) || inputs.length !== want) {
      throw new ConcordError(
        'BAD_INPUT',
        `frames ${fromFrame}..${toFrame} of ${entry.spec.players} players need ${want} input bytes, got ${inputs?.length}`,
      );
    }
    // A match whose worker died is created again on a live one first (in order on that worker).
    let placed: Promise<unknown> | null = null;
    if (entry.slot === null) {
      placed = this.place(entry);
      placed.catch(() => {
        // Reported below, in place of the referee call's own failure.
      });
    }
    const slot = entry.slot!;
    entry.queued++;
    let reply: RefereeReply | null;
    try {
      reply = await this.send(slot, {
        op: 'referee',
        call: 0,
        match: entry.id,
        fromFrame,
        fromState,
        inputs,
        toFrame,
      });
    } catch (err) {
      this.failures++;
      // When the sim could not be created again, that is the error to report.
      if (placed) await placed;
      throw err;
    } finally {
      entry.queued--;
    }
    const r = reply!;
    entry.calls++;
    entry.frames += r.cost.frames;
    entry.stepUs += r.cost.stepUs;
    entry.callUs += r.cost.callUs;
    this.calls++;
    this.frames += r.cost.frames;
    this.stepUs += r.cost.stepUs;
    return { frame: toFrame, hash: r.hash, state: r.state, cost: r.cost };
  }

  private async closeMatch(entry: MatchEntry): Promise<void> {
    if (entry.closed) return;
    const slot = entry.slot;
    this.forget(entry);
    if (slot && !slot.dead) {
      await this.send(slot, { op: 'close', call: 0, match: entry.id }).catch(() => {
        // The worker died meanwhile: the sim went with it.
      });
    }
  }

  private forget(entry: MatchEntry): void {
    entry.closed = true;
    entry.slot?.matches.delete(entry);
    entry.slot = null;
    this.matches.delete(entry);
  }

  /** Puts a match on the worker with the fewest matches (starting one while below size). */
  private place(entry: MatchEntry): Promise<RefereeReply | null> {
    const slot = this.pickSlot();
    entry.slot = slot;
    slot.matches.add(entry);
    if (entry.spec.python) slot.python = true;
    return this.send(slot, { op: 'open', call: 0, match: entry.id, spec: entry.spec });
  }

  private pickSlot(): WorkerSlot {
    let best: WorkerSlot | null = null;
    for (let i = 0; i < this.size; i++) {
      const s = this.slots[i];
      if (s === null) {
        // A free place: a new worker beats sharing one that already holds a match.
        if (best === null || best.matches.size > 0) return this.start(i);
        continue;
      }
      if (best === null || s.matches.size < best.matches.size) best = s;
    }
    return best ?? this.start(0);
  }

  private start(index: number): WorkerSlot {
    const worker = new Worker(bootstrapUrl(), { name: `concord-sim-host-${index}` });
    const slot: WorkerSlot = {
      index,
      worker,
      pending: new Map(),
      matches: new Set(),
      python: false,
      dead: false,
      watchdog: null,
    };
    this.slots[index] = slot;
    worker.unref();
    let failure: Error | null = null;
    worker.on('message', (reply: WorkerReply) => this.receive(slot, reply));
    worker.on('error', (err) => {
      failure = err;
    });
    worker.on('exit', (code) => {
      const why = failure ? `: ${failure.message}` : '';
      this.died(
        slot,
        new SimHostError(
          'WORKER_EXITED',
          `sim host worker ${index} exited with code ${code}${why}`,
        ),
      );
    });
    return slot;
  }

  private send(slot: WorkerSlot, req: WorkerRequest): Promise<RefereeReply | null> {
    if (slot.dead) {
      return Promise.reject(
        new SimHostError('WORKER_EXITED', `sim host worker ${slot.index} is gone`),
      );
    }
    const call = this.nextCall++;
    return new Promise((resolve, reject) => {
      slot.pending.set(call, { op: req.op, resolve, reject });
      slot.worker.postMessage({ ...req, call });
      this.arm(slot);
    });
  }

  private receive(slot: WorkerSlot, reply: WorkerReply | WorkerEvent): void {
    if ('event' in reply) {
      this.event(slot, reply);
      return;
    }
    const p = slot.pending.get(reply.call);
    if (!p) return;
    slot.pending.delete(reply.call);
    this.arm(slot);
    if (reply.ok) p.resolve(reply.value);
    else p.reject(fromWorker(reply.error));
  }

  /** A report of an authoritative match's loop: to its listener, its figures to the stats. */
  private event(slot: WorkerSlot, e: WorkerEvent): void {
    let entry: MatchEntry | undefined;
    for (const m of slot.matches) if (m.id === e.match) entry = m;
    if (!entry?.auth) return;
    if (e.event === 'authFailed') {
      entry.auth.failed(fromWorker(e.error));
      return;
    }
    entry.frames += e.frames;
    entry.stepUs += e.stepUs;
    this.frames += e.frames;
    this.stepUs += e.stepUs;
    entry.auth.broadcast(e);
  }

  /**
   * (Re)starts the stall watchdog when the worker answered something or was sent a call: it
   * fires when the worker owes an answer and gives none for stallTimeoutMs.
   */
  private arm(slot: WorkerSlot): void {
    if (slot.watchdog) clearTimeout(slot.watchdog);
    slot.watchdog = null;
    if (slot.dead) return;
    // An idle worker does not keep the process alive; one that owes an answer does.
    if (slot.pending.size === 0) {
      slot.worker.unref();
      return;
    }
    slot.worker.ref();
    // Opens are not timed: a first Python open loads Pyodide, which takes seconds.
    if (this.stallTimeoutMs === 0 || [...slot.pending.values()].some((p) => p.op === 'open'))
      return;
    slot.watchdog = setTimeout(() => {
      void this.kill(
        slot,
        new SimHostError(
          'WORKER_STALLED',
          `sim host worker ${slot.index} answered nothing for ${this.stallTimeoutMs} ms`,
        ),
      );
    }, this.stallTimeoutMs);
  }

  private async kill(slot: WorkerSlot, err: SimHostError): Promise<void> {
    this.died(slot, err);
    await slot.worker.terminate();
  }

  /** A worker is gone: reject what it owed, unhook its matches, start a replacement. */
  private died(slot: WorkerSlot, err: SimHostError): void {
    if (slot.dead) return;
    slot.dead = true;
    if (slot.watchdog) clearTimeout(slot.watchdog);
    slot.watchdog = null;
    const owed = [...slot.pending.values()];
    slot.pending.clear();
    for (const m of slot.matches) {
      m.slot = null;
      // An authoritative match's state lived in that worker: it cannot move.
      m.auth?.failed(err);
    }
    slot.matches.clear();
    if (this.slots[slot.index] === slot) {
      // Replaced when next needed (pickSlot), not here: a worker that cannot start must not
      // be restarted in a loop.
      this.slots[slot.index] = null;
      if (!this.closed) this.restarts++;
    }
    for (const p of owed) p.reject(err);
  }
}

/** A worker's error data as an error again: the sim's ConcordError keeps its code and frame. */
function fromWorker(e: WorkerErrorData): Error {
  let err: Error;
  if (e.name === 'ConcordError' && e.code !== undefined) {
    err = new ConcordError(e.code as ConcordErrorCode, e.message, e.frame);
  } else {
    err = new Error(e.message);
    err.name = e.name;
  }
  if (e.stack) err.stack = `${err.name}: ${err.message}\n    (in a sim host worker)\n${e.stack}`;
  return err;
}
