// The server end to end: serve() in this process, real WebSocket clients on 127.0.0.1.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { connect } from 'node:net';
import { test, type TestContext } from 'node:test';
import { WebSocket } from 'ws';
import SharedCounter from '../examples/counter/service.js';
import { serve, type ClientId, type Context, type Payload, type RunningServer, type ServerOptions, type ServiceSource } from '../src/index.js';
import { nativeAdapterFactory } from '../src/service/native.js';
import { within } from './helpers/deadline.js';
import { MemoryLogger } from './helpers/logs.js';
import { client, closed, open } from './helpers/sockets.js';

async function start(t: TestContext, service: ServiceSource, options: ServerOptions = {}) {
  const logger = new MemoryLogger();
  const server = await serve(service, { port: 0, host: '127.0.0.1', logger, ...options });
  t.after(() => server.close());
  const ws = (path = '/ws') => `ws://127.0.0.1:${server.port}${path}`;
  return { server, logger, ws };
}

function get(server: RunningServer, path: string, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; body: string; headers: Record<string, unknown> }>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: server.port, path, headers, timeout: 3_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

/** The status line a refused WebSocket upgrade answers with. */
function upgradeStatus(server: RunningServer, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}${path}`);
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve(`${res.statusCode} ${body.trim()}`));
    });
    ws.on('open', () => reject(new Error(`${path} was accepted`)));
    ws.on('error', () => {});
  });
}

/**
 * A service that reports what its room saw: a newcomer hears `<roomId> after <events>`, the
 * others hear each event as it happens.
 */
const Recorder: ServiceSource = (roomId: string, ctx: Context) => {
  const history: string[] = [];
  return {
    init: () => void history.push('init'),
    connect: (c: ClientId) => {
      ctx.sendMessage(c, `${roomId} after ${history.join(',')}`);
      ctx.sendMessage({ except: c }, `connect ${c}`);
      history.push(`connect ${c}`);
    },
    disconnect: (c: ClientId) => ctx.sendMessage('broadcast', `disconnect ${c}`),
    message: (c: ClientId, p: Payload) => ctx.sendMessage('broadcast', typeof p === 'string' ? `${c}: ${p}` : p),
  };
};

test('GET /status answers ok; unknown paths 404; a plain GET of /ws is told to upgrade (426)', async (t) => {
  const { server } = await start(t, SharedCounter);
  assert.deepEqual(await get(server, '/status').then((r) => [r.status, r.body]), [200, 'ok']);
  const missing = await get(server, '/nope');
  assert.equal(missing.status, 404);
  assert.match(missing.body, /not found: \/nope/);
  const plain = await get(server, '/ws/lobby');
  assert.equal(plain.status, 426);
  assert.equal(plain.headers.upgrade, 'websocket');
});

test('an increment is broadcast to its whole room and to no other room', async (t) => {
  const { ws } = await start(t, SharedCounter);
  const [alice, bob, carol] = await Promise.all([client(ws('/ws/a'), 'alice'), client(ws('/ws/a'), 'bob'), client(ws('/ws/b'), 'carol')]);
  t.after(() => [alice, bob, carol].forEach((c) => c.ws.terminate()));
  alice.ws.send('increment');
  assert.deepEqual(await Promise.all([alice.nextText(), bob.nextText()]), ['new value: 1', 'new value: 1']);
  alice.ws.send('hello'); // ignored
  bob.ws.send('decrement');
  assert.equal(await alice.nextText(), 'new value: 0');
  carol.ws.send('increment');
  assert.equal(await carol.nextText(), 'new value: 1'); // room "b" kept its own count
  assert.equal(alice.messages.length, 2, 'room "a" saw nothing of room "b"');
});

test('plain /ws is room "1", and room ids arrive percent-decoded', async (t) => {
  const { ws } = await start(t, Recorder);
  const plain = await client(ws('/ws'));
  const one = await client(ws('/ws/1'));
  const cafe = await client(ws('/ws/caf%C3%A9%2Fbar'));
  t.after(() => [plain, one, cafe].forEach((c) => c.ws.terminate()));
  assert.deepEqual(await plain.texts(2), ['1 after init', 'connect 2'], '/ws and /ws/1 share room "1"');
  assert.deepEqual(await one.texts(1), ['1 after init,connect 1']);
  assert.deepEqual(await cafe.texts(1), ['café/bar after init']);
});

test('an over-long or empty room id is refused with 400 and a reason; other paths with 404', async (t) => {
  const { server } = await start(t, SharedCounter);
  assert.match(await upgradeStatus(server, `/ws/${'x'.repeat(257)}`), /^400 the room id is 257 bytes long/);
  assert.match(await upgradeStatus(server, '/ws/'), /^400 the room id is empty/);
  assert.match(await upgradeStatus(server, '/elsewhere'), /^404 /);
});

test('connecting to a room that does not exist creates it, init first', async (t) => {
  const { server, ws } = await start(t, Recorder);
  assert.equal(server.roomCount, 0);
  const first = await client(ws('/ws/new'));
  t.after(() => first.ws.terminate());
  assert.deepEqual(await first.texts(1), ['new after init']);
  assert.equal(server.roomCount, 1);
});

test('disconnect is delivered for every client, the last one included', async (t) => {
  const disconnected: ClientId[] = [];
  let sawLast!: () => void;
  const last = new Promise<void>((r) => (sawLast = r));
  const { ws } = await start(t, () => ({
    disconnect: (c: ClientId) => {
      disconnected.push(c);
      if (disconnected.length === 2) sawLast();
    },
  }));
  const a = await open(ws());
  const b = await open(ws());
  a.close();
  b.close();
  await within(last, 'disconnect of the last client');
  assert.deepEqual(disconnected.sort(), [1, 2]);
});

test('a client that returns within the grace period finds its room as it was; after it, a fresh room', async (t) => {
  const { server, ws, logger } = await start(t, SharedCounter, { roomIdleMs: 300 });
  const first = await client(ws('/ws/keep'));
  first.ws.send('increment');
  assert.equal(await first.nextText(), 'new value: 1');
  first.ws.close();
  await closed(first.ws);
  const back = await client(ws('/ws/keep'));
  back.ws.send('increment');
  assert.equal(await back.nextText(), 'new value: 2', 'the room outlived its empty moment');
  back.ws.close();
  await logger.waitFor((e) => e.message === 'room disposed' && e.fields.roomId === 'keep', 'the room disposed after 300 ms idle');
  assert.equal(server.roomCount, 0);
  const later = await client(ws('/ws/keep'));
  t.after(() => later.ws.terminate());
  later.ws.send('increment');
  assert.equal(await later.nextText(), 'new value: 1', 'a fresh room starts over');
});

test('messages of concurrent senders run one at a time, each sender in its own order', async (t) => {
  const log: string[] = [];
  let busy = false;
  const { ws } = await start(t, () => ({
    async message(c: ClientId, p: Payload, ctx: Context) {
      assert.equal(busy, false, 'two events of one room overlapped');
      busy = true;
      await new Promise((r) => setImmediate(r)); // yield: a second event must still wait
      log.push(`${c}:${String(p)}`);
      busy = false;
      if (log.length === 4 * 50) ctx.sendMessage('broadcast', 'done');
    },
  }));
  const senders = await Promise.all([1, 2, 3, 4].map(() => client(ws('/ws/order'))));
  t.after(() => senders.forEach((s) => s.ws.terminate()));
  for (let i = 0; i < 50; i++) for (const s of senders) s.ws.send(String(i));
  assert.equal(await senders[0]!.nextText(5_000), 'done');
  for (const id of [1, 2, 3, 4]) {
    const mine = log.filter((e) => e.startsWith(`${id}:`)).map((e) => Number(e.split(':')[1]));
    assert.deepEqual(mine, [...Array(50).keys()], `client ${id}'s messages in order`);
  }
});

