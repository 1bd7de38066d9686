/**
 * Server options: every default in one frozen object, checked once at start. The CLI's
 * flags map one to one onto these, so anything the CLI does a test can do in-process.
 * @module
 */
import type { IncomingMessage } from 'node:http';
import { ErrorCode, StateroomError } from './errors.js';
import { LOG_LEVELS, type LogLevel, type Logger } from './logger.js';
import type { RoomStore } from './room-store.js';

/** Options for {@link serve}; every one is optional. */
export interface ServerOptions {
  /** TCP port; 0 picks a free one. Default 8080. */
  port?: number;
  /** Interface to listen on. Default `0.0.0.0` (every IPv4 interface). */
  host?: string;
  /** How often each client is pinged, in ms; 0 turns the heartbeat off. Default 30 000. */
  heartbeatIntervalMs?: number;
  /** A client not heard from for this long (ms) is dropped. Default 120 000. */
  heartbeatTimeoutMs?: number;
  /** How long an empty room lives on before it is disposed, in ms. Default 30 000. */
  roomIdleMs?: number;
  /**
   * How long an empty room lives on when none of its clients ever sent a message, in ms
   * (at most `roomIdleMs`): long enough for a page reload, short enough that connecting to
   * random room ids and leaving holds few rooms. Default 5 000.
   */
  untouchedRoomIdleMs?: number;
  /** Largest incoming message in bytes; a larger one closes its client with 1009. Default 1 MiB. */
  maxPayloadBytes?: number;
  /** Directory served at `/` (`index.html` for directories). Default: none. */
  staticDir?: string | undefined;
  /** Directory served at `/client/`. Default: none. */
  clientDir?: string | undefined;
  /**
   * Serve files and directories whose names start with a dot (`.env`, `.git/`) from
   * `staticDir` and `clientDir`. Default false: they answer 404.
   */
  staticDotfiles?: boolean;
  /**
   * How long a new connection has to send its whole request line and headers, in ms, from
   * when it connects: an absolute deadline, however slowly the bytes drip in. Past it the
   * connection gets 408 and is closed. Default 10 000.
   */
  headersTimeoutMs?: number;
  /**
   * Most connections whose request has not arrived yet (not yet routed to a room or a
   * route), in all; more are closed as they arrive. 0: no limit. Default 1 000.
   */
  maxUnroutedConnections?: number;
  /** Most such connections from one IP address; more are closed as they arrive. 0: no limit. Default 100. */
  maxUnroutedPerAddress?: number;
  /**
   * Serve `/metrics` on this port of its own (0 picks a free one) instead of the main one,
   * which then answers it 404. Default: on the main port.
   */
  metricsPort?: number | undefined;
  /** Interface the metrics port listens on. Default `127.0.0.1`. */
  metricsHost?: string;
  /**
   * A secret `/metrics` asks for as `Authorization: Bearer <token>` (401 otherwise).
   * Default: none (open to whoever reaches it).
   */
  metricsToken?: string | undefined;
  /**
   * How long a client that connected with `?token=` keeps its seat after its connection
   * drops, in ms: back in time (with `&received=<n>`), it resumes without the service
   * noticing. 0 turns resume off. Default 10 000.
   */
  resumeGraceMs?: number;
  /** How much of each seat's newest traffic is kept for a resume, in bytes. Default 256 KiB. */
  resumeBufferBytes?: number;
  /**
   * Per-client outgoing buffer limit in bytes: a client whose socket backlog is still over it
   * 2 s after it first went over, or is over 4× it at any moment, is closed with 1013.
   * Default 4 MiB.
   */
  maxBufferedBytes?: number;
  /** Messages per second one client may send (0: no limit); more are dropped. Default 0. */
  messageRateLimit?: number;
  /** Payload bytes per second one client may send (0: no limit); more are dropped. Default 0. */
  byteRateLimit?: number;
  /** A client still over a rate limit this long after its first dropped message is closed with 1008. Default 5 000. */
  rateLimitPersistMs?: number;
  /** Connection attempts per minute from one IP address (0: no limit); more get HTTP 429. Default 0. */
  connectionRateLimit?: number;
  /**
   * Bytes of one client's messages that may wait for a busy room (a slow or async service);
   * past it the client is closed with 1013. Default 8 MiB.
   */
  maxQueuedBytes?: number;
  /** Most clients in one room (0: no limit); more are refused with HTTP 503. Default 0. */
  maxClientsPerRoom?: number;
  /**
   * Most live rooms (0: no limit); joining another room is refused with HTTP 503. Default
   * 100 000 (an empty room holds about 6 KiB, so about 650 MiB).
   */
  maxRooms?: number;
  /**
   * Browser origins allowed to connect (the `Origin` header); empty allows any. Requests
   * without an Origin header (non-browser clients) are not affected. Default: any.
   */
  allowedOrigins?: readonly string[];
  /**
   * Decides, before a client joins, whether it may: `true` admits, `false` refuses with
   * 403, `{ status, reason }` refuses with that status. May be async. A refused client
   * never reaches the service. Default: everyone is admitted.
   *
   * `{ user }` admits the client as `user` — a string, or a JSON object (at most 4 KiB as
   * JSON) — which the service reads in `ctx.clientInfo(client).user`, and binds the client's
   * `?token=` to that user: a seat taken with a token belongs to the token *and* the user, so
   * someone else presenting a stolen token gets a fresh seat of their own, never the victim's
   * seat or its replay of recent messages. Name the user by what stays the same across its
   * connections (an id, a name; not a token's expiry). Any other answer, or a user over the
   * limit, refuses the client with 500 and logs `SR_ERR_AUTHORIZE_INVALID`.
   *
   * A service module served by the CLI may export this hook as `authorize` (docs/cli.md).
   */
  authorize?: Authorize | undefined;
  /**
   * How long `close()` waits for rooms to finish their queued events (async `disconnect`s
   * included) before it resolves anyway, with a warning. Default 10 000.
   */
  shutdownTimeoutMs?: number;
  /**
   * Durable rooms: where rooms are saved — a directory (created if missing) holding one image
   * per room. With it, every live room is saved when the server closes, a changed room again
   * within `snapshotIntervalMs`, and a room idle past `roomIdleMs` is saved and its instance
   * freed instead of destroyed; a room starts from its image when its first client comes (or
   * its timer comes due). Default: none — rooms live and die with their instance. See
   * docs/durability.md.
   */
  stateDir?: string | undefined;
  /**
   * Durable rooms in a store of your own instead of a directory (any {@link RoomStore}: bytes
   * by room id); everything `stateDir` does, elsewhere. Give one or the other.
   */
  store?: RoomStore | undefined;
  /**
   * Durable rooms: how soon after a change a room is saved again, in ms — what a crash
   * (`kill -9`) can lose at most. Saves of different rooms are spread over the interval.
   * Default 5 000.
   */
  snapshotIntervalMs?: number;
  /**
   * Durable rooms, WebAssembly services: a room whose clients are connected but that has had
   * no event for this long frees its instance (its sockets and seats stay); the next event
   * restores it first. 0: never. Default 60 000.
   */
  hibernateAfterMs?: number;
  /**
   * Durable rooms: most saved rooms the store may hold (0: no limit). A client can make up room
   * ids, and a room that was sent a message is saved: past this many, a new room id is refused
   * with HTTP 503 (rooms already saved go on), so the disk a client can fill is bounded. Delete
   * rooms with `stateroom rooms delete`. Default 100 000.
   */
  maxSavedRooms?: number;
  /**
   * Scale-out ([cluster.md](../docs/cluster.md)): the Redis that holds room leases and images,
   * e.g. `redis://10.0.0.2:6379`. With it, every room runs on exactly one node of those sharing
   * this Redis; a client that reaches another node is forwarded to the owner. Needs `nodeUrl`
   * and `clusterSecret`. Default: none (a single node).
   */
  redis?: string | undefined;
  /** Scale-out: how other nodes reach this one, e.g. `ws://10.0.0.5:8080`. */
  nodeUrl?: string | undefined;
  /** Scale-out: the secret every node of the cluster shares (≥ 32 characters); node-to-node requests prove they hold it. */
  clusterSecret?: string | undefined;
  /** Scale-out: how long a room's lease lasts without renewal, in ms: a dead owner's rooms move after at most this. Default 10 000. */
  leaseTtlMs?: number;
  /** Quietest level logged. Default `info`. Ignored when `logger` is given. */
  logLevel?: LogLevel;
  /** A pino-compatible logger to use instead of the default (JSON lines on stdout). */
  logger?: Logger | undefined;
}

