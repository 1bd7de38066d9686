// The deployment recipe of examples/cluster/: three stateroom nodes (processes) and a real
// redis-server behind Debian's nginx as a plain round-robin load balancer, driven through nginx
// only. Clients spread over the nodes land in one room; the owner is drained (SIGTERM) and
// stateroom/client comes back through nginx to the room with its value kept. Then run.sh itself:
// up, answering through nginx, and stopped whole by one SIGINT.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import test from 'node:test';
import { connect, type Client } from '../src/client/node.js';
import { ROOT, startServing, type Serving } from './helpers/cli.js';
import { within } from './helpers/deadline.js';
import { freePort } from './helpers/ports.js';
import { executable, need } from './helpers/programs.js';
import { needRedis, startRedis } from './helpers/redis.js';
import { client, closed, type Inbox } from './helpers/sockets.js';

const redis = await needRedis();
// Debian installs nginx in /usr/sbin, which a user's PATH may lack.
const nginx = await need(executable('nginx', 'apt-get install nginx', ['/usr/sbin/nginx']));
const options = redis.options.skip !== undefined ? redis.options : nginx.options;

const EXAMPLE = path.join(ROOT, 'examples/cluster');
const dir = mkdtempSync(path.join(os.tmpdir(), 'stateroom-cluster-nginx-'));
const secretFile = path.join(dir, 'secret.txt');
writeFileSync(secretFile, 'a-cluster-secret-of-at-least-32-characters\n');
test.after(() => rmSync(dir, { recursive: true, force: true }));

/** A node as run.sh starts one: the counter example, one process, its own port and --node-url. */
async function node(t: test.TestContext, redisUrl: string): Promise<Serving> {
  const port = await freePort();
  return startServing(
    ['serve', 'examples/counter/service.ts', '--host', '127.0.0.1', '--port', String(port), '--workers', '1', '--redis', redisUrl, '--node-url', `ws://127.0.0.1:${port}`, '--cluster-secret-file', secretFile],
    t.after.bind(t),
  );
}

/** nginx with examples/cluster/nginx.conf.template filled in, in a prefix of its own; resolves with its port. */
async function startNginx(t: test.TestContext, nodePorts: readonly number[]): Promise<number> {
  const program = nginx.get();
  const template = readFileSync(path.join(EXAMPLE, 'nginx.conf.template'), 'utf8');
  const servers = nodePorts.map((p) => `    server 127.0.0.1:${p};`).join('\n');
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const prefix = mkdtempSync(path.join(dir, 'nginx-'));
    chmodSync(prefix, 0o711); // as run.sh: started as root, nginx's workers run as nobody
    const conf = path.join(prefix, 'nginx.conf');
    writeFileSync(conf, template.replace('@PORT@', () => String(port)).replace('@SERVERS@', () => servers));
    const child = spawn(program, ['-p', `${prefix}/`, '-c', conf, '-e', 'stderr'], { stdio: ['ignore', 'ignore', 'pipe'] });
    t.after(() => stop(child));
    let output = '';
    const started = new Promise<void>((resolve, reject) => {
      child.stderr.on('data', (d: Buffer) => {
        output += d.toString();
        // The master binds its listening socket before it starts a worker.
        if (output.includes('start worker process')) resolve();
      });
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`nginx exited with ${code}: ${output}`)));
    });
    try {
      await within(started, 'nginx to start', 10_000);
      return port;
    } catch (err) {
      lastError = err; // the free port was taken meanwhile (98: Address already in use): another
      await stop(child);
    }
  }
  throw lastError;
}

/**
 * Stops nginx: SIGTERM, which its master passes to its workers (a SIGKILL of the master would
 * leave them running, holding the port and the proxied sockets); SIGKILL if it lingers.
 */
async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  try {
    await within(exited, 'nginx to stop', 5_000);
  } catch {
    child.kill('SIGKILL');
  }
}

interface NodeStatus {
  id: string;
  leasesHeld: number;
  forwardedConnections: number;
}

