/** Helpers of the real-browser tests: this machine's Chromium, and polling a page. */
import { type Browser, chromium } from 'playwright-core';

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
