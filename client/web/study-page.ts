/**
 * The study page: what a participant sees at `/` when the relay serves an experiment. It says
 * who it is on the study wire (`/study`, protocol/study.ts) and draws the scene the server says
 * the participant is in: info and consent, a game (the waiting room, then the match: the duel
 * page or the Python page, hosted), a survey, the end with the completion code. It never moves
 * on by itself: every scene it shows came from the server (the answer to `hello` or a `step`,
 * or a `view` push).
 *
 * - A reload asks again (`hello` with the same tab id) and shows what the server says, with the
 *   game's seat rejoined from `sessionStorage` when a match runs.
 * - A second tab is refused by the server (`otherTab`): it says so and does nothing.
 * - Python game scenes ahead (`view.preload`) have their Web Worker started at once, loading
 *   Pyodide, the packages and the environment while the participant reads; a progress bar shows
 *   only if the participant reaches the game before it is done.
 *
 * `window.concordStudy` reports the page's state for tests; `window.concord` is the hosted match
 * page's hook during a game.
 */
import { io, type Socket } from 'socket.io-client';
import {
  concordParser,
  STUDY_EVENTS,
  STUDY_NAMESPACE,
  type StudyAnswer,
  type StudyHello,
  type StudyReply,
  type StudyScene,
  type StudyStep,
  type StudyView,
  type StudyWaiting,
} from '../../protocol/index.ts';
import { isSimModuleSpec } from '../../sim/index.ts';
import { DuelPage } from './duel-page.ts';
import { hookOf, type MatchPage, type MatchPageHost, readRenderer } from './match-page.ts';
import { ModulePage } from './module-page.ts';
import { idleStats } from './page-stats.ts';
import { PythonPage } from './python-page.ts';
import { PythonPreload } from './python-preload.ts';
import { loadSeat } from './seat-storage.ts';
import { rememberParticipant, studyHello } from './study-identity.ts';
import { StudyScreens, type WaitingRoomState } from './study-screens.ts';

/** How long the page waits for the server's answer to `hello` or a `step`, in ms. */
const ACK_TIMEOUT_MS = 15_000;
/** Seconds of the visible countdown before the end scene's redirect. */
export const REDIRECT_SECONDS = 5;
/** How long a view's notice stays on the status line once its game is on screen, in ms. */
const NOTICE_IN_GAME_MS = 6000;
/** `sessionStorage` key prefix of a survey's draft answers (kept across a reload). */
const DRAFT_KEY = 'concord.study.draft.';

const now = (): number => performance.now(); // clock-ok: the waiting room's countdown

/** What the page is doing, for `window.concordStudy.state`. */
export type StudyPageState =
  /** Connecting to the study server or waiting for its first answer. */
  | 'connecting'
  /** Showing a scene the server gave. */
  | 'ready'
  /** Another tab of this participant is active: this one does nothing. */
  | 'otherTab'
  /** The server refused this participant for good (removed, closed, a bad request). */
  | 'refused';

/** `window.concordStudy`: the study page's state for tests and debugging. */
export interface StudyHook {
  readonly state: StudyPageState;
  /** The scene shown, as the server gave it, or null before the first answer. */
  view(): StudyView | null;
  /** The last `badAnswers` errors of the survey shown (empty when none). */
  surveyErrors(): readonly string[];
  /** Python scenes ahead: the relay scene whose worker is loading, and whether it is ready. */
  preload(): { readonly scene: string; readonly ready: boolean } | null;
  /**
   * The Python game scenes played so far: each one's relay scene, whether its worker had been
   * started ahead (`preloaded`), and whether the participant saw the progress bar (`waited`:
   * the environment was not loaded when they got to the game).
   */
  pythonGames(): readonly {
    readonly scene: string;
    readonly preloaded: boolean;
    readonly waited: boolean;
  }[];
}

declare global {
  interface Window {
    /** See {@link StudyHook}. */
    concordStudy?: StudyHook;
  }
}

type GameScene = Extract<StudyScene, { kind: 'game' }>;

/** The game scene on screen: its match page and its waiting room. */
interface Game {
  readonly sceneId: string;
  readonly relayScene: string;
  readonly python: boolean;
  page: MatchPage | null;
  waiting: WaitingRoomState;
  started: boolean;
}

