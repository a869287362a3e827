import { ImpairedLink, type LinkImpairment, type LinkStats } from './impaired-link.ts';
import { deriveSeed } from './rng.ts';
import type { Scheduler } from './scheduler.ts';

/** A peer's index in a network (0 … peers − 1), or the star network's relay hub. */
export type Endpoint = number | 'relay';

/** The counters of one link of a network. */
export interface NetworkLinkStats {
  readonly from: Endpoint;
  readonly to: Endpoint;
  readonly stats: LinkStats;
}

/** The counters of a whole network: the sum over its links, and each link's own. */
export interface NetworkStats {
  readonly total: LinkStats;
  readonly links: readonly NetworkLinkStats[];
}

/** N peers joined by impaired links; built by {@link createStarNetwork} or {@link createMeshNetwork}. */
export interface VirtualNetwork<T> {
  /** How many peers. */
  readonly peers: number;
  /**
   * Sends `msg` from peer `from` to every other peer.
   * @throws RangeError if `from` is not a peer index.
   */
  send(from: number, msg: T): void;
  /**
   * Sends `msg` from peer `from` to peer `to` only.
   * @throws RangeError if either is not a peer index, or they are the same peer.
   */
  sendTo(from: number, to: number, msg: T): void;
  /** A snapshot of every link's counters. */
  stats(): NetworkStats;
  /** Closes every link: nothing more is delivered. */
  close(): void;
}

/** Called when a message reaches peer `to`; `from` is the peer that sent it. */
export type NetworkDeliver<T> = (to: number, from: number, msg: T) => void;

/** Options of {@link createStarNetwork}. */
export interface StarNetworkOptions<T> {
  /** Number of peers (an integer >= 1). */
  readonly peers: number;
  /** Usually a `VirtualClock`; any {@link Scheduler} works. */
  readonly clock: Scheduler;
  /** Run seed; each link gets its own stream derived from it. */
  readonly seed: number;
  /**
   * One impairment for every peer's path to the relay, or one per peer (length `peers`).
   * Peer i's uplink (i → relay) and downlink (relay → i) both use entry i.
   */
  readonly impairment: LinkImpairment | readonly LinkImpairment[];
  /** The receiver of every peer. */
  readonly deliver: NetworkDeliver<T>;
}

interface Envelope<T> {
  readonly from: number;
  /** undefined: every peer but the sender. */
  readonly to: number | undefined;
  readonly msg: T;
}

function checkPeers(peers: number): void {
  if (!(Number.isInteger(peers) && peers >= 1)) {
    throw new RangeError(`peers must be an integer >= 1, got ${peers}`);
  }
}

function checkPeer(peers: number, peer: number, what: string): void {
  if (!(Number.isInteger(peer) && peer >= 0 && peer < peers)) {
    throw new RangeError(`${what} must be a peer index in [0, ${peers}), got ${peer}`);
  }
}

function sumStats(links: readonly NetworkLinkStats[]): LinkStats {
  const total = {
    sent: 0,
    delivered: 0,
    lost: 0,
    dropped: 0,
    duplicated: 0,
    reordered: 0,
    inFlight: 0,
  };
  for (const { stats } of links) {
    for (const key of Object.keys(total) as (keyof LinkStats)[]) total[key] += stats[key];
  }
  return total;
}

/**
 * Peers talking through one relay hub, as in a Concord match: each peer has an impaired uplink
 * to the relay and an impaired downlink from it, and the relay forwards instantly. A message
 * from A to B crosses A's uplink and then B's downlink, so giving each peer its own impairment
 * models each player's own internet path. A broadcast crosses the sender's uplink once and
 * then each other peer's downlink.
 *
 * Link seeds: peer i's uplink uses `deriveSeed(seed, 2i)`, its downlink `deriveSeed(seed, 2i + 1)`.
 * @throws RangeError if `peers` is not an integer >= 1, the impairment list has the wrong
 *   length, or an impairment is invalid (see `resolveImpairment`).
 */
