import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initStateHash } from '../../sim/index.ts';
import { tempDir, writeLogWithTimer } from '../../test/support/log-files.ts';
import { type SampleMatch, sampleDuelMatch } from '../../test/support/sample-match.ts';
import { LogError } from './records.ts';
import { formatReplay, type ReplayFrame, replayMatchLog } from './replay.ts';

let dir: string;
let remove: () => Promise<void>;
let match: SampleMatch;
/** The log of `match`, written through the writer with timer flushes. */
let logPath: string;
let lines: string[];

beforeAll(async () => {
  await initStateHash();
  ({ dir, remove } = await tempDir());
  match = sampleDuelMatch({ players: 3, frames: 300, seed: 42 });
  const writer = await writeLogWithTimer(dir, match.header, match.records);
  logPath = writer.path;
  lines = (await readFile(logPath, 'utf8')).split('\n').slice(0, -1);
});

afterAll(async () => {
  await remove?.();
});

/** Writes `text` as a new log file and returns its path. */
async function variant(name: string, text: string): Promise<string> {
  const file = path.join(dir, `${name}.jsonl`);
  await writeFile(file, text);
  return file;
}

/** Recorded hashes (hash, done and non-null verdict entries) among the first `n` records. */
function recordedHashes(n: number): { frame: number; line: number }[] {
  const out: { frame: number; line: number }[] = [];
  match.records.slice(0, n).forEach((r, i) => {
    if (r.type === 'hash' || r.type === 'done') out.push({ frame: r.f, line: i + 2 });
    if (r.type === 'verdict') {
      for (const h of r.hashes) if (h !== null) out.push({ frame: r.f, line: i + 2 });
    }
  });
  return out;
}

/** The frame a replay of the first `n` records must reach, computed from the sample. */
function reachableFrame(n: number): number {
  const { players, inputDelay, frames } = match.header.scene;
  const count = new Array(players).fill(0);
  const left = new Array(players).fill(false);
  for (const r of match.records.slice(0, n)) {
    if (r.type === 'input') count[r.s]++;
    if (r.type === 'left') left[r.s] = true;
  }
  let known = Number.POSITIVE_INFINITY;
  for (let s = 0; s < players; s++) if (!left[s]) known = Math.min(known, inputDelay + count[s]);
  return Math.min(known, frames);
}

