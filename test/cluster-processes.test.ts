// Scale-out as it fails in life: stateroom nodes as real processes on one real redis-server,
// an owner killed with SIGKILL, an owner paused with SIGSTOP past its lease and resumed.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'node:test';
import { run, startServing, type Serving } from './helpers/cli.js';
import { until, within } from './helpers/deadline.js';
import { needRedis, startRedis } from './helpers/redis.js';
import { client, closed, type Inbox } from './helpers/sockets.js';
import { freePort } from './helpers/ports.js';

const redis = await needRedis();
const dir = mkdtempSync(path.join(os.tmpdir(), 'stateroom-cluster-'));
const secretFile = path.join(dir, 'secret.txt');
writeFileSync(secretFile, 'a-cluster-secret-of-at-least-32-characters\n');
test.after(() => rmSync(dir, { recursive: true, force: true }));


/** A node: `stateroom serve` of the counter example (snapshot()/restore()), one process. */
async function node(t: test.TestContext, redisUrl: string, ...more: string[]): Promise<Serving> {
  return nodeOf(t, 'examples/counter/service.ts', redisUrl, ...more);
}

async function nodeOf(t: test.TestContext, service: string, redisUrl: string, ...more: string[]): Promise<Serving> {
  const port = await freePort();
  const args = ['serve', service, '--port', String(port), '--host', '127.0.0.1', '--workers', '1'];
  return startServing([...args, '--redis', redisUrl, '--node-url', `ws://127.0.0.1:${port}`, '--cluster-secret-file', secretFile, '--lease-ttl', '1', '--snapshot-interval', '0.1', ...more], t.after.bind(t));
}

async function increments(c: Inbox, times: number, from: number): Promise<string> {
  for (let i = 0; i < times; i++) c.ws.send('increment');
  let last = '';
  for (let i = 0; i < times; i++) last = await c.nextText(10_000);
  assert.equal(last, `new value: ${from + times}`);
  return last;
}

/** The room's image in Redis has been written since `count` saves: waits on the node's own metric. */
async function saved(server: Serving, atLeast: number): Promise<void> {
  const count = async (): Promise<number> => {
    const text = await (await fetch(`http://127.0.0.1:${server.port}/metrics`)).text();
    return Number(/stateroom_room_saves_total\{result="ok"\} (\d+)/.exec(text)?.[1] ?? 0);
  };
  await until(async () => (await count()) >= atLeast, `${atLeast} saves`, 10_000, 20);
}

test('kill -9 of an owner: within the lease the room moves to a live node, restored from Redis', redis.options, async (t) => {
  const { url } = await startRedis(t);
  const a = await node(t, url);
  const b = await node(t, url);
  const onA = await client(a.ws('/ws/k'));
  await increments(onA, 5, 0);
  await saved(a, 1);
  const exited = once(a.child, 'exit');
  a.child.kill('SIGKILL');
  await within(exited, 'the owner to die');
  // The client library would reconnect through the load balancer; here: straight to b.
  const started = Date.now();
  const onB = await client(b.ws('/ws/k'), 'on b', { handshakeTimeout: 10_000 });
  t.after(() => onB.ws.terminate());
  await increments(onB, 1, 5);
  assert.ok(Date.now() - started < 8_000, 'placed within the lease and the forwarding bounds');
});

test('SIGSTOP of an owner past its lease: another node takes the room; on SIGCONT the old owner stops it and sends nothing more', redis.options, async (t) => {
  const { url } = await startRedis(t);
  const a = await node(t, url);
  const b = await node(t, url);
  const onA = await client(a.ws('/ws/s'), 'on a');
  await increments(onA, 5, 0);
  await saved(a, 1);
  a.child.kill('SIGSTOP');
  t.after(() => a.child.kill('SIGCONT'));
  onA.ws.send('increment'); // waits in a's socket: a stopped owner must never apply it
  // b can take the room once a's lease has expired in Redis (1 s); until then it forwards to a,
  // which does not answer, and asks again.
  const onB = await client(b.ws('/ws/s'), 'on b', { handshakeTimeout: 15_000 });
  t.after(() => onB.ws.terminate());
  await increments(onB, 1, 5);
  const aClosed = closed(onA.ws, 10_000);
  a.child.kill('SIGCONT');
  assert.equal((await aClosed).code, 1012, 'the old owner stopped the room');
  assert.deepEqual(onA.messages.slice(5).map((m) => String(m.data)), [], 'nothing more from the old owner');
  // Whatever the old owner still had in mind, the room's state is the new owner's.
  await increments(onB, 1, 6);
  const later = await client(b.ws('/ws/s'), 'later');
  t.after(() => later.ws.terminate());
  await increments(later, 1, 7);
});

