import {
  type Frame,
  type Input,
  initStateHash,
  type PlayerSlot,
  Prng,
  randomDuelInput,
} from '../sim/index.ts';
import { MatchClient, type MatchStart } from './match-client.ts';
import type { LinkImpairment } from './net/index.ts';
import { FixedTimestep, type SessionStats, slowdownFor } from './session/index.ts';
import { RelayConnection } from './transport/relay-connection.ts';

/** Settings of {@link runBot}. */
export interface BotOptions {
  /** The relay, e.g. `http://127.0.0.1:8080`. */
  readonly url: string;
  /** The scene to join. */
  readonly scene: string;
  /** Frames to play: the bot reports the hash of this confirmed frame and then waits for the end. */
  readonly frames: number;
  /** Seed of the bot's inputs and of its impairment's draws. */
  readonly seed: number;
  /** Impairment of the bot's connection, applied both ways. */
  readonly impairment?: LinkImpairment;
  readonly participantId?: string;
  /** Give up after this long, in ms (default: 3 × the match's length + 60 s). */
  readonly timeoutMs?: number;
  /** Called when the match starts (for measurement). */
  readonly onStart?: (matchId: string, slot: PlayerSlot) => void;
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
  readonly endReason: string | null;
  readonly stats: SessionStats;
}

/**
 * A headless peer: joins a scene through the real relay, plays seeded random inputs at the
 * scene's tick rate on the real clock (holding each input for 4-11 frames, as a person would),
 * reports hashes like any peer, and after `frames` frames reports its final hash and waits for
 * the relay to end the match.
 * @throws Error when the relay cannot be reached or refuses the join
 */
export async function runBot(o: BotOptions): Promise<BotResult> {
  await initStateHash();
  const conn = await RelayConnection.connect(o.url, {
    impairment: o.impairment,
    seed: o.seed,
  });
  const start = await new Promise<MatchStart>((resolve, reject) => {
    conn.onMessage((m) => {
      if (m.kind === 'start') resolve(m);
      else if (m.kind === 'error') reject(new Error(`relay refused: ${m.code}: ${m.message}`));
    });
    conn.onClose((reason) => reject(new Error(`connection closed before the match: ${reason}`)));
    conn.send({ kind: 'join', scene: o.scene, participantId: o.participantId ?? null });
  });
  o.onStart?.(start.matchId, start.slot);
  const now = (): number => performance.now(); // clock-ok: driving the loop, not the sim
  const match = new MatchClient(conn, start, {
    onInputSent: (frame) => o.onInputSent?.(start.matchId, start.slot, frame, now()),
    onInputReceived: (slot, frame) =>
      o.onInputReceived?.(start.matchId, slot, start.slot, frame, now()),
  });
  conn.onMessage((m) => match.handle(m, now()));

  const rng = Prng.fromSeed(o.seed);
  const isDuel = start.settings.sim === 'duel';
  let input: Input = { buttons: 0, x: 0, y: 0 };
  let holdFrames = 0;
  const nextInput = (): Input => {
    if (holdFrames-- <= 0) {
      holdFrames = 4 + rng.nextInt(8);
      const u = rng.nextU32();
      input = isDuel ? randomDuelInput(u) : { buttons: u & 0xffff, x: 0, y: 0 };
    }
    return input;
  };

  const timestep = new FixedTimestep({ tickRate: start.settings.tickRate });
  const timeoutMs = o.timeoutMs ?? ((3 * o.frames) / start.settings.tickRate) * 1000 + 60_000;
  const began = now();
  let finalHash: string | null = null;
  let closed = false;
  conn.onClose(() => {
    closed = true;
  });

  await new Promise<void>((resolve) => {
    let last = now();
    const loop = (): void => {
      const t = now();
      const ticks = timestep.update(t - last);
      last = t;
      for (let i = 0; i < ticks; i++) match.tick(nextInput(), t);
      timestep.setSlowdown(slowdownFor(match.peer.session.frameAdvantage()));
      if (finalHash === null) finalHash = match.finishAt(o.frames);
      const othersGone = match.departed.size === start.settings.players - 1;
      if (
        match.endReason !== null ||
        closed ||
        t - began > timeoutMs ||
        (finalHash && othersGone)
      ) {
        resolve();
        return;
      }
      setTimeout(loop, Math.max(1, timestep.tickMs - timestep.backlogMs));
    };
    loop();
  });
  conn.close();
  return {
    matchId: start.matchId,
    slot: start.slot,
    finalFrame: o.frames,
    finalHash,
    finished: finalHash !== null,
    desyncs: match.desyncs,
    agreedChecks: match.agreedChecks,
    endReason: match.endReason,
    stats: match.peer.session.stats(),
  };
}
