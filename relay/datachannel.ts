/**
 * The relay's end of the peers' input DataChannels, on node-datachannel (libdatachannel, ICE by
 * libjuice). A peer offers over its socket.io connection; the relay answers, the peer's ICE
 * checks reach the relay's host candidate, and the peer's unordered, unreliable channel carries
 * binary input datagrams both ways.
 *
 * Identity: every packet is delivered with the session handle the caller passed to
 * {@link DataChannelEndpoint.answer}, the socket.io session that signalled the channel; the relay
 * takes slot and match from that session, never from a packet. A DataChannel is authenticated to
 * that session by the DTLS fingerprint in the signalled SDP.
 *
 * Browsers hide their host addresses behind mDNS names (`<uuid>.local`) unless the page may use
 * the camera; the relay cannot resolve them and does not try (they are dropped). None is needed:
 * the browser's checks to the relay's host candidate make libjuice learn the browser's address
 * as a peer-reflexive candidate (see test/spike/datachannel-spike.ts), so a relay whose
 * announced address is reachable works with default browsers, no flags, no STUN.
 */
import nodeDataChannel, {
  type DataChannel,
  type PeerConnection,
  type RtcConfig,
} from 'node-datachannel';
import {
  checkDataChannelSignal,
  DATACHANNEL_LABEL,
  type DataChannelSignal,
} from '../protocol/datachannel-signal.ts';
import { MAX_CLIENT_DATAGRAM_BYTES } from '../protocol/datagram.ts';
import { ProtocolError } from '../protocol/index.ts';

/** Settings of a {@link DataChannelEndpoint}: the UDP side of a deployment. */
export interface DataChannelEndpointOptions {
  /**
   * Local address the UDP sockets bind to (default `'127.0.0.1'`: loopback only, for tests and
   * a relay behind a local proxy). `'0.0.0.0'` binds every interface.
   */
  readonly bindAddress?: string;
  /**
   * The address to announce in the relay's candidates instead of the bound one: the public
   * address of a 1:1 NAT (a cloud VM's elastic IP). Default: announce what libjuice found.
   */
  readonly publicAddress?: string;
  /** First UDP port to use, 1024..65535 (default: any). Open this range in the firewall. */
  readonly portRangeBegin?: number;
  /** Last UDP port to use, portRangeBegin..65535 (default: any). */
  readonly portRangeEnd?: number;
  /** Serve every session on one UDP port (libjuice's ICE UDP mux); default false. */
  readonly udpMux?: boolean;
  /** Most sessions with a PeerConnection at once, >= 1 (default 1024). */
  readonly maxSessions?: number;
  /** Close a session whose channel has not opened after this long, ms (default 10 000). */
  readonly openTimeoutMs?: number;
  /** Larger received packets are dropped and counted, bytes (default 331: a peer's datagram). */
  readonly maxPacketBytes?: number;
}

/** What a {@link DataChannelEndpoint} reports; each call names the session it concerns. */
export interface DataChannelEvents<S> {
  /** A binary packet arrived on the session's channel (its own bytes, at most maxPacketBytes). */
  readonly packet: (session: S, bytes: Uint8Array) => void;
  /** The session's channel opened: {@link DataChannelEndpoint.send} works from now on. */
  readonly open?: (session: S) => void;
  /**
   * The session's PeerConnection is gone (`reason`: `'closed'` by the caller, `'replaced'` by a
   * new offer, `'timeout'`, `'failed'`, `'disconnected'`, `'channel closed'`, `'endpoint closed'`).
   * Reported once per answered offer, and the session's inputs fall back to socket.io.
   */
  readonly close?: (session: S, reason: string) => void;
}

/** Counters of a {@link DataChannelEndpoint}. */
export interface DataChannelEndpointStats {
  /** Sessions with a PeerConnection now. */
  readonly sessions: number;
  /** Binary packets delivered. */
  readonly packets: number;
  /** Packets dropped: text messages, oversize ones. */
  readonly droppedPackets: number;
  /** Further channels a peer opened on its PeerConnection: closed at once. */
  readonly extraChannels: number;
  /** Remote candidates not used: mDNS names, ones libdatachannel refused. */
  readonly skippedCandidates: number;
}

