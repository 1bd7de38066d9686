/**
 * `stateroom serve <service>`: thin, like upstream's `serve.rs`. Flags become `serve()`
 * options, the file becomes a service, and Ctrl-C / SIGTERM shut down cleanly.
 *
 * The server and the service loader are imported only by the processes that serve: the
 * primary of `--workers N` only routes sockets, and costs no more memory than that takes.
 * @module
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Option, type Command } from 'commander';
import { workerOf } from '../cluster/affinity.js';
import { Primary, forkSelf } from '../cluster/primary.js';
import { failStart, runWorker, workerIndex } from '../cluster/worker.js';
import { displayUrl } from '../display-url.js';
import { DirectoryStore } from '../durability/dir-store.js';
import { ErrorCode, StateroomError, describeThrown } from '../errors.js';
import { createLogger, type LogLevel } from '../logger.js';
import { DEFAULT_SERVER_OPTIONS, resolveServerOptions, type ServerOptions } from '../options.js';
import type { LoadedService } from '../project/load-service.js';
import { DEFAULT_WASM_HOST_OPTIONS, type WasmHostOptions, type WasmIsolation } from '../wasm/host-options.js';
import { withClusterTable } from './config-file.js';
import { parseBytes, parseCount, parseLogLevel, parseMebibytes, parsePort, parseSeconds, parseSize } from './args.js';
import { stopOnSignals } from './signals.js';

interface ServeFlags {
  port: number;
  host: string;
  heartbeatInterval: number;
  heartbeatTimeout: number;
  roomIdleTimeout: number;
  maxMessageSize: number;
  static?: string;
  client?: string;
  logLevel: LogLevel;
  resumeGrace: number;
  maxClientsPerRoom: number;
  maxRooms: number;
  allowedOrigin: string[];
  messageRateLimit: number;
  byteRateLimit: number;
  connectionRateLimit: number;
  staticDotfiles: boolean;
  headersTimeout: number;
  maxUnrouted: number;
  maxUnroutedPerAddress: number;
  metricsPort?: number;
  metricsHost: string;
  metricsToken?: string;
  metricsTokenFile?: string;
  callTimeout: number;
  wasmMemoryLimit: number;
  wasmIsolation: WasmIsolation;
  wasmPoolSize: number;
  wasmMaxInstances: number;
  wasmMemoryBudget: number;
  wasmStartTimeout: number;
  workers: number;
  stateDir?: string;
  snapshotInterval: number;
  hibernateAfter: number;
  maxSavedRooms: number;
  redis?: string;
  nodeUrl?: string;
  clusterSecretFile?: string;
  leaseTtl: number;
  config?: string;
}

const d = DEFAULT_SERVER_OPTIONS;
const w = DEFAULT_WASM_HOST_OPTIONS;

/** A flag in seconds whose default (kept in ms) is shown in seconds. */
const seconds = (flags: string, description: string, defaultMs: number): Option =>
  new Option(flags, description).argParser(parseSeconds).default(defaultMs, String(defaultMs / 1000));

