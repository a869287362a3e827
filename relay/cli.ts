import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError, Option } from 'commander';
import { SCENE_LIMITS } from '../protocol/index.ts';
import { runBots } from './bots.ts';
import { shutdownDataChannels } from './datachannel.ts';
import { checkSummary, formatExperiment, loadExperiment } from './experiment/index.ts';
import { ExportError, exportDataDir, exportMatchLog } from './export/index.ts';
import {
  ADMIN_TOKEN_ENV,
  BUILTIN_SCENES,
  pythonSceneSettings,
  resolveAdminToken,
  startRelay,
} from './index.ts';
import { formatReplay, replayMatchLog } from './log/index.ts';
import { formatPilot, runPilot } from './pilot.ts';
import { startStudy } from './study/index.ts';

/** What `serve` prints about the admin view. */
function adminLine(url: string, token: string | null): string {
  return token !== null
    ? `admin view at ${url}/admin, replays at ${url}/replay/<match id> (admin token required)`
    : `no admin view (start with --admin-token or ${ADMIN_TOKEN_ENV} to have one)`;
}

function int(name: string, min: number, max: number) {
  return (v: string): number => {
    const n = v.trim() === '' ? Number.NaN : Number(v);
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`${name} must be an integer in ${min}..${max}`);
    }
    return n;
  };
}

function num(name: string, min: number, max: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < min || n > max) {
      throw new InvalidArgumentError(`${name} must be a number in ${min}..${max}`);
    }
    return n;
  };
}

/** `--latency <ms>`: one-way latency of each `who` connection (the impaired link of bots and pilots). */
function latencyOption(who: string): Option {
  return new Option('--latency <ms>', `one-way latency of each ${who} connection, each way`)
    .argParser(num('--latency', 0, 10_000))
    .default(0);
}

/** `--jitter <ms>`: jitter of `--latency`. */
function jitterOption(): Option {
  return new Option('--jitter <ms>', 'jitter of that latency')
    .argParser(num('--jitter', 0, 10_000))
    .default(0);
}

/** `--loss <pct>`: segment loss on the impaired link, retransmitted as TCP does. */
function lossOption(): Option {
  return new Option('--loss <pct>', 'segment loss (retransmitted after an RTO, as TCP does)')
    .argParser(num('--loss', 0, 50))
    .default(0);
}

/** `--udp-ports 50000-50999`: a UDP port range within 1024..65535, begin <= end. */
function portRange(v: string): [number, number] {
  const m = /^(\d+)-(\d+)$/.exec(v.trim());
  const begin = m ? Number(m[1]) : Number.NaN;
  const end = m ? Number(m[2]) : Number.NaN;
  if (!(begin >= 1024 && end <= 65535 && begin <= end)) {
    throw new InvalidArgumentError(
      '--udp-ports must be BEGIN-END within 1024..65535, BEGIN <= END',
    );
  }
  return [begin, end];
}

/** The built web client, beside the sources: `npm run build` (and `npm start`) write it. */
const DEFAULT_WEB_ROOT = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
  'dist',
  'web',
);

const program = new Command();
program
  .name('concord')
  .description('Concord: deterministic multiplayer experiment games. Relay, bots and replay.');

