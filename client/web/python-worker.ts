/**
 * The dedicated Web Worker that plays a Python scene for the page: it hosts Pyodide and the
 * Python sim, and runs the match through the {@link MatchRunner} on the worker's own timers (join,
 * countdown, tick loop, end, rejoin), so that a rollback, which re-simulates several frames in
 * Python, never blocks the page's drawing or input. The page sends it the local input, visibility
 * and the seat it kept (a reload rejoins it: the worker has no `sessionStorage`); the worker sends
 * back the phase, the seat to keep, the draw primitives of the newest state, the stats, the
 * confirmed state hashes and the result.
 *
 * Started by `python-page.ts` as a module worker (`/python-worker.js`); Pyodide's loader is
 * imported at runtime from the relay's `/pyodide/pyodide.mjs` (the build rewrites the `pyodide`
 * import to it), never bundled and never from a CDN. Pyodide and the environment's source are
 * loaded when the worker starts, before the page joins a queue, so a match never waits for them.
 */
import type { SceneSettings } from '../../protocol/index.ts';
import {
  type EpisodeSettings,
  type EpisodeSnap,
  type EpisodicSim,
  episodicFactory,
  type Frame,
  type Input,
  initStateHash,
  type Sim,
  type SimFactory,
} from '../../sim/index.ts';
import {
  createPythonSim,
  type DrawPrimitive,
  loadConcordPyodide,
  type PythonSim,
  type PythonSnap,
} from '../../sim/python/index.ts';
import type { SessionStats } from '../../sim/sync/index.ts';
import type { MatchClient, MatchStart } from '../match-client.ts';
import {
  MatchRunner,
  type RunnerEnd,
  type RunnerEvent,
  type RunnerPhase,
  type Seat,
} from '../match-runner.ts';
import { RealClock } from '../net/index.ts';
import { fetchPythonEnv, type PythonEnvSource } from '../python-env.ts';
import { type ConfirmedCapture, captureConfirmedState } from './confirmed-capture.ts';
import { connectRelay } from './match-page.ts';

// ---------------------------------------------------------------------------------------------
// The page ↔ worker protocol

/** What the page sends the worker. */
export type PageToWorker =
  /** Sent once, first: the scene whose environment to load (`GET /sims/<scene>`). */
  | { readonly type: 'init'; readonly scene: string }
  /**
   * Join the scene's queue, or rejoin `seat` (the page kept it in `sessionStorage`: a reload),
   * once Pyodide and the environment are loaded.
   */
  | {
      readonly type: 'join';
      readonly participantId: string | null;
      readonly seat: Seat | null;
      /** socket.io handshake auth of the worker's connections (a study's token), or null. */
      readonly auth: Readonly<Record<string, string>> | null;
      /**
       * The match's episodes (a study's game scene): with more than one, the sim is wrapped in
       * the episode wrapper (`episodicFactory`), as every other peer of the match does; null: one.
       */
      readonly episodes: EpisodeSettings | null;
      /**
       * A study's game scene: the input of its default action (what the sim's `defaultInput`
       * gives: the countdown, a hidden tab), and the match plays on alone until the relay ends
       * it. Null: the sim's own default, and the match ends when every other player left.
       */
      readonly study: { readonly defaultInput: Input } | null;
    }
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
  /** Times this worker got its seat back after a dropped connection. */
  readonly rejoins: number;
  /** Slots of the other players who are away now, ascending. */
  readonly away: readonly number[];
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
  /** How it ended; see {@link RunnerEnd} (`lost`: the seat could not be rejoined in time). */
  readonly kind: RunnerEnd['kind'];
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
  /**
   * Loading progress: `done` of `total` steps (the environment's source, Pyodide, its packages
   * when it needs any), `text` the step under way. Sent at the start and after each step.
   */
  | {
      readonly type: 'progress';
      readonly done: number;
      readonly total: number;
      readonly text: string;
    }
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
  /** The runner's phase changed. */
  | { readonly type: 'phase'; readonly phase: RunnerPhase }
  /** The seat to keep in `sessionStorage` while the match runs (null: forget it, it ended). */
  | { readonly type: 'seat'; readonly seat: Seat | null }
  /** The relay's queue count (`waiting` of `players`). */
  | { readonly type: 'waiting'; readonly waiting: number; readonly players: number }
  /** The match started, or (`rejoin`) this worker got its seat back. */
  | {
      readonly type: 'start';
      readonly matchId: string;
      readonly slot: number;
      readonly settings: SceneSettings;
      readonly rejoin: boolean;
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
   * match stopped on an error); otherwise the page shows it and carries on (e.g. a refused join,
   * or a connection lost before the match).
   * `refused`: the kind of message the relay refused, when it was the relay.
   */
  | {
      readonly type: 'error';
      readonly message: string;
      readonly fatal: boolean;
      readonly refused?: string;
    };

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
// The worker

