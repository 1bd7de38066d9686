// `stateroom serve --workers N`: a primary that hands each connection to the worker owning its
// room. Real processes, real sockets: the CLI as a user runs it.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect, createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import SharedCounter from '../examples/counter/service.js';
import { workerOf } from '../src/cluster/affinity.js';
import { serveAdopted } from '../src/serve.js';
import { MemoryLogger } from './helpers/logs.js';
import { startServing, type Serving } from './helpers/cli.js';
import { within } from './helpers/deadline.js';
import { answeredThenClosed, client, closed, type Inbox } from './helpers/sockets.js';

const serveCounter = (t: { after(fn: () => void): void }, ...more: string[]) =>
  startServing(['serve', 'examples/counter/service.ts', '--port', '0', '--host', '127.0.0.1', '--workers', '2', ...more], t.after.bind(t));

/** The pid each worker announced in its "ready" line, the latest one per worker. */
function workerPids(server: Serving): Map<number, number> {
  const pids = new Map<number, number>();
  for (const m of server.output().matchAll(/"worker":(\d+),"pid":(\d+),"msg":"worker \d+ ready"/g)) pids.set(Number(m[1]), Number(m[2]));
  return pids;
}

async function bothReady(server: Serving): Promise<void> {
  await server.printed(/worker 0 ready/, 'worker 0 ready');
  await server.printed(/worker 1 ready/, 'worker 1 ready');
}

