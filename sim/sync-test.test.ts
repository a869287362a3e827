import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { canonicalDecode, canonicalEncode } from './canonical.ts';
import { ConcordError } from './errors.ts';
import { initStateHash, stateHash } from './hash.ts';
import type { Input } from './input.ts';
import type { Sim } from './sim.ts';
import { runSyncTest } from './sync-test.ts';

beforeAll(async () => {
  await initStateHash();
});

interface CounterState {
  readonly frame: number;
  readonly value: number;
}

/**
 * A tiny sim whose value sums the buttons pressed. With `leakFrom` set, it also adds a private
 * step counter that the snapshot misses, from that frame on: the bug a sync test must catch.
 */
class CounterSim implements Sim<CounterState> {
  readonly id = 'counter';
  readonly players = 2;
  private state: CounterState = { frame: 0, value: 0 };
  private hidden = 0;

  constructor(private readonly leakFrom = Number.POSITIVE_INFINITY) {}

  get frame(): number {
    return this.state.frame;
  }

  step(inputs: readonly Input[]): void {
    this.hidden++;
    const { frame, value } = this.state;
    const leak = frame >= this.leakFrom ? this.hidden : 0;
    this.state = { frame: frame + 1, value: value + inputs[0].buttons + inputs[1].buttons + leak };
  }

  save(): CounterState {
    return this.state;
  }

  load(snapshot: CounterState): void {
    this.state = snapshot;
  }

  encode(snapshot: CounterState): Uint8Array {
    return canonicalEncode({ frame: snapshot.frame, value: snapshot.value });
  }

  decode(bytes: Uint8Array): CounterState {
    return canonicalDecode(bytes) as unknown as CounterState;
  }
}

const inputsFor = (frame: number): Input[] => [
  { buttons: frame % 7, x: 0, y: 0 },
  { buttons: (frame * 3) % 5, x: 0, y: 0 },
];

describe('runSyncTest', () => {
  it('passes a sim whose snapshot holds all of its state', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 60 }), fc.integer({ min: 1, max: 8 }), (frames, k) => {
        const sim = new CounterSim();
        const result = runSyncTest(sim, { frames, checkDistance: k, inputs: inputsFor });
        expect(result.frames).toBe(frames);
        expect(result.checks).toBe(Math.max(0, frames - k + 1) * k);
        expect(result.finalHash).toBe(stateHash(sim.encode(sim.save())));
        expect(sim.frame).toBe(frames);
      }),
    );
  });

  it('fails a sim with hidden state, naming the first frame it changes', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 30 }),
        fc.integer({ min: 1, max: 8 }),
        (leakFrom, k) => {
          let error: unknown;
          try {
            runSyncTest(new CounterSim(leakFrom), {
              frames: 40,
              checkDistance: k,
              inputs: inputsFor,
            });
          } catch (err) {
            error = err;
          }
          expect(error).toBeInstanceOf(ConcordError);
          const e = error as ConcordError;
          expect(e.code).toBe('SYNC_TEST_MISMATCH');
          expect(e.frame).toBe(leakFrom + 1);
          expect(e.message).toContain(`frame ${leakFrom + 1} `);
        },
      ),
    );
  });

  it('rejects frames or a check distance below 1 with BAD_CONFIG', () => {
    for (const [frames, checkDistance] of [
      [0, 1],
      [10, 0],
    ]) {
      expect(() =>
        runSyncTest(new CounterSim(), { frames, checkDistance, inputs: inputsFor }),
      ).toThrow(expect.objectContaining({ code: 'BAD_CONFIG' }));
    }
  });
});
