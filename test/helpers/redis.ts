// Real Redis for tests: Debian's redis-server on a free loopback port, no persistence, started
// by the test and killed when it ends (never the 6379 one a machine may run). A three-shard Redis
// Cluster too, made with redis-cli. Without the programs a test skips with one line naming the
// package (test/helpers/programs.ts); under CI it fails.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { promisify } from 'node:util';
import { executable, need } from './programs.js';
import { freePort } from './ports.js';
import assert from 'node:assert/strict';
import type { Leases } from '../../src/nodes/leases.js';

const run = promisify(execFile);
const INSTALL = 'apt-get install redis-server';
/** redis-server, and redis-cli (Debian's redis-server brings it, through redis-tools). */
export const REDIS_SERVER = executable('redis-server', INSTALL);
export const REDIS_CLI = executable('redis-cli', INSTALL);

/** Test options and the programs: `test(name, redis.options, …)` skips (outside CI) when either is missing. */
export async function needRedis(): Promise<{ options: { skip?: string }; server: () => string; cli: () => string }> {
  const [server, cli] = await Promise.all([need(REDIS_SERVER), need(REDIS_CLI)]);
  return { options: server.missing !== undefined ? server.options : cli.options, server: () => server.get(), cli: () => cli.get() };
}

export interface RedisProcess {
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  /** The running redis-server (a new one after {@link restart}). */
  readonly child: ChildProcess;
  /** Sends `signal` (default SIGKILL); for one that ends the process, resolves once it has exited. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Kills redis-server (SIGKILL: everything in it is lost) and starts a new one on the same port. */
  restart(): Promise<void>;
}


/** Starts redis-server with `args` on `port` and resolves once it logs that it accepts connections. */
async function spawnServer(program: string, port: number, dir: string, args: readonly string[], ms = 10_000): Promise<ChildProcess> {
  const child = spawn(program, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--logfile', '', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => fail(`no "Ready to accept connections" within ${ms} ms`), ms);
    function fail(why: string): void {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`redis-server on port ${port}: ${why}\n${output}`));
    }
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('error', (err) => fail(err.message));
    child.once('exit', (code, signal) => fail(`exited (${signal ?? code})`));
  });
  child.stdout.resume();
  child.stderr.resume();
  return child;
}

/** Starts on a free port, trying another when the port was taken meanwhile. */
async function spawnOnFreePort(program: string, dir: string, args: (port: number) => readonly string[]): Promise<{ child: ChildProcess; port: number }> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    try {
      return { child: await spawnServer(program, port, dir, args(port)), port };
    } catch (err) {
      lastError = err;
    }
  }
  throw lastError;
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

async function killed(child: ChildProcess): Promise<void> {
  child.kill('SIGCONT'); // a stopped process dies of SIGKILL too, but its exit is then reported at once
  child.kill('SIGKILL');
  await exited(child);
}

/** One redis-server for this test; see {@link RedisProcess}. */
export async function startRedis(t: TestContext): Promise<RedisProcess> {
  const program = (await needRedis()).server();
  const dir = await mkdtemp(path.join(tmpdir(), 'stateroom-redis-'));
  const started = await spawnOnFreePort(program, dir, () => []);
  const { port } = started;
  let { child } = started;
  t.after(async () => {
    await killed(child);
    await rm(dir, { recursive: true, force: true });
  });
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    get child() {
      return child;
    },
    async stop(signal: NodeJS.Signals = 'SIGKILL') {
      child.kill(signal);
      if (signal !== 'SIGSTOP' && signal !== 'SIGCONT' && signal !== 'SIGTSTP') await exited(child);
    },
    async restart() {
      await killed(child);
      child = await spawnServer(program, port, dir, []);
    },
  };
}

export interface RedisClusterProcess {
  /** `redis+cluster://127.0.0.1:<p1>,127.0.0.1:<p2>,127.0.0.1:<p3>` */
  readonly url: string;
  readonly ports: readonly number[];
  readonly children: readonly ChildProcess[];
}

/** A three-shard Redis Cluster (no replicas) on loopback, ready (`cluster_state:ok` on every node). */
export async function startRedisCluster(t: TestContext, deadlineMs = 30_000): Promise<RedisClusterProcess> {
  const redis = await needRedis();
  const program = redis.server();
  const cli = redis.cli();
  const dir = await mkdtemp(path.join(tmpdir(), 'stateroom-redis-cluster-'));
  const children: ChildProcess[] = [];
  t.after(async () => {
    await Promise.all(children.map(killed));
    await rm(dir, { recursive: true, force: true });
  });
  const ports: number[] = [];
  for (let i = 0; i < 3; i++) {
    const started = await spawnOnFreePort(program, dir, (port) => ['--cluster-enabled', 'yes', '--cluster-config-file', path.join(dir, `nodes-${port}.conf`), '--cluster-node-timeout', '5000']);
    children.push(started.child);
    ports.push(started.port);
  }
  const deadline = performance.now() + deadlineMs;
  await run(cli, ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'], { timeout: deadlineMs });
  // The nodes agree on the slots through their gossip bus, a moment after `create` returns.
  for (const port of ports) {
    for (;;) {
      const { stdout } = await run(cli, ['-p', String(port), 'cluster', 'info'], { timeout: 5_000 });
      if (stdout.includes('cluster_state:ok')) break;
      if (performance.now() > deadline) throw new Error(`Redis Cluster node on port ${port}: no cluster_state:ok within ${deadlineMs} ms\n${stdout}`);
      await new Promise((resolve) => setTimeout(resolve, 50)); // polling a state, bounded by the deadline
    }
  }
  return { url: `redis+cluster://${ports.map((p) => `127.0.0.1:${p}`).join(',')}`, ports, children };
}

/** Acquires once the current holder's lease has expired in Redis: waits as long as Redis says it has left. */
export async function acquireAfterExpiry(l: Leases, roomId: string, deadlineMs = 5_000): Promise<bigint> {
  const deadline = performance.now() + deadlineMs;
  for (;;) {
    const answer = await l.acquire(roomId);
    if (answer.granted) return answer.fence;
    assert.ok(performance.now() < deadline, `no grant for ${roomId} within ${deadlineMs} ms (held by ${answer.owner.id})`);
    await new Promise((resolve) => setTimeout(resolve, answer.expiresInMs + 1));
  }
}
