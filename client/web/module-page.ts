/**
 * The page of a game scene whose sim is a researcher's TypeScript module (`sim: ./pong.ts`): a
 * host of the {@link MatchRunner} like the duel page, with the sim, its view and its keys taken
 * from the relay instead of built in. It imports the bundle the relay made of the module
 * (`GET /modules/<scene>.js`, the same code every peer, bot and replay runs), reads the scene's
 * keys and actions (`GET /modules/<scene>.json`), draws the module's view (`SimView.draw`, draw
 * primitives, the renderer the Python page uses) between the last two states, and turns the
 * held keys into the input with the scene's action map. A study page hosts it
 * ({@link MatchPageHost}).
 */
import {
  type ActionMap,
  type ActionMapRecord,
  checkSimModule,
  createActionMap,
  type EpisodeSnap,
  episodicFactory,
  type Input,
  initStateHash,
  type Sim,
  type SimModule,
} from '../../sim/index.ts';
import type { DrawPrimitive } from '../../sim/python/index.ts';
import { MatchRunner, type RunnerEnd, type RunnerEvent } from '../match-runner.ts';
import { PeerDataChannel } from '../transport/datachannel.ts';
import { DatagramTransport } from '../transport/datagram-transport.ts';
import { BackgroundTimer } from './background-timer.ts';
import {
  connectRelay,
  type MatchPage,
  type MatchPageHost,
  type MatchPageOptions,
} from './match-page.ts';
import { PageClock } from './page-clock.ts';
import {
  idleStats,
  type PagePhase,
  type PageStats,
  pagePhaseOf,
  presenceNotice,
} from './page-stats.ts';
import { createPrimitivesGame, type PrimitivesGame } from './primitives-view.ts';
import { saveSeat } from './seat-storage.ts';
import { PageScreens } from './ui.ts';

/** Where the relay serves a module scene's bundle and keys (relay/study/module-routes.ts). */
export const MODULE_ROUTE_PREFIX = '/modules/';
/** How long "GO!" stays up after the countdown, in ms. */
const GO_MS = 600;

const isHidden = (): boolean => document.visibilityState === 'hidden';

/** True for form fields, where typed keys belong to the field. */
function isEditable(target: EventTarget | null): boolean {
  const el = target as { tagName?: string; isContentEditable?: boolean } | null;
  return (
    !!el &&
    (el.isContentEditable === true ||
      el.tagName === 'INPUT' ||
      el.tagName === 'TEXTAREA' ||
      el.tagName === 'SELECT')
  );
}

/** What the relay says of a module scene beside its bundle. */
interface ModuleSceneInfo {
  readonly sim: string;
  readonly codeHash: string;
  readonly actions: ActionMapRecord;
}

/** The module loaded: its exports, checked, and the scene's action map over its actions. */
interface LoadedModule {
  readonly module: SimModule;
  readonly map: ActionMap;
}

/**
 * Loads a module scene's bundle and keys from the relay at this page's origin.
 * @throws Error naming the scene when the relay does not serve it, or the bundle's exports or the
 *   keys do not check
 */
export async function loadModuleScene(scene: string): Promise<LoadedModule> {
  const base = `${MODULE_ROUTE_PREFIX}${encodeURIComponent(scene)}`;
  const res = await fetch(`${base}.json`);
  if (!res.ok)
    throw new Error(`the relay serves no sim module for scene "${scene}" (${res.status})`);
  const info = (await res.json()) as ModuleSceneInfo;
  const exports: unknown = await import(/* @vite-ignore */ `${base}.js`);
  const module = checkSimModule(exports, info.sim);
  const map = createActionMap(
    { actions: info.actions.keys, defaultAction: info.actions.defaultAction },
    module.actions,
  );
  return { module, map };
}

/**
 * The keys held now, oldest press first (`KeyboardEvent.code`), as the action map wants them.
 * Keys typed into form fields and with Ctrl, Alt or Meta are ignored; keys the map binds have
 * their default action (scrolling) prevented; everything is released when the window loses focus.
 */
class HeldKeys {
  readonly held: string[] = [];
  private readonly detach: () => void;

  constructor(target: Window, bound: ReadonlySet<string>) {
    const down = (e: KeyboardEvent): void => {
      if (!bound.has(e.code) || e.ctrlKey || e.altKey || e.metaKey || isEditable(e.target)) return;
      e.preventDefault();
      if (!this.held.includes(e.code)) this.held.push(e.code);
    };
    const up = (e: KeyboardEvent): void => {
      const i = this.held.indexOf(e.code);
      if (i >= 0) this.held.splice(i, 1);
    };
    const blur = (): void => this.releaseAll();
    target.addEventListener('keydown', down);
    target.addEventListener('keyup', up);
    target.addEventListener('blur', blur);
    this.detach = () => {
      target.removeEventListener('keydown', down);
      target.removeEventListener('keyup', up);
      target.removeEventListener('blur', blur);
    };
  }

