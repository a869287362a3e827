/**
 * The datagram side of a room's forward path: input datagrams from members' WebRTC DataChannels
 * (unordered, never retransmitted) in, acknowledgements and the inputs each member lacks out.
 *
 * - **In**: a member's datagram repeats all its inputs the relay has not acknowledged. Each
 *   input for the member's next frame goes through the room's ordinary `input()` (validated,
 *   forwarded at once, logged once); one for a frame already held is dropped when equal and
 *   refused and counted when different; one past a gap waits for the next datagram. The slot
 *   and match are the member's, whose DataChannel it is (its socket.io session signalled it): a
 *   datagram names neither.
 * - **Out**: every datagram to a member carries its acknowledgement; for a member on the `webrtc`
 *   path, the datagram sent when another player's input arrives carries, per player, every input
 *   after the frame the member last reported holding. A datagram received makes the member's
 *   acknowledgement due: it rides on the next datagram to the member, or goes alone about a frame
 *   later (delayed-acks.ts), instead of one datagram more per datagram received. So a lost
 *   datagram costs nothing: the next one says it all again (GGPO's UDP protocol, Photon
 *   Quantum's input redundancy; geckos.io's unreliable channels for the transport).
 * - **Path**: the peer says which path carries its inputs (`inputPath`); on `websocket` the
 *   relay resends on socket.io every input the member may lack.
 *
 * Nothing here allocates per input: datagrams are read in place and written into one buffer.
 */
import {
  clientDatagramView,
  type Frame,
  heldOf,
  type InputPath,
  MAX_DATAGRAM_INPUTS,
  ProtocolError,
  readClientDatagram,
  ServerDatagramWriter,
} from '../protocol/index.ts';
import { DelayedAcks } from './delayed-acks.ts';
import type { Member, RoomState } from './room-state.ts';

/** What the datagram path needs of its room beyond {@link RoomState}. */
export interface DatagramRoom extends RoomState {
  /** The room's forward path for one input of `member` (4 bytes at `at` in `input`). */
  input(member: Member, frame: Frame, input: Uint8Array, currentFrame: Frame, at?: number): void;
  /** Sends `member` on socket.io every input of the others after what it reported holding. */
  resendOnSocket(member: Member): void;
  /** False when the room does not forward inputs to members (an authoritative match). */
  readonly forwardsInputs?: boolean;
}

/** A room's datagram path: see the module comment. */
export class DatagramPath {
  private readonly writer = new ServerDatagramWriter();
  private readonly view = clientDatagramView();

  /** @param acks where this room's acknowledgements wait for a datagram to ride on */
  constructor(
    private readonly room: DatagramRoom,
    private readonly acks: DelayedAcks,
  ) {}

  /** One datagram from `member`'s DataChannel (any bytes: checked here). */
  receive(member: Member, bytes: Uint8Array): void {
    const room = this.room;
    const counters = room.counters;
    counters.datagramsIn++;
    if (room.ended || member.status !== 'connected') {
      counters.refusedDatagrams++;
      return;
    }
    member.heard = true;
    const v = this.view;
    try {
      readClientDatagram(bytes, v);
    } catch (err) {
      counters.refusedDatagrams++;
      const e = err instanceof ProtocolError ? err : null;
      room.hooks.refuse(member, e?.code ?? 'MALFORMED', e?.message ?? String(err), 'datagram');
      return;
    }
    const members = room.members;
    if (v.players > members.length) {
      counters.refusedDatagrams++;
      room.hooks.refuse(
        member,
        'BAD_FIELD',
        `datagram: held of ${v.players} slots; this match has ${members.length}`,
        'datagram',
      );
      return;
    }
    for (let s = 0; s < v.players; s++) {
      if (s === member.slot) continue;
      // A peer cannot hold what the relay has not sent: cap at what the relay holds.
      const h = Math.min(heldOf(bytes, v, s), members[s].nextFrame - 1);
      if (h > member.held[s]) member.held[s] = h;
    }
    let conflicts = 0;
    for (let i = 0; i < v.count; i++) {
      const frame = v.startFrame + i;
      const at = v.inputsAt + i * 4;
      if (frame < member.nextFrame) {
        if (!member.recent.has(frame)) continue; // older than the ring: long since forwarded
        if (member.recent.equals(frame, bytes, at)) counters.duplicateInputs++;
        else conflicts++;
        continue;
      }
      if (frame > member.nextFrame) break; // a gap: the next datagram repeats these
      room.input(member, frame, bytes, v.currentFrame, at);
      if (member.nextFrame !== frame + 1 || member.status !== 'connected' || room.ended) break;
    }
    if (conflicts > 0) {
      counters.conflictingInputs += conflicts;
      room.hooks.refuse(
        member,
        'BAD_FIELD',
        `datagram: ${conflicts} input(s) differ from the ones already held for those frames`,
        'datagram',
      );
    }
    // The acknowledgement rides on the next datagram to this member, or goes alone a period on.
    this.acks.due(member, this);
  }

  /**
   * Sends `member` a datagram: its acknowledgement and, on the `webrtc` path, every input of
   * the others after what it reported holding (split over several datagrams when it must).
   */
  sendTo(member: Member): void {
    const link = member.link;
    if (!link?.sendDatagram || member.status !== 'connected') return;
    const w = this.writer;
    const counters = this.room.counters;
    w.begin(member.nextFrame - 1);
    if (member.inputPath === 'webrtc' && !member.syncing && this.room.forwardsInputs !== false) {
      for (const src of this.room.members) {
        if (src === member) continue;
        const from = member.held[src.slot] + 1;
        if (from >= src.nextFrame) continue;
        const start = Math.max(from, src.recent.oldest);
        if (start > from) counters.datagramGaps++;
        const n = Math.min(src.nextFrame - start, MAX_DATAGRAM_INPUTS);
        if (n > w.room()) {
          if (link.sendDatagram(w.bytes())) counters.datagramsOut++;
          w.begin(member.nextFrame - 1);
        }
        w.addRun(src.slot, start, src.recent.currentFrameOf(start + n - 1), n, src.recent);
      }
    }
    // No copy: libdatachannel copies the bytes into its message before send returns.
    if (link.sendDatagram(w.bytes())) counters.datagramsOut++;
    DelayedAcks.carried(member);
  }

  /**
   * `member`'s inputs travel over `path` from now on, as its peer said (`inputPath`) or because
   * its DataChannel closed; logged. On `websocket`, everything it may lack is resent there.
   * @returns why the change is refused (`webrtc` without an open DataChannel), or null
   */
  switchTo(member: Member, path: InputPath, reason: string): string | null {
    if (path === member.inputPath) return null;
    if (path === 'webrtc' && !member.link?.datagramOpen?.()) {
      return 'inputPath webrtc: this connection has no open DataChannel';
    }
    const room = this.room;
    member.inputPath = path;
    room.counters.inputPathChanges++;
    room.log.append({ type: 'inputPath', s: member.slot, path, reason, ms: room.ms() });
    room.hooks.event('input-path', { matchId: room.matchId, slot: member.slot, path, reason });
    if (path === 'websocket') room.resendOnSocket(member);
    else this.sendTo(member);
    return null;
  }
}
