import type { ProtocolErrorCode } from './errors.ts';

/**
 * A frame number on the wire: an integer count of sim ticks. A flavoured number, the same type
 * as sim/'s `Frame` (protocol imports nothing from sim/): plain numbers are accepted, a
 * {@link PlayerSlot} is refused.
 */
export type Frame = number & { readonly __unit?: 'frame' };
/** A player's slot, `0..15`; flavoured like {@link Frame}, the same type as sim/'s `PlayerSlot`. */
export type PlayerSlot = number & { readonly __unit?: 'slot' };

/**
 * Scene settings the relay sends at match start in the `start` message, and that relays load
 * from experiment files; {@link validateSceneSettings} checks them in both places.
 *
 * Frames are integer counts of sim ticks; nothing here is in milliseconds.
 */
export interface SceneSettings {
  /** Scene name, `[a-z0-9][a-z0-9_-]{0,63}`: what a client asks for in `join`. */
  name: string;
  /** Sim id, e.g. `'duel'` or `'python:...'`: 1..200 printable ASCII characters. */
  sim: string;
  /** Players in a match, 1..16; slots are `0..players-1`. */
  players: number;
  /** Frames per second of the fixed-timestep sim, 1..240. */
  tickRate: number;
  /**
   * Sync mode: `'lockstep'` advances only on known inputs (prediction window 0),
   * `'rollback'` predicts up to {@link SceneSettings.maxPredictionWindow} frames (GGPO style),
   * `'authoritative'`: the relay's sim host runs the match and is the only source of truth; each
   * client predicts its own inputs and reconciles with the host's states (see
   * docs/sync-modes.md). In this mode no peer hashes or repairs anything.
   */
  mode: SyncModeSetting;
  /** Input delay D in frames, 0..30: input captured at frame f is stamped f + D. */
  inputDelay: number;
  /** Maximum prediction window W in frames, 0..60 (rollback only; lockstep ignores it). */
  maxPredictionWindow: number;
  /** Snapshot saving: `'ring'` saves every frame (W+1 snapshots), `'sparse'` only at the confirmed frame. */
  saveStrategy: 'ring' | 'sparse';
  /**
   * K_min: the shortest interval between state-hash checks, in frames, 1..65536. Checks fall on
   * confirmed frames f with f mod K = 0; K starts here, doubles after each check on which every
   * peer agrees, and falls back here after a desync. Peers hash every K_min-th confirmed frame.
   */
  hashInterval: number;
  /** K_max: the longest interval between state-hash checks, in frames, hashInterval..65536. */
  hashIntervalMax: number;
  /** How long a player who lost its connection may come back, in ms, 0..600 000 (0: never). */
  rejoinGraceMs: number;
  /** After the grace period: `'continue'` without the player (its input is the sim's default) or `'end'` the match. */
  onPlayerLost: 'continue' | 'end';
  /** Match length in frames, 0..10 000 000; 0 means unlimited. */
  frames: number;
  /**
   * The desync referee: on a disputed check the relay's sim host re-simulates from the last
   * agreed checkpoint with the logged inputs and decides which copies follow from the inputs
   * (`true`), or the host's copy is taken as right (`false`). Absent: on wherever the relay can
   * run the sim (a sim host, a built-in or Python sim), else the host rule. Optional on the
   * wire (`null` there when absent).
   */
  referee?: boolean;
  /**
   * What carries the players' inputs (everything else always travels on socket.io):
   * - `'auto'` (default): a WebRTC DataChannel to the relay, unordered and without
   *   retransmission, when it opens within a few seconds; websocket while it is not up, closed
   *   or silent, and the DataChannel again once it is back;
   * - `'websocket'`: socket.io only (no DataChannel is signalled);
   * - `'webrtc'`: like `'auto'`, but a DataChannel that cannot open is reported as an error.
   */
  transport: InputTransportSetting;
  /**
   * `authoritative` only: the sim host sends each client the state every this many frames,
   * 1..60 (absent: 3, 20 Hz at 60 Hz). Optional on the wire (`null` when absent).
   */
  broadcastDivisor?: number;
  /**
   * `authoritative` only: clients draw the other players this far in the past, interpolated
   * between the two server states around that time, ms 0..1000 (absent: 100). Optional on the
   * wire (`null` when absent).
   */
  interpolationDelayMs?: number;
  /**
   * `authoritative` only: lag compensation's window, ms 0..1000 (absent: 200). The host keeps
   * the states of this many past ms, judges a player's action against the world it saw up to
   * this far back, and refuses inputs stamped further behind its confirmed frame. Optional on
   * the wire (`null` when absent).
   */
  maxRewindMs?: number;
  /**
   * `authoritative` only: the input violation count at which the host warns a player, 1..100 000
   * (absent: 10). Optional on the wire.
   */
  violationWarnAt?: number;
  /**
   * `authoritative` only: the input violation count at which the host removes a player from the
   * match, at least `violationWarnAt` (absent: 30). Optional on the wire.
   */
  violationRemoveAt?: number;
  /**
   * `authoritative` only: every this many frames each player's violation count drops by one,
   * 1..65 536 (absent: 60). Optional on the wire.
   */
  violationDecayFrames?: number;
}

