// stateroom/client with a server that speaks stateroom.exact: what the client sent and the
// server missed is sent again, once, in order, after a resume — and never into a new seat.
// Drops are made by a TCP proxy of this file, which can also swallow what the client sends
// (so the server misses it for sure) before it cuts the connection.
import assert from 'node:assert/strict';
import { createServer, connect as tcp, type Socket } from 'node:net';
import { test, type TestContext } from 'node:test';
import { WebSocketServer } from 'ws';
import { connect, type Client, type ClientEvents, type ClientOptions, type Data } from '../src/client/node.js';
import { serve, type ClientId, type Context, type Payload, type ServerOptions, type ServiceSource } from '../src/index.js';
import { within } from './helpers/deadline.js';
import { DEADLINE_MS } from './helpers/sockets.js';

/** Fast reconnects, so that tests spend their time on behaviour rather than on waiting. */
const QUICK: ClientOptions = { minDelayMs: 5, maxDelayMs: 20 };

/** Calls `check` after every change until it holds; rejects naming `what` after `ms`. */
class Changes {
  private waiters: Array<() => void> = [];

  changed(): void {
    for (const wake of this.waiters.splice(0)) wake();
  }

  until(done: () => boolean, what: () => string, ms = DEADLINE_MS): Promise<void> {
    const wait = new Promise<void>((resolve) => {
      const check = (): void => (done() ? resolve() : void this.waiters.push(check));
      check();
    });
    return within(wait, '', ms).catch(() => {
      throw new Error(`timed out after ${ms} ms waiting for ${what()}`);
    });
  }
}

type Event = { [K in keyof ClientEvents]: { type: K; args: ClientEvents[K] } }[keyof ClientEvents];

/** Records a client's events, so a test can wait for the n-th of a kind without racing it. */
class Recorder extends Changes {
  readonly events: Event[] = [];

  constructor(readonly client: Client) {
    super();
    for (const type of ['open', 'message', 'close', 'lost'] as const) {
      client.on(type, (...args: unknown[]) => {
        this.events.push({ type, args } as Event);
        this.changed();
      });
    }
  }

  of<K extends keyof ClientEvents>(type: K): Array<ClientEvents[K]> {
    return this.events.filter((e) => e.type === type).map((e) => e.args as ClientEvents[K]);
  }

  messages(): Data[] {
    return this.of('message').map(([data]) => data);
  }

  async nth<K extends keyof ClientEvents>(type: K, count: number, ms = DEADLINE_MS): Promise<ClientEvents[K]> {
    await this.until(() => this.of(type).length >= count, () => `${type} #${count} (events: ${this.events.map((e) => e.type).join(', ')})`, ms);
    return this.of(type)[count - 1]!;
  }
}

/** A service that records each client's messages in order ("<client> <payload>"), and its connects and disconnects. */
function recording() {
  const events: string[] = [];
  const changes = new Changes();
  const service: ServiceSource = (_roomId: string, ctx: Context) => ({
    connect: (c: ClientId) => record(`connect ${c}`),
    disconnect: (c: ClientId) => record(`disconnect ${c}`),
    message: (c: ClientId, p: Payload) => {
      if (p === 'who') ctx.sendMessage(c, `you are ${c}`);
      else record(`${c} ${String(p)}`);
    },
  });
  function record(event: string): void {
    events.push(event);
    changes.changed();
  }
  const seen = (count: number): Promise<string[]> =>
    changes.until(() => events.length >= count, () => `the service to see ${count} events (it saw: ${events.join(', ')})`).then(() => events.slice());
  return { events, service, seen };
}

async function start(t: TestContext, service: ServiceSource, options: ServerOptions = {}) {
  const server = await serve(service, { port: 0, host: '127.0.0.1', logLevel: 'silent', ...options });
  t.after(() => server.close());
  return server;
}

