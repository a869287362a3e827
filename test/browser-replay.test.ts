import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildWebClient } from '../client/web/build.ts';
import type { ReplayData } from '../protocol/index.ts';
import { runBots } from '../relay/bots.ts';
import { type Relay, startRelay } from '../relay/index.ts';
import { type BodyRecord, type HeaderRecord, LOG_FORMAT } from '../relay/log/index.ts';
import { loadSimModule, moduleHeaderSim } from '../relay/sim-modules.ts';
import { encodeInput, type Input, Prng, stateHash } from '../sim/index.ts';
import { launchChromium, until } from './support/chromium.ts';

// Real Chromium (Debian's package) on the replay viewer of a real relay on loopback, whose log
// comes from a duel that two headless bots played through that relay.
const TOKEN = 'replay-viewer-test-token-0123456789';
let tmp: string;
let relay: Relay;
let browser: Browser;
let matchId: string;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'concord-replay-'));
  const web = await buildWebClient(path.join(tmp, 'web'));
  relay = await startRelay({
    port: 0,
    host: '127.0.0.1',
    logsDir: path.join(tmp, 'logs'),
    webRoot: web.outDir,
    webrtc: false,
    admin: { token: TOKEN },
  });
  const report = await runBots({
    url: relay.url,
    matches: 1,
    players: 2,
    frames: 240,
    latencyMs: 10,
    jitterMs: 5,
    lossPct: 0,
    transport: 'websocket',
    seed: 5,
  });
  expect(report.failures).toEqual([]);
  matchId = report.perMatch[0].matchId;
  // The relay closes the log when the match ends: wait for its end record.
  const log = path.join(tmp, 'logs', `${matchId}.jsonl`);
  await until(
    () =>
      readFile(log, 'utf8').then(
        (t) => t.includes('"type":"end"'),
        () => false,
      ),
    20_000,
    'the end record',
  );
  browser = await launchChromium();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await relay?.close();
  await rm(tmp, { recursive: true, force: true });
});

