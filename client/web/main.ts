/**
 * The browser page that plays a scene through the relay it was served by: join a scene's queue
 * (`?scene=`, default `duel`; `?participant=` the experiment's id for this person), wait while
 * the room fills, count down, play, show the result and the match id. `?renderer=canvas|webgl`
 * forces a renderer; `?autojoin=0` waits for the Join button instead of joining on load.
 *
 * Which page runs depends on the scene: when the relay serves a Python environment for it
 * (`GET /sims/<scene>` answers 200) the Python page (`python-page.ts`, the match in a Web Worker
 * that hosts Pyodide); when it answers 404, the duel page below.
 */
import type { ServerMessage } from '../../protocol/index.ts';
import { duel, duelView, initStateHash } from '../../sim/index.ts';
import { MatchClient, type MatchStart } from '../match-client.ts';
import { RelayConnection } from '../transport/relay-connection.ts';
import { BackgroundTimer } from './background-timer.ts';
import { captureConfirmedState } from './confirmed-capture.ts';
import { createDuelGame, type DuelGame, type RendererChoice } from './duel-view.ts';
import { DuelInputCapture } from './input.ts';
import { type LoopEnd, MatchLoop } from './match-loop.ts';
import { StatsOverlay } from './overlay.ts';
import { type ConcordHook, idleStats, type PagePhase, type PageStats } from './page-stats.ts';
import { PythonPage } from './python-page.ts';
import { duelResult, type MatchResult } from './result.ts';
import { PageScreens } from './ui.ts';

/** How long "GO!" stays up after the countdown, in ms. */
const GO_MS = 600;
/** After this page finished at the frame limit, how long to wait for the relay's `end`, in ms. */
const END_GRACE_MS = 30_000;

const now = (): number => performance.now(); // clock-ok: drives the loop and probes, never the sim
const isHidden = (): boolean => document.visibilityState === 'hidden';

interface Running {
  readonly match: MatchClient<Int32Array>;
  readonly loop: MatchLoop;
  readonly view: DuelGame;
  readonly input: DuelInputCapture;
  /** The newest confirmed frame whose hash the session recorded. */
  lastHashedFrame: number | null;
}

/** The page's state machine: idle → waiting → countdown → playing → ended. */
class DuelPage {
  private phase: PagePhase = 'idle';
  private conn: RelayConnection | null = null;
  private running: Running | null = null;
  private result: MatchResult | null = null;
  private readonly timer = new BackgroundTimer();
  private readonly screens = new PageScreens();
  private readonly overlay = new StatsOverlay(this.screens.overlay);
  private readonly hashReady = initStateHash();

  constructor(
    private readonly scene: string,
    private readonly participantId: string | null,
    private readonly renderer: RendererChoice,
  ) {
    this.overlay.bindKeys(window);
    document.addEventListener('visibilitychange', () => this.onVisibility());
  }

  /** The hook's view of the page (see `ConcordHook`). */
  hook() {
    return {
      phase: (): PagePhase => this.phase,
      stats: (): PageStats => this.stats(),
      hashAt: (frame: number): string | null =>
        this.running?.match.peer.session.hashAt(frame) ?? null,
      result: (): MatchResult | null => this.result,
    };
  }

  showJoin(): void {
    this.phase = 'idle';
    this.screens.showJoin(this.scene, () => void this.join());
  }

  /** Connects (once) and asks the relay for a seat in the scene. */
  async join(): Promise<void> {
    this.screens.setError(null);
    this.phase = 'waiting';
    try {
      if (!this.conn?.connected) {
        this.screens.showConnecting();
        this.conn = await this.connect();
      }
      await this.hashReady;
    } catch (err) {
      this.screens.setError(String(err instanceof Error ? err.message : err));
      this.showJoin();
      return;
    }
    this.screens.showWaiting(0, 0, () => this.cancel());
    this.conn.send({ kind: 'join', scene: this.scene, participantId: this.participantId });
  }

  private cancel(): void {
    if (this.phase !== 'waiting') return;
    this.conn?.send({ kind: 'cancel' });
    this.showJoin();
  }

