// Leases with fencing tokens (src/nodes/leases.ts) on a real redis-server: two Leases objects
// are two nodes. Each test starts its own Redis; the cluster cases share one three-shard Redis
// Cluster. Short TTLs, and every wait is for an event with a deadline.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { roomKeys } from '../src/nodes/keys.js';
import { Leases, type LeaseAnswer, type NodeIdentity } from '../src/nodes/leases.js';
import { commands, connectRedis, parseRedisUrl, redactUrl, type RedisClient } from '../src/nodes/redis.js';
import { ErrorCode, StateroomError } from '../src/errors.js';
import { until, within } from './helpers/deadline.js';
import { MemoryLogger } from './helpers/logs.js';
import { freePort } from './helpers/ports.js';
import { acquireAfterExpiry, needRedis, startRedis, startRedisCluster } from './helpers/redis.js';

const redis = await needRedis();

const A: NodeIdentity = { id: 'node-a', url: 'ws://10.0.0.1:8080' };
const B: NodeIdentity = { id: 'node-b', url: 'ws://10.0.0.2:8080' };

async function connect(t: TestContext, url: string, log = new MemoryLogger()): Promise<RedisClient> {
  const client = await connectRedis(url, log, { connectTimeoutMs: 5_000, commandTimeoutMs: 2_000 });
  t.after(() => client.disconnect());
  return client;
}

function leases(t: TestContext, client: RedisClient, node: NodeIdentity, ttlMs: number, log = new MemoryLogger()): Leases {
  const l = new Leases(client, node, { ttlMs }, log);
  t.after(() => l.close());
  return l;
}

/** The next onLost report of `l`. */
function nextLost(l: Leases): Promise<{ roomId: string; why: string; at: number }> {
  return new Promise((resolve) => {
    let done = false;
    l.onLost((roomId, why) => {
      if (done) return;
      done = true;
      resolve({ roomId, why, at: performance.now() });
    });
  });
}

function granted(answer: LeaseAnswer): bigint {
  assert.ok(answer.granted, `granted: ${JSON.stringify(answer, (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}`);
  return answer.fence;
}

// ---- cases run against a single Redis and against the cluster ----------------------------

type Case = (t: TestContext, url: string) => Promise<void>;

