import type { Frame, PlayerSlot } from '../index.ts';

/**
 * A state this peer holds for the desync check: the canonical encoding of S(`frame`) and its
 * state hash (xxhash64, 16 lowercase hex digits).
 */
export interface HeldState {
  readonly frame: Frame;
  readonly hash: string;
  readonly state: Uint8Array;
}

/**
 * What a {@link DesyncCheck} asks its peer to send to the relay: the hash of the announced check
 * frame `frame` (a confirmed frame; `hash` as in {@link HeldState}).
 */
export interface HashReportMessage {
  readonly kind: 'hash';
  readonly frame: Frame;
  readonly hash: string;
}

/**
 * The relay's verdict on the check of `frame`: `agreed` when every voter reported the host's
 * hash; `next` the frame of the next check (the relay's adaptive K: K_min doubled after each
 * agreed check up to K_max, back to K_min after a desync); `differing` a bit mask of the slots
 * whose copy is repaired (bit `slot` set; the relay's referee, or the host rule, names them: the
 * host's own bit may be set), 0 when agreed.
 */
export interface Verdict {
  readonly frame: Frame;
  readonly agreed: boolean;
  readonly next: Frame;
  readonly differing: number;
}

/** What a {@link Verdict} means for this peer. */
export type VerdictOutcome =
  | {
      readonly kind: 'agreed';
      readonly frame: Frame;
      /**
       * The new last agreed checkpoint (`frame`) when this peer holds its state, else null (the
       * checkpoint stays). Inputs before it may be freed (`SyncSession.retainInputsFrom`): no
       * repair loads an older state.
       */
      readonly checkpoint: Frame | null;
      /** Frames from the last desync to this check (the desync's convergence), or null. */
      readonly convergedAfter: number | null;
    }
  | {
      readonly kind: 'desync';
      readonly frame: Frame;
      /**
       * True when this peer's bit is set in `differing`: it holds its hash reports and awaits
       * the right S(`frame`) (from an agreeing peer or the relay's referee), which the relay
       * arranges at once (no request from this peer).
       */
      readonly awaitState: boolean;
    };

/** Settings of a {@link DesyncCheck}. */
export interface DesyncCheckSettings {
  /** This peer's slot, 0..15: its bit in a verdict's `differing`. */
  readonly slot: PlayerSlot;
  /** K_min, the scene's `hashInterval`, in frames (>= 1): the first check frame of a match. */
  readonly hashInterval: Frame;
  /**
   * True for a peer that rejoins a match under way: it reports nothing until its first verdict
   * names the next check (the relay never counts a rejoining peer's vote on the check under way).
   * Default false: the first check is frame K_min.
   */
  readonly rejoining?: boolean;
  /** Most held check states kept before the oldest is dropped (should verdicts stop). Default 256. */
  readonly maxHeldChecks?: number;
}

/**
 * One peer's side of the relay's desync check, pure: it takes the session's confirmed hashes and
 * the relay's verdicts, and returns what to send and what each verdict means; it sends nothing
 * and calls nothing itself (in the style of `SyncSession.advanceFrame()` returning requests).
 *
 * It keeps the hash and canonical state of every K_min-th confirmed frame until a check on it is
 * judged, the last agreed checkpoint (S(0), which every peer starts from, to begin with), and the
 * next check frame the relay announced. It reports the hash of each announced check frame once
 * this peer has it, except while it awaits a repair: its state differed from the host's, so its
 * later hashes would differ too; reports resume on the repaired line of play, after
 * {@link restored}. Memory is bounded: states before the checkpoint are dropped, and at most
 * `maxHeldChecks` others are kept.
 *
 * Idea: GGRS's desync detection (`DesyncDetection::On { interval }`, checksums of confirmed
 * frames compared between peers), with the relay as arbiter and the last agreed checkpoint as
 * the base of the repair (see docs/desync-and-resync.md).
 */
export class DesyncCheck {
  readonly slot: PlayerSlot;
  readonly hashInterval: Frame;
  private readonly maxHeld: number;
  private readonly held = new Map<Frame, HeldState>();
  private agreed: HeldState | null = null;
  private next: Frame | null;
  private reported: Frame = -1;
  private awaiting: Frame | null = null;
  private lastDesync: Frame | null = null;

  constructor(settings: DesyncCheckSettings) {
    this.slot = settings.slot;
    this.hashInterval = settings.hashInterval;
    this.maxHeld = settings.maxHeldChecks ?? 256;
    this.next = settings.rejoining === true ? null : settings.hashInterval;
  }

