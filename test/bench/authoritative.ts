import {
  type AuthBroadcastEvent,
  type AuthoritativeHandle,
  SimHostPool,
} from '../../relay/sim-host/index.ts';
import { duel, encodeInput, INPUT_BYTES, Prng, randomDuelInput } from '../../sim/index.ts';
import { interestBench } from './interest.ts';
import { printTable } from './measure.ts';
import { refereeBench } from './referee.ts';

/** Seconds each step of the ramp runs. */
const SECONDS = Number(process.env.AUTH_BENCH_SECONDS ?? 4);
/** Rooms per step of the ramp, for each player count, until a step overruns. */
const RAMP = [4, 16, 32, 64, 128, 256, 512];
/**
 * A step overruns when the host cannot keep up: its loops woke two or more frames late on more
 * than this share of frames (on a shared machine a late timer alone does it now and then, so not
 * at the first one)...
 */
const OVERRUN_SHARE = 0.05;
/** ...or its workers were busy more than this share of the time (the next tick would be late). */
const BUSY_SHARE = 0.9;
/** Emulated round trip of the clients: each acknowledges a state this long after it was sent. */
const ACK_DELAY_MS = 100;
const TICK_RATE = 60;
const DIVISOR = 3;

interface Step {
  readonly rooms: number;
  readonly players: number;
  /** Loop wake-ups two or more frames late, per frame stepped (0..1). */
  readonly overrunShare: number;
  readonly maxBehindFrames: number;
  /** Mean time in the sim's step per frame in the worker, µs. */
  readonly usPerFrame: number;
  /** Share of the wall time the sim host's workers were busy with these rooms (0..1, per worker). */
  readonly busyShare: number;
  /** Rooms one worker could run at 100 % busy at this step's cost per room (an extrapolation). */
  readonly roomsPerWorkerAtFull: number;
  /** Bytes per client per second of host states: as sent (deltas), and had all been full. */
  readonly deltaBytesPerClientS: number;
  readonly fullBytesPerClientS: number;
}

/**
 * Runs `rooms` authoritative duel matches of `players` players at 60 Hz on one sim host pool
 * sized as the relay sizes it (every core but one), for {@link SECONDS}: the main thread plays
 * each player's client (a random duel input stamped a few frames ahead every frame, an
 * acknowledgement {@link ACK_DELAY_MS} after each state), the worker(s) step, encode and delta.
 */
async function runStep(rooms: number, players: number): Promise<Step> {
  const pool = new SimHostPool();
  const defaults = new Uint8Array(players * INPUT_BYTES);
  const handles: AuthoritativeHandle[] = [];
  let frames = 0;
  let stepUs = 0;
  let busyUs = 0;
  let sent = 0;
  let allFull = 0;
  let overruns = 0;
  let maxBehind = 0;
  const lastOverruns = new Map<number, number>();
  const timers = new Set<ReturnType<typeof setTimeout>>();
  for (let r = 0; r < rooms; r++) {
    const idx = r;
    const handle = await pool.openAuthoritative(
      { sim: duel.id, players, seed: r + 1, matchId: `bench-${r}` },
      {
        tickRate: TICK_RATE,
        broadcastDivisor: DIVISOR,
        inputDelay: 2,
        frames: 0,
        defaultInputs: defaults,
        historyStates: 64,
      },
      {
        broadcast(e: AuthBroadcastEvent) {
          frames += e.frames;
          stepUs += e.stepUs;
          busyUs += e.busyUs;
          sent += e.deltaBytes + e.fullBytes;
          allFull += e.allFullBytes;
          overruns += e.overruns - (lastOverruns.get(idx) ?? 0);
          lastOverruns.set(idx, e.overruns);
          maxBehind = Math.max(maxBehind, e.maxBehindFrames);
          const t = setTimeout(() => {
            timers.delete(t);
            for (let s = 0; s < players; s++) handles[idx]?.ack(s, e.frame);
          }, ACK_DELAY_MS);
          timers.add(t);
        },
        failed(err) {
          throw err;
        },
      },
    );
    handles.push(handle);
  }
  const t0 = performance.now(); // clock-ok: a benchmark
  await Promise.all(handles.map((h) => h.start()));
  const rng = Prng.fromSeed(7);
  const inputs = Array.from({ length: 16 }, () => encodeInput(randomDuelInput(rng.nextU32())));
  let frame = 0;
  // The clients: every frame, each player's input for the frame 4 ahead of the host.
  const feeder = setInterval(() => {
    const due = Math.floor(((performance.now() - t0) * TICK_RATE) / 1000); // clock-ok
    for (; frame <= due; frame++) {
      for (const h of handles) {
        for (let s = 0; s < players; s++) h.input(s, frame + 4, inputs[(frame + s) & 15]);
      }
    }
  }, 1000 / TICK_RATE);
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  clearInterval(feeder);
  for (const t of timers) clearTimeout(t);
  const seconds = (performance.now() - t0) / 1000; // clock-ok
  await Promise.all(handles.map((h) => h.close()));
  await pool.close();
  const clients = rooms * players;
  const busyShare = busyUs / 1e6 / seconds / Math.min(pool.size, rooms);
  return {
    rooms,
    players,
    overrunShare: frames > 0 ? overruns / frames : 1,
    maxBehindFrames: maxBehind,
    usPerFrame: frames > 0 ? stepUs / frames : 0,
    busyShare,
    roomsPerWorkerAtFull:
      busyShare > 0 ? Math.round(rooms / Math.min(pool.size, rooms) / busyShare) : 0,
    deltaBytesPerClientS: Math.round(sent / clients / seconds),
    fullBytesPerClientS: Math.round(allFull / clients / seconds),
  };
}