const CASES: Record<string, Case> = {
  'only one of two nodes is granted a room; the other is told who holds it and for how long': async (t, url) => {
    const [ca, cb] = [await connect(t, url), await connect(t, url)];
    const [a, b] = [leases(t, ca, A, 2_000), leases(t, cb, B, 2_000)];
    // Many rooms, both nodes asking for each at the same moment.
    const rooms = Array.from({ length: 40 }, (_, i) => `race-${i}-{braces}`);
    const answers = await Promise.all(rooms.flatMap((room) => [a.acquire(room), b.acquire(room)]));
    for (let i = 0; i < rooms.length; i++) {
      const [x, y] = [answers[2 * i]!, answers[2 * i + 1]!];
      assert.equal(Number(x.granted) + Number(y.granted), 1, `exactly one grant for ${rooms[i]}`);
      const loser = x.granted ? y : x;
      assert.ok(!loser.granted);
      assert.deepEqual(loser.owner, x.granted ? A : B);
      assert.ok(loser.expiresInMs > 0 && loser.expiresInMs <= 2_000, `expiresInMs ${loser.expiresInMs}`);
    }
    assert.equal(a.held + b.held, rooms.length);
    // Asking again for a room this node holds answers its fence, unchanged.
    const room = rooms[0]!;
    const holder = a.valid(room) ? a : b;
    assert.equal(granted(await holder.acquire(room)), holder.fenceOf(room));
  },

  'fencing tokens strictly increase across grants; the holder answer names the owner': async (t, url) => {
    const [ca, cb] = [await connect(t, url), await connect(t, url)];
    const [a, b] = [leases(t, ca, A, 2_000), leases(t, cb, B, 2_000)];
    const room = 'fenced room';
    let last = 0n;
    for (const [l, node] of [[a, A], [b, B], [a, A], [b, B]] as const) {
      const fence = granted(await l.acquire(room));
      assert.ok(fence > last, `fence ${fence} > ${last}`);
      assert.deepEqual(await l.holder(room), { ...node, fence });
      assert.equal(l.fenceOf(room), fence);
      last = fence;
      await l.release(room);
      assert.equal(l.fenceOf(room), undefined);
      assert.equal(await a.holder(room), undefined);
    }
  },

  'a release by a node that does not hold the lease changes nothing': async (t, url) => {
    const [ca, cb] = [await connect(t, url), await connect(t, url)];
    const [a, b] = [leases(t, ca, A, 600), leases(t, cb, B, 600)];
    const room = 'kept';
    const fenceA = granted(await a.acquire(room));
    await b.release(room);
    assert.deepEqual(await b.holder(room), { ...A, fence: fenceA });
    // A still thinks it holds the room (by its clock) when Redis has given it to B (A's lease
    // key lost, as a failover may lose it): A's release must not delete B's lease.
    await commands(ca).del(roomKeys(room).lease);
    const fenceB = granted(await b.acquire(room));
    assert.ok(fenceB > fenceA && a.valid(room));
    await a.release(room);
    assert.deepEqual(await a.holder(room), { ...B, fence: fenceB });
    // The same again, and this time A's next renewal finds B's lease and reports its own lost.
    await b.release(room);
    const fenceA2 = granted(await a.acquire(room));
    assert.ok(fenceA2 > fenceB);
    const lost = nextLost(a);
    await commands(ca).del(roomKeys(room).lease);
    granted(await b.acquire(room));
    const { roomId, why } = await within(lost, "A's renewal seeing B's lease", 2_000);
    assert.equal(roomId, room);
    assert.match(why, /another node holds it/);
    assert.equal(a.valid(room), false);
  },

  'an expired lease goes to the other node with a higher fence': async (t, url) => {
    const [ca, cb] = [await connect(t, url), await connect(t, url)];
    const [a, b] = [leases(t, ca, A, 300), leases(t, cb, B, 300)];
    const room = 'expiring';
    const fenceA = granted(await a.acquire(room));
    const lost = nextLost(a);
    const since = performance.now();
    a.close(); // stops renewing: the lease lapses
    const { roomId, why, at } = await within(lost, 'A losing the lease by its clock', 2_000);
    assert.equal(roomId, room);
    assert.match(why, /validity ran out by this node's clock/);
    assert.ok(at - since <= 300, `lost ${Math.round(at - since)} ms after the last grant (ttl 300)`);
    const fenceB = await acquireAfterExpiry(b, room);
    assert.ok(fenceB > fenceA, `${fenceB} > ${fenceA}`);
  },

  'renewals keep a lease alive across many TTLs': async (t, url) => {
    const client = await connect(t, url);
    const a = leases(t, client, A, 300);
    const room = 'long-lived';
    const fence = granted(await a.acquire(room));
    let lost: string | undefined;
    a.onLost((_, why) => (lost = why));
    // Ten TTLs: the duration under test, not a synchronisation.
    const end = performance.now() + 3_000;
    const checks: number[] = [];
    while (performance.now() < end) {
      await new Promise((resolve) => setTimeout(resolve, 150));
      assert.equal(lost, undefined, `lost: ${lost}`);
      assert.ok(a.valid(room));
      checks.push(await commands(client).pttl(roomKeys(room).lease));
    }
    assert.ok(checks.every((ms) => ms > 0), `pttl ${checks.join(',')}`);
    assert.deepEqual(await a.holder(room), { ...A, fence });
  },

  'releasing a room with no image lets its fence key go a TTL later; with an image it stays for the retention': async (t, url) => {
    const client = await connect(t, url);
    const a = leases(t, client, A, 300);
    const [bare, saved] = ['never saved', 'saved {x}'];
    granted(await a.acquire(bare));
    const fence = granted(await a.acquire(saved));
    await commands(client).hset(roomKeys(saved).image, 'fence', fence.toString());
    await a.release(bare);
    await a.release(saved);
    const left = await commands(client).pttl(roomKeys(bare).fence);
    assert.ok(left > 0 && left <= 300, `the unsaved room's fence key expires within the TTL: ${left}`);
    await until(async () => (await commands(client).exists(roomKeys(bare).lease, roomKeys(bare).fence)) === 0, 'nothing left of a room id used once', 2_000);
    assert.ok((await commands(client).pttl(roomKeys(saved).fence)) > 300, 'the saved room keeps its fence for the retention');
  },

  "a room's fence key lives while its lease is renewed, expires a retention after, and a new first token is still above the image's": async (t, url) => {
    const client = await connect(t, url);
    const a = new Leases(client, A, { ttlMs: 300, fenceRetentionMs: 600 }, new MemoryLogger());
    t.after(() => a.close());
    const room = 'short-lived {id}';
    const keys = roomKeys(room);
    const fence = granted(await a.acquire(room));
    const since = performance.now();
    const first = await commands(client).pttl(keys.fence);
    assert.ok(first > 0 && first <= 600, `the fence key has a TTL within the retention: ${first}`);
    // Renewals (every 100 ms) push the fence key's expiry back: it outlives two retentions
    // (the duration under test, not a synchronisation).
    while (performance.now() - since < 1_200) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      const left = await commands(client).pttl(keys.fence);
      assert.ok(left > 0, `the fence key is alive ${Math.round(performance.now() - since)} ms after the grant: pttl ${left}`);
    }
    await a.release(room);
    await until(async () => (await commands(client).exists(keys.fence)) === 0, 'the fence key expiring after the release', 3_000);
    // An image written under a token above Redis's clock (a clock that stepped back, say): the
    // next first token must still be above it, or a stale write could match a later grant.
    const ahead = fence + 10n ** 12n;
    await commands(client).hset(keys.image, 'fence', ahead.toString());
    const next = granted(await a.acquire(room));
    assert.ok(next > ahead, `${next} > ${ahead}`);
  },
};

