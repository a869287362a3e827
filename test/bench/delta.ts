import os from 'node:os';
// fast-json-patch is CommonJS: Node's ESM loader gives its API as the default export only.
import jsonPatch, { type Operation } from 'fast-json-patch';
import { create as createDiffPatcher, type Delta } from 'jsondiffpatch';
import { Packr, Unpackr } from 'msgpackr';
import { Bench } from 'tinybench';
import {
  applyStateDelta,
  type CanonicalValue,
  canonicalEncode,
  createStateDelta,
  createStateDeltaFromSignature,
  createStateSignature,
  duel,
  type Input,
  Prng,
  randomDuelInput,
} from '../../sim/index.ts';
import { printTable } from './measure.ts';

/**
 * `delta`: the state delta candidates side by side, for size and time, on duel (4 players) and on
 * a large synthetic grid world:
 *
 * - `binary`: sim/delta.ts, a COPY/ADD delta of the canonical bytes.
 * - `signature`: the same delta format, made by the sender from the receiver's signature of the
 *   base (`createStateSignature`, rsync's block hashes) instead of the base itself; `sig B` is
 *   the signature's size (sent the other way), and `create` times signature and delta together.
 * - `jsondiffpatch`: `diff` of the decoded states, its delta serialised with msgpack; applying is
 *   decode base + `patch` + canonical re-encode.
 * - `json-patch`: fast-json-patch `compare` (RFC 6902 operations), serialised with msgpack;
 *   applying is decode base + `applyPatch` + canonical re-encode.
 *
 * Every candidate's output is checked to rebuild the target byte for byte. Sizes of the
 * structural candidates are of the patch alone (no framing, no check word); the binary delta's
 * include its 7-byte header.
 */
export async function deltaBench(): Promise<Record<string, unknown>> {
  const workloads = [...duelWorkloads(), ...gridWorkloads()];
  const rows: (string | number)[][] = [];
  const results: Record<string, unknown>[] = [];
  for (const w of workloads) {
    for (const c of candidates) {
      const skip = w.skip?.[c.name];
      if (skip !== undefined) {
        rows.push([
          w.name,
          w.target.length,
          c.name,
          '-',
          '-',
          '-',
          '-',
          '-',
          '-',
          `skipped: ${skip}`,
        ]);
        results.push({ workload: w.name, candidate: c.name, skipped: skip });
        continue;
      }
      const made = c.create(w.base, w.target);
      const rebuilt = c.apply(w.base, made.bytes);
      const exact = sameBytes(rebuilt, w.target);
      const times = await time({
        create: () => c.create(w.base, w.target),
        apply: () => c.apply(w.base, made.bytes),
      });
      const percent = (100 * made.bytes.length) / w.target.length;
      rows.push([
        w.name,
        w.target.length,
        c.name,
        made.bytes.length,
        made.jsonBytes ?? '-',
        made.signatureBytes ?? '-',
        `${percent.toFixed(1)}%`,
        fmtUs(times.create),
        fmtUs(times.apply),
        exact ? 'yes' : 'NO',
      ]);
      results.push({
        workload: w.name,
        fullBytes: w.target.length,
        candidate: c.name,
        deltaBytes: made.bytes.length,
        jsonBytes: made.jsonBytes,
        signatureBytes: made.signatureBytes,
        percentOfFull: percent,
        createUs: times.create,
        applyUs: times.apply,
        exact,
      });
    }
  }
  printTable(
    `state delta candidates (${os.cpus()[0]?.model ?? 'cpu'}, ${os.cpus().length} cores, node ${process.version})`,
    [
      'workload',
      'full B',
      'candidate',
      'delta B',
      'JSON B',
      'sig B',
      '% of full',
      'create µs',
      'apply µs',
      'exact',
    ],
    rows,
  );
  return {
    machine: { cpu: os.cpus()[0]?.model, cores: os.cpus().length, node: process.version },
    results,
  };
}

interface Workload {
  readonly name: string;
  readonly base: Uint8Array;
  readonly target: Uint8Array;
  /** Candidates not run on this workload, with the reason. */
  readonly skip?: Readonly<Record<string, string>>;
}

interface Made {
  /** The delta as sent: the binary delta, or the patch packed with msgpack. */
  readonly bytes: Uint8Array;
  /** The patch as JSON text (UTF-8 bytes), for the structural candidates. */
  readonly jsonBytes?: number;
  /** The receiver's signature of the base, for the signature candidate. */
  readonly signatureBytes?: number;
}

interface Candidate {
  readonly name: string;
  create(base: Uint8Array, target: Uint8Array): Made;
  apply(base: Uint8Array, delta: Uint8Array): Uint8Array;
}