/** A refusal from {@link ServerOptions.authorize}: an HTTP status (4xx/5xx) and a short reason. */
export interface Refusal {
  /** The HTTP status the upgrade is answered with (400–599). */
  readonly status: number;
  /** The response's body: a short reason the client may show. */
  readonly reason: string;
}

/**
 * An admission from {@link ServerOptions.authorize} as `user` (a string, or an object the
 * service gets as a frozen copy of its JSON, at most 4 KiB), to which the client's token is
 * bound.
 */
export interface Admitted {
  // `object`, not a record type: an interface (a JWT payload type, say) has no index signature.
  readonly user: string | object;
}

/** Who is asking, as far as the server can vouch: see {@link Authorize}. */
export interface Requester {
  /**
   * The client's IP address: the socket's peer, or — behind a node of the cluster that
   * forwarded the connection — the client address that node vouched for (`request.socket`
   * is then the forwarding node's). Use this, not `request.socket.remoteAddress`, to judge by
   * address.
   */
  readonly address: string;
}

/** The `authorize` hook: runs on the upgrade request, before the client joins `roomId`. */
export type Authorize = (request: IncomingMessage, roomId: string, requester: Requester) => boolean | Refusal | Admitted | Promise<boolean | Refusal | Admitted>;

type OptionalKeys = 'staticDir' | 'clientDir' | 'logger' | 'authorize' | 'metricsPort' | 'metricsToken' | 'stateDir' | 'store' | 'redis' | 'nodeUrl' | 'clusterSecret';
/** {@link ServerOptions} with every default filled in (what `resolveServerOptions` returns). */
export type ResolvedServerOptions = Readonly<Required<Omit<ServerOptions, OptionalKeys>>> & Readonly<Pick<ServerOptions, OptionalKeys>>;