program
  .command('serve')
  .description(
    'run the relay (socket.io on websocket, match logs, GET /healthz); with EXPERIMENT, run that study (the page at / is the study)',
  )
  .argument('[experiment]', 'an experiment file (YAML or JSON) to run as a study')
  .option(
    '--data <dir>',
    "the study's data directory: its participant database <dir>/<id>.sqlite and match logs <dir>/logs",
    './data',
  )
  .addOption(
    // Hosting platforms give the port in PORT; an explicit --port still wins.
    new Option('--port <port>', 'TCP port (0: any free port)')
      .env('PORT')
      .argParser(int('--port', 0, 65535))
      .default(8080),
  )
  .option('--host <host>', 'interface to listen on (default: all)')
  .option('--logs <dir>', 'directory of match logs', './logs')
  .option('--web <dir>', 'built web client to serve at /', DEFAULT_WEB_ROOT)
  .option(
    '--sim <spec>',
    'also serve a Python environment python:FILE[:CLASS] (FILE relative to the cwd) as a scene',
  )
  .option('--scene <name>', "the --sim scene's name (default: from the file's name)")
  .option(
    '--players <n>',
    'players of the --sim scene',
    int('--players', SCENE_LIMITS.players.min, SCENE_LIMITS.players.max),
    2,
  )
  .option(
    '--tick-rate <fps>',
    'frames per second of the --sim scene',
    int('--tick-rate', SCENE_LIMITS.tickRate.min, SCENE_LIMITS.tickRate.max),
    30,
  )
  .option(
    '--udp-address <ip>',
    'local address the UDP sockets of the input DataChannels bind to (default: --host, or all interfaces)',
  )
  .option(
    '--public-address <ip>',
    "address to announce in the relay's ICE candidates: the public address of a 1:1 NAT (a cloud VM's public IP)",
  )
  .option(
    '--udp-ports <begin-end>',
    'UDP port range of the input DataChannels, e.g. 50000-50999; open it in the firewall (default: any)',
    portRange,
  )
  .option('--no-webrtc', 'serve no DataChannels: every input travels on socket.io')
  .option(
    '--admin-token <token>',
    `serve the admin view (/admin) and the replay viewer (/replay/ID) behind this token, 16+ characters (default: $${ADMIN_TOKEN_ENV}, else no admin view)`,
  )
  .action(
    async (
      experimentFile: string | undefined,
      opts: {
        data: string;
        port: number;
        host?: string;
        udpAddress?: string;
        publicAddress?: string;
        udpPorts?: [number, number];
        webrtc: boolean;
        logs: string;
        web: string;
        sim?: string;
        scene?: string;
        players: number;
        tickRate: number;
        adminToken?: string;
      },
      cmd: Command,
    ) => {
      const adminToken = resolveAdminToken(opts.adminToken, process.env);
      const admin = adminToken !== null ? { admin: { token: adminToken } } : {};
      const logsGiven = cmd.getOptionValueSource('logs') === 'cli';
      if (experimentFile !== undefined) {
        if (opts.sim !== undefined) {
          throw new InvalidArgumentError('--sim serves a demo scene: not with an experiment');
        }
        const webrtc = opts.webrtc
          ? {
              bindAddress: opts.udpAddress ?? opts.host ?? '0.0.0.0',
              publicAddress: opts.publicAddress,
              portRangeBegin: opts.udpPorts?.[0],
              portRangeEnd: opts.udpPorts?.[1],
            }
          : (false as const);
        // A malformed file throws BAD_CONFIG naming every field: exit 2, nothing listens.
        const served = await startStudy({
          experiment: experimentFile,
          dataDir: opts.data,
          logsDir: logsGiven ? opts.logs : undefined,
          port: opts.port,
          host: opts.host,
          webRoot: opts.web,
          webrtc,
          onEvent: (event, detail) => console.log(JSON.stringify({ event, ...detail })),
          ...admin,
        });
        const e = served.study.experiment;
        console.log(
          `concord study "${e.id}" (${e.scenes.length} scenes, ${e.cells.length} condition cell${e.cells.length === 1 ? '' : 's'}) on ${served.url}; participants in ${served.study.db.file}, match logs in ${served.relay.logsDir}`,
        );
        console.log(adminLine(served.url, adminToken));
        let stopping = false;
        const stopStudy = (signal: string) => {
          if (stopping) return;
          stopping = true;
          console.log(`${signal}: closing matches, flushing logs, closing the database`);
          served.close(`relay stopped by ${signal}`).then(
            () => {
              shutdownDataChannels();
              process.exit(0);
            },
            (err) => {
              console.error(err);
              process.exit(1);
            },
          );
        };
        process.on('SIGINT', () => stopStudy('SIGINT'));
        process.on('SIGTERM', () => stopStudy('SIGTERM'));
        return;
      }
      if (opts.scene !== undefined && opts.sim === undefined) {
        throw new InvalidArgumentError('--scene names the --sim scene: give --sim too');
      }
      const extra = opts.sim
        ? pythonSceneSettings(opts.sim, {
            name: opts.scene,
            players: opts.players,
            tickRate: opts.tickRate,
          })
        : null;
      const relay = await startRelay({
        port: opts.port,
        host: opts.host,
        logsDir: opts.logs,
        webRoot: opts.web,
        scenes: extra ? { ...BUILTIN_SCENES, [extra.name]: extra } : BUILTIN_SCENES,
        python: extra ? { [extra.name]: { baseDir: process.cwd() } } : undefined,
        webrtc: opts.webrtc
          ? {
              bindAddress: opts.udpAddress ?? opts.host ?? '0.0.0.0',
              publicAddress: opts.publicAddress,
              portRangeBegin: opts.udpPorts?.[0],
              portRangeEnd: opts.udpPorts?.[1],
            }
          : false,
        onEvent: (event, detail) => console.log(JSON.stringify({ event, ...detail })),
        ...admin,
      });
      if (extra)
        console.log(
          `scene "${extra.name}": ${extra.sim}, ${extra.players} players, ${extra.tickRate} fps`,
        );
      console.log(
        `concord relay listening on ${relay.url} (logs in ${opts.logs}, page from ${opts.web})`,
      );
      console.log(adminLine(relay.url, adminToken));
      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) return;
        stopping = true;
        console.log(`${signal}: closing matches and flushing logs`);
        relay.close(`relay stopped by ${signal}`).then(
          () => {
            shutdownDataChannels();
            process.exit(0);
          },
          (err) => {
            console.error(err);
            process.exit(1);
          },
        );
      };
      process.on('SIGINT', () => stop('SIGINT'));
      process.on('SIGTERM', () => stop('SIGTERM'));
    },
  );