/** The scene setting {@link SceneSettings.mode}. */
export type SyncModeSetting = 'lockstep' | 'rollback' | 'authoritative';

/** The scene setting {@link SceneSettings.transport}. */
export type InputTransportSetting = 'auto' | 'websocket' | 'webrtc';

/** What carries a peer's inputs at a given moment: socket.io (`websocket`) or its DataChannel (`webrtc`). */
export type InputPath = 'websocket' | 'webrtc';

/**
 * A message from a client (browser or bot) to the relay. Frames are integer sim ticks in
 * `0..2^31-1`; `...Ms` fields are milliseconds of the sender's clock, echoed back unchanged.
 *
 * - `join`: ask for a seat in `scene` (a scene name); `participantId` is the experiment's id
 *   for this person (1..128 printable ASCII characters) or `null`.
 * - `cancel`: leave the waiting queue.
 * - `input`: this peer's input (exactly 4 bytes) for `frame`, sent while it showed
 *   `currentFrame` (the relay and peers use the difference for time sync).
 * - `hash`: the state hash of confirmed frame `frame`, 16 lowercase hex digits (xxhash64).
 * - `ping`: client↔relay round trip; `id` is a u32 the `pong` echoes, `sentMs` any finite number.
 *   Optional `stats` (the heartbeat's report, for the admin view): the peer's round trip to the
 *   relay in whole ms (0..3 600 000) and its rollbacks and stalls so far (u32); left off the wire
 *   when absent.
 * - `peerPing`: forwarded to the room as a peer round-trip probe.
 * - `peerPong`: the answer to a `peerPing` from slot `to` (0..15), echoing its `sentMs`.
 * - `done`: this peer finished; `hash` is the state hash of its confirmed frame `frame`.
 * - `state`: the host's answer to a `stateRequest` for slot `forSlot`: S(`frame`) with hash
 *   `hash`, as a delta against its state at `baseFrame`, or (-2) against the receiver's own
 *   S(`frame`) described by its signature, or (-1) the full canonical state; `fullBytes` is the
 *   full state's size, for the record. At most {@link MAX_STATE_BYTES} bytes.
 * - `resyncRequest`: retired (the kind and its code stay reserved, and still decode): peers
 *   once sent it after a desync verdict, with the `signature` of their own S(`frame`). The relay
 *   now asks the host for every differing peer's state as it sends the verdict, and refuses this
 *   kind (`UNKNOWN_KIND`, counted).
 * - `stateFailed`: this peer could not rebuild S(`frame`) from a delta (base missing, hash
 *   mismatch) and asks for the full state.
 * - `rejoin`: a peer whose connection dropped (or whose page reloaded) comes back to its seat in
 *   `matchId` with the `token` of its `start` message and the `participantId` it joined with; the
 *   relay refuses a token of another match or of another participant's seat.
 * - `fault`: this peer's sim threw while stepping to `frame` (its current frame), so it cannot
 *   go on; `reason` (up to 512 characters) says what was thrown. The relay logs it and treats
 *   the peer as having left.
 * - `rtcOffer`: this peer's WebRTC offer for its input DataChannel to the relay: the SDP `sdp`
 *   and ICE `candidates` (limits in `datachannel-signal.ts`). Only within a match whose scene's
 *   `transport` is not `websocket`; the relay answers with `rtcAnswer`, or refuses.
 * - `stateAck`: (authoritative mode) this client loaded the host's state of `frame`; the host sends
 *   its next states as deltas against it.
 * - `inputPath`: from now on this peer sends its inputs over `path` and wants the others' inputs
 *   there: `webrtc` once datagrams crossed its DataChannel both ways, `websocket` when the
 *   channel closed or fell silent (the relay then sends on socket.io every input the peer may
 *   lack). Any datagram stays acknowledged, so that the peer can tell when the channel is back.
 */