/** A stats message at least this often while the match runs, in ms. */
const STATS_EVERY_MS = 250;
/** How long "GO!" stays up after the countdown, in ms. */
const GO_MS = 600;

const now = (): number => performance.now(); // clock-ok: measures Python calls, never the sim

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

/** What the worker measures of the Python match, for the page's overlay. */
interface Costs {
  lastHashedFrame: Frame | null;
  hiddenTicks: number;
  lastRollbackMs: number;
  maxRollbackMs: number;
  rollbackTicks: number;
  rollbackMsTotal: number;
  maxTickMs: number;
  renderMs: number;
}

/**
 * The worker, a host of the {@link MatchRunner}: it loads Pyodide and the environment, makes the
 * Python sim for each match client (again after a rejoin), turns the page's key samples into one
 * input per tick, renders the newest state after each pass that changed it, and posts the
 * runner's phase, seat, stats and result to the page.
 */
class PythonWorker {
  private scene: string | null = null;
  private loaded: Loaded | null = null;
  private loadFailed = false;
  private joinRequest: {
    participantId: string | null;
    seat: Seat | null;
    auth: Readonly<Record<string, string>> | null;
    episodes: EpisodeSettings | null;
    study: { readonly defaultInput: Input } | null;
  } | null = null;
  /** A study's game scene: see `PageToWorker` `join`. */
  private study: { readonly defaultInput: Input } | null = null;
  /** The match's episodes, from the first join. */
  private episodes: EpisodeSettings | null = null;
  /** The episodic wrapper around the Python sim, when the match has episodes. */
  private episodic: EpisodicSim<PythonSnap> | null = null;
  private runner: MatchRunner<PythonSnap> | null = null;
  private py: PythonSim | null = null;
  private capture: ConfirmedCapture<PythonSnap> | null = null;
  private readonly input = new InputMixer();
  private hidden = false;
  private lastPostMs = Number.NEGATIVE_INFINITY;
  private readonly costs: Costs = {
    lastHashedFrame: null,
    hiddenTicks: 0,
    lastRollbackMs: 0,
    maxRollbackMs: 0,
    rollbackTicks: 0,
    rollbackMsTotal: 0,
    maxTickMs: 0,
    renderMs: 0,
  };

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
        this.joinRequest = {
          participantId: m.participantId,
          seat: m.seat,
          auth: m.auth,
          episodes: m.episodes,
          study: m.study,
        };
        this.joinWhenReady();
        return;
      case 'cancel':
        this.joinRequest = null;
        this.runner?.cancel();
        return;
      case 'input':
        this.input.receive(m.buttons);
        return;
      case 'visibility':
        this.hidden = m.hidden;
        if (m.hidden) this.input.clear();
        return;
      case 'hashAt':
        this.post({
          type: 'hashAt',
          id: m.id,
          frame: m.frame,
          hash: this.runner?.match?.hashAt(m.frame) ?? null,
        });
        return;
    }
  }

  /** Loads Pyodide, the environment's source and its packages, all at once. */
  private async load(scene: string): Promise<void> {
    this.post({ type: 'status', text: 'Loading Python…' });
    // Steps: the source, Pyodide, then the packages once the source says whether there are any.
    let done = 0;
    let total = 2;
    const step = (text: string): void => this.post({ type: 'progress', done, total, text });
    step('Loading Python…');
    try {
      const origin = this.scope.location.origin;
      const t0 = now();
      const envPromise = fetchPythonEnv(origin, scene).then((env) => {
        done++;
        if (env.packages.length > 0) total++;
        step('Loading Python…');
        return { env, ms: now() - t0 };
      });
      const pyodidePromise = loadConcordPyodide({
        indexURL: `${origin}/pyodide/`,
      }).then((pyodide) => {
        done++;
        step('Loading Python…');
        return { pyodide, ms: now() - t0 };
      });
      const [{ env, ms: envFetchMs }, { pyodide, ms: pyodideLoadMs }] = await Promise.all([
        envPromise,
        pyodidePromise,
        initStateHash(),
      ]);
      if (env.packages.length > 0) {
        this.post({ type: 'status', text: `Loading ${env.packages.join(', ')}…` });
        step(`Loading ${env.packages.join(', ')}…`);
        try {
          await pyodide.loadPackage([...env.packages]);
          done++;
          step('Python is ready');
        } catch (err) {
          throw new Error(
            `scene "${scene}" needs the Pyodide packages ${env.packages.join(', ')}, which did not load: ${messageOf(err)}`,
          );
        }
      }
      this.loaded = { pyodide, env };
      this.post({ type: 'ready', pyodideLoadMs, envFetchMs, sim: env.sim, codeHash: env.codeHash });
      this.joinWhenReady();
    } catch (err) {
      this.loadFailed = true;
      this.post({
        type: 'error',
        message: `Could not load the Python environment: ${messageOf(err)}`,
        fatal: true,
      });
    }
  }

  private joinWhenReady(): void {
    const request = this.joinRequest;
    if (!request || !this.loaded || this.loadFailed || this.scene === null) return;
    this.joinRequest = null;
    if (!this.runner) {
      this.episodes = request.episodes;
      this.study = request.study;
      this.post({ type: 'status', text: 'Connecting to the relay…' });
      const runner = new MatchRunner<PythonSnap>({
        connect: () => connectRelay(this.scope.location.origin, request.auth ?? undefined),
        scheduler: new RealClock(),
        scene: this.scene,
        participantId: request.seat?.participantId ?? request.participantId,
        seat: request.seat,
        createSim: (start) => this.createSim(start),
        input: () => (this.hidden ? null : { buttons: this.input.next(), x: 0, y: 0 }),
        // In a study the relay decides when a match ends (see duel-page.ts).
        playAlone: request.study !== null,
      });
      runner.on((e) => this.onRunner(runner, e));
      this.runner = runner;
    }
    this.runner.join();
  }

  /**
   * The Python sim for a match client, in the episode wrapper when the match has episodes; the
   * previous one (before a rejoin) is let go.
   */
  private createSim(start: MatchStart): Sim<PythonSnap> {
    const { pyodide, env } = this.loaded!;
    const s = start.settings;
    if (s.sim !== env.sim) {
      throw new Error(`scene "${s.name}" runs "${s.sim}", but this page loaded "${env.sim}"`);
    }
    // As pythonSimFactory makes it for the bots and the relay: the same options, the same sim.
    const factory: SimFactory<PythonSnap> = {
      id: s.sim,
      minPlayers: 1,
      maxPlayers: s.players,
      create: (config) =>
        createPythonSim(pyodide, {
          source: env.source,
          ...(env.className !== null ? { className: env.className } : {}),
          players: config.players,
          seed: config.seed,
          id: s.sim,
        }),
    };
    this.episodic?.dispose();
    this.py?.dispose();
    this.episodic = null;
    this.py = null;
    const limit = s.frames > 0 ? Math.ceil(s.frames / s.hashInterval) * s.hashInterval : 0;
    const ep = this.episodes;
    if (ep !== null && ep.episodes > 1) {
      const episodic = episodicFactory(factory, ep).create({
        players: s.players,
        seed: start.seed,
      });
      this.episodic = episodic;
      const capture = captureConfirmedState(episodic, limit > 0 ? limit : -1, (x) => x.frame);
      this.capture = capture as unknown as ConfirmedCapture<PythonSnap>;
      return this.withStudyDefault(capture.sim as unknown as Sim<PythonSnap>);
    }
    const py = factory.create({ players: s.players, seed: start.seed }) as PythonSim;
    this.py = py;
    this.capture = sessionSim(py, limit);
    return this.withStudyDefault(this.capture.sim);
  }

  /** `sim` with a study scene's default action as its `defaultInput` (unchanged otherwise). */
  private withStudyDefault(sim: Sim<PythonSnap>): Sim<PythonSnap> {
    const study = this.study;
    if (!study) return sim;
    return Object.assign(sim, { defaultInput: () => study.defaultInput });
  }

  /** The Python sim of the current state (the episode's, in an episodic match). */
  private currentPy(): PythonSim | null {
    return this.episodic ? (this.episodic.inner as PythonSim) : this.py;
  }

  private onRunner(runner: MatchRunner<PythonSnap>, e: RunnerEvent<PythonSnap>): void {
    switch (e.type) {
      case 'phase':
        this.post({ type: 'phase', phase: e.phase });
        return;
      case 'queue':
        this.post({ type: 'waiting', waiting: e.waiting, players: e.players });
        return;
      case 'match':
        this.onMatch(runner, e.match, e.rejoin);
        return;
      case 'tick': {
        const c = this.costs;
        if (this.hidden) c.hiddenTicks++;
        c.maxTickMs = Math.max(c.maxTickMs, e.durationMs);
        if (e.result.requests.some((r) => r.kind === 'load')) {
          c.lastRollbackMs = e.durationMs;
          c.rollbackTicks++;
          c.rollbackMsTotal += e.durationMs;
          c.maxRollbackMs = Math.max(c.maxRollbackMs, e.durationMs);
        }
        return;
      }
      case 'pass':
        if (e.changed || e.nowMs - this.lastPostMs >= STATS_EVERY_MS) {
          this.lastPostMs = e.nowMs;
          this.postFrame(runner, e.changed);
        }
        return;
      case 'error':
        this.post({
          type: 'error',
          message: e.refused
            ? `The relay refused ${e.refused}: ${e.message}`
            : `The relay: ${e.message}`,
          fatal: false,
          ...(e.refused ? { refused: e.refused } : {}),
        });
        return;
      case 'ended':
        this.post({ type: 'seat', seat: null });
        if (e.end.kind === 'error') {
          const detail = e.end.detail ? `: ${e.end.detail}` : '';
          this.post({
            type: 'error',
            message: `The match stopped: ${e.end.reason}${detail}`,
            fatal: true,
          });
        }
        this.post({ type: 'end', result: this.result(runner, e.end) });
        return;
      default:
        return;
    }
  }

  private onMatch(
    runner: MatchRunner<PythonSnap>,
    match: MatchClient<PythonSnap>,
    rejoin: boolean,
  ): void {
    match.peer.session.on((e) => {
      if (e.type !== 'confirmedHash') return;
      this.costs.lastHashedFrame = e.frame;
      this.post({ type: 'hash', frame: e.frame, hash: e.hash });
    });
    this.post({ type: 'seat', seat: runner.seat });
    this.post({
      type: 'start',
      matchId: match.matchId,
      slot: match.slot,
      settings: match.settings,
      rejoin,
    });
  }

  /** The newest frame, its countdown text, the draw primitives when it changed, and the stats. */
  private postFrame(runner: MatchRunner<PythonSnap>, changed: boolean): void {
    const match = runner.match;
    const py = this.currentPy();
    if (!match || !py) return;
    let primitives: DrawPrimitive[] | null = null;
    if (changed && py.hasRender) {
      const t0 = now();
      primitives = py.render();
      this.costs.renderMs = now() - t0;
    }
    const f = match.frame;
    this.post({
      type: 'frame',
      frame: f,
      inCountdown: f < runner.countdownFrames,
      countdown: countdownText(runner.countdownFrames, f, match.settings.tickRate),
      primitives,
      stats: this.stats(runner, match),
    });
  }

  private stats(runner: MatchRunner<PythonSnap>, m: MatchClient<PythonSnap>): WorkerMatchStats {
    const c = this.costs;
    return {
      ...m.peer.session.stats(),
      // Authoritative: the predicted frame, and the host's last state as the confirmed one.
      ...(m.authoritative
        ? { frame: m.frame, confirmedFrame: m.authoritative.session.lastHostFrame }
        : {}),
      matchId: m.matchId,
      slot: m.slot,
      pingMs: m.relayRttMs,
      hashInterval: m.settings.hashInterval,
      lastHashedFrame: c.lastHashedFrame,
      desyncs: m.desyncs,
      agreedChecks: m.agreedChecks,
      rejoins: runner.rejoins,
      away: [...runner.away].sort((a, b) => a - b),
      hiddenTicks: c.hiddenTicks,
      droppedMs: runner.droppedMs,
      lastRollbackMs: c.lastRollbackMs,
      maxRollbackMs: c.maxRollbackMs,
      meanRollbackMs: c.rollbackTicks > 0 ? c.rollbackMsTotal / c.rollbackTicks : 0,
      maxTickMs: c.maxTickMs,
      renderMs: c.renderMs,
      steps: m.peer.runner.steps,
      stepBatches: m.peer.runner.batches,
    };
  }

  /** The result: from the confirmed state at the frame limit, else from the newest state. */
  private result(runner: MatchRunner<PythonSnap>, end: RunnerEnd): PythonMatchResult {
    const m = runner.match;
    const confirmed = end.kind === 'frame-limit' ? (this.capture?.captured() ?? null) : null;
    let snap: PythonSnap | EpisodeSnap<PythonSnap> | null = confirmed;
    try {
      snap ??= this.episodic?.save() ?? this.py?.save() ?? null;
    } catch {
      snap = null; // the environment is what threw: no state to read
    }
    const frame = snap?.frame ?? m?.frame ?? 0;
    return {
      matchId: m?.matchId ?? '',
      slot: m?.slot ?? 0,
      frame,
      confirmed: confirmed !== null || (m !== null && m.peer.session.confirmedFrame >= frame - 1),
      kind: end.kind,
      reason: end.reason,
      score: snap ? scoreOf('inner' in snap ? snap.inner : snap) : null,
    };
  }
}

/** The countdown's text at `frame`: "3", "2", "1", then "GO!" for a moment, then null. */
function countdownText(countdownFrames: Frame, frame: Frame, tickRate: number): string | null {
  const left = countdownFrames - frame;
  if (left > 0) return String(Math.ceil(left / (countdownFrames / 3)));
  if (countdownFrames > 0 && -left < (GO_MS / 1000) * tickRate) return 'GO!';
  return null;
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
