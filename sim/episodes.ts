/**
 * Episodes: a match of `episodes` × `framesPerEpisode` frames of one sim, reset at the first
 * frame of every episode with a seed derived from the match seed and the episode index (the
 * experiment file's `episodes` and `framesPerEpisode`; Multi-User Gymnasium's `num_episodes`).
 *
 * The wrapper is itself a {@link Sim}, so the sync session, snapshots, rollback, the desync
 * check and replay treat an episodic match like any other: its snapshot holds the episode index
 * and the inner sim's snapshot, so a rollback across an episode boundary loads the episode it
 * rolls back to, and the state hash covers the index.
 *
 * @packageDocumentation
 */
import { type CanonicalValue, canonicalDecode, canonicalEncode } from './canonical.ts';
import { ConcordError } from './errors.ts';
import { type Input, NEUTRAL_INPUT } from './input.ts';
import type { Frame, PlayerSlot, Sim, SimConfig, SimFactory } from './sim.ts';

/** Most episodes a match may have (the experiment file's `episodes` range is 1..this or less). */
export const MAX_EPISODES = 1000;

/** The episode settings of a match. */
export interface EpisodeSettings {
  /** Number of episodes, 1..{@link MAX_EPISODES}. */
  readonly episodes: number;
  /** Frames in each episode, at least 1; episode e covers frames e·n .. (e+1)·n − 1. */
  readonly framesPerEpisode: number;
}

/**
 * The seed of episode `episode` of a match seeded `matchSeed`: a pure 32-bit integer function,
 * the same in every engine (only `Math.imul`, `^`, `>>>` and `+` on 32-bit values).
 *
 * Episode 0 plays with the match seed itself, so a one-episode match starts exactly as the plain
 * sim does. Episode e ≥ 1 plays with `fmix32((matchSeed + e · 0x9E3779B9) mod 2^32)`, where
 * `fmix32` is MurmurHash3's 32-bit finaliser (`h ^= h >>> 16; h *= 0x85EBCA6B; h ^= h >>> 13;
 * h *= 0xC2B2AE35; h ^= h >>> 16`) and 0x9E3779B9 the golden-ratio increment of SplitMix: the
 * increment keeps the episodes of one match apart, the finaliser spreads neighbouring match seeds.
 * A researcher can recompute it in any language from this description.
 *
 * @param matchSeed the match seed, a 32-bit unsigned integer
 * @param episode the episode index, 0..{@link MAX_EPISODES}−1
 * @returns a 32-bit unsigned integer
 * @throws ConcordError `BAD_CONFIG` when either argument is out of range or not an integer
 */