program
  .command('bots')
  .description(
    'play matches with headless bots through a relay (its own on loopback without --url)',
  )
  .option('--url <url>', 'relay to join (default: start one on a free loopback port)')
  .option(
    '--scene <name>',
    'scene to join (default duel, or duel-N for N players; with --sim, the name of its scene)',
  )
  .option(
    '--sim <spec>',
    'play a Python environment python:FILE[:CLASS] (FILE relative to the cwd) on a relay started here',
  )
  .option(
    '--tick-rate <fps>',
    'frames per second of the --sim scene (default 30)',
    int('--tick-rate', SCENE_LIMITS.tickRate.min, SCENE_LIMITS.tickRate.max),
  )
  .option('--matches <n>', 'matches to play', int('--matches', 1, 10_000), 1)
  .option(
    '--players <n>',
    'players per match',
    int('--players', SCENE_LIMITS.players.min, SCENE_LIMITS.players.max),
    2,
  )
  .addOption(
    new Option(
      '--transport <kind>',
      "what carries the bots' inputs: webrtc (real DataChannels to the relay, on loopback here), websocket (socket.io only) or auto (default: the scene's setting)",
    ).choices(['auto', 'websocket', 'webrtc']),
  )
  .addOption(
    new Option(
      '--mode <mode>',
      "play the scene in this sync mode (default: the scene's own); authoritative also checks every bot's reconciled states against the host's and that each log replays",
    ).choices(['lockstep', 'rollback', 'authoritative']),
  )
  .option('--frames <n>', 'frames per match', int('--frames', 1, SCENE_LIMITS.frames.max), 600)
  .addOption(latencyOption('bot'))
  .addOption(jitterOption())
  .addOption(lossOption())
  .option(
    '--duplicate <pct>',
    'DataChannel only: chance a datagram arrives twice',
    num('--duplicate', 0, 50),
    0,
  )
  .option(
    '--reorder <pct>',
    'DataChannel only: chance a datagram is held back so later ones overtake it',
    num('--reorder', 0, 50),
    0,
  )
  .option('--seed <n>', 'seed of inputs and impairments', int('--seed', 0, 2 ** 32 - 1), 1)
  .option('--logs <dir>', 'logs directory of the relay started here', './logs')
  .option(
    '--desync-at <frame>',
    'when a step of --desync-peer produces this frame, change by one the first numeric field of ' +
      'its canonical state (keys in sorted order, top-level frame/v/rng/version skipped) that ' +
      'the sim accepts (duel: collected); a sim that overwrites that field before the next hash ' +
      'check hides it',
    int('--desync-at', 1, SCENE_LIMITS.frames.max),
  )
  .option(
    '--desync-peer <slot>',
    'the slot to corrupt',
    int('--desync-peer', 0, SCENE_LIMITS.players.max - 1),
  )
  .option('--drop-peer <slot>', 'the slot whose connection to cut', int('--drop-peer', 0, 15))
  .option('--drop-at <frame>', 'cut it at this frame', int('--drop-at', 0, 10_000_000))
  .option(
    '--drop-for <ms>',
    'and refuse it new connections for this long; its match runner then rejoins the seat',
    int('--drop-for', 0, 3_600_000),
  )
  .option('--json', 'print one JSON object')
  .action(
    async (opts: {
      url?: string;
      scene?: string;
      sim?: string;
      tickRate?: number;
      matches: number;
      players: number;
      frames: number;
      latency: number;
      jitter: number;
      loss: number;
      duplicate: number;
      reorder: number;
      transport?: 'auto' | 'websocket' | 'webrtc';
      mode?: 'lockstep' | 'rollback' | 'authoritative';
      seed: number;
      logs: string;
      desyncAt?: number;
      desyncPeer?: number;
      dropPeer?: number;
      dropAt?: number;
      dropFor?: number;
      json?: boolean;
    }) => {
      if ((opts.desyncAt === undefined) !== (opts.desyncPeer === undefined)) {
        throw new InvalidArgumentError('--desync-at and --desync-peer go together');
      }
      if (
        [opts.dropPeer, opts.dropAt, opts.dropFor].filter((x) => x === undefined).length % 3 !==
        0
      ) {
        throw new InvalidArgumentError('--drop-peer, --drop-at and --drop-for go together');
      }
      if (opts.sim !== undefined && opts.url !== undefined) {
        throw new InvalidArgumentError(
          '--sim starts a relay of its own; to join a Python scene on a running relay use --url and --scene',
        );
      }
      if (opts.tickRate !== undefined && opts.sim === undefined) {
        throw new InvalidArgumentError('--tick-rate sets the --sim scene: give --sim too');
      }
      const report = await runBots({
        url: opts.url,
        scene: opts.scene,
        sim: opts.sim,
        tickRate: opts.tickRate,
        matches: opts.matches,
        players: opts.players,
        frames: opts.frames,
        latencyMs: opts.latency,
        jitterMs: opts.jitter,
        lossPct: opts.loss,
        duplicatePct: opts.duplicate,
        reorderPct: opts.reorder,
        transport: opts.transport,
        mode: opts.mode,
        seed: opts.seed,
        logsDir: opts.logs,
        desyncAt: opts.desyncAt,
        desyncPeer: opts.desyncPeer,
        dropPeer: opts.dropPeer,
        dropAt: opts.dropAt,
        dropForMs: opts.dropFor,
      });
      if (opts.json) {
        console.log(JSON.stringify(report, null, 2));
      } else {
        console.log(
          `${report.matches} matches × ${report.frames} frames: ${report.desyncs} desyncs, ` +
            `${report.rollbacks} rollbacks (max ${report.maxRollbackFrames} frames), ${report.stalls} stalls; ` +
            `input latency p50 ${report.inputLatencyMs.p50} ms, p95 ${report.inputLatencyMs.p95} ms, p99 ${report.inputLatencyMs.p99} ms; ` +
            `inputs took the DataChannel for ${report.webrtcBots} of ${report.matches * opts.players} bots`,
        );
        if (report.desyncs > 0 || report.rejoins > 0) {
          console.log(
            `resyncs ${report.resyncs}: ${report.resyncBytes} bytes sent for ${report.fullStateBytes} bytes of full state; ` +
              `converged within ${report.framesToConverge ?? '-'} frames; ${report.rejoins} rejoins`,
          );
        }
        for (const m of report.perMatch) {
          console.log(
            `  ${m.matchId}  ${m.finished ? 'finished' : 'UNFINISHED'}  ${m.finalHashes.join(' ')}  ${m.logPath ?? '(log on the relay)'}`,
          );
          const a = m.authoritative;
          if (a) {
            console.log(
              `    authoritative: ${a.checks} reconciled states equal the host's (${a.mismatches} differ), ${a.inLog} found in the log, ` +
                `replay ${a.replayed === null ? '-' : a.replayed ? 'ok' : 'FAILED'} (${a.hostRecords} host records); ` +
                `${a.stateBytesPerClientPerS} B/s of state per client (${a.deltas} of ${a.statesReceived} as deltas); ` +
                `late inputs by slot ${a.lateInputs.join(' ')}; re-simulated at most ${a.maxResimulatedFrames} frames`,
            );
          }
        }
        for (const f of report.failures) console.error(`FAIL: ${f}`);
      }
      shutdownDataChannels();
      process.exit(report.failures.length === 0 ? 0 : 1);
    },
  );