interface Entry {
  readonly pc: PeerConnection;
  channel: DataChannel | undefined;
  open: boolean;
  closed: boolean;
  timer: ReturnType<typeof setTimeout> | undefined;
}

/** How many `a=candidate:` lines an SDP holds. */
function candidateLines(sdp: string): number {
  return sdp.match(/^a=candidate:/gm)?.length ?? 0;
}

/**
 * The peer's offer as the relay applies it: DTLS role `active` for the peer (so the relay is the
 * DTLS server, see {@link DataChannelEndpoint.answer}), and without the peer's ICE candidates.
 *
 * The relay learns the peer's address from the peer's own connectivity checks (a
 * peer-reflexive candidate), which start only once the peer has the relay's answer. Were the
 * relay to check the peer's candidates itself, ICE could connect on the peer before the answer
 * arrives over socket.io (a busy relay or machine delays the answer by seconds while UDP flows at
 * once); libdatachannel then starts DTLS without the relay's fingerprint, the handshake fails
 * ("certificate verify failed"), the PeerConnection closes its ICE transport, and applying the
 * answer throws "Got a remote candidate without ICE transport". Browsers already hide their host
 * candidates behind mDNS names, which the relay cannot resolve, so this is the path every
 * browser takes; a peer behind a NAT opens the way with its own checks either way, and with no
 * STUN server (none is configured) its candidates are private addresses the relay could rarely
 * reach.
 */
export function peerOfferSdp(sdp: string): string {
  return sdp
    .replace(/^a=setup:actpass/m, 'a=setup:active')
    .replace(/^a=(candidate:|end-of-candidates).*(\r?\n|$)/gm, '');
}

/** A candidate line without SDP's `a=`, its address replaced when `address` is given. */
function announce(candidate: string, address: string | undefined): string {
  const c = candidate.startsWith('a=') ? candidate.slice(2) : candidate;
  if (address === undefined) return c;
  // candidate:<foundation> <component> <transport> <priority> <address> <port> typ <type> ...
  const fields = c.split(' ');
  if (fields.length >= 8) fields[4] = address;
  return fields.join(' ');
}

/**
 * The relay's DataChannel endpoint: answers peers' offers with node-datachannel PeerConnections,
 * one per session, and moves binary packets between each session's channel and the caller.
 *
 * Resources are bounded: one PeerConnection and one channel per session (a new offer replaces the
 * old connection, further channels are closed), at most `maxSessions` at once, signalling checked
 * against {@link checkDataChannelSignal}'s limits, received packets size-checked, and a session
 * that does not open within `openTimeoutMs` is closed.
 *
 * @typeParam S the caller's session handle (compared by identity), e.g. its socket.io session
 */
export class DataChannelEndpoint<S extends object> {
  private readonly sessions = new Map<S, Entry>();
  private readonly options: Required<Omit<DataChannelEndpointOptions, 'publicAddress'>> &
    Pick<DataChannelEndpointOptions, 'publicAddress'>;
  private isClosed = false;
  private counts = { packets: 0, droppedPackets: 0, extraChannels: 0, skippedCandidates: 0 };

