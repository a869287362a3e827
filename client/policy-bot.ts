/**
 * A bot that plays one match of a study scene through the {@link MatchRunner} with a policy: a
 * function from the state and the bot's slot to an input. The same peer serves the pilot's
 * headless participants (client/study-client.ts) and the relay's bot partners (a waiting room
 * that timed out with `onTimeout: bot`, a seat taken over with `onPartnerLost: bot`): it joins
 * (or rejoins a seat with its token) over a real socket.io connection, so its inputs travel, are
 * checked and are logged like a player's.
 *
 * @packageDocumentation
 */
import {
  ConcordError,
  episodicFactory,
  type Frame,
  getSimFactory,
  type Input,
  initStateHash,
  NEUTRAL_INPUT,
  type PlayerSlot,
  Prng,
  randomDuelInput,
  type Sim,
  type SimFactory,
} from '../sim/index.ts';
import { isPythonSimSpec, pythonSimFactory, sharedPyodide } from '../sim/python/index.ts';
import type { MatchStart } from './match-client.ts';
import { MatchRunner, type RunnerEnd, type Seat } from './match-runner.ts';
import { type LinkImpairment, RealClock } from './net/index.ts';
import { findPythonEnv } from './python-env.ts';
import { RelayConnection } from './transport/relay-connection.ts';

/** What a {@link BotPolicy} sees on each tick. */
export interface BotView {
  /** The frame the bot's input steps from. */
  readonly frame: Frame;
  /**
   * The confirmed frame: every player's input is known up to it, so the state is final up to
   * here and predicted after it (rollback; in lockstep it is `frame`).
   */
  readonly confirmedFrame: Frame;
  /** The bot's slot. */
  readonly slot: PlayerSlot;
  readonly players: number;
  /**
   * The sim's state at `frame` (its `save()` snapshot), made when called (a Python sim's save is
   * not free): confirmed up to the session's confirmed frame, predicted after it (rollback).
   * Read it; never change it.
   */
  readonly state: () => unknown;
  /** The scene's default input (its `defaultAction`, else the sim's neutral input). */
  readonly defaultInput: Input;
  /** The bot's own seeded random numbers (a policy must not use `Math.random`, to be re-runnable). */
  readonly rng: Prng;
}

/** A bot policy: the input for the tick that steps from `view.frame`; null for the default input. */
export type BotPolicy = (view: BotView) => Input | null;

/** Settings of a built-in policy. */
export interface BuiltinPolicyOptions {
  /** The sim spec the policy plays (the duel gets its own random aim and movement). */
  readonly sim: string;
  /**
   * The inputs a person could give in the scene (its action map's `choices`: the default's, then
   * each key's), when the scene maps keys; else the policy draws its own.
   */
  readonly choices?: readonly Input[];
}

/**
 * The built-in policies: `idle` plays the default input every frame; `random` holds a random
 * input for 3–10 frames, as a person would: one of the scene's `choices` when it maps keys (what
 * a person could press); else in the duel a random move, aim and fire; else random buttons 0..4.
 * @throws ConcordError `BAD_CONFIG` for another name
 */
export function builtinPolicy(name: string, o: BuiltinPolicyOptions): BotPolicy {
  if (name === 'idle') return () => null;
  if (name !== 'random') {
    throw new ConcordError('BAD_CONFIG', `no built-in bot policy "${name}" (random, idle)`);
  }
  let held: Input = NEUTRAL_INPUT;
  let holdFrames = 0;
  return (view) => {
    if (holdFrames-- > 0) return held;
    holdFrames = 3 + view.rng.nextInt(8);
    const u = view.rng.nextU32();
    if (o.choices && o.choices.length > 1) held = o.choices[u % o.choices.length];
    else if (o.sim === 'duel') held = randomDuelInput(u);
    else held = { buttons: u & 0x1f, x: 0, y: 0 };
    return held;
  };
}

/** Settings of {@link playMatch}. */
export interface PlayMatchOptions {
  /** The relay, e.g. `http://127.0.0.1:8080`. */
  readonly url: string;
  /** The relay scene to join. */
  readonly scene: string;
  /** The participant id sent with `join` and `rejoin` (a bot taking a seat sends the seat's). */
  readonly participantId: string | null;
  /** The socket.io handshake `auth` of every connection (`{ studyToken }`). */
  readonly auth?: Readonly<Record<string, string>>;
  /** Rejoin this seat (take it over) instead of joining the queue. */
  readonly seat?: Seat;
  readonly policy: BotPolicy;
  /** Episodes of the match (default 1): the sim is wrapped in the episode wrapper when more. */
  readonly episodes?: { readonly episodes: number; readonly framesPerEpisode: number };
  /**
   * The scene's default input (its `defaultAction`): what the policy's null means, and what every
   * peer plays for a departed player (the sim's `defaultInput` is replaced by it). Default: the
   * sim's own.
   */
  readonly defaultInput?: Input;
  /** Seed of the policy's random numbers and of the impairment. */
  readonly seed: number;
  /** Impairment of the connection, both ways (socket.io: loss is retransmitted, as TCP does). */
  readonly impairment?: LinkImpairment;
  /**
   * The factory of a sim spec this process holds (a sim module the relay bundled, when the bot
   * runs beside it), or null; built-in and Python sims need none.
   */
  readonly simFactory?: (sim: string) => SimFactory | null;
  /** Called with each new connection to the relay (a test cuts one to make the runner rejoin). */
  readonly onConnection?: (connection: RelayConnection) => void;
  /** Called with the runner once it exists (to follow its events, or to leave it). */
  readonly onRunner?: (runner: MatchRunner<unknown>) => void;
  /** Give up after this long, in ms (default: 3 × the match's length + 60 s). */
  readonly timeoutMs?: number;
}

