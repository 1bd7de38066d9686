/**
 * The transport: Node's `http` server plus `ws`. It routes `/ws[/<room>]`, `/status` and
 * static files, runs the heartbeat, and hands each client to the {@link Placement}. It is
 * the only code that touches sockets, and it never sees a service.
 * @module
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { describeThrown } from '../errors.js';
import type { Logger } from '../logger.js';
import type { ServerMetrics, TrafficCounts } from '../metrics.js';
import type { Authorize } from '../options.js';
import { CLOSE_GOING_AWAY, CLOSE_INTERNAL_ERROR, CLOSE_POLICY, PROTOCOL_FRESH, PROTOCOL_RESUMED } from '../protocol.js';
import type { Placement, SeatHandle } from '../room/placement.js';
import type { Identity } from '../room/seat.js';
import { Connection, type ConnectionShared } from './connection.js';
import { Heartbeat } from './heartbeat.js';
import { Outbox } from './outbox.js';
import { ClientLimiter, ConnectionRate, type ClientRates } from './rate-limit.js';
import { reply, refuseUpgrade } from './reply.js';
import { parseIdentity, parseRoomPath, splitTarget } from './room-path.js';
import type { StaticHandler } from './static-files.js';


/** What an upgrade request asked for, kept from the checks until the socket opens. */
interface Target {
  readonly roomId: string;
  readonly identity: Identity;
  readonly resumes: boolean;
}

export interface TransportOptions {
  readonly heartbeatIntervalMs: number;
  readonly heartbeatTimeoutMs: number;
  /** Largest incoming message; a larger one closes the client with 1009. */
  readonly maxPayloadBytes: number;
  /** Serves `/` and below, when given. */
  readonly staticFiles?: StaticHandler | undefined;
  /** Serves `/client/` and below, when given. */
  readonly clientFiles?: StaticHandler | undefined;
  /** Per-client outgoing buffer limit; a client over it is closed with 1013. */
  readonly maxBufferedBytes: number;
  /** Browser origins allowed to connect; empty allows any. */
  readonly allowedOrigins: readonly string[];
  /** Runs before a client joins; see `ServerOptions.authorize`. */
  readonly authorize?: Authorize | undefined;
  /** Per-client message and byte rates (0: no limit). */
  readonly rates: ClientRates;
  /** Connection attempts per minute per IP (0: no limit). */
  readonly connectionRateLimit: number;
  /** Where traffic is counted, and `/metrics` comes from. */
  readonly traffic: TrafficCounts;
  readonly metrics: ServerMetrics;
  /** The JSON `/status?format=json` answers with. */
  status(): object;
  /**
   * Close each plain HTTP connection after one answer. A worker of `--workers N` sets it: a
   * connection stays with the worker it was handed to, so without it a keep-alive client's
   * next request (`/metrics`, say) would skip the primary, which routes and adds up.
   */
  readonly oneRequestPerConnection?: boolean;
  /**
   * Whether this process hosts `roomId` (a worker of `--workers N` hosts the rooms the
   * primary routes to it); an upgrade for another room is refused with 421, so one room
   * never runs in two processes, however a connection got here. Default: every room.
   */
  readonly ownsRoom?: (roomId: string) => boolean;
}

/** How long clients get to answer a 1001 close before their sockets are cut. */
const SHUTDOWN_GRACE_MS = 2_000;
/** How long an adopted connection may take to send its request (Node's `headersTimeout`). */
const ADOPTED_REQUEST_TIMEOUT_MS = 60_000;
const CLIENT_PREFIX = '/client/';

export class Transport {
  readonly http: Server;
  private readonly wss: WebSocketServer;
  private readonly heartbeat: Heartbeat;
  private readonly open = new Set<Connection>();
  private readonly targets = new WeakMap<IncomingMessage, Target>();
  private readonly attempts: ConnectionRate;
  /** What every connection shares, the listeners' way back to this transport included. */
  private readonly shared: ConnectionShared & TransportEvents;
  private readonly earlyError = (err: Error): void => this.log.debug({ err }, 'socket error before the WebSocket opened');
  /** Set by `close()`: upgrades still being checked are refused rather than joined. */
  private closing = false;