  releaseAll(): void {
    this.held.length = 0;
  }

  dispose(): void {
    this.detach();
    this.releaseAll();
  }
}

/** A module sim's state, or the episode wrapper's around it. */
type ModuleSnap = unknown;

/** The module page: see the file's comment. */
export class ModulePage implements MatchPage {
  private readonly runner: MatchRunner<ModuleSnap>;
  private readonly clock = new PageClock();
  private readonly timer = new BackgroundTimer();
  private readonly screens = new PageScreens();
  private readonly host: MatchPageHost | null;
  private readonly loaded: Promise<LoadedModule>;
  private module: LoadedModule | null = null;
  private keys: HeldKeys | null = null;
  private view: PrimitivesGame | null = null;
  private prev: ModuleSnap = null;
  private cur: ModuleSnap = null;
  private ended: RunnerEnd | null = null;
  private disposed = false;
  private transport: DatagramTransport | null = null;
  private readonly detach: (() => void)[] = [];
  private readonly episodes: MatchPageOptions['episodes'] | null;

  /** Starts loading the module; {@link join} joins once it is loaded. */
  constructor(private readonly options: MatchPageOptions) {
    this.host = options.host ?? null;
    this.episodes = options.episodes ?? null;
    this.loaded = loadModuleScene(options.scene);
    this.runner = new MatchRunner<ModuleSnap>({
      connect: async () => {
        this.transport = new DatagramTransport(await connectRelay(location.origin, options.auth), {
          clock: this.clock,
          createChannel: () => PeerDataChannel.create(),
        });
        return this.transport;
      },
      scheduler: this.clock,
      scene: options.scene,
      participantId: options.seat?.participantId ?? options.participantId,
      seat: options.seat,
      createSim: (start) => {
        const m = this.module;
        if (!m) throw new Error(`the sim module of "${options.scene}" is not loaded`);
        const s = start.settings;
        const ep = this.episodes;
        const sim: Sim<ModuleSnap> =
          ep && ep.episodes > 1
            ? episodicFactory(m.module.sim, ep).create({ players: s.players, seed: start.seed })
            : m.module.sim.create({ players: s.players, seed: start.seed });
        // No key, a hidden tab and the countdown play the scene's default action.
        const defaultInput = m.map.defaultInput;
        return Object.assign(sim, { defaultInput: () => defaultInput });
      },
      input: () => this.sampleInput(),
      // In a study the relay decides when a match ends (see duel-page.ts).
      playAlone: this.host !== null,
    });
    this.runner.on((e) => this.onRunner(e));
    const onVisibility = (): void => this.onVisibility();
    document.addEventListener('visibilitychange', onVisibility);
    this.detach.push(() => document.removeEventListener('visibilitychange', onVisibility));
    const frame = (): void => {
      if (this.disposed) return;
      if (!isHidden()) this.pump();
      requestAnimationFrame(frame);
    };
    requestAnimationFrame(frame);
  }

  hook() {
    return {
      phase: (): PagePhase => pagePhaseOf(this.runner.phase),
      stats: (): PageStats => this.stats(),
      hashAt: (frame: number): string | null =>
        this.runner.match?.peer.session.hashAt(frame) ?? null,
      result: () => null,
    };
  }

  showJoin(): void {
    if (this.host) this.host.queue(0, 0);
    else this.screens.showJoin(this.options.scene, () => void this.join());
  }

  async join(): Promise<void> {
    if (this.disposed) return;
    try {
      const [loaded] = await Promise.all([this.loaded, initStateHash()]);
      this.module = loaded;
    } catch (err) {
      this.screens.setError(`Cannot load the game: ${err instanceof Error ? err.message : err}`);
      return;
    }
    if (this.disposed) return;
    const bound = new Set(this.module.map.bindings.flatMap((b) => b.keys));
    this.keys ??= new HeldKeys(window, bound);
    this.runner.join();
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.runner.leave('the study moved on');
    saveSeat(sessionStorage, null);
    this.timer.stop();
    for (const undo of this.detach.splice(0)) undo();
    this.keys?.dispose();
    this.view?.destroy();
    this.view = null;
    this.screens.setCountdown(null);
    this.screens.setNotice(null);
    this.screens.setKeys(null);
  }

  private sampleInput(): Input | null {
    const m = this.module;
    if (!m || !this.keys || isHidden()) return null;
    return m.map.inputFor(this.keys.held);
  }

  /** The module's own state inside `snap` (the current episode's, in an episodic match). */
  private innerOf(snap: ModuleSnap): ModuleSnap {
    return (this.episodes?.episodes ?? 1) > 1 ? (snap as EpisodeSnap).inner : snap;
  }