describe('replay of a logged duel match', () => {
  it('re-simulates every frame and every recorded hash matches', async () => {
    const frames: ReplayFrame[] = [];
    const r = await replayMatchLog(logPath, { onFrame: (f) => frames.push(f) });
    expect(r.finalFrame).toBe(300);
    expect(r.frames).toBe(300);
    expect(r.finalHash).toBe(match.hashes[300]);
    expect(r.checks).toBe(recordedHashes(match.records.length).length);
    expect(r.checks).toBeGreaterThan(60);
    expect(r.passed).toBe(r.checks);
    expect(r.mismatches).toEqual([]);
    expect(r.unchecked).toBe(0);
    expect(r.inputs).toBe(match.records.filter((x) => x.type === 'input').length);
    expect(r.left).toEqual([{ slot: 1, lastFrame: 150 }]);
    expect(r.records).toBe(match.records.length + 1);
    expect(r.ended).toBe(true);
    expect(r.endReason).toBe('test');
    expect(r.codeHashMatches).toBe(true);
    expect(r.truncated).toBe(false);
    expect(r.damaged).toBeNull();
    expect(r.ok).toBe(true);
    // onFrame sees S(0)..S(300) in order, with the inputs of each step.
    expect(frames.map((f) => f.frame)).toEqual(Array.from({ length: 301 }, (_, f) => f));
    expect(frames[300].inputs).toBeNull();
    expect(frames[0].inputs).toHaveLength(3);
    const text = formatReplay(r);
    expect(text).toContain('replayed 300 frames');
    expect(text).toContain(match.hashes[300]);
    expect(text).toContain(`checks: ${r.checks} of ${r.checks}`);
    expect(text.split('\n').at(-1)).toBe('ok');
  });

  it('stops at the frame the peers finished at, not at the last frame with late inputs', async () => {
    // No frame limit in the scene (as in a bots' scene): inputs stamped up to frames - 1 + delay
    // are logged, but the match ended at S(frames), the frame of the done records.
    const open = sampleDuelMatch({ players: 2, frames: 120, seed: 5, frameLimit: 0 });
    const lateInputs = open.records.filter((r) => r.type === 'input' && r.f >= open.frames);
    expect(lateInputs.length).toBeGreaterThan(0);
    const { dir: d2, remove: rm2 } = await tempDir();
    try {
      const w = await writeLogWithTimer(d2, open.header, open.records);
      const r = await replayMatchLog(w.path);
      expect(r.finalFrame).toBe(120);
      expect(r.finalHash).toBe(open.hashes[120]);
      const done = open.records.filter((x) => x.type === 'done');
      expect(done.length).toBeGreaterThan(0);
      for (const x of done) if (x.type === 'done') expect(x.h).toBe(r.finalHash);
      expect(r.mismatches).toEqual([]);
      expect(formatReplay(r)).toContain(`final hash ${open.hashes[120]} at frame 120`);
    } finally {
      await rm2();
    }
  });

  it("checks a referee record's hash like a reported one, and reports how the desync was decided", async () => {
    const at = lines.findIndex((l) => l.includes('"type":"verdict"'));
    const verdict = JSON.parse(lines[at]) as { f: number; hashes: (string | null)[] };
    const right = verdict.hashes.find((h) => h !== null)!;
    const referee = (hash: string) =>
      JSON.stringify({
        type: 'referee',
        f: verdict.f,
        from: 0,
        method: 'referee',
        hashes: verdict.hashes,
        referee: hash,
        reason: null,
        right: [1],
        differing: [],
        source: null,
        ms: 1,
      });
    const withReferee = (hash: string) =>
      [...lines.slice(0, at + 1), referee(hash), ...lines.slice(at + 1)].join('\n') + '\n';
    const ok = await replayMatchLog(await variant('referee-ok', withReferee(right)));
    expect(ok.ok).toBe(true);
    expect(ok.arbitrations).toMatchObject([{ frame: verdict.f, method: 'referee', from: 0 }]);
    const base = await replayMatchLog(logPath);
    expect(ok.checks).toBe(base.checks + 1);
    const bad = await replayMatchLog(await variant('referee-bad', withReferee('fedcba9876543210')));
    expect(bad.ok).toBe(false);
    expect(bad.mismatches).toMatchObject([
      { frame: verdict.f, slot: -1, source: 'referee', recorded: 'fedcba9876543210' },
    ]);
  });

  it('a tampered input shows as mismatches from the first checked frame after it', async () => {
    const tampered = 21;
    const i = lines.findIndex((l) => l.includes(`"type":"input","f":${tampered},"s":0,`));
    expect(i).toBeGreaterThan(0);
    const record = JSON.parse(lines[i]);
    // Flip the four direction bits and the aim: the player surely moves elsewhere.
    const b0 = Number.parseInt(record.in.slice(0, 2), 16) ^ 0x0f;
    record.in = `${b0.toString(16).padStart(2, '0')}${record.in.slice(2, 4)}4040`;
    const copy = [...lines];
    copy[i] = JSON.stringify(record);
    const r = await replayMatchLog(await variant('tampered', `${copy.join('\n')}\n`));
    const firstCheck = recordedHashes(match.records.length)
      .map((c) => c.frame)
      .filter((f) => f > tampered)
      .sort((a, b) => a - b)[0];
    expect(firstCheck).toBe(30);
    expect(r.mismatches.length).toBeGreaterThan(0);
    expect(r.mismatches[0].frame).toBe(firstCheck);
    expect(r.mismatches.every((m) => m.frame >= firstCheck)).toBe(true);
    expect(r.mismatches.filter((m) => m.frame === 30).map((m) => m.source)).toEqual(
      expect.arrayContaining(['hash', 'verdict']),
    );
    expect(r.passed).toBe(r.checks - r.mismatches.length);
    expect(r.finalHash).not.toBe(match.hashes[300]);
    expect(r.ok).toBe(false);
    expect(formatReplay(r)).toContain('MISMATCH');
  });

  it('a log cut inside its last line replays to the last whole record', async () => {
    const text = await readFile(logPath, 'utf8');
    const lastStart = text.lastIndexOf('\n', text.length - 2) + 1;
    const cut = text.slice(0, lastStart + 10);
    const r = await replayMatchLog(await variant('cut-end', cut));
    expect(r.truncated).toBe(true);
    expect(r.damaged).toBeNull();
    expect(r.ended).toBe(false);
    expect(r.finalFrame).toBe(300);
    expect(r.finalHash).toBe(match.hashes[300]);
    expect(r.mismatches).toEqual([]);
    expect(r.ok).toBe(true);
    expect(formatReplay(r)).toContain('cut off');
  });

  it('a log cut in the middle (a crash) replays every whole record, and they all check', async () => {
    const text = await readFile(logPath, 'utf8');
    const middle = Math.floor(text.length * 0.6);
    expect(text[middle - 1]).not.toBe('\n');
    const r = await replayMatchLog(await variant('cut-middle', text.slice(0, middle)));
    const whole = text.slice(0, middle).split('\n').length - 2; // records after the header
    expect(r.truncated).toBe(true);
    expect(r.records).toBe(whole);
    const expected = reachableFrame(whole);
    expect(expected).toBeGreaterThan(100);
    expect(expected).toBeLessThan(300);
    expect(r.finalFrame).toBe(expected);
    expect(r.finalHash).toBe(match.hashes[expected]);
    expect(r.checks).toBe(recordedHashes(whole).length);
    expect(r.mismatches).toEqual([]);
    expect(r.unchecked).toBe(0);
  });

  it('a damaged line stops the replay there and names the line', async () => {
    const copy = [...lines];
    const bad = 400; // 1-based line number
    copy[bad - 1] = '{"type":"input","f":12,"s":0,"in":"zz","ms":1}';
    const r = await replayMatchLog(await variant('damaged', `${copy.join('\n')}\n`));
    expect(r.damaged?.line).toBe(bad);
    expect(r.damaged?.message).toMatch(/^line 400: input record: "in" must be 8 lowercase hex/);
    expect(r.records).toBe(bad - 2);
    const expected = reachableFrame(bad - 2);
    expect(r.finalFrame).toBe(expected);
    expect(r.finalHash).toBe(match.hashes[expected]);
    expect(r.mismatches).toEqual([]);
    expect(r.ok).toBe(false);
    expect(formatReplay(r)).toContain('DAMAGED: line 400');
  });

  it('a duplicated input is damage at the duplicate', async () => {
    const i = lines.findIndex((l) => l.includes('"type":"input","f":50,"s":2,'));
    const copy = [...lines.slice(0, i + 1), lines[i], ...lines.slice(i + 1)];
    const r = await replayMatchLog(await variant('duplicate', `${copy.join('\n')}\n`));
    expect(r.damaged?.line).toBe(i + 2);
    expect(r.damaged?.message).toContain('duplicate input of slot 2 for frame 50');
  });

  it('a dropped input is damage (a gap) at the next input of that slot', async () => {
    const i = lines.findIndex((l) => l.includes('"type":"input","f":50,"s":2,'));
    const next = lines.findIndex((l) => l.includes('"type":"input","f":51,"s":2,'));
    const copy = lines.filter((_, j) => j !== i);
    const r = await replayMatchLog(await variant('gap', `${copy.join('\n')}\n`));
    expect(r.damaged?.line).toBe(next); // one line earlier than before the removal, 1-based
    expect(r.damaged?.message).toContain('gap: slot 2 has no input for frame 50');
    expect(r.finalFrame).toBe(50);
    expect(r.finalHash).toBe(match.hashes[50]);
  });

  it('a log without a header is refused', async () => {
    const file = await variant('headless', `${lines.slice(1).join('\n')}\n`);
    await expect(replayMatchLog(file)).rejects.toMatchObject({ code: 'NO_HEADER', line: 1 });
    await expect(replayMatchLog(file)).rejects.toBeInstanceOf(LogError);
    await expect(replayMatchLog(path.join(dir, 'missing.jsonl'))).rejects.toMatchObject({
      code: 'IO',
    });
  });

  it('reports a sim source other than the recorded one, and replays anyway', async () => {
    const header = JSON.parse(lines[0]);
    header.sim.codeHash = '0000000000000000';
    const copy = [JSON.stringify(header), ...lines.slice(1)];
    const r = await replayMatchLog(await variant('other-code', `${copy.join('\n')}\n`));
    expect(r.codeHashMatches).toBe(false);
    expect(r.mismatches).toEqual([]);
    expect(r.ok).toBe(true);
    expect(formatReplay(r)).toContain("warning: the sim's source differs");
  });

  it('hashes beyond the last frame with every input are counted as unchecked', async () => {
    // Slot 0's inputs stop at frame 99: nothing after S(100) can be replayed.
    const copy = lines.filter((l) => {
      const r = JSON.parse(l);
      return !(r.type === 'input' && r.s === 0 && r.f >= 100);
    });
    const r = await replayMatchLog(await variant('short', `${copy.join('\n')}\n`));
    expect(r.damaged).toBeNull();
    expect(r.finalFrame).toBe(100);
    expect(r.finalHash).toBe(match.hashes[100]);
    const all = recordedHashes(match.records.length);
    expect(r.checks).toBe(all.filter((c) => c.frame <= 100).length);
    expect(r.unchecked).toBe(all.filter((c) => c.frame > 100).length);
    expect(r.mismatches).toEqual([]);
    expect(formatReplay(r)).toContain('not checked');
  });
});
