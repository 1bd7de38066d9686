// The client (stateroom/client, Node entry) against a real server on 127.0.0.1: reconnects,
// identity, resume, the send queue, backoff, and when it stops. Drops are made with a TCP
// proxy that cuts connections, or by stopping the server and starting another on its port.
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { test, type TestContext } from 'node:test';
import { WebSocket, WebSocketServer } from 'ws';
import { connect, type Client, type ClientEvents, type ClientOptions, type Data } from '../src/client/node.js';
import { serve, type ClientId, type Context, type Payload, type ServerOptions, type ServiceFactory, type ServiceSource } from '../src/index.js';
import { serveOn, startProxy } from './helpers/browser.js';
import { within } from './helpers/deadline.js';
import { DEADLINE_MS, Inbox } from './helpers/sockets.js';

/** Fast reconnects, so that tests spend their time on behaviour rather than on waiting. */
const QUICK: ClientOptions = { minDelayMs: 10, maxDelayMs: 50 };

type Event = { [K in keyof ClientEvents]: { type: K; args: ClientEvents[K] } }[keyof ClientEvents];

/** Records every event of a client, so a test can await the n-th of a kind without racing it. */
class Recorder {
  readonly events: Event[] = [];
  private waiters: Array<() => void> = [];

  constructor(readonly client: Client) {
    for (const type of ['open', 'message', 'close', 'reconnecting', 'error', 'drop'] as const) {
      client.on(type, (...args: unknown[]) => {
        this.events.push({ type, args } as Event);
        for (const wake of this.waiters.splice(0)) wake();
      });
    }
  }

  of<K extends keyof ClientEvents>(type: K): Array<ClientEvents[K]> {
    return this.events.filter((e) => e.type === type).map((e) => e.args as ClientEvents[K]);
  }

  messages(): Data[] {
    return this.of('message').map(([data]) => data);
  }

  /** Resolves with the `count`-th event of `type` (1-based), waiting for it if need be. */
  async nth<K extends keyof ClientEvents>(type: K, count: number, ms = DEADLINE_MS): Promise<ClientEvents[K]> {
    await this.until(() => this.of(type).length >= count, `${type} #${count}`, ms);
    return this.of(type)[count - 1]!;
  }

  until(done: () => boolean, what: string, ms = DEADLINE_MS): Promise<void> {
    return within(
      new Promise<void>((resolve) => {
        const check = (): void => (done() ? resolve() : void this.waiters.push(check));
        check();
      }),
      `${what} (events so far: ${this.events.map((e) => e.type).join(', ')})`,
      ms,
    );
  }
}

/**
 * A service that records its events; "who" answers the sender's client id, "send <n>"
 * broadcasts n numbered messages, "echo <x>" answers x, binary is echoed.
 */
function recording() {
  const events: string[] = [];
  const waiters: Array<() => void> = [];
  let sent = 0;
  const service: ServiceFactory = (_roomId: string, ctx: Context) => ({
    connect: (c: ClientId) => record(`connect ${c}`),
    disconnect: (c: ClientId) => record(`disconnect ${c}`),
    message: (c: ClientId, p: Payload) => {
      if (typeof p !== 'string') return ctx.sendMessage(c, p);
      const count = /^send (\d+)$/.exec(p);
      if (count) for (let i = 0; i < Number(count[1]); i++) ctx.sendMessage('broadcast', `m${++sent}`);
      else if (p === 'who') ctx.sendMessage(c, `you are ${c}`);
      else record(`message ${c} ${p}`);
    },
  });
  function record(event: string): void {
    events.push(event);
    for (const wake of waiters.splice(0)) wake();
  }
  /** Resolves once the service has seen `count` events. */
  const seen = (count: number, what: string): Promise<string[]> =>
    within(
      new Promise<string[]>((resolve) => {
        const check = (): void => (events.length >= count ? resolve(events.slice(0, count)) : void waiters.push(check));
        check();
      }),
      `the service to see ${what} (it saw: ${events.join(', ')})`,
    );
  return { events, service, seen };
}

async function start(t: TestContext, service: ServiceSource, options: ServerOptions = {}) {
  const server = await serve(service, { port: 0, host: '127.0.0.1', logLevel: 'silent', ...options });
  t.after(() => server.close());
  return server;
}

/** A client that is closed when the test ends, with its recorder. */
function client(t: TestContext, url: string, options: ClientOptions = {}): Recorder {
  const c = connect(url, { ...QUICK, ...options });
  t.after(() => c.close());
  return new Recorder(c);
}

