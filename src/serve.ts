/**
 * `serve()`: the programmatic server, and everything the CLI's `serve` does. It wires the
 * pieces together — options, logger, placement (the room registry), transport — and owns
 * the order in which they start and stop.
 * @module
 */
import type { Socket } from 'node:net';
import { displayUrl } from './display-url.js';
import { ErrorCode, StateroomError, describeThrown } from './errors.js';
import { CLOSE_GOING_AWAY, CLOSE_SERVICE_RESTART } from './protocol.js';
import { clientModuleHandler, consoleHandler } from './console/index.js';
import type { Durable } from './durability/setup.js';
import type { Node } from './nodes/setup.js';
import { createLogger, flushThrottle, type Logger } from './logger.js';
import { TrafficCounts, createMetrics } from './metrics.js';
import { resolveServerOptions, type ServerOptions } from './options.js';
import { RoomRegistry } from './room/registry.js';
import type { AdapterFactory, AdapterSource } from './service/adapter.js';
import { nativeAdapterFactory } from './service/native.js';
import type { ServiceSource } from './service/types.js';
import { Transport } from './transport/server.js';
import { staticFiles, type StaticHandler } from './transport/static-files.js';
import { settlesWithin } from './settles-within.js';
import { VERSION } from './version.js';

/** A listening server. */
export interface RunningServer {
  /** The bound port (the real one when `port: 0` was asked for). */
  readonly port: number;
  /** The interface listened on. */
  readonly host: string;
  /** The port `/metrics` is served on, when it has one of its own (`metricsPort`). */
  readonly metricsPort?: number | undefined;
  /** `http://<host>:<port>`, with `localhost` for a wildcard host. */
  readonly url: string;
  /** How many rooms are live right now. */
  readonly roomCount: number;
  /** How many WebSocket clients are connected right now. */
  readonly clientCount: number;
  /**
   * Swaps in another service (what `stateroom dev` does after a rebuild): every client is
   * closed with 1012 ("service restart", a cue to reconnect), every room is disposed, and
   * rooms created from then on run `service`.
   */
  reload(service: ServiceSource | AdapterSource): Promise<void>;
  /**
   * Stops accepting, closes every client with 1001 (each room gets its `disconnect`s),
   * then disposes every room. Resolves when all of that is done.
   */
  close(): Promise<void>;
}

/**
 * Starts a Stateroom server for one service and resolves once it is listening.
 *
 * Each room id gets its own instance of the service, created when the first client joins
 * `/ws/<roomId>` and disposed `roomIdleMs` after the last one leaves. Events of one room
 * are delivered one at a time, in arrival order.
 *
 * @param service - A service class (constructed once per room), a factory
 *   `(roomId, ctx) => service`, or an {@link AdapterSource} (e.g. a WASM module).
 * @param options - See {@link ServerOptions}; the defaults live in `DEFAULT_SERVER_OPTIONS`.
 * @returns The bound address and `close()`.
 * @throws {@link StateroomError} `SR_ERR_OPTIONS_INVALID` before anything is bound, or
 *   `SR_ERR_LISTEN_FAILED` when the port cannot be bound.
 * @example
 * ```ts
 * const server = await serve(SharedCounter, { port: 0 });
 * console.log(`ws://127.0.0.1:${server.port}/ws/lobby`);
 * await server.close();
 * ```
 */
export async function serve(service: ServiceSource | AdapterSource, options?: ServerOptions): Promise<RunningServer> {
  const { transport, running, log, o } = await assemble(service, options);
  // A server that cannot listen lets go of all it assembled (saved rooms' wake-ups, leases and
  // Redis, the source's threads), as its close() would: nothing runs on without a port.
  const release = (): Promise<void> => running(0, '').close().catch(() => undefined);
  let address: { port: number };
  try {
    address = await listen(transport, o.port, o.host);
  } catch (err) {
    await release();
    throw err;
  }
  let metricsPort: number | undefined;
  if (o.metricsPort !== undefined) {
    try {
      metricsPort = (await transport.listenMetrics(o.metricsPort, o.metricsHost)).port;
    } catch (cause) {
      await release();
      throw new StateroomError(ErrorCode.LISTEN_FAILED, `cannot serve metrics on ${o.metricsHost}:${o.metricsPort}: ${describeThrown(cause)}`, {}, { cause });
    }
    log.info({ metricsPort, metricsHost: o.metricsHost }, `metrics on ${displayUrl(o.metricsHost, metricsPort)}/metrics`);
  }
  const url = displayUrl(o.host, address.port);
  log.info({ url, host: o.host, port: address.port }, `listening on ${url} (WebSockets: ${url.replace('http', 'ws')}/ws/<room>)`);
  return Object.assign(running(address.port, url), { metricsPort });
}

