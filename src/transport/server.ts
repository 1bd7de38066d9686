/**
 * The transport: Node's `http` server plus `ws`. It takes each connection from the socket to
 * a seat in a room and back: plain requests go to the {@link Routes}, upgrades through the
 * {@link UpgradeAdmission} checks to the {@link Placement}, and it keeps every open
 * {@link Connection} until it closes. It is the only code that touches sockets, and it never
 * sees a service.
 * @module
 */
import { STATUS_CODES, createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { describeThrown } from '../errors.js';
import { throttleOf, type Logger } from '../logger.js';
import type { TrafficCounts } from '../metrics.js';
import { CLOSE_GOING_AWAY, CLOSE_INTERNAL_ERROR, CLOSE_POLICY, PROTOCOL_EXACT, PROTOCOL_FRESH, PROTOCOL_RESUMED } from '../protocol.js';
import type { Placement, SeatHandle } from '../room/placement.js';
import { MAX_CLIENT_INFO_LENGTH } from '../service/checks.js';
import type { ClientInfo, ClientUser } from '../service/types.js';
import { clientQuery } from './client-query.js';
import { UpgradeAdmission, type AdmissionOptions, type Target } from './admission.js';
import { Connection, listen, type ConnectionShared } from './connection.js';
import { BacklogWatch } from './backlog.js';
import { Heartbeat } from './heartbeat.js';
import { Outbox } from './outbox.js';
import { PendingConnections, timedOut, type PendingLimits } from './pending.js';
import { ClientLimiter, type ClientRates } from './rate-limit.js';
import { clientErrorStatus, refuseUpgrade } from './reply.js';
import { clientAddressOf } from './router.js';
import { Routes, type RouteOptions } from './routes.js';

export interface TransportOptions extends RouteOptions, AdmissionOptions, PendingLimits {
  readonly heartbeatIntervalMs: number;
  readonly heartbeatTimeoutMs: number;
  /** Largest incoming message; a larger one closes the client with 1009. */
  readonly maxPayloadBytes: number;
  /** Per-client outgoing backlog limit; a client over it for a while (see backlog.ts) is closed with 1013. */
  readonly maxBufferedBytes: number;
  /** Per-client message and byte rates (0: no limit). */
  readonly rates: ClientRates;
  /** Where traffic is counted. */
  readonly traffic: TrafficCounts;
}

/** How long clients get to answer a 1001 close before their sockets are cut. */
const SHUTDOWN_GRACE_MS = 2_000;

export class Transport {
  readonly http: Server;
  private readonly wss: WebSocketServer;
  private readonly heartbeat: Heartbeat;
  private readonly routes: Routes;
  private readonly admission: UpgradeAdmission;
  private readonly open = new Set<Connection>();
  private readonly targets = new WeakMap<IncomingMessage, Target>();
  /** Connections whose request has not arrived: a deadline each, and caps. */
  private readonly pending: PendingConnections;
  /** What every connection shares, its events' way back to this transport included. */
  private readonly shared: ConnectionShared;
  private readonly earlyError = (err: Error): void => this.log.debug({ reason: err.message }, 'socket error before the WebSocket opened');
  /** The metrics port's server, when `/metrics` has one. */
  private metricsServer: Server | undefined;
  /** Set by `close()`: upgrades still being checked are refused rather than joined. */
  private closing = false;

  constructor(
    private readonly placement: Placement,
    private readonly options: TransportOptions,
    private readonly log: Logger,
  ) {
    this.wss = new WebSocketServer({
      noServer: true,
      // `open` tracks the connections: ws's own set would cost each one an entry and a closure.
      clientTracking: false,
      maxPayload: options.maxPayloadBytes,
      perMessageDeflate: false,
      handleProtocols: (offered, req) => this.pickProtocol(offered, req),
    });
    this.heartbeat = new Heartbeat(
      { intervalMs: options.heartbeatIntervalMs, timeoutMs: options.heartbeatTimeoutMs },
      (connection) => this.dropped(connection),
    );
    this.routes = new Routes(options, log);
    this.admission = new UpgradeAdmission(placement, options, log);
    this.shared = {
      outbox: new Outbox(),
      traffic: options.traffic,
      backlog: new BacklogWatch(options.maxBufferedBytes),
      overflowed: (connection) => this.overflowed(connection),
      received: (connection, data, isBinary) => this.received(connection, data, isBinary),
      closed: (connection, code) => {
        this.shared.backlog.forget(connection);
        this.options.metrics.closed(connection.sentCode ?? code);
        // 1000 or 1001 from the client itself: it is leaving (closed on purpose, or its page
        // went away), so its seat is not held for a resume — others see it go at once.
        this.gone(connection, connection.sentCode === undefined && (code === 1000 || code === 1001));
      },
      // A client's bad frame or reset is the client's condition, not a bug here: no stack.
      failed: (connection, err) => this.log.debug({ roomId: connection.seat?.roomId, clientId: connection.seat?.clientId, reason: err.message }, 'client socket error'),
    };
    this.pending = new PendingConnections(options, timedOut);
    // Node's own header deadline too, for the later requests of a keep-alive connection.
    const headersTimeout = options.headersTimeoutMs;
    this.http = createServer({ headersTimeout, requestTimeout: Math.max(300_000, headersTimeout) }, (req, res) => {
      this.pending.settle(req.socket);
      // A keep-alive connection's next request is pending again: counted against the caps,
      // with a deadline of its own (Node checks its headersTimeout only every 30 s).
      res.once('finish', () => {
        if (!req.socket.destroyed) this.pending.admit(req.socket);
      });
      this.routes.request(req, res);
    });
    // Listened and adopted connections alike (adopt emits 'connection' too).
    this.http.on('connection', (socket: Socket) => {
      this.pending.admit(socket);
    });
    this.http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.upgrade(req, socket, head));
    this.http.on('clientError', (err: Error, socket) => {
      const status = clientErrorStatus(err);
      refuseUpgrade(socket, status, status === 400 ? 'bad request' : (STATUS_CODES[status] ?? 'bad request').toLowerCase());
    });
  }

  /** Serves `/metrics` on a port of its own (see `metricsElsewhere`); resolves with its address. */
  async listenMetrics(port: number, host: string): Promise<AddressInfo> {
    const { server, address } = await this.routes.metrics.listen(port, host);
    this.metricsServer = server;
    return address;
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
   * `code` (1001, going away; a node of a cluster handing its rooms over says 1012, come
   * back); sockets that do not answer within a grace period are cut.
   */
  async close(code = CLOSE_GOING_AWAY, reason = 'server shutting down'): Promise<void> {
    this.closing = true;
    this.heartbeat.stop();
    this.shared.backlog.stop();
    this.metricsServer?.close();
    this.metricsServer?.closeAllConnections();
    const closed = new Promise<void>((resolve) => this.http.close(() => resolve()));
    const sockets = [...this.open].map((connection) => this.shutDown(connection, code, reason));
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
    // Node arms its header timeouts only for servers that listen: the 'connection' listener
    // gives an adopted socket the same absolute deadline as one accepted here.
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

  /** Admits an upgrade (see {@link UpgradeAdmission}), then lets `ws` take the socket. */
  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    // A method, not a closure: a closure here would share this call's scope, and the socket
    // would keep the request and its head alive for as long as the connection lives.
    socket.on('error', this.earlyError);
    const target = this.admission.check(req, socket, head);
    // Admitted in this turn unless a check had to wait (see UpgradeAdmission.check). One that
    // waits (a slow authorize hook, say) stays pending meanwhile: counted against the caps and
    // cut at the same deadline, so upgrades held by a hook cannot pile up without bound.
    if (target instanceof Promise) {
      void target.then((later) => {
        this.pending.settle(req.socket);
        this.admitted(req, socket, head, later);
      });
    } else {
      this.pending.settle(req.socket);
      this.admitted(req, socket, head, target);
    }
  }

  /** Hands an admitted upgrade to `ws`, unless it was refused, or closed, in the meantime. */
  private admitted(req: IncomingMessage, socket: Duplex, head: Buffer, target: Target | undefined): void {
    if (target === undefined || socket.destroyed) return;
    if (this.closing) {
      refuseUpgrade(socket, 503, 'the server is shutting down');
      return;
    }
    this.targets.set(req, target);
    // ws listens for the socket's errors from here on, a refused handshake's included.
    socket.off('error', this.earlyError);
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, req));
  }

  /**
   * `stateroom.exact` wherever it is offered: its seat frame says resumed or fresh (decided
   * when the client is seated) and more. Otherwise resumed or fresh, as the admission found.
   */
  private pickProtocol(offered: Set<string>, req: IncomingMessage): string | false {
    if (offered.has(PROTOCOL_EXACT)) return PROTOCOL_EXACT;
    const resumes = this.targets.get(req)?.resumes ?? false;
    if (resumes && offered.has(PROTOCOL_RESUMED)) return PROTOCOL_RESUMED;
    return offered.has(PROTOCOL_FRESH) ? PROTOCOL_FRESH : false;
  }

  private accept(ws: WebSocket, req: IncomingMessage): void {
    const target = this.targets.get(req);
    if (target === undefined) return;
    const { roomId, identity } = target;
    // req.socket is the TCP socket the upgrade came on, which ws now frames.
    const connection = new Connection(ws, req.socket, this.shared);
    // An exact client is sent its seat frame first, by the seat (see Seats.take).
    const exact = ws.protocol === PROTOCOL_EXACT;
    const info = this.clientInfoOf(req, target.query, target.user);
    try {
      connection.seat = this.placement.join(roomId, connection, { token: identity.token, received: identity.received, exact, info });
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
    listen(connection);
  }

  /**
   * What the service may learn of a client (`ctx.clientInfo`): a few strings and the query,
   * capped, copied out of the request so that nothing keeps the request alive. The address is
   * the socket's peer, or the one a node of the cluster that proved it holds the secret
   * forwarded. A user object comes checked, bounded and frozen from the admission.
   */
  private clientInfoOf(req: IncomingMessage, query: string, user: ClientUser | undefined): ClientInfo {
    const address = clientAddressOf(req, this.options.router) ?? '';
    const { origin, 'user-agent': userAgent } = req.headers;
    return {
      address: capped(address),
      origin: origin === undefined ? '' : capped(origin),
      ...(userAgent === undefined ? {} : { userAgent: capped(userAgent) }),
      query: clientQuery(query),
      ...(user === undefined ? {} : { user: typeof user === 'string' ? capped(user) : user }),
    };
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
    // The message arrived: its seat counts it, so an exact client does not send it again
    // (docs/client.md: a rate-limited message is dropped, not retried).
    seat.skipped();
    const fields = { roomId: seat.roomId, clientId: seat.clientId, ip: connection.raw.remoteAddress };
    if (verdict === 'drop-first') this.clientLine('warn', 'rate-limited', fields, 'client rate-limited: dropping its messages over the limit');
    if (verdict === 'close') {
      this.clientLine('warn', 'rate-closed', { ...fields, dropped: limiter.dropped }, 'client closed with 1008: over its rate limit for too long');
      connection.closeAndCut(CLOSE_POLICY, 'rate limit exceeded');
    }
    return false;
  }

  private overflowed(connection: Connection): void {
    const { seat } = connection;
    this.clientLine('warn', 'too-slow', { roomId: seat?.roomId, clientId: seat?.clientId }, 'client closed with 1013: it did not read and its outgoing buffer filled');
    this.gone(connection);
  }

  private gone(connection: Connection, leaving = false): void {
    const { seat } = connection;
    if (seat === undefined || !this.open.delete(connection)) return;
    this.heartbeat.delete(connection);
    seat.leave(leaving);
    this.log.debug({ roomId: seat.roomId, clientId: seat.clientId }, 'client disconnected');
  }

  private dropped(connection: Connection): void {
    const { seat } = connection;
    this.clientLine('info', 'silent', { roomId: seat?.roomId, clientId: seat?.clientId }, 'client dropped: silent past the heartbeat timeout');
    this.gone(connection);
  }

  /**
   * A line about one client, throttled by its kind: one line per client would let connections
   * opened for the purpose write the log without bound. The first of each kind in a window is
   * written in full (room, client, address); the rest are counted in one summary line.
   */
  private clientLine(level: 'warn' | 'info', kind: string, fields: object, message: string): void {
    // The summary counts clients of any room and address: it names none of them.
    throttleOf(this.log).write(level, 'clients', kind, fields, message, { kind });
  }

  private shutDown(connection: Connection, code: number, reason: string): Promise<void> {
    this.gone(connection);
    const ws = connection.socket;
    return new Promise((resolve) => {
      const cut = setTimeout(() => ws.terminate(), SHUTDOWN_GRACE_MS);
      ws.once('close', () => {
        clearTimeout(cut);
        resolve();
      });
      connection.close(code, reason);
    });
  }
}

/** `text` cut to {@link MAX_CLIENT_INFO_LENGTH}, so a client's info stays small whatever its headers. */
function capped(text: string): string {
  return text.length <= MAX_CLIENT_INFO_LENGTH ? text : text.slice(0, MAX_CLIENT_INFO_LENGTH);
}