// The canonical codec's own msgpack settings, without its canonical-form check on decode, which
// would only add to the structural candidates' times.
const packr = new Packr({ useRecords: false, variableMapSize: true, moreTypes: false });
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true });
const decode = (bytes: Uint8Array): unknown => unpackr.unpack(bytes);
const utf8 = new TextEncoder();

// Entities are matched by id, other array items by position: jsondiffpatch's documented advice.
const diffPatcher = createDiffPatcher({
  objectHash: (item: object, index?: number) =>
    'id' in item ? `id:${String(item.id)}` : `at:${index}`,
  arrays: { detectMove: false },
});

const candidates: readonly Candidate[] = [
  {
    name: 'binary',
    create: (base, target) => ({ bytes: createStateDelta(base, target) }),
    apply: (base, delta) => applyStateDelta(base, delta),
  },
  {
    name: 'signature',
    create(base, target) {
      const signature = createStateSignature(base);
      const bytes = createStateDeltaFromSignature(signature, target);
      return { bytes, signatureBytes: signature.length };
    },
    apply: (base, delta) => applyStateDelta(base, delta),
  },
  {
    name: 'jsondiffpatch',
    create(base, target) {
      const patch = diffPatcher.diff(decode(base), decode(target)) ?? null;
      return { bytes: packr.pack(patch), jsonBytes: utf8.encode(JSON.stringify(patch)).length };
    },
    apply(base, delta) {
      const patch = unpackr.unpack(delta) as Delta | null;
      const state = decode(base);
      return canonicalEncode(
        (patch === null ? state : diffPatcher.patch(state, patch)) as CanonicalValue,
      );
    },
  },
  {
    name: 'json-patch',
    create(base, target) {
      const ops = jsonPatch.compare(decode(base) as object, decode(target) as object);
      return { bytes: packr.pack(ops), jsonBytes: utf8.encode(JSON.stringify(ops)).length };
    },
    apply(base, delta) {
      const ops = unpackr.unpack(delta) as Operation[];
      const state = jsonPatch.applyPatch(decode(base), ops, false, true).newDocument;
      return canonicalEncode(state as CanonicalValue);
    },
  },
];

/** Mean µs per call of each function, with at least 4 calls and 300 ms each. */
async function time(fns: Record<string, () => unknown>): Promise<Record<string, number>> {
  const bench = new Bench({ time: 300, iterations: 4, warmupTime: 50, warmupIterations: 2 });
  for (const [name, fn] of Object.entries(fns)) bench.add(name, fn);
  await bench.run();
  const out: Record<string, number> = {};
  for (const task of bench.tasks) {
    const r = task.result;
    if (!('latency' in r)) throw new Error(`benchmark ${task.name} failed: ${r.state}`);
    out[task.name] = r.latency.mean * 1000;
  }
  return out;
}

