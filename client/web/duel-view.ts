import Phaser from 'phaser';
import { DUEL_ARENA, DUEL_RULES, type DuelPlayerView } from '../../sim/duel/index.ts';
import type { DuelView, Frame } from '../../sim/index.ts';
import { type ClientToWorld, DUEL_BINDINGS_TEXT } from './input.ts';

/** What the view draws: the states before and after the last tick, and how far between them. */
export interface DuelDrawState {
  /** S(f-1) as drawn before the last tick (after a rollback: what was on screen). */
  readonly prev: DuelView;
  /** S(f), the newest state (predicted past the confirmed frame). */
  readonly cur: DuelView;
  /** 0..1: the fraction of the next tick already elapsed, for interpolation. */
  readonly alpha: number;
  readonly localSlot: number;
  /** Frames per second of the sim. */
  readonly tickRate: number;
  /** The scene's frame limit, 0 when unlimited. */
  readonly frameLimit: Frame;
  /**
   * Drawn offset of the local player, world units (authoritative mode: a correction from the host
   * being smoothed away); absent: none.
   */
  readonly localOffset?: { readonly x: number; readonly y: number };
}

/** Height of the score bar above the arena, in canvas pixels. */
const HUD_TOP = 32;
/** Height of the key-bindings bar below the arena, in canvas pixels. */
const HUD_BOTTOM = 24;
/** Size of the game canvas in its own pixels: the arena at one pixel per world unit plus the bars. */
export const VIEW_WIDTH = DUEL_ARENA.width;
/** See {@link VIEW_WIDTH}. */
export const VIEW_HEIGHT = DUEL_ARENA.height + HUD_TOP + HUD_BOTTOM;

/** Colour of each slot (slot 0 blue, 1 orange, 2 green, 3 pink). */
export const SLOT_COLOURS: readonly number[] = [0x4fc3f7, 0xff8a65, 0x9ccc65, 0xf06292];
const css = (c: number): string => `#${c.toString(16).padStart(6, '0')}`;

/** Movement per frame beyond which a player is drawn where it is, not interpolated (a respawn). */
const TELEPORT = 3 * DUEL_RULES.playerSpeed + 1;

/** Which renderer to ask Phaser for: WebGL when available with a canvas fallback, or one of them. */
export type RendererChoice = 'auto' | 'webgl' | 'canvas';

/**
 * The duel drawn with Phaser 4 Graphics and Text (no image assets, so nothing is downloaded):
 * walls, players (circle in the slot's colour, aim line, health bar; faded with a respawn
 * countdown while dead; blinking while invulnerable; a gold ring with rapid fire), projectiles,
 * pickups (health: a red cross, rapid fire: a gold bolt), the scores, and the key bindings. Each
 * display frame it pulls the last two states from `source` and draws between them by the
 * fixed timestep's fraction, so the picture moves at display rate whatever the tick rate.
 */
export class DuelScene extends Phaser.Scene {
  private dynamic!: Phaser.GameObjects.Graphics;
  private scores: Phaser.GameObjects.Text[] = [];
  private clock!: Phaser.GameObjects.Text;
  private labels: Phaser.GameObjects.Text[] = [];

  /** @param source the state to draw now, or null before the first tick */
  constructor(private readonly source: () => DuelDrawState | null) {
    super({ key: 'duel' });
  }

  /** Phaser's hook: builds the static arena and the text objects. */
  create(): void {
    this.cameras.main.setScroll(0, -HUD_TOP);
    this.drawArena(this.add.graphics());
    this.dynamic = this.add.graphics();
    const font = { fontFamily: 'system-ui, sans-serif', resolution: 2 };
    for (let slot = 0; slot < 4; slot++) {
      this.scores.push(
        this.add
          .text(16 + slot * 170, 7 - HUD_TOP, '', {
            ...font,
            fontSize: '16px',
            color: css(SLOT_COLOURS[slot]),
          })
          .setVisible(false),
      );
      this.labels.push(
        this.add
          .text(0, 0, '', { ...font, fontSize: '12px', color: '#ffffff' })
          .setOrigin(0.5, 1)
          .setVisible(false),
      );
    }
    this.clock = this.add
      .text(VIEW_WIDTH - 16, 8 - HUD_TOP, '', { ...font, fontSize: '15px', color: '#c8ccd8' })
      .setOrigin(1, 0);
    this.add
      .text(VIEW_WIDTH / 2, DUEL_ARENA.height + HUD_BOTTOM / 2, DUEL_BINDINGS_TEXT, {
        ...font,
        fontSize: '13px',
        color: '#8a90a2',
      })
      .setOrigin(0.5, 0.5);
  }

