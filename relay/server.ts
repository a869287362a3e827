/**
 * The relay: an HTTP server ({@link httpRoutes}) with a socket.io server on it (websocket
 * transport only, Concord's single-frame binary parser), its connections ({@link ConnectionLayer}),
 * the matchmaker ({@link Matchmaker}) and the rooms it starts ({@link MatchRoom}). This file puts
 * them together and owns listening and shutdown.
 */
import {
  createServer,
  type Server as HttpServer,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { Server } from 'socket.io';
import { concordParser, PRESENCE, SCENE_LIMITS, type SceneSettings } from '../protocol/index.ts';
import { initStateHash } from '../sim/index.ts';
import { type AdminRoutes, adminRoutes } from './admin/routes.ts';
import { type AdminSource, relayAdminView } from './admin/source.ts';
import { resolveAdminToken } from './admin/token.ts';
import { type Connection, ConnectionLayer, datagramEvents } from './connections.ts';
import { DataChannelEndpoint, type DataChannelEndpointOptions } from './datachannel.ts';
import { httpRoutes } from './http-routes.ts';
import { LogDirectory } from './log/index.ts';
import { type Candidate, Matchmaker } from './matchmaker.ts';
import { ForwardLatency, relayMetrics } from './metrics.ts';
import type { RelayHooks } from './relay-hooks.ts';
import type { MatchRoom } from './room.ts';
import {
  BUILTIN_PYTHON_SCENES,
  BUILTIN_SCENES,
  loadPythonScenes,
  type PythonSceneOptions,
} from './scenes.ts';
import { type RelayScheduler, realScheduler } from './scheduler.ts';
import { SimHostPool } from './sim-host/index.ts';
import { emptyRelayStats, type RelayStats } from './stats.ts';

/** Settings of {@link startRelay}. */
export interface RelayOptions {
  /** TCP port; 0 picks a free one (default 8080). */
  readonly port?: number;
  /** Interface to listen on (default all interfaces). */
  readonly host?: string;
  /** Directory of match logs (default `./logs`). */
  readonly logsDir?: string;
  /** The scenes served, by name (default {@link BUILTIN_SCENES}). */
  readonly scenes?: Readonly<Record<string, SceneSettings>>;
  /**
   * Relay-side options of Python scenes, by scene name: where a relative file is resolved and
   * which extra Pyodide packages peers load. Merged over {@link BUILTIN_PYTHON_SCENES} (which
   * resolves `kitchen`'s file against the package root); a Python scene without an entry reads
   * its file relative to the cwd.
   */
  readonly python?: Readonly<Record<string, PythonSceneOptions>>;
  /** Most frames an input may run ahead of the room's slowest player (default `SCENE_LIMITS.framesAhead.max`). */
  readonly maxFramesAhead?: number;
  /** Directory of the built web client to serve at `/` (default: none). */
  readonly webRoot?: string;
  /**
   * Serve the study page at `/` and the demo page at `/play` (default false: the demo page at
   * both). Set when the relay serves an experiment.
   */
  readonly studyPage?: boolean;
  /** Extra HTTP routes, tried before the built-in ones; return true when handled. */
  readonly http?: (req: IncomingMessage, res: ServerResponse) => boolean;
  /**
   * Silence after which the relay takes a match member as away and closes its connection, ms
   * (default `PRESENCE.awayAfterSilentMs`; 0: never). Peers ping every `PRESENCE.heartbeatMs`.
   */
  readonly awayAfterSilentMs?: number;
  /** Time and timers of the rooms (default the real clock). */
  readonly scheduler?: RelayScheduler;
  /**
   * The UDP side: the relay's end of the peers' input DataChannels (bind address, public address
   * to announce, port range; see docs/transports.md), or false for none (every `rtcOffer` is
   * refused and inputs travel on socket.io). Default: DataChannels bound to loopback.
   */
  readonly webrtc?: DataChannelEndpointOptions | false;
  /** Where to report notable events (default: nowhere). */
  readonly onEvent?: (event: string, detail: Record<string, unknown>) => void;
  /**
   * The sim host that runs matches' desync referees: a pool of worker threads (default: a new
   * `SimHostPool` of the default size, closed with the relay; its workers start with the first
   * match), a pool of the caller's (left open), or null for none (every dispute is then decided
   * by the host rule, and the log says so).
   */
  readonly simHost?: SimHostPool | null;
  /**
   * The admin view and the replay viewer (`/admin`, `/replay/<match id>`, see docs/admin.md):
   * served only with a token (`resolveAdminToken`; there is no default), with the study's side
   * (participants, removal) from `source` when a study server runs. Absent: no admin route (404).
   */
  readonly admin?: { readonly token: string; readonly source?: AdminSource };
  /**
   * Participants by scene id, read at each scrape of `GET /metrics` (the `concord_participants`
   * gauge): how a study server around the relay reports where its participants are. Absent: the
   * gauge has no series. See docs/metrics.md.
   */
  readonly participants?: () => Readonly<Record<string, number>>;
  /** What runs a study around the relay (relay/study/): see {@link RelayHooks}. Default none. */
  readonly hooks?: RelayHooks;
}

/** What a study server needs of a running relay beyond {@link Relay}. */
export interface RelayControl {
  /** The socket.io server, to serve more namespaces (`/study`) beside the relay's `/`. */
  readonly io: Server;
  /** Takes `c` out of its scene's queue (nothing if it waits nowhere). */
  dequeue(c: Candidate): void;
  /** The candidates waiting in `scene`'s queue, in arrival order. */
  queue(scene: string): readonly Candidate[];
  /** The match under way with this id, if any. */
  room(matchId: string): MatchRoom | undefined;
}

/** A running relay. */
export interface Relay {
  /** e.g. `http://127.0.0.1:8080`. */
  readonly url: string;
  readonly port: number;
  readonly logsDir: string;
  stats(): RelayStats;
  /**
   * The prom-client registry that `GET /metrics` serves (docs/metrics.md): an embedder may add
   * metrics of its own to it (`new Gauge({ ..., registers: [relay.metrics] })`).
   */
  readonly metrics: Registry;
  /** See {@link RelayControl}. */
  readonly control: RelayControl;
  /** Stops serving: ends every match, flushes and closes every log, closes every connection. */
  close(reason?: string): Promise<void>;
}

/**
 * Starts the relay. Players join a scene's queue; every `players` of them in arrival order become
 * a room with slots in that order. Each input is validated and forwarded to the other members the
 * moment it arrives (no tick, no batching) and appended to the match log. The sender's slot and
 * room come from its connection, never from the message. Hash reports are compared per check
 * frame, the verdict recorded and sent to the room, and on a desync the host is asked at once for
 * the differing peers' state. A member the relay has not heard from for `awayAfterSilentMs` is
 * away, like one whose connection closed. Refused messages get an error reply and are counted;
 * they never reach another peer.
 *
 * Python scenes (sim `python:FILE[:CLASS]`): the relay reads each file once here and never runs
 * it (no Pyodide); `GET /sims/<scene>` serves it to the peers, the log header records the source
 * and its hash, and a departed player's input is the neutral input.
 *
 * @throws ConcordError `BAD_CONFIG` naming the scene and file when a Python scene's file cannot
 *   be read; an Error when the port cannot be bound
 */
export async function startRelay(options: RelayOptions = {}): Promise<Relay> {
  await initStateHash();
  const scenes = options.scenes ?? BUILTIN_SCENES;
  const pythonScenes = loadPythonScenes(scenes, { ...BUILTIN_PYTHON_SCENES, ...options.python });
  const logsDir = options.logsDir ?? './logs';
  const logs = new LogDirectory(logsDir);
  const onEvent = options.onEvent ?? (() => {});
  const ownSimHost = options.simHost === undefined;
  const simHost = ownSimHost ? new SimHostPool() : options.simHost;
  const stats = emptyRelayStats();
  const forwardLatency = new ForwardLatency();
  let closing = false;

  const connections = new ConnectionLayer(stats);
  const scheduler = options.scheduler ?? realScheduler();
  const matchmaker = new Matchmaker({
    scenes,
    pythonScenes,
    logs,
    stats,
    scheduler,
    refuse: connections.refuseMember,
    onEvent,
    maxFramesAhead: options.maxFramesAhead ?? SCENE_LIMITS.framesAhead.max,
    awayAfterSilentMs: options.awayAfterSilentMs ?? PRESENCE.awayAfterSilentMs,
    simHost: simHost ?? null,
    forwardLatency,
    hooks: options.hooks,
  });
  const snapshot = (): RelayStats => ({ ...stats, refused: { ...stats.refused } });
  const admin: AdminRoutes | null = options.admin
    ? adminRoutes({
        token: checkedToken(options.admin.token),
        logsDir,
        webRoot: options.webRoot,
        relay: relayAdminView(matchmaker, scheduler),
        source: options.admin.source,
        counters: () => ({ ...snapshot() }),
        onEvent,
      })
    : null;
  const metrics = relayMetrics({
    stats: () => stats,
    forwardLatency,
    participants: options.participants,
    simHost: simHost ? () => simHost.stats() : undefined,
  });
  const http: HttpServer = createServer(
    httpRoutes({
      http: (req, res) => options.http?.(req, res) || admin?.handle(req, res) || false,
      webRoot: options.webRoot,
      studyPage: options.studyPage ?? false,
      pythonScenes,
      stats: snapshot,
      closing: () => closing,
      simHost: simHost ? () => simHost.stats() : undefined,
      metrics,
    }),
  );
  const io = new Server(http, {
    transports: ['websocket'],
    parser: concordParser,
    serveClient: false,
    perMessageDeflate: false,
    maxHttpBufferSize: 1 << 20,
    pingInterval: 10_000,
    pingTimeout: 20_000,
  });
  const datagrams =
    options.webrtc === false
      ? undefined
      : new DataChannelEndpoint<Connection>(datagramEvents(stats), options.webrtc ?? {});
  connections.serve(io, {
    scenes,
    matchmaker,
    onEvent,
    closing: () => closing,
    datagrams,
    hooks: options.hooks,
  });

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(options.port ?? 8080, options.host, () => {
      http.off('error', reject);
      resolve();
    });
  });
  const port = (http.address() as AddressInfo).port;
  const host = options.host && options.host !== '0.0.0.0' ? options.host : '127.0.0.1';

  return {
    url: `http://${host}:${port}`,
    port,
    logsDir,
    stats: snapshot,
    metrics,
    control: {
      io,
      dequeue: (c) => matchmaker.leaveQueue(c),
      queue: (scene) => matchmaker.queue(scene),
      room: (matchId) => matchmaker.room(matchId),
    },
    close: async (reason = 'relay shutdown') => {
      if (closing) return;
      closing = true;
      admin?.close();
      matchmaker.endAll(reason);
      datagrams?.close();
      await logs.closeAll(reason);
      if (ownSimHost) await simHost?.close();
      io.disconnectSockets(true);
      await new Promise<void>((resolve) => io.close(() => resolve()));
      http.closeAllConnections?.();
    },
  };
}

/** The admin token given to `startRelay`, checked as the command line's (length, characters). */
function checkedToken(token: string): string {
  return resolveAdminToken(token, {}) as string;
}
