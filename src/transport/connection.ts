/**
 * One client's WebSocket, as the room sees it (a {@link ClientSink}) and as the heartbeat
 * sees it (when it was last heard from).
 * @module
 */
import { WebSocket } from 'ws';
import type { ClientSink } from '../room/room.js';
import type { Payload } from '../service/types.js';

/** Close code for "going away": the server is shutting down (RFC 6455). */
export const CLOSE_GOING_AWAY = 1001;

const TEXT = { binary: false } as const;
const BINARY = { binary: true } as const;

export class Connection implements ClientSink {
  /** `performance.now()` when the client was last heard from (any frame, pong included). */
  lastSeen = performance.now();

  constructor(readonly socket: WebSocket) {}

  /** Sends text as a text frame and bytes as a binary frame; dropped once closing. */
  send(payload: Payload): void {
    if (this.socket.readyState !== WebSocket.OPEN) return;
    this.socket.send(payload, typeof payload === 'string' ? TEXT : BINARY);
  }

  close(code: number, reason: string): void {
    this.socket.close(code, reason);
  }

  /** Marks the client as alive. */
  touch(): void {
    this.lastSeen = performance.now();
  }
}
