/**
 * The matchmaker: one waiting queue per scene, in arrival order; every `players` of them become a
 * match (slots in that order), with its log opened and its room seated and begun. It also holds
 * the matches under way, by id, for rejoins and shutdown.
 */
import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import type { ProtocolErrorCode, SceneSettings, ServerMessage } from '../protocol/index.ts';
import { type EpisodeSettings, encodeInput, getSimFactory, NEUTRAL_INPUT } from '../sim/index.ts';
import { AuthoritativeHost, type AuthoritativeSimHost } from './authoritative-host.ts';
import { DelayedAcks } from './delayed-acks.ts';
import { type HeaderRecord, LOG_FORMAT, type LogDirectory, simCodeHash } from './log/index.ts';
import { MatchReferee, type RefereeHost } from './match-referee.ts';
import type { ForwardLatency } from './metrics.ts';
import type { RelayHooks } from './relay-hooks.ts';
import { MatchRoom } from './room.ts';
import type { Member, MemberLink, RoomHooks } from './room-state.ts';
import type { PythonSceneSource } from './scenes.ts';
import type { RelayScheduler } from './scheduler.ts';
import type { OpenMatchOptions } from './sim-host/index.ts';
import type { RelayStats } from './stats.ts';

/** Someone who asks for a seat: a connection, as the matchmaker sees it. */
export interface Candidate {
  readonly link: MemberLink;
  /** The experiment's id for this person, from `join`. */
  readonly participantId: string | null;
  /** The socket.io handshake's `auth` of its connection (unchecked), for `RelayHooks.admit`. */
  readonly auth?: unknown;
  /** The scene whose queue it waits in, or null. */
  waitingScene: string | null;
  /** False once its connection closed. */
  readonly open: boolean;
  /** It has a seat: `member` of `room`. */
  seated(room: MatchRoom, member: Member): void;
  /** Sends it a message. */
  send(m: ServerMessage): void;
  /** Refuses what it asked (error reply and count). */
  refuse(code: ProtocolErrorCode, message: string): void;
}

/** Settings of a {@link Matchmaker}. */
export interface MatchmakerOptions {
  readonly scenes: Readonly<Record<string, SceneSettings>>;
  readonly pythonScenes: ReadonlyMap<string, PythonSceneSource>;
  readonly logs: LogDirectory;
  readonly stats: RelayStats;
  readonly scheduler: RelayScheduler;
  /** Refuses a member's message (rooms report refusals through it). */
  readonly refuse: RoomHooks['refuse'];
  readonly onEvent: (event: string, detail: Record<string, unknown>) => void;
  /** See `RelayOptions.maxFramesAhead`. */
  readonly maxFramesAhead: number;
  /** See `RelayOptions.awayAfterSilentMs`. */
  readonly awayAfterSilentMs: number;
  /**
   * Where matches' desync referees and authoritative matches run (the relay's sim host), or
   * null: none (an authoritative scene's matches then cannot start).
   */
  readonly simHost: (RefereeHost & Partial<AuthoritativeSimHost>) | null;
  /** Where the rooms put each input's forwarding latency (`/metrics`), or null: not measured. */
  readonly forwardLatency?: ForwardLatency | null;
  /** What runs a study around the relay (default none). */
  readonly hooks?: RelayHooks;
}

/** The relay's queues and matches under way: see the module comment. */
export class Matchmaker {
  private readonly queues = new Map<string, Candidate[]>();
  private readonly rooms = new Map<string, MatchRoom>();
  /** One acknowledgement timer for every room's datagrams. */
  private readonly acks: DelayedAcks;
  /** Wall-clock start of each match under way (its log header's `startTime`), by match id. */
  private readonly startTimes = new Map<string, string>();

  constructor(private readonly o: MatchmakerOptions) {
    this.acks = new DelayedAcks(o.scheduler);
  }

  /** The match under way with this id, if any. */
  room(matchId: string): MatchRoom | undefined {
    return this.rooms.get(matchId);
  }

  /** The matches under way with their wall-clock start (ISO 8601 UTC), oldest first (the admin view). */
  runningMatches(): { readonly room: MatchRoom; readonly startTime: string }[] {
    return [...this.rooms.values()].map((room) => ({
      room,
      startTime: this.startTimes.get(room.matchId) ?? '',
    }));
  }

