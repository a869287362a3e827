/**
 * The dedicated Web Worker that plays a Python scene for the page: it hosts Pyodide and runs the
 * whole match (the relay connection, join and cancel, the match client with the Python sim, a
 * fixed-timestep loop on the worker's own timers with time sync, the frame limit), so that a
 * rollback, which re-simulates several frames in Python, never blocks the page's drawing or
 * input. The page sends it the local input and visibility; it sends back the draw primitives of
 * the newest state, the stats, the confirmed state hashes and the result.
 *
 * Started by `python-page.ts` as a module worker (`/python-worker.js`); Pyodide's loader is
 * imported at runtime from the relay's `/pyodide/pyodide.mjs` (the build rewrites the `pyodide`
 * import to it), never bundled and never from a CDN. Pyodide and the environment's source are
 * loaded when the worker starts, before the page joins a queue, so a match never waits for them.
 */
import type { SceneSettings, ServerMessage } from '../../protocol/index.ts';
import { type Frame, type Input, initStateHash, NEUTRAL_INPUT } from '../../sim/index.ts';
import {
  createPythonSim,
  type DrawPrimitive,
  loadConcordPyodide,
  type PythonSim,
  type PythonSnap,
} from '../../sim/python/index.ts';
import { FixedTimestep, type SessionStats, slowdownFor } from '../../sim/sync/index.ts';
import { MatchClient, type MatchStart } from '../match-client.ts';
import { fetchPythonEnv, type PythonEnvSource } from '../python-env.ts';
import { RelayConnection } from '../transport/relay-connection.ts';
import { type ConfirmedCapture, captureConfirmedState } from './confirmed-capture.ts';
import { countdownFramesFor, RelayPinger } from './match-loop.ts';

// ---------------------------------------------------------------------------------------------
// The page ↔ worker protocol

/** What the page sends the worker. */
export type PageToWorker =
  /** Sent once, first: the scene whose environment to load (`GET /sims/<scene>`). */
  | { readonly type: 'init'; readonly scene: string }
  /** Join the scene's queue (queued until Pyodide and the environment are loaded). */
  | { readonly type: 'join'; readonly participantId: string | null }
  /** Leave the queue (ignored once the match started). */
  | { readonly type: 'cancel' }
  /**
   * The local player's button bits as the page's input capture sampled them on a display frame
   * (`PythonInputCapture.sample()`); see {@link InputMixer} for how ticks use them.
   */
  | { readonly type: 'input'; readonly buttons: number }
  /** The tab was hidden or shown: while hidden the local input is the sim's default. */
  | { readonly type: 'visibility'; readonly hidden: boolean }
  /** Ask for the state hash of confirmed frame `frame`; answered by a `hashAt` message. */
  | { readonly type: 'hashAt'; readonly id: number; readonly frame: Frame };

/** The worker's figures of a running match: the session's counters and the worker's own. */
export interface WorkerMatchStats extends SessionStats {
  readonly matchId: string;
  readonly slot: number;
  /** Round trip to the relay in ms (0 until measured). */
  readonly pingMs: number;
  /** Frames between hashed confirmed frames (the scene's K_min). */
  readonly hashInterval: number;
  /** The newest confirmed frame whose state hash is recorded, or null. */
  readonly lastHashedFrame: Frame | null;
  readonly desyncs: number;
  readonly agreedChecks: number;
  /** Ticks run while the page was hidden. */
  readonly hiddenTicks: number;
  /** Real time given up because the worker fell over a second behind, in ms. */
  readonly droppedMs: number;
  /** Duration of the last tick that rolled back (load + re-simulation + saves), in ms. */
  readonly lastRollbackMs: number;
  /** Duration of the costliest tick that rolled back, in ms. */
  readonly maxRollbackMs: number;
  /** Mean duration of the ticks that rolled back, in ms (0 before the first). */
  readonly meanRollbackMs: number;
  /** Duration of the costliest tick of any kind, in ms. */
  readonly maxTickMs: number;
  /** Duration of the last `render()` call into Python, in ms. */
  readonly renderMs: number;
  /** Frames stepped in Python, re-simulated ones included. */
  readonly steps: number;
  /** Runs of advances (re-simulations) the runner sent into Python as one `stepMany` call. */
  readonly stepBatches: number;
}

