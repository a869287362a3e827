/**
 * The replay viewer page (`/replay/<match id>`, behind the admin token): it fetches the match's
 * {@link ReplayData} from `/admin/api/logs/<match id>`, re-simulates the match in a Worker
 * (`replay-worker.ts`) and draws it with the game's own view (duel's Phaser view; the primitives
 * view for Python environments and sim modules). Controls: play and pause (Space), step one frame
 * (→, and ← back), speed 0.25–8×, seek to any frame (the slider, the frame box, or a mark of the
 * timeline). It shows the frame's inputs per player and, at check frames, the recorded hashes
 * beside the recomputed one. `window.concordReplay` lets tests and scripts read it.
 */
import {
  ADMIN_PATHS,
  type ReplayCheck,
  type ReplayData,
  type ReplayEvent,
} from '../../protocol/index.ts';
import {
  type ActionMap,
  type ActionMapRecord,
  actionMapFromRecord,
  type DrawPrimitive,
  DUEL_BUTTONS,
  type DuelView,
  decodeInput,
  duelView,
  type Input,
  NEUTRAL_INPUT,
} from '../../sim/index.ts';
import { createDuelGame } from './duel-view.ts';
import { createPrimitivesGame } from './primitives-view.ts';
import type { ReplayPageToWorker, ReplayViewKind, ReplayWorkerToPage } from './replay-worker.ts';

/** Where the build puts the worker's bundle. */
const REPLAY_WORKER_URL = '/replay-worker.js';
/** The speeds offered, × real time. */
export const REPLAY_SPEEDS: readonly number[] = [0.25, 0.5, 1, 2, 4, 8];

/** What `window.concordReplay` offers. */
export interface ReplayHook {
  /** `loading`, `ready` or `error`. */
  readonly phase: string;
  /** The frame on screen. */
  frame(): number;
  /** The recomputed hash of a check frame once the viewer has been there, else null. */
  computedHash(frame: number): string | null;
  /** The recorded hashes of a check frame (empty for other frames). */
  recorded(frame: number): readonly ReplayCheck[];
  /** Seeks to a frame (as the frame box does). */
  seek(frame: number): void;
  /** The match as the relay sent it, or null while loading. */
  data(): ReplayData | null;
}

declare global {
  interface Window {
    concordReplay?: ReplayHook;
  }
}

const el = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const e = document.getElementById(id);
  if (!e) throw new Error(`the replay page has no #${id}`);
  return e as T;
};

function text(parent: HTMLElement, tag: string, content: string, cls?: string): HTMLElement {
  const e = document.createElement(tag);
  e.textContent = content;
  if (cls) e.className = cls;
  parent.append(e);
  return e;
}

/** An input in words: the action's name when the scene names one, else its buttons and axes. */
export function describeInput(input: Input, sim: string, actions: ActionMap | null): string {
  const action = actions?.actionOf(input);
  const axes = input.x !== 0 || input.y !== 0 ? ` aim (${input.x}, ${input.y})` : '';
  if (action !== undefined && action !== null) return `${String(action)}${axes}`;
  if (sim === 'duel') {
    const held = Object.entries(DUEL_BUTTONS)
      .filter(([, bit]) => (input.buttons & bit) !== 0)
      .map(([name]) => name);
    return `${held.length > 0 ? held.join('+') : '–'}${axes}`;
  }
  return `buttons ${input.buttons.toString(2).padStart(8, '0')}${axes}`;
}

/** The viewer; see the module comment. */
class ReplayViewer {
  private readonly worker = new Worker(REPLAY_WORKER_URL, { type: 'module' });
  private data: ReplayData | null = null;
  private actions: ActionMap | null = null;
  private view: ReplayViewKind = 'none';
  private lastFrame = 0;
  phase: 'loading' | 'ready' | 'error' = 'loading';
  /** The frame on screen, and the one asked of the worker (null: none in flight). */
  private shown = -1;
  private inFlight: number | null = null;
  /** The frame the viewer wants on screen (fractional while playing). */
  private target = 0;
  private playing = false;
  private speed = 1;
  private lastTickMs: number | null = null;
  private readonly computed = new Map<number, string>();
  private readonly checksByFrame = new Map<number, readonly ReplayCheck[]>();
  private duelCur: DuelView | null = null;
  private primitives: readonly DrawPrimitive[] | null = null;

