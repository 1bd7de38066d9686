// Scale-out on Redis, several nodes in this process sharing one real redis-server: a client may
// connect to any node for any room and lands in the one instance of that room; a drained node
// hands its rooms over with their state.
import assert from 'node:assert/strict';
import net from 'node:net';
import test from 'node:test';
import { serve, type Context, type Payload, type RunningServer, type ServerOptions } from '../src/index.js';
import { needRedis, startRedis, startRedisCluster } from './helpers/redis.js';
import { client, closed, refusal, type Inbox } from './helpers/sockets.js';
import { LogLines } from './helpers/json-logs.js';
import { createLogger } from '../src/logger.js';
import { freePort } from './helpers/ports.js';
import { until } from './helpers/deadline.js';

const redis = await needRedis();
const SECRET = 'a-cluster-secret-of-at-least-32-characters';

let instances = 0;
/** A counter that says which instance it is: two instances of one room would show. */
class Counter {
  readonly instance = ++instances;
  value = 0;
  connect(client: number, ctx: Context): void {
    ctx.sendMessage(client, `instance ${this.instance}`);
  }
  message(_client: number, payload: Payload, ctx: Context): void {
    if (payload !== 'increment') return;
    this.value += 1;
    ctx.sendMessage('broadcast', `new value: ${this.value}`);
  }
  snapshot(): string {
    return String(this.value);
  }
  restore(data: Payload): void {
    this.value = Number(data);
  }
}


type Node = RunningServer & { ws(room: string): string };

/**
 * Nodes for one test, closed when it ends — before its Redis stops (after hooks run in the
 * order they were added, so this one is added before the Redis is started).
 */
function nodes(t: test.TestContext): (redisUrl: string, options?: ServerOptions) => Promise<Node> {
  const started: Node[] = [];
  t.after(() => Promise.all(started.map((n) => n.close())));
  return async (redisUrl, options = {}) => {
    const port = await freePort();
    const server = await serve(Counter, { port, host: '127.0.0.1', redis: redisUrl, nodeUrl: `ws://127.0.0.1:${port}`, clusterSecret: SECRET, logLevel: 'silent', ...options });
    const made = Object.assign(server, { ws: (room: string) => `ws://127.0.0.1:${port}/ws/${room}` });
    started.push(made);
    return made;
  };
}

/** The first message a client gets: which instance of the room it landed in. */
async function instanceOf(c: Inbox): Promise<string> {
  return c.nextText(5_000);
}

test('clients of one room on two nodes land in one instance, and see each other\'s messages', redis.options, async (t) => {
  const node = nodes(t);
  const { url } = await startRedis(t);
  const a = await node(url);
  const b = await node(url);
  const onA = await client(a.ws('lobby'), 'on a');
  const onB = await client(b.ws('lobby'), 'on b');
  t.after(() => {
    onA.ws.terminate();
    onB.ws.terminate();
  });
  assert.equal(await instanceOf(onA), await instanceOf(onB), 'one instance');
  onB.ws.send('increment');
  assert.equal(await onA.nextText(), 'new value: 1');
  assert.equal(await onB.nextText(), 'new value: 1');
  onA.ws.send('increment');
  assert.equal(await onB.nextText(), 'new value: 2');
  assert.equal(a.roomCount + b.roomCount, 1, 'the room runs on one node');
  // What each node says of it: the owner holds one lease, the other forwards one connection.
  const [owner, forwarder] = a.roomCount === 1 ? [a, b] : [b, a];
  const metricsOf = async (n: Node): Promise<string> => (await fetch(`http://127.0.0.1:${n.port}/metrics`)).text();
  const ownerMetrics = await metricsOf(owner);
  assert.match(ownerMetrics, /^stateroom_leases_held 1$/m);
  const forwarderMetrics = await metricsOf(forwarder);
  assert.match(forwarderMetrics, /^stateroom_forwards_total\{outcome="piped"\} 1$/m);
  assert.match(forwarderMetrics, /^stateroom_forwarded_connections 1$/m);
  assert.match(forwarderMetrics, /^stateroom_forward_seconds_count 1$/m);
  assert.match(forwarderMetrics, /^stateroom_forwarded_bytes_total\{direction="to_owner"\} [1-9]\d*$/m);
  const status = (await (await fetch(`http://127.0.0.1:${forwarder.port}/status?format=json`)).json()) as { node?: { forwardedConnections: number; leasesHeld: number } };
  assert.equal(status.node?.forwardedConnections, 1);
  assert.equal(status.node?.leasesHeld, 0);
});

test('many simultaneous first connections to one room across nodes: exactly one instance', redis.options, async (t) => {
  const node = nodes(t);
  const { url } = await startRedis(t);
  const three = [await node(url), await node(url), await node(url)];
  const clients = await Promise.all(Array.from({ length: 30 }, (_, i) => client(three[i % three.length]!.ws('race'), `c${i}`)));
  t.after(() => clients.forEach((c) => c.ws.terminate()));
  const seen = new Set(await Promise.all(clients.map(instanceOf)));
  assert.equal(seen.size, 1, `instances: ${[...seen].join(', ')}`);
  assert.equal(three.reduce((n, s) => n + s.roomCount, 0), 1);
});

test('a drained node hands its rooms over with their state: clients get 1012, reconnect elsewhere, and find the counter where it was', redis.options, async (t) => {
  const node = nodes(t);
  const { url } = await startRedis(t);
  const a = await node(url);
  const b = await node(url);
  const c = await client(a.ws('moving'));
  await instanceOf(c);
  for (let i = 0; i < 41; i++) c.ws.send('increment');
  assert.equal((await c.texts(42)).at(-1), 'new value: 41');
  const gone = closed(c.ws, 10_000);
  await a.close();
  assert.equal((await gone).code, 1012, 'told to come back');
  const again = await client(b.ws('moving'));
  t.after(() => again.ws.terminate());
  await instanceOf(again);
  again.ws.send('increment');
  assert.equal(await again.nextText(), 'new value: 42');
});

