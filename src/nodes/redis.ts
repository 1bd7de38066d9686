/**
 * The one Redis connection of a node (`--redis`), shared by leases and the room store: a single
 * Redis, Redis behind Sentinel, or a Redis Cluster, all through ioredis — an optional peer
 * dependency, imported only when `--redis` is used (it would push a lean install past its cap).
 *
 * URL forms (userinfo and hosts percent-decoded; the password is never logged nor put in an error):
 * ```
 * redis://[[user]:password@]host[:port][/db]                  a single Redis (port 6379, db 0)
 * rediss://…                                                   the same over TLS
 * redis+sentinel://[[user]:password@]h1[:p1],h2[:p2]/name[/db] Sentinels (port 26379), master `name`
 * redis+cluster://[[user]:password@]h1[:p1],h2[:p2]            seeds of a Redis Cluster (port 6379)
 * rediss+sentinel://…, rediss+cluster://…                      over TLS
 * ```
 * With Sentinel the password is the data nodes' (Sentinels are asked without one).
 *
 * The client fails commands at once while disconnected (no offline queue) and after a command
 * timeout, so a lease renewal or a save never waits on a dead Redis: leases are proven by the
 * node's own clock, and a caller refusing a new room wants the answer now. Connection trouble
 * is logged once per change of state (lost, back), not per command.
 * @module
 */
import { createHash } from 'node:crypto';
import type { Cluster, Redis, RedisCommander } from 'ioredis';
import { ErrorCode, StateroomError, describeThrown, isMissingPackage } from '../errors.js';
import type { Logger } from '../logger.js';

/** A connection to a single Redis, a Sentinel-watched master, or a Redis Cluster. */
export type RedisClient = Redis | Cluster;

/** What to run when ioredis is missing: one line, for the error and the docs alike. */
export const IOREDIS_INSTALL = 'npm install ioredis';

/** Options of {@link connectRedis}. */
export interface ConnectOptions {
  /** How long to keep trying to reach Redis at start before giving up; default 5,000 ms. */
  readonly connectTimeoutMs?: number;
  /** A command unanswered this long fails (a paused or partitioned Redis); default 5,000 ms. */
  readonly commandTimeoutMs?: number;
}

/** A parsed `--redis` URL; see the module comment. */
export interface RedisTarget {
  readonly mode: 'single' | 'sentinel' | 'cluster';
  readonly tls: boolean;
  readonly hosts: ReadonlyArray<{ readonly host: string; readonly port: number }>;
  readonly username?: string;
  readonly password?: string;
  readonly db?: number;
  /** The master's name, for Sentinel. */
  readonly name?: string;
  /** For messages: the URL without its password. */
  readonly address: string;
}

const SCHEMES: Readonly<Record<string, { mode: RedisTarget['mode']; tls: boolean }>> = {
  redis: { mode: 'single', tls: false },
  rediss: { mode: 'single', tls: true },
  'redis+sentinel': { mode: 'sentinel', tls: false },
  'rediss+sentinel': { mode: 'sentinel', tls: true },
  'redis+cluster': { mode: 'cluster', tls: false },
  'rediss+cluster': { mode: 'cluster', tls: true },
};

/** Where each client connects, for messages (no password): set by {@link connectRedis}. */
const addresses = new WeakMap<RedisClient, string>();

/**
 * Parses a `--redis` URL (module comment). Not WHATWG URL: a comma-separated host list is no
 * valid URL host.
 * @throws {@link StateroomError} `SR_ERR_OPTIONS_INVALID` naming what is wrong (never the password).
 */
