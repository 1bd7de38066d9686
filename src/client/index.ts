/**
 * `stateroom/client`: a WebSocket client for one room that survives drops. It reconnects
 * with backoff, keeps its identity (a token) so the server gives it the same client id,
 * resumes its seat when the server still holds it (receiving exactly what it missed, and
 * sending again exactly what the server missed), and queues what the application sends
 * while it is away.
 *
 * This core runs anywhere: it never imports `node:*` or server code, and takes its
 * WebSocket constructor from the platform (`globalThis.WebSocket`) or from the options. In
 * Node, `import 'stateroom/client'` resolves to `node.ts`, which plugs in `ws`.
 *
 * @example
 * ```ts
 * import { connect } from 'stateroom/client';
 * const client = connect('ws://localhost:8080', { room: 'lobby' });
 * client.on('message', (data) => console.log(data));
 * client.on('open', ({ resumed }) => console.log(resumed ? 'resumed' : 'new seat'));
 * client.send('increment'); // queued until the connection opens
 * ```
 * @module
 */
import { backoffDelay } from './backoff.js';
import {
  CLOSE_INTERNAL_ERROR,
  CLOSE_POLICY,
  CLOSE_REPLACED,
  CLOSE_RETRYING,
  CLOSE_TOO_BIG,
  CLOSE_TRY_AGAIN_LATER,
  PROTOCOL_EXACT,
  PROTOCOL_FRESH,
  PROTOCOL_RESUMED,
} from './protocol.js';
import { Queue } from './queue.js';
import { Sent } from './sent.js';
import type { SocketConstructor, SocketLike } from './socket.js';
import { randomToken, roomUrl, withIdentity } from './url.js';

export type { SocketConstructor, SocketLike } from './socket.js';
export { backoffDelay } from './backoff.js';

/** What travels: text as a string, binary as bytes. */
export type Data = string | Uint8Array;

/** Options for {@link connect}; every one is optional. Defaults: {@link DEFAULT_CLIENT_OPTIONS}. */
export interface ClientOptions {
  /** The room to join (`/ws/<room>`). Default: the URL's own `/ws…` path, else `/ws` (room "1"). */
  room?: string | undefined;
  /**
   * This client's identity, 1 to 256 characters. Default: 128 random bits from
   * `crypto.getRandomValues`, made once per client.
   *
   * **A token is a secret.** Whoever presents it while the seat is held takes the seat (this
   * client is closed with 4001) and is sent what the seat kept for a resume — up to the
   * server's `resumeBufferBytes` (256 KiB) of its recent messages. Make it unguessable (the
   * default is), send it over `wss://` only, keep it out of logs and shared URLs, and do not
   * reuse it across users. A server whose `authorize` returns `{ user }` binds each token to
   * the authorised user, so a stolen token alone is not enough there.
   */
  token?: string | undefined;
  /** Smallest delay before a reconnect attempt, in ms (> 0). */
  minDelayMs?: number;
  /** Largest delay before a reconnect attempt, in ms. */
  maxDelayMs?: number;
  /** Reconnect attempts in a row, without a healthy connection, before giving up. */
  maxAttempts?: number;
  /** A connection not open after this long (ms) counts as failed; 0 waits for the platform. */
  connectTimeoutMs?: number;
  /** Messages kept while disconnected; one more drops the oldest (a `drop` event). 0 keeps none. */
  maxQueued?: number;
  /**
   * Bytes of sent messages kept until the server confirms it has them (on the next resume),
   * to send again what it missed; strings count by length, each message 16 more. Past it the
   * oldest are let go; if the server then turns out to lack one, a `lost` event says how many.
   */
  resendBufferBytes?: number;
  /** Close codes after which the client does not reconnect. */
  stopCodes?: readonly number[];
  /** The WebSocket constructor. Default: `globalThis.WebSocket` (the Node entry passes `ws`'s). */
  WebSocket?: SocketConstructor | undefined;
}

/** Every default, in one place. */
export const DEFAULT_CLIENT_OPTIONS = Object.freeze({
  minDelayMs: 250,
  maxDelayMs: 10_000,
  maxAttempts: Infinity,
  connectTimeoutMs: 10_000,
  maxQueued: 100,
  resendBufferBytes: 1_048_576,
  /**
   * 1000 the server ended the session; 1002, 1003, 1007, 1010 protocol errors that would
   * repeat; 1008 refused by policy; 1009 message too big; 4001 replaced by a newer
   * connection with the same token (another tab or socket took over).
   */
  stopCodes: Object.freeze([1000, 1002, 1003, 1007, CLOSE_POLICY, CLOSE_TOO_BIG, 1010, CLOSE_REPLACED]),
});

