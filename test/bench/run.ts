import { authoritativeBench } from './authoritative.ts';
import { deltaBench } from './delta.ts';
import { interestBench } from './interest.ts';
import { pythonBench } from './python.ts';
import { refereeBench } from './referee.ts';
import { relayBench } from './relay.ts';
import { rollbackBench } from './rollback.ts';
import { transportBench } from './transport.ts';

/**
 * `npm run bench [-- SUITE] [-- --json]`: runs a benchmark suite and prints a table, or with
 * `--json` one JSON object (the tables then go to stderr). Suites: `rollback` (default), `delta`,
 * `relay` (flags such as `--seconds=5 --bots=100,500`: see test/bench/relay.ts), `python` (the
 * kitchen Python sim beside duel: Pyodide load, per-frame costs, an 8-frame rollback), `referee`
 * (one desync arbitration re-simulated in the sim host's worker beside in-process), `transport`
 * (inputs over websocket and over WebRTC DataChannels under loss: see test/bench/transport.ts),
 * `authoritative` (duel rooms per relay process's sim host at 60 Hz before a tick overruns; bytes
 * per client per second of host states, deltas beside full: see test/bench/authoritative.ts),
 * `interest` (authoritative mode's state bytes per client: full, delta, interest management).
 */
const suites: Record<string, () => Promise<Record<string, unknown>>> = {
  rollback: rollbackBench,
  delta: deltaBench,
  relay: relayBench,
  python: pythonBench,
  referee: refereeBench,
  transport: transportBench,
  authoritative: authoritativeBench,
  interest: interestBench,
};

const args = process.argv.slice(2);
const json = args.includes('--json');
const names = args.filter((a) => !a.startsWith('--'));
const chosen = names.length > 0 ? names : ['rollback'];
for (const n of chosen) {
  if (!suites[n]) {
    console.error(`unknown suite "${n}" (known: ${Object.keys(suites).join(', ')})`);
    process.exit(2);
  }
}
if (json) console.log = (...a: unknown[]) => console.error(...a);
const results: Record<string, unknown> = {};
for (const n of chosen) results[n] = await suites[n]();
if (json) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