  /** Phaser's hook, once per display frame: redraws everything that moves. */
  override update(): void {
    const g = this.dynamic;
    g.clear();
    const st = this.source();
    if (!st) return;
    for (const k of st.cur.pickups) this.drawPickup(g, k.x, k.y, k.kind, st.cur.frame);
    for (const pr of st.cur.projectiles) {
      // Where it was one tick ago is where it is minus one step of its velocity.
      const x = pr.x - pr.vx * (1 - st.alpha);
      const y = pr.y - pr.vy * (1 - st.alpha);
      const colour = SLOT_COLOURS[pr.owner] ?? 0xffffff;
      g.lineStyle(2, colour, 0.5);
      g.lineBetween(x - pr.vx * 2.5, y - pr.vy * 2.5, x, y);
      g.fillStyle(colour, 0.45);
      g.fillCircle(x, y, DUEL_RULES.projectileRadius + 3);
      g.fillStyle(0xffffff, 1);
      g.fillCircle(x, y, DUEL_RULES.projectileRadius + 0.5);
    }
    for (const p of st.cur.players) {
      this.drawPlayer(g, st.prev.players[p.slot], p, st);
    }
    this.drawHud(st);
  }

  private drawArena(g: Phaser.GameObjects.Graphics): void {
    g.fillStyle(0x1b1e27, 1);
    g.fillRect(0, 0, DUEL_ARENA.width, DUEL_ARENA.height);
    g.lineStyle(1, 0x262a36, 1);
    for (let x = 60; x < DUEL_ARENA.width; x += 60) g.lineBetween(x, 0, x, DUEL_ARENA.height);
    for (let y = 60; y < DUEL_ARENA.height; y += 60) g.lineBetween(0, y, DUEL_ARENA.width, y);
    for (const s of DUEL_ARENA.spawns) {
      g.lineStyle(1, 0x343a4a, 1);
      g.strokeCircle(s.x, s.y, DUEL_RULES.playerRadius + 6);
    }
    for (const w of DUEL_ARENA.walls) {
      g.fillStyle(0x3b4356, 1);
      g.fillRect(w.x, w.y, w.w, w.h);
      g.fillStyle(0x4e5870, 1);
      g.fillRect(w.x, w.y, w.w, Math.min(4, w.h));
    }
  }

  private drawPickup(
    g: Phaser.GameObjects.Graphics,
    x: number,
    y: number,
    kind: 'health' | 'rapid-fire',
    frame: number,
  ): void {
    const r = DUEL_RULES.pickupRadius + ((frame >> 3) % 2);
    if (kind === 'health') {
      g.fillStyle(0xf5f5f5, 1);
      g.fillCircle(x, y, r);
      g.fillStyle(0xe53935, 1);
      g.fillRect(x - 2, y - 6, 4, 12);
      g.fillRect(x - 6, y - 2, 12, 4);
    } else {
      g.fillStyle(0xffd54f, 1);
      g.fillCircle(x, y, r);
      g.fillStyle(0x5d4037, 1);
      g.fillTriangle(x + 1, y - 7, x - 4, y + 1, x + 1, y + 1);
      g.fillTriangle(x - 1, y + 7, x + 4, y - 1, x - 1, y - 1);
    }
  }

  private drawPlayer(
    g: Phaser.GameObjects.Graphics,
    before: DuelPlayerView | undefined,
    p: DuelPlayerView,
    st: DuelDrawState,
  ): void {
    const colour = SLOT_COLOURS[p.slot] ?? 0xffffff;
    const smooth =
      before !== undefined &&
      before.alive === p.alive &&
      Math.abs(p.x - before.x) <= TELEPORT &&
      Math.abs(p.y - before.y) <= TELEPORT;
    const off = p.slot === st.localSlot ? st.localOffset : undefined;
    const x = (smooth ? before.x + (p.x - before.x) * st.alpha : p.x) + (off?.x ?? 0);
    const y = (smooth ? before.y + (p.y - before.y) * st.alpha : p.y) + (off?.y ?? 0);
    const r = DUEL_RULES.playerRadius;
    const label = this.labels[p.slot];
    if (!p.alive) {
      g.fillStyle(colour, 0.18);
      g.fillCircle(x, y, r);
      g.lineStyle(2, colour, 0.35);
      g.strokeCircle(x, y, r);
      label
        .setText(`respawn in ${(Math.ceil((p.respawnIn / st.tickRate) * 10) / 10).toFixed(1)} s`)
        .setPosition(x, y - r - 4)
        .setAlpha(0.8)
        .setVisible(true);
      return;
    }
    const blink = p.invulnerableFor > 0 && (st.cur.frame >> 2) % 2 === 0;
    const alpha = blink ? 0.35 : 1;
    if (p.rapidFireFor > 0) {
      g.lineStyle(3, 0xffd54f, 0.8 * alpha);
      g.strokeCircle(x, y, r + 5);
    }
    g.fillStyle(colour, alpha);
    g.fillCircle(x, y, r);
    const local = p.slot === st.localSlot;
    g.lineStyle(local ? 3 : 2, local ? 0xffffff : 0x0d0f14, alpha);
    g.strokeCircle(x, y, r);
    g.lineStyle(4, 0xffffff, alpha);
    g.lineBetween(
      x + p.aimX * (r - 4),
      y + p.aimY * (r - 4),
      x + p.aimX * (r + 12),
      y + p.aimY * (r + 12),
    );
    const health = p.health / DUEL_RULES.maxHealth;
    g.fillStyle(0x000000, 0.6);
    g.fillRect(x - 17, y - r - 10, 34, 6);
    g.fillStyle(health > 0.5 ? 0x66bb6a : health > 0.25 ? 0xffca28 : 0xef5350, 1);
    g.fillRect(x - 16, y - r - 9, 32 * health, 4);
    label
      .setText(local ? 'you' : `P${p.slot + 1}`)
      .setPosition(x, y - r - 12)
      .setAlpha(0.9)
      .setVisible(true);
  }