/** Adds the `serve` command to `program`. */
export function addServeCommand(program: Command): void {
  program
    .command('serve')
    .description('serve a service: each room id gets its own instance, created when its first client joins /ws/<room>')
    .argument(
      '<service>',
      'a .ts/.mts/.js/.mjs module whose default export is a service class or a factory (roomId, ctx) => service (an authorize export admits clients); a .wasm/.wat guest; or a directory holding server.wasm (and static/)',
    )
    .option('-p, --port <port>', 'TCP port to listen on (0 picks a free one)', parsePort, d.port)
    .option('--host <address>', 'interface to listen on', d.host)
    .addOption(seconds('--heartbeat-interval <seconds>', 'ping every client this often (0 turns the heartbeat off)', d.heartbeatIntervalMs))
    .addOption(seconds('--heartbeat-timeout <seconds>', 'drop a client not heard from for this long', d.heartbeatTimeoutMs))
    .addOption(seconds('--room-idle-timeout <seconds>', 'dispose a room this long after its last client left', d.roomIdleMs))
    .addOption(seconds('--resume-grace <seconds>', 'keep a dropped client\'s seat (with ?token=) this long for a resume; 0 turns resume off', d.resumeGraceMs))
    .option('--max-message-size <bytes>', 'close a client that sends a larger message (code 1009)', parseBytes, d.maxPayloadBytes)
    .option('--max-clients-per-room <n>', 'refuse more clients in one room with 503 (0: no limit)', parseCount, d.maxClientsPerRoom)
    .option('--max-rooms <n>', 'refuse new rooms past this many with 503 (0: no limit)', parseCount, d.maxRooms)
    .addOption(
      new Option('--allowed-origin <origin>', 'allow browsers from this origin only (repeatable)')
        .argParser((v: string, all: string[]) => [...all, v])
        .default([], 'any origin'),
    )
    .option('--message-rate-limit <n>', 'messages per second one client may send; more are dropped, and 1008 if it persists (0: no limit)', parseCount, d.messageRateLimit)
    .option('--byte-rate-limit <bytes>', 'payload bytes per second one client may send (0: no limit)', parseCount, d.byteRateLimit)
    .option('--connection-rate-limit <n>', 'connection attempts per minute from one IP; more get 429 (0: no limit)', parseCount, d.connectionRateLimit)
    .option('--metrics-port <port>', 'serve /metrics on this port of its own (0 picks a free one) instead of the main port', parsePort)
    .option('--metrics-host <address>', 'interface the --metrics-port listens on', d.metricsHost)
    .option('--metrics-token <token>', '/metrics asks for "Authorization: Bearer <token>" (visible to other users in ps: prefer --metrics-token-file)')
    .option('--metrics-token-file <file>', 'read the --metrics-token from this file (surrounding whitespace ignored)')
    .option('--static <dir>', 'serve the files in <dir> at / (index.html for directories)')
    .option('--client <dir>', 'serve the files in <dir> at /client/')
    .option('--static-dotfiles', 'also serve files whose names start with a dot (.env, .git/): refused with 404 by default', d.staticDotfiles)
    .addOption(seconds('--headers-timeout <seconds>', 'a connection must send its request line and headers within this long of connecting, however slowly (408 past it)', d.headersTimeoutMs))
    .option('--max-unrouted <n>', 'most connections whose request has not arrived yet; more are closed (0: no limit)', parseCount, d.maxUnroutedConnections)
    .option('--max-unrouted-per-address <n>', 'most such connections from one IP address (0: no limit)', parseCount, d.maxUnroutedPerAddress)
    .addOption(seconds('--call-timeout <seconds>', 'cut off a WASM room whose call runs longer (0: no limit)', w.callTimeoutMs))
    .addOption(
      new Option('--wasm-memory-limit <MiB>', 'fail a WASM room whose memory grows past this')
        .argParser(parseMebibytes)
        .default(w.memoryLimitBytes, String(w.memoryLimitBytes / 2 ** 20)),
    )
    .addOption(
      new Option(
        '--wasm-isolation <mode>',
        'pool: WASM rooms share --wasm-pool-size threads (a runaway guest fails the rooms on its thread); worker: a thread per room; inline: on the server thread, trusted guests only',
      )
        .choices(['pool', 'worker', 'inline'])
        .default(w.isolation),
    )
    .addOption(
      new Option('--wasm-pool-size <n>', 'threads shared by WASM rooms (--wasm-isolation pool), per process')
        .argParser(parseSize)
        .default(w.poolSize, 'one per core, at least 2'),
    )
    .addOption(
      new Option('--wasm-max-instances <n>', 'refuse new WASM rooms with 503 past this many instances per process (0: no limit)')
        .argParser(parseCount)
        .default(w.maxInstances, `${w.maxInstances}: half of what the address space holds at ~10 GiB per instance`),
    )
    .addOption(
      new Option('--wasm-memory-budget <MiB>', 'refuse new WASM rooms with 503 while all guest memory of the process holds this much (0: no limit)')
        .argParser((text: string) => parseCount(text) * 2 ** 20)
        .default(w.memoryBudgetBytes, `${Math.floor(w.memoryBudgetBytes / 2 ** 20)}: half of the machine's memory, shared by the --workers processes`),
    )
    .addOption(seconds('--wasm-start-timeout <seconds>', 'fail a WASM room whose instance has not started after this long; only that room (0: no limit)', w.startTimeoutMs))
    .option('--state-dir <dir>', 'durable rooms: save rooms in <dir> (on shutdown, after changes, when idle) and restore them from it; see docs/durability.md')
    .addOption(seconds('--snapshot-interval <seconds>', 'with --state-dir: save a changed room again within this long (what a crash can lose)', d.snapshotIntervalMs))
    .addOption(seconds('--hibernate-after <seconds>', 'with --state-dir: free the instance of a WASM room with no event for this long, keeping its clients (0: never)', d.hibernateAfterMs))
    .option('--max-saved-rooms <n>', 'with --state-dir: refuse new room ids with 503 once this many rooms are saved, so clients cannot fill the disk (0: no limit)', parseCount, d.maxSavedRooms)
    .option('--redis <url>', 'scale out: the Redis that holds room leases and images (redis://host:port, redis+sentinel://…, redis+cluster://…); see docs/cluster.md')
    .option('--node-url <url>', 'with --redis: how other nodes reach this one, e.g. ws://10.0.0.5:8080')
    .option('--cluster-secret-file <file>', 'with --redis: a file holding the secret every node shares (at least 32 characters)')
    .option('--config <file>', 'read the [cluster] table (redis, node_url, secret_file, lease_ttl) from this file; flags win over it (default: ./stateroom.toml, when there is one)')
    .addOption(seconds('--lease-ttl <seconds>', "with --redis: a room's lease lasts this long without renewal (a dead node's rooms move after at most this)", d.leaseTtlMs))
    .addOption(
      new Option('--workers <n>', 'server processes; each room lives in exactly one, chosen from its id (1: a single process)')
        .argParser(parseSize)
        .default(availableParallelism(), 'the number of cores'),
    )
    .option('--log-level <level>', 'quietest level logged: trace, debug, info, warn, error, fatal or silent', parseLogLevel, d.logLevel)
    .addHelpText('after', '\nRooms: ws://<host>:<port>/ws/<room> (plain /ws is room "1"); GET /status answers ok. See docs/cli.md.')
    .action(async (file: string, flags: ServeFlags, command: Command) => {
      try {
        await serveCommand(file, flags, command);
      } catch (err) {
        throw inFlagTerms(err);
      }
    });
}

