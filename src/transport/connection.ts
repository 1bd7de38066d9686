/**
 * One client's WebSocket, as the room sees it (a {@link ClientSink}), as the heartbeat sees
 * it (when it was last heard from) and as the transport sees it (its seat, its rate limiter).
 * Everything the connections of one server share lives in one {@link ConnectionShared}, so an
 * idle connection costs little more than the socket under it.
 * @module
 */
import type { Socket } from 'node:net';
import { WebSocket, type RawData } from 'ws';
import type { TrafficCounts } from '../metrics.js';
import { CLOSE_TRY_AGAIN_LATER } from '../protocol.js';
import type { SeatHandle } from '../room/placement.js';
import type { ClientSink } from '../room/seat.js';
import type { Payload } from '../service/types.js';
import type { BacklogWatch } from './backlog.js';
import type { Outbox } from './outbox.js';
import type { ClientLimiter } from './rate-limit.js';

/** How long a client closed for misbehaving gets to answer the close before its socket is cut. */
const CUT_AFTER_MS = 1_000;

/**
 * What every connection of one server shares: the outbox, the counters, and the events its
 * socket reports to the transport.
 */
export interface ConnectionShared {
  readonly outbox: Outbox;
  readonly traffic: TrafficCounts;
  /**
   * Sockets whose backlog is over `maxBufferedBytes`: a client still over it a while later
   * (it does not read) is closed with 1013 and `overflowed` is told.
   */
  readonly backlog: BacklogWatch;
  overflowed(connection: Connection): void;
  /** A message arrived from the client. */
  received(connection: Connection, data: RawData, isBinary: boolean): void;
  /** The socket closed, with this code. */
  closed(connection: Connection, code: number): void;
  /** The socket reported an error (a close follows). */
  failed(connection: Connection, err: Error): void;
}

export class Connection implements ClientSink {
  /** `performance.now()` when the client was last heard from (any frame, pong included). */
  lastSeen = performance.now();
  /** The client's place in its room, once seated. */
  seat: SeatHandle | undefined;
  /** The client's message and byte rates, when limits are set. */
  limiter: ClientLimiter | undefined;
  /** The code the server closed with, when it started the close (what the metrics count). */
  sentCode: number | undefined;

  /**
   * @param raw - The TCP socket under `socket`: frames are written to it directly, through
   *   the outbox, while `ws` reads it and writes its control frames.
   */
  constructor(
    readonly socket: WebSocket,
    readonly raw: Socket,
    readonly shared: ConnectionShared,
  ) {}

  /** Sends text as a text frame and bytes as a binary frame; dropped once closing. */
  send(payload: Payload): void {
    if (this.socket.readyState !== WebSocket.OPEN || !this.raw.writable) return;
    const { shared } = this;
    // Only a flag here: what one turn queued is not yet a client that does not read.
    if (this.raw.writableLength > shared.backlog.limit) {
      shared.backlog.flag(this);
      if (this.socket.readyState !== WebSocket.OPEN) return;
    }
    shared.traffic.messagesOut += 1;
    shared.traffic.bytesOut += payload.length;
    shared.outbox.write(this.raw, payload);
  }

  /** Closes with `code`, after what was already sent to this client this turn. */
  close(code: number, reason: string): void {
    this.sentCode ??= code;
    this.shared.outbox.release(this.raw);
    this.socket.close(code, reason);
  }

  /** Closes a client that stopped reading; the memory waiting for it is freed when the socket is cut. */
  overflow(): void {
    if (this.socket.readyState !== WebSocket.OPEN) return;
    this.closeAndCut(CLOSE_TRY_AGAIN_LATER, 'client too slow: outgoing buffer full');
    this.shared.overflowed(this);
  }

  /**
   * Closes with `code`, and cuts the socket if the client has not answered within a second:
   * a client that does not read (or floods) will not read the close frame either.
   */
  closeAndCut(code: number, reason: string): void {
    this.close(code, reason);
    setTimeout(() => this.socket.terminate(), CUT_AFTER_MS).unref();
  }

  /** Marks the client as alive. */
  touch(): void {
    this.lastSeen = performance.now();
  }
}

/**
 * Attaches a connection's listeners to its socket. They are the same few functions for every
 * socket (ws calls them with the socket as `this`), not closures made per connection: an
 * idle connection should cost what its socket costs.
 */
export function listen(connection: Connection): void {
  const ws = connection.socket;
  (ws as Tagged)[TAG] = connection;
  ws.on('message', onMessage);
  ws.on('pong', onAlive);
  ws.on('ping', onAlive);
  ws.on('error', onError);
  ws.on('close', onClose);
}

const TAG = Symbol('stateroom.connection');
type Tagged = WebSocket & { [TAG]: Connection };

/** The connection a socket was tagged with by {@link listen}. */
const connectionOf = (ws: WebSocket): Connection => (ws as Tagged)[TAG];

function onMessage(this: WebSocket, data: RawData, isBinary: boolean): void {
  const connection = connectionOf(this);
  connection.shared.received(connection, data, isBinary);
}

function onAlive(this: WebSocket): void {
  connectionOf(this).touch();
}

function onError(this: WebSocket, err: Error): void {
  const connection = connectionOf(this);
  // ws closes the socket itself on a client's protocol error: note the code it sends.
  connection.sentCode ??= protocolErrorCode(err);
  connection.shared.failed(connection, err);
}

function onClose(this: WebSocket, code: number): void {
  const connection = connectionOf(this);
  connection.shared.closed(connection, code);
}

/** The close code ws sends for a client's protocol error (see ws's receiver), by its error code. */
function protocolErrorCode(err: Error): number | undefined {
  const code = (err as { code?: unknown }).code;
  if (typeof code !== 'string' || !code.startsWith('WS_ERR_')) return undefined;
  if (code === 'WS_ERR_INVALID_UTF8') return 1007;
  if (code === 'WS_ERR_TOO_MANY_BUFFERED_PARTS') return 1008;
  if (code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' || code === 'WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH') return 1009;
  return 1002;
}