export type ClientMessage =
  | { kind: 'join'; scene: string; participantId: string | null }
  | { kind: 'cancel' }
  | { kind: 'input'; frame: Frame; input: Uint8Array; currentFrame: Frame }
  | { kind: 'hash'; frame: Frame; hash: string }
  | {
      kind: 'ping';
      id: number;
      sentMs: number;
      stats?: { rttMs: number; rollbacks: number; stalls: number };
    }
  | { kind: 'peerPing'; sentMs: number }
  | { kind: 'peerPong'; to: PlayerSlot; sentMs: number }
  | { kind: 'done'; frame: Frame; hash: string }
  | {
      kind: 'state';
      frame: Frame;
      hash: string;
      baseFrame: Frame;
      fullBytes: number;
      bytes: Uint8Array;
      forSlot: PlayerSlot;
    }
  | { kind: 'stateFailed'; frame: Frame }
  | { kind: 'resyncRequest'; frame: Frame; signature: Uint8Array }
  | { kind: 'rejoin'; matchId: string; token: string; participantId: string | null }
  | { kind: 'fault'; frame: Frame; reason: string }
  | { kind: 'rtcOffer'; sdp: string; candidates: readonly string[] }
  | { kind: 'inputPath'; path: InputPath }
  | { kind: 'stateAck'; frame: Frame };

