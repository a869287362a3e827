/**
 * The duel page: a host of the {@link MatchRunner} that plays a relay scene running duel. The
 * demo page at `/play` (`main.ts`) shows it with its own Join, Cancel and "Play again" buttons;
 * the study page (`study-page.ts`) hosts it in a game scene ({@link MatchPageHost}).
 *
 * While a match runs the page keeps its seat in `sessionStorage` (`seat-storage.ts`); a reload
 * within the scene's grace period rejoins that seat instead of joining a queue.
 */
import { DUEL_BUTTONS } from '../../sim/duel/index.ts';
import {
  type DuelView,
  duel,
  duelView,
  type EpisodeSettings,
  type EpisodeSnap,
  episodicFactory,
  type Input,
  initStateHash,
  type Sim,
} from '../../sim/index.ts';
import type { MatchClient } from '../match-client.ts';
import { MatchRunner, type RunnerEnd, type RunnerEvent } from '../match-runner.ts';
import { PeerDataChannel } from '../transport/datachannel.ts';
import { DatagramTransport } from '../transport/datagram-transport.ts';
import { CorrectionSmoother, interpolateOthers } from './authoritative-view.ts';
import { BackgroundTimer } from './background-timer.ts';
import { type ConfirmedCapture, captureConfirmedState } from './confirmed-capture.ts';
import { createDuelGame, type DuelGame } from './duel-view.ts';
import { DuelInputCapture } from './input.ts';
import {
  connectRelay,
  type MatchPage,
  type MatchPageHost,
  type MatchPageOptions,
} from './match-page.ts';
import { StatsOverlay } from './overlay.ts';
import { PageClock } from './page-clock.ts';
import {
  idleStats,
  type PagePhase,
  type PageStats,
  pagePhaseOf,
  presenceNotice,
} from './page-stats.ts';
import { duelResult, type MatchResult } from './result.ts';
import { saveSeat } from './seat-storage.ts';
import { PageScreens } from './ui.ts';

/** The duel's movement buttons (up, down, left, right). */
const MOVE_BUTTONS = DUEL_BUTTONS.up | DUEL_BUTTONS.down | DUEL_BUTTONS.left | DUEL_BUTTONS.right;

/** How long "GO!" stays up after the countdown, in ms. */
const GO_MS = 600;
/** A hosted page that lost its connection while queued joins again after this long, in ms. */
const RETRY_JOIN_MS = 1000;

const now = (): number => performance.now(); // clock-ok: the overlay's redraw pacing
const isHidden = (): boolean => document.visibilityState === 'hidden';

/** A duel state: the sim's own, or the episode wrapper's around it (a match with episodes). */
type DuelSnap = Int32Array | EpisodeSnap<Int32Array>;

/** The duel state inside `snap` (the current episode's, in an episodic match). */
const innerSnap = (snap: DuelSnap): Int32Array => (snap instanceof Int32Array ? snap : snap.inner);

/** The game on screen: the view, the input capture, and the states it draws between. */
interface Game {
  readonly view: DuelGame;
  readonly input: DuelInputCapture;
  scratch: Int32Array;
  prev: DuelView;
  cur: DuelView;
  /** Authoritative mode: the local player's correction being smoothed away. */
  readonly correction: CorrectionSmoother;
}

/**
 * The duel page, a host of the {@link MatchRunner}: it captures the keyboard and mouse, draws the
 * states the runner's ticks produce, and shows the runner's phase (join, waiting, countdown,
 * reconnecting, result). It keeps the seat in `sessionStorage` while the match runs, so that a
 * reload rejoins it.
 */
export class DuelPage implements MatchPage {
  private readonly runner: MatchRunner<DuelSnap>;
  private readonly clock = new PageClock();
  private readonly timer = new BackgroundTimer();
  private readonly screens = new PageScreens();
  private readonly overlay = new StatsOverlay(this.screens.overlay);
  private readonly hashReady = initStateHash();
  private game: Game | null = null;
  private capture: ConfirmedCapture<DuelSnap> | null = null;
  private result: MatchResult | null = null;
  private hiddenTicks = 0;
  /** The current connection to the relay. */
  private transport: DatagramTransport | null = null;
  /** The newest confirmed frame whose hash the session recorded. */
  private lastHashedFrame: number | null = null;
  /** The first frame after the countdown whose local input moved, and whose state showed it. */
  private pressedFrame: number | null = null;
  private movedFrame: number | null = null;
  /** A second duel sim: the uncorrected prediction, to measure a reconciliation's correction. */
  private shadow: ReturnType<typeof duel.create> | null = null;
  private readonly scene: string;
  private readonly renderer: MatchPageOptions['renderer'];
  private readonly host: MatchPageHost | null;
  private readonly episodes: EpisodeSettings | null;
  private disposed = false;
  /** Undoes every listener the page added to the window and the document. */
  private readonly detach: (() => void)[] = [];