async function serveCommand(file: string, given: ServeFlags, command: Command): Promise<void> {
  const flags = await withClusterTable(given, command);
  // The default memory budget is the machine's: each of --workers N processes gets its share.
  const shareBudget = command.getOptionValueSource('wasmMemoryBudget') === 'default';
  const wasm = toWasmHostOptions(flags, shareBudget);
  const worker = workerIndex();
  if (worker !== undefined) {
    await serveAsWorker(file, wasm, flags, worker);
  } else if (flags.workers > 1) {
    // The primary never loads the service (a worker that cannot tells it why, and it says so
    // once) nor calls serve(): a state directory that cannot be used and a bad combination
    // of options are checked here, one line before any worker starts.
    if (flags.stateDir !== undefined) await DirectoryStore.open(flags.stateDir);
    resolveServerOptions(toServerOptions(flags));
    await serveAsPrimary(flags);
  } else {
    const [{ loadService }, { serve }] = await Promise.all([import('../project/load-service.js'), import('../serve.js')]);
    const loaded = await loadService(file, wasm);
    stopOnSignals(await serve(loaded.service, serverOptions(flags, loaded)));
  }
}

/** The flag behind a `serve()` option, and the unit the flag takes (`ms` options: seconds). */
const FLAGS: Readonly<Record<string, { flag: string; seconds?: true }>> = {
  port: { flag: '--port' },
  host: { flag: '--host' },
  heartbeatIntervalMs: { flag: '--heartbeat-interval', seconds: true },
  heartbeatTimeoutMs: { flag: '--heartbeat-timeout', seconds: true },
  roomIdleMs: { flag: '--room-idle-timeout', seconds: true },
  resumeGraceMs: { flag: '--resume-grace', seconds: true },
  maxPayloadBytes: { flag: '--max-message-size' },
  maxClientsPerRoom: { flag: '--max-clients-per-room' },
  maxRooms: { flag: '--max-rooms' },
  allowedOrigins: { flag: '--allowed-origin' },
  messageRateLimit: { flag: '--message-rate-limit' },
  byteRateLimit: { flag: '--byte-rate-limit' },
  connectionRateLimit: { flag: '--connection-rate-limit' },
  metricsPort: { flag: '--metrics-port' },
  metricsHost: { flag: '--metrics-host' },
  metricsToken: { flag: '--metrics-token' },
  staticDotfiles: { flag: '--static-dotfiles' },
  headersTimeoutMs: { flag: '--headers-timeout', seconds: true },
  maxUnroutedConnections: { flag: '--max-unrouted' },
  maxUnroutedPerAddress: { flag: '--max-unrouted-per-address' },
  stateDir: { flag: '--state-dir' },
  snapshotIntervalMs: { flag: '--snapshot-interval', seconds: true },
  hibernateAfterMs: { flag: '--hibernate-after', seconds: true },
  maxSavedRooms: { flag: '--max-saved-rooms' },
  redis: { flag: '--redis' },
  nodeUrl: { flag: '--node-url' },
  clusterSecret: { flag: '--cluster-secret-file' },
  leaseTtlMs: { flag: '--lease-ttl', seconds: true },
  logLevel: { flag: '--log-level' },
};

