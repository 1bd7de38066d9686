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

const STATE = Symbol('stateroom.pending');
const WATCHED = Symbol('stateroom.pending.watched');
interface PendingState {
  readonly address: string;
  readonly timer: NodeJS.Timeout;
}
type Tracked = Socket & { [STATE]?: PendingState | undefined; [WATCHED]?: boolean };

export class PendingConnections {
  private readonly perAddress = new Map<string, number>();
  /** How many connections are pending now. */
  size = 0;
  /** Connections refused for being over a cap (for tests and logs). */
  refused = 0;

  /**
   * @param late - Called with a connection whose deadline passed (answer 408 and close it).
   */
  constructor(
    private readonly limits: PendingLimits,
    private readonly late: (socket: Socket) => void,
  ) {}

  /**
   * Counts a new connection and arms its deadline; false, with the socket destroyed, when
   * it is over a cap.
   */
  admit(socket: Socket): boolean {
    const address = socket.remoteAddress ?? '?';
    const { maxUnroutedConnections: total, maxUnroutedPerAddress: each } = this.limits;
    const fromAddress = this.perAddress.get(address) ?? 0;
    if ((total > 0 && this.size >= total) || (each > 0 && fromAddress >= each)) {
      this.refused += 1;
      socket.destroy();
      return false;
    }
    this.size += 1;
    this.perAddress.set(address, fromAddress + 1);
    const timer = setTimeout(() => {
      this.settle(socket);
      this.late(socket);
    }, this.limits.headersTimeoutMs);
    timer.unref();
    const tracked = socket as Tracked;
    tracked[STATE] = { address, timer };
    // Once per socket: a keep-alive connection is admitted again for each request.
    if (tracked[WATCHED] !== true) {
      tracked[WATCHED] = true;
      socket.once('close', () => this.settle(socket));
    }
    return true;
  }

  /** The connection's request is in (or it closed): no longer pending. Idempotent. */
  settle(socket: Socket): void {
    const tracked = socket as Tracked;
    const state = tracked[STATE];
    if (state === undefined) return;
    tracked[STATE] = undefined;
    clearTimeout(state.timer);
    this.size -= 1;
    const left = (this.perAddress.get(state.address) ?? 1) - 1;
    if (left === 0) this.perAddress.delete(state.address);
    else this.perAddress.set(state.address, left);
  }
}

/** Answers 408 on a connection whose request did not arrive in time, and closes it. */
export function timedOut(socket: Socket): void {
  if (socket.destroyed) return;
  const body = 'request timeout: the request line and headers must arrive within the deadline\n';
  // Destroyed once written: a client that never reads must not keep the descriptor.
  socket.end(
    `HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    () => socket.destroy(),
  );
  setTimeout(() => socket.destroy(), 1_000).unref();
}