/**
 * A message from the relay to a client. Slots are `0..15`, frames integer sim ticks in
 * `0..2^31-1`, `...Ms` fields milliseconds of the original sender's clock.
 *
 * - `waiting`: `waiting` (0..65535) people wait in the queue of `scene`, which starts a match
 *   at `players` (1..16).
 * - `start`: a match begins; this client plays `slot` (< `settings.players`), the sim is seeded
 *   with `seed` (u32); `matchId` (1..64 printable ASCII) names the match log, `token`
 *   (1..256 printable ASCII) lets this client rejoin.
 * - `input`: the input of player `slot` for `frame`, sent while that player showed
 *   `currentFrame`; `input` is exactly 4 bytes.
 * - `peerPing` / `peerPong`: a peer round-trip probe from `slot`, and the answer of `slot` to
 *   the probe of slot `to`.
 * - `pong`: the answer to this client's `ping` `id`.
 * - `peerLeft`: player `slot` left; `lastFrame` is the last input frame of that slot the relay
 *   forwarded, or -1 if none.
 * - `verdict`: the relay compared the hashes of frame `frame`: `agreed` or a desync; `next` is
 *   the next check frame, and `differing` a bit mask of the slots whose copy is repaired (their
 *   hash differs from the right one: the referee's where it ran, else the host's); each will
 *   receive the right S(`frame`), from an agreeing peer or from the relay's referee. The relay
 *   sends the last verdict again to a peer whose rejoin completes, so that it learns the next
 *   check frame.
 * - `stateRequest`: (to the host) send S(`frame`) for slot `forSlot`: as a delta against
 *   S(`baseFrame`) or against the state `signature` describes (empty: none), whichever is
 *   smaller, or in full when `baseFrame` is -1.
 * - `state`: the host's S(`frame`) (hash `hash`): a delta against S(`baseFrame`), against the
 *   receiver's own S(`frame`) (-2), or the full canonical state (-1).
 * - `rejoined`: the answer to `rejoin`, like `start`; the state and the inputs since follow,
 *   this slot's own among them (the relay played its default input while it was away). The
 *   client stamps its inputs from `resumeFrame` on.
 * - `end`: the match is over; `reason` is up to 256 characters.
 * - `peerAway`: player `slot` lost its connection (or fell silent) after its input for
 *   `lastFrame` (-1: none); it may rejoin within the scene's grace period, and meanwhile the relay
 *   plays the sim's default input for it. A `peerLeft` follows if it does not come back.
 * - `peerRejoined`: player `slot` is back in its seat.
 * - `error`: the relay refused something: a {@link ProtocolErrorCode}, a human `message` (up to
 *   512 characters) and the kind refused (1..32 printable ASCII) when known.
 * - `rtcAnswer`: the relay's answer to this peer's `rtcOffer`: its SDP and ICE candidates.
 * - `authState`: (authoritative mode) the sim host's state S(`frame`), hash `hash`: a delta
 *   against S(`baseFrame`), the last state this client acknowledged (`stateAck`), or the full
 *   canonical state (`baseFrame` -1), or, for a sim with entity interest, an interest update
 *   (`baseFrame` -2, `INTEREST_UPDATE_BASE`: sim/sync's `encodeInterestUpdate`, the entities
 *   near the client and some of the others; `hash` is then the host's, which the approximate
 *   state the client composes does not have). `lastInputFrames[s]` is the last frame (below `frame`) for
 *   which slot s's own input was applied (-1: none; later frames of that slot were late and
 *   confirmed with its last input); `inputs` holds the input each slot had applied for frame
 *   `frame - 1` (4 bytes per slot, slot order), which a client repeats to predict the others.
 */
export type ServerMessage =
  | { kind: 'waiting'; scene: string; waiting: number; players: number }
  | {
      kind: 'start';
      matchId: string;
      slot: PlayerSlot;
      seed: number;
      settings: SceneSettings;
      token: string;
    }
  | { kind: 'input'; slot: PlayerSlot; frame: Frame; input: Uint8Array; currentFrame: Frame }
  | { kind: 'peerPing'; slot: PlayerSlot; sentMs: number }
  | { kind: 'peerPong'; slot: PlayerSlot; to: PlayerSlot; sentMs: number }
  | { kind: 'pong'; id: number; sentMs: number }
  | { kind: 'peerLeft'; slot: PlayerSlot; lastFrame: Frame }
  | { kind: 'verdict'; frame: Frame; agreed: boolean; next: Frame; differing: number }
  | {
      kind: 'stateRequest';
      frame: Frame;
      baseFrame: Frame;
      forSlot: PlayerSlot;
      signature: Uint8Array;
    }
  | { kind: 'state'; frame: Frame; hash: string; baseFrame: Frame; bytes: Uint8Array }
  | {
      kind: 'rejoined';
      matchId: string;
      slot: PlayerSlot;
      seed: number;
      settings: SceneSettings;
      token: string;
      resumeFrame: Frame;
    }
  | { kind: 'end'; reason: string }
  | { kind: 'error'; code: ProtocolErrorCode; message: string; refused?: string }
  | { kind: 'peerAway'; slot: PlayerSlot; lastFrame: Frame }
  | { kind: 'peerRejoined'; slot: PlayerSlot }
  | { kind: 'rtcAnswer'; sdp: string; candidates: readonly string[] }
  | {
      kind: 'authState';
      frame: Frame;
      hash: string;
      baseFrame: Frame;
      bytes: Uint8Array;
      lastInputFrames: readonly Frame[];
      inputs: Uint8Array;
    };

/** The `kind` of a {@link ClientMessage}. */
export type ClientMessageKind = ClientMessage['kind'];
/** The `kind` of a {@link ServerMessage}. */
export type ServerMessageKind = ServerMessage['kind'];
