/**
 * The example study in real Chromium: two participants' pages from consent to the completion
 * code through the real relay and study server on loopback (consent → duel → kitchen under
 * Pyodide → survey → end), then their data read back from the SQLite database.
 *
 * The study is the bundled file itself, `examples/coop-study/study.yaml`, with its two
 * input-delay conditions: participants are assigned in blocks of a match (two), so the two who
 * arrive one after the other share a condition and are matched.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildWebClient } from '../client/web/build.ts';
import type { StudyView } from '../protocol/index.ts';
import { databaseFile } from '../relay/experiment/index.ts';
import { type StudyRelay, startStudy } from '../relay/study/index.ts';
import { launchChromium, playDuel, until } from './support/chromium.ts';

const ROOT = path.join(import.meta.dirname, '..');
const EXAMPLE = path.join(ROOT, 'examples', 'coop-study');
const ARTIFACTS = path.join(import.meta.dirname, 'artifacts');
const PROLIFIC = { PROLIFIC_PID: '5f0c1a2b3c4d5e6f7a8b9c0d', STUDY_ID: 'st1', SESSION_ID: 'se1' };
/** Where the end scene sends participants back (answered here: no traffic leaves the machine). */
const PROLIFIC_ORIGIN = 'https://app.prolific.com';

let tmp: string;
let study: StudyRelay;
let browser: Browser;
/** What the pages said on their consoles (warnings and errors), for a failure's report. */
const consoleLines: string[] = [];
/** The relay's notable events (match starts and ends, the referee's notices). */
const relayEvents: { event: string; detail: Record<string, unknown> }[] = [];

type Win = {
  concordStudy: {
    state: string;
    view(): StudyView | null;
    surveyErrors(): readonly string[];
    preload(): { scene: string; ready: boolean } | null;
    pythonGames(): { scene: string; preloaded: boolean; waited: boolean }[];
  };
  concord: { phase: string; stats(): { rejoins: number } };
};
const view = (p: Page): Promise<StudyView | null> =>
  p.evaluate(() => (window as unknown as Win).concordStudy.view());
const sceneId = async (p: Page): Promise<string | null> => (await view(p))?.scene.id ?? null;
const phase = (p: Page): Promise<string> =>
  p.evaluate(() => (window as unknown as Win).concord.phase);

/** Waits until `page` shows scene `id` (the server's word: the page never moves itself). */
async function untilScene(page: Page, id: string, timeoutMs: number): Promise<void> {
  await until(async () => (await sceneId(page)) === id, timeoutMs, `scene "${id}"`);
}

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'concord-browser-study-'));
  const web = await buildWebClient(path.join(tmp, 'web'));
  // The bundled example as it is, conditions and all (the data go to the temp dir).
  study = await startStudy({
    experiment: path.join(EXAMPLE, 'study.yaml'),
    dataDir: path.join(tmp, 'data'),
    port: 0,
    host: '127.0.0.1',
    webRoot: web.outDir,
    webrtc: false,
    onEvent: (event, detail) => relayEvents.push({ event, detail }),
  });
  browser = await launchChromium();
  await mkdir(ARTIFACTS, { recursive: true });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await study?.close();
  await rm(tmp, { recursive: true, force: true });
});

