/**
 * The relay's acknowledgements of input datagrams, held back for about a frame so that they ride
 * on the datagrams the relay sends anyway.
 *
 * Every datagram to a member carries its acknowledgement (`protocol/datagram.ts`), and a member
 * gets one each time another player's input arrives: in a match at 60 fps that is at least once
 * a frame. Answering each received datagram at once with an acknowledgement of its own doubled
 * the datagrams the relay sent per input, and each costs SCTP, a DTLS record and a `sendto` in
 * the relay's event loop (see docs/benchmarks.md). So a datagram received makes the member's
 * acknowledgement *due*; any datagram sent to the member settles it; one still due after a whole
 * {@link ACK_PERIOD_MS} period (so 17 to 34 ms after the datagram) is sent alone. GGPO's UDP
 * protocol likewise acknowledges in the input packets going the other way.
 *
 * The peer loses nothing by the wait: it repeats its unacknowledged inputs in every datagram
 * (an input or two more per datagram), and it falls back to websocket only after 1 s of
 * silence. One {@link DelayedAcks} serves every room of a relay: one timer, running only while
 * some acknowledgement is due.
 */
import type { Member } from './room-state.ts';
import type { RelayScheduler, RelayTimerId } from './scheduler.ts';

/**
 * The period of the acknowledgement timer, ms: about one frame at 60 fps, the inter-arrival of
 * the other players' inputs that the acknowledgement can ride on.
 */
export const ACK_PERIOD_MS = 17;

/** Where a due acknowledgement is sent: the member's room's datagram path. */
export interface AckSender {
  /** Sends `member` a datagram carrying its acknowledgement (and whatever it lacks). */
  sendTo(member: Member): void;
}

/** Due acknowledgements of every room: see the module comment. */
export class DelayedAcks {
  private members: Member[] = [];
  private senders: AckSender[] = [];
  /** Counts timer periods; a member's `ackDueTick` is the period its acknowledgement became due in. */
  private tick = 0;
  private timer: RelayTimerId | null = null;

  constructor(
    private readonly scheduler: RelayScheduler,
    private readonly periodMs = ACK_PERIOD_MS,
  ) {}

  /** Acknowledgements due now (members whose acknowledgement no datagram has carried yet). */
  get dueCount(): number {
    let n = 0;
    for (const m of this.members) if (m.ackDueTick >= 0) n++;
    return n;
  }

  /** `member` sent a datagram: its acknowledgement is due, through `sender` if nothing carries it. */
  due(member: Member, sender: AckSender): void {
    if (member.ackDueTick >= 0) return;
    member.ackDueTick = this.tick;
    this.members.push(member);
    this.senders.push(sender);
    if (this.timer === null)
      this.timer = this.scheduler.at(this.scheduler.now() + this.periodMs, () => this.flush());
  }

  /** A datagram to `member` went out, carrying its acknowledgement. */
  static carried(member: Member): void {
    member.ackDueTick = -1;
  }

  /** Stops the timer (the relay is closing); due acknowledgements are dropped. */
  close(): void {
    if (this.timer !== null) this.scheduler.cancel(this.timer);
    this.timer = null;
    for (const m of this.members) m.ackDueTick = -1;
    this.members = [];
    this.senders = [];
  }

  private flush(): void {
    this.timer = null;
    const previous = this.tick++;
    const members = this.members;
    const senders = this.senders;
    let kept = 0;
    for (let i = 0; i < members.length; i++) {
      const m = members[i];
      if (m.ackDueTick < 0) continue; // carried meanwhile
      if (m.ackDueTick < previous) {
        // Due for a whole period and nothing carried it: it goes alone.
        senders[i].sendTo(m);
        m.ackDueTick = -1;
        continue;
      }
      members[kept] = m;
      senders[kept] = senders[i];
      kept++;
    }
    members.length = kept;
    senders.length = kept;
    if (kept > 0)
      this.timer = this.scheduler.at(this.scheduler.now() + this.periodMs, () => this.flush());
  }
}