/**
 * A TCP proxy to `port`. `hold()` makes it swallow what clients send from then on (the server
 * never gets it) until `cut()`, which destroys every connection at once, both sides, with no
 * close frame; new connections pass everything again.
 */
async function proxy(t: TestContext, port: number) {
  const open = new Set<Socket>();
  const changes = new Changes();
  let holding = false;
  let swallowed = 0;
  let cuts = 0;
  const server = createServer((socket) => {
    const upstream = tcp(port, '127.0.0.1');
    const end = (): void => {
      for (const s of [socket, upstream]) {
        s.destroy();
        open.delete(s);
      }
    };
    for (const s of [socket, upstream]) open.add(s.on('error', end).on('close', end));
    socket.on('data', (chunk: Buffer) => {
      if (!holding) upstream.write(chunk);
      else {
        swallowed += chunk.length;
        changes.changed();
      }
    });
    upstream.pipe(socket);
  });
  await within(new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve)), 'the proxy to listen');
  const cut = (): void => {
    holding = false;
    if (open.size > 0) cuts += 1;
    for (const s of [...open]) s.destroy();
    open.clear();
  };
  t.after(async () => {
    cut();
    await within(new Promise((resolve) => server.close(resolve)), 'the proxy to close');
  });
  return {
    url: `ws://127.0.0.1:${(server.address() as { port: number }).port}`,
    cut,
    hold: () => {
      holding = true;
      swallowed = 0;
    },
    /** Resolves once `bytes` were swallowed since `hold()`. */
    swallowedAtLeast: (bytes: number) => changes.until(() => swallowed >= bytes, () => `the proxy to swallow ${bytes} bytes (${swallowed} so far)`),
    get cuts() {
      return cuts;
    },
  };
}

function client(t: TestContext, url: string, options: ClientOptions = {}): Recorder {
  const c = connect(url, { ...QUICK, room: 'r', ...options });
  t.after(() => c.close());
  return new Recorder(c);
}

/** A one-character text message from the client: 2 bytes of header, 4 of mask, 1 of text. */
const FRAME = 7;

test('after a resume the client sends again exactly what the server missed, in order, before what it queued while away', async (t) => {
  const { service, seen } = recording();
  const server = await start(t, service);
  const p = await proxy(t, server.port);
  const c = client(t, p.url);
  await c.nth('open', 1);
  assert.equal(c.client.exact, true);
  c.client.send('a');
  c.client.send('b');
  await seen(3);
  p.hold();
  assert.deepEqual([c.client.send('c'), c.client.send('d')], [true, true], 'handed to the socket');
  await p.swallowedAtLeast(2 * FRAME);
  assert.equal(c.client.unconfirmed, 4, 'kept: nothing is confirmed before a resume');
  const off = c.client.on('close', () => void (off(), c.client.send('e'))); // sent while away: queued
  p.cut();
  assert.deepEqual(await c.nth('open', 2), [{ resumed: true, reconnected: true }]);
  assert.deepEqual(await seen(6), ['connect 1', '1 a', '1 b', '1 c', '1 d', '1 e'], 'c and d once, then e');
  assert.equal(c.client.unconfirmed, 3, 'a and b were confirmed; c, d and e are kept until the next resume');
  assert.deepEqual(c.of('lost'), []);

  // A second drop with nothing missed: nothing is sent twice.
  p.cut();
  await c.nth('open', 3);
  c.client.send('f');
  assert.deepEqual(await seen(7), ['connect 1', '1 a', '1 b', '1 c', '1 d', '1 e', '1 f']);
  assert.equal(c.client.unconfirmed, 1);
});

