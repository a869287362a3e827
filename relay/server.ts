import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import {
  createServer,
  type Server as HttpServer,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { Server, type Socket } from 'socket.io';
import {
  APP_EVENT,
  type ClientMessage,
  concordParser,
  decodeClientMessage,
  encodeServerMessage,
  ProtocolError,
  type ProtocolErrorCode,
  SCENE_LIMITS,
  type SceneSettings,
  type ServerMessage,
} from '../protocol/index.ts';
import { encodeInput, getSimFactory, initStateHash, NEUTRAL_INPUT } from '../sim/index.ts';
import { attachAppHandler, detachAppHandler, directLink } from './direct-link.ts';
import { type HeaderRecord, LOG_FORMAT, LogDirectory, simCodeHash } from './log/index.ts';
import { pyodideFiles } from './pyodide-files.ts';
import {
  emptyRoomCounters,
  MatchRoom,
  type Member,
  type MemberLink,
  type RoomCounters,
} from './room.ts';
import {
  BUILTIN_PYTHON_SCENES,
  BUILTIN_SCENES,
  loadPythonScenes,
  type PythonSceneOptions,
  type PythonSceneSource,
} from './scenes.ts';
import { staticFiles } from './static-files.ts';

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
  /** Extra HTTP routes, tried before the built-in ones; return true when handled. */
  readonly http?: (req: IncomingMessage, res: ServerResponse) => boolean;
  /** Where to report notable events (default: nowhere). */
  readonly onEvent?: (event: string, detail: Record<string, unknown>) => void;
}

/** Counters of a running relay: the rooms' counters and the relay's own. */
export interface RelayStats extends RoomCounters {
  connections: number;
  waiting: number;
  rooms: number;
  matchesStarted: number;
  matchesEnded: number;
  /** Messages refused, by error code. */
  refused: Partial<Record<ProtocolErrorCode, number>>;
}

/** A running relay. */
export interface Relay {
  /** e.g. `http://127.0.0.1:8080`. */
  readonly url: string;
  readonly port: number;
  readonly logsDir: string;
  stats(): RelayStats;
  /** Stops serving: ends every match, flushes and closes every log, closes every connection. */
  close(reason?: string): Promise<void>;
}

interface Peer {
  readonly socket: Socket;
  /** Sends encoded messages to this connection (the relay's fast path, see direct-link.ts). */
  readonly link: MemberLink;
  waitingScene: string | null;
  participantId: string | null;
  room: MatchRoom | null;
  member: Member | null;
}

