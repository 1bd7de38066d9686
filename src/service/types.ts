/**
 * What a service author sees: the callbacks a service may implement and the context it
 * talks back through. This file imports nothing, so it stays small and stable; a change
 * here is an API change.
 * @module
 */

/**
 * A client's id within its room: an integer from 1 to 2^32 − 1, unique within the room
 * and never reused while the room lives.
 */
export type ClientId = number;

/**
 * A message: text travels as a WebSocket text frame (`string`), bytes as a binary frame
 * (`Uint8Array`, which includes Node's `Buffer`). What a service sends goes out as the
 * same kind of frame.
 */
export type Payload = string | Uint8Array;

/**
 * Who receives a message:
 * - a {@link ClientId}: that one client;
 * - `'broadcast'`: every client in the room;
 * - `{ except: id }`: every client in the room but `id`.
 */
export type Recipient = ClientId | 'broadcast' | { readonly except: ClientId };

/** A value, or a promise of it: callbacks may be synchronous or async. */
export type MaybePromise<T> = T | Promise<T>;

/** How a service talks back to its room. One context per room, valid while the room lives. */
export interface Context {
  /** The room's id, as it appeared (percent-decoded) in `/ws/<roomId>`; `"1"` for plain `/ws`. */
  readonly roomId: string;
  /**
   * Sends `payload` to `recipient`. Messages to a client that has left are dropped, as
   * upstream does.
   * @throws {@link StateroomError} `SR_ERR_BAD_SEND` for a recipient or payload of the wrong kind.
   */
  readonly sendMessage: (recipient: Recipient, payload: Payload) => void;
  /**
   * Arms the room's one timer: `timer()` runs once, `ms` milliseconds from now. A new call
   * replaces the outstanding timer; `0` fires it on the next turn of the event loop.
   * Delays longer than `setTimeout` allows (2^31 − 1 ms) work too.
   * @throws {@link StateroomError} `SR_ERR_BAD_TIMER` unless `ms` is a finite number ≥ 0.
   */
  readonly setTimer: (ms: number) => void;
  /** Cancels the outstanding timer, if any. */
  readonly clearTimer: () => void;
  /**
   * Closes `client`'s connection with `code` (default 1000) and `reason` (default empty), after
   * what was already sent to it. The client's seat is given up at once — a client with a resume
   * token is not held for a resume — so nothing more is sent to it, and the service gets its
   * `disconnect` as for any client that leaves, after the events already queued (messages it
   * sent before it was closed included). Closing a client that is not connected (unknown,
   * already gone, or closed before) does nothing. Works in any callback, `connect` included.
   *
   * `stateroom/client` does not reconnect after 1000 (nor after 4001, which the server uses for
   * "replaced by a newer connection"); after any other code it does, so a code of your own
   * (3000–4999) that should stop it must be in the client's `stopCodes`.
   * @example
   * ```ts
   * message(client: ClientId, payload: Payload, ctx: Context) {
   *   if (payload === 'leave') ctx.close(client, 4000, 'bye');
   * }
   * ```
   * @throws {@link StateroomError} `SR_ERR_BAD_SEND` when `client` is not a client id, `code` is
   *   not 1000 or 3000–4999 (the codes an application may send), or `reason` is not a string of
   *   at most 123 bytes in UTF-8 (what a close frame carries).
   */
  readonly close: (client: ClientId, code?: number, reason?: string) => void;
  /**
   * Who `client` is, as its connection told when it joined: its address, its page's origin,
   * its user agent, the query parameters of its URL, and the user the server's `authorize`
   * hook admitted it as. Answers from the client's `connect` to its `disconnect`, both included; `undefined` for
   * any other client id, and for a client seated without a transport (a unit test driving a
   * room). The same object for every call; captured when the client took its seat, kept
   * across resumes.
   * @example
   * ```ts
   * connect(client: ClientId, ctx: Context) {
   *   const who = ctx.clientInfo(client);
   *   ctx.sendMessage('broadcast', `a client joined from ${who?.origin || 'outside a page'}`);
   * }
   * ```
   */
  readonly clientInfo: (client: ClientId) => ClientInfo | undefined;
}

/** A value JSON can carry: what `JSON.parse` gives back. */
export type JsonValue = null | boolean | number | string | readonly JsonValue[] | { readonly [key: string]: JsonValue };

/**
 * Who the server's `authorize` hook admitted a client as (`{ user }`): a string (a user id), or
 * a JSON object (`{ id, name, roles }`), which the service gets as a frozen copy of what
 * `JSON.stringify` makes of it.
 */
export type ClientUser = string | { readonly [key: string]: JsonValue };

/**
 * What a room knows of a client's connection, captured when it joined (see
 * {@link Context.clientInfo}). Every string is capped at 256 UTF-16 code units (longer ones are cut),
 * and the query at 16 parameters, so that it costs each client little.
 */
