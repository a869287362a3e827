/**
 * What the match pages (the duel page, `duel-page.ts`, and the Python page, `python-page.ts`)
 * share: their settings, the host a study page gives them, and the connection to the relay.
 */
import type { EpisodeSettings } from '../../sim/index.ts';
import type { Seat } from '../match-runner.ts';
import { RelayConnection } from '../transport/relay-connection.ts';
import type { RendererChoice } from './duel-view.ts';
import type { ConcordHook, PagePhase } from './page-stats.ts';
import type { LoadProgress } from './python-preload.ts';

/** socket.io handshake auth of a page's connections to the relay: a study's `{ studyToken }`. */
export type RelayAuth = Readonly<Record<string, string>>;

/**
 * The study page, when it hosts a match page: the match page then draws no Join, Cancel or
 * "Play again" button and never reloads itself; it tells the host where the match is instead.
 */
export interface MatchPageHost {
  /**
   * The page is connecting or queued: `waiting` of `players` (0 of 0 before the relay's first
   * count). The host draws the waiting room.
   */
  queue(waiting: number, players: number): void;
  /**
   * Python scenes: the participant asked to play while the environment is still loading
   * (`progress`), or it has loaded (null). The host shows a progress bar only while it is set.
   */
  loading(progress: LoadProgress | null): void;
  /** The match started, or the page is getting its seat back: the host hides its screens. */
  playing(): void;
  /** The match is over for this page (the page shows its result); the host says what is next. */
  ended(): void;
}

/** Settings of a match page. */
export interface MatchPageOptions {
  /** The relay scene to join. */
  readonly scene: string;
  /** The experiment's id for this person, sent with the join (null: none). */
  readonly participantId: string | null;
  /** Phaser's renderer. */
  readonly renderer: RendererChoice;
  /** The seat this tab kept (a reload): the page rejoins it instead of joining the queue. */
  readonly seat: Seat | null;
  /** socket.io handshake auth of every connection to the relay (absent: none). */
  readonly auth?: RelayAuth;
  /** Set when a study page hosts this page; see {@link MatchPageHost}. */
  readonly host?: MatchPageHost;
  /**
   * The match's episodes (a study's game scene): with more than one, the sim is wrapped in the
   * episode wrapper (`episodicFactory`, sim/episodes.ts), as every other peer does. Absent: one.
   */
  readonly episodes?: EpisodeSettings;
}

/** What a page that plays one relay scene offers its owner. */
export interface MatchPage {
  /** The page's side of `window.concord`. */
  hook(): Omit<ConcordHook, 'phase'> & { phase(): PagePhase };
  /** Shows the Join button (the demo page with `?autojoin=0`). */
  showJoin(): void;
  /** Joins the scene's queue, or rejoins the seat the page kept. */
  join(): void | Promise<void>;
  /**
   * Stops everything now: leaves the match or the queue (the relay keeps a running match's seat
   * for its grace period), forgets the kept seat, removes the view and every listener.
   */
  dispose(): void;
}

/**
 * Opens a connection to the relay at `origin` with `auth` in the socket.io handshake.
 * @throws Error when the connection fails or times out
 */
export function connectRelay(
  origin: string,
  auth: RelayAuth | undefined,
): Promise<RelayConnection> {
  return RelayConnection.connect(origin, auth ? { auth } : {});
}

/** The `?renderer=` parameter as Phaser's renderer choice (`auto` unless `canvas` or `webgl`). */
export function readRenderer(v: string | null): RendererChoice {
  return v === 'canvas' || v === 'webgl' ? v : 'auto';
}

/**
 * Whether the relay runs `scene` as a Python environment: `GET /sims/<scene>` answers 200 for a
 * Python scene and 404 for any other (or unknown) scene.
 * @throws Error naming the status when the relay answers anything else, or cannot be reached
 */
export async function isPythonScene(scene: string): Promise<boolean> {
  const res = await fetch(`/sims/${encodeURIComponent(scene)}`);
  if (res.status === 200) return true;
  if (res.status === 404) return false;
  throw new Error(`the relay answered ${res.status} when asked about scene "${scene}"`);
}

/** The hook's shape before the page knows which kind of scene it plays. */
export function hookOf(page: MatchPage): ConcordHook {
  const h = page.hook();
  return {
    get phase() {
      return h.phase();
    },
    stats: h.stats,
    hashAt: h.hashAt,
    result: h.result,
    ...(h.workerHashAt ? { workerHashAt: h.workerHashAt } : {}),
    ...(h.movement ? { movement: h.movement } : {}),
  };
}
