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