/** The outcome of a Python match as the page shows it. */
export interface PythonMatchResult {
  readonly matchId: string;
  /** This page's slot. */
  readonly slot: number;
  /** The frame of the state the result comes from. */
  readonly frame: Frame;
  /** True when that state is confirmed (the frame limit's hashed state). */
  readonly confirmed: boolean;
  /**
   * `frame-limit`: the match reached the scene's frame limit; `relay`: the relay ended it;
   * `alone`: every other player left; `lost`: the connection dropped; `error`: the worker hit
   * an error.
   */
  readonly kind: 'frame-limit' | 'relay' | 'alone' | 'lost' | 'error';
  /** Why it ended, in words. */
  readonly reason: string;
  /**
   * The environment's own `score` (a number at the top level of its `get_state()`), when it
   * keeps one; else null.
   */
  readonly score: number | null;
}

/** What the worker sends the page. */
export type WorkerToPage =
  /** Progress while loading or connecting, in words. */
  | { readonly type: 'status'; readonly text: string }
  /** Pyodide, the extra packages and the environment are loaded. */
  | {
      readonly type: 'ready';
      /** Time to load Pyodide in this worker, in ms. */
      readonly pyodideLoadMs: number;
      /** Time to fetch and check the environment's source, in ms. */
      readonly envFetchMs: number;
      readonly sim: string;
      readonly codeHash: string;
    }
  /** The relay's queue count (`waiting` of `players`). */
  | { readonly type: 'waiting'; readonly waiting: number; readonly players: number }
  /** The match started. */
  | {
      readonly type: 'start';
      readonly matchId: string;
      readonly slot: number;
      readonly settings: SceneSettings;
    }
  /**
   * After each loop pass that ran ticks (and at least every 250 ms): the newest frame, the
   * countdown text ("3", "2", "1", "GO!" or null), the draw primitives of the newest state (null
   * when unchanged since the last message, or when the environment has no `render()`), and the
   * stats.
   */
  | {
      readonly type: 'frame';
      readonly frame: Frame;
      readonly inCountdown: boolean;
      readonly countdown: string | null;
      readonly primitives: DrawPrimitive[] | null;
      readonly stats: WorkerMatchStats;
    }
  /** The state hash of a confirmed frame, as the session recorded it. */
  | { readonly type: 'hash'; readonly frame: Frame; readonly hash: string }
  /** The answer to a `hashAt` request (null when the frame is not hashed). */
  | {
      readonly type: 'hashAt';
      readonly id: number;
      readonly frame: Frame;
      readonly hash: string | null;
    }
  /** The match is over for this page. */
  | { readonly type: 'end'; readonly result: PythonMatchResult }
  /**
   * Something went wrong, in words. `fatal`: the worker cannot go on (loading failed, or the
   * match stopped on an error); otherwise the page shows it and carries on (e.g. a refused join).
   * `refused`: the kind of message the relay refused, when it was the relay.
   */
  | {
      readonly type: 'error';
      readonly message: string;
      readonly fatal: boolean;
      readonly refused?: string;
    }
  /** The connection to the relay closed before the match ended (or before it started). */
  | { readonly type: 'closed'; readonly reason: string };

// ---------------------------------------------------------------------------------------------
// Input

/** Most presses kept for later ticks. */
const MAX_PENDING_PRESSES = 3;

