import {
  type BodyRecord,
  type HeaderRecord,
  LOG_FORMAT,
  simCodeHash,
} from '../../relay/log/index.ts';
import {
  duel,
  encodeInput,
  type Input,
  NEUTRAL_INPUT,
  Prng,
  randomDuelInput,
  stateHash,
} from '../../sim/index.ts';

/** Settings of {@link sampleDuelMatch}. */
export interface SampleMatchOptions {
  readonly matchId?: string;
  /** 2–4 (default 3). */
  readonly players?: number;
  /** Match length in frames (default 300). */
  readonly frames?: number;
  readonly seed?: number;
  /** Default 2. */
  readonly inputDelay?: number;
  /** Peers report S(f) for f a multiple of this (default 10). */
  readonly hashInterval?: number;
  /**
   * The scene's frame limit in the header (default `frames`; 0: no limit, the match ends where
   * the peers say they are done, as in a bots' scene).
   */
  readonly frameLimit?: number;
  /** A slot that leaves after its input for `lastFrame` (default slot 1 midway; null: nobody). */
  readonly leave?: { readonly slot: number; readonly lastFrame: number } | null;
}

/** A generated match: its log records and the states its inputs lead to. */
export interface SampleMatch {
  readonly header: HeaderRecord;
  /** Every record after the header, in the order a relay would append them, without an end. */
  readonly records: readonly BodyRecord[];
  /** `hashes[f]`: state hash of S(f), for f = 0..frames. */
  readonly hashes: readonly string[];
  readonly frames: number;
}

/** Frames between a frame's inputs and its hash report (the peers' confirmation lag). */
const REPORT_LAG = 5;

/**
 * A duel match as a relay would log it, made up without a relay: seeded random inputs (each
 * slot sends inputs from the input delay up to a few frames past the end, as peers do), hash
 * reports every `hashInterval` frames from the connected slots with their verdicts, one slot
 * leaving midway, and done records at the end. The hashes come from running the sim, so a
 * correct replay must agree with them. For tests and examples; needs `initStateHash()`.
 */
export function sampleDuelMatch(options: SampleMatchOptions = {}): SampleMatch {
  const players = options.players ?? 3;
  const frames = options.frames ?? 300;
  const seed = options.seed ?? 7;
  const delay = options.inputDelay ?? 2;
  const interval = options.hashInterval ?? 10;
  const leave = options.leave === undefined ? { slot: 1, lastFrame: frames >> 1 } : options.leave;
  const header: HeaderRecord = {
    type: 'header',
    format: LOG_FORMAT,
    matchId: options.matchId ?? `sample-${seed}`,
    scene: {
      name: `duel-${players}`,
      sim: 'duel',
      players,
      tickRate: 60,
      mode: 'rollback',
      inputDelay: delay,
      maxPredictionWindow: 8,
      saveStrategy: 'ring',
      hashInterval: interval,
      frames: options.frameLimit ?? frames,
    },
    sim: { id: 'duel', codeHash: simCodeHash('duel') },
    seed,
    players: Array.from({ length: players }, (_, slot) => ({
      slot,
      participantId: slot === 0 ? null : `P${slot}`,
    })),
    startTime: '2026-11-21T23:00:00.000Z',
  };

  const rng = Prng.fromSeed(seed ^ 0x5eed);
  const lastInputFrame = (s: number) => (leave?.slot === s ? leave.lastFrame : frames - 1 + delay);
  const sent: Input[][] = Array.from({ length: players }, () => []);
  for (let f = 0; f < frames + delay; f++) {
    for (let s = 0; s < players; s++) sent[s].push(randomDuelInput(rng.nextU32()));
  }
  const sim = duel.create({ players, seed });
  const inputAt = (s: number, f: number) =>
    f < delay || f > lastInputFrame(s) ? (sim.defaultInput?.(s) ?? NEUTRAL_INPUT) : sent[s][f];
  const hashes = [stateHash(sim.encode(sim.save()))];
  for (let f = 0; f < frames; f++) {
    sim.step(Array.from({ length: players }, (_, s) => inputAt(s, f)));
    hashes.push(stateHash(sim.encode(sim.save())));
  }

  const records: BodyRecord[] = [];
  const connected = new Array(players).fill(true);
  const order = (): number[] => {
    const slots = Array.from({ length: players }, (_, s) => s);
    for (let i = slots.length - 1; i > 0; i--) {
      const j = rng.nextU32() % (i + 1);
      [slots[i], slots[j]] = [slots[j], slots[i]];
    }
    return slots;
  };
  const last = Math.max(frames - 1 + delay, frames + REPORT_LAG);
  for (let t = 0; t <= last; t++) {
    // Arrival: the frame's time at 60 Hz plus up to 10 ms of network jitter, to 0.1 ms.
    const ms = () => Math.round(((t * 1000) / 60 + (rng.nextU32() % 1000) / 100) * 10) / 10;
    for (const s of order()) {
      if (!connected[s]) continue;
      if (t >= delay && t <= lastInputFrame(s)) {
        const bytes = Buffer.from(encodeInput(sent[s][t])).toString('hex');
        records.push({ type: 'input', f: t, s, in: bytes, ms: ms() });
      } else if (leave?.slot === s && t === leave.lastFrame + 1) {
        connected[s] = false;
        records.push({ type: 'left', s, lastFrame: leave.lastFrame, ms: ms() });
      }
    }
    const c = t - REPORT_LAG;
    if (c >= 0 && c <= frames && c % interval === 0) {
      const reports: (string | null)[] = new Array(players).fill(null);
      for (const s of order()) {
        if (!connected[s]) continue;
        reports[s] = hashes[c];
        records.push({ type: 'hash', f: c, s, h: hashes[c], ms: ms() });
      }
      records.push({ type: 'verdict', f: c, agreed: true, hashes: reports });
    }
    if (t === frames + REPORT_LAG) {
      for (const s of order()) {
        if (connected[s]) records.push({ type: 'done', s, f: frames, h: hashes[frames], ms: ms() });
      }
    }
  }
  return { header, records, hashes, frames };
}
