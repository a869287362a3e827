/**
 * The study wire: what a participant's page (or a pilot bot) and the relay's study server say to
 * each other on the socket.io namespace {@link STUDY_NAMESPACE}, beside the match traffic on `/`.
 * Its packets travel through Concord's socket.io parser as generic packets (msgpackr objects), so
 * this file holds only their shapes and limits; the study server checks every field it receives.
 *
 * The flow:
 * 1. The page connects to `/study` and emits `hello` ({@link StudyHello}) with an ack. The ack
 *    is a {@link StudyReply}: the participant's {@link StudyView} and a `token`, or a refusal
 *    (`otherTab` when another tab of this participant is active, `finished` is NOT a refusal: a
 *    finished participant gets the end view again).
 * 2. The page shows `view.scene`. Info, consent and survey scenes are left with `step`
 *    ({@link StudyStep}, acked with a {@link StudyReply}); a survey answer that does not fit is
 *    refused with `errors` naming each question, and the page stays.
 * 3. A game scene names `relayScene`: the page joins it on `/` (the match runner, as `/play`
 *    does) with `participantId` = the participant's id and the socket.io handshake
 *    `auth: { studyToken: token }`. The relay admits a join (or rejoin) of a study scene only
 *    with the token of the participant at that game scene, in the condition that scene was
 *    registered for. While waiting, the study server pushes `waiting` ({@link StudyWaiting});
 *    `step {type: 'leave'}` leaves the waiting room.
 * 4. Whenever the participant's place changes on the server's side (a match ended, a partner
 *    was lost, the waiting room timed out, an administrator removed them) the server pushes
 *    `view` with the new {@link StudyView}. The page never moves itself on: it shows what the
 *    server says.
 *
 * @packageDocumentation
 */

/** The socket.io namespace of the study wire. */
export const STUDY_NAMESPACE = '/study';

/** Event names on {@link STUDY_NAMESPACE}. */
export const STUDY_EVENTS = Object.freeze({
  /** page → server, acked with a {@link StudyReply}. */
  hello: 'hello',
  /** page → server, acked with a {@link StudyReply}. */
  step: 'step',
  /** server → page: a {@link StudyView}, pushed when the participant's place changed. */
  view: 'view',
  /** server → page: a {@link StudyWaiting}, pushed while the participant waits for a match. */
  waiting: 'waiting',
} as const);

/** Longest tab id, participant id, study id or session id accepted, in characters. */
export const STUDY_ID_MAX_LENGTH = 128;

/**
 * `hello`: who this is. The ids are the page URL's query parameters, as given: Prolific's
 * `PROLIFIC_PID` (with `STUDY_ID`, `SESSION_ID`), else `participant`, else none (the server
 * generates an id, returned in the view; the page keeps it in `localStorage` per experiment and
 * sends it as `participant` after a reload). `tabId` is random per tab, kept in
 * `sessionStorage`, so that a reload is the same tab and a second tab is another.
 */
export interface StudyHello {
  readonly tabId: string;
  readonly PROLIFIC_PID?: string;
  readonly STUDY_ID?: string;
  readonly SESSION_ID?: string;
  readonly participant?: string;
}

/** A survey answer: an integer for likert, an option for choice, text for text. */
export type StudyAnswer = number | string;

/**
 * `step`: the participant's action in scene `sceneId` (the scene the page shows; a step for any
 * other scene is refused, so a stale page or a second submission changes nothing).
 * - `continue`: leave an info scene;
 * - `accept` / `decline`: a consent scene;
 * - `answer`: a survey scene, `answers` by question id;
 * - `leave`: leave a game scene's waiting room (the study ends with outcome `timeout`).
 */
export type StudyStep =
  | { readonly sceneId: string; readonly type: 'continue' | 'accept' | 'decline' | 'leave' }
  | {
      readonly sceneId: string;
      readonly type: 'answer';
      readonly answers: Readonly<Record<string, StudyAnswer>>;
    };

/** A survey question as the page draws it (the experiment file's question, defaults filled). */
export type StudyQuestion =
  | {
      readonly id: string;
      readonly type: 'likert';
      readonly text: string;
      readonly scale: number;
      readonly required: boolean;
    }
  | {
      readonly id: string;
      readonly type: 'choice';
      readonly text: string;
      readonly options: readonly string[];
      readonly required: boolean;
    }
  | {
      readonly id: string;
      readonly type: 'text';
      readonly text: string;
      readonly required: boolean;
      readonly maxLength: number;
    };

