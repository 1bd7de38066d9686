/**
 * One client's WebSocket, as the room sees it (a {@link ClientSink}) and as the heartbeat
 * sees it (when it was last heard from).
 * @module
 */
import type { Socket } from 'node:net';
import { WebSocket } from 'ws';
import type { TrafficCounts } from '../metrics.js';
import type { ClientSink } from '../room/room.js';
import type { Payload } from '../service/types.js';
import type { Outbox } from './outbox.js';

/** Close code for "going away": the server is shutting down (RFC 6455). */
export const CLOSE_GOING_AWAY = 1001;
/** Close code for "try again later": the client did not read what was sent to it. */
export const CLOSE_TRY_AGAIN_LATER = 1013;
/** How long a client closed for misbehaving gets to answer the close before its socket is cut. */
const CUT_AFTER_MS = 1_000;

export class Connection implements ClientSink {
  /** `performance.now()` when the client was last heard from (any frame, pong included). */
  lastSeen = performance.now();

  /**
   * @param raw - The TCP socket under `socket`: frames are written to it directly, through
   *   the outbox, while `ws` reads it and writes its control frames.
   * @param maxBufferedBytes - Outgoing bytes allowed to wait for a client that is not
   *   reading; past it the client is closed with 1013 and told of through `onOverflow`.
   */
  constructor(
    readonly socket: WebSocket,
    private readonly raw: Socket,
    private readonly outbox: Outbox,
    private readonly traffic: TrafficCounts,
    private readonly maxBufferedBytes = Infinity,
    private readonly onOverflow: (connection: Connection) => void = () => {},
  ) {}

  /** Sends text as a text frame and bytes as a binary frame; dropped once closing. */
  send(payload: Payload): void {
    if (this.socket.readyState !== WebSocket.OPEN || !this.raw.writable) return;
    if (this.raw.writableLength + payload.length > this.maxBufferedBytes) {
      this.overflow();
      return;
    }
    this.traffic.messagesOut += 1;
    this.traffic.bytesOut += payload.length;
    this.outbox.write(this.raw, payload);
  }

  /** Closes with `code`, after what was already sent to this client this turn. */
  close(code: number, reason: string): void {
    this.outbox.release(this.raw);
    this.socket.close(code, reason);
  }

  /** Closes a client that stopped reading; the memory waiting for it is freed when the socket is cut. */
  private overflow(): void {
    this.closeAndCut(CLOSE_TRY_AGAIN_LATER, 'client too slow: outgoing buffer full');
    this.onOverflow(this);
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