export { displayUrl };

/**
 * A server that does not listen: it is handed connections another process accepted (a
 * worker of `stateroom serve --workers N`). Internal to the cluster.
 */
export interface AdoptingServer extends RunningServer {
  /** Serves a connection accepted elsewhere; `head` is what was already read from it. */
  adopt(socket: Socket, head: Buffer): void;
  /**
   * What `/status?format=json` would say, for the primary to add up — and what `/metrics`
   * would, when `withMetrics` (a rendering of every metric: only for a scrape).
   */
  report(withMetrics: boolean): Promise<WorkerReport>;
}

/** What `GET /status?format=json` answers. */
export interface ServerStatus {
  readonly status: 'ok';
  readonly version: string;
  readonly uptimeSeconds: number;
  readonly rooms: number;
  readonly connections: number;
  /** With a state directory: saved rooms whose instance is freed (not counted in `rooms`). */
  readonly hibernatedRooms?: number;
  /** With a state directory: seconds since the oldest change not saved yet (0: all saved). */
  readonly oldestUnsavedChangeSeconds?: number;
}

/** One worker's status, and its metrics (prom-client's JSON form) when asked, for the primary. */
export interface WorkerReport {
  readonly status: ServerStatus;
  readonly metrics?: object[] | undefined;
}

/** Starts everything `serve()` does but listening; see {@link AdoptingServer}. */
export async function serveAdopted(
  service: ServiceSource | AdapterSource,
  options: ServerOptions,
  url: string,
  ownsRoom: (roomId: string) => boolean,
): Promise<AdoptingServer> {
  const { transport, running, o, status, metrics } = await assemble(service, options, ownsRoom);
  // Object.assign keeps the getters of the running server (a spread would freeze them).
  return Object.assign(running(o.port, url), {
    adopt: (socket: Socket, head: Buffer) => transport.adopt(socket, head),
    report: async (withMetrics: boolean): Promise<WorkerReport> => (withMetrics ? { status: status(), metrics: await metrics.registry.getMetricsAsJSON() } : { status: status() }),
  });
}

