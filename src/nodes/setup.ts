/**
 * How `serve()` joins a cluster when given `redis`: one Redis connection, this node's leases,
 * the Redis room store (fenced by those leases), and the node placement that routes and
 * forwards upgrades — or nothing without `redis`.
 * @module
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from '../logger.js';
import type { ResolvedServerOptions } from '../options.js';
import type { RoomKeeper } from '../room/keeper.js';
import type { RoomStore } from '../room-store.js';
import { ClusterSecret } from './cluster-auth.js';
import { ForwardCounts } from './forward.js';
import { Leases } from './leases.js';
import { NodeRooms } from './node-rooms.js';
import { connectRedis, describeRedis, type RedisClient } from './redis.js';
import { RedisRoomStore } from './redis-store.js';

/** This node's part of a cluster, wired for one server. */
export interface Node {
  readonly id: string;
  readonly url: string;
  readonly rooms: NodeRooms;
  readonly store: RoomStore;
  readonly leases: Leases;
  readonly counts: ForwardCounts;
  /** Where the cluster's Redis is, for `/status` (no password). */
  readonly redis: string;
  /** The keeper the registry uses: `inner` (durability's), or one that only disposes, with leases given back. */
  keeper(inner: RoomKeeper | undefined): RoomKeeper;
  close(): Promise<void>;
}

/**
 * This node's part of the cluster under options `o`, or `undefined` without `redis`.
 * @throws {@link StateroomError} `SR_ERR_REDIS_UNAVAILABLE` when Redis cannot be reached (one line).
 */
export async function joinCluster(o: ResolvedServerOptions, log: Logger): Promise<Node | undefined> {
  if (o.redis === undefined || o.nodeUrl === undefined || o.clusterSecret === undefined) return undefined;
  const secret = ClusterSecret.fromText(o.clusterSecret);
  const redis: RedisClient = await connectRedis(o.redis, log);
  // One id per process: with --workers N each worker holds the leases of its own rooms.
  const id = `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
  const leases = new Leases(redis, { id, url: o.nodeUrl }, { ttlMs: o.leaseTtlMs }, log);
  const store = new RedisRoomStore(redis, leases, log);
  const counts = new ForwardCounts();
  const rooms = new NodeRooms(leases, { secret, counts, placeTimeoutMs: o.leaseTtlMs + 5_000, unusedLeaseMs: Math.min(o.leaseTtlMs, 10_000) }, log);
  log.info({ nodeId: id, nodeUrl: o.nodeUrl, redis: describeRedis(redis) }, `node ${id} joins the cluster on ${describeRedis(redis)} (reached as ${o.nodeUrl})`);
  return {
    id,
    url: o.nodeUrl,
    rooms,
    store,
    leases,
    counts,
    redis: describeRedis(redis),
    keeper: (inner) => rooms.keeper(inner ?? disposeOnly),
    close: async () => {
      leases.close();
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}

/** A keeper for rooms that are not saved: letting one go disposes it. */
const disposeOnly: RoomKeeper = {
  load: () => Promise.resolve(undefined),
  preload: () => Promise.resolve(undefined),
  savedIdsOf: () => undefined,
  dirty: () => {},
  retire: (room) => room.dispose(),
  failed: () => Promise.resolve(),
};
