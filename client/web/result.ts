import type { DuelView } from '../../sim/index.ts';

/** One player's line in a {@link MatchResult}. */
export interface PlayerResult {
  readonly slot: number;
  /** Kills. */
  readonly score: number;
  readonly deaths: number;
}

/** The outcome of a duel as the page shows it. */
export interface MatchResult {
  readonly matchId: string;
  /** This page's slot. */
  readonly slot: number;
  /** The frame of the state the scores come from. */
  readonly frame: number;
  /** True when that state is confirmed (the frame limit's hashed state, or every other player gone). */
  readonly confirmed: boolean;
  /** In slot order. */
  readonly players: readonly PlayerResult[];
  /** Slots with the best result: most kills, then fewest deaths. More than one is a draw. */
  readonly winners: readonly number[];
  /** Why the match ended, in words. */
  readonly reason: string;
}

/**
 * Reads the outcome from a duel state: the winners have the most kills, ties broken by fewer
 * deaths; whoever is still tied shares the win (a draw).
 */
export function duelResult(
  view: DuelView,
  match: { matchId: string; slot: number; confirmed: boolean; reason: string },
): MatchResult {
  const players = view.players.map((p) => ({ slot: p.slot, score: p.score, deaths: p.deaths }));
  let best: PlayerResult | null = null;
  for (const p of players) {
    if (best === null || p.score > best.score || (p.score === best.score && p.deaths < best.deaths))
      best = p;
  }
  const winners = players
    .filter((p) => best !== null && p.score === best.score && p.deaths === best.deaths)
    .map((p) => p.slot);
  return { ...match, frame: view.frame, players, winners };
}

/** A one-line headline for `result` as seen by its slot: "You win", "You lose", "Draw". */
export function resultHeadline(result: MatchResult): string {
  const won = result.winners.includes(result.slot);
  if (won && result.winners.length === 1) return 'You win!';
  if (won) return 'Draw';
  if (result.winners.length === 1) return `Player ${result.winners[0] + 1} wins`;
  return `Draw between players ${result.winners.map((s) => s + 1).join(', ')}`;
}