/** The pieces of a server, wired but not listening, and how to describe it once it is. */
async function assemble(service: ServiceSource | AdapterSource, options: ServerOptions | undefined, ownsRoom?: (roomId: string) => boolean) {
  const o = resolveServerOptions(options);
  const log = o.logger ?? createLogger(o.logLevel);
  let source = service;
  // Scale-out and durable rooms are imported only by a server that has them (memory it would hold for nothing).
  const node: Node | undefined = o.redis === undefined ? undefined : await (await import('./nodes/setup.js')).joinCluster(o, log);
  const durable: Durable | undefined =
    o.stateDir === undefined && o.store === undefined && node === undefined ? undefined : await (await import('./durability/setup.js')).durableRooms(o, service, log, ownsRoom, node?.store);
  let createAdapter = durable?.wrap(adapterFactoryOf(service)) ?? adapterFactoryOf(service);
  const [staticHandler, clientHandler] = await Promise.all([
    directory('staticDir', o.staticDir, o.staticDotfiles),
    directory('clientDir', o.clientDir, o.staticDotfiles),
  ]);
  const traffic = new TrafficCounts();
  const sources = {
    traffic,
    rooms: () => registry.size,
    connections: () => transport.clientCount,
    ...(durable === undefined ? {} : { hibernatedRooms: () => durable.hibernatedRooms, oldestUnsavedSeconds: () => durable.oldestUnsavedSeconds }),
    ...(node === undefined
      ? {}
      : {
          cluster: {
            leasesHeld: () => node.leases.held,
            forwardedOpen: () => node.counts.open,
            forwardedBytes: () => node.counts.bytes(),
            forwardOutcomes: () => node.counts.outcomes,
          },
        }),
  };
  const metrics = createMetrics(sources);
  const startedAt = Date.now();
  const status = (): ServerStatus => ({
    status: 'ok',
    version: VERSION,
    uptimeSeconds: Math.round((Date.now() - startedAt) / 1000),
    rooms: registry.size,
    connections: transport.clientCount,
    ...(durable === undefined ? {} : { hibernatedRooms: durable.hibernatedRooms, oldestUnsavedChangeSeconds: Math.round(durable.oldestUnsavedSeconds * 10) / 10 }),
    ...(node === undefined ? {} : { node: { id: node.id, url: node.url, redis: node.redis, leaseTtlSeconds: node.leases.ttlMs / 1000, leasesHeld: node.leases.held, forwardedConnections: node.counts.open } }),
  });
  const registry = new RoomRegistry(
    (...args) => createAdapter(...args),
    {
      roomIdleMs: o.roomIdleMs,
      untouchedRoomIdleMs: o.untouchedRoomIdleMs,
      resumeGraceMs: o.resumeGraceMs,
      resumeBufferBytes: o.resumeBufferBytes,
      maxQueuedBytes: o.maxQueuedBytes,
      maxClientsPerRoom: o.maxClientsPerRoom,
      maxRooms: o.maxRooms,
      // `source`, not `service`: a reload swaps the source whose budget counts.
      // Rooms asleep with their clients keep their place: they wake on their next event.
      newRoomRefusal: () => (typeof source === 'object' ? source.newRoomRefusal?.(durable?.sleeping ?? 0) : undefined),
    },
    log,
    { onCall: metrics.call, onError: metrics.error },
    node === undefined ? durable?.keeper : node.keeper(durable?.keeper),
  );
  node?.rooms.attach({ isLive: (roomId) => registry.get(roomId) !== undefined, evict: (roomId, code, reason) => registry.evict(roomId, code, reason) }, metrics.cluster);
  const wakeHere = (roomId: string, prepare: () => Promise<boolean>): Promise<boolean> => prepare().then((go) => go && registry.wake(roomId));
  await durable?.start(
    {
      wake: (roomId, prepare) => (node === undefined ? wakeHere(roomId, prepare) : node.rooms.wake(roomId, () => wakeHere(roomId, prepare))),
      isLive: (roomId) => registry.get(roomId) !== undefined,
    },
    metrics.durability,
  );
  const transport: Transport = new Transport(
    registry,
    {
      heartbeatIntervalMs: o.heartbeatIntervalMs,
      heartbeatTimeoutMs: o.heartbeatTimeoutMs,
      maxPayloadBytes: o.maxPayloadBytes,
      // Without a static directory, `/` shows the built-in room console.
      staticFiles: staticHandler ?? (await consoleHandler()),
      clientFiles: clientHandler,
      // In every mode, `/__stateroom/client.js`: the client for a page's <script type="module">.
      clientModule: clientModuleHandler(),
      maxBufferedBytes: o.maxBufferedBytes,
      allowedOrigins: o.allowedOrigins,
      authorize: o.authorize,
      rates: { messagesPerSecond: o.messageRateLimit, bytesPerSecond: o.byteRateLimit, persistMs: o.rateLimitPersistMs },
      connectionRateLimit: o.connectionRateLimit,
      headersTimeoutMs: o.headersTimeoutMs,
      maxUnroutedConnections: o.maxUnroutedConnections,
      maxUnroutedPerAddress: o.maxUnroutedPerAddress,
      traffic,
      metrics,
      status,
      metricsToken: o.metricsToken,
      metricsElsewhere: o.metricsPort !== undefined,
      oneRequestPerConnection: ownsRoom !== undefined,
      ownsRoom,
      router: node?.rooms,
    },
    log,
  );
  let closing: Promise<void> | undefined;
  const running = (port: number, url: string): RunningServer => ({
    port,
    host: o.host,
    url,
    get roomCount() {
      return registry.size;
    },
    get clientCount() {
      return transport.clientCount;
    },
    reload: async (next) => {
      const previous = source;
      createAdapter = durable?.wrap(adapterFactoryOf(next)) ?? adapterFactoryOf(next);
      source = next;
      // With the adapters, in the same turn: a room started while the old ones close is of the
      // new source, and its image must match that (each running room keeps the source it
      // started with, pinned at its load).
      durable?.reloaded(next);
      registry.prepareClose();
      transport.disconnectAll(CLOSE_SERVICE_RESTART, 'service reloaded');
      const rooms = registry.size;
      // Saved as the previous service's rooms. A callback that never settles must not hold
      // the reload (and `stateroom dev`'s every later build) for ever: past the shutdown
      // deadline the reload goes on, and those rooms' ids start afresh on the new service.
      if (!(await settlesWithin(registry.close(), o.shutdownTimeoutMs))) {
        registry.reopen();
        log.warn({ rooms, deadlineMs: o.shutdownTimeoutMs }, `rooms of the previous service still busy ${o.shutdownTimeoutMs} ms after the reload began (a callback that never settles?); reloading without them`);
      }
      await closeSource(previous, log);
    },
    close: () => {
      const began = performance.now();
      // The saves' writes get what is left of the shutdown's deadline (at least a second).
      const left = (): number => Math.max(1_000, o.shutdownTimeoutMs - (performance.now() - began));
      return (closing ??= Promise.resolve(durable?.stopWakes())
        // A node of a cluster hands its rooms over: its clients come back (1012), to another node.
        .then(() => shutDown(transport, registry, log, o.shutdownTimeoutMs, node === undefined ? CLOSE_GOING_AWAY : CLOSE_SERVICE_RESTART))
        .then(() => durable?.close(left()))
        .then(() => node?.close())
        .then(() => closeSource(source, log)));
    },
  });
  return { transport, running, log, o, status, metrics };
}

