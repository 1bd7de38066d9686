/**
 * The transport: Node's `http` server plus `ws`. It routes `/ws[/<room>]`, `/status` and
 * static files, runs the heartbeat, and hands each client to the {@link Placement}. It is
 * the only code that touches sockets, and it never sees a service.
 * @module
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { describeThrown } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Placement, Seat } from '../room/placement.js';
import { CLOSE_INTERNAL_ERROR } from '../room/room.js';
import { CLOSE_GOING_AWAY, Connection } from './connection.js';
import { Heartbeat } from './heartbeat.js';
import { reply, refuseUpgrade } from './reply.js';
import { parseRoomPath, splitTarget } from './room-path.js';
import type { StaticHandler } from './static-files.js';

export interface TransportOptions {
  readonly heartbeatIntervalMs: number;
  readonly heartbeatTimeoutMs: number;
  /** Largest incoming message; a larger one closes the client with 1009. */
  readonly maxPayloadBytes: number;
  /** Serves `/` and below, when given. */
  readonly staticFiles?: StaticHandler | undefined;
  /** Serves `/client/` and below, when given. */
  readonly clientFiles?: StaticHandler | undefined;
}

/** How long clients get to answer a 1001 close before their sockets are cut. */
const SHUTDOWN_GRACE_MS = 2_000;
const CLIENT_PREFIX = '/client/';

export class Transport {
  readonly http: Server;
  private readonly wss: WebSocketServer;
  private readonly heartbeat: Heartbeat;
  private readonly open = new Map<Connection, Seat>();

  constructor(
    private readonly placement: Placement,
    private readonly options: TransportOptions,
    private readonly log: Logger,
  ) {
    this.wss = new WebSocketServer({ noServer: true, maxPayload: options.maxPayloadBytes, perMessageDeflate: false });
    this.heartbeat = new Heartbeat(
      { intervalMs: options.heartbeatIntervalMs, timeoutMs: options.heartbeatTimeoutMs },
      (connection) => this.dropped(connection),
    );
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
    this.heartbeat.stop();
    const closed = new Promise<void>((resolve) => this.http.close(() => resolve()));
    const sockets = [...this.open.keys()].map((connection) => this.shutDown(connection));
    await Promise.all(sockets);
    this.http.closeAllConnections();
    await closed;
  }

  /** Closes every client's connection with `code` (their rooms see them leave at once). */
  disconnectAll(code: number, reason: string): void {
    for (const connection of [...this.open.keys()]) {
      this.gone(connection);
      connection.close(code, reason);
    }
  }

  /** How many WebSocket clients are connected. */
  get clientCount(): number {
    return this.open.size;
  }

  private request(req: IncomingMessage, res: ServerResponse): void {
    const { pathname } = splitTarget(req.url ?? '/');
    if (pathname === '/status') {
      reply(res, 200, 'ok');
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

  private filesFor(pathname: string): { handler: StaticHandler; relative: string } | undefined {
    const { clientFiles, staticFiles } = this.options;
    if (clientFiles !== undefined && (pathname === '/client' || pathname.startsWith(CLIENT_PREFIX))) {
      return { handler: clientFiles, relative: pathname.slice(CLIENT_PREFIX.length) };
    }
    if (staticFiles !== undefined) return { handler: staticFiles, relative: pathname.slice(1) };
    return undefined;
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', (err) => this.log.debug({ err }, 'socket error before the WebSocket opened'));
    const { pathname } = splitTarget(req.url ?? '/');
    const room = parseRoomPath(pathname);
    if (room === undefined) {
      refuseUpgrade(socket, 404, `not found: ${pathname} (WebSockets connect to /ws/<room>)`);
      return;
    }
    if (!room.ok) {
      refuseUpgrade(socket, 400, room.reason);
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, room.roomId));
  }

  private accept(ws: WebSocket, roomId: string): void {
    const connection = new Connection(ws);
    let seat: Seat;
    try {
      seat = this.placement.join(roomId, connection);
    } catch (err) {
      this.log.error({ err, roomId }, `could not seat a client in room "${roomId}": ${describeThrown(err)}`);
      connection.close(CLOSE_INTERNAL_ERROR, 'could not join the room');
      return;
    }
    this.open.set(connection, seat);
    this.heartbeat.add(connection);
    this.log.debug({ roomId, clientId: seat.clientId }, 'client connected');
    ws.on('message', (data: RawData, isBinary: boolean) => {
      connection.touch();
      // binaryType is 'nodebuffer', so `data` is one Buffer even for fragmented messages.
      seat.message(isBinary ? (data as Buffer) : (data as Buffer).toString('utf8'));
    });
    ws.on('pong', () => connection.touch());
    ws.on('ping', () => connection.touch());
    ws.on('error', (err) => this.log.debug({ err, roomId, clientId: seat.clientId }, 'client socket error'));
    ws.on('close', () => this.gone(connection));
  }

  private gone(connection: Connection): void {
    const seat = this.open.get(connection);
    if (seat === undefined) return;
    this.open.delete(connection);
    this.heartbeat.delete(connection);
    seat.leave();
    this.log.debug({ roomId: seat.roomId, clientId: seat.clientId }, 'client disconnected');
  }

  private dropped(connection: Connection): void {
    const seat = this.open.get(connection);
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
