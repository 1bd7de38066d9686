// HTTP under attack (issue 12, items 2 and 7): slow requests meet an absolute deadline (408),
// oversized ones get 431/414, connections not yet routed are capped in all and per address,
// and the client tries 408/414/431 again rather than giving up.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect as tcp, createServer, type AddressInfo, type Socket } from 'node:net';
import { test, type TestContext } from 'node:test';
import SharedCounter from '../examples/counter/service.js';
import { connect } from '../src/client/node.js';
import { serve, type ServerOptions } from '../src/index.js';
import { serveAdopted } from '../src/serve.js';
import { within } from './helpers/deadline.js';
import { MemoryLogger } from './helpers/logs.js';
import { answeredThenClosed, open } from './helpers/sockets.js';

async function start(t: TestContext, options: ServerOptions = {}) {
  const server = await serve(SharedCounter, { port: 0, host: '127.0.0.1', logger: new MemoryLogger(), ...options });
  t.after(() => server.close());
  return server;
}

/** A raw connection that collects what the server answers, and resolves `ended` when the server closes it. */
async function raw(port: number): Promise<{ socket: Socket; text: () => string; ended: Promise<void> }> {
  const socket = tcp(port, '127.0.0.1');
  socket.on('error', () => {});
  let text = '';
  socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
  const ended = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await once(socket, 'connect', { signal: AbortSignal.timeout(3_000) });
  return { socket, text: () => text, ended };
}

/** Drips `request` one byte every `everyMs` until the server closes the socket; resolves with the answer and how long it took. */
async function drip(port: number, request: string, everyMs: number): Promise<{ answer: string; ms: number }> {
  const conn = await raw(port);
  const started = performance.now();
  let i = 0;
  const timer = setInterval(() => {
    if (i < request.length && !conn.socket.destroyed) conn.socket.write(request[i++]!);
  }, everyMs);
  try {
    await within(conn.ended, 'the server to close a dripping connection', 5_000);
  } finally {
    clearInterval(timer);
  }
  return { answer: conn.text(), ms: performance.now() - started };
}

const SLOW_REQUEST = `GET /ws/slow HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nX-Pad: ${'p'.repeat(200)}\r\n\r\n`;

test('a request dripping in byte by byte meets an absolute deadline and gets 408', async (t) => {
  const server = await start(t, { headersTimeoutMs: 400 });
  // A byte every 50 ms would reset any idle timer for ever; the deadline is absolute.
  const { answer, ms } = await drip(server.port, SLOW_REQUEST, 50);
  assert.match(answer, /^HTTP\/1\.1 408 /);
  assert.ok(ms >= 350 && ms < 2_000, `closed after ${ms.toFixed(0)} ms`);
  (await open(`ws://127.0.0.1:${server.port}/ws/after`)).terminate();
});

test('each pending connection has its own deadline, one timer for all; a request in time takes it off', async (t) => {
  const server = await start(t, { headersTimeoutMs: 500 });
  // Two silent connections a few ms apart (the second is not yet due when the first is) and,
  // between them, a WebSocket whose request arrives at once: it must outlive both deadlines.
  const first = await raw(server.port);
  const firstAt = performance.now();
  const ws = await open(`ws://127.0.0.1:${server.port}/ws/in-time`);
  const second = await raw(server.port);
  const secondAt = performance.now();
  await within(first.ended, 'the first silent connection to be closed', 3_000);
  const firstMs = performance.now() - firstAt;
  await within(second.ended, 'the second silent connection to be closed', 3_000);
  const secondMs = performance.now() - secondAt;
  assert.match(first.text(), /^HTTP\/1\.1 408 /);
  assert.match(second.text(), /^HTTP\/1\.1 408 /);
  assert.ok(firstMs >= 450 && secondMs >= 450, `closed after ${firstMs.toFixed(0)} and ${secondMs.toFixed(0)} ms, deadline 500`);
  assert.equal(ws.readyState, ws.OPEN, 'the WebSocket whose request came in time is still open');
  ws.terminate();
});