export function parseRedisUrl(url: string): RedisTarget {
  const match = /^([a-z+]+):\/\/(?:([^@/]*)@)?([^/?#]*)(\/[^?#]*)?$/i.exec(url.trim());
  const shown = redactUrl(url);
  const bad = (why: string): StateroomError =>
    new StateroomError(ErrorCode.OPTIONS_INVALID, `--redis ${shown}: ${why} (forms: redis://host:port/db, rediss://…, redis+sentinel://h1:p1,h2:p2/name, redis+cluster://h1:p1,h2:p2)`, { option: 'redis' });
  if (match === null) throw bad('not a Redis URL');
  const scheme = SCHEMES[match[1]!.toLowerCase()];
  if (scheme === undefined) throw bad(`unknown scheme "${match[1]}"`);
  const { mode, tls } = scheme;
  const defaultPort = mode === 'sentinel' ? 26379 : 6379;
  const hosts = match[3]!.split(',').map((part) => parseHost(part, defaultPort));
  if (hosts.some((h) => h === undefined)) throw bad(`a host is empty or its port is not a number in 1–65535`);
  if (mode === 'single' && hosts.length > 1) throw bad('a single Redis takes one host (several are for redis+sentinel:// or redis+cluster://)');
  const segments = (match[4] ?? '').split('/').filter((s) => s !== '').map(decode);
  let name: string | undefined;
  if (mode === 'sentinel') {
    name = segments.shift();
    if (name === undefined) throw bad("Sentinel needs the master's name: redis+sentinel://host:26379/mymaster");
  }
  let db: number | undefined;
  if (segments.length > 0) {
    const text = segments.shift()!;
    if (!/^\d+$/.test(text) || segments.length > 0) throw bad(`"${text}" is not a database number`);
    db = Number(text);
    if (mode === 'cluster' && db !== 0) throw bad('a Redis Cluster has only database 0');
  }
  const { username, password } = credentials(match[2]);
  const address = `${match[1]!.toLowerCase()}://${hosts.map((h) => `${h!.host.includes(':') ? `[${h!.host}]` : h!.host}:${h!.port}`).join(',')}${name === undefined ? '' : `/${name}`}${db === undefined ? '' : `/${db}`}`;
  return { mode, tls, hosts: hosts as RedisTarget['hosts'], address, ...(username === undefined ? {} : { username }), ...(password === undefined ? {} : { password }), ...(db === undefined ? {} : { db }), ...(name === undefined ? {} : { name }) };
}

/** `url` with any password replaced by `***`, for messages. */
export function redactUrl(url: string): string {
  return url.replace(/^([^:/]+:\/\/)([^@/]*)@/, (_, scheme: string, userinfo: string) => `${scheme}${userinfo.includes(':') ? `${userinfo.slice(0, userinfo.indexOf(':'))}:***` : userinfo}@`);
}

/** Where `redis` connects, for messages (never a password). */
export function describeRedis(redis: RedisClient): string {
  return addresses.get(redis) ?? 'redis';
}

/**
 * Connects to the Redis of `url` and waits until it answers (retrying a Redis that is still
 * starting) at most `connectTimeoutMs`.
 * @throws {@link StateroomError} `SR_ERR_REDIS_UNAVAILABLE`: one line naming the address and the
 *   last error, or saying to install ioredis; `SR_ERR_OPTIONS_INVALID` for a malformed URL.
 */
export async function connectRedis(url: string, log: Logger, options: ConnectOptions = {}): Promise<RedisClient> {
  const target = parseRedisUrl(url);
  const { Redis: RedisClass, Cluster: ClusterClass } = await loadIoredis();
  const connectTimeoutMs = options.connectTimeoutMs ?? 5_000;
  const common = {
    ...(target.username === undefined ? {} : { username: target.username }),
    ...(target.password === undefined ? {} : { password: target.password }),
    ...(target.tls ? { tls: {} } : {}),
    commandTimeout: options.commandTimeoutMs ?? 5_000,
    connectTimeout: Math.min(connectTimeoutMs, 10_000),
    // A command sent on a connection that then drops fails instead of being resent later: a
    // late renewal or write must not land after the caller has moved on.
    maxRetriesPerRequest: 0,
    lazyConnect: true,
  };
  let client: RedisClient;
  if (target.mode === 'cluster') {
    client = new ClusterClass([...target.hosts], { lazyConnect: true, enableOfflineQueue: false, enableAutoPipelining: true, redisOptions: common });
  } else if (target.mode === 'sentinel') {
    client = new RedisClass({ ...common, sentinels: [...target.hosts], name: target.name!, db: target.db ?? 0, enableOfflineQueue: false, enableAutoPipelining: true, ...(target.tls ? { sentinelTLS: {}, enableTLSForSentinelMode: true } : {}) });
  } else {
    client = new RedisClass({ ...common, host: target.hosts[0]!.host, port: target.hosts[0]!.port, db: target.db ?? 0, enableOfflineQueue: false, enableAutoPipelining: true });
  }
  addresses.set(client, target.address);
  await waitReady(client, target.address, connectTimeoutMs);
  watchConnection(client, target.address, log);
  return client;
}

async function loadIoredis(): Promise<{ Redis: typeof Redis; Cluster: typeof Cluster }> {
  try {
    const { Redis, Cluster } = await import('ioredis');
    return { Redis, Cluster };
  } catch (cause) {
    if (!isMissingPackage(cause, 'ioredis')) throw cause;
    throw new StateroomError(ErrorCode.REDIS_UNAVAILABLE, `--redis needs ioredis, which is not installed: ${IOREDIS_INSTALL}`, { option: 'redis' }, { cause });
  }
}

/** Resolves once `client` is ready; ioredis keeps retrying meanwhile, so a Redis still starting is waited for. */
async function waitReady(client: RedisClient, address: string, ms: number): Promise<void> {
  let lastError: unknown;
  const onError = (err: unknown): void => {
    lastError = err;
  };
  client.on('error', onError);
  let timer: NodeJS.Timeout | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      timer = setTimeout(() => reject(new Error('timeout')), ms);
      client.once('ready', () => resolve());
      client.once('end', () => reject(new Error('gave up')));
      // A first attempt that fails rejects this promise while ioredis goes on retrying.
      client.connect().catch(onError);
    });
  } catch {
    client.disconnect();
    const why = lastError === undefined ? 'no answer' : describeThrown(lastError);
    throw new StateroomError(ErrorCode.REDIS_UNAVAILABLE, `Redis at ${address} is unreachable after ${ms} ms (${why}): check --redis and that Redis runs`, { option: 'redis' }, lastError === undefined ? undefined : { cause: lastError });
  } finally {
    clearTimeout(timer);
    client.off('error', onError);
  }
}