  constructor(
    private readonly placement: Placement,
    private readonly options: TransportOptions,
    private readonly log: Logger,
  ) {
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: options.maxPayloadBytes,
      perMessageDeflate: false,
      handleProtocols: (offered, req) => this.pickProtocol(offered, req),
    });
    this.heartbeat = new Heartbeat(
      { intervalMs: options.heartbeatIntervalMs, timeoutMs: options.heartbeatTimeoutMs },
      (connection) => this.dropped(connection),
    );
    this.attempts = new ConnectionRate(options.connectionRateLimit);
    this.shared = {
      outbox: new Outbox(),
      traffic: options.traffic,
      maxBufferedBytes: options.maxBufferedBytes,
      overflowed: (connection) => this.overflowed(connection),
      received: (connection, data, isBinary) => this.received(connection, data, isBinary),
      closed: (connection, code) => {
        this.options.metrics.closed(code);
        this.gone(connection);
      },
      failed: (connection, err) => this.log.debug({ err, roomId: connection.seat?.roomId, clientId: connection.seat?.clientId }, 'client socket error'),
    };
    this.http = createServer((req, res) => this.request(req, res));
    this.http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.upgrade(req, socket, head));
    this.http.on('clientError', (_err, socket) => refuseUpgrade(socket, 400, 'bad request'));
  }

  /** Listens on `port` (0 picks a free one) and resolves with the bound address. */
  listen(port: number, host: string): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(port, host, () => {
        this.http.off('error', reject);
        resolve(this.http.address() as AddressInfo);
      });
    });
  }

  /**
   * Stops accepting, tells every room its clients left, and closes their sockets with
   * 1001; sockets that do not answer within a grace period are cut.
   */
  async close(): Promise<void> {
    this.closing = true;
    this.heartbeat.stop();
    const closed = new Promise<void>((resolve) => this.http.close(() => resolve()));
    const sockets = [...this.open].map((connection) => this.shutDown(connection));
    await Promise.all(sockets);
    this.http.closeAllConnections();
    await closed;
  }

  /**
   * Serves a connection accepted by another process (the cluster's primary), which read
   * `head` from it to choose this process: the HTTP parser gets those bytes first.
   */
  adopt(socket: Socket, head: Buffer): void {
    if (this.closing) {
      socket.destroy();
      return;
    }
    // Node arms its header timeouts only for servers that listen: a client that never
    // finishes its request must not hold the socket for ever.
    socket.setTimeout(ADOPTED_REQUEST_TIMEOUT_MS, () => socket.destroy());
    // The HTTP parser's 'data' listener makes the socket flow; the bytes already read go first.
    this.http.emit('connection', socket);
    if (head.length > 0) socket.emit('data', head);
  }

  /** Closes every client's connection with `code` (their rooms see them leave at once). */
  disconnectAll(code: number, reason: string): void {
    for (const connection of [...this.open]) {
      this.gone(connection);
      connection.close(code, reason);
    }
  }

  /** How many WebSocket clients are connected. */
  get clientCount(): number {
    return this.open.size;
  }

  private request(req: IncomingMessage, res: ServerResponse): void {
    req.socket.setTimeout(0); // the request is in (see adopt)
    if (this.options.oneRequestPerConnection === true) res.setHeader('connection', 'close');
    const { pathname, query } = splitTarget(req.url ?? '/');
    if (pathname === '/status') {
      if (new URLSearchParams(query).get('format') === 'json') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(this.options.status()));
      } else {
        reply(res, 200, 'ok');
      }
      return;
    }
    if (pathname === '/metrics') {
      this.scrape(res);
      return;
    }
    if (parseRoomPath(pathname) !== undefined) {
      reply(res, 426, 'this is a WebSocket endpoint: connect with a WebSocket client', { upgrade: 'websocket' });
      return;
    }
    const files = this.filesFor(pathname);
    if (files !== undefined && (req.method === 'GET' || req.method === 'HEAD')) {
      files.handler(req, res, files.relative).catch((err: unknown) => {
        this.log.error({ err, url: req.url }, `static file error: ${describeThrown(err)}`);
        if (!res.headersSent) reply(res, 500, 'internal error');
        else res.destroy();
      });
      return;
    }
    reply(res, 404, `not found: ${pathname} (WebSockets connect to /ws/<room>; /status answers ok)`);
  }

  private scrape(res: ServerResponse): void {
    const { registry } = this.options.metrics;
    registry.metrics().then(
      (text) => {
        res.writeHead(200, { 'content-type': registry.contentType });
        res.end(text);
      },
      (err: unknown) => {
        this.log.error({ err }, `metrics failed: ${describeThrown(err)}`);
        reply(res, 500, 'metrics failed');
      },
    );
  }

  private filesFor(pathname: string): { handler: StaticHandler; relative: string } | undefined {
    const { clientFiles, staticFiles } = this.options;
    if (clientFiles !== undefined && (pathname === '/client' || pathname.startsWith(CLIENT_PREFIX))) {
      return { handler: clientFiles, relative: pathname.slice(CLIENT_PREFIX.length) };
    }
    if (staticFiles !== undefined) return { handler: staticFiles, relative: pathname.slice(1) };
    return undefined;
  }

  /**
   * Checks an upgrade before accepting it, so that every refusal is a plain HTTP answer:
   * path and query (400/404), Origin (403), the authorize hook, then room limits (503).
   */
  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    req.socket.setTimeout(0); // the request is in (see adopt)
    // A method, not a closure: a closure here would share this call's scope, and the socket
    // would keep the request and its head alive for as long as the connection lives.
    socket.on('error', this.earlyError);
    const { pathname, query } = splitTarget(req.url ?? '/');
    const room = parseRoomPath(pathname);
    if (room === undefined) {
      refuseUpgrade(socket, 404, `not found: ${pathname} (WebSockets connect to /ws/<room>)`);
      return;
    }
    // Only asked for when limited: Node keeps the peer's address on the socket once read.
    const ip = this.attempts.limited ? (req.socket.remoteAddress ?? '?') : '';
    if (!this.attempts.allow(ip, Date.now())) {
      refuseUpgrade(socket, 429, `too many connection attempts from ${ip}; try again in a minute`);
      return;
    }
    const identity = parseIdentity(query);
    if (!room.ok || !identity.ok) {
      refuseUpgrade(socket, 400, room.ok ? (identity as { reason: string }).reason : room.reason);
      return;
    }
    const { ownsRoom } = this.options;
    if (ownsRoom !== undefined && !ownsRoom(room.roomId)) {
      refuseUpgrade(socket, 421, `room "${room.roomId}" is served by another worker process: connect again on a new connection`);
      return;
    }
    const origin = req.headers.origin;
    const { allowedOrigins } = this.options;
    if (origin !== undefined && allowedOrigins.length > 0 && !allowedOrigins.includes(origin)) {
      refuseUpgrade(socket, 403, `origin ${origin} is not allowed`);
      return;
    }
    void this.authorized(req, socket, room.roomId).then((admitted) => {
      if (!admitted || socket.destroyed) return;
      if (this.closing) {
        refuseUpgrade(socket, 503, 'the server is shutting down');
        return;
      }
      const admission = this.placement.admit(room.roomId, identity);
      if (!admission.ok) {
        refuseUpgrade(socket, admission.status, admission.reason);
        return;
      }
      this.targets.set(req, { roomId: room.roomId, identity, resumes: admission.resumes });
      this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, req));
    });
  }

  /** Runs the authorize hook; a refusal (or a hook that throws) answers the request. */
  private async authorized(req: IncomingMessage, socket: Duplex, roomId: string): Promise<boolean> {
    const { authorize } = this.options;
    if (authorize === undefined) return true;
    try {
      const verdict = await authorize(req, roomId);
      if (verdict === true) return true;
      const { status, reason } = verdict === false ? { status: 403, reason: 'forbidden' } : verdict;
      refuseUpgrade(socket, status >= 400 && status <= 599 ? status : 403, reason);
    } catch (err) {
      this.log.error({ err, roomId }, `authorize threw for room "${roomId}": ${describeThrown(err)}`);
      refuseUpgrade(socket, 500, 'authorization failed');
    }
    return false;
  }

  private pickProtocol(offered: Set<string>, req: IncomingMessage): string | false {
    const resumes = this.targets.get(req)?.resumes ?? false;
    if (resumes && offered.has(PROTOCOL_RESUMED)) return PROTOCOL_RESUMED;
    return offered.has(PROTOCOL_FRESH) ? PROTOCOL_FRESH : false;
  }

  private accept(ws: WebSocket, req: IncomingMessage): void {
    const target = this.targets.get(req);
    if (target === undefined) return;
    const { roomId, identity } = target;
    // req.socket is the TCP socket the upgrade came on, which ws now frames; ws has its own
    // error listener on it from here on.
    req.socket.off('error', this.earlyError);
    const connection = new Connection(ws, req.socket, this.shared);
    try {
      connection.seat = this.placement.join(roomId, connection, identity);
    } catch (err) {
      this.log.error({ err, roomId }, `could not seat a client in room "${roomId}": ${describeThrown(err)}`);
      // Without a listener, a bad frame during the close would be an uncaught 'error'.
      ws.on('error', this.earlyError);
      connection.close(CLOSE_INTERNAL_ERROR, 'could not join the room');
      return;
    }
    const { rates } = this.options;
    if (rates.messagesPerSecond > 0 || rates.bytesPerSecond > 0) connection.limiter = new ClientLimiter(rates, performance.now());
    this.open.add(connection);
    this.heartbeat.add(connection);
    this.log.debug({ roomId, clientId: connection.seat.clientId, resumed: connection.seat.resumed }, 'client connected');
    listen(ws, connection);
  }

  private received(connection: Connection, data: RawData, isBinary: boolean): void {
    const { seat, limiter, socket: ws } = connection;
    // A closing socket (shutdown, 1013, 1008, replaced) is no longer heard, though ws
    // goes on reading it until the close handshake ends.
    if (seat === undefined || ws.readyState !== ws.OPEN) return;
    connection.touch();
    // binaryType is 'nodebuffer', so `data` is one Buffer even for fragmented messages.
    const bytes = data as Buffer;
    const { traffic } = this.options;
    traffic.messagesIn += 1;
    traffic.bytesIn += bytes.length;
    if (limiter !== undefined && !this.withinRate(limiter, bytes.length, connection, seat)) return;
    seat.message(isBinary ? bytes : bytes.toString('utf8'));
  }

  /** Applies a client's rate limits to one message; false when it is dropped. */
  private withinRate(limiter: ClientLimiter, size: number, connection: Connection, seat: SeatHandle): boolean {
    const verdict = limiter.judge(size, performance.now());
    if (verdict === 'pass') return true;
    const fields = { roomId: seat.roomId, clientId: seat.clientId, ip: connection.raw.remoteAddress };
    if (verdict === 'drop-first') this.log.warn(fields, 'client rate-limited: dropping its messages over the limit');
    if (verdict === 'close') {
      this.log.warn({ ...fields, dropped: limiter.dropped }, 'client closed with 1008: over its rate limit for too long');
      connection.closeAndCut(CLOSE_POLICY, 'rate limit exceeded');
    }
    return false;
  }

  private overflowed(connection: Connection): void {
    const { seat } = connection;
    this.log.warn({ roomId: seat?.roomId, clientId: seat?.clientId }, 'client closed with 1013: it did not read and its outgoing buffer filled');
    this.gone(connection);
  }

  private gone(connection: Connection): void {
    const { seat } = connection;
    if (seat === undefined || !this.open.delete(connection)) return;
    this.heartbeat.delete(connection);
    seat.leave();
    this.log.debug({ roomId: seat.roomId, clientId: seat.clientId }, 'client disconnected');
  }

  private dropped(connection: Connection): void {
    const { seat } = connection;
    this.log.info({ roomId: seat?.roomId, clientId: seat?.clientId }, 'client dropped: silent past the heartbeat timeout');
    this.gone(connection);
  }

  private shutDown(connection: Connection): Promise<void> {
    this.gone(connection);
    const ws = connection.socket;
    return new Promise((resolve) => {
      const cut = setTimeout(() => ws.terminate(), SHUTDOWN_GRACE_MS);
      ws.once('close', () => {
        clearTimeout(cut);
        resolve();
      });
      connection.close(CLOSE_GOING_AWAY, 'server shutting down');
    });
  }
}