  constructor(private readonly matchId: string) {
    this.worker.onmessage = (e: MessageEvent<ReplayWorkerToPage>) => this.onWorker(e.data);
    this.worker.onerror = (e) => this.fail(`The replay worker failed: ${e.message}`);
    this.bindControls();
    const frame = (t: number): void => {
      this.tick(t);
      requestAnimationFrame(frame);
    };
    requestAnimationFrame(frame);
  }

  hook(): ReplayHook {
    const self = this;
    return {
      get phase() {
        return self.phase;
      },
      frame: () => this.shown,
      computedHash: (f) => this.computed.get(f) ?? null,
      recorded: (f) => this.checksByFrame.get(f) ?? [],
      seek: (f) => this.seek(f),
      data: () => this.data,
    };
  }

  /** Fetches the match and starts the worker. */
  async start(): Promise<void> {
    el('status').textContent = `Loading match ${this.matchId}…`;
    const res = await fetch(`${ADMIN_PATHS.logs}${encodeURIComponent(this.matchId)}`, {
      credentials: 'same-origin',
    });
    if (res.status === 401) {
      location.href = `${ADMIN_PATHS.login}?next=${encodeURIComponent(location.pathname)}`;
      return;
    }
    const body = (await res.json()) as ReplayData | { error: string };
    if (!res.ok || 'error' in body) {
      this.fail('error' in body ? body.error : `the relay answered ${res.status}`);
      return;
    }
    this.data = body;
    this.actions = body.actions
      ? actionMapFromRecord(body.actions as unknown as ActionMapRecord)
      : null;
    for (const c of body.checks) this.checksByFrame.set(c.frame, c.recorded);
    this.lastFrame = body.finalFrame;
    this.showHeader(body);
    this.drawTimeline(body);
    this.post({ type: 'init', data: body, origin: location.origin });
  }

  private post(m: ReplayPageToWorker): void {
    this.worker.postMessage(m);
  }

  private onWorker(m: ReplayWorkerToPage): void {
    switch (m.type) {
      case 'status':
        el('status').textContent = m.text;
        return;
      case 'error':
        this.fail(m.message);
        return;
      case 'ready':
        this.view = m.view;
        this.lastFrame = m.lastFrame;
        el<HTMLInputElement>('seek').max = String(m.lastFrame);
        this.createView();
        this.phase = 'ready';
        el('status').textContent = '';
        this.request(0);
        return;
      case 'frame': {
        this.inFlight = null;
        this.shown = m.frame;
        this.lastFrame = m.lastFrame;
        for (const h of m.hashes) this.computed.set(h.frame, h.hash);
        if (m.snap) this.duelCur = duelView(m.snap);
        if (m.primitives !== undefined) this.primitives = m.primitives;
        if (m.fault) el('status').textContent = `The sim threw at frame ${m.lastFrame}: ${m.fault}`;
        this.showFrame();
        return;
      }
    }
  }

  private fail(message: string): void {
    this.phase = 'error';
    this.playing = false;
    const s = el('status');
    s.textContent = message;
    s.classList.add('error');
  }

  private createView(): void {
    const parent = el('game');
    const data = this.data!;
    if (this.view === 'duel') {
      createDuelGame(parent, () =>
        this.duelCur
          ? {
              prev: this.duelCur,
              cur: this.duelCur,
              alpha: 1,
              localSlot: -1,
              tickRate: data.scene.tickRate,
              frameLimit: data.scene.frames,
            }
          : null,
      );
    } else if (this.view === 'primitives') {
      createPrimitivesGame(parent, () => this.primitives, 'auto');
    } else {
      text(parent, 'p', `The sim ${data.sim.id} has no view: the numbers below are the replay.`);
    }
  }

  /** Asks the worker for `frame` unless a request is in flight (the newest target wins later). */
  private request(frame: number): void {
    if (this.phase !== 'ready' || this.inFlight !== null || frame === this.shown) return;
    this.inFlight = frame;
    this.post({ type: 'goto', frame });
  }

  seek(frame: number): void {
    if (!Number.isFinite(frame)) return;
    this.target = Math.max(0, Math.min(Math.trunc(frame), this.lastFrame));
    this.setPlaying(false);
    this.request(this.target);
  }

