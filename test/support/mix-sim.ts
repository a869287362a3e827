import {
  ConcordError,
  canonicalDecode,
  canonicalEncode,
  type Frame,
  type Input,
  type Sim,
} from '../../sim/index.ts';

/** State of {@link MixSim}: the frame and one running 32-bit mix per player. */
export interface MixSnap {
  readonly frame: Frame;
  readonly mix: readonly number[];
}

/**
 * A minimal deterministic sim for session tests: each player's value is a running integer mix of
 * every input so far, so any difference in any input at any frame shows in the hash. Cheap, so
 * tests can run many frames.
 */
export class MixSim implements Sim<MixSnap> {
  readonly id = 'mix';
  frame: Frame = 0;
  private mix: number[];

  constructor(readonly players: number) {
    this.mix = new Array<number>(players).fill(0);
  }

  step(inputs: readonly Input[]): void {
    let all = this.frame;
    for (const i of inputs)
      all =
        Math.imul(all ^ (i.buttons | ((i.x & 0xff) << 16) | ((i.y & 0xff) << 24)), 0x9e3779b1) >>>
        0;
    for (let p = 0; p < this.players; p++) {
      this.mix[p] = Math.imul(this.mix[p] ^ all ^ inputs[p].buttons, 0x85ebca6b) >>> 0;
    }
    this.frame++;
  }

  save(): MixSnap {
    return { frame: this.frame, mix: this.mix.slice() };
  }

  load(s: MixSnap): void {
    this.frame = s.frame;
    this.mix = s.mix.slice();
  }

  encode(s: MixSnap): Uint8Array {
    return canonicalEncode({ frame: s.frame, mix: s.mix });
  }

  decode(bytes: Uint8Array): MixSnap {
    const v = canonicalDecode(bytes) as { frame?: unknown; mix?: unknown };
    if (typeof v?.frame !== 'number' || !Array.isArray(v.mix) || v.mix.length !== this.players) {
      throw new ConcordError('BAD_STATE', 'not a mix state');
    }
    return { frame: v.frame, mix: v.mix as number[] };
  }
}
