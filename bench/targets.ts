// The servers the benchmark measures. Each is a script under bench/servers/ that listens on
// 127.0.0.1 port 0, prints {"port":N}, and sends every text message back to its whole room.
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Protocol } from './clients.js';

export interface Target {
  /** Short name for --targets. */
  readonly key: string;
  /** Name in the table, the chart and the JSON (also accepted by --targets). */
  readonly name: string;
  /** Server script, relative to the repository root. */
  readonly server: string;
  readonly args?: readonly string[];
  readonly protocol: Protocol;
  /** npm packages the target needs that are not dependencies of the project. */
  readonly packages?: readonly string[];
  /** Programs the target runs, looked up on PATH (Debian's package names them). */
  readonly programs?: readonly string[];
  /**
   * The script only starts the real server (the `stateroom` CLI, as a user runs it) and relays
   * its port: every figure is then read from the script's child and its tree, not the script.
   */
  readonly launcher?: boolean;
}

/** The raw `ws` baseline comes first: every ratio is against it, so it always runs. */
export const BASELINE: Target = { key: 'raw-ws', name: 'raw ws', server: 'bench/servers/raw-ws.mjs', protocol: 'ws' };

export const TARGETS: readonly Target[] = [
  BASELINE,
  { key: 'stateroom', name: 'stateroom', server: 'bench/servers/stateroom.mjs', protocol: 'ws' },
  // `stateroom serve --workers 1`: the CLI in one process, everything it loads included.
  { key: 'serve', name: 'stateroom serve', server: 'bench/servers/stateroom-workers.mjs', args: ['1'], protocol: 'ws', launcher: true },
  // The same with durable rooms: a temporary --state-dir, the default 5 s snapshot interval
  // (`-1s`: a 1 s interval, five times the saves, to see what the cost scales with).
  { key: 'durable', name: 'stateroom durable', server: 'bench/servers/stateroom.mjs', args: ['durable'], protocol: 'ws' },
  { key: 'durable-1s', name: 'durable 1s', server: 'bench/servers/stateroom.mjs', args: ['durable=1000'], protocol: 'ws' },
  // `stateroom serve --workers 2`: rooms spread over forked worker processes (argv[2] = how many).
  { key: 'workers', name: 'stateroom x2', server: 'bench/servers/stateroom-workers.mjs', args: ['2'], protocol: 'ws', launcher: true },
  { key: 'wasm-worker', name: 'stateroom wasm', server: 'bench/servers/stateroom-wasm.mjs', args: ['worker'], protocol: 'ws' },
  { key: 'wasm-inline', name: 'wasm inline', server: 'bench/servers/stateroom-wasm.mjs', args: ['inline'], protocol: 'ws' },
  { key: 'wasm-pool', name: 'wasm pool', server: 'bench/servers/stateroom-wasm.mjs', args: ['pool'], protocol: 'ws' },
  { key: 'wasm-pool-durable', name: 'wasm pool durable', server: 'bench/servers/stateroom-wasm.mjs', args: ['pool', 'durable'], protocol: 'ws' },
  { key: 'wasm-inline-durable', name: 'wasm inline durable', server: 'bench/servers/stateroom-wasm.mjs', args: ['inline', 'durable'], protocol: 'ws' },
  // Scale-out: clients connect to a node that forwards them to the room's owner (Redis leases).
  { key: 'forwarded', name: 'forwarded', server: 'bench/servers/stateroom-forwarded.mjs', protocol: 'ws', programs: ['redis-server'] },
  // Node with nothing between the socket and the rooms (no ws): how low any Node.js server can go.
  { key: 'node-floor', name: 'node floor', server: 'bench/servers/node-floor.mjs', protocol: 'ws' },
  // Not a server to use: the native service with a bare thread crossing per event batch.
  { key: 'crossing-floor', name: 'crossing floor', server: 'bench/servers/stateroom-crossing.mjs', protocol: 'ws' },
  { key: 'socketio', name: 'socket.io', server: 'bench/servers/socketio.mjs', protocol: 'socketio' },
  {
    key: 'colyseus',
    name: 'colyseus',
    server: 'bench/servers/colyseus.mjs',
    protocol: 'colyseus',
    packages: ['@colyseus/core', '@colyseus/ws-transport', '@colyseus/schema', 'colyseus.js'],
  },
];

/**
 * Why `target` cannot run in this checkout (its server script is not written yet, or the
 * packages it needs are not installed), or undefined when it can. Such a target is skipped
 * with a note rather than failed: it is missing, not broken.
 */
export function unavailable(target: Target, root: string): string | undefined {
  if (!existsSync(`${root}${target.server}`)) return `${target.server} does not exist yet`;
  const missing = (target.packages ?? []).filter((pkg) => !existsSync(`${root}node_modules/${pkg}/package.json`));
  if (missing.length > 0) return `not installed: ${missing.join(', ')} (see bench/README.md)`;
  const absent = (target.programs ?? []).filter((program) => !onPath(program));
  if (absent.length > 0) return `not on PATH: ${absent.join(', ')} (apt-get install ${absent.join(' ')})`;
  return undefined;
}

function onPath(program: string): boolean {
  return (process.env.PATH ?? '').split(path.delimiter).some((dir) => dir !== '' && existsSync(path.join(dir, program)));
}
