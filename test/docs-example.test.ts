import { beforeAll, describe, expect, it } from 'vitest';
import {
  ConcordError,
  canonicalDecode,
  canonicalEncode,
  type Input,
  initStateHash,
  Prng,
  type PrngState,
  runSyncTest,
  type Sim,
} from '../sim/index.ts';

// The worked example of docs/sim-contract.md, kept here so that the document stays true.
interface TugSnap {
  frame: number;
  rope: number;
  rng: PrngState;
}

class Tug implements Sim<TugSnap> {
  readonly id = 'tug';
  frame = 0;
  private rope = 0;
  private readonly rng: Prng;
  constructor(
    readonly players: number,
    seed: number,
  ) {
    this.rng = Prng.fromSeed(seed);
  }

  step(inputs: readonly Input[]): void {
    for (const [slot, input] of inputs.entries()) {
      if (input.buttons & 1) this.rope += slot % 2 === 0 ? 1 : -1; // integers only
    }
    if (this.rng.nextInt(100) === 0) this.rope += this.rng.nextInt(3) - 1; // seeded, in the state
    this.frame++;
  }
  save(): TugSnap {
    return { frame: this.frame, rope: this.rope, rng: this.rng.state() };
  }
  load(s: TugSnap): void {
    this.frame = s.frame;
    this.rope = s.rope;
    this.rng.setState(s.rng);
  }
  encode(s: TugSnap): Uint8Array {
    return canonicalEncode({ frame: s.frame, rope: s.rope, rng: [...s.rng] });
  }
  decode(bytes: Uint8Array): TugSnap {
    const v = canonicalDecode(bytes) as { frame: number; rope: number; rng: number[] };
    if (!Number.isInteger(v?.frame) || !Array.isArray(v.rng) || v.rng.length !== 4) {
      throw new ConcordError('BAD_STATE', 'not a tug state');
    }
    return { frame: v.frame, rope: v.rope, rng: v.rng as unknown as PrngState };
  }
}

beforeAll(initStateHash);

describe('docs/sim-contract.md worked example', () => {
  it('passes the sync test', () => {
    const r = runSyncTest(new Tug(2, 1), {
      frames: 600,
      checkDistance: 8,
      inputs: (f) => [
        { buttons: f % 3 === 0 ? 1 : 0, x: 0, y: 0 },
        { buttons: f % 5 === 0 ? 1 : 0, x: 0, y: 0 },
      ],
    });
    expect(r.checks).toBe(8 * (600 - 7));
    const t = new Tug(2, 1);
    expect(t.decode(t.encode(t.save()))).toEqual(t.save());
    expect(() => t.decode(canonicalEncode({ frame: 'x' }))).toThrow(ConcordError);
  });
});