/** A plain ws socket in room `r`, to act in the room while the client under test is away. */
async function watcher(t: TestContext, port: number): Promise<Inbox> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws/r?token=watcher`);
  t.after(() => ws.terminate());
  const inbox = new Inbox(ws, 'watcher');
  await within(new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject)), 'the watcher to connect');
  return inbox;
}

/**
 * A server whose room "r" is full (one client at most, and the watcher is in it), so every
 * other client is refused with 503; `tokens` lists the token of every upgrade request.
 */
async function fullRoom(t: TestContext) {
  const tokens: string[] = [];
  const server = await start(t, recording().service, {
    maxClientsPerRoom: 1,
    authorize: (req) => {
      tokens.push(new URL(req.url ?? '', 'http://x').searchParams.get('token') ?? '');
      return true;
    },
  });
  await watcher(t, server.port);
  return { server, tokens };
}

/** A port nobody listens on (bound, then released). */
async function deadPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

test('after a network drop the client resumes its seat: it gets exactly what it missed, and the service never sees the drop', async (t) => {
  const { service, events } = recording();
  const server = await start(t, service);
  const proxy = await startProxy(t, server.port);
  const w = await watcher(t, server.port);
  const c = client(t, `ws://127.0.0.1:${proxy.port}`, { room: 'r' });
  await c.nth('open', 1);
  w.ws.send('send 3');
  await c.until(() => c.messages().length === 3, 'm1..m3');

  proxy.down();
  assert.deepEqual((await c.nth('close', 1)).slice(0, 1), [1006]);
  assert.equal(c.of('close')[0]![2], true, 'will reconnect');
  w.ws.send('send 4'); // m4..m7, while the client is away
  await w.texts(7);
  proxy.up();

  assert.deepEqual(await c.nth('open', 2), [{ resumed: true, reconnected: true }]);
  w.ws.send('send 1');
  await c.until(() => c.messages().includes('m8'), 'm8');
  assert.deepEqual(c.messages(), ['m1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7', 'm8'], 'each message once, in order');
  assert.equal(c.client.received, 8);
  assert.equal(c.client.resumed, true);
  assert.deepEqual(events, ['connect 1', 'connect 2'], 'the service saw no disconnect');
});

test('a client whose seat was given up comes back to a new seat with the same client id, and is told it is new', async (t) => {
  const { service, events, seen } = recording();
  const server = await start(t, service, { resumeGraceMs: 0 });
  const proxy = await startProxy(t, server.port);
  const c = client(t, `ws://127.0.0.1:${proxy.port}`, { room: 'r' });
  c.client.send('who');
  await c.until(() => c.messages().includes('you are 1'), 'its client id');
  await watcher(t, server.port); // takes id 2, so a new client would get 3
  await seen(2, 'the watcher join');

  proxy.cut();
  assert.deepEqual(await c.nth('open', 2), [{ resumed: false, reconnected: true }]);
  assert.equal(c.client.received, 0, 'a new seat counts from 0');
  c.client.send('who');
  await c.until(() => c.messages().length === 2, 'its client id again');
  assert.deepEqual(c.messages(), ['you are 1', 'you are 1'], 'the token kept its client id');
  assert.deepEqual(events, ['connect 1', 'connect 2', 'disconnect 1', 'connect 1']);
});

test('messages sent while the server is down are queued, and the restarted server gets them once, in order; past maxQueued the oldest is dropped', async (t) => {
  const first = recording();
  const server = await start(t, first.service);
  const c = client(t, `ws://127.0.0.1:${server.port}`, { room: 'r', maxQueued: 3 });
  await c.nth('open', 1);

  await server.close();
  assert.deepEqual(await c.nth('close', 1), [1001, 'server shutting down', true]);
  assert.deepEqual(['a', 'b', 'c', 'd'].map((m) => c.client.send(m)), [false, false, false, false], 'queued, not sent');
  assert.deepEqual(c.of('drop'), [['a']], 'the oldest was dropped, with an event');
  assert.equal(c.client.queued, 3);

  const second = recording();
  await serveOn(t, server.port, second.service);
  assert.deepEqual(await c.nth('open', 2), [{ resumed: false, reconnected: true }], 'a new server: a new seat');
  assert.equal(c.client.queued, 0);
  assert.equal(c.client.send('e'), true, 'sent at once');
  // Anything the queue delivered twice would show before "e": the room keeps one client's order.
  assert.deepEqual(await second.seen(5, 'b, c, d, then e'), ['connect 1', 'message 1 b', 'message 1 c', 'message 1 d', 'message 1 e']);
  assert.ok(c.of('reconnecting').length >= 1);
});