/**
 * Turns the button samples the page sends on every display frame (from its
 * `PythonInputCapture`) into one input per tick, so that every press counts once and a held key
 * keeps acting:
 * - a sample that no tick used and that a different sample then replaced, losing one of its
 *   bits, was a press shorter than a tick (a tap, or an interact press, which the capture sends
 *   alone for one sample): it waits for the next tick (at most 3 wait), unless its keys are
 *   all held again by then;
 * - otherwise a tick uses the newest sample, if it arrived since the last tick or the page sent
 *   it at least twice in a row (a held key); a single sample that a tick already used is not
 *   used again when the page falls silent (an interact press acts once).
 */
export class InputMixer {
  private latest = 0;
  /** Times in a row the page sent {@link latest}. */
  private repeats = 0;
  private latestUsed = false;
  /** A sample arrived since the last tick. */
  private fresh = false;
  private readonly presses: number[] = [];

  /** Takes a sample (button bits) from the page. */
  receive(buttons: number): void {
    const b = buttons & 0xffff;
    this.fresh = true;
    if (b === this.latest) {
      this.repeats++;
      return;
    }
    const ended = this.latest & ~b;
    if (ended !== 0 && !this.latestUsed && this.presses.length < MAX_PENDING_PRESSES) {
      this.presses.push(this.latest);
    }
    this.latest = b;
    this.repeats = 1;
    this.latestUsed = false;
  }

  /** The button bits for the next tick (consumes a waiting press, if any). */
  next(): number {
    // A "press" whose keys are all still held was a held key that a press interrupted (the
    // capture sends a press alone): the held sample covers it.
    while (this.presses.length > 0 && (this.presses[0] & ~this.latest) === 0) this.presses.shift();
    const press = this.presses.shift();
    if (press !== undefined) return press;
    const usable = this.fresh || this.repeats >= 2;
    this.fresh = false;
    if (!usable) return 0;
    this.latestUsed = true;
    return this.latest;
  }

  /** Forgets everything (the tab was hidden). */
  clear(): void {
    this.latest = 0;
    this.repeats = 0;
    this.latestUsed = false;
    this.fresh = false;
    this.presses.length = 0;
  }
}

// ---------------------------------------------------------------------------------------------
// The match loop

const now = (): number => performance.now(); // clock-ok: drives the loop and probes, never the sim

/** How often the loop's timer fires at most, in ms (browsers clamp nested timers to 4 ms). */
const MIN_PASS_MS = 4;
/** A stats message at least this often while the match runs, in ms. */
const STATS_EVERY_MS = 250;
/** How long "GO!" stays up after the countdown, in ms. */
const GO_MS = 600;
/** After this worker finished at the frame limit, how long to wait for the relay's `end`, in ms. */
const END_GRACE_MS = 30_000;

/** A {@link PythonSim} wrapped for the session: the confirmed state at the frame limit kept. */
function sessionSim(py: PythonSim, frameLimit: Frame): ConfirmedCapture<PythonSnap> {
  const capture = captureConfirmedState(py, frameLimit > 0 ? frameLimit : -1, (s) => s.frame);
  // The runner batches a re-simulation into one call across the Python boundary when the sim
  // offers stepMany; the capture wrapper must pass it on.
  Object.assign(capture.sim, {
    stepMany: (inputs: readonly (readonly Input[])[]) => py.stepMany(inputs),
  });
  return capture;
}

/** The score of a state, when the environment keeps a top-level number `score`. */
function scoreOf(snap: PythonSnap): number | null {
  const env = snap.env;
  if (typeof env !== 'object' || env === null || Array.isArray(env)) return null;
  const score = (env as Record<string, unknown>).score;
  return typeof score === 'number' ? score : null;
}

/**
 * One Python match in the worker: each {@link pass} turns elapsed real time into fixed ticks of
 * the session (slowing down gently when this peer runs ahead), probes the relay round trip,
 * measures what rollbacks cost, renders the newest state once per pass that changed it, and
 * checks whether the match is over. As on the duel page, the local input is the sim's default
 * during the countdown and while the page is hidden.
 */