class StudyPage {
  private readonly screens = new StudyScreens();
  private readonly params = new URLSearchParams(location.search);
  private readonly renderer = readRenderer(this.params.get('renderer'));
  private readonly hello: StudyHello;
  private readonly socket: Socket;
  state: StudyPageState = 'connecting';
  view: StudyView | null = null;
  private token: string | null = null;
  private busy = false;
  private game: Game | null = null;
  private preload: PythonPreload | null = null;
  /** True when {@link preload} was started before its game scene came (not at it). */
  private preloadAhead = false;
  /** The survey scene whose errors {@link surveyErrors} are, and the errors. */
  private surveyErrorsFor: string | null = null;
  surveyErrors: readonly string[] = [];
  private redirectTimer: ReturnType<typeof setInterval> | null = null;
  private readonly pythonGames: { scene: string; preloaded: boolean; waited: boolean }[] = [];

  constructor() {
    this.hello = studyHello(this.params, localStorage, sessionStorage);
    document.title = 'Study';
    this.screens.showMessage('Loading the study…');
    this.socket = io(`${location.origin}${STUDY_NAMESPACE}`, {
      transports: ['websocket'],
      parser: concordParser,
      reconnectionDelay: 500,
      reconnectionDelayMax: 3000,
    });
    this.socket.on('connect', () => {
      setStatus(null);
      void this.sayHello();
    });
    this.socket.on('disconnect', () => {
      if (this.stopped) return;
      setStatus('The connection to the study was lost. Reconnecting…');
    });
    this.socket.on('connect_error', () => {
      if (!this.stopped) setStatus('Cannot reach the study. Trying again…');
    });
    this.socket.on(STUDY_EVENTS.view, (v: StudyView) => this.show(v));
    this.socket.on(STUDY_EVENTS.waiting, (w: StudyWaiting) => this.onWaiting(w));
    setInterval(() => this.drawWaiting(), 250);
  }

  private get stopped(): boolean {
    return this.state === 'otherTab' || this.state === 'refused';
  }

  private async sayHello(): Promise<void> {
    let reply: StudyReply;
    try {
      reply = await this.socket.timeout(ACK_TIMEOUT_MS).emitWithAck(STUDY_EVENTS.hello, this.hello);
    } catch {
      // No answer: socket.io reconnects and `connect` says hello again.
      if (this.socket.connected) setTimeout(() => void this.sayHello(), 1000);
      return;
    }
    this.onReply(reply);
  }

  /** Sends a step (one at a time) and shows what the server answers. */
  private async step(step: StudyStep): Promise<void> {
    if (this.busy || this.stopped) return;
    this.busy = true;
    this.screens.setBusy(true);
    let reply: StudyReply | null = null;
    try {
      reply = await this.socket.timeout(ACK_TIMEOUT_MS).emitWithAck(STUDY_EVENTS.step, step);
    } catch {
      setStatus('The study did not answer. Please try again.');
    } finally {
      this.busy = false;
    }
    this.screens.setBusy(false);
    if (reply) this.onReply(reply);
  }

  private onReply(reply: StudyReply): void {
    if (reply.ok) {
      setStatus(null);
      this.token = reply.token;
      this.state = 'ready';
      rememberParticipant(localStorage, this.params, reply.view);
      this.show(reply.view);
      return;
    }
    switch (reply.refusal) {
      case 'badAnswers': {
        const scene = this.view?.scene;
        if (scene?.kind !== 'survey') return;
        this.surveyErrorsFor = scene.id;
        this.surveyErrors = reply.errors ?? [reply.message];
        this.drawSurvey(scene);
        return;
      }
      case 'badStep':
      case 'removed':
        // A stale page (another step went first), or one whose participant the researcher
        // removed (its end view is on its way): ask where the participant is.
        void this.sayHello();
        return;
      case 'otherTab':
        this.stop('otherTab');
        this.screens.setStep(0, 0);
        this.screens.setNotice(null);
        this.screens.showMessage(
          'This study is open in another tab',
          'Please go on in that tab. You can close this one.',
        );
        return;
      default:
        this.stop('refused');
        this.screens.showMessage('The study cannot go on here', reply.message);
    }
  }

  /** Stops for good: no connection, no game, no worker. */
  private stop(state: StudyPageState): void {
    this.state = state;
    this.socket.disconnect();
    this.disposeGame();
    this.preload?.terminate();
    this.preload = null;
  }