  private setPlaying(on: boolean): void {
    this.playing = on && this.shown < this.lastFrame;
    this.lastTickMs = null;
    el('play').textContent = this.playing ? '❚❚ Pause' : '▶ Play';
  }

  /** Once per display frame: advance the target while playing, and ask for it. */
  private tick(nowMs: number): void {
    if (this.phase !== 'ready') return;
    if (this.playing && this.data) {
      if (this.lastTickMs !== null) {
        // At most a tenth of a second per display frame: a hidden tab does not jump ahead.
        const dt = Math.min(100, nowMs - this.lastTickMs);
        this.target = Math.min(
          this.lastFrame,
          this.target + (dt / 1000) * this.data.scene.tickRate * this.speed,
        );
      }
      this.lastTickMs = nowMs;
      if (this.target >= this.lastFrame && this.shown >= this.lastFrame) this.setPlaying(false);
    }
    const want = Math.floor(this.target);
    if (want !== this.shown) this.request(want);
  }

  private bindControls(): void {
    el('play').addEventListener('click', () => {
      if (this.playing)
        this.target = this.shown; // pause on the frame on screen
      else if (this.shown >= this.lastFrame)
        this.target = 0; // play again from the start
      else this.target = this.shown;
      this.setPlaying(!this.playing);
    });
    el('step').addEventListener('click', () => this.seek(this.shown + 1));
    el('back').addEventListener('click', () => this.seek(this.shown - 1));
    const speed = el<HTMLSelectElement>('speed');
    for (const s of REPLAY_SPEEDS) {
      const o = document.createElement('option');
      o.value = String(s);
      o.textContent = `${s}×`;
      if (s === 1) o.selected = true;
      speed.append(o);
    }
    speed.addEventListener('change', () => {
      this.speed = Number(speed.value);
    });
    const slider = el<HTMLInputElement>('seek');
    slider.addEventListener('input', () => this.seek(Number(slider.value)));
    el<HTMLFormElement>('goto').addEventListener('submit', (e) => {
      e.preventDefault();
      this.seek(Number(el<HTMLInputElement>('frame-input').value));
    });
    window.addEventListener('keydown', (e) => {
      if ((e.target as HTMLElement).tagName === 'INPUT') return;
      if (e.code === 'Space') {
        e.preventDefault();
        el('play').click();
      } else if (e.code === 'ArrowRight') this.seek(this.shown + 1);
      else if (e.code === 'ArrowLeft') this.seek(this.shown - 1);
    });
  }

  private showHeader(d: ReplayData): void {
    document.title = `Concord · replay ${d.matchId}`;
    el('title').textContent = `Replay of match ${d.matchId}`;
    const info = el('info');
    const players = d.players
      .map((p) => `slot ${p.slot}: ${p.participantId ?? 'anonymous'}`)
      .join(', ');
    info.textContent =
      `scene ${d.scene.name} · sim ${d.sim.id} (${d.sim.kind}, code ${d.sim.codeHash}) · ` +
      `${d.scene.players} players · ${d.scene.tickRate} fps · ${d.scene.mode} · seed ${d.seed} · ` +
      `started ${d.startTime} · ${players} · ` +
      (d.endReason ? `ended: ${d.endReason}` : 'no end record (still running, or cut)');
    if (d.damaged) text(info, 'div', `The log is damaged: ${d.damaged}`, 'error');
    if (d.truncated)
      text(info, 'div', 'The log’s last line is cut off (the relay stopped mid-write).');
  }

  /** The timeline: a mark per event, placed by frame; a click seeks to it. */
  private drawTimeline(d: ReplayData): void {
    const line = el('timeline');
    line.replaceChildren();
    const span = Math.max(1, d.finalFrame);
    const legend = new Map<string, number>();
    for (const e of d.events) {
      const mark = document.createElement('button');
      mark.type = 'button';
      mark.className = `mark mark-${e.kind}`;
      mark.style.left = `${(Math.min(e.frame, span) / span) * 100}%`;
      mark.title = `frame ${e.frame}: ${e.text}`;
      mark.dataset.frame = String(e.frame);
      mark.dataset.kind = e.kind;
      mark.addEventListener('click', () => this.seek(e.frame));
      line.append(mark);
      legend.set(e.kind, (legend.get(e.kind) ?? 0) + 1);
    }
    const l = el('legend');
    l.replaceChildren();
    for (const [kind, n] of legend) text(l, 'span', `${kind} ${n}`, `legend legend-${kind}`);
  }