export function createStarNetwork<T>(options: StarNetworkOptions<T>): VirtualNetwork<T> {
  const { peers, clock, seed, deliver } = options;
  checkPeers(peers);
  const impairmentOf = perPeer(options.impairment, peers);

  const downlinks = Array.from(
    { length: peers },
    (_, i) =>
      new ImpairedLink<{ readonly from: number; readonly msg: T }>({
        clock,
        impairment: impairmentOf(i),
        seed: deriveSeed(seed, 2 * i + 1),
        deliver: ({ from, msg }) => deliver(i, from, msg),
      }),
  );
  const relay = ({ from, to, msg }: Envelope<T>): void => {
    for (let peer = 0; peer < peers; peer++) {
      if (peer !== from && (to === undefined || to === peer)) downlinks[peer].send({ from, msg });
    }
  };
  const uplinks = Array.from(
    { length: peers },
    (_, i) =>
      new ImpairedLink<Envelope<T>>({
        clock,
        impairment: impairmentOf(i),
        seed: deriveSeed(seed, 2 * i),
        deliver: relay,
      }),
  );

  const linkStats = (): NetworkLinkStats[] => [
    ...uplinks.map((link, i) => ({ from: i, to: 'relay' as const, stats: link.stats() })),
    ...downlinks.map((link, i) => ({ from: 'relay' as const, to: i, stats: link.stats() })),
  ];
  return {
    peers,
    send(from, msg) {
      checkPeer(peers, from, 'from');
      uplinks[from].send({ from, to: undefined, msg });
    },
    sendTo(from, to, msg) {
      checkPeer(peers, from, 'from');
      checkPeer(peers, to, 'to');
      if (from === to) throw new RangeError(`peer ${from} cannot send to itself`);
      uplinks[from].send({ from, to, msg });
    },
    stats() {
      const links = linkStats();
      return { total: sumStats(links), links };
    },
    close() {
      for (const link of [...uplinks, ...downlinks]) link.close();
    },
  };
}

function perPeer(
  impairment: LinkImpairment | readonly LinkImpairment[],
  peers: number,
): (peer: number) => LinkImpairment {
  if (!isList(impairment)) return () => impairment;
  if (impairment.length !== peers) {
    throw new RangeError(`impairment list has ${impairment.length} entries for ${peers} peers`);
  }
  return (peer) => impairment[peer];
}

function isList(
  impairment: LinkImpairment | readonly LinkImpairment[],
): impairment is readonly LinkImpairment[] {
  return Array.isArray(impairment);
}

/** Options of {@link createMeshNetwork}. */
export interface MeshNetworkOptions<T> {
  /** Number of peers (an integer >= 1). */
  readonly peers: number;
  /** Usually a `VirtualClock`; any {@link Scheduler} works. */
  readonly clock: Scheduler;
  /** Run seed; each link gets its own stream derived from it. */
  readonly seed: number;
  /** One impairment for every link, or the impairment of the direct link `from` → `to`. */
  readonly impairment: LinkImpairment | ((from: number, to: number) => LinkImpairment);
  /** The receiver of every peer. */
  readonly deliver: NetworkDeliver<T>;
}

/**
 * Peers joined directly, one impaired link per ordered pair (peer-to-peer, as GGPO and GGRS
 * sessions run). Link i → j uses `deriveSeed(seed, i·peers + j)`.
 * @throws RangeError if `peers` is not an integer >= 1 or an impairment is invalid.
 */
export function createMeshNetwork<T>(options: MeshNetworkOptions<T>): VirtualNetwork<T> {
  const { peers, clock, seed, deliver, impairment } = options;
  checkPeers(peers);
  const impairmentOf = typeof impairment === 'function' ? impairment : () => impairment;
  const links: (ImpairedLink<T> | undefined)[][] = Array.from({ length: peers }, (_, from) =>
    Array.from({ length: peers }, (_, to) =>
      from === to
        ? undefined
        : new ImpairedLink<T>({
            clock,
            impairment: impairmentOf(from, to),
            seed: deriveSeed(seed, from * peers + to),
            deliver: (msg) => deliver(to, from, msg),
          }),
    ),
  );
  const all = (): { from: number; to: number; link: ImpairedLink<T> }[] =>
    links.flatMap((row, from) => row.flatMap((link, to) => (link ? [{ from, to, link }] : [])));

  return {
    peers,
    send(from, msg) {
      checkPeer(peers, from, 'from');
      for (const link of links[from]) link?.send(msg);
    },
    sendTo(from, to, msg) {
      checkPeer(peers, from, 'from');
      checkPeer(peers, to, 'to');
      const link = links[from][to];
      if (!link) throw new RangeError(`peer ${from} cannot send to itself`);
      link.send(msg);
    },
    stats() {
      const stats = all().map(({ from, to, link }) => ({ from, to, stats: link.stats() }));
      return { total: sumStats(stats), links: stats };
    },
    close() {
      for (const { link } of all()) link.close();
    },
  };
}
