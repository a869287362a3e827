/**
 * The relay's Prometheus metrics (`GET /metrics`, text format 0.0.4), with prom-client: one
 * registry per relay, read from the counters the relay keeps anyway ({@link RelayStats}) when it
 * is scraped, so the forward path pays nothing for them; plus the forwarding latency histogram,
 * whose buckets the room fills in place ({@link ForwardLatency}), and prom-client's default
 * Node.js metrics (event-loop lag, CPU, memory, GC). Every metric is listed in docs/metrics.md.
 *
 * @packageDocumentation
 */
import { Counter, collectDefaultMetrics, Gauge, type Metric, Registry } from 'prom-client';
import type { SimHostStats } from './sim-host/index.ts';
import type { RelayStats } from './stats.ts';

/**
 * Upper bounds of the forwarding latency buckets, ms. The forward path is synchronous work of
 * a few µs (validate, encode once, send to each other member, append to the log); the upper
 * buckets catch a relay whose sends or log appends stall.
 */
export const FORWARD_LATENCY_BUCKETS_MS: readonly number[] = Object.freeze([
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50,
]);

/**
 * The rooms time the inputs stamped for every this-many-th frame (frame mod 8 = 0): a fixed
 * sample, one input in 8 of each player, so that the two clock reads (about 0.1 µs each, some
 * 1 % of an input's forwarding) cost the forward path an eighth of that.
 */
export const FORWARD_LATENCY_EVERY_FRAMES = 8;

/**
 * The forwarding latency histogram, filled by the rooms in place: {@link observe} adds to a
 * preallocated bucket array (no allocation, no labels), and the registry reads it when scraped.
 * prom-client's own `Histogram.observe` allocates a closure and a label object per call, which
 * the forward path, run for every input, should not.
 */
export class ForwardLatency {
  /** Observations per bucket (not cumulative): `counts[i]` for the i-th bound, the last for +Inf. */
  readonly counts = new Float64Array(FORWARD_LATENCY_BUCKETS_MS.length + 1);
  /** Sum of the observed latencies, ms. */
  sumMs = 0;
  /** Observations. */
  count = 0;

  /** Adds one input's forwarding latency, ms (from its arrival in the room to its last send). */
  observe(ms: number): void {
    const bounds = FORWARD_LATENCY_BUCKETS_MS;
    let i = 0;
    while (i < bounds.length && ms > bounds[i]) i++;
    this.counts[i]++;
    this.sumMs += ms;
    this.count++;
  }
}

/** What {@link relayMetrics} reads when scraped. */
export interface RelayMetricsSources {
  /** The relay's counters as they are now. */
  readonly stats: () => RelayStats;
  /** The rooms' forwarding latency histogram. */
  readonly forwardLatency: ForwardLatency;
  /**
   * Participants by scene id (e.g. the study server's count of participants in each scene of
   * the experiment), read at each scrape; absent: the `concord_participants` gauge has no series.
   */
  readonly participants?: () => Readonly<Record<string, number>>;
  /**
   * The sim host's figures (the worker pool that runs referees and authoritative matches), read
   * at each scrape; absent: the `concord_sim_host_*` metrics have no value.
   */
  readonly simHost?: () => SimHostStats;
  /** Adds prom-client's default Node.js metrics (event-loop lag, CPU, memory, GC); default true. */
  readonly defaultMetrics?: boolean;
}

/**
 * A counter that follows a running total kept elsewhere: at each scrape it adds what the total
 * grew by since the last one (the relay's own counters only grow).
 */
function followingCounter(
  registry: Registry,
  name: string,
  help: string,
  read: () => number,
): Counter {
  let seen = 0;
  return new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      const now = read();
      if (now > seen) this.inc(now - seen);
      seen = now;
    },
  });
}

/** The histogram of {@link ForwardLatency} as a prom-client metric (read at each scrape). */
function latencyMetric(name: string, help: string, h: ForwardLatency): Metric {
  const get = async () => {
    const values: { value: number; labels: Record<string, string | number>; metricName: string }[] =
      [];
    let cumulative = 0;
    FORWARD_LATENCY_BUCKETS_MS.forEach((le, i) => {
      cumulative += h.counts[i];
      values.push({ value: cumulative, labels: { le }, metricName: `${name}_bucket` });
    });
    cumulative += h.counts[FORWARD_LATENCY_BUCKETS_MS.length];
    values.push({ value: cumulative, labels: { le: '+Inf' }, metricName: `${name}_bucket` });
    values.push({ value: h.sumMs, labels: {}, metricName: `${name}_sum` });
    values.push({ value: h.count, labels: {}, metricName: `${name}_count` });
    return { name, help, type: 'histogram' as const, values, aggregator: 'sum' as const };
  };
  return {
    name,
    help,
    type: 'histogram',
    get,
    reset() {
      h.counts.fill(0);
      h.sumMs = 0;
      h.count = 0;
    },
  } as unknown as Metric;
}