test('SIGTERM drain of a node serving a WASM counter (the Rust guest, unchanged): exit 0, and the counter keeps its value on the new owner', redis.options, async (t) => {
  const { url } = await startRedis(t);
  const guest = 'test/fixtures/rust/guest.wasm';
  const a = await nodeOf(t, guest, url, '--snapshot-interval', '60');
  const b = await nodeOf(t, guest, url, '--snapshot-interval', '60');
  const onA = await client(a.ws('/ws/w'), 'on a');
  for (let i = 0; i < 41; i++) onA.ws.send('increment');
  const answers = (): string[] => onA.messages.map((m) => String(m.data)).filter((m) => m.startsWith('new value'));
  const deadline = Date.now() + 10_000;
  while (answers().length < 41 && Date.now() < deadline) await onA.next(10_000).catch(() => undefined);
  assert.equal(answers().at(-1), 'new value: 41');
  const gone = closed(onA.ws, 15_000);
  const exited = once(a.child, 'exit');
  a.child.kill('SIGTERM');
  assert.equal((await gone).code, 1012, 'told to reconnect');
  const [code] = (await within(exited, 'the drained node to exit', 20_000)) as [number | null];
  assert.equal(code, 0);
  const onB = await client(b.ws('/ws/w'), 'on b');
  t.after(() => onB.ws.terminate());
  onB.ws.send('increment');
  for (;;) {
    const text = await onB.nextText(10_000);
    if (text.startsWith('new value')) {
      assert.equal(text, 'new value: 42');
      break;
    }
  }
});

test("the cluster options from stateroom.toml's [cluster] table: nodes configured by the file share rooms; a flag wins over the file", redis.options, async (t) => {
  const { url } = await startRedis(t);
  const project = mkdtempSync(path.join(os.tmpdir(), 'stateroom-cluster-toml-'));
  t.after(() => rmSync(project, { recursive: true, force: true }));
  writeFileSync(path.join(project, 'secret.txt'), 'a-cluster-secret-of-at-least-32-characters\n');
  // secret_file is relative to the file's folder; lease_ttl in seconds, like --lease-ttl.
  writeFileSync(path.join(project, 'stateroom.toml'), `[cluster]\nredis = "${url}"\nsecret_file = "secret.txt"\nlease_ttl = 1.5\n`);
  const service = path.join(process.cwd(), 'examples/counter/service.ts');
  const start = async (...more: string[]): Promise<Serving> => {
    const port = await freePort();
    return startServing(['serve', service, '--port', String(port), '--host', '127.0.0.1', '--workers', '1', '--node-url', `ws://127.0.0.1:${port}`, ...more], t.after.bind(t), { cwd: project });
  };
  const a = await start(); // ./stateroom.toml, found in the current directory
  const b = await start('--config', path.join(project, 'stateroom.toml'), '--lease-ttl', '3');
  const status = async (s: Serving) => ((await (await fetch(`http://127.0.0.1:${s.port}/status?format=json`, { signal: AbortSignal.timeout(3_000) })).json()) as { node?: { redis: string; leaseTtlSeconds: number } }).node;
  assert.deepEqual(await status(a).then((n) => n && { redis: n.redis, ttl: n.leaseTtlSeconds }), { redis: url, ttl: 1.5 }, 'a: everything from the file');
  assert.equal((await status(b))?.leaseTtlSeconds, 3, 'b: the --lease-ttl flag won over lease_ttl = 1.5');
  const onA = await client(a.ws('/ws/toml'), 'on a');
  t.after(() => onA.ws.terminate());
  await increments(onA, 2, 0);
  // b forwards to a with the secret it read from the file: the same room.
  const onB = await client(b.ws('/ws/toml'), 'on b');
  t.after(() => onB.ws.terminate());
  await increments(onB, 1, 2);
});

test('a bad [cluster] table or a missing --config file is one line naming the file and key', async (t) => {
  const project = mkdtempSync(path.join(os.tmpdir(), 'stateroom-cluster-toml-'));
  t.after(() => rmSync(project, { recursive: true, force: true }));
  writeFileSync(path.join(project, 'stateroom.toml'), '[cluster]\nredis_url = "redis://x"\n');
  const service = path.join(process.cwd(), 'examples/counter/service.ts');
  const bad = await run(['serve', service, '--port', '0'], { cwd: project });
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /stateroom\.toml: unknown key\(s\) cluster\.redis_url; known: cluster\.redis, cluster\.node_url, cluster\.secret_file, cluster\.lease_ttl/);
  writeFileSync(path.join(project, 'stateroom.toml'), '[cluster]\nlease_ttl = 0.5\n');
  const short = await run(['serve', service, '--port', '0'], { cwd: project });
  assert.match(short.stderr, /stateroom\.toml: cluster\.lease_ttl must be a number of seconds from 1 to 600/);
  writeFileSync(path.join(project, 'stateroom.toml'), '[cluster]\nconstructor = "x"\n');
  assert.match((await run(['serve', service, '--port', '0'], { cwd: project })).stderr, /unknown key\(s\) cluster\.constructor/);
  const missing = await run(['serve', service, '--port', '0', '--config', 'nope.toml'], { cwd: project });
  assert.notEqual(missing.code, 0);
  assert.match(missing.stderr, /--config nope\.toml: no such file/);
});