test('on a new seat the client does not send into it what the old seat missed, and numbers from 1 again', async (t) => {
  const { service, seen } = recording();
  const server = await start(t, service, { resumeGraceMs: 0 });
  const p = await proxy(t, server.port);
  const c = client(t, p.url);
  await c.nth('open', 1);
  c.client.send('a');
  await seen(2);
  p.hold();
  c.client.send('b'); // lost with the old seat
  await p.swallowedAtLeast(FRAME);
  const off = c.client.on('close', () => void (off(), c.client.send('c'))); // queued while away: goes to the new seat
  p.cut();
  assert.deepEqual(await c.nth('open', 2), [{ resumed: false, reconnected: true }]);
  c.client.send('d');
  assert.deepEqual(await seen(6), ['connect 1', '1 a', 'disconnect 1', 'connect 1', '1 c', '1 d']);
  assert.equal(c.client.unconfirmed, 2, 'c and d, numbered 1 and 2 on the new seat');
  // Another new seat: c and d, confirmed or not, are not sent into it either.
  p.cut();
  await c.nth('open', 3);
  c.client.send('e');
  assert.deepEqual((await seen(9)).slice(4), ['1 c', '1 d', 'disconnect 1', 'connect 1', '1 e']);
});

test('past resendBufferBytes the oldest kept messages are let go; when the server turns out to lack them, a lost event says how many', async (t) => {
  const { service, seen } = recording();
  const server = await start(t, service);
  const p = await proxy(t, server.port);
  const c = client(t, p.url, { resendBufferBytes: 2 * 17 }); // two one-character messages
  await c.nth('open', 1);
  c.client.send('a');
  c.client.send('b');
  await seen(3);
  p.hold();
  for (const m of ['c', 'd', 'e', 'f']) c.client.send(m);
  await p.swallowedAtLeast(4 * FRAME);
  assert.equal(c.client.unconfirmed, 2, 'only e and f are kept');
  const order: string[] = [];
  c.client.on('lost', (count) => order.push(`lost ${count}`));
  c.client.on('open', () => order.push('open'));
  p.cut();
  await c.nth('open', 2);
  assert.deepEqual(order, ['lost 2', 'open'], 'c and d are lost, and the application is told before the open');
  c.client.send('g');
  assert.deepEqual(await seen(6), ['connect 1', '1 a', '1 b', '1 e', '1 f', '1 g']);
  // Numbering follows the server's count: a later resume sends nothing again.
  p.cut();
  await c.nth('open', 3);
  c.client.send('h');
  assert.deepEqual((await seen(7)).slice(3), ['1 e', '1 f', '1 g', '1 h']);
  assert.deepEqual(c.of('lost'), [[2]], 'one loss, told once');
});

test('against a server without stateroom.exact (an older one, or any WebSocket server) the client falls back to today: no frame is swallowed, nothing is kept', async (t) => {
  const picks: Array<(offered: Set<string>) => string | false> = [
    (offered) => (offered.has('stateroom.fresh') ? 'stateroom.fresh' : false), // an older stateroom server
    (offered) => offered.values().next().value ?? false, // ws's default: the first offered
  ];
  for (const [i, handleProtocols] of picks.entries()) {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', handleProtocols });
    t.after(() => {
      for (const ws of wss.clients) ws.terminate();
      return within(new Promise((resolve) => wss.close(resolve)), 'the server to close');
    });
    await within(new Promise((resolve) => wss.once('listening', resolve)), 'the server to listen');
    const offered: string[] = [];
    wss.on('connection', (ws) => {
      offered.push(ws.protocol);
      ws.send('{"seat":"resumed","received":0}'); // the service's own message, in the shape of a seat frame
      ws.on('message', (data) => ws.send(`echo ${(data as Buffer).toString('utf8')}`));
    });
    const c = client(t, `ws://127.0.0.1:${(wss.address() as { port: number }).port}`);
    await c.nth('open', 1);
    assert.equal(c.client.exact, false, `server ${i}`);
    c.client.send('x');
    await c.until(() => c.messages().length === 2, () => 'two messages');
    assert.deepEqual(c.messages(), ['{"seat":"resumed","received":0}', 'echo x'], `server ${i}: delivered as it is`);
    assert.equal(c.client.unconfirmed, 0);
    assert.deepEqual(offered, ['stateroom.fresh']);
  }
});

