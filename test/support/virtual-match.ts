import { createStarNetwork, type LinkImpairment, VirtualClock } from '../../client/net/index.ts';
import { type Frame, type Input, type Sim, stateHash } from '../../sim/index.ts';
import {
  type SaveStrategy,
  type SessionMessage,
  SessionPeer,
  type SyncMode,
  slowdownFor,
} from '../../sim/sync/index.ts';

/** One simulated match of N peers on a virtual clock, each behind its own impaired path. */
export interface VirtualMatchOptions<Snap> {
  readonly players: number;
  readonly makeSim: () => Sim<Snap>;
  /** Frames every peer must confirm. */
  readonly frames: number;
  readonly seed: number;
  /** Each peer's path to the relay (one for all, or one per peer). */
  readonly impairment: LinkImpairment | readonly LinkImpairment[];
  /** The input peer `slot` stamps for frame `frame`: a pure function, so runs are comparable. */
  readonly inputFor: (slot: number, frame: Frame) => Input;
  readonly mode?: SyncMode;
  readonly inputDelay?: number;
  readonly maxPredictionWindow?: number;
  readonly saveStrategy?: SaveStrategy;
  readonly tickRate?: number;
  /** Each peer's clock rate (1 = exact); a peer at 1.01 ticks 1 % slower. */
  readonly clockRates?: readonly number[];
  /** Each peer's start time in ms. */
  readonly startMs?: readonly number[];
  /** Whether peers slow down when ahead (time sync); default true. */
  readonly timeSync?: boolean;
}

/** What a virtual match produced. */
export interface VirtualMatchResult<Snap> {
  readonly peers: readonly SessionPeer<Snap>[];
  /** Virtual ms elapsed. */
  readonly elapsedMs: number;
  /** True when every peer confirmed `frames` before the time limit. */
  readonly finished: boolean;
}

/** Runs a match to completion (or to a generous virtual time limit). */
export function runVirtualMatch<Snap>(o: VirtualMatchOptions<Snap>): VirtualMatchResult<Snap> {
  const clock = new VirtualClock();
  const tickMs = 1000 / (o.tickRate ?? 60);
  const peers: SessionPeer<Snap>[] = [];
  const net = createStarNetwork<SessionMessage>({
    peers: o.players,
    clock,
    seed: o.seed,
    impairment: o.impairment,
    deliver: (to, from, msg) => peers[to].receive(from, msg, clock.now()),
  });
  for (let slot = 0; slot < o.players; slot++) {
    peers.push(
      new SessionPeer(
        o.makeSim(),
        {
          players: o.players,
          localSlot: slot,
          tickRate: o.tickRate ?? 60,
          mode: o.mode,
          inputDelay: o.inputDelay,
          maxPredictionWindow: o.maxPredictionWindow,
          saveStrategy: o.saveStrategy,
        },
        (msgs) => {
          for (const m of msgs) net.send(slot, m);
        },
      ),
    );
  }
  const done = (): boolean => peers.every((p) => p.session.hashAt(o.frames) !== null);
  // Tiny windows over long, lossy paths advance about W frames per round trip: allow for it.
  const limitMs = o.frames * tickMs * 4 + 600_000;
  let finished = false;
  for (let slot = 0; slot < o.players; slot++) {
    const rate = o.clockRates?.[slot] ?? 1;
    const tick = (): void => {
      if (finished) return;
      const p = peers[slot];
      const stamp = p.session.frame + p.session.inputDelay;
      p.tick(o.inputFor(slot, stamp), clock.now());
      if (done()) {
        finished = true;
        return;
      }
      const slow = o.timeSync === false ? 0 : slowdownFor(p.session.frameAdvantage());
      clock.at(clock.now() + tickMs * rate * (1 + slow), tick);
    };
    clock.at(o.startMs?.[slot] ?? 0, tick);
  }
  while (!finished && clock.now() <= limitMs && clock.runNext()) {
    // events run in clock.runNext()
  }
  net.close();
  return { peers, elapsedMs: clock.now(), finished };
}

/**
 * Checks a finished match against a lockstep reference: the confirmed inputs of every peer agree,
 * and replaying them straight through gives, at every frame, the hash each peer confirmed.
 * @returns a list of mismatches (empty when all agree) and the number of hashes compared
 */
export function compareWithReference<Snap>(
  result: VirtualMatchResult<Snap>,
  makeSim: () => Sim<Snap>,
  frames: number,
): { mismatches: string[]; compared: number } {
  const mismatches: string[] = [];
  const players = result.peers.length;
  const inputs: Input[][] = [];
  for (let f = 0; f < frames; f++) {
    const row: Input[] = [];
    for (let p = 0; p < players; p++) {
      const i = result.peers[0].session.confirmedInput(p, f);
      if (!i) {
        mismatches.push(`peer 0 lacks the input of slot ${p} at frame ${f}`);
        return { mismatches, compared: 0 };
      }
      row.push(i);
    }
    inputs.push(row);
  }
  const sim = makeSim();
  const reference: string[] = [stateHash(sim.encode(sim.save()))];
  for (let f = 0; f < frames; f++) {
    sim.step(inputs[f]);
    reference.push(stateHash(sim.encode(sim.save())));
  }
  let compared = 0;
  result.peers.forEach((peer, slot) => {
    for (let f = 0; f <= frames; f++) {
      const h = peer.session.hashAt(f);
      if (h === null) mismatches.push(`peer ${slot} has no hash for frame ${f}`);
      else if (h !== reference[f])
        mismatches.push(`peer ${slot} frame ${f}: ${h} != ${reference[f]}`);
      else compared++;
    }
  });
  return { mismatches: mismatches.slice(0, 10), compared };
}