  private drawHud(st: DuelDrawState): void {
    const players = st.cur.players;
    let x = 16;
    for (let slot = 0; slot < this.scores.length; slot++) {
      const p = players[slot];
      const text = this.scores[slot];
      if (!p) {
        text.setVisible(false);
        this.labels[slot].setVisible(false);
        continue;
      }
      const you = slot === st.localSlot ? ' (you)' : '';
      text
        .setText(`P${slot + 1}${you}: ${p.score} kills, ${p.deaths} deaths`)
        .setX(x)
        .setVisible(true);
      x += text.width + 28;
    }
    const f = st.cur.frame;
    if (st.frameLimit > 0) {
      const left = Math.max(0, st.frameLimit - f) / st.tickRate;
      this.clock.setText(
        `${Math.floor(left / 60)}:${String(Math.floor(left % 60)).padStart(2, '0')} left`,
      );
    } else {
      const t = f / st.tickRate;
      this.clock.setText(`${Math.floor(t / 60)}:${String(Math.floor(t % 60)).padStart(2, '0')}`);
    }
  }
}

/** A running Phaser game showing one {@link DuelScene}. */
export interface DuelGame {
  readonly game: Phaser.Game;
  /** Maps a pointer position (CSS pixels of the viewport) to world units, null off the canvas. */
  readonly clientToWorld: ClientToWorld;
  /** The renderer Phaser chose (WebGL unless unavailable or `canvas` was asked for). */
  renderer(): 'webgl' | 'canvas' | null;
}

/**
 * Creates the Phaser game in `parent`, scaled to fit it (letterboxed, centred), drawing what
 * `source` returns. Phaser's own input is off: the page reads the DOM (see `input.ts`).
 */
export function createDuelGame(
  parent: HTMLElement,
  source: () => DuelDrawState | null,
  choice: RendererChoice = 'auto',
): DuelGame {
  const type =
    choice === 'canvas' ? Phaser.CANVAS : choice === 'webgl' ? Phaser.WEBGL : Phaser.AUTO;
  const game = new Phaser.Game({
    type,
    parent,
    backgroundColor: '#101218',
    banner: false,
    audio: { noAudio: true },
    input: { keyboard: false, mouse: false, touch: false, gamepad: false },
    scale: {
      mode: Phaser.Scale.FIT,
      autoCenter: Phaser.Scale.CENTER_BOTH,
      width: VIEW_WIDTH,
      height: VIEW_HEIGHT,
    },
    scene: [new DuelScene(source)],
  });
  return {
    game,
    clientToWorld: (clientX, clientY) => {
      const canvas = game.canvas;
      if (!canvas) return null;
      const rect = canvas.getBoundingClientRect();
      if (rect.width === 0 || rect.height === 0) return null;
      const px = ((clientX - rect.left) / rect.width) * VIEW_WIDTH;
      const py = ((clientY - rect.top) / rect.height) * VIEW_HEIGHT;
      if (px < 0 || py < 0 || px > VIEW_WIDTH || py > VIEW_HEIGHT) return null;
      return { x: px, y: py - HUD_TOP };
    },
    renderer: () => {
      if (!game.renderer) return null;
      return game.renderer.type === Phaser.WEBGL ? 'webgl' : 'canvas';
    },
  };
}
