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

/** How much of a refusal's text is read, and for how long, before the socket is ended. */
const REFUSAL_BYTES = 1_024;
const REFUSAL_MS = 1_000;

/** `ws`'s WebSocket, keeping the status of a refused upgrade in `status` and its text in `refusal`. */
class NodeWebSocket extends WebSocket {
  status: number | undefined;
  refusal: string | undefined;

  constructor(url: string, protocols: string[]) {
    super(url, protocols);
    this.once('unexpected-response', (_req: ClientRequest, res: IncomingMessage) => {
      this.status = res.statusCode;
      // The server says why in one line of text: read a little of it (bounded in bytes and
      // time), then end the request — with a listener here ws leaves it to us (error, then close 1006).
      let text = '';
      let finished = false;
      const done = (): void => {
        if (finished) return;
        finished = true;
        clearTimeout(timer);
        res.removeAllListeners('data');
        const line = text.split('\n', 1)[0]?.trim();
        if (line) this.refusal = line.slice(0, 200);
        this.terminate();
      };
      const timer = setTimeout(done, REFUSAL_MS);
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
        if (text.length >= REFUSAL_BYTES) done();
      });
      res.once('end', done);
      res.once('error', done);
    });
  }
}

/** A client whose WebSocket defaults to `ws`'s. */
export class Client extends CoreClient {
  constructor(url: string, options: ClientOptions = {}) {
    // `ws` unless the caller plugs in another: an explicit `WebSocket: undefined` keeps `ws` too.
    super(url, { ...options, WebSocket: options.WebSocket ?? (NodeWebSocket as unknown as SocketConstructor) });
  }
}

/** Connects to a room, as the core's `connect` does, with `ws` as the WebSocket. */
export function connect(url: string, options?: ClientOptions): Client {
  return new Client(url, options);
}
