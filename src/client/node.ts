/**
 * The Node entry of `stateroom/client` (the `node` condition of the exports map): the same
 * API as the core, with `ws` as the WebSocket (Node 20 has no global one). It also tells
 * the core the HTTP status of a refused upgrade, which browsers never learn, so that a 4xx
 * (bad room or token, forbidden) stops the client while a 503 (limits) is retried.
 * @module
 */
import type { ClientRequest, IncomingMessage } from 'node:http';
import { WebSocket } from 'ws';
import { Client as CoreClient, type ClientOptions, type SocketConstructor } from './index.js';

export * from './index.js';

/** `ws`'s WebSocket, keeping the status of a refused upgrade in `status`. */
class NodeWebSocket extends WebSocket {
  status: number | undefined;

  constructor(url: string, protocols: string[]) {
    super(url, protocols);
    this.once('unexpected-response', (_req: ClientRequest, res: IncomingMessage) => {
      this.status = res.statusCode;
      // With a listener here ws leaves the refused request to us: end it (error, then close 1006).
      this.terminate();
    });
  }
}

/** A client whose WebSocket defaults to `ws`'s. */
export class Client extends CoreClient {
  constructor(url: string, options: ClientOptions = {}) {
    super(url, { WebSocket: NodeWebSocket as unknown as SocketConstructor, ...options });
  }
}

/** Connects to a room, as the core's `connect` does, with `ws` as the WebSocket. */
export function connect(url: string, options?: ClientOptions): Client {
  return new Client(url, options);
}
