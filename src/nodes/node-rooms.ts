/**
 * The node placement: which node of the cluster runs a room, decided through its lease in
 * Redis (docs/cluster.md). For the transport it is a {@link Router} — an upgrade for a room
 * whose lease this node holds (or takes now) is admitted here, any other is forwarded to the
 * lease's holder. For the registry it keeps the leases true to the rooms: a room let go gives
 * its lease back after its last save, and a room whose lease this node can no longer prove
 * valid is stopped at once (1012, nothing saved) — its new owner may already run it.
 * @module
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { ErrorCode, describeThrown } from '../errors.js';
import { throttleOf, type Logger } from '../logger.js';
import type { ClusterMetrics } from '../metrics.js';
import { CLOSE_SERVICE_RESTART } from '../protocol.js';
import type { RoomKeeper } from '../room/keeper.js';
import type { Room } from '../room/room.js';
import { refuseUpgrade } from '../transport/reply.js';
import type { Router } from '../transport/router.js';
import { FORWARDED_HEADER, verifyForwarded, type ClusterSecret } from './cluster-auth.js';
import { forwardUpgrade, type ForwardCounts } from './forward.js';
import type { Leases } from './leases.js';

/** How often one upgrade may be sent on (a 421, an owner down) before the client is told to come back later. */
const MAX_FORWARD_ATTEMPTS = 8;
/** The first wait before asking again after an owner did not answer; doubled each time. */
const RETRY_FIRST_MS = 100;

/** What the node placement needs of the rooms of this process. */
export interface LocalRooms {
  /** Whether the room runs here now. */
  isLive(roomId: string): boolean;
  /** Stops the room at once without saving it; its clients get `code`. */
  evict(roomId: string, code: number, reason: string): Promise<void>;
}

export interface NodeRoomsOptions {
  readonly secret: ClusterSecret;
  readonly counts: ForwardCounts;
  /** How long a client may wait in all for its room to be placed (an owner that died holds its lease until it expires). */
  readonly placeTimeoutMs: number;
  /**
   * How long a lease taken for a client may wait for its room to start (the client's upgrade
   * goes on to join it) before it is given back: a client that leaves in between must not
   * leave this node renewing a lease for nothing.
   */
  readonly unusedLeaseMs: number;
}

export class NodeRooms implements Router {
  private rooms: LocalRooms = { isLive: () => false, evict: () => Promise.resolve() };
  /** Whether Redis answered the last time it was asked (said once per change). */
  private redisUp = true;
  private metrics: ClusterMetrics | undefined;
  /** Each forwarded request's verified client address (or that it did not verify), while the request lives. */
  private readonly verified = new WeakMap<IncomingMessage, string | undefined>();

  constructor(
    private readonly leases: Leases,
    private readonly options: NodeRoomsOptions,
    private readonly log: Logger,
  ) {
    leases.onLost((roomId, why) => this.lost(roomId, why));
  }

  /** Connects the placement to this process's rooms (once the registry exists), and to its metrics. */
  attach(rooms: LocalRooms, metrics?: ClusterMetrics): void {
    this.rooms = rooms;
    this.metrics = metrics;
  }

  /** {@link Router.route}: here when this node holds (or now takes) the lease, else forwarded to its holder. */
  async route(roomId: string, request: IncomingMessage, socket: Duplex, head: Buffer): Promise<'here' | 'taken'> {
    const forwarded = this.forwardedClient(request) !== undefined;
    const arrived = performance.now();
    const deadline = arrived + this.options.placeTimeoutMs;
    let wait = RETRY_FIRST_MS;
    for (let attempt = 0; attempt < MAX_FORWARD_ATTEMPTS && !socket.destroyed; attempt++) {
      if (this.rooms.isLive(roomId) && this.leases.valid(roomId)) return 'here';
      const answer = await this.ask(roomId);
      if (answer === undefined) {
        refuseUpgrade(socket, 503, 'the cluster cannot place rooms now (its Redis does not answer); try again shortly');
        return 'taken';
      }
      if (answer.granted) {
        this.releaseIfUnused(roomId);
        return 'here';
      }
      // A node forwards only clients that came to it: one forwarded here for a room this node
      // does not hold is sent back (421), and its forwarder asks Redis again.
      if (forwarded) {
        refuseUpgrade(socket, 421, `room "${roomId}" is not served by this node`);
        return 'taken';
      }
      const outcome = await forwardUpgrade(request, socket, head, answer.owner.url, {
        secret: this.options.secret,
        nodeId: this.leases.node.id,
        counts: this.options.counts,
      });
      if (outcome === 'piped') this.metrics?.forwarded((performance.now() - arrived) / 1000);
      if (outcome !== 'misdirected' && outcome !== 'unreachable') return 'taken';
      // The lease names a node that does not run the room (it let it go, or died): ask again,
      // after a pause that grows — a dead owner's lease lasts until it expires.
      const left = deadline - performance.now();
      if (left <= 0) break;
      if (outcome === 'unreachable') {
        await new Promise((resolve) => setTimeout(resolve, Math.min(wait, left, answer.expiresInMs + 50)));
        wait *= 2;
      }
    }
    if (!socket.destroyed) refuseUpgrade(socket, 503, `room "${roomId}" could not be placed in time (its owner does not answer); try again shortly`);
    return 'taken';
  }

