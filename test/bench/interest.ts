import {
  createStateDelta,
  duel,
  type EntityInterest,
  field,
  type Input,
  Prng,
  randomDuelInput,
  type Sim,
} from '../../sim/index.ts';
import { encodeInterestUpdate, InterestBroadcaster } from '../../sim/sync/index.ts';
import { printTable } from './measure.ts';

const TICK_RATE = 60;
/** A state every 3 frames: 20 Hz, the authoritative mode's default. */
const BROADCAST_DIVISOR = 3;
/** Simulated match length, frames (one minute). */
const FRAMES = 3600;
/**
 * Broadcasts between a state's sending and its acknowledgement reaching the host: 2 (about 100 ms
 * round trip at 20 Hz), so each delta is made against the state of two broadcasts before.
 */
const ACK_LAG = 2;

/** Players walk: a new direction (or standing still) every 1-2 s, from the seed. */
function walker(players: number, seed: number): (frame: number) => Input[] {
  const rng = Prng.fromSeed(seed);
  const buttons = new Array<number>(players).fill(0);
  const until = new Array<number>(players).fill(0);
  return (frame) =>
    buttons.map((_, p) => {
      if (frame >= until[p]) {
        buttons[p] = rng.nextInt(16);
        until[p] = frame + 60 + rng.nextInt(60);
      }
      return { buttons: buttons[p], x: 0, y: 0 };
    });
}

interface Figures {
  readonly sim: string;
  readonly players: number;
  readonly entities: number;
  readonly fullBps: number;
  readonly deltaBps: number;
  readonly interestBps: number | null;
  readonly nearEntities: number | null;
  readonly interestUsPerBroadcast: number | null;
}

/**
 * Bytes per client per second of the state messages' payloads (the `bytes` of an `authState`,
 * without its ~40-byte envelope) for one minute of play at 60 Hz with a state every 3 frames:
 * the full canonical state every time, a state delta (sim/delta.ts, unchecked as authoritative
 * mode sends it) against the state acknowledged ACK_LAG broadcasts before, and, for a sim with
 * entity interest, the interest update (sim/sync/interest.ts, entities near the client every
 * broadcast and the others one in four, against the acknowledged ones).
 */
function play(
  name: string,
  sim: Sim<Int32Array>,
  interest: EntityInterest<Int32Array> | undefined,
  inputs: (frame: number) => Input[],
  entities: number,
): Figures {
  const players = sim.players;
  const sent: Uint8Array[] = [];
  const broadcaster = interest ? new InterestBroadcaster(interest, players) : undefined;
  const ackQueue: number[][] = [];
  let full = 0;
  let delta = 0;
  let interestBytes = 0;
  let near = 0;
  let interestUs = 0;
  let broadcasts = 0;
  for (let f = 0; f < FRAMES; f++) {
    sim.step(inputs(f));
    if (sim.frame % BROADCAST_DIVISOR !== 0) continue;
    const snap = sim.save();
    const bytes = sim.encode(snap);
    sent.push(bytes);
    full += bytes.length * players;
    const base = sent.length > ACK_LAG ? sent[sent.length - 1 - ACK_LAG] : undefined;
    const d = base === undefined ? bytes : createStateDelta(base, bytes, { checked: false });
    delta += Math.min(d.length, bytes.length) * players;
    if (broadcaster) {
      const t0 = performance.now();
      const updates = broadcaster.update(snap, sim.frame);
      const wire = updates.map(encodeInterestUpdate);
      interestUs += (performance.now() - t0) * 1000;
      for (const [slot, w] of wire.entries()) {
        interestBytes += w.length;
        near += updates[slot].near;
      }
      ackQueue.push(updates.map((u) => u.frame));
      if (ackQueue.length > ACK_LAG) {
        const frames = ackQueue.shift() as number[];
        frames.forEach((frame, slot) => {
          broadcaster.ack(slot, frame);
        });
      }
    }
    if (sent.length > ACK_LAG + 1) sent.shift();
    broadcasts++;
  }
  const seconds = FRAMES / TICK_RATE;
  const perClient = (total: number) => Math.round(total / players / seconds);
  return {
    sim: name,
    players,
    entities,
    fullBps: perClient(full),
    deltaBps: perClient(delta),
    interestBps: broadcaster ? perClient(interestBytes) : null,
    nearEntities: broadcaster ? Math.round(near / broadcasts / players) : null,
    interestUsPerBroadcast: broadcaster ? Math.round(interestUs / broadcasts) : null,
  };
}

/**
 * `npm run bench -- interest`: bytes per client per second of the authoritative mode's state
 * messages with full states, with deltas, and with interest management, on the field sim (200
 * moving entities, 8 players) and, for comparison, on duel (4 players, no entity interest).
 * The figures are a pure function of the seeds (the bench simulates the sending, without
 * sockets); only the broadcaster's time per broadcast depends on the machine.
 */
export async function interestBench(): Promise<Record<string, unknown>> {
  const fieldSim = field.create({ players: 8, seed: 1 });
  const fieldFigures = play('field', fieldSim, field.interest, walker(8, 2), 208);
  const duelSim = duel.create({ players: 4, seed: 1 });
  const rng = Prng.fromSeed(3);
  const duelInputs = () => Array.from({ length: 4 }, () => randomDuelInput(rng.nextU32()));
  const duelFigures = play('duel', duelSim, undefined, duelInputs, 4);
  const rows = [fieldFigures, duelFigures].map((r) => [
    r.sim,
    r.players,
    r.entities,
    r.fullBps,
    r.deltaBps,
    r.interestBps ?? '-',
    r.nearEntities ?? '-',
    r.interestUsPerBroadcast ?? '-',
  ]);
  printTable(
    `State bytes per client per second, ${TICK_RATE} Hz, a state every ${BROADCAST_DIVISOR} frames (${TICK_RATE / BROADCAST_DIVISOR} Hz), acks ${ACK_LAG} broadcasts late, one minute`,
    [
      'sim',
      'players',
      'entities',
      'full B/s',
      'delta B/s',
      'interest B/s',
      'near/client',
      'interest µs/bcast',
    ],
    rows,
  );
  console.log(
    '(for scale: Colyseus documents about 14 KB/s per client for 60 moving entities at 20 Hz)',
  );
  return { field: fieldFigures, duel: duelFigures };
}