/** A participant's own browser (its own localStorage) with the end scene's redirect answered. */
async function participant(query: string): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: 960, height: 640 } });
  await context.route(`${PROLIFIC_ORIGIN}/**`, (route) =>
    route.fulfill({ status: 200, contentType: 'text/html', body: '<p>returned</p>' }),
  );
  const page = await context.newPage();
  page.on('pageerror', (e) => consoleLines.push(`${query} page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') {
      consoleLines.push(`${query} ${m.type()}: ${m.text()}`);
    }
  });
  await page.goto(`${study.url}/?${query}&renderer=canvas`);
  return { context, page };
}

/** Presses the kitchen's keys now and then until `done` holds. */
async function playKitchenUntil(page: Page, done: () => Promise<boolean>): Promise<void> {
  const keys = ['ArrowUp', 'ArrowDown', 'ArrowLeft', 'ArrowRight', 'Space'];
  for (let i = 0; !(await done()); i++) {
    await page.keyboard.press(keys[i % keys.length]).catch(() => {});
    await new Promise((r) => setTimeout(r, 300));
  }
}

describe('the example study in two real browsers', () => {
  it('takes two participants from consent to the completion code, with their data in the database', async () => {
    const t0 = Date.now();
    const times: string[] = [];
    const mark = (what: string): void => {
      times.push(`${what} ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    };
    const a = await participant(new URLSearchParams(PROLIFIC).toString());
    const b = await participant('participant=B');
    try {
      for (const p of [a.page, b.page]) {
        await untilScene(p, 'consent', 30_000);
        await p.getByRole('button', { name: 'I consent' }).waitFor({ timeout: 10_000 });
      }
      mark('consent shown');
      expect(await a.page.locator('#study-body h1').first().textContent()).toContain('Consent');

      // A second tab of participant B: told so, and it does nothing.
      const second = await b.context.newPage();
      await second.goto(`${study.url}/?participant=B`);
      await until(
        () => second.evaluate(() => (window as unknown as Win).concordStudy.state === 'otherTab'),
        30_000,
        'the second tab to be refused',
      );
      await expect(second.locator('#study-body').textContent()).resolves.toContain(
        'open in another tab',
      );
      await second.close();
      mark('second tab refused');

      // The kitchen's Python environment starts loading while the participants read the consent.
      const preload = await a.page.evaluate(() =>
        (window as unknown as Win).concordStudy.preload(),
      );
      expect(preload?.scene).toMatch(/^kitchen/);

      await a.page.screenshot({ path: path.join(ARTIFACTS, 'study-consent.png') });
      await a.page.getByRole('button', { name: 'I consent' }).click();
      await untilScene(a.page, 'arena', 30_000);
      // A waits alone for a moment: the waiting room counts, with the time left.
      await until(
        async () =>
          /1 of 2 players here/.test((await a.page.locator('#study-body').textContent()) ?? ''),
        30_000,
        'the waiting room to count A',
      );
      await expect(a.page.locator('#study-body').textContent()).resolves.toMatch(
        /Time left to wait: [0-9]:[0-5][0-9]/,
      );
      await a.page.screenshot({ path: path.join(ARTIFACTS, 'study-waiting.png') });
      await b.page.getByRole('button', { name: 'I consent' }).click();
      await untilScene(b.page, 'arena', 30_000);
      // The waiting room, then the duel: two episodes of 600 frames at 60 fps.
      await until(
        async () => (await phase(a.page)) === 'playing' && (await phase(b.page)) === 'playing',
        60_000,
        'the duel to start on both pages',
      );
      mark('duel playing');
      await Promise.all([playDuel(a.page, 2000, 1), playDuel(b.page, 2000, 2)]);
      // A reload mid-match: the page asks the server again and rejoins its seat.
      await a.page.reload();
      await until(
        async () =>
          (await sceneId(a.page)) === 'arena' &&
          (await phase(a.page)) === 'playing' &&
          (await a.page.evaluate(() => (window as unknown as Win).concord.stats().rejoins)) === 1,
        30_000,
        'the reloaded page to rejoin its seat',
      );
      mark('duel rejoined');
      await Promise.all([playDuel(a.page, 2000, 3), playDuel(b.page, 2000, 4)]);
      for (const p of [a.page, b.page]) await untilScene(p, 'kitchen', 90_000);
      mark('kitchen scene');

      // The kitchen (Python in each page's Worker), 300 frames at 10 fps.
      await until(
        async () => (await phase(a.page)) === 'playing' && (await phase(b.page)) === 'playing',
        120_000,
        'the kitchen to start on both pages',
      );
      mark('kitchen playing');
      await a.page.screenshot({ path: path.join(ARTIFACTS, 'study-kitchen.png') });
      await Promise.all(
        [a.page, b.page].map((p) =>
          playKitchenUntil(p, async () => (await sceneId(p)) !== 'kitchen'),
        ),
      );
      for (const p of [a.page, b.page]) await untilScene(p, 'post', 60_000);
      mark('survey');
      // Each page's kitchen worker had been started ahead, during the consent and the duel.
      for (const p of [a.page, b.page]) {
        const games = await p.evaluate(() => (window as unknown as Win).concordStudy.pythonGames());
        expect(games).toEqual([
          {
            scene: expect.stringMatching(/^kitchen/),
            preloaded: true,
            waited: expect.any(Boolean),
          },
        ]);
        times.push(`waited for Python: ${games[0].waited}`);
      }

      // The survey: B submits without the required answer, sees the error beside the question,
      // and nothing it gave is lost; a reload keeps the draft too.
      await b.page.getByLabel('no').check();
      await b.page.getByRole('button', { name: 'Submit' }).click();
      const enjoy = b.page.locator('fieldset[data-question="enjoy"] .field-error');
      await enjoy.waitFor({ timeout: 15_000 });
      await expect(b.page.getByLabel('no').isChecked()).resolves.toBe(true);
      await b.page.screenshot({ path: path.join(ARTIFACTS, 'study-survey-error.png') });
      await b.page.reload();
      await untilScene(b.page, 'post', 30_000);
      await b.page.getByRole('button', { name: 'Submit' }).waitFor({ timeout: 10_000 });
      await expect(b.page.getByLabel('no').isChecked()).resolves.toBe(true);
      await b.page.locator('fieldset[data-question="enjoy"] input[value="6"]').check();
      await b.page.locator('fieldset[data-question="notes"] textarea').fill('fun');
      await b.page.getByRole('button', { name: 'Submit' }).click();
      await a.page.locator('fieldset[data-question="enjoy"] input[value="3"]').check();
      await a.page.getByLabel('unsure').check();
      await a.page.getByRole('button', { name: 'Submit' }).click();

      // The end: the code, large, then back to Prolific with it after a visible countdown.
      for (const p of [a.page, b.page]) {
        await untilScene(p, 'done', 30_000);
        await expect(p.locator('#completion-code').textContent()).resolves.toBe('C0MPL3T');
        await expect(p.locator('#redirect-countdown').textContent()).resolves.toMatch(
          /sent back in \d s/,
        );
      }
      await a.page.screenshot({ path: path.join(ARTIFACTS, 'study-end.png') });
      mark('end');
      for (const p of [a.page, b.page]) {
        await p.waitForURL(`${PROLIFIC_ORIGIN}/submissions/complete?cc=C0MPL3T`, {
          timeout: 30_000,
        });
      }

      // The relay's referee re-simulated every agreed check of both matches from the inputs and
      // found the pages' hashes: the pages' states (the duel's two episodes, the kitchen) follow
      // from the inputs.
      expect(relayEvents.filter((e) => e.event === 'match-start')).toHaveLength(2);
      expect(relayEvents.filter((e) => e.event.startsWith('referee-'))).toEqual([]);

      // Everything is in the database (opened read-only beside the running study).
      const db = new Database(databaseFile(path.join(tmp, 'data'), 'coop-study'), {
        readonly: true,
        fileMustExist: true,
      });
      try {
        const people = db
          .prepare(
            'SELECT id, id_source, prolific_pid, study_id, session_id, condition_key, scene_id, outcome, completion_code FROM participants ORDER BY arrival',
          )
          .all();
        expect(people).toEqual([
          {
            id: PROLIFIC.PROLIFIC_PID,
            id_source: 'prolific',
            prolific_pid: PROLIFIC.PROLIFIC_PID,
            study_id: 'st1',
            session_id: 'se1',
            condition_key: 'delay=0',
            scene_id: 'done',
            outcome: 'completed',
            completion_code: 'C0MPL3T',
          },
          {
            id: 'B',
            id_source: 'participant',
            prolific_pid: null,
            study_id: null,
            session_id: null,
            condition_key: 'delay=0',
            scene_id: 'done',
            outcome: 'completed',
            completion_code: 'C0MPL3T',
          },
        ]);
        const answers = db
          .prepare(
            'SELECT participant_id, question_id, value FROM survey_answers ORDER BY participant_id, question_id',
          )
          .all();
        expect(answers).toEqual([
          { participant_id: PROLIFIC.PROLIFIC_PID, question_id: 'enjoy', value: 3 },
          { participant_id: PROLIFIC.PROLIFIC_PID, question_id: 'partner', value: 'unsure' },
          { participant_id: 'B', question_id: 'enjoy', value: 6 },
          { participant_id: 'B', question_id: 'notes', value: 'fun' },
          { participant_id: 'B', question_id: 'partner', value: 'no' },
        ]);
        const seats = db
          .prepare('SELECT participant_id, scene_id, match_id, slot FROM match_seats')
          .all() as { participant_id: string; scene_id: string; match_id: string }[];
        for (const scene of ['arena', 'kitchen']) {
          const inScene = seats.filter((s) => s.scene_id === scene);
          expect(inScene.map((s) => s.participant_id).sort()).toEqual(
            [PROLIFIC.PROLIFIC_PID, 'B'].sort(),
          );
          expect(new Set(inScene.map((s) => s.match_id)).size).toBe(1); // one match, together
        }
        const visits = db
          .prepare('SELECT COUNT(*) AS n FROM scene_visits WHERE left_ms IS NOT NULL')
          .get() as { n: number };
        expect(visits.n).toBe(2 * 4); // consent, arena, kitchen and post, left by both
      } finally {
        db.close();
      }
      console.log(`browser study: ${times.join(', ')}`);
    } catch (err) {
      console.log(`browser study: ${times.join(', ')}`);
      for (const p of [a.page, b.page]) {
        const state = await p
          .evaluate(() => ({
            status: document.getElementById('status')?.textContent,
            result: (window as unknown as { concord: { result(): unknown } }).concord.result(),
          }))
          .catch(() => null);
        console.log(`page state: ${JSON.stringify(state)}`);
      }
      console.log(consoleLines.join('\n'));
      await a.page.screenshot({ path: path.join(ARTIFACTS, 'study-a-failed.png') }).catch(() => {});
      await b.page.screenshot({ path: path.join(ARTIFACTS, 'study-b-failed.png') }).catch(() => {});
      throw err;
    } finally {
      await a.context.close();
      await b.context.close();
    }
  }, 300_000);
});
