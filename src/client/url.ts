/**
 * Where the client connects: the room's WebSocket URL, and the identity it adds on each
 * connection (`?token=<t>` and, when it comes back, `&received=<n>`).
 * @module
 */

/**
 * The WebSocket URL of `room` on the server at `base`.
 *
 * `base` may be `ws(s)://` or `http(s)://` (turned into `ws(s)://`), relative in a browser
 * (resolved against the page), and may carry a path prefix and query parameters, which are
 * kept. `room` adds `/ws/<room>`, percent-encoded; without `room`, a URL already naming
 * `/ws…` is used as it is, and any other gets `/ws` (the default room, "1").
 */
export function roomUrl(base: string, room?: string): string {
  const url = new URL(base, (globalThis as { location?: { href: string } }).location?.href);
  url.protocol = url.protocol.replace(/^http/, 'ws');
  const path = url.pathname.replace(/\/$/, '');
  if (room !== undefined) url.pathname = `${path}/ws/${encodeURIComponent(room)}`;
  else if (!/\/ws(\/|$)/.test(path)) url.pathname = `${path}/ws`;
  url.hash = '';
  return url.href;
}

/** `url` with `token`, and `received` when given (it asks the server to resume the seat). */
export function withIdentity(url: string, token: string, received?: number): string {
  const u = new URL(url);
  u.searchParams.set('token', token);
  if (received === undefined) u.searchParams.delete('received');
  else u.searchParams.set('received', String(received));
  return u.href;
}

/**
 * A random token: 128 bits from the platform's cryptographic generator, as hex. A token is
 * a secret (whoever holds it can take the client's seat), so there is no fallback to a
 * guessable generator: without `crypto.getRandomValues` (browsers, Node 20+, Deno, Bun all
 * have it, in insecure contexts too, unlike `randomUUID`) this throws and the caller must
 * pass a token.
 */
export function randomToken(): string {
  const crypto = (globalThis as { crypto?: { getRandomValues?: <T extends Uint8Array>(bytes: T) => T } }).crypto;
  if (typeof crypto?.getRandomValues !== 'function') {
    throw new TypeError('stateroom client: no crypto.getRandomValues here to make a secret token; pass the token option');
  }
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
}
