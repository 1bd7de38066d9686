/**
 * Room ownership across nodes: a lease per room in Redis, with a fencing token
 * (docs/cluster.md, "Ownership: leases with fencing tokens").
 *
 * - Taken by one Lua script (one round trip): granted when nobody holds the lease, or when this
 *   node does; every grant increments the room's fencing token.
 * - Renewed by one timer for all leases, every third of the TTL: one compare-and-PEXPIRE script
 *   per room (keys of different rooms live on different cluster shards, so no script spans rooms;
 *   ioredis's auto-pipelining sends one tick's renewals in one write per shard).
 * - Proven valid by this node's own monotonic clock only: until `sent + ttl − margin`, `sent`
 *   being when the request that took or renewed it was sent (Redis started the TTL later than
 *   that). Clocks of different machines are never compared. A renewal that fails keeps the old
 *   bound; when the bound passes, a timer reports the lease lost and the caller stops the room.
 * @module
 */
import { ErrorCode, describeThrown } from '../errors.js';
import type { Logger } from '../logger.js';
import { roomKeys } from './keys.js';
import { RedisScript, commands, describeRedis, redisError, type RedisClient } from './redis.js';

/** A node of the cluster: its id (unique per process) and where other nodes forward to it. */
export interface NodeIdentity {
  readonly id: string;
  readonly url: string;
}

/** What {@link Leases.acquire} answers. */
export type LeaseAnswer =
  | { readonly granted: true; readonly fence: bigint }
  | { readonly granted: false; readonly owner: NodeIdentity; readonly expiresInMs: number };

/** Options of {@link Leases}. */
export interface LeaseOptions {
  /** The lease's time to live in Redis (`--lease-ttl`). */
  readonly ttlMs: number;
  /**
   * Subtracted from the TTL when proving a lease valid: room for the clocks of this node and
   * Redis running at slightly different rates, and Redis's 1 ms expiry error. Default ttl/10.
   */
  readonly marginMs?: number;
  /**
   * How long a room's fence key outlives its last grant or renewal; then Redis drops it, so a
   * room id used once costs no key forever. Safe at any value: a write finding no fence key is
   * refused (no lease can be valid then), and a new first token starts above every earlier one
   * (Redis's clock in ms, or past the image's fence). Default max(10 × ttl, 10 minutes).
   */
  readonly fenceRetentionMs?: number;
}

// KEYS: lease, fence, image. ARGV: node id, node url, ttl ms, fence retention ms.
// Held by another node → {0, node, url, pttl}; else a new grant → {1, fence}. A room's first
// fence (its fence key absent: a new room, one unused past the retention, or a Redis that lost
// its data) is Redis's clock in ms — or one past the fence of the room's image, should that be
// higher — so tokens still increase across a fence key that expired or was lost.
const ACQUIRE = new RedisScript(`
local holder = redis.call('HMGET', KEYS[1], 'node', 'url')
if holder[1] and holder[1] ~= ARGV[1] then
  return {0, holder[1], holder[2], redis.call('PTTL', KEYS[1])}
end
local fence
if redis.call('EXISTS', KEYS[2]) == 1 then
  fence = tostring(redis.call('INCR', KEYS[2]))
else
  if redis.replicate_commands then redis.replicate_commands() end
  local now = redis.call('TIME')
  local seed = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
  local written = tonumber(redis.call('HGET', KEYS[3], 'fence') or '0') or 0
  if written >= seed then seed = written + 1 end
  fence = string.format('%d', seed)
  redis.call('SET', KEYS[2], fence)
end
redis.call('PEXPIRE', KEYS[2], ARGV[4])
redis.call('HSET', KEYS[1], 'node', ARGV[1], 'url', ARGV[2], 'fence', fence)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return {1, fence}
`);