for (const [name, body] of Object.entries(CASES)) {
  test(`leases, one Redis: ${name}`, redis.options, async (t) => {
    const server = await startRedis(t);
    await body(t, server.url);
  });
}

test('leases on a three-shard Redis Cluster: the same cases, keys of one room on one shard', { ...redis.options, timeout: 60_000 }, async (t) => {
  const cluster = await startRedisCluster(t);
  for (const [name, body] of Object.entries(CASES)) await t.test(name, (tt) => body(tt, cluster.url));
  await t.test('the keys of one room share a slot; rooms spread over the three shards', async (tt) => {
    const client = await connect(tt, cluster.url);
    const slotOf = (key: string) => commands(client).call('CLUSTER', 'KEYSLOT', key) as Promise<number>;
    const shards = new Set<number>();
    for (let i = 0; i < 30; i++) {
      const keys = roomKeys(`room {${i}}`);
      const slots = new Set(await Promise.all([keys.lease, keys.fence, keys.image, keys.id].map(slotOf)));
      assert.equal(slots.size, 1, `one slot for ${JSON.stringify(keys)}`);
      shards.add(Math.floor(([...slots][0]! * 3) / 16384)); // redis-cli gives each of 3 masters a third of the slots, in order
    }
    assert.equal(shards.size, 3);
  });
});

// ---- Redis trouble (a single Redis) --------------------------------------------------------

test('leases: redis-server SIGSTOPped past the TTL → the holder stops proving its lease by its own clock', redis.options, async (t) => {
  const server = await startRedis(t);
  const log = new MemoryLogger();
  const client = await connect(t, server.url, log);
  const a = leases(t, client, A, 300, log);
  const rooms = ['paused-1', 'paused-2'];
  for (const room of rooms) granted(await a.acquire(room));
  const lost: string[] = [];
  const allLost = new Promise<void>((resolve) =>
    a.onLost((roomId) => {
      lost.push(roomId);
      if (lost.length === rooms.length) resolve();
    }),
  );
  const stopped = performance.now();
  await server.stop('SIGSTOP');
  t.after(() => server.stop('SIGCONT'));
  await within(allLost, 'both leases lost while Redis is paused', 2_000);
  const after = performance.now() - stopped;
  assert.ok(after <= 300, `lost ${Math.round(after)} ms after SIGSTOP (ttl 300: by the clock, not by a timeout)`);
  assert.deepEqual(lost.sort(), rooms);
  for (const room of rooms) {
    assert.equal(a.valid(room), false);
    assert.equal(a.fenceOf(room), undefined);
  }
  assert.equal(a.held, 0);
  await server.stop('SIGCONT');
  // Renewals sent before the pause are run when Redis resumes and may extend the lease there
  // after A gave it up (harmless: nobody runs the room meanwhile); B gets it once it expires.
  const cb = await connect(t, server.url);
  const b = leases(t, cb, B, 300);
  await acquireAfterExpiry(b, rooms[0]!);
});