program
  .command('pilot')
  .description(
    'run headless participants through a whole study over a real relay on loopback (consent, waiting rooms, games played by bots, surveys with random valid answers, the end); exit 0 only when every one reached the end scene with a code',
  )
  .argument('<experiment>', 'the experiment file (YAML or JSON)')
  .option(
    '--participants <n>',
    'participants, all arriving at once',
    int('--participants', 1, 1000),
    4,
  )
  .addOption(latencyOption('game'))
  .addOption(jitterOption())
  .addOption(lossOption())
  .option(
    '--seed <n>',
    'seed of answers, bot inputs and impairments',
    int('--seed', 0, 2 ** 32 - 1),
    1,
  )
  .option(
    '--data <dir>',
    'keep the database and logs here (default: a temp directory, removed after)',
  )
  .option('--json', 'print one JSON object')
  .action(
    async (
      file: string,
      opts: {
        participants: number;
        latency: number;
        jitter: number;
        loss: number;
        seed: number;
        data?: string;
        json?: boolean;
      },
    ) => {
      const report = await runPilot({
        experiment: file,
        participants: opts.participants,
        latencyMs: opts.latency,
        jitterMs: opts.jitter,
        lossPct: opts.loss,
        seed: opts.seed,
        dataDir: opts.data,
        onProgress: opts.json ? undefined : (i, line) => console.error(`pilot-${i + 1}: ${line}`),
      });
      if (opts.json) console.log(JSON.stringify(report, null, 2));
      else console.log(formatPilot(report));
      for (const f of report.failures) console.error(`FAIL: ${f}`);
      shutdownDataChannels();
      process.exit(report.failures.length === 0 ? 0 : 1);
    },
  );