/** How a connection's socket events reach its transport. */
interface TransportEvents {
  received(connection: Connection, data: RawData, isBinary: boolean): void;
  closed(connection: Connection, code: number): void;
  failed(connection: Connection, err: Error): void;
}

/**
 * Attaches a connection's listeners. They are the same few functions for every socket (ws
 * calls them with the socket as `this`), not closures made per connection: an idle
 * connection should cost what its socket costs.
 */
function listen(ws: WebSocket, connection: Connection): void {
  (ws as Tagged)[TAG] = connection;
  ws.on('message', onMessage);
  ws.on('pong', onAlive);
  ws.on('ping', onAlive);
  ws.on('error', onError);
  ws.on('close', onClose);
}

const TAG = Symbol('stateroom.connection');
type Tagged = WebSocket & { [TAG]: Connection };

/** The events of the transport a connection belongs to (its shared part is the transport's). */
function eventsOf(connection: Connection): TransportEvents {
  return connection.shared as ConnectionShared & TransportEvents;
}

function onMessage(this: WebSocket, data: RawData, isBinary: boolean): void {
  const connection = (this as Tagged)[TAG];
  eventsOf(connection).received(connection, data, isBinary);
}

function onAlive(this: WebSocket): void {
  (this as Tagged)[TAG].touch();
}

function onError(this: WebSocket, err: Error): void {
  const connection = (this as Tagged)[TAG];
  eventsOf(connection).failed(connection, err);
}

function onClose(this: WebSocket, code: number): void {
  const connection = (this as Tagged)[TAG];
  eventsOf(connection).closed(connection, code);
}