class PythonMatchLoop {
  readonly countdownFrames: Frame;
  private readonly timestep: FixedTimestep;
  private readonly idleInput: Input;
  private lastMs: number | null = null;
  private readonly pinger: RelayPinger;
  private finalHash: string | null = null;
  private aloneSince: Frame | null = null;
  private lastPostMs = Number.NEGATIVE_INFINITY;
  private lastHashedFrame: Frame | null = null;
  private hiddenTicks = 0;
  private lastRollbackMs = 0;
  private maxRollbackMs = 0;
  private rollbackTicks = 0;
  private rollbackMsTotal = 0;
  private maxTickMs = 0;
  private renderMs = 0;
  readonly input = new InputMixer();
  hidden = false;
  ended: PythonMatchResult | null = null;

  constructor(
    readonly match: MatchClient<PythonSnap>,
    conn: RelayConnection,
    private readonly py: PythonSim,
    private readonly capture: ConfirmedCapture<PythonSnap>,
    private readonly post: (m: WorkerToPage) => void,
  ) {
    const s = match.settings;
    this.timestep = new FixedTimestep({ tickRate: s.tickRate });
    this.countdownFrames = countdownFramesFor(s);
    this.pinger = new RelayPinger(conn);
    this.idleInput = py.defaultInput?.(match.slot) ?? NEUTRAL_INPUT;
    match.peer.session.on((e) => {
      if (e.type !== 'confirmedHash') return;
      this.lastHashedFrame = e.frame;
      this.post({ type: 'hash', frame: e.frame, hash: e.hash });
    });
  }

  /** Interval of the loop's timer for this scene's tick rate, in ms. */
  get passMs(): number {
    return Math.max(MIN_PASS_MS, Math.min(16, this.timestep.tickMs / 4));
  }

  private get frame(): Frame {
    return this.match.peer.session.frame;
  }

  /** Runs the ticks owed at `nowMs`, posts the newest state, and checks for the end. */
  pass(nowMs: number): void {
    if (this.ended) return;
    const elapsed = this.lastMs === null ? 0 : nowMs - this.lastMs;
    this.lastMs = nowMs;
    this.pinger.update(nowMs);
    const session = this.match.peer.session;
    const ticks = this.match.ready ? this.timestep.update(elapsed) : 0;
    let changed = false;
    for (let i = 0; i < ticks; i++) {
      const idle = this.hidden || this.frame < this.countdownFrames;
      const buttons = this.input.next();
      const input = idle ? this.idleInput : { buttons, x: 0, y: 0 };
      const t0 = now();
      const result = this.match.tick(input, nowMs);
      const tickMs = now() - t0;
      if (this.hidden) this.hiddenTicks++;
      if (tickMs > this.maxTickMs) this.maxTickMs = tickMs;
      if (result.requests.some((r) => r.kind === 'load')) {
        this.lastRollbackMs = tickMs;
        this.rollbackTicks++;
        this.rollbackMsTotal += tickMs;
        if (tickMs > this.maxRollbackMs) this.maxRollbackMs = tickMs;
      }
      if (result.requests.some((r) => r.kind !== 'hash' && r.kind !== 'free')) changed = true;
    }
    this.timestep.setSlowdown(slowdownFor(session.frameAdvantage()));
    this.ended = this.checkEnd();
    if (changed || nowMs - this.lastPostMs >= STATS_EVERY_MS) {
      this.lastPostMs = nowMs;
      let primitives: DrawPrimitive[] | null = null;
      if (changed && this.py.hasRender) {
        const t0 = now();
        primitives = this.py.render();
        this.renderMs = now() - t0;
      }
      const f = this.frame;
      this.post({
        type: 'frame',
        frame: f,
        inCountdown: f < this.countdownFrames,
        countdown: this.countdownText(f),
        primitives,
        stats: this.stats(),
      });
    }
  }

