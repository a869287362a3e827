import net from 'node:net';
import { Prng } from '../../sim/index.ts';

/** A running {@link startDelayProxy}. */
export interface DelayProxy {
  readonly port: number;
  /** Chunks forwarded, both directions. */
  readonly chunks: () => number;
  /**
   * Cuts the path for `ms`: destroys every open socket at once (both ends see the connection
   * reset, as when a network goes away), and resets every new connection until `ms` have passed.
   */
  cut(ms: number): void;
  close(): Promise<void>;
}

/**
 * A TCP proxy on 127.0.0.1 that delays every chunk by `delayMs ± jitterMs` (uniform, seeded) in
 * each direction while preserving order: a chunk never overtakes the one before it. This machine's
 * kernel has no netem; this gives the browser a real, slower path to the relay instead, and one
 * that {@link DelayProxy.cut} can take away for a while.
 */
export async function startDelayProxy(options: {
  targetPort: number;
  delayMs: number;
  jitterMs: number;
  seed?: number;
}): Promise<DelayProxy> {
  const rng = Prng.fromSeed(options.seed ?? 1);
  const sockets = new Set<net.Socket>();
  let chunks = 0;
  const pipe = (from: net.Socket, to: net.Socket): void => {
    // One queue and one timer per direction, so that chunks leave strictly in arrival order
    // (separate timers can fire out of order when their delays round differently).
    const queue: { due: number; chunk: Buffer | null }[] = [];
    let lastDue = 0;
    let timer: NodeJS.Timeout | null = null;
    const drain = (): void => {
      timer = null;
      const now = performance.now();
      while (queue.length > 0 && queue[0].due <= now + 0.5) {
        const { chunk } = queue.shift()!;
        if (chunk === null) to.end();
        else if (!to.destroyed) {
          chunks++;
          to.write(chunk);
        }
      }
      if (queue.length > 0) timer = setTimeout(drain, Math.max(1, queue[0].due - now));
    };
    const push = (chunk: Buffer | null, extraMs: number): void => {
      const jitter = (rng.nextU32() / 2 ** 32) * 2 * options.jitterMs - options.jitterMs;
      const due = Math.max(lastDue, performance.now() + extraMs + jitter);
      lastDue = due;
      queue.push({ due, chunk });
      if (timer === null) timer = setTimeout(drain, Math.max(1, due - performance.now()));
    };
    from.on('data', (chunk) => push(chunk, options.delayMs));
    from.on('end', () => push(null, options.delayMs));
    from.on('error', () => to.destroy());
  };
  let cutUntil = 0;
  const server = net.createServer((client) => {
    if (performance.now() < cutUntil) {
      client.resetAndDestroy();
      return;
    }
    const upstream = net.connect(options.targetPort, '127.0.0.1');
    sockets.add(client);
    sockets.add(upstream);
    client.on('close', () => sockets.delete(client));
    upstream.on('close', () => sockets.delete(upstream));
    pipe(client, upstream);
    pipe(upstream, client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    chunks: () => chunks,
    cut: (ms) => {
      cutUntil = performance.now() + ms;
      for (const s of sockets) s.destroy();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