test('leases: redis-server killed and started again → the holder loses the lease by its clock, then takes it again (higher fence)', redis.options, async (t) => {
  const server = await startRedis(t);
  const log = new MemoryLogger();
  const client = await connect(t, server.url, log);
  const a = leases(t, client, A, 400, log);
  const room = 'through a restart';
  const before = granted(await a.acquire(room));
  const lost = nextLost(a);
  await server.stop('SIGKILL');
  const { why } = await within(lost, 'the lease lost while Redis is down', 2_000);
  assert.match(why, /validity ran out by this node's clock: it could not be renewed/);
  await log.waitFor((e) => e.level === 'warn' && /connection lost/.test(e.message), 'the connection loss, logged');
  await log.waitFor((e) => e.level === 'warn' && /lease renewals are failing/.test(e.message), 'failing renewals, logged');
  // While Redis is down, a new lease is refused at once with one clear error.
  await assert.rejects(a.acquire('another'), (err: unknown) => err instanceof StateroomError && err.code === ErrorCode.REDIS_UNAVAILABLE && err.message.includes(`127.0.0.1:${server.port}`));

  // Not events.once: it rejects on the 'error' of a reconnect attempt made while Redis is down.
  const ready = new Promise((resolve) => client.once('ready', resolve));
  await server.restart(); // empty: no persistence
  await within(ready, 'ioredis reconnecting', 5_000);
  const after = granted(await a.acquire(room));
  // The fence key was lost with everything else, yet the new token is higher (seeded from Redis's clock).
  assert.ok(after > before, `${after} > ${before}`);
  await log.waitFor((e) => /is back/.test(e.message), 'the reconnection, logged');
  const connectionLines = log.entries.filter((e) => /connection lost|is back/.test(e.message));
  assert.equal(connectionLines.length, 2, connectionLines.map((e) => e.message).join('\n'));
});

test('connectRedis: nothing listening → one REDIS_UNAVAILABLE line naming the address, never the password', redis.options, async () => {
  const port = await freePort();
  await assert.rejects(connectRedis(`redis://user:s3cret@127.0.0.1:${port}/2`, new MemoryLogger(), { connectTimeoutMs: 500 }), (err: unknown) => {
    assert.ok(err instanceof StateroomError && err.code === ErrorCode.REDIS_UNAVAILABLE, String(err));
    assert.match(err.message, new RegExp(`^Redis at redis://127\\.0\\.0\\.1:${port}/2 is unreachable after 500 ms \\(.*ECONNREFUSED.*\\): check --redis and that Redis runs$`));
    assert.doesNotMatch(err.message, /s3cret/);
    return true;
  });
});

/** Redis's count of commands run so far, by name (INFO commandstats); `<name>:usec` the µs they took. */
async function commandCounts(client: RedisClient): Promise<Map<string, number>> {
  const info = await commands(client).info('commandstats');
  return new Map([...info.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm)].flatMap((m) => [[m[1]!, Number(m[2])], [`${m[1]!}:usec`, Number(m[3])]] as const));
}