test('text comes back as text frames and bytes as binary frames', async (t) => {
  const { ws } = await start(t, Recorder);
  const c = await client(ws('/ws/frames'));
  t.after(() => c.ws.terminate());
  await c.texts(1); // the welcome
  c.ws.send('héllo');
  c.ws.send(Buffer.from([0, 1, 2, 255]));
  await c.texts(3);
  assert.deepEqual(c.messages[1], { data: '1: héllo', binary: false });
  assert.equal(c.messages[2]?.binary, true);
  assert.deepEqual([...(c.messages[2]?.data as Buffer)], [0, 1, 2, 255]);
});

test('sendMessage to one client, to everyone, and to everyone but the sender', async (t) => {
  const { ws } = await start(t, () => ({
    message(c: ClientId, p: Payload, ctx: Context) {
      if (p === 'me') ctx.sendMessage(c, `only ${c}`);
      if (p === 'all') ctx.sendMessage('broadcast', `all from ${c}`);
      if (p === 'others') ctx.sendMessage({ except: c }, `others from ${c}`);
    },
  }));
  const [a, b, c] = await Promise.all(['a', 'b', 'c'].map((n) => client(ws('/ws/r'), n)));
  t.after(() => [a, b, c].forEach((x) => x!.ws.terminate()));
  a!.ws.send('me');
  a!.ws.send('others');
  a!.ws.send('all');
  assert.deepEqual(await a!.texts(2), ['only 1', 'all from 1']);
  assert.deepEqual(await b!.texts(2), ['others from 1', 'all from 1']);
  assert.deepEqual(await c!.texts(2), ['others from 1', 'all from 1']);
});

test('a service that throws is logged with room and client id, and the room and server go on', async (t) => {
  const { ws, logger } = await start(t, () => ({
    message(c: ClientId, p: Payload, ctx: Context) {
      if (p === 'throw') throw new Error('service bug');
      ctx.sendMessage(c, `echo ${String(p)}`);
    },
  }));
  const c = await client(ws('/ws/buggy'));
  t.after(() => c.ws.terminate());
  c.ws.send('throw');
  c.ws.send('still here?');
  assert.equal(await c.nextText(), 'echo still here?');
  const entry = await logger.waitFor((e) => e.level === 'error', 'the error log');
  assert.equal(entry.fields.roomId, 'buggy');
  assert.equal(entry.fields.clientId, 1);
  assert.equal(entry.fields.code, 'SR_ERR_SERVICE_THREW');
});

