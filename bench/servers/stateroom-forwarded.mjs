// Scale-out: every client goes through a forwarding node. Starts a redis-server of its own (a
// free port, no persistence), two stateroom nodes (`stateroom serve --workers 1 --redis …`, as a
// user runs them) — the **owner** and the **forwarder** — and makes the owner hold every room
// the load generator uses (`room-0` … `room-399`: bench/load.ts names rooms so) by joining each
// there once; a long --room-idle-timeout keeps them. Then it prints the forwarder's port, so
// every client connects to a node that does not own its room and is forwarded (raw bytes piped
// after the upgrade) to the one that does. `parts` names the pids of the owner and the
// forwarder, so the driver can bill each its own CPU (the tree total includes Redis too).
// Needs `npm run build` and Debian's redis-server.
//
// To look inside one part, give its node process flags (split on spaces; its worker inherits
// them): BENCH_FORWARDER_NODE_FLAGS='--cpu-prof --cpu-prof-dir=/tmp/prof', BENCH_OWNER_NODE_FLAGS.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { clearTimeout, setTimeout } from 'node:timers';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';

const ROOMS = 400; // the most rooms a scenario uses (bench/scenarios.ts)
const root = fileURLToPath(new URL('../..', import.meta.url));
const dir = mkdtempSync(path.join(tmpdir(), 'stateroom-bench-forwarded-'));
const secretFile = path.join(dir, 'secret.txt');
writeFileSync(secretFile, 'a-benchmark-cluster-secret-of-32-characters-or-more\n');
const children = [];

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/** Spawns `program`, and resolves once a line of its stdout matches `ready`. */
function startChild(what, program, args, ready) {
  const child = spawn(program, args, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  child.on('exit', (code, signal) => {
    if (!stopping) {
      console.error(`Error: ${what} exited (${signal ?? code})`);
      shutdown(1);
    }
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not start within 30 s`)), 30_000);
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (!ready.test(line)) return;
      clearTimeout(timer);
      resolve(child);
    });
  });
}

/** Node's own flags for a part, from the environment (see the top of this file). */
function nodeFlags(variable) {
  return (process.env[variable] ?? '').split(' ').filter((flag) => flag !== '');
}

async function node(redisUrl, flagsVariable) {
  const port = await freePort();
  const args = ['dist/cli/main.js', 'serve', 'bench/servers/broadcast.ts', '--host', '127.0.0.1', '--port', String(port), '--workers', '1'];
  const cluster = ['--redis', redisUrl, '--node-url', `ws://127.0.0.1:${port}`, '--cluster-secret-file', secretFile, '--room-idle-timeout', '3600'];
  // Info level for the "listening" line only: after it a node logs nothing per message.
  const child = await startChild(`node on ${port}`, process.execPath, [...nodeFlags(flagsVariable), ...args, ...cluster, '--log-level', 'info'], /listening on/);
  return { port, child };
}

/** Joins `room` on `port` and leaves: the node takes the room (and its lease) and keeps it. */
function visit(port, room) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws/${room}`, { perMessageDeflate: false });
    ws.once('open', () => ws.close());
    ws.once('close', resolve);
    ws.once('error', reject);
  });
}

let stopping = false;
function shutdown(code) {
  stopping = true;
  for (const child of children) child.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
  process.exit(code);
}
process.on('SIGTERM', () => shutdown(0));

try {
  const redisPort = await freePort();
  await startChild('redis-server', 'redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], /Ready to accept connections/);
  const redisUrl = `redis://127.0.0.1:${redisPort}`;
  const owner = await node(redisUrl, 'BENCH_OWNER_NODE_FLAGS');
  const forwarder = await node(redisUrl, 'BENCH_FORWARDER_NODE_FLAGS');
  for (let i = 0; i < ROOMS; i += 20) await Promise.all(Array.from({ length: 20 }, (_, j) => visit(owner.port, `room-${i + j}`)));
  console.log(JSON.stringify({ port: forwarder.port, parts: { owner: owner.child.pid, forwarder: forwarder.child.pid } }));
} catch (error) {
  console.error(`Error: ${error instanceof Error ? error.message : String(error)}`);
  shutdown(1);
}
