/**
 * The connection layer: each socket.io connection becomes a {@link Connection}; its binary app
 * messages are decoded (refused and counted when bad), marked as heard, and dispatched: `join`,
 * `cancel`, `rejoin` and `ping` here, everything else to its room. The relay takes a peer's
 * identity (room and slot) from its connection, never from a message.
 */
import type { Server, Socket } from 'socket.io';
import {
  APP_EVENT,
  type ClientMessage,
  decodeClientMessage,
  encodeServerMessage,
  ProtocolError,
  type ProtocolErrorCode,
  type SceneSettings,
  type ServerMessage,
} from '../protocol/index.ts';
import type { DataChannelEndpoint, DataChannelEvents } from './datachannel.ts';
import { attachAppHandler, detachAppHandler, directLink } from './direct-link.ts';
import type { Candidate, Matchmaker } from './matchmaker.ts';
import type { RelayHooks } from './relay-hooks.ts';
import type { MatchRoom } from './room.ts';
import type { Member, MemberLink } from './room-state.ts';
import type { RelayStats } from './stats.ts';

/** One socket.io connection to the relay. */
export class Connection implements Candidate {
  /** Sends encoded messages to this connection (the relay's fast path, see direct-link.ts). */
  readonly link: MemberLink;
  participantId: string | null = null;
  waitingScene: string | null = null;
  /** The scene this connection joined (or rejoined a match of), for the checks of its offers. */
  scene: SceneSettings | null = null;
  room: MatchRoom | null = null;
  member: Member | null = null;

  /**
   * @param socket the socket.io connection
   * @param stats the relay's counters (refusals are counted by code)
   * @param connectionOf each seated member's current connection, shared by every connection
   */
  constructor(
    readonly socket: Socket,
    private readonly stats: RelayStats,
    private readonly connectionOf: WeakMap<Member, Connection>,
    datagrams?: DataChannelEndpoint<Connection>,
  ) {
    const fast = directLink(socket);
    this.link = datagrams
      ? {
          send: fast.send,
          close: () => socket.disconnect(true),
          sendDatagram: (bytes) => datagrams.send(this, bytes),
          datagramOpen: () => datagrams.isOpen(this),
        }
      : { send: fast.send, close: () => socket.disconnect(true) };
  }

  get open(): boolean {
    return this.socket.connected;
  }

  /** The socket.io handshake's `auth` (what the peer sent, unchecked). */
  get auth(): unknown {
    return this.socket.handshake.auth;
  }

  /** This connection plays `member` of `room` now (a rejoin takes the seat from the old one). */
  seated(room: MatchRoom, member: Member): void {
    const old = this.connectionOf.get(member);
    if (old) old.member = null;
    this.room = room;
    this.member = member;
    this.connectionOf.set(member, this);
  }

  send(m: ServerMessage): void {
    this.link.send(encodeServerMessage(m));
  }

  /** Error reply, counted by code. */
  refuse(code: ProtocolErrorCode, message: string, kind?: string): void {
    this.stats.refused[code] = (this.stats.refused[code] ?? 0) + 1;
    this.send({ kind: 'error', code, message, ...(kind ? { refused: kind } : {}) });
  }
}

/** What {@link ConnectionLayer.serve} needs of the relay. */
export interface ConnectionLayerOptions {
  readonly scenes: Readonly<Record<string, SceneSettings>>;
  readonly matchmaker: Matchmaker;
  readonly onEvent: (event: string, detail: Record<string, unknown>) => void;
  /** True once the relay is shutting down: new connections are closed at once. */
  readonly closing: () => boolean;
  /**
   * The relay's end of the peers' input DataChannels (see datachannel.ts); without it every
   * `rtcOffer` is refused and inputs travel on socket.io only.
   */
  readonly datagrams?: DataChannelEndpoint<Connection>;
  /** What runs a study around the relay: admission of joins and rejoins, and rejoins accepted. */
  readonly hooks?: RelayHooks;
}

/**
 * The events of the relay's DataChannel endpoint for these connections: a datagram goes to the
 * room of the connection that signalled the channel, as that connection's member; a closed
 * channel moves that member's inputs back to websocket. A connection that has no seat (or has
 * lost it to a rejoin elsewhere) gets nothing: its datagram is refused and counted.
 */
export function datagramEvents(stats: RelayStats): DataChannelEvents<Connection> {
  return {
    packet: (c, bytes) => {
      if (c.room && c.member) c.room.datagram(c.member, bytes);
      else stats.refusedDatagrams++;
    },
    close: (c, reason) => {
      if (c.room && c.member) c.room.datagramClosed(c.member, reason);
    },
  };
}

/** The relay's connections: see the module comment. */
export class ConnectionLayer {
  private readonly connectionOf = new WeakMap<Member, Connection>();

  constructor(private readonly stats: RelayStats) {}

  /** Refuses a member's message on its current connection: the rooms' `refuse` hook. */
  readonly refuseMember = (
    member: Member,
    code: ProtocolErrorCode,
    message: string,
    kind?: string,
  ): void => {
    this.connectionOf.get(member)?.refuse(code, message, kind);
  };

