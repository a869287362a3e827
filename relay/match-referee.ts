/**
 * The desync referee of one peer-to-peer match, on the relay's side of the sim host: it keeps
 * its own copy of S(checkpoint), the last agreed checkpoint, and on a disputed check re-simulates
 * S(f) from it with the logged inputs (ARCHITECTURE.md, "Desync detection and resync").
 *
 * Where S(checkpoint) comes from: the referee's own re-simulation, never a peer. It starts from
 * S(0) (the sim built from the match's seed) and, on every agreed check, steps its copy from the
 * previous checkpoint to the new one with the inputs the relay forwarded. So a disputed check
 * costs no round trip to a peer and no state transfer in; the copy follows from the inputs alone
 * (a peer's copy would be trusted only because its hash matched the others'), and it is also the
 * base of the referee's own repair, a delta against S(checkpoint) that every peer holds. The
 * price is the sim's cost for every frame of the match, once, in a worker thread (what
 * `npm run bench -- referee` measures per frame), instead of only on disputes.
 *
 * Everything runs in the sim host's workers; the relay's event loop only chains promises. Calls
 * on one match run in order, so a dispute starts from the checkpoint of every agreed check
 * before it. When a call fails (the sim threw, the worker died) the copy is lost, and every
 * later dispute of the match is `unavailable` with the reason: the room falls back to the host
 * rule and logs why.
 */
import { type Frame, makeStateTransfer } from '../sim/index.ts';
import { FULL_STATE_BASE } from '../sim/sync/index.ts';
import type { MatchSimHandle, OpenMatchOptions } from './sim-host/index.ts';

/** Where a match's referee runs its sim: the relay's `SimHostPool`. */
export interface RefereeHost {
  openMatch(options: OpenMatchOptions): Promise<MatchSimHandle>;
}

/** A state the referee holds: S(`frame`), its state hash and canonical bytes. */
interface RefereeState {
  readonly frame: Frame;
  readonly hash: string;
  readonly state: Uint8Array;
}

/** What the referee found for a disputed check. */
export type DisputeOutcome =
  | {
      readonly kind: 'hash';
      /** The state hash of the input-consistent S(f), 16 hex digits. */
      readonly hash: string;
      /** S(f)'s canonical bytes: the full state, when a delta cannot be applied. */
      readonly state: Uint8Array;
      /** What to send a damaged peer: a delta against S(`baseFrame`), or the full state (-1). */
      readonly baseFrame: Frame;
      readonly bytes: Uint8Array;
    }
  | { readonly kind: 'unavailable'; readonly reason: string };

/**
 * Something the referee noticed outside a dispute: its re-simulated S(f) of an agreed check has
 * another hash than the one every peer reported (every copy damaged alike, or a repair by the
 * host rule that put every peer on a damaged line), or it lost its copy.
 */
export type RefereeNotice =
  | {
      readonly kind: 'diverged';
      readonly frame: Frame;
      readonly agreedHash: string;
      readonly refereeHash: string;
    }
  | { readonly kind: 'lost'; readonly reason: string };

/** See the module comment. */
export class MatchReferee {
  /** The referee's S(checkpoint), after every agreed check passed to {@link agreed}. */
  private line: Promise<RefereeState>;
  private readonly handle: Promise<MatchSimHandle>;
  private closed = false;
  /** Set once the loss of the copy was reported (every later call fails the same way). */
  private lost = false;

  /**
   * Opens the match's sim on `host` and computes S(0) (asynchronously: a failure makes every
   * dispute `unavailable`).
   * @param onNotice told of a divergence or of the loss of the copy (for the log and operator)
   */
  constructor(
    host: RefereeHost,
    spec: OpenMatchOptions,
    private readonly onNotice: (n: RefereeNotice) => void = () => {},
  ) {
    this.handle = host.openMatch(spec);
    this.line = this.handle.then(async (h) => {
      const r = await h.referee({
        fromFrame: 0,
        fromState: null,
        inputs: new Uint8Array(0),
        toFrame: 0,
      });
      return { frame: 0, hash: r.hash, state: r.state };
    });
    this.watch();
  }

  /**
   * Every voter agreed on `hash` for S(`frame`): steps the referee's copy from the previous
   * checkpoint `fromFrame` to `frame` with `inputs` (packed as `RefereeCall.inputs`, the frames
   * fromFrame..frame-1). Returns at once; the work is queued behind earlier calls.
   */
  agreed(fromFrame: Frame, frame: Frame, hash: string, inputs: Uint8Array): void {
    if (this.closed) return;
    this.line = this.line.then(async (cp) => {
      if (cp.frame !== fromFrame) {
        throw new Error(`the referee holds S(${cp.frame}), not the checkpoint S(${fromFrame})`);
      }
      const h = await this.handle;
      const r = await h.referee({ fromFrame, fromState: cp.state, inputs, toFrame: frame });
      if (r.hash !== hash) {
        this.onNotice({ kind: 'diverged', frame, agreedHash: hash, refereeHash: r.hash });
      }
      return { frame, hash: r.hash, state: r.state };
    });
    this.watch();
  }

  /**
   * A disputed check at `frame`: re-simulates S(frame) from the referee's S(`fromFrame`) (the last
   * agreed checkpoint) with `inputs` (frames fromFrame..frame-1). Never rejects: a failure is
   * `unavailable`, with the reason. The referee's checkpoint stays where it is.
   */
  async dispute(fromFrame: Frame, frame: Frame, inputs: Uint8Array): Promise<DisputeOutcome> {
    try {
      if (this.closed) return { kind: 'unavailable', reason: 'the referee is closed' };
      const cp = await this.line;
      if (cp.frame !== fromFrame) {
        return {
          kind: 'unavailable',
          reason: `the referee holds S(${cp.frame}), not the checkpoint S(${fromFrame})`,
        };
      }
      const h = await this.handle;
      const r = await h.referee({ fromFrame, fromState: cp.state, inputs, toFrame: frame });
      const t = makeStateTransfer(r.state, { frame: cp.frame, hash: cp.hash, bytes: cp.state });
      return {
        kind: 'hash',
        hash: r.hash,
        state: r.state,
        baseFrame: t.kind === 'delta' ? t.baseFrame : FULL_STATE_BASE,
        bytes: t.bytes,
      };
    } catch (err) {
      return { kind: 'unavailable', reason: describe(err) };
    }
  }

  /** Releases the match's sim in the sim host. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await (await this.handle).close();
    } catch {
      // The sim never opened: nothing to release (the failure was reported as `lost`).
    }
  }

  /** Reports the loss of the copy once, and keeps the rejection from going unhandled. */
  private watch(): void {
    this.line.catch((err) => {
      if (this.lost || this.closed) return;
      this.lost = true;
      this.onNotice({ kind: 'lost', reason: describe(err) });
    });
  }
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return `${typeof code === 'string' ? code : err.name}: ${err.message}`;
  }
  return String(err);
}
