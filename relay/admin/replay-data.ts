/**
 * A match log turned into the replay viewer's {@link ReplayData}: the header's settings and sim,
 * every slot's inputs, the recorded hashes by check frame and the timeline of what happened. The
 * page re-simulates from it; nothing here runs the sim.
 */
import type { ReplayCheck, ReplayData, ReplayEvent } from '../../protocol/index.ts';
import type { MatchLog } from '../log/index.ts';

/**
 * Builds the {@link ReplayData} of a log read by `readMatchLog`. The final frame follows
 * `replayLog`'s rule (relay/log/replay.ts): the frame of the done records when the log has them,
 * else the scene's frame limit, lowered to the last frame for which every slot still playing has
 * an input. A damaged log gives the data before its damage, and says so in `damaged`.
 */
export function replayDataOf(log: MatchLog): ReplayData {
  const { header, records } = log;
  const players = header.scene.players;
  const inputDelay = header.scene.inputDelay;
  const inputs: string[][] = Array.from({ length: players }, () => []);
  const lastFrame: (number | null)[] = new Array(players).fill(null);
  const checks = new Map<number, ReplayCheck[]>();
  const events: ReplayEvent[] = [];
  let maxInputFrame = -1;
  let maxCheckFrame = -1;
  let doneFrame = -1;
  let endReason: string | null = null;
  const addCheck = (frame: number, check: ReplayCheck): void => {
    const list = checks.get(frame);
    if (list) list.push(check);
    else checks.set(frame, [check]);
    maxCheckFrame = Math.max(maxCheckFrame, frame);
  };
  const event = (frame: number, kind: ReplayEvent['kind'], slots: number[], text: string) =>
    events.push({ frame: Math.max(0, frame), kind, slots, text });
  for (const r of records) {
    switch (r.type) {
      case 'input':
        inputs[r.s].push(r.in);
        maxInputFrame = Math.max(maxInputFrame, r.f);
        break;
      case 'hash':
        addCheck(r.f, { slot: r.s, hash: r.h, source: 'hash' });
        break;
      case 'done':
        addCheck(r.f, { slot: r.s, hash: r.h, source: 'done' });
        doneFrame = Math.max(doneFrame, r.f);
        event(r.f, 'done', [r.s], `slot ${r.s} finished`);
        break;
      case 'verdict':
        r.hashes.forEach((h, slot) => {
          if (h !== null) addCheck(r.f, { slot, hash: h, source: 'verdict' });
        });
        event(r.f, 'check', [], r.agreed ? 'check: every hash agreed' : 'check: the hashes differ');
        break;
      case 'referee':
        if (r.referee !== null) addCheck(r.f, { slot: -1, hash: r.referee, source: 'referee' });
        event(
          r.f,
          'referee',
          [...r.differing],
          r.method === 'referee'
            ? `referee re-simulated from frame ${r.from}: slot(s) ${r.differing.join(', ') || 'none'} differ`
            : `host rule (${r.reason ?? 'no reason'}): slot(s) ${r.differing.join(', ') || 'none'} differ`,
        );
        break;
      case 'desync':
        event(r.f, 'desync', [...r.differing], `desync: slot(s) ${r.differing.join(', ')} differ`);
        break;
      case 'resync':
        event(
          r.f,
          'resync',
          [...r.s],
          `resync: state of frame ${r.f} sent to slot(s) ${r.s.join(', ')} (${r.bytes} bytes)`,
        );
        break;
      case 'converged':
        event(r.at, 'converged', [], `agreed again ${r.frames} frames after the desync at ${r.f}`);
        break;
      case 'away':
        event(r.lastFrame + 1, 'away', [r.s], `slot ${r.s} away (${r.reason ?? 'closed'})`);
        break;
      case 'rejoin':
        event(r.f, 'rejoin', [r.s], `slot ${r.s} rejoined (state of frame ${r.f})`);
        break;
      case 'left':
        lastFrame[r.s] = r.lastFrame;
        event(r.lastFrame + 1, 'left', [r.s], `slot ${r.s} left`);
        break;
      case 'handover':
        event(r.f, 'handover', [r.s], `a bot (${r.bot}) took slot ${r.s}'s seat`);
        break;
      case 'fault':
        event(r.f, 'fault', [r.s], `slot ${r.s}'s sim threw: ${r.reason}`);
        break;
      case 'end':
        endReason = r.reason;
        break;
      default:
        break;
    }
  }
  // replayLog's final frame (relay/log/replay.ts): see the function comment.
  let known = Number.POSITIVE_INFINITY;
  for (let s = 0; s < players; s++) {
    if (lastFrame[s] === null) known = Math.min(known, inputDelay + inputs[s].length);
  }
  if (known === Number.POSITIVE_INFINITY) known = Math.max(maxInputFrame + 1, maxCheckFrame, 0);
  const endFrame =
    doneFrame >= 0 ? doneFrame : header.scene.frames > 0 ? header.scene.frames : null;
  const finalFrame = endFrame === null ? known : Math.min(known, endFrame);
  if (endReason !== null) event(finalFrame, 'end', [], `end: ${endReason}`);
  events.sort((a, b) => a.frame - b.frame); // stable: log order within a frame

  const { id, codeHash, source, className, packages, bundle } = header.sim;
  const kind = bundle !== undefined ? 'module' : source !== undefined ? 'python' : 'builtin';
  return {
    matchId: header.matchId,
    format: header.format,
    scene: {
      name: header.scene.name,
      sim: header.scene.sim,
      players,
      tickRate: header.scene.tickRate,
      mode: header.scene.mode,
      inputDelay,
      hashInterval: header.scene.hashInterval,
      frames: header.scene.frames,
    },
    sim: {
      kind,
      id,
      codeHash,
      ...(source !== undefined ? { source, className: className ?? null } : {}),
      ...(packages ? { packages: [...packages] } : {}),
      ...(bundle !== undefined ? { bundle } : {}),
    },
    seed: header.seed,
    players: header.players.map((p) => ({ slot: p.slot, participantId: p.participantId })),
    startTime: header.startTime,
    actions: (header.actions as ReplayData['actions'] | undefined) ?? null,
    episodes: header.episodes ?? null,
    inputs,
    lastFrame,
    finalFrame,
    checks: [...checks.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([frame, recorded]) => ({ frame, recorded })),
    events,
    endReason,
    damaged: log.damaged?.message ?? null,
    truncated: log.truncated,
  };
}
