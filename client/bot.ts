import { MAX_FAULT_REASON_LENGTH, PRESENCE } from '../protocol/index.ts';
import {
  ConcordError,
  type Frame,
  getSimFactory,
  type Input,
  initStateHash,
  type PlayerSlot,
  Prng,
  randomDuelInput,
  type SimFactory,
} from '../sim/index.ts';
import {
  isPythonSimSpec,
  type PythonSim,
  pythonSimFactory,
  sharedPyodide,
} from '../sim/python/index.ts';
import { FixedTimestep, type SessionStats, slowdownFor } from '../sim/sync/index.ts';
import { CorruptingSim } from './faults.ts';
import { MatchClient, type MatchStart, type ResyncStats } from './match-client.ts';
import type { LinkImpairment } from './net/index.ts';
import { findPythonEnv, type PythonEnvSource } from './python-env.ts';
import { RelayConnection } from './transport/relay-connection.ts';

/** Faults a bot injects into its own match, for tests and pilots. */
export interface BotFaults {
  /** Corrupt one field of this bot's state when a step produces this frame. */
  readonly desyncAt?: Frame;
  /** Cut this bot's connection when it reaches this frame... */
  readonly dropAt?: Frame;
  /** ...for this long (ms), then rejoin with the match's token; without it, leave for good. */
  readonly dropForMs?: number;
}

/** Settings of {@link runBot}. */
export interface BotOptions {
  /** The relay, e.g. `http://127.0.0.1:8080`. */
  readonly url: string;
  /** The scene to join. */
  readonly scene: string;
  /**
   * Frames to play: the bot reports the hash of this confirmed frame (rounded up to a multiple
   * of the scene's hashInterval, the frames every peer keeps a hash of) and waits for the end.
   */
  readonly frames: number;
  /** Seed of the bot's inputs and of its impairment's draws. */
  readonly seed: number;
  /** Impairment of the bot's connection, applied both ways. */
  readonly impairment?: LinkImpairment;
  readonly participantId?: string;
  /** Faults to inject, chosen per bot by the caller once it knows the bot's slot. */
  readonly faults?: (slot: PlayerSlot) => BotFaults | undefined;
  /** Give up after this long, in ms (default: 3 × the match's length + 60 s). */
  readonly timeoutMs?: number;
  /** A local input for `frame` was sent, at `atMs` (performance.now()). */
  readonly onInputSent?: (matchId: string, slot: PlayerSlot, frame: Frame, atMs: number) => void;
  /** An input of `fromSlot` for `frame` reached this bot (slot `toSlot`) at `atMs`. */
  readonly onInputReceived?: (
    matchId: string,
    fromSlot: PlayerSlot,
    toSlot: PlayerSlot,
    frame: Frame,
    atMs: number,
  ) => void;
}

/** What one bot saw. */
export interface BotResult {
  readonly matchId: string;
  readonly slot: PlayerSlot;
  /** The frame whose hash the bot reported. */
  readonly finalFrame: Frame;
  /** Hash of the confirmed state at `finalFrame`, or null when the bot never got there. */
  readonly finalHash: string | null;
  readonly finished: boolean;
  readonly desyncs: number;
  readonly agreedChecks: number;
  readonly resync: ResyncStats;
  /** Times this bot rejoined after a drop. */
  readonly rejoins: number;
  /**
   * True when this bot left for good (a drop without return) or the relay refused its rejoin
   * (the grace period had passed): the match went on without it.
   */
  readonly lost: boolean;
  readonly endReason: string | null;
  /**
   * What the bot's sim threw (its message), when a step threw: the bot then told the relay
   * (`fault`) and left the match. Null otherwise.
   */
  readonly fault: string | null;
  readonly stats: SessionStats;
}

const now = (): number => performance.now(); // clock-ok: driving the loop, not the sim

/** Waits for the relay's `start` (or `rejoined`) message on a fresh connection. */
function awaitStart(conn: RelayConnection, send: () => void): Promise<MatchStart> {
  return new Promise<MatchStart>((resolve, reject) => {
    const off = conn.onMessage((m) => {
      if (m.kind === 'start' || m.kind === 'rejoined') {
        // Whatever follows waits in the connection's queue for the match's own handler.
        off();
        resolve(m);
      } else if (m.kind === 'error') reject(new Error(`relay refused: ${m.code}: ${m.message}`));
    });
    conn.onClose((reason) => reject(new Error(`connection closed before the match: ${reason}`)));
    send();
  });
}

/**
 * The factory of a Python scene's environment, in the process's shared Pyodide (one interpreter
 * for every bot of the process, each sim in its own module), with the scene's extra packages.
 */
