import type { Frame, PlayerSlot } from '../index.ts';

/**
 * Estimates the frame advantage: how many frames this peer runs ahead of the slowest other peer.
 * Each remote input carries the sender's current frame; corrected by the one-way delay (half the
 * measured round trip) it gives the remote's frame now, and the difference from the local frame is
 * averaged over a window. Idea: GGPO's `TimeSync` (local frame advantage, averaged over a window,
 * turned into a gentle wait) and GGRS's `frames_ahead`.
 */
export class TimeSync {
  private readonly samples: number[][];
  private readonly rttMs: number[];
  private readonly frameMs: number;

  /**
   * @param players number of players in the match
   * @param localSlot this peer's slot
   * @param tickRate frames per second
   * @param windowSize samples averaged per remote peer (default 32)
   */
  constructor(
    players: number,
    private readonly localSlot: PlayerSlot,
    tickRate: number,
    private readonly windowSize = 32,
  ) {
    this.samples = Array.from({ length: players }, () => []);
    this.rttMs = new Array<number>(players).fill(0);
    this.frameMs = 1000 / tickRate;
  }

  /** Records a measured round trip to `slot`, in ms (smoothed like TCP's SRTT, gain 1/8). */
  setRtt(slot: PlayerSlot, rttMs: number): void {
    const old = this.rttMs[slot];
    this.rttMs[slot] = old === 0 ? rttMs : old + (rttMs - old) / 8;
  }

  /** The smoothed round trip to `slot` in ms (0 until measured). */
  rtt(slot: PlayerSlot): number {
    return this.rttMs[slot];
  }

  /**
   * Records that a message sent by `slot` when it was at `remoteFrame` arrived while this peer
   * is at `localFrame`.
   */
  onRemoteFrame(slot: PlayerSlot, remoteFrame: Frame, localFrame: Frame): void {
    const oneWayFrames = this.rttMs[slot] / 2 / this.frameMs;
    const s = this.samples[slot];
    s.push(localFrame - (remoteFrame + oneWayFrames));
    if (s.length > this.windowSize) s.shift();
  }

  /**
   * Frames this peer is ahead of the slowest remote peer, averaged (negative when behind every
   * peer; 0 before any sample).
   */
  frameAdvantage(): number {
    let worst = Number.NEGATIVE_INFINITY;
    for (let slot = 0; slot < this.samples.length; slot++) {
      const s = this.samples[slot];
      if (slot === this.localSlot || s.length === 0) continue;
      let sum = 0;
      for (const v of s) sum += v;
      worst = Math.max(worst, sum / s.length);
    }
    return worst === Number.NEGATIVE_INFINITY ? 0 : worst;
  }
}

/**
 * How much to lengthen the tick to let the others catch up: 0 while less than one frame ahead,
 * then 5 % per frame of advantage, at most 20 %. Gentle, so that players do not feel it.
 */
export function slowdownFor(frameAdvantage: number): number {
  return frameAdvantage < 1 ? 0 : Math.min(0.2, 0.05 * frameAdvantage);
}