  /** Makes the page and starts its display loop; {@link join} joins. */
  constructor(options: MatchPageOptions) {
    const { scene, participantId, seat, auth } = options;
    this.scene = scene;
    this.renderer = options.renderer;
    this.host = options.host ?? null;
    this.episodes = options.episodes ?? null;
    this.runner = new MatchRunner<DuelSnap>({
      connect: async () => {
        // Inputs take a DataChannel to the relay when the scene allows and it opens.
        this.transport = new DatagramTransport(await connectRelay(location.origin, auth), {
          clock: this.clock,
          createChannel: () => PeerDataChannel.create(),
        });
        return this.transport;
      },
      scheduler: this.clock,
      scene,
      participantId: seat?.participantId ?? participantId,
      seat,
      createSim: (start) => {
        const s = start.settings;
        if (s.sim !== duel.id) {
          throw new Error(`this page plays duel; scene "${s.name}" runs "${s.sim}"`);
        }
        const limit = s.frames > 0 ? Math.ceil(s.frames / s.hashInterval) * s.hashInterval : -1;
        const ep = this.episodes;
        const sim: Sim<DuelSnap> =
          ep && ep.episodes > 1
            ? episodicFactory(duel, ep).create({ players: s.players, seed: start.seed })
            : duel.create({ players: s.players, seed: start.seed });
        this.capture = captureConfirmedState(sim, limit, (snap) =>
          snap instanceof Int32Array ? duelView(snap).frame : snap.frame,
        );
        return this.capture.sim;
      },
      input: () => this.sampleInput(),
      // In a study the relay decides when a match ends (a lost partner may be replaced by a bot,
      // or the match go on without them): the page plays on alone until it says so.
      playAlone: this.host !== null,
    });
    this.runner.on((e) => this.onRunner(e));
    this.detach.push(this.overlay.bindKeys(window));
    const onVisibility = (): void => this.onVisibility();
    document.addEventListener('visibilitychange', onVisibility);
    this.detach.push(() => document.removeEventListener('visibilitychange', onVisibility));
    this.onVisibility();
    const frame = (): void => {
      if (this.disposed) return;
      if (!isHidden()) this.pump();
      requestAnimationFrame(frame);
    };
    requestAnimationFrame(frame);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.runner.leave('the study moved on');
    saveSeat(sessionStorage, null);
    this.timer.stop();
    for (const undo of this.detach.splice(0)) undo();
    this.game?.input.dispose();
    this.game?.view.game.destroy(true);
    this.game = null;
    this.screens.setCountdown(null);
    this.screens.setNotice(null);
  }

  /** True when the match has more than one episode (its states are the episode wrapper's). */
  private get episodic(): boolean {
    return (this.episodes?.episodes ?? 1) > 1;
  }

  /** The page is rejoining a seat it kept (a reload): it does not wait for the Join button. */
  get rejoining(): boolean {
    return this.runner.seat !== null;
  }

  /** The hook's view of the page (see `ConcordHook`). */
  hook() {
    return {
      phase: (): PagePhase => this.phase,
      stats: (): PageStats => this.stats(),
      hashAt: (frame: number): string | null => this.runner.match?.hashAt(frame) ?? null,
      result: (): MatchResult | null => this.result,
      movement: () => ({ pressedFrame: this.pressedFrame, movedFrame: this.movedFrame }),
    };
  }

  private get phase(): PagePhase {
    return pagePhaseOf(this.runner.phase);
  }

  showJoin(): void {
    if (this.host) this.host.queue(0, 0);
    else this.screens.showJoin(this.scene, () => void this.join());
  }

  /** Joins the scene's queue, or rejoins the seat the page kept. */
  async join(): Promise<void> {
    if (this.disposed) return;
    this.screens.setError(null);
    await this.hashReady;
    this.runner.join();
  }

  /** One pass of the page: the runner's due work, then the countdown, notice and overlay. */
  private pump(): void {
    if (this.disposed) return;
    this.clock.pump();
    this.showCountdown();
    const away = [...this.runner.away].sort((a, b) => a - b);
    this.screens.setNotice(
      presenceNotice(this.phase, away, this.runner.match?.settings.players ?? 0),
    );
    this.overlay.update(() => this.stats(), now());
  }