describe('the replay viewer in Chromium', () => {
  it('refuses without the token: the page sends to the token form, the log route is 401', async () => {
    const page = await fetch(`${relay.url}/replay/${matchId}`, { redirect: 'manual' });
    expect(page.status).toBe(303);
    expect(page.headers.get('location')).toBe(
      `/admin/login?next=${encodeURIComponent(`/replay/${matchId}`)}`,
    );
    const data = await fetch(`${relay.url}/admin/api/logs/${matchId}`);
    expect(data.status).toBe(401);
    const wrong = await fetch(`${relay.url}/admin/api/logs/${matchId}`, {
      headers: { authorization: `Bearer ${TOKEN}x` },
    });
    expect(wrong.status).toBe(401);
    // A relay without a token has no viewer at all.
    const bare = await startRelay({ port: 0, host: '127.0.0.1', logsDir: tmp, webrtc: false });
    try {
      expect((await fetch(`${bare.url}/replay/${matchId}`)).status).toBe(404);
      expect((await fetch(`${bare.url}/admin/api/logs/${matchId}`)).status).toBe(404);
    } finally {
      await bare.close();
    }
  });

  it('plays the logged match; at a check frame it shows the recorded hash and an equal recomputed one', async () => {
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    // Through the token form, as a researcher does.
    await page.goto(`${relay.url}/replay/${matchId}`);
    await page.fill('#token', TOKEN);
    await Promise.all([page.waitForURL(`**/replay/${matchId}`), page.click('button[type=submit]')]);
    await until(
      () => page.evaluate(() => window.concordReplay?.phase === 'ready'),
      60_000,
      'the viewer ready',
    );
    const data = (await page.evaluate(() => window.concordReplay?.data())) as ReplayData;
    expect(data.matchId).toBe(matchId);
    expect(data.events.some((e) => e.kind === 'end')).toBe(true);
    expect(await page.locator('#timeline .mark-check').count()).toBeGreaterThan(3);
    // A check frame past the middle, with every peer's report: seek there with the frame box.
    const check = data.checks.filter((c) => c.frame > 0 && c.recorded.length >= 2).at(-2);
    expect(check).toBeDefined();
    await page.fill('#frame-input', String(check!.frame));
    await page.click('#goto button[type=submit]');
    await until(
      async () => /^[0-9a-f]{16}$/.test((await page.textContent('#hash-computed')) ?? ''),
      60_000,
      'the recomputed hash',
    );
    expect(await page.evaluate(() => window.concordReplay?.frame())).toBe(check!.frame);
    const recorded = await page.textContent('#hash-recorded');
    const computed = await page.textContent('#hash-computed');
    expect(recorded).toBe(check!.recorded[0].hash);
    expect(computed).toBe(recorded);
    expect(await page.textContent('#hash-verdict')).toContain('equal');
    // The inputs of that frame, one row per player, and the duel drawn on a canvas.
    expect(await page.locator('#inputs tr').count()).toBe(2);
    expect(await page.locator('#game canvas').count()).toBe(1);
    // Play at 8×; then seek back (from a kept snapshot) and step one frame.
    const frameNow = () => page.evaluate(() => window.concordReplay?.frame() ?? -1);
    await page.selectOption('#speed', '8');
    await page.click('#play');
    await until(async () => (await frameNow()) > check!.frame, 30_000, 'playing on');
    await page.click('#play');
    await page.fill('#frame-input', '17');
    await page.click('#goto button[type=submit]');
    await until(async () => (await frameNow()) === 17, 30_000, 'the seek back to frame 17');
    await page.click('#step');
    await until(async () => (await frameNow()) === 18, 30_000, 'one step');
    expect(errors).toEqual([]);
    await page.close();
  }, 120_000);

  it('replays a Python match in its Worker (Pyodide from the relay) with the primitives view', async () => {
    const report = await runBots({
      url: relay.url,
      scene: 'kitchen',
      matches: 1,
      players: 2,
      frames: 60,
      latencyMs: 5,
      jitterMs: 0,
      lossPct: 0,
      transport: 'websocket',
      seed: 8,
    });
    expect(report.failures).toEqual([]);
    const id = report.perMatch[0].matchId;
    const log = path.join(tmp, 'logs', `${id}.jsonl`);
    await until(
      () =>
        readFile(log, 'utf8').then(
          (t) => t.includes('"type":"end"'),
          () => false,
        ),
      20_000,
      'the end record',
    );
    const page = await browser.newPage({ viewport: { width: 1000, height: 800 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${relay.url}/replay/${id}`);
    await page.fill('#token', TOKEN);
    await Promise.all([page.waitForURL(`**/replay/${id}`), page.click('button[type=submit]')]);
    await until(
      () => page.evaluate(() => window.concordReplay?.phase === 'ready'),
      150_000,
      'the Python replay ready',
    );
    const data = (await page.evaluate(() => window.concordReplay?.data())) as ReplayData;
    expect(data.sim.kind).toBe('python');
    const check = data.checks.filter((c) => c.frame > 0).at(-1);
    expect(check).toBeDefined();
    await page.fill('#frame-input', String(check!.frame));
    await page.click('#goto button[type=submit]');
    await until(
      async () => /^[0-9a-f]{16}$/.test((await page.textContent('#hash-computed')) ?? ''),
      60_000,
      'the recomputed hash',
    );
    expect(await page.textContent('#hash-computed')).toBe(check!.recorded[0].hash);
    expect(await page.textContent('#hash-verdict')).toContain('equal');
    expect(await page.locator('#game canvas').count()).toBe(1);
    expect(errors).toEqual([]);
    await page.close();
  }, 300_000);

  it("replays a sim module's match from the bundle its log carries, with the module's view", async () => {
    const id = await writePongLog(path.join(tmp, 'logs'));
    const page = await browser.newPage({ viewport: { width: 1000, height: 800 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${relay.url}/replay/${id}`);
    await page.fill('#token', TOKEN);
    await Promise.all([page.waitForURL(`**/replay/${id}`), page.click('button[type=submit]')]);
    await until(
      () => page.evaluate(() => window.concordReplay?.phase === 'ready'),
      60_000,
      'the module replay ready',
    );
    await page.fill('#frame-input', '90');
    await page.click('#goto button[type=submit]');
    await until(
      async () => /^[0-9a-f]{16}$/.test((await page.textContent('#hash-computed')) ?? ''),
      30_000,
      'the recomputed hash',
    );
    expect(await page.textContent('#hash-computed')).toBe(await page.textContent('#hash-recorded'));
    // The scene's action names, from the header's actions.
    expect(await page.locator('#inputs').textContent()).toMatch(/STAY|UP|DOWN/);
    expect(await page.locator('#game canvas').count()).toBe(1);
    expect(errors).toEqual([]);
    await page.close();
  }, 90_000);
});

/**
 * A 120-frame pong match (examples/pong, a sim module) logged as a relay logs one: the bundle in
 * the header, seeded random inputs, every slot's hash report and the verdict every 10 frames, done
 * records and the end. The hashes come from running the module, so the viewer must agree.
 * @returns the match id
 */
async function writePongLog(dir: string): Promise<string> {
  const pong = await loadSimModule(
    path.join(import.meta.dirname, '..', 'examples', 'pong', 'pong.ts'),
  );
  const matchId = 'pong-module-replay';
  const frames = 120;
  const delay = 2;
  const header: HeaderRecord = {
    type: 'header',
    format: LOG_FORMAT,
    matchId,
    scene: {
      name: 'pong',
      sim: './pong.ts',
      players: 2,
      tickRate: 60,
      mode: 'rollback',
      inputDelay: delay,
      maxPredictionWindow: 8,
      saveStrategy: 'ring',
      hashInterval: 10,
      frames,
    },
    sim: moduleHeaderSim('./pong.ts', pong.bundle),
    seed: 11,
    players: [
      { slot: 0, participantId: 'A' },
      { slot: 1, participantId: 'B' },
    ],
    startTime: '2026-12-06T17:00:00.000Z',
    actions: {
      keys: { ArrowUp: 'UP', ArrowDown: 'DOWN' },
      defaultAction: 'STAY',
      inputs: {
        STAY: hexOf(pong.actions.STAY),
        UP: hexOf(pong.actions.UP),
        DOWN: hexOf(pong.actions.DOWN),
      },
    },
  };
  const choices: Input[] = [pong.actions.STAY, pong.actions.UP, pong.actions.DOWN];
  const rng = Prng.fromSeed(3);
  const sim = pong.sim.create({ players: 2, seed: header.seed });
  const records: BodyRecord[] = [];
  const hash = () => stateHash(sim.encode(sim.save()));
  const sent: Input[][] = [[], []];
  for (let f = delay; f < frames + delay; f++) {
    for (let s = 0; s < 2; s++) {
      const input = choices[rng.nextU32() % 3];
      sent[s].push(input);
      records.push({ type: 'input', f, s, in: hexOf(input), ms: f * 16.6 });
    }
  }
  for (let f = 0; f <= frames; f++) {
    if (f % 10 === 0) {
      const h = hash();
      for (let s = 0; s < 2; s++) records.push({ type: 'hash', f, s, h, ms: f * 16.6 + 80 });
      records.push({ type: 'verdict', f, agreed: true, hashes: [h, h] });
    }
    if (f === frames) {
      const h = hash();
      for (let s = 0; s < 2; s++) records.push({ type: 'done', s, f, h, ms: f * 16.6 + 90 });
      break;
    }
    sim.step([0, 1].map((s) => (f < delay ? pong.actions.STAY : sent[s][f - delay])));
  }
  records.push({ type: 'end', reason: 'every player finished', ms: frames * 16.6 + 100 });
  const text = [header, ...records].map((r) => `${JSON.stringify(r)}\n`).join('');
  await writeFile(path.join(dir, `${matchId}.jsonl`), text);
  return matchId;
}

const hexOf = (input: Input): string => Buffer.from(encodeInput(input)).toString('hex');