test("a keep-alive connection's next request is pending again: the same deadline, the same caps", async (t) => {
  const server = await start(t, { headersTimeoutMs: 400, maxUnroutedPerAddress: 2 });
  const conn = await raw(server.port);
  conn.socket.write('GET /status HTTP/1.1\r\nHost: x\r\n\r\n');
  await within(
    new Promise<void>((resolve) => {
      const check = (): void => (/\r\n\r\nok$/.test(conn.text()) ? resolve() : void conn.socket.once('data', check));
      check();
    }),
    'the first answer',
    3_000,
  );
  // Then the next request drips in: without a deadline of its own it would live on for
  // Node's 30 s check; it gets 408 like a first request.
  const started = performance.now();
  const next = `GET /status HTTP/1.1\r\nHost: x\r\nX-Pad: ${'p'.repeat(100)}\r\n\r\n`;
  let i = 0;
  const timer = setInterval(() => {
    if (i < next.length && !conn.socket.destroyed) conn.socket.write(next[i++]!);
  }, 50);
  t.after(() => clearInterval(timer));
  await within(conn.ended, 'the server to close the dripping keep-alive connection', 5_000);
  assert.match(conn.text(), /HTTP\/1\.1 408 /);
  assert.ok(performance.now() - started < 2_000, 'cut at the deadline, not at Node\'s 30 s check');
});

test('an adopted connection (a worker of --workers) has the same deadline', async (t) => {
  const worker = await serveAdopted(SharedCounter, { logger: new MemoryLogger(), headersTimeoutMs: 400 }, 'test worker', () => true);
  t.after(() => worker.close());
  // The primary hands a socket over once it has the request line; the headers then drip.
  const front = createServer((socket) => socket.once('data', (head: Buffer) => worker.adopt(socket, head)));
  await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
  t.after(() => front.close());
  const { port } = front.address() as AddressInfo;
  const conn = await raw(port);
  conn.socket.write('GET /ws/slow HTTP/1.1\r\n');
  const started = performance.now();
  const timer = setInterval(() => conn.socket.write('x'), 50);
  t.after(() => clearInterval(timer));
  await within(conn.ended, 'the worker to close the dripping connection', 5_000);
  clearInterval(timer);
  assert.match(conn.text(), /^HTTP\/1\.1 408 /);
  assert.ok(performance.now() - started < 2_000);
});

test('oversized headers get 431, an oversized request line 414', async (t) => {
  const server = await start(t);
  const send = async (request: string): Promise<string> => {
    const conn = await raw(server.port);
    conn.socket.write(request);
    await within(conn.ended, 'the answer', 5_000);
    return conn.text();
  };
  assert.match(await send(`GET /ws/x HTTP/1.1\r\nHost: x\r\nX-Big: ${'h'.repeat(20_000)}\r\n\r\n`), /^HTTP\/1\.1 431 /);
  assert.match(await send(`GET /ws/${'u'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`), /^HTTP\/1\.1 414 /);
});

test('a refused upgrade or a bad request is closed, though the client keeps its side open', async (t) => {
  const server = await start(t);
  const key = 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n';
  await answeredThenClosed(server.port, `GET /ws/%ZZ HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n${key}\r\n`, /^HTTP\/1\.1 400 [^]*not valid percent-encoding\n$/);
  await answeredThenClosed(server.port, `GET /elsewhere HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n${key}\r\n`, /^HTTP\/1\.1 404 /);
  await answeredThenClosed(server.port, 'NOT HTTP AT ALL\r\n\r\n', /^HTTP\/1\.1 400 /);
});

test('connections whose request has not arrived are capped per address and in all; the cap frees as they go', async (t) => {
  const server = await start(t, { maxUnroutedPerAddress: 5, maxUnroutedConnections: 50, headersTimeoutMs: 5_000 });
  const idle = await Promise.all(Array.from({ length: 5 }, () => raw(server.port)));
  // The sixth from the same address is closed at once, without an answer.
  const sixth = await raw(server.port);
  await within(sixth.ended, 'the sixth pending connection to be closed', 3_000);
  assert.equal(sixth.text(), '');
  // One that finishes its request (and does not keep the connection for another: a kept-alive
  // connection's next request is pending again) is no longer pending: room for another.
  idle[0]!.socket.write('GET /status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  await within(idle[0]!.ended, 'the status answer, and the close');
  assert.match(idle[0]!.text(), /^HTTP\/1\.1 200 /);
  const next = await raw(server.port);
  next.socket.write('GET /status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  await within(next.ended, 'the answer on a freed slot');
  assert.match(next.text(), /^HTTP\/1\.1 200 /);
  for (const c of idle) c.socket.destroy();
});

test('the client tries 408, 414 and 431 refusals again (a 403 still stops it: client.test.ts)', async (t) => {
  const answers = [431, 408, 414];
  const server = await start(t, {
    authorize: () => {
      const status = answers.shift();
      return status === undefined ? true : { status, reason: `refused with ${status}` };
    },
  });
  const client = connect(`ws://127.0.0.1:${server.port}`, { room: 'retry', minDelayMs: 10, maxDelayMs: 20 });
  t.after(() => client.close());
  await within(new Promise<void>((resolve) => client.on('open', () => resolve())), 'the client to open after three retryable refusals');
  assert.deepEqual(answers, []);
});