/** Every default, in one place; `stateroom serve --help` shows the same values. */
export const DEFAULT_SERVER_OPTIONS: ResolvedServerOptions = Object.freeze({
  port: 8080,
  host: '0.0.0.0',
  heartbeatIntervalMs: 30_000,
  heartbeatTimeoutMs: 120_000,
  roomIdleMs: 30_000,
  untouchedRoomIdleMs: 5_000,
  maxPayloadBytes: 1024 * 1024,
  resumeGraceMs: 10_000,
  resumeBufferBytes: 256 * 1024,
  maxBufferedBytes: 4 * 1024 * 1024,
  messageRateLimit: 0,
  byteRateLimit: 0,
  rateLimitPersistMs: 5_000,
  connectionRateLimit: 0,
  maxQueuedBytes: 8 * 1024 * 1024,
  maxClientsPerRoom: 0,
  maxRooms: 100_000,
  allowedOrigins: Object.freeze([]),
  authorize: undefined,
  shutdownTimeoutMs: 10_000,
  stateDir: undefined,
  store: undefined,
  snapshotIntervalMs: 5_000,
  hibernateAfterMs: 60_000,
  maxSavedRooms: 100_000,
  redis: undefined,
  nodeUrl: undefined,
  clusterSecret: undefined,
  leaseTtlMs: 10_000,
  staticDir: undefined,
  clientDir: undefined,
  staticDotfiles: false,
  headersTimeoutMs: 10_000,
  maxUnroutedConnections: 1_000,
  maxUnroutedPerAddress: 100,
  metricsPort: undefined,
  metricsHost: '127.0.0.1',
  metricsToken: undefined,
  logLevel: 'info',
  logger: undefined,
});

const MAX_TIMER_MS = 2 ** 31 - 1;
/** What a RoomStore must have (its interface, room-store.ts), checked before anything starts. */
const STORE_METHODS = ['get', 'put', 'delete', 'list', 'setAside', 'where'] as const;