  private onRunner(e: RunnerEvent<DuelSnap>): void {
    switch (e.type) {
      case 'phase':
        this.onPhase();
        return;
      case 'queue':
        if (this.runner.phase !== 'waiting') return;
        if (this.host) this.host.queue(e.waiting, e.players);
        else this.screens.showWaiting(e.waiting, e.players, () => this.runner.cancel());
        return;
      case 'match':
        this.onMatch(e.match);
        return;
      case 'tick': {
        const g = this.game;
        const m = this.runner.match;
        if (isHidden()) this.hiddenTicks++;
        if (g && m && e.changed) {
          const before = g.cur;
          g.prev = g.cur;
          if (m.authoritative) this.measureCorrection(g, e.result.requests);
          g.cur = duelView(this.drawnState(m, g));
          this.noteMovement(before, g.cur, m.slot);
          if (m.authoritative) {
            g.correction.decay();
            const at = m.authoritative.interpolation(this.clock.now());
            if (at) {
              const from = duelView(innerSnap(m.sim.decode(at.from.bytes)));
              const to = duelView(innerSnap(m.sim.decode(at.to.bytes)));
              g.cur = interpolateOthers(g.cur, from, to, at.alpha, m.slot);
            }
          }
        }
        return;
      }
      case 'error':
        // A refused message within a match (a hash check a rejoined peer guessed, say) is for
        // the developer's console; what the participant must know is a refused join or rejoin.
        if (e.refused === null || e.refused === 'join' || e.refused === 'rejoin') {
          this.screens.setError(
            e.refused ? `The relay refused ${e.refused}: ${e.message}` : e.message,
          );
        } else console.warn(`concord: the relay refused ${e.refused}: ${e.message}`);
        return;
      case 'ended':
        saveSeat(sessionStorage, null);
        this.finish(e.end);
        return;
      default:
        return;
    }
  }

  private onPhase(): void {
    if (this.disposed) return;
    const host = this.host;
    switch (this.runner.phase) {
      case 'idle':
        // Hosted: back to idle means the connection was lost while queued; join again.
        if (host) setTimeout(() => void this.join(), RETRY_JOIN_MS);
        this.showJoin();
        return;
      case 'connecting':
        if (host) host.queue(0, 0);
        else this.screens.showConnecting();
        return;
      case 'waiting':
        if (host) host.queue(0, 0);
        else this.screens.showWaiting(0, 0, () => this.runner.cancel());
        return;
      case 'reconnecting':
        host?.playing();
        // A reloaded page has no game on screen yet: say it in the panel.
        if (!this.game) this.screens.showMessage('Reconnecting…');
        this.game?.input.releaseAll();
        return;
      case 'countdown':
      case 'playing':
        host?.playing();
        this.screens.hidePanel();
        return;
      default:
        return;
    }
  }

  /** A new match client (the start, or a rejoin): the game on screen follows its sim. */
  private onMatch(match: MatchClient<DuelSnap>): void {
    saveSeat(sessionStorage, this.runner.seat);
    match.peer.session.on((e) => {
      if (e.type === 'confirmedHash') this.lastHashedFrame = e.frame;
    });
    const scratch = innerSnap(match.peer.runner.sim.save()).slice();
    const cur = duelView(scratch);
    if (this.game) {
      Object.assign(this.game, { scratch, prev: cur, cur });
      this.game.correction.x = 0;
      this.game.correction.y = 0;
      return;
    }
    let game: Game | null = null;
    const view = createDuelGame(
      this.screens.gameParent,
      () => {
        const m = this.runner.match;
        if (!game || !m) return null;
        return {
          prev: game.prev,
          cur: game.cur,
          alpha: this.runner.alpha,
          localSlot: m.slot,
          tickRate: m.settings.tickRate,
          // Frames count from each episode's start in an episodic match.
          frameLimit: this.episodic ? (this.episodes?.framesPerEpisode ?? 0) : m.settings.frames,
          localOffset: m.authoritative ? game.correction : undefined,
        };
      },
      this.renderer,
    );
    const input = new DuelInputCapture(window, view.clientToWorld);
    game = { view, input, scratch, prev: cur, cur, correction: new CorrectionSmoother() };
    this.game = game;
  }

  /** The duel state the match's sim holds now (the current episode's in an episodic match). */
  private drawnState(m: MatchClient<DuelSnap>, g: Game): Int32Array {
    return innerSnap(this.episodic ? m.sim.save() : m.sim.save(g.scratch as DuelSnap));
  }

  /**
   * Authoritative mode, a tick that reconciled: where the local player would be without the
   * host's state (the last drawn state stepped with the same inputs, on a second sim) minus where
   * it is, goes to the correction smoother.
   */
  private measureCorrection(g: Game, requests: readonly { kind: string }[]): void {
    if (!requests.some((r) => r.kind === 'restore')) return;
    const last = requests.at(-1) as { kind: string; inputs?: readonly Input[] } | undefined;
    const m = this.runner.match;
    if (!m || last?.kind !== 'advance' || !last.inputs) return;
    this.shadow ??= duel.create({ players: m.settings.players, seed: 0 });
    this.shadow.load(g.scratch);
    this.shadow.step(last.inputs);
    const predicted = duelView(this.shadow.save())?.players[m.slot];
    const corrected = duelView(this.drawnState(m, g)).players[m.slot];
    if (predicted && corrected && predicted.alive && corrected.alive) {
      g.correction.correct(predicted.x - corrected.x, predicted.y - corrected.y);
    }
  }

