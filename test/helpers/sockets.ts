// Real-socket test helpers: every wait has a deadline and names what it waited for.
import { once } from 'node:events';
import { connect as tcpConnect } from 'node:net';
import { WebSocket, type ClientOptions } from 'ws';
import { until } from './deadline.js';

export const DEADLINE_MS = 3_000;

/** Opens a WebSocket and resolves once it is open (rejects on error or after the deadline). */
export async function open(url: string, options?: ClientOptions): Promise<WebSocket> {
  const ws = new WebSocket(url, options);
  await once(ws, 'open', { signal: AbortSignal.timeout(DEADLINE_MS) });
  return ws;
}

export interface Received {
  data: string | Buffer;
  binary: boolean;
}

/**
 * Records every message a socket receives from now on, so a test can await the n-th one
 * without racing the socket.
 */
export class Inbox {
  readonly messages: Received[] = [];
  private waiters: Array<() => void> = [];
  private taken = 0;

  constructor(readonly ws: WebSocket, readonly name = 'client') {
    ws.on('message', (data, binary) => {
      this.messages.push({ data: binary ? (data as Buffer) : (data as Buffer).toString('utf8'), binary });
      for (const wake of this.waiters.splice(0)) wake();
    });
  }

  /** Waits until `count` messages have arrived in all, and returns them as text. */
  async texts(count: number, ms = DEADLINE_MS): Promise<string[]> {
    await this.until(() => this.messages.length >= count, `${count} message(s) at ${this.name}`, ms);
    return this.messages.slice(0, count).map((m) => (m.binary ? `<binary ${m.data.length}>` : (m.data as string)));
  }

  /** Waits for the next message not yet taken by `next()`. */
  async next(ms = DEADLINE_MS): Promise<Received> {
    const want = this.taken + 1;
    await this.until(() => this.messages.length >= want, `message #${want} at ${this.name}`, ms);
    this.taken = want;
    return this.messages[want - 1]!;
  }

  /** The next message, which must be text. */
  async nextText(ms = DEADLINE_MS): Promise<string> {
    const m = await this.next(ms);
    if (m.binary) throw new Error(`${this.name}: expected a text frame, got binary`);
    return m.data as string;
  }

  private until(done: () => boolean, what: string, ms: number): Promise<void> {
    if (done()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what} (have ${this.messages.length})`)), ms);
      const check = (): void => {
        if (done()) {
          clearTimeout(timer);
          resolve();
        } else this.waiters.push(check);
      };
      this.waiters.push(check);
    });
  }
}

/** Resolves with the close code and reason once the socket closes. */
export async function closed(ws: WebSocket, ms = DEADLINE_MS): Promise<{ code: number; reason: string }> {
  if (ws.readyState === WebSocket.CLOSED) throw new Error('socket was already closed before closed() was called');
  const [code, reason] = (await once(ws, 'close', { signal: AbortSignal.timeout(ms) })) as [number, Buffer];
  return { code, reason: reason.toString() };
}

/**
 * Opens a socket, recording what it receives from the start: a server may send in the same
 * packet as its upgrade answer, before an `open` listener could attach anything.
 */
export async function client(url: string, name?: string, options?: ClientOptions): Promise<Inbox> {
  const ws = new WebSocket(url, options);
  const inbox = new Inbox(ws, name);
  await once(ws, 'open', { signal: AbortSignal.timeout(DEADLINE_MS) });
  return inbox;
}

/** The HTTP status and body an upgrade was refused with (`503 <reason>`); rejects if it is accepted. */
export function refusal(url: string, headers: Record<string, string> = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    const timer = setTimeout(() => reject(new Error(`${url}: no answer`)), DEADLINE_MS);
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => {
        clearTimeout(timer);
        resolve(`${res.statusCode} ${body.trim()}`);
      });
    });
    ws.on('open', () => {
      clearTimeout(timer);
      ws.terminate();
      reject(new Error(`${url} was accepted`));
    });
    ws.on('error', () => {});
  });
}

/**
 * Sends `request` on a raw TCP socket that keeps its side open after the server's FIN (as an
 * attacker's would), waits for an answer matching `answer`, then for the server to close the
 * socket for good — not only half-close it.
 */
export async function answeredThenClosed(port: number, request: string, answer: RegExp): Promise<void> {
  const socket = tcpConnect({ port, host: '127.0.0.1', allowHalfOpen: true });
  socket.on('error', () => {});
  let text = '';
  socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
  socket.write(request);
  try {
    await until(() => answer.test(text), `an answer matching ${String(answer)}`);
    // A close after the FIN already sent shows only when this side writes again: the server
    // then answers with a reset (one that only half-closed would read on, for ever).
    await until(
      () => {
        if (!socket.destroyed) socket.write('?');
        return socket.destroyed;
      },
      'the server to close a socket the client holds open',
      5_000,
      20,
    );
  } finally {
    socket.destroy();
  }
}