// KEYS: lease, fence. ARGV: node id, fence, ttl ms, fence retention ms. Extends the lease's TTL
// (and the fence key's retention) only while the lease is this node's with this fence → 1, else 0.
const RENEW = new RedisScript(`
local holder = redis.call('HMGET', KEYS[1], 'node', 'fence')
if holder[1] == ARGV[1] and holder[2] == ARGV[2] then
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  redis.call('PEXPIRE', KEYS[2], ARGV[4])
  return 1
end
return 0
`);

// KEYS: lease, fence, image. ARGV: node id, fence, ttl ms. Deletes the lease only while it is
// this node's with this fence → 1, else 0; and when the room has no image (nobody saved it — a
// client that left before joining, one refused by authorize) its fence key expires a TTL later
// rather than a retention: made-up room ids leave no key for long. Not at once: a grant within
// the TTL still counts up from it, and after it Redis's clock in ms is above it.
const RELEASE = new RedisScript(`
local holder = redis.call('HMGET', KEYS[1], 'node', 'fence')
if holder[1] == ARGV[1] and holder[2] == ARGV[2] then
  redis.call('DEL', KEYS[1])
  if redis.call('EXISTS', KEYS[3]) == 0 then redis.call('PEXPIRE', KEYS[2], ARGV[3]) end
  return 1
end
return 0
`);

interface HeldLease {
  readonly fence: bigint;
  readonly key: string;
  readonly fenceKey: string;
  /** performance.now() until which the lease is proven valid. */
  validUntil: number;
  /** Fires at validUntil (and re-arms itself while renewals moved it later). */
  timer: NodeJS.Timeout | undefined;
  /** A renewal is in flight: the next tick skips this lease rather than pile requests up. */
  renewing: boolean;
}

/** The leases this node holds; see the module comment. */
export class Leases {
  readonly ttlMs: number;
  readonly marginMs: number;
  readonly fenceRetentionMs: number;
  private readonly leases = new Map<string, HeldLease>();
  private readonly acquiring = new Map<string, Promise<LeaseAnswer>>();
  private readonly listeners: Array<(roomId: string, why: string) => void> = [];
  private renewTimer: NodeJS.Timeout | undefined;
  private closed = false;
  /** The last renewal error while renewals fail (logged once when they start failing), else undefined. */
  private renewError: string | undefined;

  constructor(
    private readonly redis: RedisClient,
    readonly node: NodeIdentity,
    options: LeaseOptions,
    private readonly log: Logger,
  ) {
    if (!(options.ttlMs >= 3)) throw new RangeError(`Leases: ttlMs must be at least 3, got ${options.ttlMs}`);
    this.ttlMs = Math.round(options.ttlMs);
    this.marginMs = options.marginMs ?? this.ttlMs / 10;
    if (!(this.marginMs >= 0 && this.marginMs < this.ttlMs)) throw new RangeError(`Leases: marginMs must be in [0, ttlMs), got ${this.marginMs}`);
    this.fenceRetentionMs = Math.round(options.fenceRetentionMs ?? Math.max(10 * this.ttlMs, 600_000));
    if (!(this.fenceRetentionMs >= this.ttlMs)) throw new RangeError(`Leases: fenceRetentionMs must be at least ttlMs, got ${this.fenceRetentionMs}`);
  }

  /** How many leases this node holds (proven valid or being renewed). */
  get held(): number {
    return this.leases.size;
  }

  /**
   * Takes the room's lease if nobody holds it (or this node already does), atomically (one Lua
   * script, one round trip); a new grant increments the room's fencing token. A lease this node
   * already proves valid is answered without asking Redis; concurrent calls for one room share
   * one request.
   * @throws {@link StateroomError} `SR_ERR_REDIS_UNAVAILABLE` when Redis does not answer.
   */
  acquire(roomId: string): Promise<LeaseAnswer> {
    if (this.closed) return Promise.reject(new Error('Leases: closed'));
    const held = this.leases.get(roomId);
    if (held !== undefined && performance.now() < held.validUntil) return Promise.resolve({ granted: true, fence: held.fence });
    let pending = this.acquiring.get(roomId);
    if (pending === undefined) {
      pending = this.take(roomId).finally(() => this.acquiring.delete(roomId));
      this.acquiring.set(roomId, pending);
    }
    return pending;
  }