  private async connect(): Promise<RelayConnection> {
    const conn = await RelayConnection.connect(location.origin);
    conn.onMessage((m) => this.onMessage(m));
    conn.onClose((reason) => this.onClose(conn, reason));
    return conn;
  }

  private onMessage(m: ServerMessage): void {
    switch (m.kind) {
      case 'waiting':
        if (this.phase === 'waiting')
          this.screens.showWaiting(m.waiting, m.players, () => this.cancel());
        return;
      case 'start':
        if (this.phase === 'waiting') this.start(m);
        return;
      case 'error':
        this.screens.setError(
          `The relay refused ${m.refused ?? 'a message'}: ${m.message} (${m.code})`,
        );
        if (this.phase === 'waiting' && m.refused === 'join') this.showJoin();
        return;
      case 'end':
        this.running?.match.handle(m, now());
        if (this.phase === 'ended') this.conn?.close();
        return;
      default:
        if (!this.running || this.phase === 'ended') return;
        try {
          this.running.match.handle(m, now());
        } catch (err) {
          this.fail(err);
        }
    }
  }

  /** Stops the match on an error, which is a bug: say so rather than play on from a bad state. */
  private fail(err: unknown): void {
    this.screens.setError(`The match stopped: ${err instanceof Error ? err.message : String(err)}`);
    this.finish({ kind: 'error', reason: 'the page hit an error', ...this.latest() });
  }

  private onClose(conn: RelayConnection, reason: string): void {
    if (conn !== this.conn) return;
    this.conn = null;
    if (this.phase === 'ended') return;
    this.screens.setError(`Lost the connection to the relay (${reason}).`);
    if (this.running)
      this.finish({
        kind: 'lost',
        reason: 'the connection to the relay was lost',
        ...this.latest(),
      });
    else this.showJoin();
  }

  private start(start: MatchStart): void {
    const conn = this.conn!;
    const s = start.settings;
    if (s.sim !== duel.id) {
      this.screens.setError(`This page plays duel; scene "${s.name}" runs "${s.sim}".`);
      conn.close();
      this.conn = null;
      this.showJoin();
      return;
    }
    const capture = captureConfirmedState(
      duel.create({ players: s.players, seed: start.seed }),
      s.frames > 0 ? s.frames : -1,
      (snap) => duelView(snap).frame,
    );
    const match = new MatchClient(conn, start, {}, capture.sim);
    let loop: MatchLoop | null = null;
    const view = createDuelGame(
      this.screens.gameParent,
      () => loop?.drawState() ?? null,
      this.renderer,
    );
    const input = new DuelInputCapture(window, view.clientToWorld);
    loop = new MatchLoop(match, conn, capture, input);
    const running: Running = { match, loop, view, input, lastHashedFrame: null };
    match.peer.session.on((e) => {
      if (e.type === 'confirmedHash') running.lastHashedFrame = e.frame;
    });
    this.running = running;
    this.phase = 'countdown';
    this.screens.hidePanel();
    this.onVisibility();
    const frame = (): void => {
      if (this.phase === 'ended') return;
      if (!isHidden()) this.step(false);
      requestAnimationFrame(frame);
    };
    requestAnimationFrame(frame);
  }

  /** One pass of the loop, from the display (visible) or the worker timer (hidden). */
  private step(hidden: boolean): void {
    const r = this.running;
    if (!r || this.phase === 'ended') return;
    const t = now();
    try {
      r.loop.update(t, hidden);
    } catch (err) {
      this.fail(err);
      return;
    }
    this.phase = r.loop.inCountdown ? 'countdown' : 'playing';
    this.showCountdown(r.loop);
    this.overlay.update(() => this.stats(), t);
    if (r.loop.ended) this.finish(r.loop.ended);
  }

  private showCountdown(loop: MatchLoop): void {
    const left = loop.countdownFrames - loop.frame;
    const tickRate = this.running!.match.settings.tickRate;
    if (left > 0) {
      const step = loop.countdownFrames / 3;
      this.screens.setCountdown(String(Math.ceil(left / step)));
    } else if (-left < (GO_MS / 1000) * tickRate) {
      this.screens.setCountdown('GO!');
    } else {
      this.screens.setCountdown(null);
    }
  }