  private countdownText(frame: Frame): string | null {
    const left = this.countdownFrames - frame;
    if (left > 0) return String(Math.ceil(left / (this.countdownFrames / 3)));
    if (-left < (GO_MS / 1000) * this.match.settings.tickRate) return 'GO!';
    return null;
  }

  stats(): WorkerMatchStats {
    const m = this.match;
    const runner = m.peer.runner;
    return {
      ...m.peer.session.stats(),
      matchId: m.matchId,
      slot: m.slot,
      pingMs: m.relayRttMs,
      hashInterval: m.settings.hashInterval,
      lastHashedFrame: this.lastHashedFrame,
      desyncs: m.desyncs,
      agreedChecks: m.agreedChecks,
      hiddenTicks: this.hiddenTicks,
      droppedMs: this.timestep.droppedMs,
      lastRollbackMs: this.lastRollbackMs,
      maxRollbackMs: this.maxRollbackMs,
      meanRollbackMs: this.rollbackTicks > 0 ? this.rollbackMsTotal / this.rollbackTicks : 0,
      maxTickMs: this.maxTickMs,
      renderMs: this.renderMs,
      steps: runner.steps,
      stepBatches: runner.batches,
    };
  }

  /** The result for `kind`, from the newest state (not confirmed) unless given a confirmed one. */
  result(
    kind: PythonMatchResult['kind'],
    reason: string,
    confirmed: PythonSnap | null = null,
  ): PythonMatchResult {
    const m = this.match;
    const snap = confirmed ?? this.py.save();
    return {
      matchId: m.matchId,
      slot: m.slot,
      frame: snap.frame,
      confirmed: confirmed !== null || m.peer.session.confirmedFrame >= this.py.frame - 1,
      kind,
      reason,
      score: scoreOf(snap),
    };
  }

  private checkEnd(): PythonMatchResult | null {
    const m = this.match;
    const limit = m.settings.frames;
    if (limit > 0 && this.finalHash === null) this.finalHash = m.finishAt(limit);
    const final = this.capture.captured();
    if (this.finalHash !== null && final !== null) {
      return this.result('frame-limit', `the match reached its ${limit}-frame limit`, final);
    }
    if (m.endReason !== null) {
      return this.result('relay', `the relay ended the match: ${m.endReason}`);
    }
    if (m.departed.size >= m.settings.players - 1) {
      // Wait for one tick after the news, so that the late inputs have been rolled back in.
      this.aloneSince ??= this.frame;
      if (this.frame > this.aloneSince) return this.result('alone', 'every other player left');
    }
    return null;
  }
}

// ---------------------------------------------------------------------------------------------
// The worker

interface Loaded {
  readonly pyodide: Awaited<ReturnType<typeof loadConcordPyodide>>;
  readonly env: PythonEnvSource;
}

/** What the worker needs of its global scope (a `DedicatedWorkerGlobalScope`). */
interface WorkerScope {
  postMessage(message: WorkerToPage): void;
  onmessage: ((event: MessageEvent<PageToWorker>) => void) | null;
  readonly location: { readonly origin: string };
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The worker's state machine: loading → ready → waiting → playing → ended. */
class PythonWorker {
  private scene: string | null = null;
  private loaded: Loaded | null = null;
  private loadFailed = false;
  private conn: RelayConnection | null = null;
  private joinRequest: { participantId: string | null } | null = null;
  private waiting = false;
  private loop: PythonMatchLoop | null = null;
  private timer: ReturnType<typeof setInterval> | null = null;
  private hidden = false;

  constructor(private readonly scope: WorkerScope) {}

  private post(m: WorkerToPage): void {
    this.scope.postMessage(m);
  }