test('while the server refuses with 503, reconnect delays stay within [minDelayMs, maxDelayMs] and attempts are counted', async (t) => {
  const { server, tokens } = await fullRoom(t);
  const minDelayMs = 5;
  const maxDelayMs = 30;
  const c = client(t, `ws://127.0.0.1:${server.port}`, { room: 'r', minDelayMs, maxDelayMs });
  await c.nth('reconnecting', 8);
  const attempts = c.of('reconnecting').slice(0, 8);
  assert.deepEqual(attempts.map(([attempt]) => attempt), [1, 2, 3, 4, 5, 6, 7, 8]);
  for (const [attempt, delay] of attempts) {
    assert.ok(delay >= minDelayMs && delay <= maxDelayMs, `attempt ${attempt}: ${delay} ms is within [${minDelayMs}, ${maxDelayMs}]`);
  }
  assert.equal(c.of('open').length, 0);
  assert.match(c.of('error')[0]![0].message, /HTTP 503/);
  assert.ok(tokens.filter((tk) => tk === c.client.token).length >= 8, 'each attempt reached the server');
  assert.deepEqual(c.of('close'), [], 'no close event for attempts that never opened');
});

test('close() stops reconnecting at once: a final close event, no further attempt, and send() throws', async (t) => {
  const { server, tokens } = await fullRoom(t);
  const fixed = { room: 'r', minDelayMs: 20, maxDelayMs: 20 };
  const a = client(t, `ws://127.0.0.1:${server.port}`, { ...fixed, token: 'a' });
  a.client.on('reconnecting', (attempt) => {
    if (attempt === 2) a.client.close();
  });
  await a.nth('close', 1);
  assert.deepEqual(a.of('close'), [[1000, '', false]]);
  assert.equal(a.client.state, 'closed');
  assert.throws(() => a.client.send('late'), /closed/);

  // A control client with the same fixed 20 ms delay: by its third failure, 40 ms or more
  // after a's close(), a would have tried again had it not stopped.
  const b = client(t, `ws://127.0.0.1:${server.port}`, { ...fixed, token: 'b' });
  await b.nth('reconnecting', 3);
  assert.equal(tokens.filter((tk) => tk === 'a').length, 2, 'a tried twice (connect, attempt 1) and never again');
  assert.equal(a.of('reconnecting').length, 2);
});

test('an upgrade refused with a 4xx status is not retried: the client stops and says why', async (t) => {
  let asked = 0;
  const server = await start(t, recording().service, {
    authorize: () => {
      asked += 1;
      return { status: 403, reason: 'no entry' };
    },
  });
  const c = client(t, `ws://127.0.0.1:${server.port}`, { room: 'r' });
  assert.deepEqual(await c.nth('close', 1), [1006, 'HTTP 403: no entry', false], "the server's reason, not only its status");
  assert.match(c.of('error')[0]![0].message, /refused the connection: HTTP 403: no entry$/);
  assert.equal(c.client.state, 'closed');
  assert.equal(asked, 1);
  assert.deepEqual(c.of('reconnecting'), []);
});

test('a client replaced by a newer connection with its token (4001) does not reconnect', async (t) => {
  const server = await start(t, recording().service);
  const first = client(t, `ws://127.0.0.1:${server.port}`, { room: 'r', token: 'shared' });
  await first.nth('open', 1);
  const second = client(t, `ws://127.0.0.1:${server.port}`, { room: 'r', token: 'shared' });
  await second.nth('open', 1);
  assert.deepEqual(await first.nth('close', 1), [4001, 'replaced by a newer connection with the same token', false]);
  assert.equal(first.client.state, 'closed');
  assert.deepEqual(first.of('reconnecting'), []);
  assert.equal(second.client.state, 'open');
});

test('after maxAttempts failed attempts in a row the client gives up', async (t) => {
  const c = client(t, `ws://127.0.0.1:${await deadPort()}`, { maxAttempts: 3 });
  const [code, , willReconnect] = await c.nth('close', 1);
  assert.deepEqual([code, willReconnect], [1006, false]);
  assert.deepEqual(c.of('reconnecting').map(([attempt]) => attempt), [1, 2, 3]);
  assert.equal(c.of('error').length, 4, 'the first connection and three attempts failed');
});

/** A TCP server that holds every connection and says nothing; its port. */
async function silentServer(t: TestContext): Promise<number> {
  const silent = createServer(() => {});
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    silent.close();
    silent.unref();
  });
  return (silent.address() as { port: number }).port;
}

test('a server that accepts but never answers the upgrade counts as a failed attempt after connectTimeoutMs', async (t) => {
  const port = await silentServer(t);
  const c = client(t, `ws://127.0.0.1:${port}`, { connectTimeoutMs: 50, maxAttempts: 1 });
  assert.deepEqual(await c.nth('close', 1), [1006, 'connect timeout', false]);
  assert.deepEqual(c.of('reconnecting').map(([attempt]) => attempt), [1]);
  assert.deepEqual(c.of('error').map(([err]) => err.message), ['not connected after 50 ms', 'not connected after 50 ms']);
});

