/** Helpers of the real-browser tests: this machine's Chromium, and polling a page. */
import { type Browser, chromium, type Page } from 'playwright-core';

/** Where Debian's `chromium` package puts the browser (`.ci/run` installs it when missing). */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/**
 * Launches this machine's headless Chromium (never a downloaded one) for the real-browser tests,
 * without the background traffic a fresh profile makes (component updates, sync, QUIC probes),
 * so that the tests send traffic only to 127.0.0.1.
 * @throws playwright's error when `/usr/bin/chromium` is missing or does not start
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
      '--disable-sync',
      '--disable-quic',
    ],
  });
}

/**
 * Polls `cond` every 50 ms until it holds.
 * @throws Error "timed out waiting for <what>" after `timeoutMs`
 */
export async function until(
  cond: () => Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Plays a duel page like a restless player for `ms` of real time: holds a random movement key
 * (WASD), moves the mouse, fires now and then, and pauses `pauseMs` (a uniform range, ms)
 * between moves. Seeded, so two runs press the same keys in the same order.
 */
export async function playDuel(
  page: Page,
  ms: number,
  seed: number,
  pauseMs: { readonly min: number; readonly max: number } = { min: 150, max: 400 },
): Promise<void> {
  const keys = ['w', 'a', 's', 'd'];
  let s = seed;
  const rnd = () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s / 2 ** 32;
  };
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const key = keys[Math.floor(rnd() * keys.length)];
    await page.keyboard.down(key);
    await page.mouse.move(100 + rnd() * 760, 80 + rnd() * 380);
    if (rnd() < 0.5) await page.keyboard.press('Space');
    await new Promise((r) => setTimeout(r, pauseMs.min + rnd() * (pauseMs.max - pauseMs.min)));
    await page.keyboard.up(key);
  }
}

/** The state hash a page's `window.concord` hook recorded for confirmed frame `frame`, or null. */
export const pageHashAt = (page: Page, frame: number): Promise<string | null> =>
  page.evaluate(
    (f) =>
      (window as unknown as { concord: { hashAt(f: number): string | null } }).concord.hashAt(f),
    frame,
  );