  /**
   * Wakes a saved room whose timer is due, here if this node can take its lease; when another
   * node holds it, that node runs the room (and its timer): nothing to do here.
   */
  async wake(roomId: string, wakeHere: () => boolean | Promise<boolean>): Promise<boolean> {
    const answer = await this.ask(roomId);
    if (answer === undefined) return false; // Redis does not answer: try again later
    if (!answer.granted) return true;
    const woken = await wakeHere();
    // No place here (the room limit, the memory budget, closing): the lease goes back, so that
    // a node with room takes the room (and its timer) rather than this one renewing it empty.
    if (!woken && !this.rooms.isLive(roomId)) this.leases.release(roomId).catch(() => {}); // it expires by itself otherwise
    return woken;
  }

  /** {@link Router.forwardedClient}: the client's address, when a node holding the cluster secret forwarded the request. */
  forwardedClient(request: IncomingMessage): string | undefined {
    const value = request.headers[FORWARDED_HEADER];
    if (value === undefined) return undefined;
    // Asked up to three times per upgrade (routing, the connection rate, clientInfo): one HMAC.
    if (this.verified.has(request)) return this.verified.get(request);
    const client = verifyForwarded(this.options.secret, Array.isArray(value) ? value[0] : value, { method: request.method ?? 'GET', url: request.url ?? '/' })?.clientAddress;
    this.verified.set(request, client);
    return client;
  }

  /**
   * The keeper of a node: the durability keeper's, and each room let go (saved, disposed) or
   * failed gives its lease back, so another node may take the room at once.
   */
  keeper(inner: RoomKeeper): RoomKeeper {
    return {
      load: inner.load,
      preload: (roomId) => inner.preload(roomId),
      savedIdsOf: (roomId) => inner.savedIdsOf(roomId),
      dirty: (room) => inner.dirty(room),
      // Before every event: a node that cannot prove its lease now (it was paused past it, say)
      // must not apply what waited in its sockets — it stops the room instead.
      mayRun: (room) => {
        if (this.leases.valid(room.id)) return true;
        queueMicrotask(() => this.lost(room.id, 'its lease could not be proven valid when an event came'));
        return false;
      },
      retire: (room) => inner.retire(room).finally(() => this.release(room)),
      // The lease is given back once the image is set aside: the store refuses a node without one.
      failed: (room) => inner.failed(room).finally(() => this.release(room)),
    };
  }

  /** Gives the lease back if the room has not started here by then (the client left before it joined). */
  private releaseIfUnused(roomId: string): void {
    setTimeout(() => {
      if (!this.rooms.isLive(roomId) && this.leases.fenceOf(roomId) !== undefined) {
        this.leases.release(roomId).catch(() => {}); // it expires by itself otherwise
      }
    }, this.options.unusedLeaseMs).unref();
  }

  /** Asks Redis for the lease; `undefined` when Redis does not answer (said once per change). */
  private async ask(roomId: string) {
    try {
      const answer = await this.leases.acquire(roomId);
      if (!this.redisUp) this.log.info({}, 'Redis answers again: rooms are placed again');
      this.redisUp = true;
      return answer;
    } catch (err) {
      this.metrics?.redisError();
      if (this.redisUp) this.log.error({ code: ErrorCode.REDIS_UNAVAILABLE }, `Redis does not answer, so new rooms cannot be placed (those whose leases this node can still prove go on): ${describeThrown(err)}`);
      this.redisUp = false;
      return undefined;
    }
  }

  private async release(room: Room): Promise<void> {
    // A newer instance of the room may hold the lease by now (the same node took it again).
    if (this.rooms.isLive(room.id)) return;
    try {
      await this.leases.release(room.id);
    } catch (err) {
      // It expires by itself; another node waits at most the lease's TTL.
      throttleOf(this.log).write('warn', 'leases', `release\0${room.id}`, { code: ErrorCode.REDIS_UNAVAILABLE, roomId: room.id }, `the lease of room "${room.id}" could not be given back (it expires by itself): ${describeThrown(err)}`);
    }
  }

  /** This node can no longer prove it owns the room: stop it before its new owner runs it too. */
  private lost(roomId: string, why: string): void {
    if (!this.rooms.isLive(roomId)) return;
    this.metrics?.leaseLost();
    throttleOf(this.log).write('warn', 'leases', `lost\0${roomId}`, { code: ErrorCode.LEASE_LOST, roomId }, `room "${roomId}" stopped: this node can no longer prove its lease (${why}); its clients reconnect to its new owner`);
    void this.rooms.evict(roomId, CLOSE_SERVICE_RESTART, 'room moved to another node; reconnect');
  }
}