test('close() while connecting cancels the connect timeout: no error after the final close', async (t) => {
  const port = await silentServer(t);
  const c = client(t, `ws://127.0.0.1:${port}`, { connectTimeoutMs: 50 });
  c.client.close();
  assert.deepEqual(await c.nth('close', 1), [1000, '', false]);
  // Three connect timeouts later, still nothing: a timer left running would have said
  // "not connected after 50 ms" on a client already closed.
  await new Promise((resolve) => setTimeout(resolve, 150));
  assert.deepEqual(c.of('error'), []);
  assert.equal(c.events.at(-1)?.type, 'close', 'the final close is the last event');
});

test('an attempt given up on after connectTimeoutMs is closed with 4002, not 1000: the server keeps a seat it may already hold', async (t) => {
  // Upgrades with the exact subprotocol and never sends the seat frame that opens the client.
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', handleProtocols: (offered) => (offered.has('stateroom.exact') ? 'stateroom.exact' : false) });
  t.after(() => wss.close());
  await new Promise((resolve) => wss.once('listening', resolve));
  const codes = new Promise<number>((resolve) => wss.on('connection', (ws) => ws.on('close', (code) => resolve(code))));
  const { port } = wss.address() as { port: number };
  client(t, `ws://127.0.0.1:${port}`, { connectTimeoutMs: 100, maxAttempts: 1 });
  assert.equal(await within(codes, 'the server to hear the close'), 4002);
});

test('a room whose service fails (1011) is retried with growing delays, not at the first delay every time', async (t) => {
  let creations = 0;
  const { service: working, seen } = recording();
  // Async, so that each room fails after the client was seated and told so: a factory that
  // throws at once fails the room before the join, and the client never opens at all.
  const server = await start(t, async (roomId: string, ctx: Context) => {
    creations += 1;
    await Promise.resolve();
    if (creations <= 3) throw new Error(`failure ${creations}`);
    return working(roomId, ctx);
  });
  const c = client(t, `ws://127.0.0.1:${server.port}`, { room: 'r' });
  await seen(1, 'the client connect at last');
  await c.nth('open', 4);
  // The socket opens before the room fails, so each 1011 follows an open: the attempt count
  // must survive it, or a failing room would be retried at the shortest delay forever.
  assert.deepEqual(c.of('close').map(([code]) => code).slice(0, 3), [1011, 1011, 1011]);
  assert.deepEqual(c.of('reconnecting').map(([attempt]) => attempt), [1, 2, 3]);
});

test('the Node entry keeps ws when the options name WebSocket: undefined', async (t) => {
  const server = await start(t, recording().service);
  const c = client(t, `ws://127.0.0.1:${server.port}/ws/r`, { WebSocket: undefined });
  c.client.send('who');
  assert.deepEqual(await c.nth('message', 1), ['you are 1']);
});

test('text arrives as a string and binary as a Uint8Array; bytes sent are echoed unchanged', async (t) => {
  const server = await start(t, recording().service);
  const c = client(t, `ws://127.0.0.1:${server.port}/ws/r`);
  c.client.send(new Uint8Array([0, 1, 254, 255]));
  c.client.send('who');
  await c.until(() => c.messages().length === 2, 'two answers');
  const [bytes, text] = c.messages();
  assert.ok(bytes instanceof Uint8Array);
  assert.deepEqual([...bytes], [0, 1, 254, 255]);
  assert.equal(text, 'you are 1');
});

test('dropped at random points under steady traffic, the client receives every message exactly once, in order', async (t) => {
  const total = 300;
  let sent = 0;
  const server = await start(t, (_roomId: string, ctx: Context) => ({
    init: () => ctx.setTimer(1),
    timer: () => {
      for (let i = 0; i < 5 && sent < total; i++) ctx.sendMessage('broadcast', `m${++sent}`);
      if (sent < total) ctx.setTimer(1);
    },
  }));
  const proxy = await startProxy(t, server.port);
  let seed = 4242; // seeded, so that a failure replays
  const random = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const c = client(t, `ws://127.0.0.1:${proxy.port}`, { room: 'r' });
  let next = 10 + Math.floor(random() * 40);
  c.client.on('message', () => {
    if (c.client.received >= next) {
      next = c.client.received + 10 + Math.floor(random() * 40);
      proxy.cut();
    }
  });
  await c.until(() => c.messages().at(-1) === `m${total}`, `m${total}`, 15_000);
  const got = c.messages();
  const first = Number(String(got[0]).slice(1));
  assert.deepEqual(got, Array.from({ length: total - first + 1 }, (_, i) => `m${first + i}`), 'contiguous, no gap, no repeat');
  const opens = c.of('open');
  assert.ok(opens.length >= 4, `reconnected ${opens.length - 1} times`);
  assert.ok(opens.slice(1).every(([info]) => info.resumed), 'every reconnect resumed the seat');
});
