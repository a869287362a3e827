/**
 * The admin wire: the JSON that the relay's admin routes (behind the admin token, see
 * `docs/admin.md`) send to the admin page and the replay viewer, and to scripts. Plain shapes;
 * the relay builds them (relay/admin/), the pages read them (client/web/admin-page.ts,
 * client/web/replay-page.ts).
 *
 * @packageDocumentation
 */

/** Where the relay serves the admin view and its API. */
export const ADMIN_PATHS = Object.freeze({
  /** The admin page (HTML). */
  page: '/admin',
  /** The token form: GET shows it, POST `token=…` sets the cookie. */
  login: '/admin/login',
  /** POST: removes the cookie. */
  logout: '/admin/logout',
  /** GET: an {@link AdminState} snapshot. */
  state: '/admin/api/state',
  /** GET: server-sent events, one `state` event (an {@link AdminState}) per change or second. */
  events: '/admin/api/events',
  /** POST `/admin/api/matches/<match id>/end`: ends a running match. */
  matches: '/admin/api/matches/',
  /** POST `/admin/api/participants/<participant id>/remove`: removes a participant (study server). */
  participants: '/admin/api/participants/',
  /** The replay viewer page: `/replay/<match id>` (HTML). */
  replay: '/replay/',
  /** GET `/admin/api/logs/<match id>`: the {@link ReplayData} of a logged match. */
  logs: '/admin/api/logs/',
});

/** One player of a running match as the admin view shows it. */
export interface AdminPlayer {
  readonly slot: number;
  readonly participantId: string | null;
  /** `connected`, `away` (may rejoin) or `left`. */
  readonly status: 'connected' | 'away' | 'left';
  /** The next input frame the relay expects from it (its inputs so far end one below). */
  readonly nextFrame: number;
  /** What carries its inputs: `websocket` or `webrtc`. */
  readonly inputPath: string;
  /** Time since the relay last heard from it, ms. */
  readonly silentMs: number;
  /**
   * What the peer reports with its heartbeat (the optional `stats` of its `ping`): its round trip
   * to the relay in ms, its rollbacks and stalls so far; null until it reported (an older peer
   * never does).
   */
  readonly peer: {
    readonly rttMs: number;
    readonly rollbacks: number;
    readonly stalls: number;
  } | null;
}

/** A match under way. */
export interface AdminMatch {
  readonly matchId: string;
  readonly scene: string;
  readonly sim: string;
  readonly mode: string;
  readonly tickRate: number;
  /** The scene's frame limit, 0: none. */
  readonly frames: number;
  /** Wall-clock start, ISO 8601 UTC. */
  readonly startTime: string;
  /** The highest frame every player's input reached (the relay's slowest player), frames. */
  readonly frame: number;
  /** Desyncs found in this match. */
  readonly desyncs: number;
  readonly players: readonly AdminPlayer[];
}

/** A scene's waiting room (its queue on this relay). */
export interface AdminWaitingRoom {
  readonly scene: string;
  /** Players a match of the scene needs. */
  readonly players: number;
  /** Who waits, in arrival order (participant ids; null for anonymous players). */
  readonly waiting: readonly (string | null)[];
}

/** A match whose log is in the relay's logs directory and which no longer runs. */
export interface AdminFinishedMatch {
  readonly matchId: string;
  readonly scene: string;
  readonly sim: string;
  readonly startTime: string;
  readonly players: readonly (string | null)[];
  /** The end record's reason, or null for a log without one (a crash). */
  readonly endReason: string | null;
  /** Log file size, bytes. */
  readonly bytes: number;
  /** The replay viewer's path, `/replay/<match id>`. */
  readonly replay: string;
}

/** One participant of a study, as the study server reports it. */
export interface AdminParticipant {
  readonly id: string;
  /** The scene the participant is in (its id in the experiment file). */
  readonly scene: string;
  /** The participant's status in the study's words (`active`, `waiting`, `finished`, `removed`…). */
  readonly status: string;
  /** The condition drawn for the participant, or null before it is drawn. */
  readonly condition: string | null;
  /** When the participant arrived, ISO 8601 UTC. */
  readonly startTime: string | null;
}