  /**
   * @throws RangeError when a port, `maxSessions`, `openTimeoutMs` or `maxPacketBytes` is out of
   *   range
   */
  constructor(
    private readonly events: DataChannelEvents<S>,
    options: DataChannelEndpointOptions = {},
  ) {
    this.options = {
      bindAddress: options.bindAddress ?? '127.0.0.1',
      publicAddress: options.publicAddress,
      portRangeBegin: options.portRangeBegin ?? 0,
      portRangeEnd: options.portRangeEnd ?? 0,
      udpMux: options.udpMux ?? false,
      maxSessions: options.maxSessions ?? 1024,
      openTimeoutMs: options.openTimeoutMs ?? 10_000,
      maxPacketBytes: options.maxPacketBytes ?? MAX_CLIENT_DATAGRAM_BYTES,
    };
    const { portRangeBegin: begin, portRangeEnd: end } = this.options;
    const port = (p: number) => p === 0 || (Number.isInteger(p) && p >= 1024 && p <= 65535);
    if (!port(begin) || !port(end) || (end !== 0 && end < begin) || (end === 0) !== (begin === 0)) {
      throw new RangeError(
        `port range must be 1024..65535 with begin <= end, got ${begin}..${end}`,
      );
    }
    for (const key of ['maxSessions', 'openTimeoutMs', 'maxPacketBytes'] as const) {
      const v = this.options[key];
      if (!Number.isInteger(v) || v < 1) throw new RangeError(`${key} must be an integer >= 1`);
    }
  }

  /**
   * Answers `offer` (as received from the session's socket.io connection; checked here) with a
   * new PeerConnection for `session`, replacing the session's previous one. Resolves once the
   * relay's candidates are gathered (milliseconds: host candidates only).
   *
   * @returns the answer to send back to the peer over socket.io
   * @throws {@link ProtocolError} `MALFORMED`/`OVERSIZE`/`BAD_FIELD` for an invalid offer or one
   *   libdatachannel refuses, `RATE_LIMIT` when `maxSessions` are open, `INTERNAL` when the
   *   endpoint is closed or gathering fails
   */
  async answer(session: S, offer: unknown): Promise<DataChannelSignal> {
    const checked = checkDataChannelSignal(offer, 'rtcOffer');
    if (this.isClosed) throw new ProtocolError('INTERNAL', 'the DataChannel endpoint is closed');
    this.closeSession(session, 'replaced');
    if (this.sessions.size >= this.options.maxSessions) {
      throw new ProtocolError(
        'RATE_LIMIT',
        `the relay has ${this.options.maxSessions} DataChannel sessions open`,
        'rtcOffer',
      );
    }
    const o = this.options;
    const config: RtcConfig = {
      iceServers: [],
      bindAddress: o.bindAddress,
      enableIceUdpMux: o.udpMux,
      ...(o.portRangeBegin !== 0
        ? { portRangeBegin: o.portRangeBegin, portRangeEnd: o.portRangeEnd }
        : {}),
    };
    const pc = new nodeDataChannel.PeerConnection('concord-relay', config);
    const entry: Entry = { pc, channel: undefined, open: false, closed: false, timer: undefined };
    this.sessions.set(session, entry);
    entry.timer = setTimeout(() => this.end(session, entry, 'timeout'), o.openTimeoutMs);

    const candidates: string[] = [];
    let gatherTimer: ReturnType<typeof setTimeout> | undefined;
    const gathered = new Promise<void>((resolve) => {
      pc.onLocalCandidate((c) => candidates.push(announce(c, o.publicAddress)));
      pc.onGatheringStateChange((state) => {
        if (state === 'complete') resolve();
      });
      // Host candidates take milliseconds; never wait longer than the open timeout.
      gatherTimer = setTimeout(resolve, o.openTimeoutMs);
    });
    pc.onStateChange((state) => {
      if (state === 'failed' || state === 'disconnected' || state === 'closed') {
        this.end(session, entry, state);
      }
    });
    pc.onDataChannel((dc) => this.adopt(session, entry, dc));

    try {
      // The relay takes the DTLS server role (RFC 8842: an offer's actpass lets the answerer
      // choose; taking it as active makes the relay passive). As the client, the relay would send
      // its first DTLS flight as soon as ICE connects, often before the peer has the answer
      // (still crossing socket.io); the peer drops it and DTLS retransmits only after 1 s. The
      // peer, as the client, starts the handshake once it has the answer.
      pc.setRemoteDescription(peerOfferSdp(checked.sdp), 'offer');
      // The peer's candidates are not used (counted as skipped): see peerOfferSdp.
      this.counts.skippedCandidates += checked.candidates.length + candidateLines(checked.sdp);
    } catch (e) {
      this.end(session, entry, 'failed');
      throw new ProtocolError(
        'BAD_FIELD',
        `rtcOffer: refused (${String(e).slice(0, 200)})`,
        'rtcOffer',
      );
    }
    await gathered;
    clearTimeout(gatherTimer);
    const local = pc.localDescription();
    if (entry.closed || local === null) {
      this.end(session, entry, 'failed');
      throw new ProtocolError('INTERNAL', 'the DataChannel answer could not be made');
    }
    const sdp =
      o.publicAddress === undefined
        ? local.sdp
        : local.sdp.replace(/^a=candidate:.*$/gm, (line) => `a=${announce(line, o.publicAddress)}`);
    return { sdp, candidates };
  }