/** A node's `node` object of /status?format=json, asked of the node itself (not through nginx). */
async function status(server: Serving): Promise<NodeStatus> {
  const res = await fetch(`http://127.0.0.1:${server.port}/status?format=json`, { signal: AbortSignal.timeout(3_000) });
  return ((await res.json()) as { node: NodeStatus }).node;
}

/** Everything a stateroom/client receives, and a way to await what it has not received yet. */
function record(c: Client): { texts: string[]; until(text: string, ms?: number): Promise<void> } {
  const texts: string[] = [];
  const waiters = new Set<() => void>();
  c.on('message', (data) => {
    texts.push(typeof data === 'string' ? data : `<binary ${data.length}>`);
    for (const wake of waiters) wake();
  });
  return {
    texts,
    until: (text, ms = 10_000) => {
      let wake = (): void => {};
      const seen = new Promise<void>((resolve) => {
        wake = () => {
          if (texts.includes(text)) resolve();
        };
        waiters.add(wake);
        wake();
      });
      return within(seen, `"${text}" at the stateroom/client (has ${JSON.stringify(texts)})`, ms).finally(() => waiters.delete(wake));
    },
  };
}

/** The next `open` of a stateroom/client that satisfies `want`. */
function opened(c: Client, want: (e: { resumed: boolean; reconnected: boolean }) => boolean, what: string, ms = 20_000): Promise<{ resumed: boolean; reconnected: boolean }> {
  let off = (): void => {};
  const seen = new Promise<{ resumed: boolean; reconnected: boolean }>((resolve) => {
    off = c.on('open', (e) => {
      if (want(e)) resolve(e);
    });
  });
  return within(seen, what, ms).finally(() => off());
}

test('through nginx (round robin): clients spread over three nodes share one room; the owner drains (SIGTERM) and stateroom/client comes back through nginx to the same count', options, async (t) => {
  const { url: redisUrl } = await startRedis(t);
  const nodes = await Promise.all([node(t, redisUrl), node(t, redisUrl), node(t, redisUrl)]);
  const lb = await startNginx(t, nodes.map((n) => n.port));
  const room = `ws://127.0.0.1:${lb}/ws/lobby`;

  // One after another, so nginx's round robin hands them to the nodes in turn.
  const clients: Inbox[] = [];
  t.after(() => clients.forEach((c) => c.ws.terminate()));
  for (let i = 0; i < 6; i++) clients.push(await client(room, `client ${i}`));

  // One node owns the room (its lease); the other two took clients and forwarded them to it.
  const before = await Promise.all(nodes.map(status));
  const owners = before.filter((s) => s.leasesHeld === 1);
  assert.equal(owners.length, 1, `one owner: ${JSON.stringify(before)}`);
  assert.equal(before.reduce((sum, s) => sum + s.leasesHeld, 0), 1, `one lease: ${JSON.stringify(before)}`);
  const ownerIndex = before.findIndex((s) => s.leasesHeld === 1);
  for (const [i, s] of before.entries()) {
    if (i !== ownerIndex) assert.ok(s.forwardedConnections >= 1, `node ${i} took a client through nginx and forwarded it: ${JSON.stringify(before)}`);
  }

  // An increment from any of them is seen by all: one room, wherever nginx sent each client.
  let value = 0;
  for (const from of [1, 4, 5]) {
    clients[from]!.ws.send('increment');
    value += 1;
    for (const c of clients) assert.equal(await c.nextText(5_000), `new value: ${value}`, c.name);
  }

  // stateroom/client, through nginx too.
  const lib = connect(`ws://127.0.0.1:${lb}`, { room: 'lobby', minDelayMs: 50, maxDelayMs: 500 });
  t.after(() => lib.close());
  const libSeen = record(lib);
  await opened(lib, () => true, 'stateroom/client to connect through nginx', 10_000);
  lib.send('increment');
  value += 1;
  await libSeen.until(`new value: ${value}`);
  for (const c of clients) assert.equal(await c.nextText(5_000), `new value: ${value}`, c.name);

  // SIGTERM the owner: it saves the room to Redis, gives the lease back and closes every client
  // of the room with 1012 — those forwarded by the other nodes too (close codes pass through).
  const owner = nodes[ownerIndex]!;
  const closes = clients.map((c) => closed(c.ws, 20_000));
  const back = opened(lib, (e) => e.reconnected, 'stateroom/client to reconnect through nginx');
  const exited = once(owner.child, 'exit');
  owner.child.kill('SIGTERM');
  for (const [i, c] of (await Promise.all(closes)).entries()) assert.equal(c.code, 1012, `client ${i} told to reconnect`);
  const [code] = (await within(exited, 'the drained owner to exit', 20_000)) as [number | null];
  assert.equal(code, 0, 'the drained owner exits 0');

  // The library reconnects by itself, through nginx (which skips the stopped node), to a room
  // another node took from Redis: the count goes on from where it was.
  const reopened = await back;
  assert.equal(reopened.resumed, false, 'a new seat: the seat was the old owner\'s');
  const later = await client(room, 'later');
  clients.push(later);
  lib.send('increment');
  value += 1;
  await libSeen.until(`new value: ${value}`);
  assert.equal(await later.nextText(5_000), `new value: ${value}`, 'a new client through nginx is in the same room');
  assert.deepEqual(libSeen.texts, ['new value: 4', 'new value: 5']);

  const after = await Promise.all(nodes.filter((n) => n !== owner).map(status));
  assert.equal(after.reduce((sum, s) => sum + s.leasesHeld, 0), 1, `another node owns the room now: ${JSON.stringify(after)}`);
});

