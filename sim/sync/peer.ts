import type { Input, PlayerSlot, Sim } from '../index.ts';
import { SimRunner } from './runner.ts';
import { type AdvanceResult, type SessionSettings, SyncSession } from './session.ts';
import type { SessionMessage } from './types.ts';

/**
 * A sync session wired to a sim in this thread and to an outgoing transport: the unit that
 * headless bots, tests and the browser page drive once per tick. Holds no clock; the caller
 * passes the time in.
 */
export class SessionPeer<Snap> {
  readonly session: SyncSession;
  readonly runner: SimRunner<Snap>;

  /**
   * @param sim the sim at frame 0
   * @param settings the session's settings (the sim's default input is used unless given)
   * @param send called with the messages to broadcast to every other peer, after each tick
   */
  constructor(
    sim: Sim<Snap>,
    settings: SessionSettings,
    private readonly send: (messages: SessionMessage[]) => void,
  ) {
    const defaultInput = settings.defaultInput ?? sim.defaultInput?.bind(sim);
    this.session = new SyncSession({ ...settings, defaultInput });
    this.runner = new SimRunner(sim);
  }

  /** Takes a message that arrived from `from` at local time `nowMs`. */
  receive(from: PlayerSlot, msg: SessionMessage, nowMs: number): void {
    this.session.receive(from, msg, nowMs);
    this.flush();
  }

  /** Runs one tick with the local input sampled now; returns what the session did. */
  tick(localInput: Input, nowMs: number): AdvanceResult {
    const result = this.session.advanceFrame(localInput, nowMs);
    this.session.recordHashes(this.runner.run(result.requests));
    this.flush();
    return result;
  }

  private flush(): void {
    const out = this.session.drainOutgoing();
    if (out.length > 0) this.send(out);
  }
}
