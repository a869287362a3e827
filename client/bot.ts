import type { InputPath, InputTransportSetting } from '../protocol/index.ts';
import {
  ConcordError,
  type Frame,
  getSimFactory,
  type Input,
  initStateHash,
  type PlayerSlot,
  Prng,
  randomDuelInput,
  type Sim,
  type SimFactory,
} from '../sim/index.ts';
import {
  isPythonSimSpec,
  type PythonSim,
  pythonSimFactory,
  sharedPyodide,
} from '../sim/python/index.ts';
import type { SessionStats } from '../sim/sync/index.ts';
import type { AuthoritativeClientStats } from './authoritative-client.ts';
import { CorruptingSim } from './faults.ts';
import type { MatchStart, ResyncStats } from './match-client.ts';
import { MatchRunner } from './match-runner.ts';
import { type LinkImpairment, RealClock } from './net/index.ts';
import { findPythonEnv, type PythonEnvSource } from './python-env.ts';
import { PeerDataChannel } from './transport/datachannel.ts';
import {
  DatagramTransport,
  type DatagramTransportStats,
  sumDatagramStats,
} from './transport/datagram-transport.ts';
import { RelayConnection } from './transport/relay-connection.ts';

/** Faults a bot injects into its own match, for tests and pilots. */
export interface BotFaults {
  /** Corrupt one field of this bot's state when a step produces this frame. */
  readonly desyncAt?: Frame;
  /** Cut this bot's connection when it reaches this frame... */
  readonly dropAt?: Frame;
  /**
   * ...and hold new connections back for this long (ms): the match runner then rejoins the seat
   * as after any network cut. Without it, the bot leaves for good.
   */
  readonly dropForMs?: number;
  /**
   * From this frame on, send impossible moves (an authoritative host's checks must correct them
   * and, past the scene's threshold, remove the bot): fire pressed every other frame, faster than
   * any duel weapon fires, and buttons the sim does not have.
   */
  readonly cheatFrom?: Frame;
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
  /**
   * Impairment of the bot's connection, applied both ways: to socket.io as a TCP link (loss is
   * retransmitted after an RTO), to the DataChannel as a datagram link (loss drops one datagram
   * and nothing waits; duplication and reorder as given).
   */
  readonly impairment?: LinkImpairment;
  /**
   * What carries the bot's inputs (default: the scene's `transport`): `webrtc` and `auto` use a
   * real DataChannel to the relay (node-datachannel on loopback), `websocket` socket.io only.
   */
  readonly transport?: InputTransportSetting;
  /** Each new connection's transport, for tests that act on it (close its DataChannel, say). */
  readonly onTransport?: (t: DatagramTransport) => void;
  readonly participantId?: string;
  /** The socket.io handshake's `auth` of every connection (a study scene wants `{ studyToken }`). */
  readonly auth?: Readonly<Record<string, string>>;
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
  /** What carried the bot's inputs at the end. */
  readonly inputPath: InputPath;
  /** How often the inputs changed path over the match (every connection's). */
  readonly inputPathChanges: number;
  /** The DataChannel side's counters, summed over the bot's connections. */
  readonly datagrams: DatagramTransportStats;
  /**
   * In an authoritative match: what the bot's prediction saw (its last connection's), and the
   * host's hash of every state it loaded, by frame (every connection's); null otherwise.
   */
  readonly authoritative: {
    readonly stats: AuthoritativeClientStats;
    readonly hostHashes: readonly (readonly [Frame, string])[];
  } | null;
}