/** `count` free loopback ports, all different: held together, then released for run.sh to bind. */
async function distinctFreePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, async () => {
      const server = net.createServer();
      await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
      return server;
    }),
  );
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  return ports;
}

/** Whether nothing listens on 127.0.0.1:port any more. */
function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

test('examples/cluster/run.sh: redis-server, three nodes and nginx answer through nginx; one SIGINT stops them all and removes the directory', options, async (t) => {
  const ports = await distinctFreePorts(5);
  const [port, n1, n2, n3, redisPort] = ports;
  const env = { ...process.env, PORT: String(port), NODE_PORTS: `${n1} ${n2} ${n3}`, REDIS_PORT: String(redisPort), NGINX: nginx.get(), REDIS_SERVER: redis.server() };
  // Its own process group: if the test fails half-way, everything run.sh started dies with it.
  const script = spawn('bash', [path.join(EXAMPLE, 'run.sh')], { cwd: ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => {
    try {
      if (script.pid !== undefined) process.kill(-script.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  });
  let output = '';
  const grew = new Set<() => void>();
  const take = (d: Buffer): void => {
    output += d.toString();
    for (const wake of grew) wake();
  };
  script.stdout.on('data', take);
  script.stderr.on('data', take);
  const exited = once(script, 'exit');
  await within(
    new Promise<void>((resolve, reject) => {
      const wake = (): void => {
        if (/^ready: /m.test(output)) resolve();
      };
      grew.add(wake);
      script.once('exit', (code) => reject(new Error(`run.sh exited with ${code}: ${output}`)));
    }),
    'run.sh to print "ready"',
    40_000,
  ).catch((err: unknown) => {
    throw new Error(`${String(err)}\n${output}`);
  });
  const workDir = /logs: (\S+)/.exec(output)?.[1];
  assert.ok(workDir !== undefined && existsSync(path.join(workDir, 'nginx/nginx.conf')), output);

  const a = await client(`ws://127.0.0.1:${port}/ws/demo`, 'a');
  const b = await client(`ws://127.0.0.1:${port}/ws/demo`, 'b');
  t.after(() => [a, b].forEach((c) => c.ws.terminate()));
  a.ws.send('increment');
  assert.equal(await a.nextText(5_000), 'new value: 1');
  assert.equal(await b.nextText(5_000), 'new value: 1');

  script.kill('SIGINT');
  const [code] = (await within(exited, 'run.sh to stop everything and exit', 40_000)) as [number | null];
  assert.equal(code, 130, output);
  for (const p of ports) assert.equal(await refused(p), true, `nothing listens on ${p} after run.sh stopped`);
  assert.equal(existsSync(workDir), false, 'its directory is gone');
});