  private latest(): { view: LoopEnd['view']; confirmed: boolean } {
    return { view: this.running!.loop.view, confirmed: false };
  }

  private finish(end: LoopEnd): void {
    const r = this.running!;
    this.phase = 'ended';
    this.timer.stop();
    r.input.dispose();
    this.screens.setCountdown(null);
    this.result = duelResult(end.view, {
      matchId: r.match.matchId,
      slot: r.match.slot,
      confirmed: end.confirmed,
      reason: end.reason,
    });
    this.overlay.update(() => this.stats(), Number.POSITIVE_INFINITY);
    this.screens.showResult(this.result, () => location.reload());
    // At the frame limit the relay ends the match once every player reported; leave then.
    const conn = this.conn;
    if (!conn) return;
    if (end.kind !== 'frame-limit' || r.match.endReason !== null) conn.close();
    else setTimeout(() => conn.close(), END_GRACE_MS);
  }

  private onVisibility(): void {
    if (!this.running || this.phase === 'ended') return;
    if (isHidden()) {
      this.running.input.releaseAll();
      if (!this.timer.running) this.timer.start(() => this.step(true));
    } else {
      this.timer.stop();
    }
  }

  private stats(): PageStats {
    const r = this.running;
    if (!r) return idleStats(this.phase);
    return {
      ...r.match.peer.session.stats(),
      phase: this.phase,
      matchId: r.match.matchId,
      slot: r.match.slot,
      pingMs: r.match.relayRttMs,
      hashInterval: r.match.settings.hashInterval,
      lastHashedFrame: r.lastHashedFrame,
      desyncs: r.match.desyncs,
      agreedChecks: r.match.agreedChecks,
      hidden: isHidden(),
      hiddenTicks: r.loop.hiddenTicks,
      droppedMs: r.loop.droppedMs,
      renderer: r.view.renderer(),
      pyodideLoadMs: null,
      lastRollbackMs: null,
      maxRollbackMs: null,
      stepBatches: null,
    };
  }
}

function readRenderer(v: string | null): RendererChoice {
  return v === 'canvas' || v === 'webgl' ? v : 'auto';
}

/**
 * Whether the relay runs `scene` as a Python environment: `GET /sims/<scene>` answers 200 for a
 * Python scene and 404 for any other (or unknown) scene.
 * @throws Error naming the status when the relay answers anything else, or cannot be reached
 */
async function isPythonScene(scene: string): Promise<boolean> {
  const res = await fetch(`/sims/${encodeURIComponent(scene)}`);
  if (res.status === 200) return true;
  if (res.status === 404) return false;
  throw new Error(`the relay answered ${res.status} when asked about scene "${scene}"`);
}

/** The hook's shape before the page knows which kind of scene it plays. */
function hookOf(page: {
  hook(): Omit<ConcordHook, 'phase'> & { phase(): PagePhase };
}): ConcordHook {
  const h = page.hook();
  return {
    get phase() {
      return h.phase();
    },
    stats: h.stats,
    hashAt: h.hashAt,
    result: h.result,
    ...(h.workerHashAt ? { workerHashAt: h.workerHashAt } : {}),
  };
}

const params = new URLSearchParams(location.search);
const scene = params.get('scene') || 'duel';
const renderer = readRenderer(params.get('renderer'));
const participantId = params.get('participant') || null;
window.concord = {
  phase: 'idle',
  stats: () => idleStats('idle'),
  hashAt: () => null,
  result: () => null,
};
const screens = new PageScreens();
screens.setTitle(`Concord · ${scene}`);
isPythonScene(scene).then(
  (python) => {
    const page = python
      ? new PythonPage(scene, participantId, renderer)
      : new DuelPage(scene, participantId, renderer);
    window.concord = hookOf(page);
    if (params.get('autojoin') === '0') page.showJoin();
    else void page.join();
  },
  (err: unknown) => {
    screens.setError(
      `Cannot start: ${err instanceof Error ? err.message : String(err)}. Reload to try again.`,
    );
  },
);
