/**
 * A headless study participant, in Node. {@link StudyConnection} (client/study-connection.ts,
 * which a page imports alone: no sim, no Pyodide) is the connection part (connect to `/study`,
 * `hello`, `step`, the `view` and `waiting` pushes); {@link playStudy} walks a whole
 * study as a pilot participant: it accepts consent, continues info scenes, plays game scenes with
 * a bot through the match runner ({@link playMatch}: built-in TypeScript sims, and Python ones in
 * Node's Pyodide), answers surveys with random valid answers, and returns where it ended.
 *
 * @packageDocumentation
 */

import type {
  StudyAnswer,
  StudyOutcome,
  StudyQuestion,
  StudyReply,
  StudyStep,
  StudyView,
  StudyWaiting,
} from '../protocol/index.ts';
import type { SimFactory } from '../sim/index.ts';
import { discreteActionInput, type Input, Prng } from '../sim/index.ts';
import type { MatchRunner } from './match-runner.ts';
import type { LinkImpairment } from './net/index.ts';
import { type BotPolicy, builtinPolicy, playMatch } from './policy-bot.ts';
import { StudyConnection, type StudyIds } from './study-connection.ts';
import type { RelayConnection } from './transport/relay-connection.ts';

export { StudyConnection, type StudyConnectionOptions, type StudyIds } from './study-connection.ts';

/** Random valid answers to a survey's questions: every required one, about half of the others. */
export function randomAnswers(
  questions: readonly StudyQuestion[],
  rng: Prng,
): Record<string, StudyAnswer> {
  const out: Record<string, StudyAnswer> = {};
  for (const q of questions) {
    if (!q.required && rng.nextInt(2) === 0) continue;
    if (q.type === 'likert') out[q.id] = 1 + rng.nextInt(q.scale);
    else if (q.type === 'choice') out[q.id] = q.options[rng.nextInt(q.options.length)];
    else out[q.id] = `pilot answer ${rng.nextInt(1000)}`.slice(0, q.maxLength);
  }
  return out;
}

/** Settings of {@link playStudy}. */
export interface PlayStudyOptions {
  /** The relay serving the study, e.g. `http://127.0.0.1:8080`. */
  readonly url: string;
  /** The URL's ids (`PROLIFIC_PID`…, or `participant`; none: the server makes one up). */
  readonly ids?: StudyIds;
  /** The tab id (default one made from the seed). */
  readonly tabId?: string;
  /** Seed of the answers, the bot's inputs and the impairment. */
  readonly seed: number;
  /** Impairment of the game connections, both ways. */
  readonly impairment?: LinkImpairment;
  /** Decline consent instead of accepting it. */
  readonly decline?: boolean;
  /** Factories of sim modules, by spec (see `PlayMatchOptions.simFactory`). */
  readonly simFactory?: (sim: string) => SimFactory | null;
  /** The game bot's policy (default: `random` over the scene's keys). */
  readonly policy?: BotPolicy;
  /** Every view shown, every waiting push, every game played, for logs and tests. */
  readonly onEvent?: (e: StudyClientEvent) => void;
  /** Called with each game's match runner (a test has it leave mid-match, say). */
  readonly onRunner?: (runner: MatchRunner<unknown>, view: StudyView) => void;
  /** Called with each new game connection (a test cuts one to make the runner rejoin). */
  readonly onConnection?: (connection: RelayConnection) => void;
  /** Give up after this long, ms (default 30 min). */
  readonly maxMs?: number;
  /** How long the study connection is retried after it closed (a relay restart), ms (default 60 000). */
  readonly reconnectMs?: number;
}

/** What {@link playStudy} reports as it goes. */
export type StudyClientEvent =
  | { readonly type: 'view'; readonly view: StudyView }
  | { readonly type: 'waiting'; readonly waiting: StudyWaiting }
  | { readonly type: 'refused'; readonly reply: StudyReply }
  | {
      readonly type: 'game';
      readonly sceneId: string;
      readonly matchId: string | null;
      readonly end: string | null;
    };