/**
 * Refusals worth another try: 408 (the request came too slowly: a congested network), 414
 * and 431 (a proxy on the way, or a server under attack, may have lowered its limits for a
 * while), 421 (a new connection reaches the right worker), 429 (rate: later).
 */
const RETRY_STATUSES = [408, 414, 421, 429, 431];
/** Codes after which the backoff keeps growing even though the connection had opened. */
const BACKOFF_CODES = [CLOSE_INTERNAL_ERROR, CLOSE_TRY_AGAIN_LATER];
/**
 * A stateroom server prefers `exact` wherever it is offered, and one without it picks
 * `fresh` or `resumed`; a server that knows none of them picks the first it is offered, so
 * `fresh` is first: it means what it says there, while `exact` would promise a seat frame
 * that never comes.
 */
const PROTOCOLS = [PROTOCOL_FRESH, PROTOCOL_EXACT, PROTOCOL_RESUMED];
const OPEN = 1;
const NUMBERS = ['minDelayMs', 'maxDelayMs', 'maxAttempts', 'connectTimeoutMs', 'maxQueued', 'resendBufferBytes'] as const;

/** How a connection opened. */
export interface OpenInfo {
  /** The server resumed this client's seat: what was missed follows. Otherwise a new seat (`received` restarted at 0). */
  readonly resumed: boolean;
  /** An earlier connection of this client had opened. */
  readonly reconnected: boolean;
}

/** Each event's listener arguments. */
export interface ClientEvents {
  /** A connection opened (and the queue was flushed into it). */
  open: [info: OpenInfo];
  /** A message from the room: text as a string, binary as a Uint8Array. */
  message: [data: Data];
  /** A connection ended, or the client stopped; `willReconnect` false means for good. */
  close: [code: number, reason: string, willReconnect: boolean];
  /** The next attempt (1, 2, …) starts in `delayMs`. */
  reconnecting: [attempt: number, delayMs: number];
  /** A connection failed or errored; the close or reconnecting event that follows says what happens next. */
  error: [error: Error];
  /** The queue was full: its oldest message was dropped, unsent. */
  drop: [data: Data];
  /**
   * On a resume, the server lacked `count` messages the client no longer kept (more than
   * `resendBufferBytes` were sent since it last confirmed): they are lost, and the messages
   * after them were sent again. Comes before that connection's `open`.
   */
  lost: [count: number];
}

/** Where a client stands: dialling its first connection, open, between connections, or closed for good. */
export type ClientState = 'connecting' | 'open' | 'reconnecting' | 'closed';

type Listener<K extends keyof ClientEvents> = (...args: ClientEvents[K]) => void;
type Resolved = typeof DEFAULT_CLIENT_OPTIONS & { WebSocket: SocketConstructor };

/** A client for one room. Start one with {@link connect}. */
export class Client {
  /** The room's WebSocket URL (without the token). */
  readonly url: string;
  /** Sent on every connection; the same token gets the same client id in a live room. */
  readonly token: string;
  /** `reconnecting` from the first failed attempt until a connection opens; `closed` is final. */
  state: ClientState = 'connecting';
  /** Messages received on the current seat: a resume asks for everything after these. */
  received = 0;
  /** Whether the last connection resumed its seat. */
  resumed = false;
  /**
   * Whether the server confirms what it received (it speaks `stateroom.exact`): then sent
   * messages are kept until confirmed and a resume sends again exactly what the server missed.
   */
  exact = false;
  private readonly o: Resolved;
  private readonly queue: Queue<Data>;
  private readonly sent: Sent<Data>;
  private readonly listeners = new Map<keyof ClientEvents, Set<Listener<never>>>();
  private socket: SocketLike | undefined;
  /** Whether a connection has opened: from then on, each connection asks to resume. */
  private seated = false;
  private attempt = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** The running attempt's connect timeout (cleared by close(), so it keeps no process alive). */
  private connectTimer: ReturnType<typeof setTimeout> | undefined;

  /**
   * @throws TypeError for an unknown or invalid option, a bad URL, or no WebSocket to use.
   */
  constructor(url: string, options: ClientOptions = {}) {
    const given = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as ClientOptions;
    const o = { ...DEFAULT_CLIENT_OPTIONS, WebSocket: (globalThis as { WebSocket?: SocketConstructor }).WebSocket, ...given };
    const unknown = Object.keys(given).filter((k) => !(k in DEFAULT_CLIENT_OPTIONS) && !['room', 'token', 'WebSocket'].includes(k));
    if (unknown.length > 0) bad(`unknown option(s): ${unknown.join(', ')}`);
    for (const key of NUMBERS) if (!(o[key] >= 0)) bad(`${key} must be a number >= 0, not ${String(o[key])}`);
    if (!(o.minDelayMs > 0 && o.minDelayMs <= o.maxDelayMs)) bad('minDelayMs must be > 0 and at most maxDelayMs');
    if (!o.WebSocket) bad('no WebSocket here: pass options.WebSocket (Node 20 has none: the "stateroom/client" node entry plugs in ws)');
    const token = options.token ?? randomToken();
    if (token.length < 1 || token.length > 256) bad('token must be 1 to 256 characters');
    if (options.room === '') bad('room must not be empty');
    this.o = o as Resolved;
    this.token = token;
    this.url = roomUrl(url, options.room);
    this.queue = new Queue(this.o.maxQueued);
    this.sent = new Sent(this.o.resendBufferBytes);
    this.dial();
  }

