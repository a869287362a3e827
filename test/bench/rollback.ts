import os from 'node:os';
import {
  type CanonicalValue,
  canonicalDecode,
  canonicalEncode,
  duel,
  type Input,
  initStateHash,
  Prng,
  randomDuelInput,
  stateHash,
} from '../../sim/index.ts';
import { measure, printTable } from './measure.ts';

const WINDOW = 8;
const PLAYERS = 4;

/**
 * The cost of one full-window rollback of 4-player duel (load + 8 × (step + save)) for the ring
 * and sparse strategies, beside a JSON-clone snapshot baseline of the same run, and the cost of
 * the canonical encoding and the state hash per KB.
 */
export async function rollbackBench(): Promise<Record<string, unknown>> {
  await initStateHash();
  const sim = duel.create({ players: PLAYERS, seed: 1 });
  const rng = Prng.fromSeed(42);
  const nextInputs = (): Input[] =>
    Array.from({ length: PLAYERS }, () => randomDuelInput(rng.nextU32()));
  // Play into the match so that projectiles and pickups are in flight.
  for (let f = 0; f < 600; f++) sim.step(nextInputs());
  const start = sim.save();
  const inputs = Array.from({ length: WINDOW }, nextInputs);
  // The same states as plain object graphs, as a sim that keeps objects would hold them.
  const plain: CanonicalValue[] = [canonicalDecode(sim.encode(start))];
  for (const i of inputs) {
    sim.step(i);
    plain.push(canonicalDecode(sim.encode(sim.save())));
  }
  const jsonClone = (v: CanonicalValue): CanonicalValue => JSON.parse(JSON.stringify(v));
  // The ring reuses its slots, as the session's runner does with freed snapshots.
  const ring: Int32Array[] = Array.from({ length: WINDOW }, () => sim.save());
  let sink: unknown;

  const stateBytes = sim.encode(start);
  const big = bigState(64 * 1024);
  const bigBytes = canonicalEncode(big);

  const m = await measure({
    'rollback ring (load + 8 × (step + save))': () => {
      sim.load(start);
      for (let i = 0; i < WINDOW; i++) {
        sim.step(inputs[i]);
        ring[i] = sim.save(ring[i]);
      }
    },
    'rollback sparse (load + 8 × step + 1 save)': () => {
      sim.load(start);
      for (let i = 0; i < WINDOW; i++) sim.step(inputs[i]);
      ring[0] = sim.save(ring[0]);
    },
    'baseline: JSON-clone snapshots (load + 8 × (step + save))': () => {
      sim.load(start);
      sink = jsonClone(plain[0]);
      for (let i = 0; i < WINDOW; i++) {
        sim.step(inputs[i]);
        sink = jsonClone(plain[i + 1]);
      }
    },
    'step (4 players)': () => {
      sim.load(start);
      sim.step(inputs[0]);
    },
    'encode duel state': () => {
      sink = sim.encode(start);
    },
    'hash duel state': () => {
      sink = stateHash(stateBytes);
    },
    'encode 64 KB state': () => {
      sink = canonicalEncode(big);
    },
    'hash 64 KB state': () => {
      sink = stateHash(bigBytes);
    },
  });
  void sink;
  const ringUs = m['rollback ring (load + 8 × (step + save))'].meanUs;
  const sparseUs = m['rollback sparse (load + 8 × step + 1 save)'].meanUs;
  const jsonUs = m['baseline: JSON-clone snapshots (load + 8 × (step + save))'].meanUs;
  const kb = stateBytes.length / 1024;
  const bigKb = bigBytes.length / 1024;
  printTable(
    `rollback of ${PLAYERS}-player duel, window ${WINDOW} (${os.cpus()[0]?.model ?? 'cpu'}, ${os.cpus().length} cores, node ${process.version})`,
    ['operation', 'mean µs', 'p50 µs', 'p99 µs'],
    Object.values(m).map((r) => [
      r.name,
      r.meanUs.toFixed(2),
      r.p50Us.toFixed(2),
      r.p99Us.toFixed(2),
    ]),
  );
  const perKb = {
    duelStateBytes: stateBytes.length,
    encodeUsPerKbDuel: m['encode duel state'].meanUs / kb,
    hashUsPerKbDuel: m['hash duel state'].meanUs / kb,
    encodeUsPerKb64k: m['encode 64 KB state'].meanUs / bigKb,
    hashUsPerKb64k: m['hash 64 KB state'].meanUs / bigKb,
  };
  console.log(
    `\nring rollback ${ringUs.toFixed(1)} µs (${(jsonUs / ringUs).toFixed(1)}× cheaper than JSON clone); ` +
      `sparse ${sparseUs.toFixed(1)} µs (${(jsonUs / sparseUs).toFixed(1)}×); JSON baseline ${jsonUs.toFixed(1)} µs`,
  );
  console.log(
    `duel state ${stateBytes.length} B: encode ${perKb.encodeUsPerKbDuel.toFixed(2)} µs/KB, hash ${perKb.hashUsPerKbDuel.toFixed(2)} µs/KB; ` +
      `64 KB state: encode ${perKb.encodeUsPerKb64k.toFixed(2)} µs/KB, hash ${perKb.hashUsPerKb64k.toFixed(3)} µs/KB`,
  );
  return {
    machine: { cpu: os.cpus()[0]?.model, cores: os.cpus().length, node: process.version },
    players: PLAYERS,
    window: WINDOW,
    ringRollbackUs: ringUs,
    sparseRollbackUs: sparseUs,
    jsonCloneRollbackUs: jsonUs,
    ringSpeedupVsJson: jsonUs / ringUs,
    sparseSpeedupVsJson: jsonUs / sparseUs,
    stepUs: m['step (4 players)'].meanUs,
    ...perKb,
    operations: m,
  };
}

/** A large plain state (entities with mixed fields) of about `bytes` encoded bytes. */
function bigState(bytes: number): CanonicalValue {
  const entities: CanonicalValue[] = [];
  const rng = Prng.fromSeed(7);
  while (canonicalEncode({ entities }).length < bytes) {
    for (let i = 0; i < 64; i++) {
      entities.push({
        id: entities.length,
        x: rng.nextInt(100000),
        y: rng.nextInt(100000),
        kind: ['wall', 'agent', 'item'][rng.nextInt(3)],
        hp: rng.nextInt(100),
      });
    }
  }
  return { entities };
}