  /** Serves `io`'s connections from now on. */
  serve(io: Server, o: ConnectionLayerOptions): void {
    const { matchmaker } = o;
    const stats = this.stats;

    const rejoin = (c: Connection, m: Extract<ClientMessage, { kind: 'rejoin' }>): void => {
      const room = matchmaker.room(m.matchId);
      if (!room) {
        c.refuse('NOT_IN_MATCH', `cannot rejoin: match ${m.matchId} is unknown or over`, 'rejoin');
        return;
      }
      const refused = o.hooks?.admit?.({
        kind: 'rejoin',
        scene: room.settings.name,
        participantId: m.participantId,
        auth: c.auth,
        matchId: m.matchId,
      });
      if (typeof refused === 'string') {
        c.refuse('BAD_SCENE', `cannot rejoin: ${refused}`, 'rejoin');
        return;
      }
      const member = room.rejoin(m.token, m.participantId, c.link);
      if (typeof member === 'string')
        c.refuse('NOT_IN_MATCH', `cannot rejoin: ${member}`, 'rejoin');
      else {
        c.participantId = m.participantId;
        c.seated(room, member);
        o.hooks?.rejoined?.(room, member, c);
      }
    };

    const join = (c: Connection, m: Extract<ClientMessage, { kind: 'join' }>): void => {
      const refused = o.hooks?.admit?.({
        kind: 'join',
        scene: m.scene,
        participantId: m.participantId,
        auth: c.auth,
        matchId: null,
      });
      if (typeof refused === 'string') {
        c.refuse('BAD_SCENE', `cannot join "${m.scene}": ${refused}`, 'join');
        return;
      }
      c.participantId = m.participantId;
      c.scene = o.scenes[m.scene];
      matchmaker.enqueue(c, m.scene);
    };

    /** Answers a peer's offer for its input DataChannel, bound to this connection's seat. */
    const offer = (c: Connection, m: Extract<ClientMessage, { kind: 'rtcOffer' }>): void => {
      const endpoint = o.datagrams;
      // While queued, the channel may open early; its datagrams count once the seat is taken.
      const scene = c.room?.settings ?? c.scene;
      if (!scene) {
        c.refuse('NOT_IN_MATCH', 'rtcOffer before join', 'rtcOffer');
      } else if (!endpoint) {
        c.refuse(
          'BAD_FIELD',
          'this relay serves no DataChannels (inputs go on websocket)',
          'rtcOffer',
        );
      } else if (scene.transport === 'websocket') {
        c.refuse('BAD_FIELD', 'this scene sends its inputs on websocket', 'rtcOffer');
      } else {
        endpoint.answer(c, m).then(
          (answer) => {
            if (c.open) c.send({ kind: 'rtcAnswer', ...answer });
          },
          (err: unknown) => {
            if (err instanceof ProtocolError) c.refuse(err.code, err.message, 'rtcOffer');
            else c.refuse('INTERNAL', String(err), 'rtcOffer');
          },
        );
      }
    };

    const onMessage = (c: Connection, m: ClientMessage): void => {
      switch (m.kind) {
        case 'join':
          if (c.room || c.waitingScene) c.refuse('BAD_FIELD', 'already joined', 'join');
          else if (!Object.hasOwn(o.scenes, m.scene))
            c.refuse('BAD_SCENE', `unknown scene "${m.scene}"`, 'join');
          else join(c, m);
          return;
        case 'rejoin':
          if (c.room || c.waitingScene) c.refuse('BAD_FIELD', 'already joined', 'rejoin');
          else rejoin(c, m);
          return;
        case 'cancel':
          matchmaker.leaveQueue(c);
          return;
        case 'ping':
          // The heartbeat's report, for the admin view; a peer that sends none shows no figures.
          if (m.stats && c.member) c.member.peerStats = m.stats;
          c.send({ kind: 'pong', id: m.id, sentMs: m.sentMs });
          return;
        case 'rtcOffer':
          offer(c, m);
          return;
        default:
          if (c.room && c.member) c.room.handle(c.member, m);
          else c.refuse('NOT_IN_MATCH', `${m.kind} outside a match`, m.kind);
      }
    };

    io.on('connection', (socket) => {
      if (o.closing()) {
        socket.disconnect(true);
        return;
      }
      stats.connections++;
      const c = new Connection(socket, stats, this.connectionOf, o.datagrams);
      const onAppMessage = (data: unknown): void => {
        if (!(data instanceof Uint8Array)) {
          c.refuse('MALFORMED', 'a message must be binary');
          return;
        }
        // Any message counts as a sign of life, even one refused below.
        if (c.member) c.member.heard = true;
        let m: ClientMessage;
        try {
          m = decodeClientMessage(data);
        } catch (err) {
          if (err instanceof ProtocolError) c.refuse(err.code, err.message, err.kind);
          else c.refuse('MALFORMED', String(err));
          return;
        }
        try {
          onMessage(c, m);
        } catch (err) {
          o.onEvent('handler-error', { error: String(err), kind: m.kind });
          c.refuse('INTERNAL', 'the relay could not handle this message', m.kind);
        }
      };
      // App message frames skip socket.io's event dispatch; an `m` event sent as a generic
      // socket.io packet still arrives through it.
      attachAppHandler(socket, onAppMessage);
      socket.on(APP_EVENT, onAppMessage);
      socket.onAny((event: string) => {
        if (event !== APP_EVENT)
          c.refuse('UNKNOWN_KIND', `unknown event "${String(event).slice(0, 40)}"`);
      });
      socket.on('disconnect', () => {
        detachAppHandler(socket);
        o.datagrams?.closeSession(c, 'socket closed');
        stats.connections--;
        matchmaker.leaveQueue(c);
        if (c.room && c.member) c.room.disconnected(c.member);
      });
    });
  }
}