/**
 * A study's outcome: how it ended for this participant. `removed`: an administrator ended it
 * (the view's notice says so; its completion code may be empty, then the page shows none).
 */
export type StudyOutcome = 'completed' | 'timeout' | 'partnerLeft' | 'declined' | 'removed';

/** The scene a page shows, with what it needs to show it. */
export type StudyScene =
  | {
      readonly kind: 'info';
      readonly id: string;
      /** The scene's file (Markdown) rendered to HTML by the server (researcher content). */
      readonly html: string;
      /** True: the page offers accept and decline; false: continue. */
      readonly consent: boolean;
    }
  | {
      readonly kind: 'game';
      readonly id: string;
      /** The relay scene to join on `/` (this game scene under the participant's condition). */
      readonly relayScene: string;
      /** The sim spec (`duel`, `python:…`, a module path as the relay names it). */
      readonly sim: string;
      readonly players: number;
      /**
       * Episodes of the match and frames in each: one match of `episodes × framesPerEpisode`
       * frames (the relay scene's `frames`), the sim wrapped in the episode wrapper
       * (`episodicFactory`, sim/episodes.ts) when `episodes` > 1, as every peer and replay do.
       */
      readonly episodes: number;
      readonly framesPerEpisode: number;
      /** Waiting-room limit, ms (0: no limit). */
      readonly waitingTimeoutMs: number;
      /** True: the page may say when a partner is a bot. */
      readonly revealBot: boolean;
      /**
       * The key map of the scene's `actions` (key or `Key+Key` → discrete action number, the
       * input with only button bit n−1 held, see `discreteActionInput`) and the `defaultAction`
       * number, when every action of the scene is a number (Python environments); null when the
       * scene names its actions (the sim's own key handling applies, as in duel) or has none.
       */
      readonly actions: {
        readonly map: Readonly<Record<string, number>>;
        readonly defaultAction: number;
      } | null;
    }
  | {
      readonly kind: 'survey';
      readonly id: string;
      readonly questions: readonly StudyQuestion[];
    }
  | {
      readonly kind: 'end';
      readonly id: string;
      readonly outcome: StudyOutcome;
      /** The outcome's completion code; '' when it has none (`removed` without a code). */
      readonly completionCode: string;
      /** The redirect with `{code}` filled in, or null: the page shows the code only. */
      readonly redirect: string | null;
    };

/** Where a participant is: the answer to `hello` and `step`, and the `view` push. */
export interface StudyView {
  readonly experimentId: string;
  readonly participantId: string;
  /** 0-based index of `scene` and the number of scenes, for a progress line. */
  readonly sceneIndex: number;
  readonly sceneCount: number;
  readonly scene: StudyScene;
  /**
   * Relay scenes of the Python game scenes still ahead of this participant (this one included
   * when it is one), in order: the page loads their environment (`GET /sims/<relayScene>`,
   * Pyodide and its packages) in the background while the participant reads the scenes before.
   */
  readonly preload: readonly string[];
  /** A message to show above the scene (why the view changed: "Your partner left."), or null. */
  readonly notice: string | null;
}

/** Why the server refused a `hello` or a `step`. */
export type StudyRefusal =
  /** Another tab of this participant is active: this one does nothing. */
  | 'otherTab'
  /** A malformed message, or ids that do not fit {@link STUDY_ID_MAX_LENGTH} and `A-Za-z0-9_-`. */
  | 'badRequest'
  /** A step for a scene the participant is not in, or of a type the scene does not take. */
  | 'badStep'
  /** Survey answers that do not fit: `errors` names each question. */
  | 'badAnswers'
  /** An administrator removed this participant. */
  | 'removed'
  /** The study is closed to new participants, or the relay is shutting down. */
  | 'closed';

/** The ack of `hello` and `step`. */
export type StudyReply =
  | { readonly ok: true; readonly view: StudyView; readonly token: string }
  | {
      readonly ok: false;
      readonly refusal: StudyRefusal;
      /** For people: what is wrong, one line. */
      readonly message: string;
      /** `badAnswers`: one line per question, `enjoy: must be an integer 1–7, got 9`. */
      readonly errors?: readonly string[];
    };

/** `waiting`: the waiting room of the participant's game scene. */
export interface StudyWaiting {
  readonly sceneId: string;
  /** People waiting in this relay scene's queue, this participant included. */
  readonly waiting: number;
  /** Players a match needs. */
  readonly players: number;
  /** Time waited so far and time left before the scene's `onTimeout`, ms (left: null without a limit). */
  readonly waitedMs: number;
  readonly timeLeftMs: number | null;
}
