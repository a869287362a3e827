import { SLOT_COLOURS } from './duel-view.ts';
import type { PythonMatchResult } from './python-worker.ts';
import { type MatchResult, resultHeadline } from './result.ts';

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  text?: string,
  className?: string,
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (className) e.className = className;
  return e;
}

function button(label: string, onClick: () => void): HTMLButtonElement {
  const b = el('button', label);
  b.type = 'button';
  b.addEventListener('click', onClick);
  return b;
}

function byId(id: string): HTMLElement {
  const e = document.getElementById(id);
  if (!e) throw new Error(`the page lacks #${id}`);
  return e;
}

/**
 * The page's screens around the game, plain DOM (texts set with `textContent`, never parsed as
 * HTML): the Join button, the waiting room with its Cancel button, the countdown, the result,
 * and a status line for errors. The elements come from `index.html`.
 */
export class PageScreens {
  private readonly panel = byId('panel');
  private readonly body = byId('panel-body');
  private readonly countdown = byId('countdown');
  private readonly notice = byId('notice');
  private readonly status = byId('status');
  private readonly keys = byId('keys');
  /** The element the game canvas goes in. */
  readonly gameParent = byId('game');
  /** The stats overlay's element. */
  readonly overlay = byId('overlay');

  /** Shows the Join button for `scene`, with `notes` (e.g. the keys) in small print under it. */
  showJoin(scene: string, onJoin: () => void, notes: readonly string[] = []): void {
    this.show([
      el('p', `Scene: ${scene}`),
      button('Join', onJoin),
      ...notes.map((n) => el('p', n, 'small')),
    ]);
  }

  /** Shows that the page is connecting to the relay. */
  showConnecting(): void {
    this.showMessage('Connecting to the relay…');
  }

  /** Shows a line of progress (e.g. "Loading Python…") and nothing else. */
  showMessage(text: string): void {
    this.show([el('p', text)]);
  }

  /** Sets the panel's heading (the page's title names the scene). */
  setTitle(text: string): void {
    byId('title').textContent = text;
    document.title = text;
  }

  /** Shows the waiting room: `waiting` of `players` are queued (0 before the first count). */
  showWaiting(waiting: number, players: number, onCancel: () => void): void {
    const count = waiting > 0 ? `Waiting for players: ${waiting} of ${players}` : 'Joining…';
    this.show([el('p', count, 'big'), button('Cancel', onCancel)]);
  }

  /** Hides the panel (the game is on). */
  hidePanel(): void {
    this.panel.hidden = true;
  }

  /** Shows `text` large over the game, or hides the countdown when null. */
  setCountdown(text: string | null): void {
    this.countdown.hidden = text === null;
    if (text !== null && this.countdown.textContent !== text) this.countdown.textContent = text;
  }

  /**
   * Shows a notice over the game ("Reconnecting…", "Your partner is reconnecting…"), or hides it
   * when null.
   */
  setNotice(text: string | null): void {
    this.notice.hidden = text === null;
    if (text !== null && this.notice.textContent !== text) this.notice.textContent = text;
  }

  /** Shows the result of a match and a button to play again (none when `onAgain` is null). */
  showResult(result: MatchResult, onAgain: (() => void) | null): void {
    const table = el('table');
    const head = el('tr');
    for (const h of ['', 'player', 'kills', 'deaths']) head.append(el('th', h));
    table.append(head);
    for (const p of result.players) {
      const row = el('tr');
      const swatch = el('td', '●');
      swatch.style.color = `#${(SLOT_COLOURS[p.slot] ?? 0xffffff).toString(16).padStart(6, '0')}`;
      const you = p.slot === result.slot ? ' (you)' : '';
      const win = result.winners.includes(p.slot) ? ' ★' : '';
      row.append(swatch, el('td', `P${p.slot + 1}${you}${win}`), el('td', String(p.score)));
      row.append(el('td', String(p.deaths)));
      table.append(row);
    }
    const where = result.confirmed
      ? `confirmed frame ${result.frame}`
      : `frame ${result.frame} (not yet confirmed)`;
    this.show([
      el('p', resultHeadline(result), 'big'),
      table,
      el('p', `You are player ${result.slot + 1} (slot ${result.slot}).`),
      el('p', `Scores at ${where}; ${result.reason}.`, 'small'),
      el('p', `Match id: ${result.matchId}`, 'mono'),
      ...(onAgain ? [button('Play again', onAgain)] : []),
    ]);
  }

  /**
   * Shows the result of a Python scene's match: how it ended, the environment's score when it
   * keeps one, this player's slot, the frame and the match id, and a button to play again (none
   * when `onAgain` is null).
   */
  showPythonResult(result: PythonMatchResult, onAgain: (() => void) | null): void {
    const headline = result.kind === 'error' ? 'The match stopped' : 'Match over';
    const where = result.confirmed
      ? `confirmed frame ${result.frame}`
      : `frame ${result.frame} (not yet confirmed)`;
    this.show([
      el('p', headline, 'big'),
      ...(result.score !== null ? [el('p', `Score: ${result.score}`, 'big')] : []),
      el('p', `You are player ${result.slot + 1} (slot ${result.slot}).`),
      el(
        'p',
        `${result.score !== null ? 'Score' : 'State'} at ${where}; ${result.reason}.`,
        'small',
      ),
      el('p', `Match id: ${result.matchId}`, 'mono'),
      ...(onAgain ? [button('Play again', onAgain)] : []),
    ]);
  }

  /** Shows the key bindings along the bottom during play (null hides them). */
  setKeys(text: string | null): void {
    this.keys.hidden = text === null;
    this.keys.textContent = text ?? '';
  }

  /** Shows an error in the status line (null clears it). */
  setError(message: string | null): void {
    this.status.textContent = message ?? '';
    this.status.classList.toggle('error', message !== null);
  }

  private show(children: HTMLElement[]): void {
    this.body.replaceChildren(...children);
    this.panel.hidden = false;
    children.find((c) => c instanceof HTMLButtonElement)?.focus();
  }
}