/** Where a pilot participant ended. */
export interface StudyResult {
  readonly participantId: string;
  /** The last scene's id (the end scene's when finished). */
  readonly sceneId: string;
  readonly finished: boolean;
  readonly outcome: StudyOutcome | null;
  readonly completionCode: string | null;
  readonly redirect: string | null;
  /** The ids of the scenes shown, in order (a scene shown again after a restart counts again). */
  readonly scenes: readonly string[];
  /** The matches played: game scene id and match id (null when none started). */
  readonly games: readonly { readonly sceneId: string; readonly matchId: string | null }[];
  /** Why it stopped before the end, or null. */
  readonly error: string | null;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Walks a whole study as one participant over the real relay (see the module comment), and
 * returns where it ended. A closed study connection (the relay restarted) is reconnected with the
 * same tab id and the participant resumes where the server says; a game scene whose match ended
 * without moving the participant on (it died with the relay) is played again from its waiting
 * room.
 */
export async function playStudy(o: PlayStudyOptions): Promise<StudyResult> {
  const rng = Prng.fromSeed(o.seed);
  const tabId = o.tabId ?? `pilot-${o.seed.toString(36)}-${rng.nextU32().toString(36)}`;
  let ids: StudyIds = o.ids ?? {};
  const scenes: string[] = [];
  const games: { sceneId: string; matchId: string | null }[] = [];
  const deadline = Date.now() + (o.maxMs ?? 30 * 60_000);
  let conn: StudyConnection | null = null;
  let view: StudyView | null = null;
  let error: string | null = null;
  let lastShown: string | null = null;

  const show = (v: StudyView): void => {
    view = v;
    const key = `${v.sceneIndex}:${v.scene.id}`;
    if (key !== lastShown) {
      lastShown = key;
      scenes.push(v.scene.id);
    }
    o.onEvent?.({ type: 'view', view: v });
  };

  /** A live connection that said hello, reconnecting while `reconnectMs` lasts. */
  const connect = async (): Promise<StudyConnection> => {
    if (conn?.open && view) return conn;
    conn?.close();
    const until = Date.now() + (o.reconnectMs ?? 60_000);
    let wait = 250;
    for (;;) {
      try {
        const c = await StudyConnection.connect(o.url);
        const reply = await c.hello(tabId, ids);
        if (!reply.ok) {
          c.close();
          o.onEvent?.({ type: 'refused', reply });
          // The server may not yet know this tab is gone (the old connection closing): retry.
          if (reply.refusal !== 'otherTab' || Date.now() > until) {
            throw new Error(`hello refused: ${reply.refusal}: ${reply.message}`);
          }
        } else {
          // A generated id is kept, as a page keeps it in localStorage.
          if (!ids.PROLIFIC_PID && !ids.participant)
            ids = { participant: reply.view.participantId };
          c.onView((v) => show(v));
          c.onWaiting((w) => o.onEvent?.({ type: 'waiting', waiting: w }));
          conn = c;
          show(reply.view);
          return c;
        }
      } catch (err) {
        if (Date.now() > until || /hello refused/.test(String(err))) throw err;
      }
      await sleep(wait);
      wait = Math.min(2000, wait * 2);
    }
  };

  const stepOrReconnect = async (step: StudyStep): Promise<void> => {
    const c = await connect();
    let reply: StudyReply;
    try {
      reply = await c.step(step);
    } catch {
      await connect();
      return;
    }
    if (!reply.ok) {
      o.onEvent?.({ type: 'refused', reply });
      if (reply.refusal === 'badAnswers' || reply.refusal === 'badRequest') {
        throw new Error(`step ${step.type} refused: ${reply.message}`);
      }
      // badStep: the page is stale (a push is on its way); ask again.
      const again = await c.hello(tabId, ids).catch(() => null);
      if (again?.ok) show(again.view);
      else await sleep(200);
    }
  };

  try {
    await connect();
    for (;;) {
      if (Date.now() > deadline) throw new Error('gave up: the study took too long');
      const v = (view as StudyView | null)!;
      const s = v.scene;
      if (s.kind === 'end') break;
      if (s.kind === 'info') {
        await stepOrReconnect({
          sceneId: s.id,
          type: s.consent ? (o.decline ? 'decline' : 'accept') : 'continue',
        });
      } else if (s.kind === 'survey') {
        await stepOrReconnect({
          sceneId: s.id,
          type: 'answer',
          answers: randomAnswers(s.questions, rng),
        });
      } else {
        await playGame(v);
      }
    }
  } catch (err) {
    error = err instanceof Error ? err.message : String(err);
  }

  async function playGame(v: StudyView): Promise<void> {
    const s = v.scene;
    if (s.kind !== 'game') return;
    const c = await connect();
    const choices: Input[] = [];
    if (s.actions) {
      choices.push(discreteActionInput(s.actions.defaultAction));
      for (const n of Object.values(s.actions.map)) choices.push(discreteActionInput(n));
    }
    let runner: MatchRunner<unknown> | null = null;
    // The server moves the participant on by itself (waiting room timed out, partner lost):
    // the runner then has nothing more to do.
    const stop = c.onView((nv) => {
      if (nv.scene.id !== s.id) runner?.leave('the study moved on');
    });
    let matchId: string | null = null;
    let end: string | null = null;
    try {
      const result = await playMatch({
        url: o.url,
        scene: s.relayScene,
        participantId: v.participantId,
        auth: { studyToken: c.token ?? '' },
        policy: o.policy ?? builtinPolicy('random', { sim: s.sim, choices }),
        episodes: { episodes: s.episodes, framesPerEpisode: s.framesPerEpisode },
        seed: rng.nextU32(),
        impairment: o.impairment,
        simFactory: o.simFactory,
        onConnection: o.onConnection,
        onRunner: (r) => {
          runner = r;
          o.onRunner?.(r, v);
        },
      });
      matchId = result.matchId;
      end = result.end
        ? `${result.end.kind}: ${result.end.reason}`
        : (result.refusal ?? 'no match');
    } finally {
      stop();
    }
    games.push({ sceneId: s.id, matchId });
    o.onEvent?.({ type: 'game', sceneId: s.id, matchId, end });
    // The server's move comes with the match's end; wait for it, then ask (a restart lost it).
    const next = conn?.open ? await conn.nextScene(s.id, 5000) : null;
    if (next === null) {
      const c2 = await connect();
      const again = await c2.hello(tabId, ids).catch(() => null);
      if (again?.ok) show(again.view);
      if (view && (view as StudyView).scene.id === s.id) await sleep(250);
    }
  }

  (conn as StudyConnection | null)?.close();
  const last = view as StudyView | null;
  const end = last?.scene.kind === 'end' ? last.scene : null;
  return {
    participantId: last?.participantId ?? '',
    sceneId: last?.scene.id ?? '',
    finished: end !== null,
    outcome: end?.outcome ?? null,
    completionCode: end?.completionCode ?? null,
    redirect: end?.redirect ?? null,
    scenes,
    games,
    error,
  };
}