  /**
   * Who holds the room's lease now, as Redis says (no side effect), or `undefined`.
   * @throws {@link StateroomError} `SR_ERR_REDIS_UNAVAILABLE` when Redis does not answer.
   */
  async holder(roomId: string): Promise<(NodeIdentity & { fence: bigint }) | undefined> {
    let reply: Array<string | null>;
    try {
      reply = await commands(this.redis).hmget(roomKeys(roomId).lease, 'node', 'url', 'fence');
    } catch (err) {
      throw redisError(this.redis, `who holds room "${roomId}"`, err, roomId);
    }
    const [id, url, fence] = reply;
    if (id == null || url == null || fence == null) return undefined;
    return { id, url, fence: BigInt(fence) };
  }

  /** Whether this node can prove its lease on `roomId` valid now, by its own monotonic clock. */
  valid(roomId: string): boolean {
    const lease = this.leases.get(roomId);
    return lease !== undefined && performance.now() < lease.validUntil;
  }

  /** The fencing token of this node's lease on `roomId`, while it holds one. */
  fenceOf(roomId: string): bigint | undefined {
    return this.leases.get(roomId)?.fence;
  }

  /**
   * Lets the lease go: this node stops renewing it at once, and Redis deletes it only if it is
   * still this node's with this fence (a compare-and-delete). When Redis cannot be reached the
   * lease simply expires (logged, not thrown).
   */
  async release(roomId: string): Promise<void> {
    await this.acquiring.get(roomId)?.catch(() => undefined);
    const lease = this.leases.get(roomId);
    if (lease === undefined) return;
    this.forget(roomId, lease);
    try {
      await RELEASE.run(this.redis, [lease.key, lease.fenceKey, roomKeys(roomId).image], [this.node.id, lease.fence.toString(), this.ttlMs]);
    } catch (err) {
      this.log.warn({ roomId, code: ErrorCode.REDIS_UNAVAILABLE, err: describeThrown(err) }, `room "${roomId}": its lease could not be released (it expires within ${this.ttlMs} ms): ${describeThrown(err)}`);
    }
  }

  /**
   * `listener` is called once per room when this node can no longer prove its lease valid
   * (renewals failed until the bound passed, or Redis shows the lease gone or another's): the
   * caller stops the room. The lease is forgotten first, so `fenceOf` no longer answers.
   */
  onLost(listener: (roomId: string, why: string) => void): void {
    this.listeners.push(listener);
  }

  /** Stops renewing (does not release; leases held then run out and are reported lost). For shutdown and tests. */
  close(): void {
    this.closed = true;
    clearInterval(this.renewTimer);
    this.renewTimer = undefined;
  }

  private async take(roomId: string): Promise<LeaseAnswer> {
    const stale = this.leases.get(roomId);
    if (stale !== undefined) this.lose(roomId, stale, 'its validity ran out before it was taken again');
    const { lease, fence, image } = roomKeys(roomId);
    const sent = performance.now();
    let reply: unknown;
    try {
      reply = await ACQUIRE.run(this.redis, [lease, fence, image], [this.node.id, this.node.url, this.ttlMs, this.fenceRetentionMs]);
    } catch (err) {
      throw redisError(this.redis, `taking the lease of room "${roomId}"`, err, roomId);
    }
    const [granted, a, b, c] = reply as [number, string, string?, number?];
    if (granted !== 1) return { granted: false, owner: { id: a, url: b ?? '' }, expiresInMs: Math.max(0, Number(c ?? 0)) };
    const held: HeldLease = { fence: BigInt(a), key: lease, fenceKey: fence, validUntil: sent + this.ttlMs - this.marginMs, timer: undefined, renewing: false };
    this.leases.set(roomId, held);
    this.watch(roomId, held);
    if (this.renewTimer === undefined && !this.closed) {
      this.renewTimer = setInterval(() => this.renewAll(), this.ttlMs / 3);
      this.renewTimer.unref(); // the server keeps the process alive, not its leases
    }
    return { granted: true, fence: held.fence };
  }

