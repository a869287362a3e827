import type { PageStats } from './page-stats.ts';

/** Keys that show and hide the overlay, by `KeyboardEvent.code`. */
export const OVERLAY_TOGGLE_KEYS: readonly string[] = ['F3', 'Backquote'];

function n(v: number | null, digits = 0): string {
  return v === null ? '–' : v.toFixed(digits);
}

/** The overlay's text for `s`, one figure a line. */
export function formatStats(s: PageStats): string {
  const adv =
    s.frameAdvantage === null
      ? '–'
      : `${s.frameAdvantage >= 0 ? '+' : ''}${n(s.frameAdvantage, 1)}`;
  return [
    `ping         ${n(s.pingMs)} ms`,
    `inputs       ${s.inputPath ?? '–'}`,
    `peer rtt     ${n(s.rttMs)} ms`,
    `frame        ${n(s.frame)}`,
    `confirmed    ${n(s.confirmedFrame)}`,
    `advantage    ${adv} frames`,
    `rollbacks    ${n(s.rollbacks)} (last ${n(s.lastRollbackDepth)}, max ${n(s.maxRollbackDepth)})`,
    `stalls       ${n(s.stalls)}`,
    `input delay  ${n(s.inputDelay)} frames`,
    `desyncs      ${s.desyncs} (agreed ${s.agreedChecks})`,
    `rejoins      ${s.rejoins}`,
    `away         ${s.away.length > 0 ? s.away.map((slot) => `P${slot + 1}`).join(' ') : '–'}`,
    `hidden ticks ${s.hiddenTicks}${s.hidden ? ' (hidden)' : ''}`,
    `renderer     ${s.renderer ?? '–'}`,
  ].join('\n');
}

/**
 * The network statistics overlay, plain DOM: ping, what carries the inputs, frame, confirmed frame, frame advantage,
 * rollbacks (count and last depth), stalls, input delay, desyncs, rejoins and who is away. Toggled with F3 or the
 * backquote key; redrawn at most ten times a second.
 */
export class StatsOverlay {
  private lastDrawMs = Number.NEGATIVE_INFINITY;

  /** @param el the element the overlay writes into (shown and hidden with its `hidden` flag) */
  constructor(private readonly el: HTMLElement) {}

  /**
   * Shows and hides the overlay on {@link OVERLAY_TOGGLE_KEYS} pressed in `target`.
   * @returns a function that stops listening (a study page drops a match's page when it moves on)
   */
  bindKeys(target: Window): () => void {
    const onKey = (e: KeyboardEvent): void => {
      if (!OVERLAY_TOGGLE_KEYS.includes(e.code) || e.repeat) return;
      e.preventDefault(); // F3 is the browser's "find next"
      this.toggle();
    };
    target.addEventListener('keydown', onKey);
    return () => target.removeEventListener('keydown', onKey);
  }

  /** True while shown. */
  get visible(): boolean {
    return !this.el.hidden;
  }

  toggle(): void {
    this.el.hidden = !this.el.hidden;
    this.lastDrawMs = Number.NEGATIVE_INFINITY;
  }

  /** Redraws with `stats` at local time `nowMs`, unless hidden or drawn under 100 ms ago. */
  update(stats: () => PageStats, nowMs: number): void {
    if (this.el.hidden || nowMs - this.lastDrawMs < 100) return;
    this.lastDrawMs = nowMs;
    this.el.textContent = formatStats(stats());
  }
}