export interface ClientInfo {
  /**
   * The client's IP address: the socket's peer, or — when the connection was forwarded by
   * another node of a cluster that proved it holds the cluster secret — the address that node
   * saw. Never read from a header anyone could send (`X-Forwarded-For` is not believed).
   */
  readonly address: string;
  /** The `Origin` header of the upgrade (a browser page's origin); `''` when it had none. */
  readonly origin: string;
  /** The `User-Agent` header of the upgrade, when it had one. */
  readonly userAgent?: string;
  /**
   * The query parameters of the URL the client connected with (`/ws/room?lang=fr` gives
   * `{ lang: 'fr' }`), but those the server reads itself (`token`, `received`: a resume token
   * is a secret the service never sees) and credentials by their usual names (`access_token`,
   * `jwt`, `password`, … — see docs/service.md). The client chooses them, so they are bounded: the
   * first 16 parameters, in URL order; a name longer than 64 characters is left out, a value is
   * cut at 256; for a name given twice, its first value. `{}` when there are none.
   */
  readonly query: Readonly<Record<string, string>>;
  /**
   * The user the server's `authorize` hook admitted the client as (`{ user }`), when it named
   * one: a string, or a frozen JSON object (at most 4 KiB as JSON).
   */
  readonly user?: ClientUser;
}

/**
 * Room logic. Every callback is optional. Events of one room are delivered one at a time,
 * in arrival order; when a callback returns a promise, the room's next event waits for it.
 *
 * @example
 * ```ts
 * export default class SharedCounter implements Service {
 *   value = 0;
 *   message(_client: ClientId, payload: Payload, ctx: Context) {
 *     if (payload === 'increment') this.value += 1;
 *     else if (payload === 'decrement') this.value -= 1;
 *     else return;
 *     ctx.sendMessage('broadcast', `new value: ${this.value}`);
 *   }
 * }
 * ```
 */
export interface Service {
  /** The room was created; runs before any client connects. */
  init?(ctx: Context): MaybePromise<void>;
  /** A client joined the room. */
  connect?(client: ClientId, ctx: Context): MaybePromise<void>;
  /** A client left (closed, dropped by the heartbeat, or the server is shutting down). */
  disconnect?(client: ClientId, ctx: Context): MaybePromise<void>;
  /** A client sent a text (`string`) or binary (`Uint8Array`) message. */
  message?(client: ClientId, payload: Payload, ctx: Context): MaybePromise<void>;
  /** The timer armed with {@link Context.setTimer} fired. */
  timer?(ctx: Context): MaybePromise<void>;
  /**
   * The room is going away: it was idle past its grace period, the server is closing, or
   * `stateroom dev` reloads the service. Called once, after the room's last `disconnect` (and,
   * in a durable room, after its last snapshot was taken: what this changes is not saved), and
   * awaited — but at shutdown no longer than the server's shutdown deadline. Nothing can be
   * sent from here (no client is left) and no timer is armed. For what the service keeps
   * outside the room: flush it, close its handles. A throw is logged, as for any callback, and
   * the room is disposed all the same.
   *
   * Not called for a room that failed (its service threw while starting or restoring, or a
   * WebAssembly guest trapped), nor for one a cluster node stopped because it lost the room's
   * lease (another node may run the room by then).
   * @example
   * ```ts
   * async dispose() { await db.save(this.roomId, this.board); }
   * ```
   */
  dispose?(ctx: Context): MaybePromise<void>;
  /**
   * Durable rooms (a server with a state directory): the room's state, to be saved. Called
   * between events — never while another callback of the room runs — periodically after a
   * change, when the room is let go, and when the server shuts down. What it returns is
   * given to {@link Service.restore} when the room starts again, maybe in another process.
   * Throwing skips this save (it is logged and retried); the room goes on.
   *
   * A service with `snapshot` but without `restore` is saved but starts fresh; one without
   * either starts fresh after a restart (the server says so once at start-up).
   * @example
   * ```ts
   * snapshot() { return JSON.stringify({ value: this.value }); }
   * restore(data: Payload) { this.value = (JSON.parse(String(data)) as { value: number }).value; }
   * ```
   */
  snapshot?(ctx: Context): MaybePromise<Payload>;
  /**
   * Durable rooms: start from `data`, what {@link Service.snapshot} returned, instead of
   * `init()`. Called once, right after the service was constructed, before any other
   * callback. The room's timer is armed again by the server (as it was saved); the clients
   * of the saved room are gone and get their `disconnect` right after. Throwing fails the
   * room (its clients get 1011); the saved state is set aside and the next client starts a
   * fresh room.
   */
  restore?(data: Payload, ctx: Context): MaybePromise<void>;
}

/** A service class: constructed once per room, with the room's id and context. */
export type ServiceClass = new (roomId: string, ctx: Context) => Service;

/** A factory called once per room, with the room's id and context. */
export type ServiceFactory = (roomId: string, ctx: Context) => MaybePromise<Service>;

/** What `serve()` and a service module's default export accept. */
export type ServiceSource = ServiceClass | ServiceFactory;