  /** Messages waiting for the next connection. */
  get queued(): number {
    return this.queue.size;
  }

  /** Messages sent and kept, not yet confirmed by the server (always 0 unless {@link Client.exact}). */
  get unconfirmed(): number {
    return this.sent.kept;
  }

  /** Adds a listener; returns a function that removes it. */
  on<K extends keyof ClientEvents>(type: K, listener: Listener<K>): () => void {
    const set = this.listeners.get(type) ?? new Set();
    this.listeners.set(type, set.add(listener));
    return () => this.off(type, listener);
  }

  /** Removes a listener added with {@link on}. */
  off<K extends keyof ClientEvents>(type: K, listener: Listener<K>): void {
    this.listeners.get(type)?.delete(listener);
  }

  /**
   * Sends text (a text frame) or bytes (a binary frame). While not connected, the message is
   * queued (a copy of the bytes) and sent, in order, when the next connection opens.
   * @returns `true` if handed to an open socket, `false` if queued.
   * @throws Error once the client is closed.
   */
  send(data: Data): boolean {
    if (this.state === 'closed') throw new Error('stateroom client is closed: send() cannot deliver');
    // Bytes are copied: the application may reuse its buffer, and these may wait or be sent again.
    const own = typeof data === 'string' ? data : new Uint8Array(data);
    if (this.state === 'open' && this.socket?.readyState === OPEN) {
      this.transmit(this.socket, own);
      return true;
    }
    const dropped = this.queue.push(own);
    if (dropped !== undefined) this.emit('drop', dropped);
    return false;
  }

  /** Closes the connection and stops reconnecting; queued and unconfirmed messages are discarded. */
  close(code = 1000, reason = ''): void {
    if (this.state === 'closed') return;
    if (this.socket) detach(this.socket, code, reason);
    this.stop(code, reason);
  }

  private dial(): void {
    const { o } = this;
    let ws: SocketLike;
    try {
      ws = new o.WebSocket(withIdentity(this.url, this.token, this.seated ? this.received : undefined), PROTOCOLS);
    } catch (err) {
      // Refused before any network traffic (e.g. a page on https asking for ws://): retrying
      // cannot help. On the first connection, connect() itself throws.
      if (this.attempt === 0) throw err;
      this.emit('error', asError(err));
      this.stop(1006, String(err));
      return;
    }
    ws.binaryType = 'arraybuffer';
    this.socket = ws;
    let opened = false;
    const timeout = (this.connectTimer = o.connectTimeoutMs > 0 ? setTimeout(() => {
      if (ws !== this.socket) return; // replaced meanwhile
      detach(ws, CLOSE_RETRYING, 'connect timeout');
      this.emit('error', new Error(`not connected after ${o.connectTimeoutMs} ms`));
      this.ended(ws, 1006, 'connect timeout', false);
    }, o.connectTimeoutMs) : undefined);
    const ready = (resumed: boolean, confirmed?: number): void => {
      clearTimeout(timeout);
      opened = true;
      this.ready(ws, resumed, confirmed);
    };
    // An exact server's first frame says how the seat stands: only then is the connection open.
    ws.onopen = () => ws.protocol === PROTOCOL_EXACT || ready(ws.protocol === PROTOCOL_RESUMED);
    ws.onmessage = ({ data }) => {
      if (!opened) {
        const seat = seatOf(data);
        if (seat) return ready(seat.seat === 'resumed', seat.received);
        clearTimeout(timeout);
        detach(ws, 1002, '');
        this.emit('error', new Error('the server sent no valid seat frame'));
        return this.ended(ws, 1002, 'bad seat frame', false);
      }
      this.received += 1;
      this.emit('message', typeof data === 'string' ? data : new Uint8Array(data as ArrayBuffer));
    };
    ws.onerror = (event) => {
      const { status } = ws;
      this.emit('error', status ? new Error(`the server refused the connection: ${refusalOf(ws)}`) : asError((event as { error?: unknown }).error ?? 'WebSocket error'));
    };
    ws.onclose = ({ code, reason }) => {
      clearTimeout(timeout);
      this.ended(ws, code, reason, opened);
    };
  }