  /** The last agreed checkpoint this peer holds (S(0) once hashed), or null before it. */
  get checkpoint(): HeldState | null {
    return this.agreed;
  }

  /** The next check frame this peer reports (null: unknown until the next verdict). */
  get nextCheck(): Frame | null {
    return this.next;
  }

  /** The frame of the desync whose repaired state this peer awaits, or null. */
  get awaitingState(): Frame | null {
    return this.awaiting;
  }

  /** Check states held, awaiting a verdict (the bound of memory, with the checkpoint). */
  get heldChecks(): number {
    return this.held.size;
  }

  /** The state this peer holds for `frame`: a held check or the checkpoint; null if neither. */
  stateAt(frame: Frame): HeldState | null {
    return this.held.get(frame) ?? (this.agreed?.frame === frame ? this.agreed : null);
  }

  /**
   * Takes a confirmed-frame hash from the session (its `confirmedHash` event): holds it if the
   * frame is a multiple of K_min, and reports it if it is the announced check frame.
   * @param state the canonical encoding of S(frame)
   * @returns the reports to send now (at most one)
   */
  confirmedHash(frame: Frame, hash: string, state: Uint8Array): HashReportMessage[] {
    if (frame % this.hashInterval !== 0) return [];
    const s: HeldState = { frame, hash, state };
    if (frame === 0 && this.agreed === null) this.agreed = s;
    // A frame before the checkpoint can no longer be judged; keep memory to what can.
    if (this.agreed === null || frame > this.agreed.frame) this.held.set(frame, s);
    this.trim();
    return this.reportDue();
  }

  /**
   * Takes the relay's verdict on a check.
   * @returns the reports due now (the next check frame may be one this peer already holds) and
   * what the verdict means for this peer
   */
  verdict(v: Verdict): { readonly send: HashReportMessage[]; readonly outcome: VerdictOutcome } {
    this.next = v.next;
    let outcome: VerdictOutcome;
    if (v.agreed) {
      const s = this.held.get(v.frame);
      if (s) this.agreed = s;
      const convergedAfter = this.lastDesync === null ? null : v.frame - this.lastDesync;
      this.lastDesync = null;
      outcome = { kind: 'agreed', frame: v.frame, checkpoint: s ? v.frame : null, convergedAfter };
    } else {
      this.lastDesync = v.frame;
      const awaitState = ((v.differing >>> this.slot) & 1) === 1;
      if (awaitState) this.awaiting = v.frame;
      outcome = { kind: 'desync', frame: v.frame, awaitState };
    }
    this.trim();
    return { send: this.reportDue(), outcome };
  }

  /**
   * The host's S(`s.frame`) was rebuilt and is handed to the session (`SyncSession.loadState`):
   * the check states from that frame on came from the old line of play and are dropped, and
   * the frame is not reported again (the relay judged it). Reports stay held until the session
   * has loaded it ({@link restored}). For a rejoining peer the state is the last agreed
   * checkpoint, and becomes this peer's.
   */
  stateLoaded(s: HeldState, options: { readonly rejoin?: boolean } = {}): void {
    for (const f of this.held.keys()) if (f >= s.frame) this.held.delete(f);
    this.reported = Math.max(this.reported, s.frame);
    if (options.rejoin === true) {
      this.agreed = s;
      this.trim();
      return;
    }
    this.awaiting = s.frame;
  }

  /**
   * The session loaded S(`frame`) (its `restore` event): hashes from now on come from the
   * host's line of play, so held reports resume.
   * @returns the reports due now
   */
  restored(frame: Frame): HashReportMessage[] {
    if (this.awaiting !== frame) return [];
    this.awaiting = null;
    return this.reportDue();
  }

  private trim(): void {
    // The checkpoint is kept apart; nothing at or before it will be judged or asked for.
    const keepAfter = this.agreed?.frame ?? -1;
    for (const f of this.held.keys()) if (f <= keepAfter) this.held.delete(f);
    while (this.held.size > this.maxHeld) {
      let oldest = Number.POSITIVE_INFINITY;
      for (const f of this.held.keys()) oldest = Math.min(oldest, f);
      this.held.delete(oldest);
    }
  }

  private reportDue(): HashReportMessage[] {
    const f = this.next;
    if (f === null || this.awaiting !== null || this.reported >= f) return [];
    const s = this.held.get(f);
    if (!s) return [];
    this.reported = f;
    return [{ kind: 'hash', frame: f, hash: s.hash }];
  }
}
