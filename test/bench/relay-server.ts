/**
 * Child process of the relay benchmark: Concord's relay (`startRelay`) on a free loopback port,
 * writing its match logs into the directory given as the first argument, as a deployed relay
 * would (the logs are part of the cost measured).
 *
 * `node --import tsx test/bench/relay-server.ts <logsDir>`; driven by {@link RelayProcess}.
 */
import { startRelay } from '../../relay/index.ts';
import { serveRelayProcess } from './relay-process.ts';

const logsDir = process.argv[2];
if (!logsDir) throw new Error('usage: relay-server.ts <logsDir>');

await serveRelayProcess(async () => {
  const relay = await startRelay({ port: 0, host: '127.0.0.1', logsDir });
  return {
    url: relay.url,
    forwarded: () => relay.stats().inputsForwarded,
    datagramsOut: () => relay.stats().datagramsOut,
    refused: () => Object.values(relay.stats().refused).reduce((a, n) => a + (n ?? 0), 0),
    close: () => relay.close('benchmark over'),
  };
});