  /** Shows `view`: the server's word on where the participant is. */
  private show(view: StudyView): void {
    if (this.stopped) return;
    this.view = view;
    this.screens.setStep(view.sceneIndex, view.sceneCount);
    this.screens.setNotice(view.notice);
    this.managePreload(view);
    const scene = view.scene;
    if (scene.kind === 'game') {
      const g = this.game;
      if (g && g.sceneId === scene.id && g.relayScene === scene.relayScene) return;
      this.startGame(view, scene);
      return;
    }
    this.disposeGame();
    switch (scene.kind) {
      case 'info':
        this.screens.showInfo(scene, {
          continue: () => void this.step({ sceneId: scene.id, type: 'continue' }),
          accept: () => void this.step({ sceneId: scene.id, type: 'accept' }),
          decline: () => void this.step({ sceneId: scene.id, type: 'decline' }),
        });
        return;
      case 'survey':
        this.drawSurvey(scene);
        return;
      case 'end':
        this.drawEnd(scene);
        return;
    }
  }

  private drawSurvey(scene: Extract<StudyScene, { kind: 'survey' }>): void {
    const key = `${DRAFT_KEY}${scene.id}`;
    const errors = this.surveyErrorsFor === scene.id ? this.surveyErrors : [];
    this.screens.showSurvey(scene, readDraft(key), errors, {
      change: (answers) => sessionStorage.setItem(key, JSON.stringify(answers)),
      submit: (answers) => {
        sessionStorage.setItem(key, JSON.stringify(answers));
        void this.step({ sceneId: scene.id, type: 'answer', answers });
      },
    });
  }

  private drawEnd(scene: Extract<StudyScene, { kind: 'end' }>): void {
    for (let i = sessionStorage.length - 1; i >= 0; i--) {
      const k = sessionStorage.key(i);
      if (k?.startsWith(DRAFT_KEY)) sessionStorage.removeItem(k);
    }
    const copy = (): void => {
      navigator.clipboard?.writeText(scene.completionCode).then(
        () => this.screens.setCopied('Copied.'),
        () => this.screens.setCopied('Select the code and copy it (Ctrl+C or ⌘C).'),
      ) ?? this.screens.setCopied('Select the code and copy it (Ctrl+C or ⌘C).');
    };
    const redirect = scene.redirect;
    if (redirect === null) {
      this.screens.showEnd(scene, null, copy);
      return;
    }
    if (this.redirectTimer !== null) return; // the countdown is already on screen
    let left = REDIRECT_SECONDS;
    this.screens.showEnd(scene, left, copy);
    this.redirectTimer = setInterval(() => {
      left--;
      if (left > 0) {
        this.screens.showEnd(scene, left, copy);
        return;
      }
      if (this.redirectTimer !== null) clearInterval(this.redirectTimer);
      location.assign(redirect);
    }, 1000);
  }

  // -------------------------------------------------------------------------------------------
  // Games

  private startGame(view: StudyView, scene: GameScene): void {
    this.disposeGame();
    const python = scene.sim.startsWith('python:');
    const game: Game = {
      sceneId: scene.id,
      relayScene: scene.relayScene,
      python,
      page: null,
      waiting: { waiting: 0, players: 0, deadlineMs: null, loading: null },
      started: false,
    };
    this.game = game;
    this.screens.showWaiting(() => void this.step({ sceneId: scene.id, type: 'leave' }));
    this.drawWaiting();
    const module = isSimModuleSpec(scene.sim);
    if (!python && !module && scene.sim !== 'duel') {
      this.screens.showMessage(
        'This game cannot be shown here',
        `This page draws duel, Python environments and sim modules; scene "${scene.id}" runs ${scene.sim}.`,
      );
      return;
    }
    const host: MatchPageHost = {
      queue: (waiting, players) => {
        if (game.started || this.game !== game) return;
        // The study server's `waiting` pushes carry the time left; the relay's count fills in.
        if (game.waiting.players === 0 || waiting > 0) {
          game.waiting = { ...game.waiting, waiting, players };
        }
        this.drawWaiting();
      },
      loading: (progress) => {
        const record = this.pythonGames.at(-1);
        if (progress !== null && record?.scene === scene.relayScene) record.waited = true;
        game.waiting = { ...game.waiting, loading: progress };
        this.drawWaiting();
      },
      playing: () => {
        if (!game.started && this.view?.notice) {
          // The study's screens are hidden during play: the notice ("Your partner is a bot.")
          // stays on the status line for the first seconds of the match.
          setStatus(this.view.notice, false);
          const notice = this.view.notice;
          setTimeout(() => {
            if (document.getElementById('status')?.textContent === notice) setStatus(null);
          }, NOTICE_IN_GAME_MS);
        }
        game.started = true;
        this.screens.setVisible(false);
      },
      ended: () => {
        if (this.game !== game) return;
        hidePanel();
        this.screens.showGameOver();
      },
    };
    const options = {
      scene: scene.relayScene,
      participantId: view.participantId,
      renderer: this.renderer,
      seat: loadSeat(sessionStorage, scene.relayScene),
      auth: { studyToken: this.token ?? '' },
      host,
      keys: scene.actions,
      episodes: { episodes: scene.episodes, framesPerEpisode: scene.framesPerEpisode },
    };
    let page: MatchPage;
    if (python) {
      const ahead = this.preloadAhead;
      const preload = this.takePreload(scene.relayScene);
      this.pythonGames.push({
        scene: scene.relayScene,
        preloaded: preload !== undefined && ahead,
        waited: false,
      });
      page = new PythonPage(options, preload);
    } else page = module ? new ModulePage(options) : new DuelPage(options);
    game.page = page;
    window.concord = hookOf(page);
    void page.join();
  }

