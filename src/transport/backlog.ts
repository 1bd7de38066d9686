/**
 * Which clients do not read: the outgoing-buffer bound (`maxBufferedBytes`) judged on the
 * socket's backlog over time, not on one event-loop turn. A burst written in one turn (a
 * client's command that makes the room broadcast 10 MiB) sits in every recipient's socket
 * buffer until the kernel takes it; a client that reads empties it within moments, one that
 * does not keeps it full. So a socket over the limit is only watched; it is closed when its
 * backlog is still over the limit {@link BACKLOG_GRACE_MS} later, or at once past
 * {@link HARD_FACTOR} × the limit (memory must stay bounded whatever a service sends).
 * @module
 */
import type { Socket } from 'node:net';

/** How long a socket's backlog may stay over the limit before its client is closed. */
export const BACKLOG_GRACE_MS = 2_000;
/** How often watched sockets are looked at. */
const CHECK_MS = 250;
/** A backlog this many times the limit closes its client at once. */
export const HARD_FACTOR = 4;

/** What the watch needs of a connection. */
export interface Watched {
  readonly raw: Socket;
  /** Closes the client with 1013. */
  overflow(): void;
}

export class BacklogWatch {
  /** Watched connections, with when they were first seen over the limit. */
  private readonly over = new Map<Watched, number>();
  private timer: NodeJS.Timeout | undefined;
  readonly hardLimit: number;

  constructor(readonly limit: number) {
    this.hardLimit = limit * HARD_FACTOR;
  }

  /**
   * Called when `connection`'s backlog is over the limit: closes it past the hard limit,
   * else watches it (once).
   */
  flag(connection: Watched): void {
    if (connection.raw.writableLength > this.hardLimit) {
      this.over.delete(connection);
      connection.overflow();
      return;
    }
    if (this.over.has(connection)) return;
    this.over.set(connection, performance.now());
    this.timer ??= setInterval(() => this.check(), CHECK_MS).unref();
  }

  /** Stops watching a connection that closed. */
  forget(connection: Watched): void {
    this.over.delete(connection);
  }

  /** Stops the timer (the server is closing). */
  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.over.clear();
  }

  private check(): void {
    const now = performance.now();
    for (const [connection, since] of this.over) {
      const { raw } = connection;
      // The kernel took what was waiting (the client read it): no longer watched.
      if (raw.destroyed || raw.writableLength <= this.limit) this.over.delete(connection);
      else if (now - since >= BACKLOG_GRACE_MS) {
        this.over.delete(connection);
        connection.overflow();
      }
    }
    if (this.over.size === 0) this.stop();
  }
}
