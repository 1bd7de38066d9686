/**
 * `stateroom serve <service>`: thin, like upstream's `serve.rs`. Flags become `serve()`
 * options, the file becomes a service, and Ctrl-C / SIGTERM shut down cleanly.
 * @module
 */
import type { Command } from 'commander';
import type { LogLevel } from '../logger.js';
import { DEFAULT_SERVER_OPTIONS, type ServerOptions } from '../options.js';
import { serve } from '../serve.js';
import { parseBytes, parseLogLevel, parsePort, parseSeconds } from './args.js';
import { loadService } from '../project/load-service.js';
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
}

const d = DEFAULT_SERVER_OPTIONS;

/** Adds the `serve` command to `program`. */
export function addServeCommand(program: Command): void {
  program
    .command('serve')
    .description('serve a service: each room id gets its own instance, created when its first client joins /ws/<room>')
    .argument(
      '<service>',
      'a .ts/.mts/.js/.mjs module whose default export is a service class or a factory (roomId, ctx) => service; a .wasm/.wat guest; or a directory holding server.wasm (and static/)',
    )
    .option('-p, --port <port>', 'TCP port to listen on (0 picks a free one)', parsePort, d.port)
    .option('--host <address>', 'interface to listen on', d.host)
    .option('--heartbeat-interval <seconds>', 'ping every client this often (0 turns the heartbeat off)', parseSeconds, d.heartbeatIntervalMs)
    .option('--heartbeat-timeout <seconds>', 'drop a client not heard from for this long', parseSeconds, d.heartbeatTimeoutMs)
    .option('--room-idle-timeout <seconds>', 'dispose a room this long after its last client left', parseSeconds, d.roomIdleMs)
    .option('--max-message-size <bytes>', 'close a client that sends a larger message (code 1009)', parseBytes, d.maxPayloadBytes)
    .option('--static <dir>', 'serve the files in <dir> at / (index.html for directories)')
    .option('--client <dir>', 'serve the files in <dir> at /client/')
    .option('--log-level <level>', 'quietest level logged: trace, debug, info, warn, error, fatal or silent', parseLogLevel, d.logLevel)
    .addHelpText(
      'after',
      '\nSeconds flags show their defaults in milliseconds. Rooms: ws://<host>:<port>/ws/<room> (plain /ws is room "1"); GET /status answers ok.',
    )
    .action(async (file: string, flags: ServeFlags) => {
      const loaded = await loadService(file);
      const options = toServerOptions(flags);
      const server = await serve(loaded.service, { ...options, staticDir: options.staticDir ?? loaded.staticDir });
      stopOnSignals(server);
    });
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
  };
}
