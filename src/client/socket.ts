/**
 * The seam between the client and a platform's WebSocket: the few members of the standard
 * `WebSocket` the client uses. The browser's `WebSocket` has them, and so does `ws`'s
 * (which the Node entry, `node.ts`, plugs in), so the core never imports a runtime.
 * @module
 */

/** One socket, as the client uses it. */
export interface SocketLike {
  binaryType: string;
  /** The subprotocol the server picked (`''` when it picked none). */
  readonly protocol: string;
  /** 0 connecting, 1 open, 2 closing, 3 closed. */
  readonly readyState: number;
  /**
   * The HTTP status of a refused upgrade, where the platform can tell (the Node entry sets
   * it; browsers never learn it and report a failed connection, close code 1006).
   */
  readonly status?: number | undefined;
  /** The server's one-line reason for that refusal (the answer's text), where the platform can tell. */
  readonly refusal?: string | undefined;
  send(data: string | Uint8Array): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
}

/** A WebSocket constructor: the browser's `WebSocket`, or the Node entry's wrapper of `ws`. */
export type SocketConstructor = new (url: string, protocols: string[]) => SocketLike;