function overran(s: Step): boolean {
  return s.overrunShare > OVERRUN_SHARE || s.busyShare > BUSY_SHARE;
}

/**
 * `npm run bench -- authoritative`: how many authoritative duel rooms of 2 and of 4 players one
 * relay process's sim host runs at 60 Hz before a tick overruns (its loops wake two or more frames
 * late on more than 5 % of frames, or its workers are busy more than 90 % of the time), ramping the room count; and the bytes per client per second of
 * host states (every 3rd frame, 20 Hz) as deltas against the state each client acknowledged
 * ({@link ACK_DELAY_MS} after it was sent) beside what full states would have cost, measured in the
 * same run. `AUTH_BENCH_SECONDS` sets the length of each step (default 4). Then, in the same run,
 * `npm run bench -- interest` (bytes per client with interest management on the 200-entity field
 * sim) and `npm run bench -- referee` (the referee's cost of one arbitration).
 */
export async function authoritativeBench(): Promise<Record<string, unknown>> {
  const results: Record<string, unknown> = {};
  for (const players of [2, 4]) {
    const steps: Step[] = [];
    let capacity: number | null = null;
    for (const rooms of RAMP) {
      const step = await runStep(rooms, players);
      steps.push(step);
      if (overran(step)) break;
      capacity = rooms;
    }
    printTable(
      `authoritative duel, ${players} players, 60 Hz, states every ${DIVISOR} frames (${SECONDS} s per step)`,
      [
        'rooms',
        'late wake-ups',
        'max behind',
        'busy',
        'rooms/worker at 100 %',
        'step µs/frame',
        'B/s/client delta',
        'B/s/client full',
      ],
      steps.map((s) => [
        s.rooms,
        `${(s.overrunShare * 100).toFixed(2)} %`,
        s.maxBehindFrames,
        `${(s.busyShare * 100).toFixed(1)} %`,
        s.roomsPerWorkerAtFull,
        s.usPerFrame.toFixed(1),
        s.deltaBytesPerClientS,
        s.fullBytesPerClientS,
      ]),
    );
    console.log(
      capacity === null
        ? `  ${players} players: even ${RAMP[0]} rooms overran`
        : `  ${players} players: ${capacity} rooms ran without overrunning${overran(steps.at(-1)!) ? `; ${steps.at(-1)!.rooms} overran` : ' (the ramp ended first)'} (sim host workers: ${new SimHostPool().size})`,
    );
    results[`players${players}`] = { capacityRooms: capacity, steps };
  }
  // The issue's other figures, in the same run: bytes per client with interest management on the
  // 200-entity field sim (beside full states and deltas), and the referee's cost of one
  // arbitration of a peer-to-peer match's dispute.
  results.interest = await interestBench();
  results.referee = await refereeBench();
  return results;
}