test('a service that cannot be created closes its clients with 1011; the next connection tries again', async (t) => {
  let attempts = 0;
  const { ws } = await start(t, () => {
    attempts += 1;
    if (attempts === 1) throw new Error('first start fails');
    return { connect: (c: ClientId, ctx: Context) => ctx.sendMessage(c, 'welcome') };
  });
  const first = new WebSocket(ws('/ws/flaky')); // it may be closed before an open handler could run
  assert.deepEqual(await closed(first), { code: 1011, reason: 'room service failed to start' });
  const second = await client(ws('/ws/flaky'));
  t.after(() => second.ws.terminate());
  assert.equal(await second.nextText(), 'welcome');
});

test('the heartbeat drops a client that stops answering pings, and its room hears disconnect', async (t) => {
  const { ws, logger } = await start(t, Recorder, { heartbeatIntervalMs: 50, heartbeatTimeoutMs: 200 });
  const watcher = await client(ws('/ws/hb'), 'watcher');
  t.after(() => watcher.ws.terminate());
  const silent = await open(ws('/ws/hb'), { autoPong: false });
  t.after(() => silent.terminate());
  await watcher.texts(2); // its welcome, then "connect 2"
  // The watcher answers pings (ws does by default) and outlives several timeouts.
  assert.equal((await closed(silent, 2_000)).code, 1006, 'the silent client was cut');
  assert.deepEqual((await watcher.texts(3))[2], 'disconnect 2');
  await logger.waitFor((e) => /heartbeat timeout/.test(e.message), 'the drop logged');
  await new Promise((r) => setTimeout(r, 300)); // longer than the timeout: the live client stays
  assert.equal(watcher.ws.readyState, WebSocket.OPEN);
});

test('close() closes every client with 1001, delivers their disconnects, and disposes rooms', async (t) => {
  const events: string[] = [];
  const logger = new MemoryLogger();
  const server = await serve(() => ({ disconnect: (c: ClientId) => void events.push(`disconnect ${c}`) }), {
    port: 0,
    host: '127.0.0.1',
    logger,
  });
  const sockets = await Promise.all([open(`ws://127.0.0.1:${server.port}/ws/x`), open(`ws://127.0.0.1:${server.port}/ws/y`)]);
  t.after(() => sockets.forEach((s) => s.terminate()));
  const codes = sockets.map((s) => closed(s));
  await server.close();
  assert.deepEqual((await Promise.all(codes)).map((c) => c.code), [1001, 1001]);
  assert.deepEqual(events.sort(), ['disconnect 1', 'disconnect 1']);
  assert.equal(server.roomCount, 0);
  await assert.rejects(open(`ws://127.0.0.1:${server.port}/ws/x`), 'no longer listening');
});

test('a second server on a busy port fails with one clear line, and lets go of what it assembled', async (t) => {
  const { server } = await start(t, SharedCounter);
  await assert.rejects(serve(SharedCounter, { port: server.port, host: '127.0.0.1', logLevel: 'silent' }), {
    code: 'SR_ERR_LISTEN_FAILED',
    message: new RegExp(`port ${server.port} is already in use`),
  });
  let released = false;
  const source = { name: 'a source with threads', createAdapter: nativeAdapterFactory(SharedCounter), close: () => Promise.resolve(void (released = true)) };
  await assert.rejects(serve(source, { port: server.port, host: '127.0.0.1', logLevel: 'silent' }), { code: 'SR_ERR_LISTEN_FAILED' });
  assert.equal(released, true, 'the source it was given is closed, as close() would');
});

test('random bytes instead of an HTTP request do not disturb the server', async (t) => {
  const { server } = await start(t, SharedCounter);
  await new Promise<void>((resolve, reject) => {
    const sock = connect(server.port, '127.0.0.1', () => sock.end(Buffer.from([0xde, 0xad, 0xbe, 0xef, 13, 10, 13, 10])));
    sock.resume(); // read the answer, so that the socket can end
    sock.on('close', () => resolve());
    sock.on('error', reject);
    sock.setTimeout(3_000, () => reject(new Error('no answer to garbage')));
  });
  assert.equal((await get(server, '/status')).body, 'ok');
});

test('close() does not wait for ever on a callback that never settles', async (t) => {
  const logger = new MemoryLogger();
  const server = await serve(() => ({ disconnect: () => new Promise<void>(() => {}) }), {
    port: 0,
    host: '127.0.0.1',
    logger,
    shutdownTimeoutMs: 300,
  });
  const ws = await open(`ws://127.0.0.1:${server.port}/ws/stuck`);
  t.after(() => ws.terminate());
  await within(server.close(), 'close() to give up on the stuck room', 3_000);
  await logger.waitFor((e) => /rooms still busy 300 ms after shutdown began/.test(e.message), 'the warning');
});