/** Logs the connection's changes of state: once when it is lost (ioredis retries on its own), once when it is back. */
function watchConnection(client: RedisClient, address: string, log: Logger): void {
  let down = false;
  client.on('error', (err: unknown) => {
    if (down) return;
    down = true;
    log.warn({ code: ErrorCode.REDIS_UNAVAILABLE, redis: address, err: describeThrown(err) }, `Redis at ${address}: connection lost (${describeThrown(err)}); reconnecting`);
  });
  client.on('ready', () => {
    if (!down) return;
    down = false;
    log.info({ redis: address }, `Redis at ${address} is back`);
  });
}

/** The commands both a Redis and a Cluster have (a union of their classes is not callable). */
export type RedisCommands = RedisCommander<{ type: 'default' }>;

/** `redis` as the commands both kinds of client have. */
export function commands(redis: RedisClient): RedisCommands {
  return redis;
}

/**
 * A Lua script run by its SHA-1 (EVALSHA: one round trip, the body not resent), loaded with
 * EVAL when Redis does not know it (first use, a restarted Redis, a new cluster shard). Every
 * script here touches the keys of one room only: one slot, so any shard of a cluster runs it.
 */
export class RedisScript {
  readonly sha: string;

  constructor(readonly lua: string) {
    this.sha = createHash('sha1').update(lua).digest('hex');
  }

  /** Runs the script on `keys` (routed by the first key's slot) with `args`. */
  async run(redis: RedisClient, keys: readonly string[], args: ReadonlyArray<string | Buffer | number>): Promise<unknown> {
    const r = commands(redis);
    try {
      return await r.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (!describeThrown(err).includes('NOSCRIPT')) throw err;
      return r.eval(this.lua, keys.length, ...keys, ...args);
    }
  }
}

/** A Redis failure as the caller's error: one line naming the address. */
export function redisError(redis: RedisClient, what: string, cause: unknown, roomId?: string): StateroomError {
  if (cause instanceof StateroomError) return cause;
  return new StateroomError(ErrorCode.REDIS_UNAVAILABLE, `${what}: Redis at ${describeRedis(redis)} failed (${describeThrown(cause)})`, roomId === undefined ? {} : { roomId }, { cause });
}

function parseHost(text: string, defaultPort: number): { host: string; port: number } | undefined {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+))(?::(\d+))?$/.exec(decode(text.trim()));
  if (match === null) return undefined;
  const port = match[3] === undefined ? defaultPort : Number(match[3]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) return undefined;
  return { host: (match[1] ?? match[2])!, port };
}

function credentials(userinfo: string | undefined): { username?: string; password?: string } {
  if (userinfo === undefined || userinfo === '') return {};
  const colon = userinfo.indexOf(':');
  if (colon < 0) return { username: decode(userinfo) };
  const username = decode(userinfo.slice(0, colon));
  return { ...(username === '' ? {} : { username }), password: decode(userinfo.slice(colon + 1)) };
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
