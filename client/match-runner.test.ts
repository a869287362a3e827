import { beforeAll, describe, expect, it } from 'vitest';
import {
  type ClientMessage,
  PRESENCE,
  type SceneSettings,
  type ServerMessage,
} from '../protocol/index.ts';
import {
  decodeInput,
  encodeInput,
  getSimFactory,
  type Input,
  initStateHash,
  NEUTRAL_INPUT,
} from '../sim/index.ts';
import type { TransportState } from '../sim/sync/index.ts';
import {
  countdownFramesFor,
  MatchRunner,
  type MatchRunnerOptions,
  type RelayTransport,
  type RunnerPhase,
  type Seat,
} from './match-runner.ts';
import { VirtualClock } from './net/index.ts';

// The runner's loop logic on a virtual clock: a scripted relay in this file forwards inputs and
// answers pings over in-process transports, so minutes of play take milliseconds and every run is
// the same. Connecting and rejoining through the real relay are tested in
// test/match-runner.test.ts.

beforeAll(initStateHash);

/** One way of the in-process link, in ms. */
const LINK_MS = 10;

const scene: SceneSettings = {
  name: 'duel',
  sim: 'duel',
  players: 2,
  tickRate: 60,
  mode: 'rollback',
  inputDelay: 2,
  maxPredictionWindow: 8,
  saveStrategy: 'ring',
  hashInterval: 30,
  hashIntervalMax: 240,
  rejoinGraceMs: 2000,
  onPlayerLost: 'continue',
  transport: 'auto',
  frames: 300,
};

/** A client's end of an in-process link to the {@link ScriptedRelay}. */
class Link implements RelayTransport {
  state: TransportState = 'open';
  private readonly handlers: ((m: ServerMessage) => void)[] = [];
  private readonly queued: ServerMessage[] = [];
  private readonly closers: ((reason: string) => void)[] = [];

  constructor(
    private readonly clock: VirtualClock,
    private readonly relay: ScriptedRelay,
  ) {}

  /** Sent before a close still arrives, as a websocket flushes what it buffered before closing. */
  send(m: ClientMessage): void {
    if (this.state !== 'open') return;
    this.clock.at(this.clock.now() + LINK_MS, () => this.relay.receive(this, m));
  }

  /** The relay's message arrives after the link's delay. */
  deliver(m: ServerMessage): void {
    this.clock.at(this.clock.now() + LINK_MS, () => {
      if (this.state !== 'open') return;
      if (this.handlers.length === 0) this.queued.push(m);
      else for (const h of [...this.handlers]) h(m);
    });
  }

  onMessage(handler: (m: ServerMessage) => void): () => void {
    this.handlers.push(handler);
    for (const m of this.queued.splice(0)) handler(m);
    return () => this.handlers.splice(this.handlers.indexOf(handler), 1);
  }

  onClose(handler: (reason: string) => void): () => void {
    this.closers.push(handler);
    return () => this.closers.splice(this.closers.indexOf(handler), 1);
  }

  close(reason = 'closed by the client'): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.relay.closed(this);
    for (const h of this.closers.splice(0)) h(reason);
  }
}

/**
 * A relay reduced to what the loop logic needs: it seats the first two joins, forwards inputs and
 * probes, answers pings (and records when each came), ends the match once every seat reported
 * `done`, and refuses every rejoin.
 */
class ScriptedRelay {
  readonly seats: Link[] = [];
  readonly pings: number[][] = [[], []];
  readonly forwarded: { slot: number; frame: number; input: Input }[] = [];
  readonly received: { slot: number; m: ClientMessage }[] = [];
  readonly done = new Set<number>();
  /** Send `end` once every seat is done (else stay silent, as a relay that went away). */
  endWhenDone = true;

  constructor(
    private readonly clock: VirtualClock,
    private readonly settings: SceneSettings,
  ) {}

  connect = async (): Promise<RelayTransport> => new Link(this.clock, this);