  onPageMessage(m: PageToWorker): void {
    switch (m.type) {
      case 'init':
        if (this.scene !== null) return;
        this.scene = m.scene;
        void this.load(m.scene);
        return;
      case 'join':
        this.joinRequest = { participantId: m.participantId };
        void this.joinWhenReady();
        return;
      case 'cancel':
        this.joinRequest = null;
        if (this.waiting) {
          this.waiting = false;
          this.conn?.send({ kind: 'cancel' });
        }
        return;
      case 'input':
        this.loop?.input.receive(m.buttons);
        return;
      case 'visibility':
        this.hidden = m.hidden;
        if (this.loop) {
          this.loop.hidden = m.hidden;
          if (m.hidden) this.loop.input.clear();
        }
        return;
      case 'hashAt':
        this.post({
          type: 'hashAt',
          id: m.id,
          frame: m.frame,
          hash: this.loop?.match.peer.session.hashAt(m.frame) ?? null,
        });
        return;
    }
  }

  /** Loads Pyodide, the environment's source and its packages, all at once. */
  private async load(scene: string): Promise<void> {
    this.post({ type: 'status', text: 'Loading Python…' });
    try {
      const origin = this.scope.location.origin;
      const t0 = now();
      const envPromise = fetchPythonEnv(origin, scene).then((env) => ({ env, ms: now() - t0 }));
      const pyodidePromise = loadConcordPyodide({
        indexURL: `${origin}/pyodide/`,
      }).then((pyodide) => ({ pyodide, ms: now() - t0 }));
      const [{ env, ms: envFetchMs }, { pyodide, ms: pyodideLoadMs }] = await Promise.all([
        envPromise,
        pyodidePromise,
        initStateHash(),
      ]);
      if (env.packages.length > 0) {
        this.post({ type: 'status', text: `Loading ${env.packages.join(', ')}…` });
        try {
          await pyodide.loadPackage([...env.packages]);
        } catch (err) {
          throw new Error(
            `scene "${scene}" needs the Pyodide packages ${env.packages.join(', ')}, which did not load: ${messageOf(err)}`,
          );
        }
      }
      this.loaded = { pyodide, env };
      this.post({ type: 'ready', pyodideLoadMs, envFetchMs, sim: env.sim, codeHash: env.codeHash });
      await this.joinWhenReady();
    } catch (err) {
      this.loadFailed = true;
      this.post({
        type: 'error',
        message: `Could not load the Python environment: ${messageOf(err)}`,
        fatal: true,
      });
    }
  }

  private async joinWhenReady(): Promise<void> {
    const request = this.joinRequest;
    if (!request || !this.loaded || this.loadFailed || this.waiting || this.loop) return;
    try {
      if (!this.conn?.connected) {
        this.post({ type: 'status', text: 'Connecting to the relay…' });
        this.conn = await this.connect();
      }
    } catch (err) {
      this.joinRequest = null;
      this.post({ type: 'error', message: messageOf(err), fatal: false, refused: 'join' });
      return;
    }
    if (this.joinRequest !== request) return; // cancelled while connecting
    this.joinRequest = null;
    this.waiting = true;
    this.post({ type: 'waiting', waiting: 0, players: 0 });
    this.conn.send({ kind: 'join', scene: this.scene!, participantId: request.participantId });
  }

  private async connect(): Promise<RelayConnection> {
    const conn = await RelayConnection.connect(this.scope.location.origin);
    conn.onMessage((m) => this.onRelayMessage(m));
    conn.onClose((reason) => this.onClose(conn, reason));
    return conn;
  }

  private onRelayMessage(m: ServerMessage): void {
    switch (m.kind) {
      case 'waiting':
        if (this.waiting) this.post({ type: 'waiting', waiting: m.waiting, players: m.players });
        return;
      case 'start':
        if (this.waiting) this.start(m);
        return;
      case 'error':
        if (m.refused === 'join') this.waiting = false;
        this.post({
          type: 'error',
          message: `The relay refused ${m.refused ?? 'a message'}: ${m.message} (${m.code})`,
          fatal: false,
          ...(m.refused ? { refused: m.refused } : {}),
        });
        return;
      case 'end':
        this.loop?.match.handle(m, now());
        if (this.loop?.ended) this.conn?.close();
        return;
      default:
        if (!this.loop || this.loop.ended) return;
        try {
          this.loop.match.handle(m, now());
        } catch (err) {
          this.fail(err);
        }
    }
  }