async function pythonFactory(env: PythonEnvSource): Promise<SimFactory> {
  const pyodide = await sharedPyodide();
  if (env.packages.length > 0) await pyodide.loadPackage([...env.packages]);
  return pythonSimFactory({
    id: env.sim,
    source: env.source,
    className: env.className ?? undefined,
    pyodide,
  });
}

/** Actions the default discrete mapping can express: 0 (no button) and 1..16 (bits 0..15). */
const MAX_MAPPED_ACTIONS = 17;

/**
 * The input that the default mapping (`discreteActionMapping`) turns into `action`: no button
 * for 0, else button bit `action - 1`.
 */
export function inputForAction(action: number): Input {
  if (!Number.isInteger(action) || action < 0 || action >= MAX_MAPPED_ACTIONS) {
    throw new ConcordError('BAD_INPUT', `action ${action} is outside 0..${MAX_MAPPED_ACTIONS - 1}`);
  }
  return { buttons: action === 0 ? 0 : 1 << (action - 1), x: 0, y: 0 };
}

/**
 * A headless peer: joins a scene through the real relay, plays seeded random inputs at the
 * scene's tick rate on the real clock (holding each input for 4-11 frames, as a person would),
 * takes part in hash checks and resyncs like any peer, and after `frames` frames reports its
 * final hash and waits for the relay to end the match. It can corrupt its own state or cut its
 * connection and rejoin (`faults`).
 *
 * In a Python scene the bot fetches the environment from the relay (`GET /sims/<scene>`) before
 * it joins and runs it in the process's shared Pyodide. Its inputs are actions drawn uniformly
 * from the agent's discrete action space (`actionCounts`, at most the 17 actions the default
 * mapping can express), turned into buttons by inverting the default mapping; without an
 * action space, random button bits 0..4.
 * @throws Error when the relay cannot be reached or refuses the join; ConcordError
 *   `BAD_CONFIG` when a Python scene's environment cannot be fetched or loaded
 */
