// The Redis room store (src/nodes/redis-store.ts) on a real redis-server and a three-shard
// Redis Cluster: images round-trip, listing and timers, and fenced writes — a node whose lease
// was given to another can never overwrite the new owner's image.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { encodeImage, decodeImage, type RoomImage } from '../src/durability/image.js';
import { ErrorCode, StateroomError } from '../src/errors.js';
import { ROOMS_KEY, roomKeys } from '../src/nodes/keys.js';
import { Leases, type NodeIdentity } from '../src/nodes/leases.js';
import { RedisRoomStore } from '../src/nodes/redis-store.js';
import { commands, connectRedis, type RedisClient } from '../src/nodes/redis.js';
import { within } from './helpers/deadline.js';
import { MemoryLogger } from './helpers/logs.js';
import { acquireAfterExpiry, needRedis, startRedis, startRedisCluster } from './helpers/redis.js';

const redis = await needRedis();

const A: NodeIdentity = { id: 'node-a', url: 'ws://10.0.0.1:8080' };
const B: NodeIdentity = { id: 'node-b', url: 'ws://10.0.0.2:8080' };
const WEIRD_IDS = ['lobby', 'room {with} braces', '{', 'nul\0inside', 'x'.repeat(5 * 1024), '🎲 room', 'lone \ud800 surrogate', ''];

async function connect(t: TestContext, url: string): Promise<RedisClient> {
  const client = await connectRedis(url, new MemoryLogger(), { connectTimeoutMs: 5_000, commandTimeoutMs: 2_000 });
  t.after(() => client.disconnect());
  return client;
}

/** A node: its connection, its leases and its store. */
async function node(t: TestContext, url: string, identity: NodeIdentity, ttlMs = 2_000): Promise<{ client: RedisClient; leases: Leases; store: RedisRoomStore }> {
  const client = await connect(t, url);
  const leases = new Leases(client, identity, { ttlMs }, new MemoryLogger());
  t.after(() => leases.close());
  return { client, leases, store: new RedisRoomStore(client, leases, new MemoryLogger()) };
}

function image(roomId: string, text: string, timerDueAt?: number): Promise<Uint8Array> {
  const room: RoomImage = { roomId, kind: 'native', moduleHash: '', savedAt: 1_700_000_000_000, timerDueAt, body: new TextEncoder().encode(text) };
  return encodeImage(room);
}

async function bodyOf(store: RedisRoomStore, roomId: string): Promise<string | undefined> {
  const bytes = await store.get(roomId);
  return bytes === undefined ? undefined : new TextDecoder().decode((await decodeImage(bytes)).body);
}

async function fenced(promise: Promise<unknown>, what: string): Promise<StateroomError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof StateroomError && err.code === ErrorCode.FENCED, `${what}: ${String(err)}`);
    return err;
  }
  assert.fail(`${what}: was accepted`);
}

type Case = (t: TestContext, url: string) => Promise<void>;