  /**
   * Sends one binary packet on the session's channel, unordered and unreliable.
   * @returns false when the session has no open channel or libdatachannel refused it
   */
  send(session: S, bytes: Uint8Array): boolean {
    const entry = this.sessions.get(session);
    if (!entry?.open || !entry.channel) return false;
    try {
      return entry.channel.sendMessageBinary(bytes);
    } catch {
      return false;
    }
  }

  /** Whether the session's channel is open. */
  isOpen(session: S): boolean {
    return this.sessions.get(session)?.open ?? false;
  }

  /** Closes the session's PeerConnection, if any (its `close` event says `reason`). */
  closeSession(session: S, reason = 'closed'): void {
    const entry = this.sessions.get(session);
    if (entry) this.end(session, entry, reason);
  }

  /** A snapshot of the counters. */
  stats(): DataChannelEndpointStats {
    return { sessions: this.sessions.size, ...this.counts };
  }

  /**
   * Closes every session (reason `'endpoint closed'`) and refuses further offers. The native
   * library stays loaded for other endpoints: call {@link shutdownDataChannels} once at exit.
   */
  close(): void {
    this.isClosed = true;
    for (const [session, entry] of [...this.sessions]) this.end(session, entry, 'endpoint closed');
  }

  private adopt(session: S, entry: Entry, dc: DataChannel): void {
    if (entry.closed || entry.channel !== undefined || dc.getLabel() !== DATACHANNEL_LABEL) {
      this.counts.extraChannels++;
      dc.close();
      return;
    }
    entry.channel = dc;
    const opened = () => {
      if (entry.open || entry.closed) return;
      entry.open = true;
      clearTimeout(entry.timer);
      this.events.open?.(session);
    };
    dc.onOpen(opened);
    dc.onClosed(() => this.end(session, entry, 'channel closed'));
    dc.onMessage((msg) => {
      if (entry.closed) return;
      if (typeof msg === 'string' || msg.byteLength > this.options.maxPacketBytes) {
        this.counts.droppedPackets++;
        return;
      }
      // node-datachannel hands over a fresh Buffer per message: a plain view of it, no copy.
      const bytes =
        msg instanceof ArrayBuffer
          ? new Uint8Array(msg)
          : new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength);
      this.counts.packets++;
      this.events.packet(session, bytes);
    });
    if (dc.isOpen()) opened();
  }

  private end(session: S, entry: Entry, reason: string): void {
    if (entry.closed) return;
    entry.closed = true;
    entry.open = false;
    clearTimeout(entry.timer);
    if (this.sessions.get(session) === entry) this.sessions.delete(session);
    try {
      entry.channel?.close();
      entry.pc.close();
    } catch {
      // Already closed by libdatachannel: nothing left to release.
    }
    this.events.close?.(session, reason);
  }
}

/**
 * Releases node-datachannel's native threads and sockets (its `cleanup()`), so that the process
 * can exit. Call once at shutdown, after every {@link DataChannelEndpoint} is closed; no
 * PeerConnection works afterwards.
 */
export function shutdownDataChannels(): void {
  nodeDataChannel.cleanup();
}