program
  .command('replay')
  .description('re-simulate a match from its log alone and check every recorded hash')
  .argument('<log>', 'a match log (logs/<match id>.jsonl)')
  .option('--json', 'print one JSON object')
  .option(
    '--export <file>',
    "also write the match's per-frame table to FILE.csv or FILE.jsonl (see docs/your-data.md); refused, and nothing written, when a recorded hash is not reproduced",
  )
  .option(
    '--states-every <n>',
    'with --export: add the state as JSON every N frames',
    int('--states-every', 1, SCENE_LIMITS.frames.max),
  )
  .action(async (log: string, opts: { json?: boolean; export?: string; statesEvery?: number }) => {
    let result: Awaited<ReturnType<typeof replayMatchLog>>;
    if (opts.export !== undefined) {
      try {
        result = (await exportMatchLog(log, opts.export, { statesEvery: opts.statesEvery })).replay;
      } catch (err) {
        if (!(err instanceof ExportError) || err.code === 'BAD_OPTION') throw err;
        console.error(err.message);
        process.exit(1);
      }
    } else {
      if (opts.statesEvery !== undefined) {
        throw new InvalidArgumentError('--states-every goes with --export');
      }
      result = await replayMatchLog(log);
    }
    if (opts.json) console.log(JSON.stringify(result, null, 2));
    else console.log(formatReplay(result));
    if (opts.export !== undefined && !opts.json) console.log(`wrote ${opts.export}`);
    const ok = result.mismatches.length === 0 && result.damaged === null;
    process.exit(ok ? 0 : 1);
  });

program
  .command('export')
  .description(
    "turn a study's data directory (<experiment id>.sqlite and logs/) into tables: participants.csv, " +
      'matches.csv, matches/<match id>/frames.csv and .jsonl (from replaying every log) and codebook.md',
  )
  .argument('<data-dir>', "the study's data directory")
  .option('--out <dir>', 'where to write (default: DATA_DIR/export)')
  .option(
    '--experiment <file>',
    'the experiment file the study ran (needed when DATA_DIR has a participant database, which does not store it)',
  )
  .option(
    '--states-every <n>',
    'add the state as JSON every N frames to the frame tables',
    int('--states-every', 1, SCENE_LIMITS.frames.max),
  )
  .action(
    async (dataDir: string, opts: { out?: string; experiment?: string; statesEvery?: number }) => {
      const summary = await exportDataDir(dataDir, {
        out: opts.out,
        experiment: opts.experiment,
        statesEvery: opts.statesEvery,
      });
      for (const w of summary.warnings) console.error(`warning: ${w}`);
      const frames = summary.matches.reduce((n, m) => n + m.rows, 0);
      console.log(
        `exported ${summary.participants} participants and ${summary.matches.length} matches ` +
          `(${frames} frame rows, every recorded hash reproduced) to ${summary.out}`,
      );
    },
  );

program
  .command('check')
  .description(
    'validate an experiment file and print it with every default filled in (YAML, or JSON with --json); ' +
      'on problems print each with its field path and exit 2',
  )
  .argument('<experiment>', 'the experiment file (YAML or JSON)')
  .option('--json', 'print JSON instead of YAML')
  .action((file: string, opts: { json?: boolean }) => {
    // A bad file throws BAD_CONFIG listing every problem; the handler below prints it, exit 2.
    const experiment = loadExperiment(file);
    const format = opts.json ? 'json' : 'yaml';
    console.error(checkSummary(file, experiment, format));
    process.stdout.write(formatExperiment(experiment, format));
  });

program.parseAsync(process.argv).catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(2);
});
