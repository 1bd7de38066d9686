/**
 * Which room a WebSocket path names: `/ws` is the default room `"1"` (as upstream's README
 * says), `/ws/<roomId>` is `<roomId>` percent-decoded. Pure, so every rule is unit-tested.
 * @module
 */

/** The room plain `/ws` joins. */
export const DEFAULT_ROOM_ID = '1';
/** The longest room id, in UTF-8 bytes. */
export const MAX_ROOM_ID_BYTES = 256;

export type RoomPath =
  | { readonly ok: true; readonly roomId: string }
  | { readonly ok: false; readonly reason: string };

/**
 * The room named by `pathname` (no query string), or why it names none. Returns
 * `undefined` when the path is not a WebSocket path at all.
 */
export function parseRoomPath(pathname: string): RoomPath | undefined {
  if (pathname === '/ws') return { ok: true, roomId: DEFAULT_ROOM_ID };
  if (!pathname.startsWith('/ws/')) return undefined;
  const encoded = pathname.slice('/ws/'.length);
  if (encoded === '') return { ok: false, reason: 'the room id is empty: use /ws for the default room or /ws/<roomId>' };
  let roomId = encoded;
  try {
    // Only when there is something to decode: decoding copies the string.
    if (encoded.includes('%')) roomId = decodeURIComponent(encoded);
  } catch {
    return { ok: false, reason: 'the room id is not valid percent-encoding' };
  }
  const bytes = Buffer.byteLength(roomId, 'utf8');
  if (bytes > MAX_ROOM_ID_BYTES) {
    return { ok: false, reason: `the room id is ${bytes} bytes long; the limit is ${MAX_ROOM_ID_BYTES}` };
  }
  return { ok: true, roomId };
}

/** Splits a request target into its path and query string. */
export function splitTarget(target: string): { pathname: string; query: string } {
  const q = target.indexOf('?');
  return q < 0 ? { pathname: target, query: '' } : { pathname: target.slice(0, q), query: target.slice(q + 1) };
}

/**
 * The query parameters the server reads itself (see {@link parseIdentity}): never shown to the
 * service, which has no use for them and must not see a client's resume token.
 */
export const SERVER_PARAMS: ReadonlySet<string> = new Set(['token', 'received']);

/** A client that names neither a token nor what it received: one object for all of them. */
const NO_IDENTITY: ParsedIdentity = Object.freeze({ ok: true });

/**
 * Whether a query may hold `token` or `received`: only spelled out or percent-encoded, so a
 * query with neither is read without a `URLSearchParams` (most clients send no query at all).
 */
function mayNameServerParams(query: string): boolean {
  return query.includes('token') || query.includes('received') || query.includes('%');
}

/** The longest token, in characters. */
export const MAX_TOKEN_LENGTH = 256;

export type ParsedIdentity =
  | { readonly ok: true; readonly token?: string; readonly received?: number }
  | { readonly ok: false; readonly reason: string };

/**
 * `?token=<opaque>&received=<n>`: who the client is, and how many messages it has received
 * (present when it resumes). Other parameters are left to the application.
 */
export function parseIdentity(query: string): ParsedIdentity {
  if (!mayNameServerParams(query)) return NO_IDENTITY;
  const params = new URLSearchParams(query);
  const token = params.get('token') ?? undefined;
  const receivedText = params.get('received') ?? undefined;
  if (token !== undefined && (token === '' || token.length > MAX_TOKEN_LENGTH)) {
    return { ok: false, reason: `token must be 1 to ${MAX_TOKEN_LENGTH} characters` };
  }
  if (receivedText === undefined) return { ok: true, ...(token === undefined ? {} : { token }) };
  if (token === undefined) return { ok: false, reason: 'received needs a token: it counts what that token\'s seat received' };
  if (!/^\d{1,15}$/.test(receivedText)) return { ok: false, reason: 'received must be a whole number of messages' };
  return { ok: true, token, received: Number(receivedText) };
}