test('leases, cost: one command (one request) per acquire; renewals of 1,000 rooms', redis.options, async (t) => {
  const server = await startRedis(t);
  const client = await connect(t, server.url);
  // A TTL of 3 s: 1,000 renewals per second. (At 300 ms a loaded 2-core machine answers a
  // round of 1,000 too late for 270 ms of proven validity: the TTL must dwarf Redis's latency.)
  const ttlMs = 3_000;
  const a = leases(t, client, A, ttlMs);
  granted(await a.acquire('warm-up')); // loads the script (NOSCRIPT, then EVAL)
  const rooms = Array.from({ length: 1_000 }, (_, i) => `room-${i}`);
  const before = await commandCounts(client);
  const took = performance.now();
  for (const answer of await Promise.all(rooms.map((room) => a.acquire(room)))) granted(answer);
  const acquireMs = performance.now() - took;
  const after = await commandCounts(client);
  // Commands inside a script count too: the requests a client sends are the EVALSHA/EVAL calls.
  const requests = ['evalsha', 'eval'].reduce((sum, name) => sum + (after.get(name) ?? 0) - (before.get(name) ?? 0), 0);
  assert.equal(requests, rooms.length, `requests for ${rooms.length} acquires: ${JSON.stringify([...after])}`);
  t.diagnostic(`acquire: ${requests / rooms.length} command (EVALSHA) per acquire; 1,000 concurrent acquires in ${acquireMs.toFixed(0)} ms`);

  // Renewals: every ttl/3 for each room. The rate is set by the TTL; measured here is that it
  // holds and what it costs this process.
  let lost = 0;
  a.onLost(() => (lost += 1));
  const start = await commandCounts(client);
  const cpu = process.cpuUsage();
  const began = performance.now();
  await new Promise((resolve) => setTimeout(resolve, 3_000)); // the span measured
  const seconds = (performance.now() - began) / 1000;
  const used = process.cpuUsage(cpu);
  const end = await commandCounts(client);
  const renewals = (end.get('evalsha') ?? 0) - (start.get('evalsha') ?? 0);
  const perSecond = renewals / seconds;
  const expected = (rooms.length + 1) / (ttlMs / 3 / 1000);
  const cpuPerRenewalUs = (used.user + used.system) / renewals;
  const redisPerRenewalUs = ((end.get('evalsha:usec') ?? 0) - (start.get('evalsha:usec') ?? 0)) / renewals;
  t.diagnostic(`renewals at ttl ${ttlMs} ms: ${perSecond.toFixed(0)}/s for 1,001 rooms (expected ${expected.toFixed(0)}/s), ${cpuPerRenewalUs.toFixed(1)} µs of this process's CPU and ${redisPerRenewalUs.toFixed(1)} µs of Redis's each; at the default ttl 10 s: ${(1_000 / (10 / 3)).toFixed(0)} renewals/s per 1,000 rooms ≈ ${((1_000 / (10 / 3)) * cpuPerRenewalUs / 1e4).toFixed(2)}% of one core`);
  assert.equal(lost, 0);
  assert.ok(perSecond > expected * 0.7, `${perSecond.toFixed(0)} renewals/s, expected about ${expected.toFixed(0)}`);
});

test('parseRedisUrl: the URL forms of docs/cluster.md; a bad one is one OPTIONS_INVALID line without the password', () => {
  assert.deepEqual(parseRedisUrl('redis://127.0.0.1:6380/2'), { mode: 'single', tls: false, hosts: [{ host: '127.0.0.1', port: 6380 }], db: 2, address: 'redis://127.0.0.1:6380/2' });
  assert.deepEqual(parseRedisUrl('rediss://:p%40ss@cache.example'), { mode: 'single', tls: true, hosts: [{ host: 'cache.example', port: 6379 }], password: 'p@ss', address: 'rediss://cache.example:6379' });
  assert.deepEqual(parseRedisUrl('redis://app:pw@[::1]:7000'), { mode: 'single', tls: false, hosts: [{ host: '::1', port: 7000 }], username: 'app', password: 'pw', address: 'redis://[::1]:7000' });
  assert.deepEqual(parseRedisUrl('redis+sentinel://s1,s2:26380/mymaster/1'), {
    mode: 'sentinel', tls: false, hosts: [{ host: 's1', port: 26379 }, { host: 's2', port: 26380 }], name: 'mymaster', db: 1, address: 'redis+sentinel://s1:26379,s2:26380/mymaster/1',
  });
  assert.deepEqual(parseRedisUrl('redis+cluster://10.0.0.1:7000,10.0.0.2'), { mode: 'cluster', tls: false, hosts: [{ host: '10.0.0.1', port: 7000 }, { host: '10.0.0.2', port: 6379 }], address: 'redis+cluster://10.0.0.1:7000,10.0.0.2:6379' });
  for (const [url, why] of [
    ['http://host', /unknown scheme "http"/],
    ['redis://a,b', /a single Redis takes one host/],
    ['redis+sentinel://s1', /master's name/],
    ['redis://:secret@host:99999', /port is not a number/],
    ['redis://:secret@host/x', /"x" is not a database number/],
    ['redis+cluster://:secret@a,b/3', /only database 0/],
    ['not a url', /not a Redis URL/],
  ] as const) {
    assert.throws(() => parseRedisUrl(url), (err: unknown) => err instanceof StateroomError && err.code === ErrorCode.OPTIONS_INVALID && why.test(err.message) && !err.message.includes('secret'), url);
  }
  assert.equal(redactUrl('redis://user:secret@h:1'), 'redis://user:***@h:1');
});