test('on a three-shard Redis Cluster: rooms spread over the shards, one instance each, state handed over on drain', redis.options, async (t) => {
  const node = nodes(t);
  const { url } = await startRedisCluster(t);
  const a = await node(url);
  const b = await node(url);
  const rooms = ['r1', 'r2', 'r3', 'r4', 'r5', 'r6'];
  for (const room of rooms) {
    const onA = await client(a.ws(room), `${room} on a`);
    const onB = await client(b.ws(room), `${room} on b`);
    assert.equal(await instanceOf(onA), await instanceOf(onB), `one instance of ${room}`);
    onA.ws.send('increment');
    assert.equal(await onB.nextText(), 'new value: 1');
    onA.ws.terminate();
    onB.ws.terminate();
  }
  await a.close();
  await b.close();
  const c = await node(url);
  for (const room of rooms) {
    const again = await client(c.ws(room));
    await instanceOf(again);
    again.ws.send('increment');
    assert.equal(await again.nextText(), 'new value: 2', `${room} kept its state`);
    again.ws.terminate();
  }
});

test('Redis stopped under load and started again: an owned room goes on while its lease can be proven, then stops (1012); new rooms get 503; said once; rooms are placed again once Redis is back', redis.options, async (t) => {
  const node = nodes(t);
  const server = await startRedis(t);
  const logs = new LogLines();
  const a = await node(server.url, { leaseTtlMs: 2_000, logger: createLogger('info', logs) });
  const c = await client(a.ws('busy'), 'busy');
  await instanceOf(c);
  let sending = true;
  t.after(() => (sending = false));
  void (async () => {
    while (sending && c.ws.readyState === c.ws.OPEN) {
      c.ws.send('increment');
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  })();
  await c.texts(10);
  const stopped = closed(c.ws, 10_000);
  await server.stop('SIGKILL');
  const answeredWhileDown = c.messages.length;
  // The room answers on while its lease holds by this node's clock, then it is stopped.
  assert.equal((await stopped).code, 1012);
  sending = false;
  assert.ok(c.messages.length > answeredWhileDown, 'it went on answering while its lease could be proven');
  assert.match(await refusal(a.ws('fresh')), /^503 .*Redis/);
  assert.match(await refusal(a.ws('fresh2')), /^503 /);
  // One line per change of state — the connection lost, renewals failing, rooms not placed —
  // not one per refusal or renewal.
  const redisLines = (): string[] => logs.entries().filter((e) => e.code === 'SR_ERR_REDIS_UNAVAILABLE').map((e) => String(e.msg));
  const said = redisLines();
  assert.ok(said.length <= 3, `a few lines while Redis is away: ${said.join(' | ')}`);
  assert.equal(new Set(said.map((m) => m.slice(0, 30))).size, said.length, 'each said once');
  for (let i = 0; i < 5; i++) assert.match(await refusal(a.ws(`more${i}`)), /^503 /);
  assert.equal(redisLines().length, said.length, 'more refusals, no more lines');
  await server.restart();
  // ioredis reconnects by itself: rooms are placed again (the restarted Redis is empty: a fresh room).
  await until(async () => {
    try {
      const again = await client(a.ws('busy'), 'again');
      again.ws.terminate();
      return true;
    } catch {
      return false;
    }
  }, 'a room placed again', 15_000);
  await logs.waitFor((e) => /Redis answers again/.test(String(e.msg)), 'the recovery line');
});


test('a lease taken for a client that left before joining is given back: nothing is renewed for nothing', redis.options, async (t) => {
  const node = nodes(t);
  const { url } = await startRedis(t);
  const a = await node(url, { leaseTtlMs: 1_000 });
  const leasesHeld = async (): Promise<number> => {
    const status = (await (await fetch(`http://127.0.0.1:${a.port}/status?format=json`)).json()) as { node?: { leasesHeld: number } };
    return status.node?.leasesHeld ?? -1;
  };
  // Upgrades for ten rooms, each abandoned right after it is sent.
  for (let i = 0; i < 10; i++) {
    const socket = net.connect(a.port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.end(`GET /ws/gone${i} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    socket.destroy();
  }
  const live = await client(a.ws('kept'));
  t.after(() => live.ws.terminate());
  await instanceOf(live);
  await until(async () => (await leasesHeld()) === 1, 'only the live room to hold a lease', 10_000);
});

test('a node stalled past its lease applies nothing that waited in its sockets: the room is stopped before its next event', redis.options, async (t) => {
  const node = nodes(t);
  const { url } = await startRedis(t);
  const a = await node(url, { leaseTtlMs: 1_000 });
  const c = await client(a.ws('frozen'), 'frozen');
  t.after(() => c.ws.terminate());
  await instanceOf(c);
  c.ws.send('increment');
  assert.equal(await c.nextText(), 'new value: 1');
  const gone = closed(c.ws, 10_000);
  // From a timer callback: the event loop goes on to its sockets before its timers (as a process
  // resumed after SIGSTOP does), so the lease's own expiry timer cannot come first.
  await new Promise<void>((resolve) => {
    setTimeout(() => {
      c.ws.send('increment'); // in the server's socket before the stall
      const until = performance.now() + 1_300; // past the lease: this node cannot prove it any more
      while (performance.now() < until) {
        // stalled, as under a long GC pause or SIGSTOP
      }
      resolve();
    }, 0);
  });
  assert.equal((await gone).code, 1012);
  assert.deepEqual(c.messages.slice(2).map((m) => String(m.data)), [], 'the message that waited was not applied');
});