  /**
   * `ws` is open on a seat, resumed or new; `confirmed` is how many of this seat's messages
   * the server has, when it says (an exact server). What it missed goes first, in order, then
   * the queue.
   */
  private ready(ws: SocketLike, resumed: boolean, confirmed: number | undefined): void {
    resumed &&= this.seated; // the first connection never asks to resume
    const reconnected = this.seated;
    this.exact = confirmed !== undefined;
    let again: Data[] = [];
    let lost = 0;
    if (resumed && this.exact) ({ again, lost } = this.sent.confirm(confirmed!));
    else this.sent.reset(); // a new seat numbers from 1; an older server confirms nothing
    if (!resumed) this.received = 0;
    this.seated = true;
    this.resumed = resumed;
    this.state = 'open';
    for (const data of again) ws.send(data);
    for (const data of this.queue.drain()) this.transmit(ws, data);
    if (lost > 0) this.emit('lost', lost);
    this.emit('open', { resumed, reconnected });
  }

  /** Sends `data` (the client's own copy) on `ws`, keeping it until confirmed when the server confirms. */
  private transmit(ws: SocketLike, data: Data): void {
    ws.send(data);
    if (this.exact) this.sent.push(data);
  }

  /** A socket closed (or never opened): reconnect, or stop for good. */
  private ended(ws: SocketLike, code: number, reason: string, opened: boolean): void {
    if (ws !== this.socket) return;
    this.socket = undefined;
    const { o } = this;
    const status = opened ? undefined : ws.status;
    // Browsers see a refused upgrade as a failed connection; in Node we know the status:
    // 4xx will not change on retry, except those in RETRY_STATUSES; 5xx (503: limits) may.
    const refused = status !== undefined && status >= 400 && status < 500 && !RETRY_STATUSES.includes(status);
    if (refused) reason = refusalOf(ws);
    if (opened && !BACKOFF_CODES.includes(code)) this.attempt = 0;
    if (refused || o.stopCodes.includes(code) || this.attempt >= o.maxAttempts) {
      this.stop(code, reason);
      return;
    }
    this.state = 'reconnecting';
    if (opened) this.emit('close', code, reason, true);
    if (this.state !== 'reconnecting') return; // a listener called close()
    const delay = backoffDelay(++this.attempt, o.minDelayMs, o.maxDelayMs);
    this.timer = setTimeout(() => this.dial(), delay);
    this.emit('reconnecting', this.attempt, delay);
  }

  private stop(code: number, reason: string): void {
    clearTimeout(this.timer);
    clearTimeout(this.connectTimer);
    this.socket = undefined;
    this.state = 'closed';
    this.queue.drain();
    this.sent.reset();
    this.emit('close', code, reason, false);
  }

  private emit<K extends keyof ClientEvents>(type: K, ...args: ClientEvents[K]): void {
    for (const listener of [...(this.listeners.get(type) ?? [])]) (listener as Listener<K>)(...args);
  }
}

/**
 * Connects to `room` on the server at `url` and keeps connected until {@link Client.close}.
 * @param url - The server: `ws(s)://host:port` or `http(s)://…` (relative in a browser).
 * @throws TypeError for an invalid option or URL.
 */
export function connect(url: string, options?: ClientOptions): Client {
  return new Client(url, options);
}

/** Stops listening to `ws` (its late events are ignored) and closes it. */
function detach(ws: SocketLike, code: number, reason: string): void {
  ws.onopen = ws.onmessage = ws.onclose = null;
  // ws (Node) throws on an 'error' event nobody listens to, e.g. closing while connecting.
  ws.onerror = () => {};
  try {
    ws.close(code, reason);
  } catch {
    ws.close(); // browsers only accept 1000 and 3000-4999
  }
}

/** The seat frame of an exact server (`{"seat":"resumed"|"fresh","received":n}`), or undefined if `data` is not one. */
function seatOf(data: unknown): { seat: unknown; received: number } | undefined {
  try {
    const frame = JSON.parse(data as string) as { seat?: unknown; received?: unknown };
    const { seat, received } = frame;
    if ((seat === 'resumed' || seat === 'fresh') && Number.isSafeInteger(received) && (received as number) >= 0) return frame as { seat: unknown; received: number };
  } catch {
    // not JSON: not a seat frame
  }
  return undefined;
}

/** `HTTP 403: origin … is not allowed`: a refused upgrade's status, and the server's reason when known. */
function refusalOf(ws: SocketLike): string {
  return ws.refusal ? `HTTP ${ws.status}: ${ws.refusal}` : `HTTP ${ws.status}`;
}

function asError(thrown: unknown): Error {
  return thrown instanceof Error ? thrown : new Error(String(thrown));
}

function bad(message: string): never {
  throw new TypeError(`stateroom client: ${message}`);
}