function fmtUs(us: number): string {
  return us >= 100 ? us.toFixed(0) : us.toFixed(1);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

// --- duel ----------------------------------------------------------------------------------

const PLAYERS = 4;
/** Word offsets in duel's Int32Array layout (sim/duel/layout.ts): players from word 8, 11 each. */
const PLAYER_WORDS = 8;
const PLAYER_SIZE = 11;
const P_X = 0;
const P_HEALTH = 4;

function duelWorkloads(): Workload[] {
  const sim = duel.create({ players: PLAYERS, seed: 1 });
  const rng = Prng.fromSeed(42);
  const play = (frames: number): void => {
    for (let f = 0; f < frames; f++) {
      const inputs: Input[] = Array.from({ length: PLAYERS }, () => randomDuelInput(rng.nextU32()));
      sim.step(inputs);
    }
  };
  play(600); // into the match, so that shots and pickups are in flight
  const snap = sim.save().slice();
  const base = sim.encode(snap);
  const corrupt = (word: number, value: number): Uint8Array => {
    const s = snap.slice();
    s[word] = value;
    return sim.encode(s);
  };
  const p1 = PLAYER_WORDS + PLAYER_SIZE;
  const workloads: Workload[] = [
    {
      name: 'duel: one field (health)',
      base,
      target: corrupt(p1 + P_HEALTH, snap[p1 + P_HEALTH] === 75 ? 50 : 75),
    },
    { name: 'duel: one field (x)', base, target: corrupt(p1 + P_X, snap[p1 + P_X] + 300) },
  ];
  play(60);
  workloads.push({ name: 'duel: 60 frames later', base, target: sim.encode(sim.save()) });
  play(540);
  workloads.push({ name: 'duel: 600 frames later', base, target: sim.encode(sim.save()) });
  return workloads;
}

// --- grid world ------------------------------------------------------------------------------

interface Agent {
  id: number;
  x: number;
  y: number;
  hp: number;
  kind: number;
  dir: number;
  inv: number[];
}

interface GridWorld {
  tick: number;
  rng: number[];
  grid: number[][];
  agents: Agent[];
  items: { id: number; x: number; y: number; kind: number }[];
}

const SIDE = 128;

/** A research-style grid world: a 128×128 terrain grid, agents and items, of about `bytes`. */
function gridWorld(bytes: number, rng: Prng): GridWorld {
  const world: GridWorld = {
    tick: 0,
    rng: rng.state().slice(),
    grid: Array.from({ length: SIDE }, () => Array.from({ length: SIDE }, () => rng.nextInt(8))),
    agents: [],
    items: [],
  };
  let nextId = 0;
  while (canonicalEncode(world as unknown as CanonicalValue).length < bytes) {
    for (let i = 0; i < 256; i++) world.agents.push(newAgent(nextId++, rng));
    for (let i = 0; i < 32; i++) {
      world.items.push({ id: nextId++, x: rng.nextInt(SIDE), y: rng.nextInt(SIDE), kind: 1 });
    }
  }
  return world;
}

function newAgent(id: number, rng: Prng): Agent {
  return {
    id,
    x: rng.nextInt(SIDE),
    y: rng.nextInt(SIDE),
    hp: 1 + rng.nextInt(100),
    kind: rng.nextInt(4),
    dir: rng.nextInt(4),
    inv: [rng.nextInt(10), rng.nextInt(10), rng.nextInt(300)],
  };
}

/**
 * About ten ticks of play: 10 % of agents move, 1 % lose health, 16 terrain cells change, 8 agents
 * die (removed) and 8 are born (appended), 4 items are taken and 4 appear, tick and rng advance.
 */
function medium(world: GridWorld, rng: Prng): GridWorld {
  const w = structuredClone(world);
  w.tick += 10;
  w.rng = [rng.nextU32(), rng.nextU32(), rng.nextU32(), rng.nextU32()];
  for (const a of w.agents) {
    const r = rng.nextInt(100);
    if (r < 10) {
      a.x = Math.min(SIDE - 1, Math.max(0, a.x + rng.nextInt(3) - 1));
      a.y = Math.min(SIDE - 1, Math.max(0, a.y + rng.nextInt(3) - 1));
      a.dir = rng.nextInt(4);
    } else if (r === 10) {
      a.hp = Math.max(1, a.hp - 10);
    }
  }
  for (let i = 0; i < 16; i++) w.grid[rng.nextInt(SIDE)][rng.nextInt(SIDE)] = rng.nextInt(8);
  let nextId = 1 + Math.max(...w.agents.map((a) => a.id), ...w.items.map((i) => i.id));
  for (let i = 0; i < 8; i++) w.agents.splice(rng.nextInt(w.agents.length), 1);
  for (let i = 0; i < 8; i++) w.agents.push(newAgent(nextId++, rng));
  for (let i = 0; i < 4; i++) w.items.splice(rng.nextInt(w.items.length), 1);
  for (let i = 0; i < 4; i++) {
    w.items.push({ id: nextId++, x: rng.nextInt(SIDE), y: rng.nextInt(SIDE), kind: 2 });
  }
  return w;
}

function gridWorkloads(): Workload[] {
  const out: Workload[] = [];
  for (const [label, bytes] of [
    ['256 KB', 256 * 1024],
    ['1 MB', 1024 * 1024],
  ] as const) {
    const rng = Prng.fromSeed(7);
    const world = gridWorld(bytes, rng);
    const enc = (w: GridWorld) => canonicalEncode(w as unknown as CanonicalValue);
    const base = enc(world);
    const one = structuredClone(world);
    one.agents[one.agents.length >> 1].hp ^= 1;
    out.push({ name: `grid ${label}: one field`, base, target: enc(one) });
    const m = medium(world, rng);
    out.push({
      name: `grid ${label}: ~10 ticks`,
      base,
      target: enc(m),
      // jsondiffpatch matches the changed middle of the agent arrays with a full LCS table
      // (len1 + 1) × (len2 + 1) of JavaScript arrays: tried once, it ran out of a 4 GB heap.
      skip:
        m.agents.length > 8000
          ? { jsondiffpatch: `LCS table of ~${m.agents.length}² cells does not fit in memory` }
          : undefined,
    });
  }
  return out;
}
