/**
 * Short plain-text answers, on an HTTP response or on a raw socket whose upgrade is refused.
 * @module
 */
import type { ServerResponse } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';

/** Answers `status` with `text` as plain text. */
export function reply(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/**
 * The status for a request Node's HTTP parser gave up on: 408 when its headers came too
 * slowly, 431 when they were too large, 414 when the request line alone was, else 400. A
 * client (the stateroom client among them) may try 408, 414 and 431 again; a 400 not.
 */
export function clientErrorStatus(err: Error & { code?: string; rawPacket?: Buffer }): number {
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT' || err.code === 'HPE_HEADERS_TIMEOUT') return 408;
  if (err.code === 'HPE_HEADER_OVERFLOW') {
    // The packet the parser choked on: no line end in it (or a first line as long as the
    // limit) means the request line itself is what overflowed.
    const packet = err.rawPacket;
    const lineEnd = packet?.indexOf(0x0a) ?? -1;
    return lineEnd < 0 || lineEnd > MAX_REQUEST_LINE_BYTES ? 414 : 431;
  }
  return 400;
}

/** The longest request line a request may have before it is 414 (URI too long). */
export const MAX_REQUEST_LINE_BYTES = 8 * 1024;

/** Refuses a WebSocket upgrade with an HTTP status and a one-line reason, then closes the socket. */
export function refuseUpgrade(socket: Duplex, status: number, text: string): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const body = `${text}\n`;
  endAndClose(
    socket,
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n` +
      'Connection: close\r\n' +
      'Content-Type: text/plain; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

/** How long a client answered on a raw socket gets, once the answer is out, to hang up before it is cut. */
export const LINGER_MS = 1_000;
/** How long a client that does not read its answer may keep the socket in all. */
export const UNREAD_LINGER_MS = 10_000;

/**
 * Writes a last `answer` on a raw socket, and makes sure the socket then closes. `end()` alone
 * half-closes it: a client that keeps its side open would keep the descriptor for as long as it
 * likes — one per refused connection, past every cap and rate limit. So what the client still
 * sends is read and dropped (its hang-up then closes the socket at once); a client that does not
 * hang up is cut {@link LINGER_MS} after the answer is out, and one that does not read it after
 * {@link UNREAD_LINGER_MS}.
 */
export function endAndClose(socket: Duplex, answer: string | Uint8Array): void {
  const cut = (): void => {
    socket.destroy();
  };
  let linger: NodeJS.Timeout | undefined;
  const unread = setTimeout(cut, UNREAD_LINGER_MS).unref();
  // A socket closed early lets go of its timers (they hold it): a flood of refusals whose
  // clients hang up at once must not keep each socket in memory for the whole 10 s.
  socket.once('close', () => {
    clearTimeout(linger);
    clearTimeout(unread);
  });
  socket.end(answer, () => {
    if (!socket.destroyed) linger = setTimeout(cut, LINGER_MS).unref();
  });
  socket.resume();
}