/**
 * Merges `input` over the defaults and checks every value; `input` is not modified.
 * @throws {@link StateroomError} `SR_ERR_OPTIONS_INVALID`, naming the option and what it takes.
 */
export function resolveServerOptions(input: ServerOptions = {}): ResolvedServerOptions {
  const given = Object.entries(input).filter(([, value]) => value !== undefined);
  const unknown = given.map(([key]) => key).filter((key) => !(key in DEFAULT_SERVER_OPTIONS));
  if (unknown.length > 0) {
    throw invalid(unknown[0] ?? '', `unknown option(s): ${unknown.join(', ')}; known: ${Object.keys(DEFAULT_SERVER_OPTIONS).join(', ')}`);
  }
  const o = { ...DEFAULT_SERVER_OPTIONS, ...Object.fromEntries(given) } as ResolvedServerOptions;
  checkInteger('port', o.port, 0, 65_535);
  if (typeof o.host !== 'string' || o.host === '') throw invalid('host', 'host must be a non-empty string');
  checkInteger('heartbeatIntervalMs', o.heartbeatIntervalMs, 0, MAX_TIMER_MS);
  checkInteger('heartbeatTimeoutMs', o.heartbeatTimeoutMs, 1, MAX_TIMER_MS);
  checkInteger('roomIdleMs', o.roomIdleMs, 0, MAX_TIMER_MS);
  checkInteger('untouchedRoomIdleMs', o.untouchedRoomIdleMs, 0, MAX_TIMER_MS);
  checkInteger('maxPayloadBytes', o.maxPayloadBytes, 1, 2 ** 31 - 1);
  checkInteger('resumeGraceMs', o.resumeGraceMs, 0, MAX_TIMER_MS);
  checkInteger('resumeBufferBytes', o.resumeBufferBytes, 0, 2 ** 31 - 1);
  checkInteger('maxBufferedBytes', o.maxBufferedBytes, 1, 2 ** 31 - 1);
  checkInteger('messageRateLimit', o.messageRateLimit, 0, 2 ** 31 - 1);
  checkInteger('byteRateLimit', o.byteRateLimit, 0, 2 ** 31 - 1);
  checkInteger('rateLimitPersistMs', o.rateLimitPersistMs, 0, MAX_TIMER_MS);
  checkInteger('connectionRateLimit', o.connectionRateLimit, 0, 2 ** 31 - 1);
  checkInteger('maxQueuedBytes', o.maxQueuedBytes, 1, 2 ** 31 - 1);
  checkInteger('maxClientsPerRoom', o.maxClientsPerRoom, 0, 2 ** 32 - 1);
  checkInteger('maxRooms', o.maxRooms, 0, 2 ** 32 - 1);
  checkInteger('shutdownTimeoutMs', o.shutdownTimeoutMs, 0, MAX_TIMER_MS);
  if (o.stateDir !== undefined && (typeof o.stateDir !== 'string' || o.stateDir === '')) throw invalid('stateDir', 'stateDir must be a directory path');
  if (o.store !== undefined && (typeof o.store !== 'object' || o.store === null || STORE_METHODS.some((name) => typeof o.store?.[name] !== 'function'))) {
    throw invalid('store', 'store must be a RoomStore (get, put, delete, list, setAside, where)');
  }
  if (o.store !== undefined && o.stateDir !== undefined) throw invalid('store', 'give stateDir or store, not both');
  checkCluster(o);
  checkInteger('snapshotIntervalMs', o.snapshotIntervalMs, 1, MAX_TIMER_MS);
  checkInteger('hibernateAfterMs', o.hibernateAfterMs, 0, MAX_TIMER_MS);
  checkInteger('maxSavedRooms', o.maxSavedRooms, 0, 2 ** 32 - 1);
  if (typeof o.staticDotfiles !== 'boolean') throw invalid('staticDotfiles', 'staticDotfiles must be true or false');
  checkInteger('headersTimeoutMs', o.headersTimeoutMs, 1, MAX_TIMER_MS);
  checkInteger('maxUnroutedConnections', o.maxUnroutedConnections, 0, 2 ** 31 - 1);
  checkInteger('maxUnroutedPerAddress', o.maxUnroutedPerAddress, 0, 2 ** 31 - 1);
  if (o.metricsPort !== undefined) checkInteger('metricsPort', o.metricsPort, 0, 65_535);
  if (typeof o.metricsHost !== 'string' || o.metricsHost === '') throw invalid('metricsHost', 'metricsHost must be a non-empty string');
  if (o.metricsToken !== undefined && (typeof o.metricsToken !== 'string' || o.metricsToken.length < 16 || /\s/.test(o.metricsToken))) {
    throw invalid('metricsToken', 'metricsToken must be a string of at least 16 characters without spaces');
  }
  if (!Array.isArray(o.allowedOrigins) || o.allowedOrigins.some((origin) => typeof origin !== 'string')) {
    throw invalid('allowedOrigins', 'allowedOrigins must be an array of origins such as "https://example.com"');
  }
  if (o.authorize !== undefined && typeof o.authorize !== 'function') {
    throw invalid('authorize', 'authorize must be a function (request, roomId) => boolean | { status, reason } | { user }');
  }
  if (o.heartbeatIntervalMs > 0 && o.heartbeatTimeoutMs <= o.heartbeatIntervalMs) {
    // Otherwise a client could be dropped before its first pong has had a chance to arrive.
    throw invalid(
      'heartbeatTimeoutMs',
      `heartbeatTimeoutMs (${o.heartbeatTimeoutMs}) must be greater than heartbeatIntervalMs (${o.heartbeatIntervalMs})`,
    );
  }
  if (o.resumeGraceMs > 0 && o.resumeBufferBytes > o.maxBufferedBytes) {
    // A resume replays the whole kept tail at once; more than the outgoing limit would be
    // cut off with 1013 as soon as it is sent.
    throw invalid(
      'resumeBufferBytes',
      `resumeBufferBytes (${o.resumeBufferBytes}) must not exceed maxBufferedBytes (${o.maxBufferedBytes})`,
    );
  }
  if (!(LOG_LEVELS as readonly string[]).includes(o.logLevel)) {
    throw invalid('logLevel', `logLevel must be one of ${LOG_LEVELS.join(', ')}, not ${String(o.logLevel)}`);
  }
  return Object.freeze(o);
}