/** This package's version, as `/status` reports it. */
export { VERSION };

function adapterFactoryOf(service: ServiceSource | AdapterSource): AdapterFactory {
  if (typeof service === 'function') return nativeAdapterFactory(service);
  if (typeof service === 'object' && service !== null && typeof service.createAdapter === 'function') {
    return service.createAdapter;
  }
  throw new StateroomError(
    ErrorCode.OPTIONS_INVALID,
    `serve() needs a service class, a factory (roomId, ctx) => service, or an adapter source; got ${typeof service}`,
  );
}

/** Releases what a source holds for all its rooms (a WASM pool's threads), if anything. */
async function closeSource(source: ServiceSource | AdapterSource, log: Logger): Promise<void> {
  if (typeof source !== 'object' || source === null || typeof source.close !== 'function') return;
  try {
    await source.close();
  } catch (err) {
    log.warn({ err }, `closing the service "${source.name}" failed: ${describeThrown(err)}`);
  }
}

async function directory(option: 'staticDir' | 'clientDir', dir: string | undefined, dotfiles: boolean): Promise<StaticHandler | undefined> {
  if (dir === undefined) return undefined;
  try {
    return await staticFiles(dir, { dotfiles });
  } catch (cause) {
    throw new StateroomError(
      ErrorCode.OPTIONS_INVALID,
      `${option} "${dir}" cannot be served: ${describeThrown(cause)}`,
      { option, file: dir },
      { cause },
    );
  }
}

async function listen(transport: Transport, port: number, host: string) {
  try {
    return await transport.listen(port, host);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    const hint =
      code === 'EADDRINUSE'
        ? `port ${port} is already in use on ${host}: stop the other server or choose another port (--port)`
        : `cannot listen on ${host}:${port}: ${describeThrown(cause)}`;
    throw new StateroomError(ErrorCode.LISTEN_FAILED, hint, {}, { cause });
  }
}

async function shutDown(transport: Transport, registry: RoomRegistry, log: Logger, deadlineMs: number, code: number): Promise<void> {
  const rooms = registry.size;
  registry.prepareClose();
  await transport.close(code, code === CLOSE_GOING_AWAY ? 'server shutting down' : 'server shutting down; reconnect');
  // Rooms finish their queued events first; a callback that never settles must not hold
  // the server open for ever.
  if (!(await settlesWithin(registry.close(), deadlineMs))) {
    log.warn({ rooms, deadlineMs }, `rooms still busy ${deadlineMs} ms after shutdown began; closing without them`);
  }
  flushThrottle(log); // the last window's summaries of repeated errors
  log.info({ rooms }, 'server closed');
}
