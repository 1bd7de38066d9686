/**
 * The forwarding seam: for placements that span machines, a room may be served elsewhere, and
 * its upgrade is then handed, as it arrived, to whoever forwards it (src/nodes/). The
 * transport knows only "here" or "someone else took this socket".
 * @module
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';

/** Where a room's clients are served: here, or forwarded. */
export interface Router {
  /**
   * Asked for every upgrade that passed the checks needing nothing but the request (path,
   * connection rate), before Origin, `authorize` and the room limits — which the room's
   * owner runs. `'here'`: admit it here (the router made sure this process may run the room).
   * `'taken'`: the router owns the socket from now on — it piped it to the room's owner or
   * answered the client itself.
   */
  route(roomId: string, request: IncomingMessage, socket: Duplex, head: Buffer): 'here' | 'taken' | Promise<'here' | 'taken'>;
  /**
   * The client's address when `request` was forwarded by a node that proved it holds the
   * cluster secret; `undefined` for a request from anyone else (whose forwarded-address
   * header, if any, is not believed).
   */
  forwardedClient?(request: IncomingMessage): string | undefined;
}

/**
 * The client's address as the server can vouch for it: the one a forwarding node proved, else
 * the socket's peer; `undefined` when the socket no longer knows it.
 */
export function clientAddressOf(request: IncomingMessage, router: Router | undefined): string | undefined {
  return router?.forwardedClient?.(request) ?? request.socket.remoteAddress;
}