  private onClose(conn: RelayConnection, reason: string): void {
    if (conn !== this.conn) return;
    this.conn = null;
    this.waiting = false;
    const loop = this.loop;
    if (loop && !loop.ended) {
      this.finish(loop.result('lost', `the connection to the relay was lost (${reason})`));
    } else if (!loop) {
      this.post({ type: 'closed', reason });
    }
  }

  private start(start: MatchStart): void {
    const { pyodide, env } = this.loaded!;
    const s = start.settings;
    this.waiting = false;
    if (s.sim !== env.sim) {
      this.post({
        type: 'error',
        message: `Scene "${s.name}" runs "${s.sim}", but this page loaded "${env.sim}".`,
        fatal: true,
      });
      this.conn?.close();
      return;
    }
    let py: PythonSim;
    try {
      py = createPythonSim(pyodide, {
        source: env.source,
        ...(env.className !== null ? { className: env.className } : {}),
        players: s.players,
        seed: start.seed,
        id: s.sim,
      });
    } catch (err) {
      this.post({
        type: 'error',
        message: `The environment did not load: ${messageOf(err)}`,
        fatal: true,
      });
      this.conn?.close();
      return;
    }
    const capture = sessionSim(py, s.frames);
    const conn = this.conn!;
    const match = new MatchClient(conn, start, {}, capture.sim);
    const loop = new PythonMatchLoop(match, conn, py, capture, (m) => this.post(m));
    loop.hidden = this.hidden;
    this.loop = loop;
    this.post({ type: 'start', matchId: start.matchId, slot: start.slot, settings: s });
    this.timer = setInterval(() => this.pass(), loop.passMs);
  }

  private pass(): void {
    const loop = this.loop;
    if (!loop || loop.ended) return;
    try {
      loop.pass(now());
    } catch (err) {
      this.fail(err);
      return;
    }
    if (loop.ended) this.finish(loop.ended);
  }

  /** Stops the match on an error, which is a bug: say so rather than play on from a bad state. */
  private fail(err: unknown): void {
    const loop = this.loop;
    this.post({ type: 'error', message: `The match stopped: ${messageOf(err)}`, fatal: true });
    if (!loop || loop.ended) return;
    let result: PythonMatchResult;
    try {
      result = loop.result('error', 'the worker hit an error');
    } catch {
      const m = loop.match;
      result = {
        matchId: m.matchId,
        slot: m.slot,
        frame: m.peer.session.frame,
        confirmed: false,
        kind: 'error',
        reason: 'the worker hit an error',
        score: null,
      };
    }
    this.finish(result);
  }

  private finish(result: PythonMatchResult): void {
    const loop = this.loop!;
    loop.ended = result;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.post({ type: 'end', result });
    // At the frame limit the relay ends the match once every player reported; leave then.
    const conn = this.conn;
    if (!conn) return;
    if (result.kind !== 'frame-limit' || loop.match.endReason !== null) conn.close();
    else setTimeout(() => conn.close(), END_GRACE_MS);
  }
}

// Runs only as a worker (a page has `document`; Node has no `WorkerGlobalScope`).
const scope = globalThis as unknown as Partial<WorkerScope> & { document?: unknown };
if (
  typeof scope.postMessage === 'function' &&
  scope.document === undefined &&
  'onmessage' in scope
) {
  const worker = new PythonWorker(scope as WorkerScope);
  scope.onmessage = (e) => worker.onPageMessage(e.data);
}