/** Everything the admin page shows at one moment. */
export interface AdminState {
  /** When the relay made this snapshot, ISO 8601 UTC. */
  readonly at: string;
  readonly matches: readonly AdminMatch[];
  readonly waiting: readonly AdminWaitingRoom[];
  /** Newest first, at most {@link MAX_ADMIN_FINISHED}. */
  readonly finished: readonly AdminFinishedMatch[];
  /**
   * The study's participants by scene and status, or null when the relay runs no study server
   * (then the page says so and offers no removal).
   */
  readonly participants: readonly AdminParticipant[] | null;
  /** True when the study server can remove a participant (the page offers the action). */
  readonly canRemove: boolean;
  /** The relay's counters (as `/healthz`). */
  readonly counters: Readonly<Record<string, unknown>>;
}

/** Most finished matches an {@link AdminState} lists. */
export const MAX_ADMIN_FINISHED = 200;

/** A recorded hash of a check frame, as the log has it. */
export interface ReplayCheck {
  /** The slot that reported it; -1 for the relay's referee. */
  readonly slot: number;
  readonly hash: string;
  /** `hash` (a report), `done` (a final report), `verdict` (the relay's comparison) or `referee`. */
  readonly source: 'hash' | 'done' | 'verdict' | 'referee';
}

/** Kinds of {@link ReplayEvent}, as the viewer's timeline marks them. */
export type ReplayEventKind =
  | 'check'
  | 'desync'
  | 'resync'
  | 'converged'
  | 'referee'
  | 'away'
  | 'rejoin'
  | 'handover'
  | 'left'
  | 'fault'
  | 'done'
  | 'end';

/** Something that happened in a match, at a frame. */
export interface ReplayEvent {
  readonly frame: number;
  readonly kind: ReplayEventKind;
  /** The slots concerned (empty when none). */
  readonly slots: readonly number[];
  /** What happened, in words. */
  readonly text: string;
}

/**
 * A logged match as the replay viewer needs it: the header's settings and sim, every slot's
 * inputs, the recorded hashes by check frame and the timeline. Built by the relay from the log
 * (relay/admin/replay-data.ts); the page re-simulates from it.
 */
export interface ReplayData {
  readonly matchId: string;
  readonly format: number;
  readonly scene: {
    readonly name: string;
    readonly sim: string;
    readonly players: number;
    readonly tickRate: number;
    readonly mode: string;
    readonly inputDelay: number;
    readonly hashInterval: number;
    readonly frames: number;
  };
  /**
   * The sim: `builtin` (run by id), `module` (the bundle the header carries, imported in the
   * page) or `python` (the source the header carries, run by Pyodide in the page's Worker).
   */
  readonly sim: {
    readonly kind: 'builtin' | 'module' | 'python';
    readonly id: string;
    readonly codeHash: string;
    readonly source?: string;
    readonly className?: string | null;
    readonly packages?: readonly string[];
    readonly bundle?: string;
  };
  readonly seed: number;
  readonly players: readonly { readonly slot: number; readonly participantId: string | null }[];
  readonly startTime: string;
  /** The header's action map record (`ActionMapRecord`), or null. */
  readonly actions: {
    readonly keys: Readonly<Record<string, unknown>>;
    readonly defaultAction: string | number | null;
    readonly inputs: Readonly<Record<string, string>>;
  } | null;
  /** The header's episodes, or null (one episode). */
  readonly episodes: { readonly episodes: number; readonly framesPerEpisode: number } | null;
  /**
   * Per slot, its inputs as 8 hex digits each, contiguous from frame `scene.inputDelay` (entry i
   * is frame inputDelay + i).
   */
  readonly inputs: readonly (readonly string[])[];
  /** Per slot, its last input frame when it left (its default input plays after), else null. */
  readonly lastFrame: readonly (number | null)[];
  /** The last frame that can be replayed (as `concord replay` computes it). */
  readonly finalFrame: number;
  /** Recorded hashes by check frame, ascending frames. */
  readonly checks: readonly { readonly frame: number; readonly recorded: readonly ReplayCheck[] }[];
  /** The timeline, by frame then log order. */
  readonly events: readonly ReplayEvent[];
  /** The end record's reason, or null. */
  readonly endReason: string | null;
  /** The first bad line's message when the log is damaged (the data stops before it), else null. */
  readonly damaged: string | null;
  /** True when the log's last line was cut. */
  readonly truncated: boolean;
}