  private showFrame(): void {
    const d = this.data;
    if (!d) return;
    const f = this.shown;
    el('frame').textContent = `frame ${f} of ${this.lastFrame}`;
    const slider = el<HTMLInputElement>('seek');
    if (document.activeElement !== slider) slider.value = String(f);
    el('cursor').style.left = `${(f / Math.max(1, d.finalFrame)) * 100}%`;
    this.showInputs(d, f);
    this.showHashes(f);
    this.showEvents(d, f);
    if (this.playing && f >= this.lastFrame) this.setPlaying(false);
  }

  private showInputs(d: ReplayData, f: number): void {
    const body = el('inputs');
    body.replaceChildren();
    for (let s = 0; s < d.scene.players; s++) {
      const row = document.createElement('tr');
      const hex = this.inputHex(d, f, s);
      const input = hex === null ? NEUTRAL_INPUT : decodeInput(hexBytes(hex));
      text(row, 'td', String(s));
      text(row, 'td', d.players[s]?.participantId ?? '–');
      text(row, 'td', hex === null ? 'default' : describeInput(input, d.sim.id, this.actions));
      text(row, 'td', hex ?? '');
      body.append(row);
    }
  }

  /** Slot `s`'s logged input for frame `f` as hex, or null when it plays its default there. */
  private inputHex(d: ReplayData, f: number, s: number): string | null {
    const last = d.lastFrame[s];
    if (f < d.scene.inputDelay || (last !== null && f > last)) return null;
    return d.inputs[s][f - d.scene.inputDelay] ?? null;
  }

  private showHashes(f: number): void {
    const recorded = this.checksByFrame.get(f) ?? [];
    const computed = this.computed.get(f) ?? null;
    const panel = el('hashes');
    panel.hidden = recorded.length === 0;
    el('hash-frame').textContent = String(f);
    el('hash-computed').textContent = computed ?? '(computing)';
    // The first report of a peer: the hash every recorded one is compared with below.
    el('hash-recorded').textContent = recorded[0]?.hash ?? '';
    const verdict = el('hash-verdict');
    const differing = [...new Set(recorded.filter((r) => r.hash !== computed).map((r) => r.slot))];
    // A desync the relay found and repaired here: the damaged peers' reports differ, as they did
    // in the match, and the replay follows the repaired line of play (as `concord replay` does).
    const repaired = this.data?.events.some(
      (e) => e.kind === 'desync' && e.frame === f && differing.every((s) => e.slots.includes(s)),
    );
    verdict.textContent =
      computed === null
        ? ''
        : differing.length === 0
          ? 'equal: the replay reproduces the match'
          : repaired
            ? `slot ${differing.join(', ')} differed here: the desync the relay found and repaired; the others are equal`
            : `DIFFERENT from slot ${differing.join(', ')}: the replay does not reproduce the match`;
    verdict.className =
      computed === null ? '' : differing.length === 0 || repaired ? 'ok' : 'error';
    const list = el('hash-list');
    list.replaceChildren();
    for (const r of recorded) {
      const row = document.createElement('tr');
      text(row, 'td', r.slot < 0 ? 'referee' : `slot ${r.slot}`);
      text(row, 'td', r.source);
      text(row, 'td', r.hash, r.hash === computed ? 'ok' : 'error');
      list.append(row);
    }
  }

  private showEvents(d: ReplayData, f: number): void {
    const here: ReplayEvent[] = d.events.filter((e) => e.frame === f && e.kind !== 'check');
    el('events').textContent = here.map((e) => e.text).join(' · ');
  }
}

function hexBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

const matchId = decodeURIComponent(location.pathname.slice(ADMIN_PATHS.replay.length));
const viewer = new ReplayViewer(matchId);
window.concordReplay = viewer.hook();
viewer.start().catch((err: unknown) => {
  viewer.phase = 'error';
  el('status').textContent =
    `Cannot load the match: ${err instanceof Error ? err.message : String(err)}`;
});