/** A room id (prefix-n) that the primary places on `worker` of 2. */
function roomOn(worker: number, prefix: string): string {
  for (let n = 0; ; n++) if (workerOf(`${prefix}-${n}`, 2) === worker) return `${prefix}-${n}`;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Waits (bounded) for processes that are not our children to be gone: there is no event for that. */
async function gone(pids: number[], what: string): Promise<void> {
  await within(
    (async () => {
      while (pids.some(alive)) await new Promise((r) => setTimeout(r, 25));
    })(),
    what,
    10_000,
  );
}

/** Two separate connections to `room`: what one increments, the other sees counted in the same instance. */
async function checkRoom(server: Serving, room: string, times: number): Promise<Inbox[]> {
  const [a, b] = await Promise.all([client(server.ws(`/ws/${room}`), `${room}/a`), client(server.ws(`/ws/${room}`), `${room}/b`)]);
  for (let i = 0; i < times; i++) a.ws.send('increment');
  const expected = Array.from({ length: times }, (_, i) => `new value: ${i + 1}`);
  assert.deepEqual(await b.texts(times), expected, `room ${room}: both connections reach one instance`);
  return [a, b];
}

test('every room lives in exactly one worker, whichever connection its clients come on; rooms spread over both', async (t) => {
  // Room lifecycle lines are debug lines: asked for, to see where each room was created.
  const server = await serveCounter(t, '--log-level', 'debug');
  const rooms = Array.from({ length: 24 }, (_, i) => `room-${i}`);
  const inboxes = (await Promise.all(rooms.map((room) => checkRoom(server, room, 3)))).flat();
  t.after(() => inboxes.forEach((c) => c.ws.terminate()));
  // A third client, joining later, continues the same count.
  const late = await client(server.ws('/ws/room-0'), 'late');
  t.after(() => late.ws.terminate());
  late.ws.send('increment');
  assert.equal(await late.nextText(), 'new value: 4');
  await server.printed(/"worker":0,"roomId"[^\n]*room created/, 'a room created in worker 0');
  await server.printed(/"worker":1,"roomId"[^\n]*room created/, 'a room created in worker 1');
  // Plain HTTP is answered by a worker too, one request per connection, so that every request
  // (of a keep-alive client too) passes the primary.
  const get = (path: string) => fetch(`http://127.0.0.1:${server.port}${path}`, { signal: AbortSignal.timeout(5_000) });
  assert.equal(await (await get('/status')).text(), 'ok');
  // The status JSON and the metrics add every worker up.
  const status = (await (await get('/status?format=json')).json()) as Record<string, unknown>;
  assert.deepEqual({ ...status, uptimeSeconds: 0, version: '' }, { status: 'ok', version: '', uptimeSeconds: 0, rooms: 24, connections: 49, workers: 2, workersAnswering: 2 });
  const metrics = await (await get('/metrics')).text();
  assert.match(metrics, /^stateroom_rooms 24$/m);
  assert.match(metrics, /^stateroom_connections 49$/m);
  assert.match(metrics, /^stateroom_messages_in_total 73$/m, 'every increment counted, across both workers');
});

test('a worker that dies is replaced; its rooms start afresh and the other worker never notices', async (t) => {
  const server = await serveCounter(t);
  await bothReady(server);
  const pids = workerPids(server);
  const doomedRoom = roomOn(0, 'doomed');
  const steadyRoom = roomOn(1, 'steady');
  const [doomed] = await checkRoom(server, doomedRoom, 1);
  const [steady] = await checkRoom(server, steadyRoom, 1);
  t.after(() => [doomed!, steady!].forEach((c) => c.ws.terminate()));
  const doomedClosed = closed(doomed!.ws, 10_000);
  process.kill(pids.get(0)!, 'SIGKILL');
  await doomedClosed;
  await server.printed(/worker 0 exited \(SIGKILL\); its rooms are lost, starting another/, 'the primary reporting the dead worker');
  await within(
    (async () => {
      while (workerPids(server).get(0) === pids.get(0)) await once(server.child.stdout!, 'data');
    })(),
    'a new worker 0',
    15_000,
  );
  steady!.ws.send('increment');
  assert.deepEqual(await steady!.texts(2), ['new value: 1', 'new value: 2'], 'the room on the other worker kept its state');
  const again = await checkRoom(server, doomedRoom, 1);
  t.after(() => again.forEach((c) => c.ws.terminate()));
});

test('SIGTERM: clients get 1001, the workers finish and the primary exits 0', async (t) => {
  const server = await serveCounter(t);
  await bothReady(server);
  const pids = [...workerPids(server).values()];
  const clients = await Promise.all(['x', 'y', 'z', 'w'].map((room) => client(server.ws(`/ws/${room}`), room)));
  const codes = clients.map((c) => closed(c.ws, 10_000));
  server.child.kill('SIGTERM');
  for (const code of codes) assert.equal((await code).code, 1001);
  const [exitCode] = (await within(once(server.child, 'exit'), 'the primary to exit', 15_000)) as [number | null];
  assert.equal(exitCode, 0);
  await gone(pids, 'the workers to exit');
});

test('a primary killed outright leaves no worker behind', async (t) => {
  const server = await serveCounter(t);
  await bothReady(server);
  const pids = [...workerPids(server).values()];
  assert.equal(pids.length, 2);
  server.child.kill('SIGKILL');
  await gone(pids, 'the orphaned workers to exit');
});

/** The status line the server answers a raw upgrade request with. */
async function statusOf(port: number, request: string): Promise<string> {
  const socket = connect(port, '127.0.0.1');
  socket.write(request);
  let text = '';
  const line = new Promise<string>((resolve, reject) => {
    socket.on('data', (d: Buffer) => {
      text += d.toString('latin1');
      if (text.includes('\r\n')) resolve(text.slice(0, text.indexOf('\r\n')));
    });
    socket.on('error', reject);
  });
  try {
    return await within(line, `an answer to ${JSON.stringify(request.slice(0, 40))}`, 5_000);
  } finally {
    socket.destroy();
  }
}

const upgrade = (target: string, before = ''): string =>
  `${before}GET ${target} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`;

test('empty lines before the request line do not fool the routing', async (t) => {
  const server = await serveCounter(t);
  await bothReady(server);
  for (const worker of [0, 1]) {
    assert.equal(await statusOf(server.port, upgrade(`/ws/${roomOn(worker, 'crlf')}`, '\r\n\r\n')), 'HTTP/1.1 101 Switching Protocols');
  }
});

test('a worker serves only its own rooms: an upgrade for another room is refused with 421, so no room runs twice', async (t) => {
  // A worker's server, fed by a plain TCP server the way the primary feeds it (with bytes already read).
  const worker = await serveAdopted(SharedCounter, { logger: new MemoryLogger() }, 'test worker', (roomId) => roomId === 'mine');
  t.after(() => worker.close());
  const front = createServer((socket) => socket.once('data', (head: Buffer) => { socket.pause(); worker.adopt(socket, head); }));
  await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
  t.after(() => front.close());
  const { port } = front.address() as AddressInfo;
  assert.equal(await statusOf(port, upgrade('/ws/mine')), 'HTTP/1.1 101 Switching Protocols');
  assert.equal(await statusOf(port, upgrade('/ws/theirs')), 'HTTP/1.1 421 Misdirected Request');
  const counter = await client(`ws://127.0.0.1:${port}/ws/mine`);
  t.after(() => counter.ws.terminate());
  counter.ws.send('increment');
  assert.equal(await counter.nextText(), 'new value: 1', 'an adopted connection is served like any other');
});

test('a worker that cannot start again is retried, with pauses, until it can', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'stateroom-cluster-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'counter.ts');
  await copyFile('examples/counter/service.ts', file);
  const server = await startServing(['serve', file, '--port', '0', '--host', '127.0.0.1', '--workers', '2'], t.after.bind(t));
  await bothReady(server);
  const first = workerPids(server).get(0);
  await writeFile(file, 'export default class {\n'); // a syntax error: the restart fails
  process.kill(first!, 'SIGKILL');
  await server.printed(/worker 0 could not start[^\n]*trying again in 2 s/, 'the failed restart, and the next try announced', 15_000);
  await copyFile('examples/counter/service.ts', file);
  await within(
    (async () => {
      while (workerPids(server).get(0) === first) await once(server.child.stdout!, 'data');
    })(),
    'worker 0 back',
    20_000,
  );
  const again = await checkRoom(server, roomOn(0, 'back'), 1);
  t.after(() => again.forEach((c) => c.ws.terminate()));
});