  receive(from: Link, m: ClientMessage): void {
    const slot = this.seats.indexOf(from);
    this.received.push({ slot, m });
    switch (m.kind) {
      case 'join':
        this.seats.push(from);
        if (this.seats.length === this.settings.players) {
          this.seats.forEach((l, s) => {
            l.deliver({
              kind: 'start',
              matchId: 'm1',
              slot: s,
              seed: 7,
              settings: this.settings,
              token: `token-${s}`,
            });
          });
        } else {
          from.deliver({ kind: 'waiting', scene: 'duel', waiting: 1, players: 2 });
        }
        return;
      case 'rejoin':
        from.deliver({
          kind: 'error',
          code: 'NOT_IN_MATCH',
          message: 'the grace period has passed',
          refused: 'rejoin',
        });
        return;
      case 'ping':
        this.pings[slot]?.push(this.clock.now());
        from.deliver({ kind: 'pong', id: m.id, sentMs: m.sentMs });
        return;
      case 'input':
        this.forwarded.push({ slot, frame: m.frame, input: decodeInput(m.input) });
        this.others(from, {
          kind: 'input',
          slot,
          frame: m.frame,
          input: m.input,
          currentFrame: m.currentFrame,
        });
        return;
      case 'peerPing':
        this.others(from, { kind: 'peerPing', slot, sentMs: m.sentMs });
        return;
      case 'peerPong':
        this.others(from, { kind: 'peerPong', slot, to: m.to, sentMs: m.sentMs });
        return;
      case 'done':
        this.done.add(slot);
        if (this.endWhenDone && this.done.size === this.seats.length) {
          for (const l of this.seats) l.deliver({ kind: 'end', reason: 'every player finished' });
        }
        return;
      default:
        return;
    }
  }

  /** Sends to every seat but `from`. */
  others(from: Link | null, m: ServerMessage): void {
    for (const l of this.seats) if (l !== from) l.deliver(m);
  }

  closed(_link: Link): void {}
}

const press: Input = { buttons: 1, x: 0, y: 0 };

function runnerFor(
  clock: VirtualClock,
  relay: ScriptedRelay,
  over: Partial<MatchRunnerOptions<unknown>> = {},
): { runner: MatchRunner<unknown>; phases: RunnerPhase[] } {
  const runner = new MatchRunner<unknown>({
    connect: relay.connect,
    scheduler: clock,
    scene: 'duel',
    participantId: null,
    createSim: (start) =>
      getSimFactory(start.settings.sim).create({
        players: start.settings.players,
        seed: start.seed,
      }),
    input: () => press,
    ...over,
  });
  const phases: RunnerPhase[] = [];
  runner.on((e) => {
    if (e.type === 'phase') phases.push(e.phase);
  });
  return { runner, phases };
}

/** Runs the virtual clock to `untilMs`, letting promises (connects) settle between events. */
async function runTo(clock: VirtualClock, untilMs: number, stop?: () => boolean): Promise<void> {
  while (clock.now() < untilMs && !stop?.()) {
    clock.runUntil(Math.min(untilMs, clock.now() + 2));
    await new Promise((r) => setImmediate(r));
  }
}