/**
 * Starts the relay: an HTTP server (`GET /healthz`) with a socket.io server on it (websocket
 * transport only, Concord's single-frame binary parser). Players join a scene's queue; every
 * `players` of them in arrival order become a room with slots in that order. Each input is
 * validated and forwarded to the other members the moment it arrives (no tick, no batching) and
 * appended to the match log. The sender's slot and room come from its socket, never from the
 * message. Hash reports are compared per frame and the verdict recorded and sent to the room.
 * Refused messages get an error reply and are counted; they never reach another peer.
 *
 * Python scenes (sim `python:FILE[:CLASS]`): the relay reads each file once here and never runs
 * it (no Pyodide); `GET /sims/<scene>` serves `{sim, className, source, codeHash, packages}` to
 * the peers (404 `{error}` for an unknown or non-Python scene), the log header records the
 * source and its hash, and a departed player's input is the neutral input.
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
  const maxAhead = options.maxFramesAhead ?? SCENE_LIMITS.framesAhead.max;
  const emitEvent = options.onEvent ?? (() => {});
  const queues = new Map<string, Peer[]>();
  const rooms = new Set<MatchRoom>();
  const peerOf = new WeakMap<Member, Peer>();
  const startedAt = Date.now(); // clock-ok: relay uptime, not sim
  let closing = false;
  const stats: RelayStats = {
    connections: 0,
    waiting: 0,
    rooms: 0,
    matchesStarted: 0,
    matchesEnded: 0,
    ...emptyRoomCounters(),
    refused: {},
  };

  const web = options.webRoot ? staticFiles(options.webRoot) : null;
  const pyodide = options.webRoot ? pyodideFiles() : null; // Pyodide for the page's Python worker
  const http: HttpServer = createServer((req, res) => {
    if (options.http?.(req, res)) return;
    if (req.method === 'GET' && req.url === '/healthz') {
      res.writeHead(closing ? 503 : 200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          status: closing ? 'closing' : 'ok',
          uptimeS: Math.round((Date.now() - startedAt) / 1000), // clock-ok
          ...stats,
        }),
      );
      return;
    }
    if (req.method === 'GET' && req.url?.startsWith('/sims/')) {
      serveSim(pythonScenes, req.url, res);
      return;
    }
    if (pyodide?.(req, res) || web?.(req, res)) return;
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found\n');
  });
  const io = new Server(http, {
    transports: ['websocket'],
    parser: concordParser,
    serveClient: false,
    perMessageDeflate: false,
    maxHttpBufferSize: 1 << 20,
    pingInterval: 10_000,
    pingTimeout: 20_000,
  });

  const send = (peer: Peer, m: ServerMessage): void => {
    peer.link.send(encodeServerMessage(m));
  };
  const refuse = (peer: Peer, code: ProtocolErrorCode, message: string, refused?: string): void => {
    stats.refused[code] = (stats.refused[code] ?? 0) + 1;
    send(peer, { kind: 'error', code, message, ...(refused ? { refused } : {}) });
  };

  const broadcastWaiting = (scene: string): void => {
    const q = queues.get(scene) ?? [];
    const players = scenes[scene].players;
    for (const p of q) send(p, { kind: 'waiting', scene, waiting: q.length, players });
  };

  const leaveQueue = (peer: Peer): void => {
    const scene = peer.waitingScene;
    if (scene === null) return;
    const q = queues.get(scene) ?? [];
    const i = q.indexOf(peer);
    if (i >= 0) q.splice(i, 1);
    peer.waitingScene = null;
    stats.waiting--;
    broadcastWaiting(scene);
  };

  const startMatch = async (scene: string, peers: Peer[]): Promise<void> => {
    const settings = scenes[scene];
    const stamp = new Date().toISOString(); // clock-ok: log header start time
    const matchId = `${stamp.slice(0, 19).replace(/[-:T]/g, '')}-${randomBytes(4).toString('hex')}`;
    const seed = randomInt(0, 2 ** 32);
    const python = pythonScenes.get(scene);
    const header: HeaderRecord = {
      type: 'header' as const,
      format: LOG_FORMAT,
      matchId,
      scene: settings,
      sim: python
        ? pythonHeaderSim(python)
        : { id: settings.sim, codeHash: simCodeHash(settings.sim) },
      seed,
      players: peers.map((p, slot) => ({ slot, participantId: p.participantId })),
      startTime: stamp,
    };
    const log = await logs.open(matchId, header);
    const defaults = defaultInputs(settings, seed, python !== undefined);
    const room = new MatchRoom(
      matchId,
      settings,
      seed,
      log,
      defaults,
      stats,
      {
        refuse: (member, code, message, kind) => {
          const peer = peerOf.get(member);
          if (peer) refuse(peer, code, message, kind);
        },
        event: emitEvent,
        ended: (r) => {
          rooms.delete(r);
          stats.rooms = rooms.size;
          stats.matchesEnded++;
        },
        now: () => performance.now(), // clock-ok: arrival times for the log
      },
      maxAhead,
      performance.now(), // clock-ok
    );
    rooms.add(room);
    stats.rooms = rooms.size;
    stats.matchesStarted++;
    peers.forEach((peer, slot) => {
      const member: Member = {
        slot,
        participantId: peer.participantId,
        token: randomUUID(),
        link: peer.link,
        status: 'connected',
        nextFrame: settings.inputDelay,
        doneFrame: null,
        syncing: false,
        voteFrom: 0,
        awayTimer: null,
      };
      room.members.push(member);
      peer.room = room;
      peer.member = member;
      peerOf.set(member, peer);
    });
    emitEvent('match-start', { matchId, scene, players: peers.length });
    for (const m of room.members) {
      send(peerOf.get(m)!, {
        kind: 'start',
        matchId,
        slot: m.slot,
        seed,
        settings,
        token: m.token,
      });
    }
    // A player who left while the log was opening is treated like any other departure.
    for (const p of peers) if (!p.socket.connected) room.disconnected(p.member!);
  };

  const enqueue = (peer: Peer, scene: string): void => {
    const q = queues.get(scene) ?? [];
    queues.set(scene, q);
    q.push(peer);
    peer.waitingScene = scene;
    stats.waiting++;
    const players = scenes[scene].players;
    if (q.length >= players) {
      const group = q.splice(0, players);
      for (const p of group) p.waitingScene = null;
      stats.waiting -= players;
      broadcastWaiting(scene);
      startMatch(scene, group).catch((err) => {
        emitEvent('match-start-failed', { error: String(err) });
        for (const p of group) refuse(p, 'INTERNAL', `could not start the match: ${err}`);
      });
    } else {
      broadcastWaiting(scene);
    }
  };

  const rejoin = (peer: Peer, matchId: string, token: string): void => {
    for (const room of rooms) {
      if (room.matchId !== matchId) continue;
      const member = room.members.find((m) => m.token === token);
      if (!member) break;
      const old = peerOf.get(member);
      if (old) old.member = null;
      if (!room.rejoin(member, peer.link)) break;
      peer.room = room;
      peer.member = member;
      peerOf.set(member, peer);
      return;
    }
    refuse(
      peer,
      'NOT_IN_MATCH',
      `cannot rejoin match ${matchId}: unknown, over, or the grace period has passed`,
      'rejoin',
    );
  };

  const onMessage = (peer: Peer, m: ClientMessage): void => {
    switch (m.kind) {
      case 'join': {
        if (peer.room || peer.waitingScene) {
          refuse(peer, 'BAD_FIELD', 'already joined', 'join');
          return;
        }
        if (!Object.hasOwn(scenes, m.scene)) {
          refuse(peer, 'BAD_SCENE', `unknown scene "${m.scene}"`, 'join');
          return;
        }
        peer.participantId = m.participantId;
        enqueue(peer, m.scene);
        return;
      }
      case 'rejoin':
        if (peer.room || peer.waitingScene) {
          refuse(peer, 'BAD_FIELD', 'already joined', 'rejoin');
          return;
        }
        rejoin(peer, m.matchId, m.token);
        return;
      case 'cancel':
        leaveQueue(peer);
        return;
      case 'ping':
        send(peer, { kind: 'pong', id: m.id, sentMs: m.sentMs });
        return;
      default:
        break;
    }
    const room = peer.room;
    const member = peer.member;
    if (!room || !member || room.ended || member.status !== 'connected') {
      refuse(peer, 'NOT_IN_MATCH', `${m.kind} outside a match`, m.kind);
      return;
    }
    switch (m.kind) {
      case 'input':
        room.input(member, m.frame, m.input, m.currentFrame);
        return;
      case 'peerPing':
        room.peerPing(member, m.sentMs);
        return;
      case 'peerPong':
        room.peerPong(member, m.to, m.sentMs);
        return;
      case 'hash':
        room.hash(member, m.frame, m.hash);
        return;
      case 'done':
        room.done(member, m.frame, m.hash);
        return;
      case 'state':
        room.state(member, m);
        return;
      case 'stateFailed':
        room.stateFailed(member, m.frame);
        return;
      case 'resyncRequest':
        room.resyncRequest(member, m.frame, m.signature);
        return;
      case 'fault':
        room.fault(member, m.frame, m.reason);
        return;
    }
  };

  io.on('connection', (socket) => {
    if (closing) {
      socket.disconnect(true);
      return;
    }
    stats.connections++;
    const peer: Peer = {
      socket,
      link: directLink(socket),
      waitingScene: null,
      participantId: null,
      room: null,
      member: null,
    };
    const onAppMessage = (data: unknown): void => {
      if (!(data instanceof Uint8Array)) {
        refuse(peer, 'MALFORMED', 'a message must be binary');
        return;
      }
      let m: ClientMessage;
      try {
        m = decodeClientMessage(data);
      } catch (err) {
        if (err instanceof ProtocolError) refuse(peer, err.code, err.message, err.kind);
        else refuse(peer, 'MALFORMED', String(err));
        return;
      }
      try {
        onMessage(peer, m);
      } catch (err) {
        emitEvent('handler-error', { error: String(err), kind: m.kind });
        refuse(peer, 'INTERNAL', 'the relay could not handle this message', m.kind);
      }
    };
    // App message frames skip socket.io's event dispatch; an `m` event sent as a generic
    // socket.io packet still arrives through it.
    attachAppHandler(socket, onAppMessage);
    socket.on(APP_EVENT, onAppMessage);
    socket.onAny((event: string) => {
      if (event !== APP_EVENT)
        refuse(peer, 'UNKNOWN_KIND', `unknown event "${String(event).slice(0, 40)}"`);
    });
    socket.on('disconnect', () => {
      detachAppHandler(socket);
      stats.connections--;
      leaveQueue(peer);
      if (peer.room && peer.member) peer.room.disconnected(peer.member);
    });
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
    stats: () => ({ ...stats, refused: { ...stats.refused } }),
    close: async (reason = 'relay shutdown') => {
      if (closing) return;
      closing = true;
      for (const room of [...rooms]) room.end(reason);
      await logs.closeAll(reason);
      io.disconnectSockets(true);
      await new Promise<void>((resolve) => io.close(() => resolve()));
      http.closeAllConnections?.();
    },
  };
}

/** The log header's `sim` of a Python scene: the source travels with the log. */
function pythonHeaderSim(python: PythonSceneSource): HeaderRecord['sim'] {
  return {
    id: python.sim,
    codeHash: python.codeHash,
    source: python.source,
    className: python.className,
    ...(python.packages.length > 0 ? { packages: [...python.packages] } : {}),
  };
}