/** A raw connection from `localAddress`; resolves `ended` when the server closes it. */
async function rawFrom(port: number, localAddress = '127.0.0.1'): Promise<{ socket: ReturnType<typeof connect>; text: () => string; ended: Promise<void> }> {
  const socket = connect({ port, host: '127.0.0.1', localAddress });
  socket.on('error', () => {});
  let text = '';
  socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
  const ended = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await once(socket, 'connect', { signal: AbortSignal.timeout(3_000) });
  return { socket, text: () => text, ended };
}

test('slowloris on the primary: an absolute deadline (408), a cap per address, 414, and the connection rate counted where connections arrive', async (t) => {
  const server = await startServing(
    ['serve', 'examples/counter/service.ts', '--port', '0', '--host', '127.0.0.1', '--workers', '2', '--headers-timeout', '0.5', '--max-unrouted-per-address', '10', '--connection-rate-limit', '6'],
    t.after.bind(t),
  );
  await bothReady(server);
  // A request line dripping a byte every 50 ms: an idle timer would never fire.
  const drip = await rawFrom(server.port);
  const started = performance.now();
  const timer = setInterval(() => drip.socket.write('G'), 50);
  t.after(() => clearInterval(timer));
  await within(drip.ended, 'the primary to end the dripping connection', 5_000);
  clearInterval(timer);
  assert.match(drip.text(), /^HTTP\/1\.1 408 /);
  assert.ok(performance.now() - started < 2_500, 'closed near the deadline');
  // An attacker on another address holds connections open: past its cap they are closed at
  // once, and a client from elsewhere still gets in.
  const held = await Promise.all(Array.from({ length: 10 }, () => rawFrom(server.port, '127.0.0.2')));
  t.after(() => held.forEach((c) => c.socket.destroy()));
  const extra = await rawFrom(server.port, '127.0.0.2');
  await within(extra.ended, 'the 11th connection from 127.0.0.2 to be closed', 3_000);
  assert.equal(extra.text(), '');
  const counter = await client(server.ws(`/ws/${roomOn(0, 'loris')}`));
  t.after(() => counter.ws.terminate());
  counter.ws.send('increment');
  assert.equal(await counter.nextText(), 'new value: 1');
  // A request line over 8 KiB is answered 414 by the primary.
  const long = await rawFrom(server.port);
  long.socket.write(`GET /ws/${'x'.repeat(9_000)}`);
  await within(long.ended, 'the 414', 3_000);
  assert.match(long.text(), /^HTTP\/1\.1 414 /);
  // The connection rate: 6 a minute from 127.0.0.1, whichever worker the rooms are on (1 used above).
  for (let i = 0; i < 5; i++) (await client(server.ws(`/ws/${roomOn(i % 2, `rate-${i}`)}`))).ws.terminate();
  assert.equal(await statusOf(server.port, upgrade(`/ws/${roomOn(1, 'rate-x')}`)), 'HTTP/1.1 429 Too Many Requests');
});

test('--workers: what the primary answers itself is closed, though the client keeps its side open', async (t) => {
  const server = await serveCounter(t);
  await bothReady(server);
  await answeredThenClosed(server.port, 'GET /status?format=json HTTP/1.1\r\nHost: x\r\n\r\n', /^HTTP\/1\.1 200 [^]*"workersAnswering":2/);
  await answeredThenClosed(server.port, `GET /ws/${'x'.repeat(9_000)}`, /^HTTP\/1\.1 414 /);
});

test('--workers: /metrics behind a token read from a file, on a port of its own; the main port answers it 404', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'stateroom-metrics-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const tokenFile = path.join(dir, 'token');
  await writeFile(tokenFile, 'cluster-metrics-secret-123\n');
  const server = await startServing(
    ['serve', 'examples/counter/service.ts', '--port', '0', '--host', '127.0.0.1', '--workers', '2', '--metrics-port', '0', '--metrics-token-file', tokenFile],
    t.after.bind(t),
  );
  await server.printed(/metrics on http:\/\/127\.0\.0\.1:\d+\/metrics/, 'the metrics port');
  const metricsPort = Number(/metrics on http:\/\/127\.0\.0\.1:(\d+)\/metrics/.exec(server.output())![1]);
  const get = (port: number, headers: Record<string, string> = {}) => fetch(`http://127.0.0.1:${port}/metrics`, { headers, signal: AbortSignal.timeout(5_000) });
  assert.equal((await get(server.port, { authorization: 'Bearer cluster-metrics-secret-123' })).status, 404);
  assert.equal((await get(metricsPort)).status, 401);
  const ok = await get(metricsPort, { authorization: 'Bearer cluster-metrics-secret-123' });
  assert.equal(ok.status, 200);
  assert.match(await ok.text(), /^stateroom_rooms 0$/m);
});