describe('MatchRunner on a virtual clock', () => {
  it('joins, counts down with the default input, plays to the frame limit, reports done and closes at the relay end', async () => {
    const clock = new VirtualClock();
    const relay = new ScriptedRelay(clock, scene);
    const a = runnerFor(clock, relay);
    const b = runnerFor(clock, relay);
    a.runner.join();
    b.runner.join();
    await runTo(clock, 20_000, () => a.runner.phase === 'ended' && b.runner.phase === 'ended');
    for (const { runner, phases } of [a, b]) {
      expect(phases.slice(0, 4)).toEqual(['connecting', 'waiting', 'countdown', 'playing']);
      expect(runner.end).toMatchObject({ kind: 'frame-limit' });
      expect(runner.finalFrame).toBe(300);
    }
    expect(a.runner.finalHash).toMatch(/^[0-9a-f]{16}$/);
    expect(b.runner.finalHash).toBe(a.runner.finalHash);
    await runTo(clock, clock.now() + 200);
    expect(await Promise.race([a.runner.closed, 'open'])).toMatchObject({ kind: 'frame-limit' });
    // Every peer played the sim's default input in the countdown, and its own input after it.
    const countdown = countdownFramesFor(scene);
    const neutral = JSON.stringify(decodeInput(encodeInput(NEUTRAL_INPUT)));
    for (const f of relay.forwarded) {
      const expected = f.frame < countdown + scene.inputDelay ? neutral : JSON.stringify(press);
      expect(JSON.stringify(f.input)).toBe(expected);
    }
    expect(relay.forwarded.some((f) => f.frame >= countdown + scene.inputDelay)).toBe(true);
  });

  it('pings the relay at least every PRESENCE.heartbeatMs, also while it waits for the relay to end the match', async () => {
    const clock = new VirtualClock();
    const relay = new ScriptedRelay(clock, scene);
    relay.endWhenDone = false;
    const a = runnerFor(clock, relay, { endGraceMs: 5_000 });
    const b = runnerFor(clock, relay, { endGraceMs: 5_000 });
    a.runner.join();
    b.runner.join();
    await runTo(clock, 30_000, () => a.runner.phase === 'ended');
    const endedAt = clock.now();
    await runTo(clock, endedAt + 6_000);
    for (const pings of relay.pings) {
      expect(pings.length).toBeGreaterThan(5);
      for (let i = 1; i < pings.length; i++) {
        expect(pings[i] - pings[i - 1]).toBeLessThanOrEqual(PRESENCE.heartbeatMs);
      }
      // Without the relay's end, the connection closes after endGraceMs, and the pings stop.
      expect(pings.at(-1)!).toBeGreaterThan(endedAt + 4_000);
      expect(pings.at(-1)!).toBeLessThanOrEqual(endedAt + 5_000 + LINK_MS);
    }
    expect(await Promise.race([a.runner.closed, 'open'])).toMatchObject({ kind: 'frame-limit' });
  });

  it('a dropped connection: reconnecting, attempts until the grace period has passed, then the match went on without it', async () => {
    const clock = new VirtualClock();
    const relay = new ScriptedRelay(clock, scene);
    const a = runnerFor(clock, relay);
    let attempts = 0;
    let relayReachable = true;
    const b = runnerFor(clock, relay, {
      connect: async () => {
        if (relayReachable) return relay.connect();
        attempts++;
        throw new Error('connection refused');
      },
    });
    a.runner.join();
    b.runner.join();
    await runTo(clock, 10_000, () => b.runner.phase === 'playing');
    relayReachable = false;
    relay.seats[1].close('transport close');
    const droppedAt = clock.now();
    expect(b.runner.phase).toBe('reconnecting');
    await runTo(clock, droppedAt + scene.rejoinGraceMs - 10);
    expect(b.runner.phase).toBe('reconnecting');
    expect(attempts).toBeGreaterThan(2);
    await runTo(clock, droppedAt + scene.rejoinGraceMs + 10);
    expect(b.runner.end).toMatchObject({ kind: 'lost', reason: 'the match went on without you' });
    expect(b.runner.seat).toBeNull();
    // No attempt after the end.
    const after = attempts;
    await runTo(clock, clock.now() + 5_000);
    expect(attempts).toBe(after);
  });

  it('a refused rejoin ends the match for this peer at once, in the words of onPlayerLost: end', async () => {
    const clock = new VirtualClock();
    const ends = { ...scene, onPlayerLost: 'end' as const, rejoinGraceMs: 60_000 };
    const relay = new ScriptedRelay(clock, ends);
    const a = runnerFor(clock, relay);
    const b = runnerFor(clock, relay);
    a.runner.join();
    b.runner.join();
    await runTo(clock, 10_000, () => b.runner.phase === 'playing');
    relay.seats[1].close('transport close');
    await runTo(clock, clock.now() + 500, () => b.runner.phase === 'ended');
    expect(b.runner.end).toMatchObject({ kind: 'lost', reason: 'the match ended' });
    expect(b.runner.end?.detail).toMatch(/refused the rejoin: the grace period has passed/);
    const rejoin = relay.received.find((r) => r.m.kind === 'rejoin')?.m;
    expect(rejoin).toEqual({
      kind: 'rejoin',
      matchId: 'm1',
      token: 'token-1',
      participantId: null,
    });
  });

  it('given a seat (a reloaded page), it rejoins that seat instead of joining a queue', async () => {
    const clock = new VirtualClock();
    const relay = new ScriptedRelay(clock, scene);
    const seat: Seat = {
      matchId: 'm9',
      token: 'secret',
      slot: 1,
      scene: 'duel',
      participantId: 'P7',
      rejoinGraceMs: 10_000,
      onPlayerLost: 'continue',
      rejoins: 2,
    };
    const { runner, phases } = runnerFor(clock, relay, { seat });
    expect(runner.rejoins).toBe(2);
    runner.join();
    await runTo(clock, 1_000, () => runner.phase === 'ended');
    expect(phases[0]).toBe('reconnecting');
    expect(relay.received.map((r) => r.m)).toEqual([
      { kind: 'rejoin', matchId: 'm9', token: 'secret', participantId: 'P7' },
    ]);
    expect(runner.end).toMatchObject({ kind: 'lost', reason: 'the match went on without you' });
  });

  it('follows who is away, and ends when every other player left unless told to play alone', async () => {
    const clock = new VirtualClock();
    const relay = new ScriptedRelay(clock, { ...scene, frames: 0 });
    const a = runnerFor(clock, relay);
    const b = runnerFor(clock, relay, { playAlone: true });
    a.runner.join();
    b.runner.join();
    await runTo(clock, 10_000, () => a.runner.phase === 'playing' && b.runner.phase === 'playing');
    const [la, lb] = relay.seats;
    la.deliver({ kind: 'peerAway', slot: 1, lastFrame: 10 });
    lb.deliver({ kind: 'peerAway', slot: 0, lastFrame: 10 });
    await runTo(clock, clock.now() + 50);
    expect([...a.runner.away]).toEqual([1]);
    expect([...b.runner.away]).toEqual([0]);
    la.deliver({ kind: 'peerRejoined', slot: 1 });
    await runTo(clock, clock.now() + 50);
    expect(a.runner.away.size).toBe(0);
    const frame = a.runner.match!.peer.session.frame;
    la.deliver({ kind: 'peerLeft', slot: 1, lastFrame: frame });
    lb.deliver({ kind: 'peerLeft', slot: 0, lastFrame: frame });
    await runTo(clock, clock.now() + 500);
    expect(a.runner.end).toMatchObject({ kind: 'alone', reason: 'every other player left' });
    expect(b.runner.away.size).toBe(0);
    expect(b.runner.phase).toBe('playing');
    b.runner.leave();
    expect(b.runner.end).toMatchObject({ kind: 'left' });
  });

  it('a sim that throws: the relay is told with a fault and the match ends with error', async () => {
    const clock = new VirtualClock();
    const relay = new ScriptedRelay(clock, scene);
    const a = runnerFor(clock, relay);
    const b = runnerFor(clock, relay, {
      createSim: (start) => {
        const sim = getSimFactory('duel').create({ players: 2, seed: start.seed });
        const step = sim.step.bind(sim);
        sim.step = (inputs) => {
          if (sim.frame === 100) throw new Error('boom at 100');
          step(inputs);
        };
        return sim;
      },
    });
    a.runner.join();
    b.runner.join();
    await runTo(clock, 20_000, () => b.runner.phase === 'ended');
    expect(b.runner.end).toMatchObject({ kind: 'error', detail: 'boom at 100' });
    await runTo(clock, clock.now() + 50);
    const fault = relay.received.find((r) => r.m.kind === 'fault');
    expect(fault).toMatchObject({ slot: 1, m: { kind: 'fault', reason: 'boom at 100' } });
  });
});
