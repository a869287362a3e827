/**
 * The study page's screens, plain DOM in `#study` (study.html): info and consent, the waiting
 * room, the survey form, the end with the completion code, and messages. Texts are set with
 * `textContent`; only an info scene's `html` (the researcher's Markdown, rendered by the
 * server) is parsed as HTML.
 */
import type { StudyAnswer, StudyQuestion, StudyScene } from '../../protocol/index.ts';
import type { LoadProgress } from './python-preload.ts';

type Scene<K extends StudyScene['kind']> = Extract<StudyScene, { kind: K }>;

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

function button(label: string, onClick: () => void, className?: string): HTMLButtonElement {
  const b = el('button', label, className);
  b.type = 'button';
  b.addEventListener('click', onClick);
  return b;
}

function byId(id: string): HTMLElement {
  const e = document.getElementById(id);
  if (!e) throw new Error(`the page lacks #${id}`);
  return e;
}

/** `m:ss` of a duration in ms, rounded up to the second. */
export function formatTimeLeft(ms: number): string {
  const s = Math.max(0, Math.ceil(ms / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

/**
 * The server's `badAnswers` errors split by question: an error line `enjoy: must be …` goes to
 * question `enjoy`; a line naming no question of the survey goes to `general`.
 */
export function errorsByQuestion(
  errors: readonly string[],
  questions: readonly StudyQuestion[],
): { readonly byQuestion: ReadonlyMap<string, string[]>; readonly general: string[] } {
  const byQuestion = new Map<string, string[]>();
  const general: string[] = [];
  for (const line of errors) {
    const q = questions.find((x) => line.startsWith(`${x.id}:`) || line.startsWith(`${x.id} `));
    if (!q) {
      general.push(line);
      continue;
    }
    const text = line.slice(q.id.length).replace(/^:\s*/, '').trim();
    byQuestion.set(q.id, [...(byQuestion.get(q.id) ?? []), text]);
  }
  return { byQuestion, general };
}

/** What the waiting room shows. */
export interface WaitingRoomState {
  /** People waiting, this participant included, and players a match needs (0: not yet known). */
  readonly waiting: number;
  readonly players: number;
  /** When the wait ends (`performance.now()` ms), or null without a limit or before the count. */
  readonly deadlineMs: number | null;
  /** Python scenes: the environment's loading, while the participant waits for it; else null. */
  readonly loading: LoadProgress | null;
}

/** The study page's screens. */
export class StudyScreens {
  private readonly root = byId('study');
  private readonly body = byId('study-body');
  private readonly noticeEl = byId('study-notice');
  private readonly step = byId('study-step');
  private waitingEls: {
    count: HTMLElement;
    time: HTMLElement;
    bar: HTMLProgressElement;
    barText: HTMLElement;
  } | null = null;

  /** Shows the study's screens (they cover the game), or hides them (the match is on). */
  setVisible(visible: boolean): void {
    this.root.hidden = !visible;
  }

  /** Shows `text` above the scene (the server's `notice`), or nothing when null. */
  setNotice(text: string | null): void {
    this.noticeEl.hidden = text === null;
    this.noticeEl.textContent = text ?? '';
  }

  /** The progress line: scene `index` (0-based) of `count`. */
  setStep(index: number, count: number): void {
    this.step.textContent = count > 0 ? `Part ${Math.min(index + 1, count)} of ${count}` : '';
  }

  /** Disables every button and field while a step is on its way (none can be sent twice). */
  setBusy(busy: boolean): void {
    for (const e of this.body.querySelectorAll<HTMLButtonElement | HTMLInputElement>(
      'button, input, textarea',
    )) {
      if (!e.classList.contains('keep-enabled')) e.disabled = busy;
    }
  }

  /** A heading and lines of text, nothing to press. */
  showMessage(title: string, ...lines: string[]): void {
    this.show([el('h1', title), ...lines.map((l) => el('p', l))]);
  }

  /**
   * An info scene: the server's HTML, then Continue, or (consent) "I consent" and "I do not
   * consent".
   */
  showInfo(scene: Scene<'info'>, on: { continue(): void; accept(): void; decline(): void }): void {
    const content = el('div', undefined, 'study-content');
    content.innerHTML = scene.html; // the researcher's file, rendered by the server
    const actions = el('div', undefined, 'study-actions');
    if (scene.consent) {
      actions.append(
        button('I consent', on.accept, 'primary'),
        button('I do not consent', on.decline),
      );
    } else actions.append(button('Continue', on.continue, 'primary'));
    this.show([content, actions]);
  }

  /** The waiting room: how many wait of how many a match needs, time left, a Leave button. */
  showWaiting(onLeave: () => void): void {
    const count = el('p', 'Connecting…', 'big');
    const time = el('p', '', 'small');
    const bar = el('progress');
    const barText = el('p', '', 'small');
    const loading = el('div', undefined, 'study-loading');
    loading.append(barText, bar);
    this.show([
      el('h1', 'Waiting for other participants'),
      count,
      time,
      loading,
      el('p', 'Please keep this tab open. The game starts as soon as everyone is here.', 'small'),
      button('Leave the study', onLeave),
    ]);
    this.waitingEls = { count, time, bar, barText };
  }

  /** Updates the waiting room (see {@link showWaiting}); `nowMs` on `performance.now()`. */
  updateWaiting(state: WaitingRoomState, nowMs: number): void {
    const w = this.waitingEls;
    if (!w) return;
    const loading = state.loading;
    w.bar.parentElement!.hidden = loading === null;
    if (loading) {
      w.bar.max = Math.max(1, loading.total);
      w.bar.value = Math.min(loading.done, loading.total);
      w.barText.textContent = `Preparing the game… (${loading.done} of ${loading.total})`;
      w.count.textContent = 'Preparing the game…';
      w.time.textContent = '';
      return;
    }
    w.count.textContent =
      state.players > 0
        ? `${state.waiting} of ${state.players} players here`
        : 'Joining the waiting room…';
    w.time.textContent =
      state.deadlineMs === null
        ? ''
        : `Time left to wait: ${formatTimeLeft(state.deadlineMs - nowMs)}`;
  }

  /** The match is over for this page; the server says what comes next. */
  showGameOver(): void {
    this.showMessage('This game is over.', 'One moment…');
  }

  /**
   * A survey: each question with its answers (likert 1–scale, the choice's options, a text
   * field), `draft` filled in, each of `errors` beside its question, and Submit.
   * @param onChange called with the answers whenever one changes (to keep a draft)
   * @param onSubmit called with the answers given (unanswered questions left out)
   */
  showSurvey(
    scene: Scene<'survey'>,
    draft: Readonly<Record<string, StudyAnswer>>,
    errors: readonly string[],
    on: {
      change(answers: Record<string, StudyAnswer>): void;
      submit(answers: Record<string, StudyAnswer>): void;
    },
  ): void {
    const { byQuestion, general } = errorsByQuestion(errors, scene.questions);
    const form = el('form', undefined, 'study-survey');
    form.noValidate = true; // the server checks; its messages are shown beside each question
    const read = (): Record<string, StudyAnswer> => {
      const out: Record<string, StudyAnswer> = {};
      const data = new FormData(form);
      for (const q of scene.questions) {
        const v = data.get(q.id);
        if (typeof v !== 'string' || v === '') continue;
        out[q.id] = q.type === 'likert' ? Number(v) : v;
      }
      return out;
    };
    for (const q of scene.questions) {
      const field = el('fieldset', undefined, 'study-question');
      field.dataset.question = q.id;
      const legend = el('legend', q.text);
      if (q.required) legend.append(el('span', ' *', 'required'));
      field.append(legend);
      const given = draft[q.id];
      if (q.type === 'likert' || q.type === 'choice') {
        const options =
          q.type === 'likert'
            ? Array.from({ length: q.scale }, (_, i) => String(i + 1))
            : [...q.options];
        const row = el('div', undefined, q.type === 'likert' ? 'likert' : 'choices');
        for (const o of options) {
          const label = el('label');
          const input = el('input');
          input.type = 'radio';
          input.name = q.id;
          input.value = o;
          input.checked = given !== undefined && String(given) === o;
          label.append(input, el('span', o));
          row.append(label);
        }
        if (q.type === 'likert') {
          const ends = el('div', undefined, 'likert-ends small');
          ends.append(el('span', 'disagree'), el('span', 'agree'));
          field.append(row, ends);
        } else field.append(row);
      } else {
        const area = el('textarea');
        area.name = q.id;
        area.maxLength = q.maxLength;
        area.rows = 3;
        area.value = typeof given === 'string' ? given : '';
        field.append(area);
      }
      for (const message of byQuestion.get(q.id) ?? []) {
        field.append(el('p', message, 'field-error'));
        field.classList.add('has-error');
      }
      form.append(field);
    }
    form.addEventListener('input', () => on.change(read()));
    form.addEventListener('change', () => on.change(read()));
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      on.submit(read());
    });
    const submit = el('button', 'Submit', 'primary');
    submit.type = 'submit';
    const top = general.map((g) => el('p', g, 'field-error'));
    this.show([...top, form]);
    form.append(submit);
    form.querySelector<HTMLElement>('.has-error input, .has-error textarea')?.focus();
  }

  /**
   * The end: the completion code large, a copy button, and, with a redirect, a visible
   * countdown and a link to go now. An empty code (a removal without a `removed` code) shows
   * no code.
   * @param secondsLeft seconds before the redirect, or null without one
   */
  showEnd(scene: Scene<'end'>, secondsLeft: number | null, onCopy: () => void): void {
    const title =
      scene.outcome === 'completed'
        ? 'Thank you for taking part!'
        : scene.outcome === 'declined'
          ? 'You chose not to take part.'
          : scene.outcome === 'removed'
            ? 'Your participation has ended.'
            : 'The study has ended.';
    const parts: HTMLElement[] = [el('h1', title)];
    if (scene.completionCode !== '') {
      const code = el('p', scene.completionCode, 'completion-code');
      code.id = 'completion-code';
      parts.push(
        el('p', 'Your completion code:'),
        code,
        button('Copy the code', onCopy, 'keep-enabled'),
      );
    }
    if (scene.redirect !== null) {
      const go = el('a', 'Go there now');
      go.href = scene.redirect;
      const line = el('p', '', 'small');
      line.id = 'redirect-countdown';
      line.textContent = secondsLeft === null ? '' : `You will be sent back in ${secondsLeft} s. `;
      line.append(go);
      parts.push(line);
    }
    this.show(parts);
  }

  /** Says the code was copied (or how to copy it). */
  setCopied(text: string): void {
    const prev = this.body.querySelector('.copied');
    prev?.remove();
    this.body.querySelector('#completion-code')?.after(el('p', text, 'small copied'));
  }

  private show(children: HTMLElement[]): void {
    this.waitingEls = null;
    this.body.replaceChildren(...children);
    this.root.hidden = false;
  }
}