  /** Every scene's queue that has someone in it: who waits, in arrival order (the admin view). */
  waitingRooms(): { scene: string; players: number; waiting: (string | null)[] }[] {
    const out: { scene: string; players: number; waiting: (string | null)[] }[] = [];
    for (const [scene, q] of this.queues) {
      if (q.length === 0) continue;
      out.push({
        scene,
        players: this.o.scenes[scene].players,
        waiting: q.map((c) => c.participantId),
      });
    }
    return out;
  }

  /** Puts `c` in the queue of `scene` (a scene this relay serves); starts a match when it is full. */
  enqueue(c: Candidate, scene: string): void {
    const q = this.queues.get(scene) ?? [];
    this.queues.set(scene, q);
    q.push(c);
    c.waitingScene = scene;
    this.o.stats.waiting++;
    const players = this.o.scenes[scene].players;
    if (q.length >= players) {
      const group = q.splice(0, players);
      for (const p of group) p.waitingScene = null;
      this.o.stats.waiting -= players;
      this.startMatch(scene, group).catch((err) => {
        this.o.onEvent('match-start-failed', { error: String(err) });
        for (const p of group) p.refuse('INTERNAL', `could not start the match: ${err}`);
      });
    }
    this.broadcastWaiting(scene);
  }

  /** Takes `c` out of its queue (it cancelled or its connection closed); nothing if it waits nowhere. */
  leaveQueue(c: Candidate): void {
    const scene = c.waitingScene;
    if (scene === null) return;
    const q = this.queues.get(scene) ?? [];
    const i = q.indexOf(c);
    if (i >= 0) q.splice(i, 1);
    c.waitingScene = null;
    this.o.stats.waiting--;
    this.broadcastWaiting(scene);
  }

  /** The candidates waiting in `scene`'s queue, in arrival order. */
  queue(scene: string): readonly Candidate[] {
    return this.queues.get(scene) ?? [];
  }

  /** Ends every match under way (the relay shuts down). */
  endAll(reason: string): void {
    for (const room of [...this.rooms.values()]) room.end(reason);
  }

  private referee(
    settings: SceneSettings,
    seed: number,
    matchId: string,
    python: PythonSceneSource | undefined,
    episodes: EpisodeSettings | undefined,
  ): { referee: MatchReferee | null; noRefereeReason: string } {
    return matchReferee(this.o.simHost, settings, seed, matchId, python, this.o.onEvent, episodes);
  }

  /**
   * The sim host of an authoritative match, opened and running.
   * @throws Error when the relay has no sim host or the sim cannot run there (as a rejection)
   */
  private async openAuthoritative(
    settings: SceneSettings,
    seed: number,
    matchId: string,
    python: PythonSceneSource | undefined,
    inputs: readonly Uint8Array[],
    episodes: EpisodeSettings | undefined,
  ): Promise<AuthoritativeHost> {
    const host = this.o.simHost;
    if (!host?.openAuthoritative) {
      throw new Error(`scene ${settings.name} is authoritative, and this relay has no sim host`);
    }
    const a = new AuthoritativeHost(
      host as AuthoritativeSimHost,
      simHostSpec(settings, seed, matchId, python, episodes),
      settings,
      inputs,
    );
    await a.open();
    return a;
  }

  private broadcastWaiting(scene: string): void {
    const q = this.queues.get(scene) ?? [];
    const players = this.o.scenes[scene].players;
    for (const p of q) p.send({ kind: 'waiting', scene, waiting: q.length, players });
    this.o.hooks?.queueChanged?.(scene, q);
  }

