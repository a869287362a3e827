/**
 * The study server: runs an experiment file's study on a relay. It owns the participant database
 * (`<dataDir>/<experiment id>.sqlite`), serves the study wire (protocol/study.ts) on the relay's
 * socket.io server (namespace `/study`), and hooks into the relay ({@link RelayHooks}) for what
 * happens on `/`: it admits a join or rejoin of a study scene only with the token of the
 * participant at that scene and cell, runs the waiting rooms (counts, time left, timeouts),
 * records seats and time waited, moves participants on when a match ends, and puts bots in seats
 * (a waiting room that timed out with `onTimeout: bot`, a player lost with `onPartnerLost: bot`).
 *
 * Every decision about a participant's place is the participant flow's (relay/experiment/), and
 * every change is committed to the database before the page is told: after a restart of the
 * relay, participants resume where the database says (a participant whose match died with the
 * relay is back in that game scene's waiting room).
 *
 * @packageDocumentation
 */

import { randomBytes } from 'node:crypto';
import type { Namespace, Socket } from 'socket.io';
import type { SceneSettings } from '../../protocol/index.ts';
import {
  STUDY_EVENTS,
  STUDY_NAMESPACE,
  type StudyRefusal,
  type StudyReply,
  type StudyView,
} from '../../protocol/index.ts';
import type { ActionTable, SimFactory } from '../../sim/index.ts';
import { ConcordError } from '../../sim/index.ts';
import type { AdminRemoveOutcome } from '../admin/source.ts';
import {
  type Experiment,
  type GameEnd,
  type PageAction,
  ParticipantDatabase,
  parsePageAction,
} from '../experiment/index.ts';
import type { Candidate } from '../matchmaker.ts';
import type { AdmitRequest, RelayHooks } from '../relay-hooks.ts';
import type { MatchRoom } from '../room.ts';
import type { Member } from '../room-state.ts';
import type { RelayControl } from '../server.ts';
import { defaultInputsOf, type StudyRelayScene, studyRelayScenes } from './relay-scenes.ts';
import { type StartStudyBot, type StudyBotRequest, studyBotPolicyName } from './study-bots.ts';
import { StudyViews } from './views.ts';
import { type Waiter, WaitingRooms } from './waiting-rooms.ts';
import { parseHello, parseStep } from './wire.ts';

/** Counters of the study server (refusals are counted, never silent). */
export interface StudyStats {
  /** Joins or rejoins of a study scene refused (no token, another participant's, wrong scene or cell). */
  refusedJoins: number;
  /** `hello`s refused (malformed, a second tab, a session mismatch). */
  refusedHellos: number;
  /** `step`s refused (malformed, not the current scene, answers that do not fit, another tab). */
  refusedSteps: number;
  /** Bots started: partners after a waiting-room timeout, replacements of lost players. */
  botsStarted: number;
  /** Seats taken over by a bot (a `handover` log record each). */
  handovers: number;
  /** Waiting rooms that timed out. */
  waitingTimeouts: number;
  /** Participants an administrator removed. */
  removed: number;
}

/** The notice a removed participant's end view carries (after a reload too). */
export const REMOVED_NOTICE = 'The researcher ended your participation.';

/** Settings of a {@link StudyServer}. */
export interface StudyServerOptions {
  readonly experiment: Experiment;
  /** Directory of the participant database (and, by default, of the match logs in `logs/`). */
  readonly dataDir: string;
  /** Starts a bot (client/policy-bot.ts through the relay's URL); see study-bots.ts. */
  readonly startBot: StartStudyBot;
  /** Sim modules' named actions by absolute path (loaded at start), for their action maps. */
  readonly moduleActions?: ReadonlyMap<string, ActionTable>;
  /** Factories of the experiment's sim modules by spec (for bots beside the relay); default none. */
  readonly simFactory?: (sim: string) => SimFactory | null;
  /** How often waiting participants get a `waiting` push besides every change, ms (default 1000). */
  readonly waitingPushMs?: number;
  /** Notable events (default nowhere). */
  readonly onEvent?: (event: string, detail: Record<string, unknown>) => void;
}

/** A token that lets a bot take a seat: join a scene, or rejoin one seat of one match. */
interface BotPass {
  readonly scene: string;
  readonly policy: string;
  /** For a replacement: the match and slot it may rejoin. */
  readonly matchId: string | null;
  readonly slot: number | null;
}