/**
 * A `serve()` option error, reworded for the command line: option names become the flags the
 * user typed, and milliseconds the seconds they typed (`--heartbeat-timeout (30 s) must be
 * greater than --heartbeat-interval (60 s)`). `serve()` keeps its own wording for code.
 */
function inFlagTerms(err: unknown): unknown {
  if (!(err instanceof StateroomError) || err.code !== ErrorCode.OPTIONS_INVALID) return err;
  const option = typeof err.context.option === 'string' ? err.context.option : undefined;
  if (option === undefined || FLAGS[option] === undefined) return err;
  const names = Object.keys(FLAGS).sort((a, b) => b.length - a.length).join('|');
  const inSeconds = (name: string, ms: string): string => (FLAGS[name]?.seconds ? `${Number(ms) / 1000} s` : ms);
  let message = err.message
    // `heartbeatTimeoutMs (30000)` → `--heartbeat-timeout (30 s)`
    .replace(new RegExp(`\\b(${names}) \\((\\d+)\\)`, 'g'), (_, name: string, ms: string) => `${FLAGS[name]?.flag} (${inSeconds(name, ms)})`);
  const range = /must be a whole number from (\d+) to (\d+), not (\d+)$/.exec(message);
  if (range && FLAGS[option]?.seconds) {
    const [, min = '', max = '', value = ''] = range;
    message = message.replace(range[0], `must be from ${inSeconds(option, min)} to ${inSeconds(option, max)}, not ${inSeconds(option, value)}`);
  }
  // camelCase names anywhere; a one-word name (`port`, `redis`) only where it starts the message.
  const camel = Object.keys(FLAGS).filter((name) => /[A-Z]/.test(name)).sort((a, b) => b.length - a.length).join('|');
  message = message
    .replace(new RegExp(`(?<![-\\w])(${camel})\\b`, 'g'), (name: string) => FLAGS[name]?.flag ?? name)
    .replace(new RegExp(`^(${names})\\b`), (name: string) => FLAGS[name]?.flag ?? name);
  return new StateroomError(err.code, message, err.context, { cause: err });
}

/**
 * The flags' options, plus what came with the service: its `static/` and its `authorize`
 * export. Each process that loads the module runs its own `authorize`: the single process,
 * or — with `--workers N` — the worker that serves the connection's room (the primary only
 * reads request lines and hands sockets over).
 */
function serverOptions(flags: ServeFlags, loaded: LoadedService): ServerOptions {
  const options = toServerOptions(flags);
  return { ...options, staticDir: options.staticDir ?? loaded.staticDir, authorize: loaded.authorize };
}

/** One of `--workers N`: the same server, fed connections by the primary. */
async function serveAsWorker(file: string, wasm: WasmHostOptions, flags: ServeFlags, index: number): Promise<void> {
  const [{ loadService }, { serveAdopted }] = await Promise.all([import('../project/load-service.js'), import('../serve.js')]);
  let loaded: LoadedService;
  try {
    loaded = await loadService(file, wasm);
  } catch (err) {
    return failStart(err);
  }
  const logger = createLogger(flags.logLevel).child({ worker: index });
  const owns = (roomId: string): boolean => workerOf(roomId, flags.workers) === index;
  // The primary counts connection attempts where they arrive; counting again here would
  // only see the share this worker got.
  runWorker(await serveAdopted(loaded.service, { ...serverOptions(flags, loaded), connectionRateLimit: 0, logger }, `worker ${index}`, owns));
  logger.info({ pid: process.pid }, `worker ${index} ready`);
}