export function episodeSeed(matchSeed: number, episode: number): number {
  if (!Number.isInteger(matchSeed) || matchSeed < 0 || matchSeed > 0xffffffff) {
    throw new ConcordError(
      'BAD_CONFIG',
      `match seed must be a 32-bit unsigned integer, got ${matchSeed}`,
    );
  }
  if (!Number.isInteger(episode) || episode < 0 || episode >= MAX_EPISODES) {
    throw new ConcordError(
      'BAD_CONFIG',
      `episode must be an integer 0..${MAX_EPISODES - 1}, got ${episode}`,
    );
  }
  if (episode === 0) return matchSeed;
  let h = (matchSeed + Math.imul(episode, 0x9e3779b9)) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * The episode that frame `frame` belongs to: `floor(frame / framesPerEpisode)`, at most
 * `episodes − 1` (the match's final state S(episodes · framesPerEpisode) counts as the last
 * episode's end, not a new episode).
 */
export function episodeOf(frame: Frame, settings: EpisodeSettings): number {
  return Math.min(Math.floor(frame / settings.framesPerEpisode), settings.episodes - 1);
}

/** The first frame of episode `episode`: `episode · framesPerEpisode` (what the log marks). */
export function episodeStartFrame(episode: number, settings: EpisodeSettings): Frame {
  return episode * settings.framesPerEpisode;
}

/** Frames in the whole match: `episodes · framesPerEpisode` (the match ends at this frame's state). */
export function matchFrames(settings: EpisodeSettings): Frame {
  return settings.episodes * settings.framesPerEpisode;
}

/**
 * A snapshot of an episodic sim: the match frame, the episode index and the inner sim's snapshot
 * (whose own frame counts from the episode's start).
 */
export interface EpisodeSnap<Inner = unknown> {
  readonly frame: Frame;
  readonly episode: number;
  readonly inner: Inner;
}

/** A sim that plays episodes of an inner sim; see {@link episodicFactory}. */
export interface EpisodicSim<Inner = unknown> extends Sim<EpisodeSnap<Inner>> {
  /** The episode of the current state, 0..episodes−1. */
  readonly episode: number;
  /** The sim playing the current episode (read it for views and exports; do not step it). */
  readonly inner: Sim<Inner>;
  /** The episode settings. */
  readonly settings: EpisodeSettings;
  /**
   * The episode whose first frame the current state is (a reset happened on the last step, or
   * this is frame 0), else null: what the log marks and a page announces.
   */
  readonly episodeStarted: number | null;
  /** Releases the inner sim (Python objects), when it has a `dispose`. */
  dispose(): void;
}

/** A {@link SimFactory} of {@link EpisodicSim}s; see {@link episodicFactory}. */
export interface EpisodicSimFactory<Inner = unknown> extends SimFactory<EpisodeSnap<Inner>> {
  /** The episode settings its sims play. */
  readonly settings: EpisodeSettings;
  /**
   * An episodic sim at frame 0, episode 0 (the inner sim created with the match seed).
   * @throws ConcordError `BAD_CONFIG` as the inner factory's `create`.
   */
  create(config: SimConfig): EpisodicSim<Inner>;
}

type Disposable = { dispose?: () => void };

function checkSettings(settings: EpisodeSettings): void {
  const { episodes, framesPerEpisode } = settings;
  if (!Number.isInteger(episodes) || episodes < 1 || episodes > MAX_EPISODES) {
    throw new ConcordError(
      'BAD_CONFIG',
      `episodes must be an integer 1..${MAX_EPISODES}, got ${episodes}`,
    );
  }
  if (!Number.isInteger(framesPerEpisode) || framesPerEpisode < 1) {
    throw new ConcordError(
      'BAD_CONFIG',
      `framesPerEpisode must be a positive integer, got ${framesPerEpisode}`,
    );
  }
}

class EpisodicSimImpl<Inner> implements EpisodicSim<Inner> {
  readonly id: string;
  readonly players: number;
  frame: Frame = 0;
  episode = 0;
  inner: Sim<Inner>;

  constructor(
    private readonly factory: SimFactory<Inner>,
    private readonly config: SimConfig,
    readonly settings: EpisodeSettings,
  ) {
    this.inner = factory.create(config);
    this.id = this.inner.id;
    this.players = this.inner.players;
  }

  get episodeStarted(): number | null {
    return this.frame % this.settings.framesPerEpisode === 0 &&
      this.frame < matchFrames(this.settings)
      ? this.episode
      : null;
  }

  step(inputs: readonly Input[]): void {
    this.inner.step(inputs);
    this.frame++;
    const next = Math.floor(this.frame / this.settings.framesPerEpisode);
    if (next > this.episode && next < this.settings.episodes) {
      this.episode = next;
      this.resetInner(episodeSeed(this.config.seed, next));
    }
  }

  /** The inner sim at frame 0 of a match seeded `seed`: its own reset, else a new one. */
  private resetInner(seed: number): void {
    if (this.inner.reset) {
      this.inner.reset(seed);
      return;
    }
    (this.inner as Disposable).dispose?.();
    this.inner = this.factory.create({ ...this.config, seed });
  }

  save(reuse?: EpisodeSnap<Inner>): EpisodeSnap<Inner> {
    return { frame: this.frame, episode: this.episode, inner: this.inner.save(reuse?.inner) };
  }

  load(snapshot: EpisodeSnap<Inner>): void {
    this.inner.load(snapshot.inner);
    this.frame = snapshot.frame;
    this.episode = snapshot.episode;
  }

  encode(snapshot: EpisodeSnap<Inner>): Uint8Array {
    return canonicalEncode([snapshot.frame, snapshot.episode, this.inner.encode(snapshot.inner)]);
  }

  decode(bytes: Uint8Array): EpisodeSnap<Inner> {
    const v = canonicalDecode(bytes) as CanonicalValue;
    if (
      !Array.isArray(v) ||
      v.length !== 3 ||
      !Number.isInteger(v[0]) ||
      !Number.isInteger(v[1]) ||
      !(v[2] instanceof Uint8Array)
    ) {
      throw new ConcordError('BAD_STATE', `not an episodic ${this.id} state`);
    }
    const [frame, episode, inner] = v as [number, number, Uint8Array];
    if (
      frame < 0 ||
      episode < 0 ||
      episode >= this.settings.episodes ||
      episode !== episodeOf(frame, this.settings)
    ) {
      throw new ConcordError(
        'BAD_STATE',
        `episodic ${this.id} state: frame ${frame} is not in episode ${episode} of ${this.settings.episodes} × ${this.settings.framesPerEpisode} frames`,
      );
    }
    return { frame, episode, inner: this.inner.decode(inner) };
  }

  defaultInput(slot: PlayerSlot): Input {
    return this.inner.defaultInput?.(slot) ?? NEUTRAL_INPUT;
  }

  dispose(): void {
    (this.inner as Disposable).dispose?.();
  }
}

/**
 * A {@link SimFactory} whose sims play `settings.episodes` episodes of `factory`'s sim: at every
 * frame `e · framesPerEpisode` (e ≥ 1, below the episode count) the inner sim is reset with
 * {@link episodeSeed}(match seed, e), by its own `reset(seed)` when it has one (a Python
 * environment's `reset(seed=…)`), else by creating a new one with that seed. The wrapper's state
 * (frame, episode index, inner state) is encoded canonically as `[frame, episode, innerBytes]`.
 *
 * The match's frame limit is {@link matchFrames}; the wrapper does not stop there itself (the
 * session's frame limit does), and steps past it stay in the last episode.
 *
 * @throws ConcordError `BAD_CONFIG` for settings out of range (at once), and as the inner
 *   factory's `create` for the player count or seed.
 */
export function episodicFactory<Inner>(
  factory: SimFactory<Inner>,
  settings: EpisodeSettings,
): EpisodicSimFactory<Inner> {
  checkSettings(settings);
  const frozen = Object.freeze({
    episodes: settings.episodes,
    framesPerEpisode: settings.framesPerEpisode,
  });
  return {
    id: factory.id,
    minPlayers: factory.minPlayers,
    maxPlayers: factory.maxPlayers,
    settings: frozen,
    create: (config: SimConfig) => new EpisodicSimImpl(factory, config, frozen),
  };
}