  /** One tick: a renewal per held lease (none for a lease whose last renewal is still in flight). */
  private renewAll(): void {
    for (const [roomId, lease] of this.leases) {
      if (lease.renewing) continue;
      lease.renewing = true;
      const sent = performance.now();
      RENEW.run(this.redis, [lease.key, lease.fenceKey], [this.node.id, lease.fence.toString(), this.ttlMs, this.fenceRetentionMs]).then(
        (reply) => {
          lease.renewing = false;
          if (this.leases.get(roomId) !== lease) return; // released or lost meanwhile
          if (reply !== 1) return this.lose(roomId, lease, `Redis no longer has it as this node's with fence ${lease.fence} (expired, or another node holds it)`);
          // An answer that comes after the bound passed proves nothing about the time between.
          if (performance.now() >= lease.validUntil) return this.lose(roomId, lease, `its renewal was answered only after its validity ran out`);
          lease.validUntil = Math.max(lease.validUntil, sent + this.ttlMs - this.marginMs);
          this.renewed();
        },
        (err: unknown) => {
          lease.renewing = false;
          this.renewFailed(err);
        },
      );
    }
    if (this.leases.size === 0) {
      clearInterval(this.renewTimer);
      this.renewTimer = undefined;
    }
  }

  /** Arms the timer that reports the lease lost once its bound passes. */
  private watch(roomId: string, lease: HeldLease): void {
    const check = (): void => {
      if (this.leases.get(roomId) !== lease) return;
      const left = lease.validUntil - performance.now();
      if (left > 0) {
        // Renewed meanwhile: one re-arm per bound, rather than a clear and set per renewal.
        lease.timer = setTimeout(check, left);
        lease.timer.unref();
        return;
      }
      const why = this.renewError === undefined ? 'it was not renewed in time' : `it could not be renewed (${this.renewError})`;
      this.lose(roomId, lease, `its validity ran out by this node's clock: ${why}`);
    };
    lease.timer = setTimeout(check, Math.max(0, lease.validUntil - performance.now()));
    lease.timer.unref();
  }

  private forget(roomId: string, lease: HeldLease): void {
    clearTimeout(lease.timer);
    if (this.leases.get(roomId) === lease) this.leases.delete(roomId);
  }

  private lose(roomId: string, lease: HeldLease, why: string): void {
    if (this.leases.get(roomId) !== lease) return;
    this.forget(roomId, lease);
    this.log.debug({ roomId, code: ErrorCode.LEASE_LOST, fence: lease.fence.toString() }, `room "${roomId}": lease lost: ${why}`);
    for (const listener of this.listeners) {
      try {
        listener(roomId, why);
      } catch (err) {
        this.log.error({ roomId, err: describeThrown(err) }, `room "${roomId}": a lease-lost listener threw: ${describeThrown(err)}`);
      }
    }
  }

  private renewFailed(err: unknown): void {
    const first = this.renewError === undefined;
    this.renewError = describeThrown(err);
    if (first) this.log.warn({ code: ErrorCode.REDIS_UNAVAILABLE, redis: describeRedis(this.redis), err: this.renewError }, `lease renewals are failing (Redis at ${describeRedis(this.redis)}: ${this.renewError}); rooms whose leases run out are stopped`);
  }

  private renewed(): void {
    if (this.renewError === undefined) return;
    this.renewError = undefined;
    this.log.info({ redis: describeRedis(this.redis) }, `lease renewals work again (Redis at ${describeRedis(this.redis)})`);
  }
}
