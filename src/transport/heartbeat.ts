/**
 * Heartbeat, as upstream's `--heartbeat-interval`/`--heartbeat-timeout` flags promise:
 * ping every client each interval and drop one not heard from within the timeout. One
 * interval timer for the whole server, not one per connection.
 * @module
 */
import type { Connection } from './connection.js';

export interface HeartbeatOptions {
  /** How often to ping; 0 turns the heartbeat off. */
  readonly intervalMs: number;
  /** How long a client may stay silent (no frame, no pong) before it is dropped. */
  readonly timeoutMs: number;
}

export class Heartbeat {
  private readonly connections = new Set<Connection>();
  private readonly timer: NodeJS.Timeout | undefined;

  /** @param onDrop - Told of each client dropped for silence, after it was terminated. */
  constructor(
    private readonly options: HeartbeatOptions,
    private readonly onDrop: (connection: Connection) => void,
  ) {
    if (options.intervalMs > 0) {
      this.timer = setInterval(() => this.beat(), options.intervalMs);
      this.timer.unref();
    }
  }

  add(connection: Connection): void {
    this.connections.add(connection);
  }

  delete(connection: Connection): void {
    this.connections.delete(connection);
  }

  stop(): void {
    clearInterval(this.timer);
    this.connections.clear();
  }

  private beat(): void {
    const now = performance.now();
    for (const connection of this.connections) {
      if (now - connection.lastSeen > this.options.timeoutMs) {
        this.connections.delete(connection);
        connection.socket.terminate();
        this.onDrop(connection);
      } else {
        connection.socket.ping();
      }
    }
  }
}