/** The study server: see the module comment. Attach it to a relay started with its {@link hooks}. */
export class StudyServer {
  readonly experiment: Experiment;
  readonly db: ParticipantDatabase;
  readonly relayScenes: Map<string, StudyRelayScene>;
  readonly views: StudyViews;
  readonly stats: StudyStats = {
    refusedJoins: 0,
    refusedHellos: 0,
    refusedSteps: 0,
    botsStarted: 0,
    handovers: 0,
    waitingTimeouts: 0,
    removed: 0,
  };
  /** The relay hooks: pass them to `startRelay`, then {@link attach} the relay. */
  readonly hooks: RelayHooks;

  readonly #o: StudyServerOptions;
  #relay: RelayControl | null = null;
  #ns: Namespace | null = null;
  readonly #tokenOf = new Map<string, string>();
  readonly #ownerOf = new Map<string, string>();
  /** Each participant's active tab's socket. */
  readonly #sockets = new Map<string, Socket>();
  readonly #rooms: WaitingRooms;
  readonly #bots = new Map<string, BotPass>();
  /** A notice to show with the participant's next view (why it changed). */
  readonly #notices = new Map<string, string>();
  /** Slots played by bots, by match id. */
  readonly #botSlots = new Map<string, Set<number>>();
  readonly #running = new Set<Promise<unknown>>();
  #pushTimer: ReturnType<typeof setInterval> | null = null;
  #closed = false;