test('cut at random points under traffic both ways, the client and the service each get every message exactly once, in order', async (t) => {
  const clients = 4;
  const total = 2_000; // messages the service streams to each client, one per timer tick: the stream lasts long enough for many cuts
  const started = performance.now();
  const names = Array.from({ length: clients }, (_, i) => `c${i}`);
  const heard = new Map<ClientId, string[]>();
  const changes = new Changes();
  let streamed = 0;
  let connected = 0;
  const server = await start(t, (_roomId: string, ctx: Context) => ({
    // The stream starts once every client is in, from a timer: the service sends whatever the clients do.
    connect: () => {
      if (++connected === clients) ctx.setTimer(1);
    },
    timer: () => {
      ctx.sendMessage('broadcast', `m${++streamed}`);
      if (streamed < total) ctx.setTimer(1);
    },
    message: (c: ClientId, p: Payload) => {
      heard.set(c, [...(heard.get(c) ?? []), String(p)]);
      changes.changed();
    },
  }));
  let seed = 777; // seeded, so that a failure replays (as far as timing allows)
  const random = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;

  const run = async (name: string) => {
    const p = await proxy(t, server.port);
    const c = client(t, p.url, { token: name });
    let sent = 0;
    // Once the stream is all in, the client sends nothing more: a cut's close can still come
    // after the last message (its frames were read first), and what it queued would count late.
    let finished = false;
    const send = (): void => {
      if (!finished) void c.client.send(`${name}-${++sent}`);
    };
    let next = 3 + Math.floor(random() * 12);
    c.client.on('message', () => {
      if (c.client.received >= total) finished = true;
      send(); // traffic towards the server, in step with what arrives
      if (c.client.received >= next && c.client.received < total) {
        next = c.client.received + 3 + Math.floor(random() * 12);
        if (random() < 0.3) {
          send(); // one more, straight into the socket about to be cut
        }
        p.cut();
      }
    });
    c.client.on('close', (_code, _reason, willReconnect) => {
      if (willReconnect) for (let i = Math.floor(random() * 3); i > 0; i--) send(); // queued while away
    });
    await c.until(() => c.client.received === total, () => `${name} to receive m${total} (at ${c.client.received}, ${p.cuts} cuts)`, 25_000);
    return { c, p, sentCount: () => sent };
  };
  const runs = await Promise.all(names.map((name) => run(name)));
  for (const [i, { c, p, sentCount }] of runs.entries()) {
    const mine = (): string[] => [...heard.values()].find((list) => list[0]?.startsWith(`${names[i]}-`)) ?? [];
    const want = sentCount();
    await changes.until(() => mine().length >= want, () => `the service to hear ${want} from ${names[i]} (it heard ${mine().length})`, 10_000);
    assert.deepEqual(mine(), Array.from({ length: want }, (_, k) => `${names[i]}-${k + 1}`), `${names[i]} → service: each once, in order`);
    assert.deepEqual(c.messages(), Array.from({ length: total }, (_, k) => `m${k + 1}`), `service → ${names[i]}: each once, in order`);
    assert.ok(c.of('open').slice(1).every(([info]) => info.resumed), `${names[i]}: every reconnect resumed`);
    assert.deepEqual(c.of('lost'), []);
    assert.ok(p.cuts >= 30, `${names[i]}: cut ${p.cuts} times`);
  }
  const cuts = runs.reduce((sum, { p }) => sum + p.cuts, 0);
  const messages = runs.reduce((sum, { sentCount }) => sum + sentCount() + total, 0);
  assert.ok(cuts >= 200, `${cuts} cuts in all`);
  t.diagnostic(`${cuts} cuts, ${messages} messages both ways, ${Math.round(performance.now() - started)} ms`);
});