/** The primary of `--workers N`: accepts, and hands each connection to its room's worker. */
async function serveAsPrimary(flags: ServeFlags): Promise<void> {
  const log = createLogger(flags.logLevel);
  const { host, workers } = flags;
  const shutdownTimeoutMs = DEFAULT_SERVER_OPTIONS.shutdownTimeoutMs;
  const { primary, port, metricsPort } = await Primary.start(
    {
      workers,
      host,
      port: flags.port,
      shutdownTimeoutMs,
      spawn: forkSelf,
      connectionRateLimit: flags.connectionRateLimit,
      metricsPort: flags.metricsPort,
      metricsHost: flags.metricsHost,
      metricsToken: metricsToken(flags),
      headersTimeoutMs: flags.headersTimeout,
      maxUnroutedConnections: flags.maxUnrouted,
      maxUnroutedPerAddress: flags.maxUnroutedPerAddress,
    },
    log,
  );
  const url = displayUrl(host, port);
  if (metricsPort !== undefined) log.info({ metricsPort, metricsHost: flags.metricsHost }, `metrics on ${displayUrl(flags.metricsHost, metricsPort)}/metrics`);
  log.info({ url, host, port, workers }, `listening on ${url} (WebSockets: ${url.replace('http', 'ws')}/ws/<room>) with ${workers} workers`);
  stopOnSignals({ close: () => primary.close() }, () => primary.kill());
}

function toServerOptions(flags: ServeFlags): ServerOptions {
  return {
    port: flags.port,
    host: flags.host,
    heartbeatIntervalMs: flags.heartbeatInterval,
    heartbeatTimeoutMs: flags.heartbeatTimeout,
    roomIdleMs: flags.roomIdleTimeout,
    maxPayloadBytes: flags.maxMessageSize,
    staticDir: flags.static,
    clientDir: flags.client,
    logLevel: flags.logLevel,
    resumeGraceMs: flags.resumeGrace,
    maxClientsPerRoom: flags.maxClientsPerRoom,
    maxRooms: flags.maxRooms,
    allowedOrigins: flags.allowedOrigin,
    messageRateLimit: flags.messageRateLimit,
    byteRateLimit: flags.byteRateLimit,
    connectionRateLimit: flags.connectionRateLimit,
    staticDotfiles: flags.staticDotfiles,
    headersTimeoutMs: flags.headersTimeout,
    maxUnroutedConnections: flags.maxUnrouted,
    maxUnroutedPerAddress: flags.maxUnroutedPerAddress,
    metricsPort: flags.metricsPort,
    metricsHost: flags.metricsHost,
    metricsToken: metricsToken(flags),
    stateDir: flags.stateDir,
    snapshotIntervalMs: flags.snapshotInterval,
    hibernateAfterMs: flags.hibernateAfter,
    maxSavedRooms: flags.maxSavedRooms,
    redis: flags.redis,
    nodeUrl: flags.nodeUrl,
    clusterSecret: clusterSecret(flags),
    leaseTtlMs: flags.leaseTtl,
  };
}

/** The cluster secret, read from --cluster-secret-file (never a flag: it would show in ps). */
function clusterSecret(flags: ServeFlags): string | undefined {
  if (flags.clusterSecretFile === undefined) return undefined;
  try {
    return readFileSync(flags.clusterSecretFile, 'utf8').trim();
  } catch (cause) {
    throw new StateroomError(ErrorCode.OPTIONS_INVALID, `--cluster-secret-file ${flags.clusterSecretFile} cannot be read: ${describeThrown(cause)}`, { option: 'clusterSecret', file: flags.clusterSecretFile }, { cause });
  }
}

/** The metrics token, from --metrics-token or the file --metrics-token-file names. */
function metricsToken(flags: ServeFlags): string | undefined {
  if (flags.metricsTokenFile === undefined) return flags.metricsToken;
  try {
    return readFileSync(flags.metricsTokenFile, 'utf8').trim();
  } catch (cause) {
    throw new StateroomError(ErrorCode.OPTIONS_INVALID, `--metrics-token-file ${flags.metricsTokenFile} cannot be read: ${describeThrown(cause)}`, { option: 'metricsToken', file: flags.metricsTokenFile }, { cause });
  }
}

function toWasmHostOptions(flags: ServeFlags, shareBudget: boolean): WasmHostOptions {
  return {
    callTimeoutMs: flags.callTimeout,
    memoryLimitBytes: flags.wasmMemoryLimit,
    isolation: flags.wasmIsolation,
    poolSize: flags.wasmPoolSize,
    maxInstances: flags.wasmMaxInstances,
    memoryBudgetBytes: shareBudget ? Math.floor(flags.wasmMemoryBudget / Math.max(1, flags.workers)) : flags.wasmMemoryBudget,
    startTimeoutMs: flags.wasmStartTimeout,
  };
}