  private async startMatch(scene: string, group: Candidate[]): Promise<void> {
    const o = this.o;
    const settings = o.scenes[scene];
    const stamp = new Date().toISOString(); // clock-ok: log header start time
    const matchId = `${stamp.slice(0, 19).replace(/[-:T]/g, '')}-${randomBytes(4).toString('hex')}`;
    const seed = randomInt(0, 2 ** 32);
    const python = o.pythonScenes.get(scene);
    // A study's extras (keys and actions, episodes, a sim module's bundle as its sim).
    const extras = o.hooks?.matchHeader?.(scene) ?? null;
    const header: HeaderRecord = {
      type: 'header' as const,
      format: LOG_FORMAT,
      matchId,
      scene: settings,
      sim:
        extras?.sim ??
        (python
          ? pythonHeaderSim(python)
          : { id: settings.sim, codeHash: simCodeHash(settings.sim) }),
      seed,
      players: group.map((p, slot) => ({ slot, participantId: p.participantId })),
      startTime: stamp,
      ...(extras?.actions ? { actions: extras.actions } : {}),
      ...(extras?.episodes ? { episodes: extras.episodes } : {}),
    };
    const inputs =
      o.hooks?.defaultInputs?.(scene) ?? defaultInputs(settings, seed, python !== undefined);
    const authoritative =
      settings.mode === 'authoritative'
        ? await this.openAuthoritative(settings, seed, matchId, python, inputs, extras?.episodes)
        : null;
    const log = await o.logs.open(matchId, header).catch((err: unknown) => {
      authoritative?.close();
      throw err;
    });
    const { referee, noRefereeReason } = authoritative
      ? { referee: null, noRefereeReason: 'an authoritative match has no peer copies to judge' }
      : this.referee(settings, seed, matchId, python, extras?.episodes);
    const room = new MatchRoom({
      matchId,
      settings,
      seed,
      log,
      defaultInputs: inputs,
      counters: o.stats,
      hooks: {
        refuse: o.refuse,
        event: o.onEvent,
        ended: (id, reason) => {
          const ended = this.rooms.get(id);
          this.rooms.delete(id);
          this.startTimes.delete(id);
          o.stats.rooms = this.rooms.size;
          o.stats.matchesEnded++;
          if (ended) o.hooks?.matchEnded?.(ended, reason);
        },
        lost: (member) => (o.hooks?.memberLost ? o.hooks.memberLost(room, member) : false),
      },
      scheduler: o.scheduler,
      maxFramesAhead: o.maxFramesAhead,
      awayAfterSilentMs: o.awayAfterSilentMs,
      referee,
      noRefereeReason,
      acks: this.acks,
      forwardLatency: o.forwardLatency ?? null,
      authoritative,
    });
    this.rooms.set(matchId, room);
    this.startTimes.set(matchId, stamp);
    o.stats.rooms = this.rooms.size;
    o.stats.matchesStarted++;
    for (const c of group) c.seated(room, room.seat(c.participantId, c.link, randomUUID()));
    o.onEvent('match-start', { matchId, scene, players: group.length });
    o.hooks?.matchStarted?.(room, group);
    room.begin();
    // A player who left while the log was opening is treated like any other departure.
    group.forEach((c, slot) => {
      if (!c.open) room.disconnected(room.members[slot]);
    });
  }
}

/**
 * The match's desync referee: on unless the scene turns it off (`referee: false`), where the
 * relay has a sim host and the sim can run there (a built-in sim, or a Python one, whose source
 * the relay holds); else null, with the reason the log gives for each dispute.
 */
function matchReferee(
  simHost: RefereeHost | null,
  settings: SceneSettings,
  seed: number,
  matchId: string,
  python: PythonSceneSource | undefined,
  onEvent: MatchmakerOptions['onEvent'],
  episodes?: EpisodeSettings,
): { referee: MatchReferee | null; noRefereeReason: string } {
  if (settings.referee === false)
    return { referee: null, noRefereeReason: 'the scene turns the referee off' };
  if (simHost === null) return { referee: null, noRefereeReason: 'no sim host on this relay' };
  if (!python && !hasSimFactory(settings.sim)) {
    return {
      referee: null,
      noRefereeReason: `the sim ${settings.sim} cannot run on the relay`,
    };
  }
  const referee = new MatchReferee(
    simHost,
    simHostSpec(settings, seed, matchId, python, episodes),
    (notice) => onEvent(`referee-${notice.kind}`, { matchId, ...notice }),
  );
  return { referee, noRefereeReason: '' };
}

function hasSimFactory(id: string): boolean {
  try {
    getSimFactory(id);
    return true;
  } catch {
    return false;
  }
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

/**
 * What the sim host needs to run a match's sim (its referee or its authoritative host): the sim,
 * players, seed, a Python scene's source, and a study's episodes, so that the host runs the
 * episode wrapper as the peers do.
 */
function simHostSpec(
  settings: SceneSettings,
  seed: number,
  matchId: string,
  python: PythonSceneSource | undefined,
  episodes: EpisodeSettings | undefined,
): OpenMatchOptions {
  return {
    matchId,
    sim: settings.sim,
    players: settings.players,
    seed,
    ...(episodes ? { episodes } : {}),
    ...(python
      ? {
          python: {
            source: python.source,
            className: python.className,
            packages: [...python.packages],
          },
        }
      : {}),
  };
}
