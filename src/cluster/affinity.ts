/**
 * Room affinity: which worker process owns a connection, decided from the request line
 * alone (`GET /ws/<room> HTTP/1.1`), so that every client of one room lands in the one
 * process where that room lives, whatever socket it arrives on. Pure, and unit-tested.
 * @module
 */
import { parseRoomPath, splitTarget } from '../transport/room-path.js';

/** The longest request line the primary reads before it routes a connection anyway. */
export const MAX_REQUEST_LINE_BYTES = 8 * 1024;

/** FNV-1a over the UTF-16 units of `text`: cheap, stable across processes and runs. */
export function hashRoomId(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** What the first bytes of a connection say about where it should go. */
export type Route =
  | { readonly kind: 'room'; readonly roomId: string }
  /** `GET /status?format=json` or `GET /metrics`: the primary adds up every worker's answer. */
  | { readonly kind: 'report'; readonly what: 'status' | 'metrics' }
  /** Not a room's WebSocket path (static files, plain /status, a bad path): any worker answers it. */
  | { readonly kind: 'any' }
  /** The request line is not complete yet: read more. */
  | { readonly kind: 'incomplete' }
  /** The request line is longer than {@link MAX_REQUEST_LINE_BYTES}: 414. */
  | { readonly kind: 'too-long' };

/** Routes a connection by the bytes read from it so far. */
export function routeOf(head: Buffer): Route {
  // Empty lines before a request line are allowed (RFC 9112 §2.2), and Node's parser skips them.
  let start = 0;
  while (start < head.length && (head[start] === 0x0d || head[start] === 0x0a)) start++;
  const end = head.indexOf(0x0a, start); // '\n'
  // Leading empty lines count too: a stream of CRLFs alone must not be buffered without end.
  if (end < 0) return head.length >= MAX_REQUEST_LINE_BYTES ? { kind: 'too-long' } : { kind: 'incomplete' };
  if (end - start > MAX_REQUEST_LINE_BYTES) return { kind: 'too-long' };
  const [method, target] = head.toString('latin1', start, end).trim().split(' ');
  if (target === undefined) return { kind: 'any' };
  const { pathname, query } = splitTarget(target);
  if (method === 'GET' && pathname === '/metrics') return { kind: 'report', what: 'metrics' };
  if (method === 'GET' && pathname === '/status' && new URLSearchParams(query).get('format') === 'json') return { kind: 'report', what: 'status' };
  const room = parseRoomPath(pathname);
  return room?.ok === true ? { kind: 'room', roomId: room.roomId } : { kind: 'any' };
}

/** The worker (0 to `workers` − 1) that owns `roomId`. */
export function workerOf(roomId: string, workers: number): number {
  return hashRoomId(roomId) % workers;
}