  /** Notes when the local player first moved after the countdown, for the page's hook. */
  private noteMovement(before: DuelView, after: DuelView, slot: number): void {
    if (this.pressedFrame === null || this.movedFrame !== null) return;
    const a = before.players[slot];
    const b = after.players[slot];
    if (a && b && (a.x !== b.x || a.y !== b.y)) this.movedFrame = after.frame;
  }

  /** The local input of the next tick; null (the sim's default) while the tab is hidden. */
  private sampleInput(): Input | null {
    const g = this.game;
    const slot = this.runner.match?.slot;
    if (!g || slot === undefined) return null;
    const local = g.cur.players[slot];
    // Sampled even when unused, so that a click during the countdown does not fire at "GO".
    const sampled = g.input.sample(local?.alive ? local : null);
    const frame = this.runner.match?.frame ?? 0;
    const moves = (sampled.buttons & MOVE_BUTTONS) !== 0;
    if (moves && this.pressedFrame === null && frame >= this.runner.countdownFrames && !isHidden())
      this.pressedFrame = frame;
    return isHidden() ? null : sampled;
  }

  private showCountdown(): void {
    const m = this.runner.match;
    const phase = this.runner.phase;
    if (!m || (phase !== 'countdown' && phase !== 'playing')) {
      this.screens.setCountdown(null);
      return;
    }
    const countdown = this.runner.countdownFrames;
    const left = countdown - m.frame;
    if (left > 0) {
      this.screens.setCountdown(String(Math.ceil(left / (countdown / 3))));
    } else if (countdown > 0 && -left < (GO_MS / 1000) * m.settings.tickRate) {
      this.screens.setCountdown('GO!');
    } else {
      this.screens.setCountdown(null);
    }
  }

  private finish(end: RunnerEnd): void {
    const m = this.runner.match;
    this.game?.input.dispose();
    this.screens.setCountdown(null);
    this.screens.setNotice(null);
    const detail = end.detail ? ` (${end.detail})` : '';
    if (end.kind === 'error') this.screens.setError(`The match stopped: ${end.reason}${detail}`);
    else if (end.kind === 'lost') this.screens.setError(`Your connection was lost${detail}.`);
    if (!m || !this.game) {
      this.screens.showMessage(`The match is over for you: ${end.reason}.`);
      this.host?.ended();
      return;
    }
    const final = end.kind === 'frame-limit' ? (this.capture?.captured() ?? null) : null;
    const view = final ? duelView(innerSnap(final)) : this.game.cur;
    this.result = duelResult(view, {
      matchId: m.matchId,
      slot: m.slot,
      confirmed:
        final !== null ||
        (m.authoritative
          ? m.authoritative.session.lastHostFrame >= view.frame - 1
          : m.peer.session.confirmedFrame >= view.frame - 1),
      reason: end.reason,
    });
    this.overlay.update(() => this.stats(), Number.POSITIVE_INFINITY);
    this.screens.showResult(this.result, this.host ? null : () => location.reload());
    this.host?.ended();
  }

  private onVisibility(): void {
    if (isHidden()) {
      this.game?.input.releaseAll();
      if (!this.timer.running) this.timer.start(() => this.pump());
    } else {
      this.timer.stop();
    }
  }

  private stats(): PageStats {
    const r = this.runner;
    const m = r.match;
    const away = [...r.away].sort((a, b) => a - b);
    if (!m) return { ...idleStats(this.phase), rejoins: r.rejoins, away };
    return {
      ...m.peer.session.stats(),
      // Authoritative: the predicted frame, and the host's last state as the confirmed one.
      ...(m.authoritative
        ? { frame: m.frame, confirmedFrame: m.authoritative.session.lastHostFrame }
        : {}),
      phase: this.phase,
      matchId: m.matchId,
      slot: m.slot,
      pingMs: m.relayRttMs,
      inputPath: this.transport?.inputPath ?? 'websocket',
      hashInterval: m.settings.hashInterval,
      lastHashedFrame: this.lastHashedFrame,
      desyncs: m.desyncs,
      agreedChecks: m.agreedChecks,
      rejoins: r.rejoins,
      away,
      hidden: isHidden(),
      hiddenTicks: this.hiddenTicks,
      droppedMs: r.droppedMs,
      renderer: this.game?.view.renderer() ?? null,
      pyodideLoadMs: null,
      lastRollbackMs: null,
      maxRollbackMs: null,
      stepBatches: null,
    };
  }
}