  private onWaiting(w: StudyWaiting): void {
    const g = this.game;
    if (!g || g.sceneId !== w.sceneId || g.started) return;
    g.waiting = {
      ...g.waiting,
      waiting: w.waiting,
      players: w.players,
      deadlineMs: w.timeLeftMs === null ? null : now() + w.timeLeftMs,
    };
    this.drawWaiting();
  }

  private drawWaiting(): void {
    const g = this.game;
    if (g && !g.started) this.screens.updateWaiting(g.waiting, now());
  }

  private disposeGame(): void {
    if (!this.game) return;
    this.game.page?.dispose();
    this.game = null;
    hidePanel();
    this.screens.setVisible(true);
    window.concord = idleHook();
  }

  // -------------------------------------------------------------------------------------------
  // Python scenes ahead

  /**
   * Starts the worker of the first Python scene ahead that is not being played, and stops one
   * that is no longer ahead. Nothing new starts during a Python game, whose worker needs the CPU.
   */
  private managePreload(view: StudyView): void {
    const scene = view.scene;
    let wanted: string | null;
    if (scene.kind !== 'game') wanted = view.preload[0] ?? null;
    // A Python game's own worker: kept for its page to adopt (or already adopted).
    else if (scene.sim.startsWith('python:')) wanted = scene.relayScene;
    else wanted = view.preload.find((s) => s !== scene.relayScene) ?? null;
    if (this.preload && this.preload.scene !== wanted) {
      this.preload.terminate();
      this.preload = null;
    }
    if (wanted !== null && this.preload === null && this.game?.relayScene !== wanted) {
      try {
        this.preload = new PythonPreload(wanted);
        this.preloadAhead = scene.kind !== 'game' || scene.relayScene !== wanted;
      } catch (err) {
        console.warn(`concord: cannot start the Python worker ahead: ${String(err)}`);
      }
    }
  }

  /** The worker started ahead for `relayScene`, handed over (undefined when there is none). */
  private takePreload(relayScene: string): PythonPreload | undefined {
    const p = this.preload;
    if (p?.scene !== relayScene) return undefined;
    this.preload = null;
    return p;
  }

  hook(): StudyHook {
    const page = this;
    return {
      get state() {
        return page.state;
      },
      view: () => page.view,
      surveyErrors: () => page.surveyErrors,
      preload: () =>
        page.preload ? { scene: page.preload.scene, ready: page.preload.ready } : null,
      pythonGames: () => page.pythonGames.map((g) => ({ ...g })),
    };
  }
}

function readDraft(key: string): Record<string, StudyAnswer> {
  try {
    const v: unknown = JSON.parse(sessionStorage.getItem(key) ?? '{}');
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return {};
    const out: Record<string, StudyAnswer> = {};
    for (const [k, a] of Object.entries(v)) {
      if (typeof a === 'string' || typeof a === 'number') out[k] = a;
    }
    return out;
  } catch {
    return {};
  }
}

/** Shows `text` on the status line (styled as an error unless `error` is false), or clears it. */
function setStatus(text: string | null, error = true): void {
  const status = document.getElementById('status');
  if (!status) return;
  status.textContent = text ?? '';
  status.classList.toggle('error', text !== null && error);
}

/** Hides the match page's panel (its result), which the study's own screen replaces. */
function hidePanel(): void {
  const panel = document.getElementById('panel');
  if (panel) panel.hidden = true;
}

function idleHook() {
  return {
    phase: 'idle' as const,
    stats: () => idleStats('idle'),
    hashAt: () => null,
    result: () => null,
  };
}

window.concord = idleHook();
const page = new StudyPage();
window.concordStudy = page.hook();