/** How a bot's match went. */
export interface PlayMatchResult {
  /** How the match ended for the bot, or null when it never started (refused, closed). */
  readonly end: RunnerEnd | null;
  /** The match id and slot, when it started. */
  readonly matchId: string | null;
  readonly slot: PlayerSlot | null;
  /** The last error the relay sent (a refused join), or null. */
  readonly refusal: string | null;
}

/** The sim factory of a relay scene's sim: built in, or a Python environment from the relay. */
async function simFactoryFor(url: string, scene: string, sim: string): Promise<SimFactory> {
  if (isPythonSimSpec(sim)) {
    const env = await findPythonEnv(url, scene);
    if (env === null) {
      throw new ConcordError('BAD_CONFIG', `the relay serves no Python environment for "${scene}"`);
    }
    const pyodide = await sharedPyodide();
    if (env.packages.length > 0) await pyodide.loadPackage([...env.packages]);
    return pythonSimFactory({
      id: env.sim,
      source: env.source,
      className: env.className ?? undefined,
      pyodide,
    });
  }
  return getSimFactory(sim);
}

/**
 * Plays one match with `policy` through the real relay: joins `scene` (or rejoins `seat`), plays
 * to the frame limit (and on alone when its partners left: the relay decides when the match
 * ends), and resolves when the runner closed. The local input of each tick is the policy's.
 * @throws ConcordError `BAD_CONFIG` when the scene's sim cannot be made here (a Python
 *   environment the relay does not serve; a sim module `simFactory` does not give)
 */
export async function playMatch(o: PlayMatchOptions): Promise<PlayMatchResult> {
  await initStateHash();
  const clock = new RealClock();
  const rng = Prng.fromSeed(o.seed);
  const imp = o.impairment;
  const tcp: LinkImpairment | undefined = imp && { ...imp, ordered: true };
  const factories = new Map<string, SimFactory>();
  let sim: Sim<unknown> | null = null;
  let prepared: Promise<void> | null = null;
  let simError: unknown = null;

  // The sim is known only from `start`: a Python environment is fetched before joining when the
  // relay serves one for this scene, so that createSim (synchronous) finds its factory.
  const env = await findPythonEnv(o.url, o.scene).catch(() => null);
  if (env) {
    prepared = simFactoryFor(o.url, o.scene, env.sim).then((f) => {
      factories.set(env.sim, f);
    });
    await prepared;
  }
  const createSim = (start: MatchStart): Sim<unknown> => {
    const s = start.settings;
    try {
      let factory = factories.get(s.sim) ?? o.simFactory?.(s.sim) ?? getSimFactory(s.sim);
      if (o.episodes && o.episodes.episodes > 1) factory = episodicFactory(factory, o.episodes);
      const made = factory.create({ players: s.players, seed: start.seed });
      // A departed player plays the scene's default input on every peer, as the relay and replay do.
      const scene = o.defaultInput;
      if (scene)
        (made as { defaultInput?: (slot: PlayerSlot) => Input }).defaultInput = () => scene;
      sim = made;
      return made;
    } catch (err) {
      simError = err;
      throw err;
    }
  };
  const runner: MatchRunner<unknown> = new MatchRunner({
    connect: async () => {
      const c = await RelayConnection.connect(o.url, {
        impairment: tcp,
        seed: o.seed,
        clock,
        auth: o.auth,
      });
      o.onConnection?.(c);
      return c;
    },
    scheduler: clock,
    scene: o.scene,
    participantId: o.participantId,
    seat: o.seat ?? null,
    createSim,
    input: (frame) => {
      const m = runner.match;
      if (!m || !sim) return null;
      const defaultInput = o.defaultInput ?? sim.defaultInput?.(m.slot) ?? NEUTRAL_INPUT;
      return (
        o.policy({
          frame,
          confirmedFrame: m.peer.session.confirmedFrame,
          slot: m.slot,
          players: m.settings.players,
          state: () => sim!.save(),
          defaultInput,
          rng,
        }) ?? defaultInput
      );
    },
    countdownMs: 0,
    playAlone: true,
  });
  o.onRunner?.(runner);
  let refusal: string | null = null;
  let timeout: ReturnType<typeof setTimeout> | null = null;
  runner.on((e) => {
    if (e.type === 'error') refusal = e.message;
    else if (e.type === 'phase' && e.phase === 'idle') runner.leave('refused or disconnected');
    else if (e.type === 'match' && timeout === null) {
      const s = e.match.settings;
      const frames = s.frames > 0 ? s.frames : 36_000;
      timeout = setTimeout(
        () => runner.leave('timed out'),
        o.timeoutMs ?? ((3 * frames) / s.tickRate) * 1000 + 60_000,
      );
    }
  });
  runner.join();
  const end = await runner.closed;
  if (timeout !== null) clearTimeout(timeout);
  (sim as { dispose?: () => void } | null)?.dispose?.();
  if (simError !== null) throw simError;
  const m = runner.matches.at(-1) ?? null;
  return { end, matchId: m?.matchId ?? null, slot: m?.slot ?? null, refusal };
}