  private onRunner(e: RunnerEvent<ModuleSnap>): void {
    if (this.disposed) return;
    switch (e.type) {
      case 'phase':
        this.onPhase();
        return;
      case 'queue':
        if (this.runner.phase !== 'waiting') return;
        if (this.host) this.host.queue(e.waiting, e.players);
        else this.screens.showWaiting(e.waiting, e.players, () => this.runner.cancel());
        return;
      case 'match': {
        saveSeat(sessionStorage, this.runner.seat);
        const state = e.match.peer.runner.sim.save();
        this.prev = state;
        this.cur = state;
        this.startView();
        return;
      }
      case 'tick':
        if (e.changed) {
          const sim = this.runner.match?.peer.runner.sim;
          if (sim) {
            this.prev = this.cur;
            this.cur = sim.save();
          }
        }
        return;
      case 'error':
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
    const host = this.host;
    switch (this.runner.phase) {
      case 'idle':
        this.showJoin();
        return;
      case 'connecting':
      case 'waiting':
        if (host) host.queue(0, 0);
        else this.screens.showConnecting();
        return;
      case 'reconnecting':
        host?.playing();
        if (!this.view) this.screens.showMessage('Reconnecting…');
        this.keys?.releaseAll();
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

  private startView(): void {
    if (this.view || !this.module) return;
    const view = this.module.module.view;
    this.screens.setKeys(
      this.module.map.bindings
        .map((b) => `${b.combo.replaceAll('+', ' + ')}: ${b.action}`)
        .join(' · '),
    );
    if (!view) {
      this.screens.showMessage('This game has no picture (its module exports no view).');
      return;
    }
    this.view = createPrimitivesGame(
      this.screens.gameParent,
      () => this.primitives(),
      this.options.renderer,
    );
  }

  /** The module view's picture of the newest state (between the last two states). */
  private primitives(): readonly DrawPrimitive[] | null {
    const m = this.runner.match;
    const view = this.module?.module.view;
    if (!m || !view || this.cur === null) return null;
    const cur = this.cur;
    const episodes = this.episodes?.episodes ?? 1;
    return view.draw(this.innerOf(cur), {
      prev: this.innerOf(this.prev),
      alpha: this.runner.alpha,
      localSlot: m.slot,
      tickRate: m.settings.tickRate,
      episode: episodes > 1 ? (cur as EpisodeSnap).episode : 0,
      episodes,
    });
  }

  private pump(): void {
    if (this.disposed) return;
    this.clock.pump();
    const m = this.runner.match;
    const phase = this.runner.phase;
    if (m && (phase === 'countdown' || phase === 'playing')) {
      const countdown = this.runner.countdownFrames;
      const left = countdown - m.peer.session.frame;
      if (left > 0) this.screens.setCountdown(String(Math.ceil(left / (countdown / 3))));
      else if (countdown > 0 && -left < (GO_MS / 1000) * m.settings.tickRate) {
        this.screens.setCountdown('GO!');
      } else this.screens.setCountdown(null);
    } else this.screens.setCountdown(null);
    const away = [...this.runner.away].sort((a, b) => a - b);
    this.screens.setNotice(
      presenceNotice(pagePhaseOf(phase), away, this.runner.match?.settings.players ?? 0),
    );
  }

  private finish(end: RunnerEnd): void {
    this.ended = end;
    this.keys?.dispose();
    this.keys = null;
    this.screens.setCountdown(null);
    this.screens.setNotice(null);
    this.screens.setKeys(null);
    const detail = end.detail ? ` (${end.detail})` : '';
    if (end.kind === 'error') this.screens.setError(`The match stopped: ${end.reason}${detail}`);
    this.screens.showMessage(`Match over: ${end.reason}.`);
    this.host?.ended();
  }

  private onVisibility(): void {
    if (isHidden()) {
      this.keys?.releaseAll();
      if (!this.timer.running) this.timer.start(() => this.pump());
    } else this.timer.stop();
  }

  private stats(): PageStats {
    const r = this.runner;
    const m = r.match;
    const phase = pagePhaseOf(r.phase);
    const away = [...r.away].sort((a, b) => a - b);
    if (!m) return { ...idleStats(phase), rejoins: r.rejoins, away };
    return {
      ...m.peer.session.stats(),
      phase,
      matchId: m.matchId,
      slot: m.slot,
      pingMs: m.relayRttMs,
      inputPath: this.transport?.inputPath ?? 'websocket',
      hashInterval: m.settings.hashInterval,
      lastHashedFrame: null,
      desyncs: m.desyncs,
      agreedChecks: m.agreedChecks,
      rejoins: r.rejoins,
      away,
      hidden: isHidden(),
      hiddenTicks: 0,
      droppedMs: r.droppedMs,
      renderer: (this.view?.renderer() as PageStats['renderer']) ?? null,
      pyodideLoadMs: null,
      lastRollbackMs: null,
      maxRollbackMs: null,
      stepBatches: null,
    };
  }
}