/** Scale-out options come together, and a node's rooms are kept in Redis, not elsewhere. */
function checkCluster(o: ResolvedServerOptions): void {
  checkInteger('leaseTtlMs', o.leaseTtlMs, 1_000, 600_000);
  if (o.redis === undefined) {
    if (o.nodeUrl !== undefined) throw invalid('nodeUrl', 'nodeUrl is for scale-out: give redis too');
    if (o.clusterSecret !== undefined) throw invalid('clusterSecret', 'clusterSecret is for scale-out: give redis too');
    return;
  }
  if (typeof o.redis !== 'string' || !/^(redis|rediss|redis\+sentinel|redis\+cluster):\/\//.test(o.redis)) {
    throw invalid('redis', 'redis must be a URL such as redis://127.0.0.1:6379');
  }
  // Nodes forward to each other in plain ws:// (on a private network: see docs/cluster.md).
  if (typeof o.nodeUrl !== 'string' || !/^ws:\/\/[^/]+/.test(o.nodeUrl)) throw invalid('nodeUrl', 'with redis, nodeUrl must say how other nodes reach this one, e.g. ws://10.0.0.5:8080 (ws:// only: nodes talk on a private network)');
  if (typeof o.clusterSecret !== 'string' || o.clusterSecret.trim().length < 32) {
    throw invalid('clusterSecret', 'with redis, clusterSecret must be a shared secret of at least 32 characters (e.g. from --cluster-secret-file)');
  }
  if (o.stateDir !== undefined || o.store !== undefined) throw invalid('redis', 'with redis, rooms are saved in Redis: leave out stateDir and store');
}

function checkInteger(option: string, value: unknown, min: number, max: number): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalid(option, `${option} must be a whole number from ${min} to ${max}, not ${String(value)}`);
  }
}

function invalid(option: string, message: string): StateroomError {
  return new StateroomError(ErrorCode.OPTIONS_INVALID, message, { option });
}