/** Node's RTCPeerConnection (node-datachannel's polyfill), loaded when a bot first needs it. */
async function nodePeerChannel(): Promise<PeerDataChannel> {
  const { RTCPeerConnection } = await import('node-datachannel/polyfill');
  return PeerDataChannel.create({
    RTCPeerConnection: RTCPeerConnection as unknown as typeof globalThis.RTCPeerConnection,
    configuration: { iceServers: [], bindAddress: '127.0.0.1' } as RTCConfiguration,
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
 * A headless peer, a thin host of the {@link MatchRunner}: joins a scene through the real relay,
 * plays seeded random inputs at the scene's tick rate on the real clock (holding each input for
 * 4-11 frames, as a person would), takes part in hash checks and resyncs like any peer, and after
 * `frames` frames reports its final hash and waits for the relay to end the match. It plays on
 * alone when every other player has left, and has no countdown. It can corrupt its own state or
 * cut its connection (`faults`): a cut closes the connection and holds new ones back for
 * `dropForMs`, so the runner rejoins exactly as after a network cut.
 *
 * In a Python scene the bot fetches the environment from the relay (`GET /sims/<scene>`) before
 * it joins and runs it in the process's shared Pyodide. Its inputs are actions drawn uniformly
 * from the agent's discrete action space (`actionCounts`, at most the 17 actions the default
 * mapping can express), turned into buttons by inverting the default mapping; without an
 * action space, random button bits 0..4.
 * @throws Error when the relay cannot be reached or refuses the join; ConcordError
 *   `BAD_CONFIG` when a Python scene's environment cannot be fetched or loaded, or the scene runs
 *   another sim than the one the relay served
 */
export async function runBot(o: BotOptions): Promise<BotResult> {
  await initStateHash();
  const env = await findPythonEnv(o.url, o.scene);
  const python = env ? await pythonFactory(env) : null;
  const clock = new RealClock();
  /** A cut (fault) holds new connections back until this time (the clock's ms). */
  let cutUntilMs = 0;
  let conn: DatagramTransport | null = null;
  const transports: DatagramTransport[] = [];
  const imp = o.impairment;
  // socket.io is a TCP link: loss delays, it never drops, duplicates or reorders.
  const tcp: LinkImpairment | undefined = imp && {
    latencyMs: imp.latencyMs,
    jitterMs: imp.jitterMs,
    lossPct: imp.lossPct,
    ordered: true,
  };
  const connect = async (): Promise<DatagramTransport> => {
    const wait = cutUntilMs - clock.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const socket = await RelayConnection.connect(o.url, {
      impairment: tcp,
      seed: o.seed,
      clock,
      auth: o.auth,
    });
    conn = new DatagramTransport(socket, {
      clock,
      createChannel: nodePeerChannel,
      transport: o.transport,
      impairment: imp && { ...imp, ordered: false },
      seed: o.seed + transports.length * 7919,
    });
    transports.push(conn);
    o.onTransport?.(conn);
    return conn;
  };

  let faults: BotFaults | null = null;
  let configError: ConcordError | null = null;
  const pythonSims: PythonSim[] = [];
  const createSim = (start: MatchStart): Sim<unknown> => {
    const s = start.settings;
    faults ??= o.faults?.(start.slot) ?? {};
    if (isPythonSimSpec(s.sim) && env?.sim !== s.sim) {
      configError = new ConcordError(
        'BAD_CONFIG',
        `scene "${o.scene}" runs ${s.sim} but the relay served ${env ? env.sim : 'no Python environment'} at /sims/${o.scene}`,
      );
      throw configError;
    }
    const inner = (python ?? getSimFactory(s.sim)).create({ players: s.players, seed: start.seed });
    if (python) pythonSims.push(inner as PythonSim);
    return faults.desyncAt !== undefined ? new CorruptingSim(inner, faults.desyncAt) : inner;
  };

  const rng = Prng.fromSeed(o.seed);
  let input: Input = { buttons: 0, x: 0, y: 0 };
  let holdFrames = 0;
  const nextInput = (): Input => {
    if (holdFrames-- <= 0) {
      holdFrames = 4 + rng.nextInt(8);
      const u = rng.nextU32();
      const match = runner.match;
      const actionCount =
        python && match ? (pythonSims[0]?.actionCounts[match.slot] ?? null) : null;
      if (match?.settings.sim === 'duel') input = randomDuelInput(u);
      else if (actionCount !== null)
        input = inputForAction(u % Math.min(actionCount, MAX_MAPPED_ACTIONS));
      else if (python) input = { buttons: u & 0x1f, x: 0, y: 0 };
      else input = { buttons: u & 0xffff, x: 0, y: 0 };
    }
    return input;
  };

  const runner: MatchRunner<unknown> = new MatchRunner({
    connect,
    scheduler: clock,
    scene: o.scene,
    participantId: o.participantId ?? null,
    createSim,
    input: (frame) => {
      const honest = nextInput();
      const from = faults?.cheatFrom;
      if (from === undefined || frame < from) return honest;
      // Fire on even frames, released on odd ones; an unknown button bit on every fourth.
      const fire = frame % 2 === 0 ? 16 : 0;
      return { ...honest, buttons: (honest.buttons & 15) | fire | (frame % 4 === 1 ? 0x400 : 0) };
    },
    countdownMs: 0,
    frames: o.frames,
    playAlone: true,
    observers: {
      onInputSent: (frame) => {
        const m = runner.match;
        if (m) o.onInputSent?.(m.matchId, m.slot, frame, clock.now());
      },
      onInputReceived: (slot, frame) => {
        const m = runner.match;
        if (m) o.onInputReceived?.(m.matchId, slot, m.slot, frame, clock.now());
      },
    },
  });

  let refusal: string | null = null;
  let leftForGood = false;
  let dropped = false;
  let timeout: ReturnType<typeof setTimeout> | null = null;
  runner.on((e) => {
    switch (e.type) {
      case 'error':
        refusal = e.message;
        return;
      case 'phase':
        // Refused or disconnected before a match: give up (the caller reports it).
        if (e.phase === 'idle') runner.leave();
        return;
      case 'match': {
        if (timeout !== null) return;
        const s = e.match.settings;
        const frames = runner.finalFrame ?? o.frames;
        timeout = setTimeout(
          () => runner.leave('timed out'),
          o.timeoutMs ?? ((3 * frames) / s.tickRate) * 1000 + 60_000,
        );
        return;
      }
      case 'tick': {
        const f = faults;
        if (dropped || f?.dropAt === undefined || e.frame < f.dropAt) return;
        dropped = true;
        if (f.dropForMs === undefined) {
          leftForGood = true;
          runner.leave('left for good (a fault)');
          return;
        }
        cutUntilMs = clock.now() + f.dropForMs;
        conn?.close();
        return;
      }
      default:
        return;
    }
  });
  runner.join();
  const end = await runner.closed;
  if (timeout !== null) clearTimeout(timeout);
  for (const sim of pythonSims) sim.dispose();
  if (configError) throw configError;
  const all = runner.matches;
  const match = all.at(-1);
  if (!match || !end) {
    throw new Error(`relay refused or closed before the match: ${refusal ?? 'no start'}`);
  }
  // Desyncs and resyncs seen before a drop count too.
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
  const fault = end.kind === 'error' ? end.detail : null;
  return {
    matchId: match.matchId,
    slot: match.slot,
    finalFrame: runner.finalFrame ?? o.frames,
    finalHash: runner.finalHash,
    finished: runner.finalHash !== null,
    desyncs: resync.desyncs,
    agreedChecks: sum(all, (m) => m.agreedChecks),
    resync,
    rejoins: runner.rejoins,
    lost: leftForGood || end.kind === 'lost' || fault !== null,
    endReason: match.endReason,
    fault,
    stats: match.peer.session.stats(),
    inputPath: transports.at(-1)?.inputPath ?? 'websocket',
    inputPathChanges: sum(transports, (t) => t.pathChanges.length),
    datagrams: sumDatagramStats(transports.map((t) => t.stats())),
    authoritative: match.authoritative
      ? {
          stats: match.authoritative.stats(),
          hostHashes: all.flatMap((m) => [...(m.authoritative?.hostHashes ?? [])]),
        }
      : null,
  };
}

function sum<T>(list: readonly T[], f: (t: T) => number): number {
  return list.reduce((a, t) => a + f(t), 0);
}