export async function runBot(o: BotOptions): Promise<BotResult> {
  await initStateHash();
  const env = await findPythonEnv(o.url, o.scene);
  const python = env ? await pythonFactory(env) : null;
  const connect = () => RelayConnection.connect(o.url, { impairment: o.impairment, seed: o.seed });
  let conn = await connect();
  const start = await awaitStart(conn, () =>
    conn.send({ kind: 'join', scene: o.scene, participantId: o.participantId ?? null }),
  );
  const faults = o.faults?.(start.slot) ?? {};
  const settings = start.settings;
  if (isPythonSimSpec(settings.sim) && env?.sim !== settings.sim) {
    conn.close();
    throw new ConcordError(
      'BAD_CONFIG',
      `scene "${o.scene}" runs ${settings.sim} but the relay served ${env ? env.sim : 'no Python environment'} at /sims/${o.scene}`,
    );
  }
  const factory = python ?? getSimFactory(settings.sim);
  const pythonSims: PythonSim[] = [];
  const makeMatch = (c: RelayConnection, s: MatchStart): MatchClient => {
    const inner = factory.create({ players: settings.players, seed: s.seed });
    if (python) pythonSims.push(inner as PythonSim);
    const sim = faults.desyncAt !== undefined ? new CorruptingSim(inner, faults.desyncAt) : inner;
    const m = new MatchClient(
      c,
      s,
      {
        onInputSent: (frame) => o.onInputSent?.(s.matchId, s.slot, frame, now()),
        onInputReceived: (slot, frame) =>
          o.onInputReceived?.(s.matchId, slot, s.slot, frame, now()),
      },
      sim,
    );
    c.onMessage((msg) => m.handle(msg, now()));
    return m;
  };
  let match = makeMatch(conn, start);
  let closed = false;
  conn.onClose(() => {
    closed = true;
  });

  const rng = Prng.fromSeed(o.seed);
  const isDuel = settings.sim === 'duel';
  const actionCount = python ? (pythonSims[0].actionCounts[start.slot] ?? null) : null;
  let input: Input = { buttons: 0, x: 0, y: 0 };
  let holdFrames = 0;
  const nextInput = (): Input => {
    if (holdFrames-- <= 0) {
      holdFrames = 4 + rng.nextInt(8);
      const u = rng.nextU32();
      if (isDuel) input = randomDuelInput(u);
      else if (actionCount !== null)
        input = inputForAction(u % Math.min(actionCount, MAX_MAPPED_ACTIONS));
      else if (python) input = { buttons: u & 0x1f, x: 0, y: 0 };
      else input = { buttons: u & 0xffff, x: 0, y: 0 };
    }
    return input;
  };

  const finalFrame = Math.ceil(o.frames / settings.hashInterval) * settings.hashInterval;
  const timestep = new FixedTimestep({ tickRate: settings.tickRate });
  const timeoutMs = o.timeoutMs ?? ((3 * finalFrame) / settings.tickRate) * 1000 + 60_000;
  const began = now();
  let finalHash: string | null = null;
  let rejoins = 0;
  let lost = false;
  let fault: string | null = null;
  let dropped = faults.dropAt === undefined;
  const previous: MatchClient[] = [];

  const rejoin = async (): Promise<void> => {
    previous.push(match);
    conn.close();
    if (faults.dropForMs === undefined) {
      lost = true; // left for good
      return;
    }
    await new Promise((r) => setTimeout(r, faults.dropForMs ?? 0));
    conn = await connect();
    closed = false;
    conn.onClose(() => {
      closed = true;
    });
    try {
      const again = await awaitStart(conn, () =>
        conn.send({
          kind: 'rejoin',
          matchId: start.matchId,
          token: start.token,
          participantId: o.participantId ?? null,
        }),
      );
      match = makeMatch(conn, again);
      rejoins++;
    } catch {
      lost = true;
    }
  };

  await new Promise<void>((resolve) => {
    let last = now();
    let lastPing = Number.NEGATIVE_INFINITY;
    let pingId = 0;
    const loop = (): void => {
      const t = now();
      // The heartbeat: the relay takes a member it has not heard from for a while as away, and a
      // bot that stalls (waiting for the others' inputs) sends nothing else.
      if (t - lastPing >= PRESENCE.heartbeatMs) {
        lastPing = t;
        conn.send({ kind: 'ping', id: pingId++ >>> 0, sentMs: t });
      }
      const ticks = timestep.update(t - last);
      last = t;
      try {
        if (match.ready) for (let i = 0; i < ticks; i++) match.tick(nextInput(), t);
      } catch (err) {
        // The sim threw (a Python environment's own code, say): say so to the relay, which logs
        // it and ends the match or goes on without this seat, and report it rather than crash.
        fault = (err instanceof Error ? err.message : String(err)).slice(
          0,
          MAX_FAULT_REASON_LENGTH,
        );
        lost = true;
        conn.send({ kind: 'fault', frame: match.peer.session.frame, reason: fault });
        resolve();
        return;
      }
      timestep.setSlowdown(slowdownFor(match.peer.session.frameAdvantage()));
      if (!dropped && match.peer.session.frame >= (faults.dropAt ?? 0)) {
        dropped = true;
        rejoin().then(() => {
          last = now();
          if (lost) resolve();
          else setTimeout(loop, 1);
        });
        return;
      }
      if (finalHash === null && match.ready) finalHash = match.finishAt(finalFrame);
      const othersGone = match.departed.size === settings.players - 1;
      if (
        match.endReason !== null ||
        closed ||
        t - began > timeoutMs ||
        (finalHash && othersGone)
      ) {
        resolve();
        return;
      }
      setTimeout(loop, Math.max(1, timestep.tickMs - timestep.backlogMs));
    };
    loop();
  });
  conn.close();
  for (const sim of pythonSims) sim.dispose();
  // Desyncs and resyncs seen before a drop count too.
  const all = [...previous, match];
  const resync: ResyncStats = {
    desyncs: Math.max(...all.map((m) => m.resync.desyncs)),
    desyncFrames: [...new Set(all.flatMap((m) => m.resync.desyncFrames))],
    resyncs: sum(all, (m) => m.resync.resyncs),
    resyncBytes: sum(all, (m) => m.resync.resyncBytes),
    fullStateRequests: sum(all, (m) => m.resync.fullStateRequests),
    statesSent: sum(all, (m) => m.resync.statesSent),
    stateBytesSent: sum(all, (m) => m.resync.stateBytesSent),
    fullStateBytes: sum(all, (m) => m.resync.fullStateBytes),
    framesToConverge: all.flatMap((m) => m.resync.framesToConverge),
  };
  return {
    matchId: start.matchId,
    slot: start.slot,
    finalFrame,
    finalHash,
    finished: finalHash !== null,
    desyncs: resync.desyncs,
    agreedChecks: sum(all, (m) => m.agreedChecks),
    resync,
    rejoins,
    lost,
    endReason: match.endReason,
    fault,
    stats: match.peer.session.stats(),
  };
}

function sum<T>(list: readonly T[], f: (t: T) => number): number {
  return list.reduce((a, t) => a + f(t), 0);
}