  constructor(o: StudyServerOptions) {
    this.#o = o;
    this.experiment = o.experiment;
    this.relayScenes = studyRelayScenes(o.experiment, o.moduleActions);
    this.views = new StudyViews(o.experiment, this.relayScenes);
    this.db = ParticipantDatabase.open(o.experiment, o.dataDir);
    this.#rooms = new WaitingRooms({
      db: this.db,
      queue: (scene) => this.#relay?.queue(scene) ?? [],
      dequeue: (c) => this.#relay?.dequeue(c),
      push: (id, m) => this.#sockets.get(id)?.emit(STUDY_EVENTS.waiting, m),
      isBot: (c) => this.#bots.has(tokenOf(c)),
      timedOut: (w) => this.#timedOut(w),
      onEvent: (event, detail) => this.#event(event, detail),
    });
    this.hooks = {
      admit: (r) => this.#admit(r),
      queueChanged: (scene, queue) => {
        const rs = this.relayScenes.get(scene);
        if (rs) this.#rooms.queueChanged(rs, queue);
      },
      matchStarted: (room, players) => this.#matchStarted(room, players),
      rejoined: (room, member, c) => this.#rejoined(room, member, c),
      matchEnded: (room, reason) => this.#matchEnded(room, reason),
      memberLost: (room, member) => this.#memberLost(room, member),
      matchHeader: (scene) => {
        const rs = this.relayScenes.get(scene);
        if (!rs) return null;
        return {
          actions: rs.actionsRecord,
          ...(rs.game.episodes > 1
            ? {
                episodes: {
                  episodes: rs.game.episodes,
                  framesPerEpisode: rs.game.framesPerEpisode,
                },
              }
            : {}),
        };
      },
      defaultInputs: (scene) => {
        const rs = this.relayScenes.get(scene);
        return rs ? defaultInputsOf(rs) : null;
      },
    };
  }

  /** The factory of a sim module the experiment names, by its spec, or null. */
  readonly simFactory = (sim: string): SimFactory | null => this.#o.simFactory?.(sim) ?? null;

  /** The relay scenes' settings, by name: what the relay serves. */
  sceneSettings(): Record<string, SceneSettings> {
    return Object.fromEntries([...this.relayScenes].map(([n, rs]) => [n, rs.settings]));
  }

  /**
   * Participants by the id of the scene they are in now (the end scene included), read from the
   * database: the `concord_participants` gauge of `GET /metrics`.
   */
  participantsByScene(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const s of this.#o.experiment.scenes) out[s.id] = 0;
    for (const p of this.db.participants()) {
      const id = this.#o.experiment.scenes[p.sceneIndex]?.id;
      if (id !== undefined) out[id]++;
    }
    return out;
  }

  /** Serves the study wire on `relay`'s socket.io server (namespace `/study`). */
  attach(relay: RelayControl): void {
    this.#relay = relay;
    const ns = relay.io.of(STUDY_NAMESPACE);
    this.#ns = ns;
    ns.on('connection', (socket) => this.#serve(socket));
    const every = this.#o.waitingPushMs ?? 1000;
    this.#pushTimer = setInterval(() => this.#rooms.pushAll(), every);
    this.#pushTimer.unref?.();
  }

  /** Stops timers and bots, closes the database. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#pushTimer) clearInterval(this.#pushTimer);
    this.#rooms.clear();
    this.#ns?.disconnectSockets(true);
    await Promise.allSettled([...this.#running]);
    this.db.close();
  }

  #event(event: string, detail: Record<string, unknown>): void {
    this.#o.onEvent?.(event, detail);
  }

  // ---------------------------------------------------------------------------------------------
  // The study wire

  #serve(socket: Socket): void {
    let who: { id: string; tabId: string } | null = null;
    const refuse = (refusal: StudyRefusal, message: string, errors?: string[]): StudyReply => ({
      ok: false,
      refusal,
      message,
      ...(errors ? { errors } : {}),
    });
    const answer = (ack: unknown, reply: StudyReply): void => {
      if (typeof ack === 'function') ack(reply);
    };
    socket.on(STUDY_EVENTS.hello, (raw: unknown, ack: unknown) => {
      if (this.#closed) return answer(ack, refuse('closed', 'the study server is shutting down'));
      const parsed = parseHello(raw);
      if (typeof parsed === 'string') {
        this.stats.refusedHellos++;
        return answer(ack, refuse('badRequest', parsed));
      }
      const { arrival, tabId } = parsed;
      if (who !== null && (who.id !== arrival.id || who.tabId !== tabId)) {
        this.stats.refusedHellos++;
        return answer(ack, refuse('badRequest', 'this connection said hello as someone else'));
      }
      try {
        const result = this.db.arrive(arrival, tabId);
        who = { id: result.record.id, tabId };
        // A reload's old connection may still be open: this one takes over its pushes first, so
        // that the old one's closing does not release the tab this one holds.
        const old = this.#sockets.get(who.id);
        this.#sockets.set(who.id, socket);
        if (old && old !== socket) old.disconnect(true);
        this.#event('hello', { participantId: who.id, enrolled: result.enrolled });
        answer(ack, { ok: true, view: this.#view(who.id), token: this.#token(who.id) });
        const w = this.#rooms.get(who.id);
        if (w) this.#rooms.push(w);
      } catch (err) {
        this.stats.refusedHellos++;
        const code = err instanceof ConcordError ? err.code : '';
        const message = err instanceof Error ? err.message : String(err);
        if (code === 'SECOND_TAB') return answer(ack, refuse('otherTab', message));
        answer(ack, refuse('badRequest', message));
      }
    });
    socket.on(STUDY_EVENTS.step, (raw: unknown, ack: unknown) => {
      if (this.#closed) return answer(ack, refuse('closed', 'the study server is shutting down'));
      if (who === null) {
        this.stats.refusedSteps++;
        return answer(ack, refuse('badRequest', 'say hello first'));
      }
      answer(ack, this.#step(who.id, who.tabId, raw));
    });
    socket.on('disconnect', () => {
      if (who === null || this.#sockets.get(who.id) !== socket) return;
      this.#sockets.delete(who.id);
      if (!this.#closed) this.db.releaseTab(who.id, who.tabId);
    });
  }

  #token(id: string): string {
    let t = this.#tokenOf.get(id);
    if (t === undefined) {
      t = randomBytes(18).toString('base64url');
      this.#tokenOf.set(id, t);
      this.#ownerOf.set(t, id);
    }
    return t;
  }

  /**
   * The participant's view, with the notice kept for it (shown until the scene changes); a
   * removed participant's always says so ({@link REMOVED_NOTICE}).
   */
  #view(id: string): StudyView {
    const record = this.db.participant(id);
    const notice = record.outcome === 'removed' ? REMOVED_NOTICE : this.#notices.get(id);
    return this.views.view(record, notice ?? null);
  }

  /**
   * Removes a participant (the admin view's action, through `AdminSource.remove`): their study
   * ends at once with outcome `removed`, committed to the database first (with `reason`); then
   * their page gets a `view` push of the end scene with {@link REMOVED_NOTICE}, and anything it
   * sends afterwards but `hello` is refused with `removed`. A participant waiting leaves the
   * waiting room; one seated in a running match leaves it at once (no grace period), and their
   * partners get the scene's `onPartnerLost` as for any partner lost.
   * @returns `removed`, `unknown` (no such participant) or `finished` (at the end already)
   */
  async remove(participantId: string, reason: string): Promise<AdminRemoveOutcome> {
    const record = this.db.find(participantId);
    if (record === null) return 'unknown';
    if (record.sceneIndex === this.experiment.scenes.length - 1) return 'finished';
    const matchId = this.#seatedIn(participantId);
    const w = this.#rooms.get(participantId);
    if (w) this.#rooms.stop(w, true);
    try {
      this.db.remove(participantId, reason);
    } catch (err) {
      // Finished between the check and the write (a match or a step moved them to the end).
      if (err instanceof ConcordError && err.code === 'BAD_STEP') return 'finished';
      throw err;
    }
    this.stats.removed++;
    this.#notices.delete(participantId);
    const scene = this.experiment.scenes[record.sceneIndex].id;
    this.#event('participant-removed', { participantId, scene, matchId, reason });
    this.#pushView(participantId);
    if (matchId !== null) {
      const room = this.#relay?.room(matchId);
      const member = room?.members.find(
        (m) => m.participantId === participantId && m.status !== 'left',
      );
      if (room && member) room.removeMember(member);
    }
    return 'removed';
  }

  /** Pushes the participant's view to their active tab (after their place changed). */
  #pushView(id: string): void {
    this.#sockets.get(id)?.emit(STUDY_EVENTS.view, this.#view(id));
  }

  #step(id: string, tabId: string, raw: unknown): StudyReply {
    const fail = (refusal: StudyRefusal, message: string, errors?: string[]): StudyReply => {
      this.stats.refusedSteps++;
      return { ok: false, refusal, message, ...(errors ? { errors } : {}) };
    };
    if (this.db.find(id)?.outcome === 'removed') {
      return fail('removed', `participant ${id} was removed from the study by the researcher`);
    }
    const step = parseStep(raw);
    if (typeof step === 'string') return fail('badRequest', step);
    try {
      this.db.claimTab(id, tabId);
      if (step.type === 'leave') {
        const problem = this.#leave(id, step.sceneId);
        if (problem !== null) return fail('badStep', problem);
      } else {
        const action: PageAction = parsePageAction(
          step.type === 'answer'
            ? { type: 'answer', scene: step.sceneId, answers: step.answers }
            : { type: step.type, scene: step.sceneId },
        );
        this.db.act(id, tabId, action);
        this.#notices.delete(id);
      }
      return { ok: true, view: this.#view(id), token: this.#token(id) };
    } catch (err) {
      const code = err instanceof ConcordError ? err.code : '';
      const message = err instanceof Error ? err.message : String(err);
      if (code === 'SECOND_TAB') return fail('otherTab', message);
      if (code === 'BAD_ANSWER') {
        const [first, ...lines] = message.split('\n');
        return fail(
          'badAnswers',
          first,
          lines.map((l) => l.replace(/^answers\./, '')),
        );
      }
      return fail('badStep', message);
    }
  }

  /** `leave` in game scene `sceneId`'s waiting room: the study ends with `timeout`. */
  #leave(id: string, sceneId: string): string | null {
    const record = this.db.participant(id);
    const scene = this.experiment.scenes[record.sceneIndex];
    if (scene.id !== sceneId || scene.kind !== 'game') {
      return `participant ${id} is in scene "${scene.id}"; leave for "${sceneId}" is refused`;
    }
    const rs = this.views.relayScene(scene.id, record.cell);
    const g = rs.game;
    if (!(g.players > 1 && g.waitingRoom.timeoutMs > 0 && g.waitingRoom.onTimeout === 'end')) {
      return `the waiting room of "${sceneId}" cannot be left (onTimeout: ${g.waitingRoom.onTimeout}${g.waitingRoom.timeoutMs === 0 ? ', no time limit' : ''}); a partner comes when the time is up`;
    }
    if (this.#seatedIn(id) !== null) return `participant ${id} is playing a match of "${sceneId}"`;
    const w = this.#rooms.get(id);
    if (w) this.#rooms.stop(w, true);
    this.#endGame(id, scene.id, 'timeout', 'You left the waiting room.');
    return null;
  }

  // ---------------------------------------------------------------------------------------------
  // Relay hooks

  #admit(r: AdmitRequest): string | null {
    const rs = this.relayScenes.get(r.scene);
    if (rs === undefined) return null;
    const refuse = (why: string): string => {
      this.stats.refusedJoins++;
      this.#event('join-refused', { scene: r.scene, participantId: r.participantId, why });
      return why;
    };
    const auth = r.auth as { studyToken?: unknown } | null | undefined;
    const token = typeof auth === 'object' && auth !== null ? auth.studyToken : undefined;
    if (typeof token !== 'string') {
      return refuse('a study scene admits only with the studyToken of the /study hello');
    }
    const pass = this.#bots.get(token);
    if (pass !== undefined) {
      if (pass.scene !== r.scene) return refuse('this bot token is for another scene');
      if (pass.matchId !== null && (r.kind !== 'rejoin' || r.matchId !== pass.matchId)) {
        return refuse('this bot token rejoins one seat only');
      }
      return null;
    }
    const id = this.#ownerOf.get(token);
    if (id === undefined) return refuse('unknown study token (say hello on /study first)');
    if (r.participantId !== id) return refuse("the study token is another participant's");
    const record = this.db.find(id);
    if (record === null) return refuse('unknown participant');
    const at = this.experiment.scenes[record.sceneIndex];
    if (record.sceneIndex !== rs.sceneIndex) {
      return refuse(`participant ${id} is in scene "${at.id}", not in game scene "${rs.sceneId}"`);
    }
    if (record.cell !== rs.cell) return refuse(`participant ${id} plays another condition's scene`);
    if (r.kind === 'join') {
      if (this.#rooms.get(id)) return refuse(`participant ${id} is waiting already`);
      const seat = this.#seatedIn(id);
      if (seat !== null) return refuse(`participant ${id} has a seat in match ${seat}: rejoin it`);
    }
    return null;
  }

  /** The match under way in which `id` holds a seat not lost for good, or null. */
  #seatedIn(id: string): string | null {
    const relay = this.#relay;
    if (!relay) return null;
    for (const s of this.db.seats(id)) {
      const room = relay.room(s.matchId);
      if (!room || room.ended) continue;
      const m = room.members[s.slot];
      if (
        m &&
        m.participantId === id &&
        m.status !== 'left' &&
        !this.#botSlots.get(room.matchId)?.has(s.slot)
      ) {
        return room.matchId;
      }
    }
    return null;
  }

  #timedOut(w: Waiter): void {
    if (this.#closed) return;
    this.stats.waitingTimeouts++;
    const g = w.scene.game;
    this.#event('waiting-timeout', {
      participantId: w.participantId,
      scene: w.scene.name,
      onTimeout: g.waitingRoom.onTimeout,
    });
    if (g.waitingRoom.onTimeout === 'end') {
      this.#rooms.stop(w, true);
      this.#endGame(w.participantId, w.scene.sceneId, 'timeout', 'Nobody came to play in time.');
      return;
    }
    // `bot`: fill the seats this waiter's match lacks with bot partners (once per waiter).
    if (w.botsCalled) return;
    const queue = this.#relay?.queue(w.scene.name) ?? [];
    const needed = Math.max(0, g.players - queue.length);
    for (const other of this.#rooms.of(w.scene.name)) other.botsCalled = true;
    for (let i = 0; i < needed; i++) this.#startBot(w.scene, g.bot, null);
  }

  #matchStarted(room: MatchRoom, players: readonly Candidate[]): void {
    const rs = this.relayScenes.get(room.settings.name);
    if (!rs) return;
    const bots = new Set<number>();
    players.forEach((c, slot) => {
      if (this.#bots.has(tokenOf(c))) bots.add(slot);
    });
    if (bots.size > 0) this.#botSlots.set(room.matchId, bots);
    players.forEach((c, slot) => {
      const id = c.participantId;
      if (id === null || bots.has(slot)) return;
      const w = this.#rooms.get(id);
      if (w) this.#rooms.stop(w, false);
      try {
        this.db.recordSeat(id, { scene: rs.sceneId, matchId: room.matchId, slot, episode: 0 });
      } catch (err) {
        this.#event('record-seat-failed', { participantId: id, error: String(err) });
      }
      if (bots.size > 0 && rs.game.revealBot) {
        this.#notices.set(
          id,
          bots.size === 1 && rs.game.players === 2
            ? 'Your partner is a bot.'
            : 'Some of the other players are bots.',
        );
        this.#pushView(id);
      }
    });
  }

  #rejoined(room: MatchRoom, member: Member, c: Candidate): void {
    const pass = this.#bots.get(tokenOf(c));
    if (!pass || pass.matchId !== room.matchId || pass.slot !== member.slot) return;
    // The bot has the seat from here on: its first input is for the member's next frame.
    room.log.append({
      type: 'handover',
      s: member.slot,
      f: member.nextFrame,
      bot: pass.policy,
      ms: room.ms(),
    });
    this.stats.handovers++;
    this.#event('handover', { matchId: room.matchId, slot: member.slot, frame: member.nextFrame });
  }

  #matchEnded(room: MatchRoom, reason: string): void {
    const rs = this.relayScenes.get(room.settings.name);
    if (!rs) return;
    const bots = this.#botSlots.get(room.matchId) ?? new Set<number>();
    this.#botSlots.delete(room.matchId);
    // The relay ends a match whose scene says `end` when a player is lost for good.
    const lost =
      rs.settings.onPlayerLost === 'end' &&
      room.members.some((m) => m.status === 'left' && m.doneFrame === null);
    this.#event('study-match-end', { matchId: room.matchId, reason, partnerLost: lost });
    for (const m of room.members) {
      const id = m.participantId;
      if (id === null || bots.has(m.slot)) continue;
      const record = this.db.find(id);
      if (record === null || record.sceneIndex !== rs.sceneIndex) continue;
      if (m.doneFrame !== null) this.#endGame(id, rs.sceneId, 'completed', null);
      else if (lost && m.status === 'connected') {
        this.#endGame(id, rs.sceneId, 'partnerLeft', 'Your partner left the game.');
      }
      // Otherwise (lost, away, the relay stopping) they stay in the scene: on return they wait
      // for a new match.
    }
    // Bot passes of this match are spent.
    for (const [t, pass] of this.#bots) if (pass.matchId === room.matchId) this.#bots.delete(t);
  }

  #memberLost(room: MatchRoom, member: Member): boolean {
    const rs = this.relayScenes.get(room.settings.name);
    if (rs?.game.onPartnerLost !== 'bot') return false;
    const others = room.members.some((m) => m !== member && m.status === 'connected');
    if (!others) return false;
    const bots = this.#botSlots.get(room.matchId) ?? new Set<number>();
    bots.add(member.slot);
    this.#botSlots.set(room.matchId, bots);
    this.#startBot(rs, rs.game.bot, { room, member });
    if (rs.game.revealBot) {
      for (const m of room.members) {
        if (m === member || m.participantId === null || bots.has(m.slot)) continue;
        this.#notices.set(m.participantId, 'Your partner left; a bot plays in their place.');
        this.#pushView(m.participantId);
      }
    }
    return true;
  }

  #startBot(
    rs: StudyRelayScene,
    policy: string,
    replace: { room: MatchRoom; member: Member } | null,
  ): void {
    const token = `bot-${randomBytes(12).toString('base64url')}`;
    this.#bots.set(token, {
      scene: rs.name,
      policy: studyBotPolicyName(rs.game),
      matchId: replace?.room.matchId ?? null,
      slot: replace?.member.slot ?? null,
    });
    this.stats.botsStarted++;
    const request: StudyBotRequest = {
      scene: rs,
      token,
      policy,
      participantId: replace ? replace.member.participantId : `bot-${token.slice(4, 12)}`,
      seat: replace
        ? {
            matchId: replace.room.matchId,
            token: replace.member.token,
            slot: replace.member.slot,
            scene: rs.name,
            participantId: replace.member.participantId,
            rejoinGraceMs: Math.max(rs.settings.rejoinGraceMs, 10_000),
            onPlayerLost: rs.settings.onPlayerLost,
          }
        : null,
    };
    this.#event('bot-start', { scene: rs.name, replace: replace !== null });
    const run = this.#o
      .startBot(request)
      .catch((err) => this.#event('bot-failed', { scene: rs.name, error: String(err) }))
      .finally(() => {
        this.#running.delete(run);
        if (!replace) this.#bots.delete(token);
      });
    this.#running.add(run);
  }

  /** Ends game scene `sceneId` for the participant with `outcome`, and pushes their new view. */
  #endGame(id: string, sceneId: string, outcome: GameEnd['outcome'], notice: string | null): void {
    try {
      this.db.endGame(id, sceneId, outcome);
    } catch (err) {
      this.#event('end-game-failed', { participantId: id, outcome, error: String(err) });
      return;
    }
    if (notice === null) this.#notices.delete(id);
    else this.#notices.set(id, notice);
    this.#event('game-end', { participantId: id, scene: sceneId, outcome });
    this.#pushView(id);
  }
}

/** The study token a candidate's connection carries, or ''. */
function tokenOf(c: Candidate): string {
  const auth = c.auth as { studyToken?: unknown } | null | undefined;
  return typeof auth === 'object' && auth !== null && typeof auth.studyToken === 'string'
    ? auth.studyToken
    : '';
}