/**
 * The encoded input the relay plays for a departed player: the sim's default input, or the
 * neutral input for a Python sim (the relay never loads Pyodide; its adapter's default is neutral).
 */
function defaultInputs(settings: SceneSettings, seed: number, python: boolean): Uint8Array[] {
  const sim = python
    ? null
    : getSimFactory(settings.sim).create({ players: settings.players, seed });
  return Array.from({ length: settings.players }, (_, slot) =>
    encodeInput(sim?.defaultInput?.(slot) ?? NEUTRAL_INPUT),
  );
}

/** `GET /sims/<scene>`: a Python scene's environment as JSON, else 404 with `{error}`. */
function serveSim(
  pythonScenes: ReadonlyMap<string, PythonSceneSource>,
  url: string,
  res: ServerResponse,
): void {
  const raw = url.slice('/sims/'.length).split('?')[0];
  let name: string;
  try {
    name = decodeURIComponent(raw);
  } catch {
    name = raw;
  }
  const python = pythonScenes.get(name);
  if (!python) {
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: `no Python scene "${name.slice(0, 100)}" on this relay` }));
    return;
  }
  const body = JSON.stringify({
    sim: python.sim,
    className: python.className,
    source: python.source,
    codeHash: python.codeHash,
    packages: python.packages,
  });
  res.writeHead(200, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-cache',
  });
  res.end(body);
}