const CASES: Record<string, Case> = {
  'put, get, list, timers, delete — for any room id': async (t, url) => {
    const { leases, store } = await node(t, url, A);
    assert.match(store.description, /^Redis redis(\+cluster)?:\/\/127\.0\.0\.1:\d+/);
    assert.match(store.where('lobby'), /key sr:\{[A-Za-z0-9_-]{22}\}:image$/);
    for (const [i, roomId] of WEIRD_IDS.entries()) {
      assert.equal(await store.get(roomId), undefined);
      assert.ok((await leases.acquire(roomId)).granted);
      await store.put(roomId, await image(roomId, `state ${i}`, i % 2 === 0 ? 1_800_000_000_000 + i : undefined));
    }
    for (const [i, roomId] of WEIRD_IDS.entries()) assert.equal(await bodyOf(store, roomId), `state ${i}`);
    assert.deepEqual(await store.list(), [...WEIRD_IDS].sort());
    const timers = new Map((await store.timers()).map(({ roomId, timerDueAt }) => [roomId, timerDueAt]));
    assert.deepEqual(new Map([...timers].sort()), new Map(WEIRD_IDS.map((roomId, i) => [roomId, i % 2 === 0 ? 1_800_000_000_000 + i : undefined] as const).sort()));

    // A later put replaces the image, and its timer; a put without a timer clears it.
    await store.put('lobby', await image('lobby', 'newer', undefined));
    assert.equal(await bodyOf(store, 'lobby'), 'newer');
    assert.equal((await store.timers()).find((e) => e.roomId === 'lobby')?.timerDueAt, undefined);

    assert.equal(await store.delete('lobby'), true);
    assert.equal(await store.delete('lobby'), false);
    assert.equal(await store.get('lobby'), undefined);
    assert.ok(!(await store.list()).includes('lobby'));
    assert.ok(!(await store.timers()).some((e) => e.roomId === 'lobby'));

    // Not an image, or another room's: a caller's bug, refused before Redis.
    await assert.rejects(store.put('🎲 room', new Uint8Array([1, 2, 3])), TypeError);
    await assert.rejects(store.put('🎲 room', await image('lobby', 'x')), TypeError);
  },

  'setAside keeps the image beside the room with the reason; the next get finds none': async (t, url) => {
    const { client, leases, store } = await node(t, url, A);
    const roomId = 'broken {room}';
    assert.ok((await leases.acquire(roomId)).granted);
    const bytes = await image(roomId, 'traps on restore');
    await store.put(roomId, bytes);
    const where = await store.setAside(roomId, 'restore() threw');
    assert.ok(where !== undefined);
    const key = /key (sr:\{[^}]+\}:aside:\S+)$/.exec(where)?.[1];
    assert.ok(key !== undefined, where);
    assert.equal(await store.get(roomId), undefined);
    assert.ok(!(await store.list()).includes(roomId));
    assert.deepEqual(await commands(client).hgetBuffer(key, 'bytes'), Buffer.from(bytes));
    assert.match((await commands(client).hget(key, 'why')) ?? '', /restore\(\) threw/);
    assert.equal(await store.setAside(roomId, 'again'), undefined);
  },

  'a write without a lease is refused': async (t, url) => {
    const { store } = await node(t, url, A);
    const err = await fenced(image('unleased', 'x').then((bytes) => store.put('unleased', bytes)), 'put without a lease');
    assert.match(err.message, /room "unleased": saving its image refused: this node holds no lease/);
    await fenced(store.delete('unleased'), 'delete without a lease');
    await fenced(store.setAside('unleased', 'why'), 'setAside without a lease');
    assert.equal(await store.get('unleased'), undefined);
  },

  "a stale fence is refused: A's lease expires, B takes the room and saves, A's late save leaves B's image": async (t, url) => {
    const a = await node(t, url, A, 300);
    const b = await node(t, url, B, 300);
    const roomId = 'contested';
    const answer = await a.leases.acquire(roomId);
    assert.ok(answer.granted);
    const fenceA = answer.fence;
    await a.store.put(roomId, await image(roomId, 'A at 40'));
    // A pauses (its renewals stop); its save in flight still carries fence A: a store whose
    // fences remember it, as a write issued before the pause does.
    const paused = new RedisRoomStore(a.client, { node: A, fenceOf: () => fenceA }, new MemoryLogger());
    const lost = new Promise<void>((resolve) => a.leases.onLost(() => resolve()));
    a.leases.close();
    await within(lost, "A's lease lost by its clock", 2_000);
    const fenceB = await acquireAfterExpiry(b.leases, roomId); // B is granted the room once A's lease expires
    assert.ok(fenceB > fenceA);
    assert.equal(await bodyOf(b.store, roomId), 'A at 40'); // B restores A's last save
    await b.store.put(roomId, await image(roomId, 'B at 41'));

    const err = await fenced(image(roomId, 'A at 40, late').then((bytes) => paused.put(roomId, bytes)), "A's late save");
    assert.equal(err.context.roomId, roomId);
    assert.match(err.message, new RegExp(`room "contested": saving its image refused: this node's fencing token is ${fenceA}, and it is older than the room's newest, ${fenceB} \\(another node was granted the room since\\)`));
    await fenced(paused.delete(roomId), "A's late delete");
    await fenced(paused.setAside(roomId, 'late'), "A's late setAside");
    assert.equal(await bodyOf(b.store, roomId), 'B at 41');
    // A (no lease any more) is refused as well; B goes on saving.
    await fenced(image(roomId, 'A again').then((bytes) => a.store.put(roomId, bytes)), "A's save after losing the lease");
    await b.store.put(roomId, await image(roomId, 'B at 42'));
    assert.equal(await bodyOf(a.store, roomId), 'B at 42');
    assert.ok(await a.client.exists(ROOMS_KEY));
    assert.equal(await commands(a.client).hget(roomKeys(roomId).image, 'fence'), fenceB.toString());
  },

  "after a failover that lost A's grant, B can be granted the same token: only B's writes pass, told apart by the lease": async (t, url) => {
    const a = await node(t, url, A);
    const b = await node(t, url, B);
    const roomId = 'failed over';
    const keys = roomKeys(roomId);
    const answer = await a.leases.acquire(roomId);
    assert.ok(answer.granted);
    await a.store.put(roomId, await image(roomId, 'A at 1'));
    // What a replica promoted before A's grant reached it holds: the fence one behind, no lease.
    await commands(a.client).del(keys.lease);
    await commands(a.client).decr(keys.fence);
    const again = await b.leases.acquire(roomId);
    assert.ok(again.granted);
    assert.equal(again.fence, answer.fence, 'the same token, granted twice');
    const err = await fenced(image(roomId, 'A at 2').then((bytes) => a.store.put(roomId, bytes)), "A's save under the twice-granted token");
    assert.match(err.message, new RegExp(`room "failed over": saving its image refused: this node's fencing token is ${answer.fence}, and the room's lease in Redis is held by node node-b with the same token`));
    await fenced(a.store.delete(roomId), "A's delete");
    await b.store.put(roomId, await image(roomId, 'B at 2'));
    assert.equal(await bodyOf(a.store, roomId), 'B at 2');
  },

  'a writer whose grant Redis lost (fence key gone) is refused': async (t, url) => {
    const { client, leases, store } = await node(t, url, A);
    const roomId = 'forgotten';
    assert.ok((await leases.acquire(roomId)).granted);
    await commands(client).del(roomKeys(roomId).fence);
    const err = await fenced(image(roomId, 'x').then((bytes) => store.put(roomId, bytes)), 'put after the fence key was lost');
    assert.match(err.message, /Redis has no grant on record/);
  },
};

for (const [name, body] of Object.entries(CASES)) {
  test(`Redis store, one Redis: ${name}`, redis.options, async (t) => {
    const server = await startRedis(t);
    await body(t, server.url);
  });
}

test('Redis store on a three-shard Redis Cluster: the same cases (no CROSSSLOT)', { ...redis.options, timeout: 60_000 }, async (t) => {
  const cluster = await startRedisCluster(t);
  for (const [name, body] of Object.entries(CASES)) await t.test(name, (tt) => body(tt, cluster.url));
});