/**
 * The relay's metrics registry: see docs/metrics.md for every metric. Reads `sources` only when
 * scraped (`registry.metrics()`). The Node.js metrics are the process's, shared by every relay
 * in it.
 */
export function relayMetrics(sources: RelayMetricsSources): Registry {
  const registry = new Registry();
  const { stats } = sources;
  new Gauge({
    name: 'concord_connections',
    help: 'Open socket.io connections.',
    registers: [registry],
    collect() {
      this.set(stats().connections);
    },
  });
  new Gauge({
    name: 'concord_participants',
    help: 'Participants by scene, as the study server counts them.',
    labelNames: ['scene'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [scene, n] of Object.entries(sources.participants?.() ?? {})) {
        this.set({ scene }, n);
      }
    },
  });
  new Gauge({
    name: 'concord_waiting',
    help: "People in the scenes' waiting queues.",
    registers: [registry],
    collect() {
      this.set(stats().waiting);
    },
  });
  new Gauge({
    name: 'concord_matches_running',
    help: 'Matches under way.',
    registers: [registry],
    collect() {
      this.set(stats().rooms);
    },
  });
  const counters: [string, string, (s: RelayStats) => number][] = [
    ['concord_matches_started_total', 'Matches started.', (s) => s.matchesStarted],
    ['concord_matches_ended_total', 'Matches ended.', (s) => s.matchesEnded],
    [
      'concord_inputs_forwarded_total',
      'Inputs forwarded (each once, however many members it went to; rate() gives inputs per second). Includes the default inputs played for away players.',
      (s) => s.inputsForwarded,
    ],
    ['concord_desyncs_total', 'Checks whose state hashes differed.', (s) => s.desyncs],
    ['concord_resyncs_total', 'State transfers that repaired a desync.', (s) => s.resyncs],
    ['concord_rejoins_total', 'Players who came back to their match.', (s) => s.rejoins],
  ];
  for (const [name, help, read] of counters) {
    followingCounter(registry, name, help, () => read(stats()));
  }
  const refusedSeen = new Map<string, number>();
  new Counter({
    name: 'concord_refused_messages_total',
    help: 'Messages refused (an error reply, never forwarded), by reason (the protocol error code).',
    labelNames: ['reason'],
    registers: [registry],
    collect() {
      for (const [reason, n] of Object.entries(stats().refused)) {
        const seen = refusedSeen.get(reason) ?? 0;
        if ((n ?? 0) > seen) this.inc({ reason }, (n ?? 0) - seen);
        else this.inc({ reason }, 0); // the series exists from its first refusal on
        refusedSeen.set(reason, n ?? 0);
      }
    },
  });
  registry.registerMetric(
    latencyMetric(
      'concord_forward_latency_ms',
      "Time from an input's arrival in its room to its last send to the other members (validation, encoding, sends, log append), ms; inputs of every 8th frame.",
      sources.forwardLatency,
    ),
  );
  const simHost = sources.simHost;
  if (simHost) {
    const gauges: [string, string, (h: SimHostStats) => number][] = [
      ['concord_sim_host_workers', 'Sim host worker threads running.', (h) => h.workers],
      [
        'concord_sim_host_matches',
        'Matches open on the sim host (referees and authoritative).',
        (h) => h.matches,
      ],
      [
        'concord_sim_host_queue_length',
        'Sim host requests sent and not yet answered.',
        (h) => h.queueLength,
      ],
      [
        'concord_sim_host_step_us_per_frame',
        "Mean time in the sim's step per frame on the sim host, µs.",
        (h) => h.usPerFrame,
      ],
    ];
    for (const [name, help, read] of gauges) {
      new Gauge({
        name,
        help,
        registers: [registry],
        collect() {
          this.set(read(simHost()));
        },
      });
    }
    followingCounter(
      registry,
      'concord_sim_host_frames_stepped_total',
      'Frames the sim host stepped.',
      () => simHost().framesStepped,
    );
    followingCounter(
      registry,
      'concord_sim_host_restarts_total',
      'Sim host workers that died or stalled and were replaced.',
      () => simHost().restarts,
    );
  }
  return sources.defaultMetrics === false ? registry : Registry.merge([registry, processMetrics()]);
}

let processRegistry: Registry | null = null;

/**
 * prom-client's default metrics of this process, collected once however many relays it runs
 * (each collection starts its own event-loop delay monitor and GC observer, never stopped).
 */
function processMetrics(): Registry {
  if (processRegistry === null) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}
