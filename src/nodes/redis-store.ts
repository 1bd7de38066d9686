/**
 * The room store on Redis (`--redis`): room images where every node can read them, so a room
 * moves between nodes with its state. Keys as docs/cluster.md's "Redis keys" lists them.
 *
 * Every write of a room — put, delete, set aside — is **fenced**, atomically in Redis: one Lua
 * script that runs only when the writer's fencing token (its lease's, from `fences`) is the
 * room's newest grant. An older token means another node was granted the room since (this
 * writer was paused or partitioned); a newer one means Redis lost the grant that issued it
 * (restarted empty, or failed over) — either way the write is refused with `SR_ERR_FENCED` and
 * what is there stays. A writer holding no lease is refused too. Reads are not fenced.
 *
 * The listing keys (`sr:rooms`, `sr:timers`) are global, so on another cluster shard than the
 * room's: they are updated by separate commands after the fenced script succeeds. A crash
 * between the two leaves the listing one save behind (a room missing from it until its next
 * save, or a stale due time) — never a wrong image.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { readImageHeader, type ImageHeader } from '../durability/image.js';
import { ErrorCode, StateroomError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { RoomStore } from '../room-store.js';
import { ROOMS_KEY, TIMERS_KEY, asideKey, decodeRoomId, encodeRoomId, keysOfTag, roomKeys } from './keys.js';
import { RedisScript, commands, describeRedis, redisError, type RedisClient } from './redis.js';
import { KeyQueue } from '../durability/key-queue.js';

/** Where a store gets the fencing token a write carries: this node's lease on the room, if any. */
export interface Fences {
  /** This node: a write is refused unless the room's lease names it. */
  readonly node: { readonly id: string };
  fenceOf(roomId: string): bigint | undefined;
}

// The check every write script starts with: KEYS[1] is the room's fence key, KEYS[2] its lease,
// ARGV[1] the writer's token (decimal, as INCR and the acquire script write them: equal numbers
// are equal strings), ARGV[2] the writer's node id. The token must be the newest, and the lease
// this node's: after a failover to a replica that missed a grant, the same token can be granted
// twice, and only the lease tells the two holders apart.
const FENCE_CHECK = `
local newest = redis.call('GET', KEYS[1])
if newest ~= ARGV[1] then return {0, newest or ''} end
local holder = redis.call('HGET', KEYS[2], 'node')
if holder ~= ARGV[2] then return {0, newest, holder or ''} end
`;

// KEYS: fence, lease, image, id. ARGV: writer's fence, node id, image bytes, id text. Writes the image and the id when the check passes → {1}; else {0, newest, holder?}.
const PUT = new RedisScript(`${FENCE_CHECK}
redis.call('HSET', KEYS[3], 'bytes', ARGV[3], 'fence', ARGV[1])
redis.call('SET', KEYS[4], ARGV[4])
return {1}
`);

// KEYS: fence, lease, image, id. ARGV: writer's fence, node id. Deletes the image and the id when the check passes → {1, whether there was an image}; else {0, newest, holder?}.
const DELETE = new RedisScript(`${FENCE_CHECK}
local existed = redis.call('DEL', KEYS[3])
redis.call('DEL', KEYS[4])
return {1, existed}
`);

// KEYS: fence, lease, image, id, aside. ARGV: writer's fence, node id, why. Renames the image to the aside key and notes why, when the check passes → {1, whether there was an image}; else {0, newest, holder?}.
const SET_ASIDE = new RedisScript(`${FENCE_CHECK}
if redis.call('EXISTS', KEYS[3]) == 0 then return {1, 0} end
redis.call('RENAME', KEYS[3], KEYS[5])
redis.call('HSET', KEYS[5], 'why', ARGV[3])
redis.call('DEL', KEYS[4])
return {1, 1}
`);

/** Room images in Redis; see the module comment. */
export class RedisRoomStore implements RoomStore {
  readonly description: string;
  /** The tail of each room's queue of writes: a room's writes run one at a time, in call order. */
  private readonly queues = new KeyQueue();

  constructor(
    private readonly redis: RedisClient,
    private readonly fences: Fences,
    private readonly log: Logger,
  ) {
    this.description = `Redis ${describeRedis(redis)}`;
  }

  /** `Redis <address> key sr:{<tag>}:image`, for messages. */
  where(roomId: string): string {
    return `${this.description} key ${roomKeys(roomId).image}`;
  }

