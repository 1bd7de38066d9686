/**
 * Connections whose request has not arrived yet: what a slowloris attack is made of. Each
 * gets an absolute deadline for its request line and headers (bytes dripping in do not
 * extend it, unlike an idle timer), and there may be only so many of them, in all and per
 * address; more are closed as they arrive, before they cost more than their accept. The
 * primary of `--workers` uses this for what it accepts, and a server for what it accepts or
 * adopts.
 * @module
 */
import type { Socket } from 'node:net';

export interface PendingLimits {
  /** How long a connection has, from now, to be settled (its request in). */
  readonly headersTimeoutMs: number;
  /** Most pending connections in all; 0: no limit. */
  readonly maxUnroutedConnections: number;
  /** Most pending connections from one address; 0: no limit. */
  readonly maxUnroutedPerAddress: number;
}

interface PendingState {
  readonly address: string;
  /** `performance.now()` past which the request is late. */
  readonly deadline: number;
}

export class PendingConnections {
  /**
   * The pending connections, oldest first: every deadline is as far from its admission, so
   * this is also the order they run out in, and one timer, armed for the first, serves them
   * all — rather than a timer and a closure per connection, garbage a burst of connections
   * leaves behind.
   */
  private readonly deadlines = new Map<Socket, PendingState>();
  private readonly perAddress = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private readonly sweepBound = (): void => this.sweep();
  /**
   * A pending connection closed: one listener for all of them (a socket calls it as `this`),
   * there only while the connection is pending, so a socket that goes on carries nothing of it.
   */
  private readonly closed: (this: Socket) => void;
  /** Connections refused for being over a cap (for tests and logs). */
  refused = 0;

  /**
   * @param late - Called with a connection whose deadline passed (answer 408 and close it).
   */
  constructor(
    private readonly limits: PendingLimits,
    private readonly late: (socket: Socket) => void,
  ) {
    const settle = (socket: Socket): void => this.settle(socket);
    this.closed = function (this: Socket): void {
      settle(this);
    };
  }

  /** How many connections are pending now. */
  get size(): number {
    return this.deadlines.size;
  }

  /**
   * Counts a new connection and arms its deadline; false, with the socket destroyed, when
   * it is over a cap.
   */
  admit(socket: Socket): boolean {
    // Never counted twice, and always last, in its deadline's order.
    this.settle(socket);
    const address = socket.remoteAddress ?? '?';
    const { maxUnroutedConnections: total, maxUnroutedPerAddress: each, headersTimeoutMs } = this.limits;
    const fromAddress = this.perAddress.get(address) ?? 0;
    if ((total > 0 && this.deadlines.size >= total) || (each > 0 && fromAddress >= each)) {
      this.refused += 1;
      socket.destroy();
      return false;
    }
    this.perAddress.set(address, fromAddress + 1);
    this.deadlines.set(socket, { address, deadline: performance.now() + headersTimeoutMs });
    this.timer ??= this.arm(headersTimeoutMs);
    socket.on('close', this.closed);
    return true;
  }

  /** The connection's request is in (or it closed): no longer pending. Idempotent. */
  settle(socket: Socket): void {
    const state = this.deadlines.get(socket);
    if (state === undefined) return;
    // The timer stays armed: it finds nothing due, or the next deadline, when it fires.
    this.deadlines.delete(socket);
    socket.off('close', this.closed);
    const left = (this.perAddress.get(state.address) ?? 1) - 1;
    if (left === 0) this.perAddress.delete(state.address);
    else this.perAddress.set(state.address, left);
  }

  /** Closes the connections whose deadline passed, and arms the timer for the next one. */
  private sweep(): void {
    this.timer = undefined;
    const now = performance.now();
    for (const [socket, { deadline }] of this.deadlines) {
      if (deadline > now) {
        this.timer = this.arm(deadline - now);
        return;
      }
      this.settle(socket);
      this.late(socket);
    }
  }

  private arm(delayMs: number): NodeJS.Timeout {
    // Rounded up: a timer counts whole milliseconds, and must not fire before the deadline.
    return setTimeout(this.sweepBound, Math.ceil(delayMs)).unref();
  }
}

/** Answers 408 on a connection whose request did not arrive (or was not admitted) in time, and closes it. */
export function timedOut(socket: Socket): void {
  if (socket.destroyed) return;
  const body = 'request timeout: the request (its line and headers, and for a WebSocket its admission) must be done within the deadline\n';
  // Destroyed once written: a client that never reads must not keep the descriptor.
  socket.end(
    `HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    () => socket.destroy(),
  );
  setTimeout(() => socket.destroy(), 1_000).unref();
}