  /**
   * The image last put for `roomId`, or `undefined`.
   * @throws {@link StateroomError} `SR_ERR_IMAGE_CORRUPT` when its intact header names another
   *   room; `SR_ERR_REDIS_UNAVAILABLE` when Redis does not answer.
   */
  async get(roomId: string): Promise<Uint8Array | undefined> {
    let bytes: Buffer | null;
    try {
      bytes = await commands(this.redis).hgetBuffer(roomKeys(roomId).image, 'bytes');
    } catch (err) {
      throw redisError(this.redis, `reading the image of room "${roomId}"`, err, roomId);
    }
    if (bytes === null) return undefined;
    let header: ImageHeader;
    try {
      header = readImageHeader(bytes, this.where(roomId));
    } catch {
      return bytes; // corrupt: the caller's decodeImage says how
    }
    if (header.roomId !== roomId) {
      throw new StateroomError(ErrorCode.IMAGE_CORRUPT, `room image at ${this.where(roomId)} holds room "${header.roomId}", not "${roomId}"`, { roomId });
    }
    return bytes;
  }

  /**
   * Replaces the image of `roomId` if this node's fencing token for it is the room's newest.
   * @throws TypeError when `bytes` is not an image of `roomId`.
   * @throws {@link StateroomError} `SR_ERR_FENCED` naming the room and both tokens (the image
   *   stays as it was); `SR_ERR_REDIS_UNAVAILABLE` when Redis does not answer.
   */
  async put(roomId: string, bytes: Uint8Array): Promise<void> {
    let header: ImageHeader;
    try {
      header = readImageHeader(bytes, 'to be put');
    } catch (err) {
      throw new TypeError(`RedisRoomStore.put: the bytes for room "${roomId}" are not a room image (${err instanceof Error ? err.message : String(err)})`);
    }
    if (header.roomId !== roomId) throw new TypeError(`RedisRoomStore.put: an image of room "${header.roomId}" put as room "${roomId}"`);
    return this.queues.run(roomId, async () => {
      const keys = roomKeys(roomId);
      const fence = this.writerFence(roomId, 'saving');
      await this.fenced(roomId, 'saving', fence, PUT, [keys.fence, keys.lease, keys.image, keys.id], [Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), encodeRoomId(roomId)]);
      // Sent together (one write with auto-pipelining): the order between the two does not matter.
      await this.index(roomId, (r) =>
        Promise.all([r.sadd(ROOMS_KEY, keys.tag), header.timerDueAt === undefined ? r.zrem(TIMERS_KEY, keys.tag) : r.zadd(TIMERS_KEY, header.timerDueAt, keys.tag)]),
      );
    });
  }

  /**
   * Removes the image of `roomId` (fenced like {@link put}); resolves to whether there was one.
   * @throws {@link StateroomError} `SR_ERR_FENCED`, `SR_ERR_REDIS_UNAVAILABLE`.
   */
  async delete(roomId: string): Promise<boolean> {
    return this.queues.run(roomId, async () => {
      const keys = roomKeys(roomId);
      const fence = this.writerFence(roomId, 'deleting');
      const [, existed] = await this.fenced(roomId, 'deleting', fence, DELETE, [keys.fence, keys.lease, keys.image, keys.id], []);
      await this.unindex(roomId, keys.tag);
      return existed === 1;
    });
  }

  /**
   * Renames the image of `roomId` to `sr:{<tag>}:aside:<time>-<random>` with `why` beside its
   * bytes (fenced like {@link put}); resolves to where it went, or `undefined` when there was none.
   */
  async setAside(roomId: string, why: string): Promise<string | undefined> {
    return this.queues.run(roomId, async () => {
      const keys = roomKeys(roomId);
      const fence = this.writerFence(roomId, 'setting aside');
      const aside = asideKey(keys.tag, `${new Date().toISOString().replace(/[-:.]/g, '')}-${randomBytes(3).toString('hex')}`);
      const [, existed] = await this.fenced(roomId, 'setting aside', fence, SET_ASIDE, [keys.fence, keys.lease, keys.image, keys.id, aside], [`room: ${JSON.stringify(roomId)}\nwhy: ${why}\n`]);
      await this.unindex(roomId, keys.tag);
      return existed === 1 ? `${this.description} key ${aside}` : undefined;
    });
  }

  /** Every room id with an image, sorted (from `sr:rooms`: one command, then one per room; off every hot path). */
  async list(): Promise<string[]> {
    return (await this.listed()).map(({ roomId }) => roomId).sort();
  }

  /** {@link RoomStore.timers}: from `sr:timers`, no image read. */
  async timers(): Promise<Array<{ roomId: string; timerDueAt: number | undefined }>> {
    let due: string[];
    try {
      due = await commands(this.redis).zrange(TIMERS_KEY, '0', '-1', 'WITHSCORES');
    } catch (err) {
      throw redisError(this.redis, 'listing saved timers', err);
    }
    const dueByTag = new Map<string, number>();
    for (let i = 0; i + 1 < due.length; i += 2) dueByTag.set(due[i]!, Number(due[i + 1]));
    return (await this.listed()).map(({ roomId, tag }) => ({ roomId, timerDueAt: dueByTag.get(tag) }));
  }

  /** The rooms of `sr:rooms` whose id key is there (an entry left by a crash mid-delete is skipped). */
  private async listed(): Promise<Array<{ roomId: string; tag: string }>> {
    const r = commands(this.redis);
    try {
      const tags = await r.smembers(ROOMS_KEY);
      // One GET per room: ids live on their rooms' shards (ioredis pipelines them per shard).
      const ids = await Promise.all(tags.map((tag) => r.get(keysOfTag(tag).id)));
      return tags.flatMap((tag, i) => {
        const roomId = ids[i] == null ? undefined : decodeRoomId(ids[i]);
        return roomId === undefined ? [] : [{ roomId, tag }];
      });
    } catch (err) {
      throw redisError(this.redis, 'listing saved rooms', err);
    }
  }

  /** This node's token for a write to `roomId`; none → refused. */
  private writerFence(roomId: string, what: string): bigint {
    const fence = this.fences.fenceOf(roomId);
    if (fence === undefined) {
      throw new StateroomError(ErrorCode.FENCED, `room "${roomId}": ${what} its image refused: this node holds no lease on the room (no fencing token)`, { roomId });
    }
    return fence;
  }

  /** Runs a fenced write script; its `{0, newest, holder?}` answer becomes SR_ERR_FENCED. */
  private async fenced(roomId: string, what: string, fence: bigint, script: RedisScript, keys: string[], args: Array<string | Buffer>): Promise<[number, number?]> {
    let reply: [number, (string | number)?, string?];
    try {
      reply = (await script.run(this.redis, keys, [fence.toString(), this.fences.node.id, ...args])) as [number, (string | number)?, string?];
    } catch (err) {
      throw redisError(this.redis, `${what} the image of room "${roomId}"`, err, roomId);
    }
    if (reply[0] === 1) return reply as [number, number?];
    const newest = String(reply[1] ?? '');
    const holder = reply[2];
    const why =
      holder !== undefined
        ? holder === ''
          ? `no node holds the room's lease in Redis now (it expired, or Redis lost it)`
          : `the room's lease in Redis is held by node ${holder} with the same token (Redis lost this node's grant and granted it again: failed over)`
        : newest === ''
          ? 'Redis has no grant on record for the room (its data was lost: restarted without persistence, or failed over)'
          : BigInt(newest) > fence
            ? `it is older than the room's newest, ${newest} (another node was granted the room since)`
            : `it is newer than the room's newest, ${newest} (Redis lost the grant that issued it: restarted without persistence, or failed over)`;
    throw new StateroomError(ErrorCode.FENCED, `room "${roomId}": ${what} its image refused: this node's fencing token is ${fence}, and ${why}`, { roomId });
  }

  /** Updates the listing keys; a failure is the write's (the caller retries it), though the image itself is written. */
  private async index(roomId: string, update: (r: ReturnType<typeof commands>) => Promise<unknown>): Promise<void> {
    try {
      await update(commands(this.redis));
    } catch (err) {
      this.log.debug({ roomId, err: String(err) }, `room "${roomId}": its image is written, its listing entry not`);
      throw redisError(this.redis, `listing room "${roomId}"`, err, roomId);
    }
  }

  private unindex(roomId: string, tag: string): Promise<void> {
    return this.index(roomId, (r) => Promise.all([r.srem(ROOMS_KEY, tag), r.zrem(TIMERS_KEY, tag)]));
  }
}
