/**
 * The types both ends of a JSON room share: a {@link Protocol} names the messages each side
 * sends, as a map from a message's `type` to its other fields; {@link Message} turns a map
 * into the union of `{ type, ...fields }` objects that travel as JSON text frames.
 * @module
 */

/**
 * The messages of a room, both ways. Each map goes from a message's `type` to its other
 * fields (`{}` for none):
 *
 * ```ts
 * interface Chat {
 *   toServer: { say: { text: string }; leave: {} };
 *   toClient: { said: { from: number; text: string } };
 * }
 * ```
 *
 * `error` is not a `toClient` type of your own: the server sends it to a client whose
 * message it refused (see {@link Rejection}).
 */
export interface Protocol {
  /** What clients send to the room. */
  readonly toServer: object;
  /** What the room sends to clients. `error` is taken: it is the {@link Rejection}. */
  readonly toClient: object & { readonly error?: never };
}

/** Shows an intersection as one object type (in editors' hovers and in error messages). */
type Flat<T> = { [K in keyof T]: T[K] } & {};

/**
 * One message of map `M`: `{ type: K, ...M[K] }`, for `K` one type (or a union of types,
 * the default being all of them, which gives a union discriminated by `type`).
 */
export type Message<M extends object, K extends keyof M & string = keyof M & string> = {
  [T in K]: Flat<{ type: T } & M[T]>;
}[K];

/** A message a client sends to the room of protocol `P`. */
export type ToServer<P extends Protocol, K extends keyof P['toServer'] & string = keyof P['toServer'] & string> = Message<P['toServer'], K>;

/** A message the room of protocol `P` sends to its clients (its own; see {@link Incoming}). */
export type ToClient<P extends Protocol, K extends keyof P['toClient'] & string = keyof P['toClient'] & string> = Message<P['toClient'], K>;

/** Everything a client of protocol `P` may receive as a typed message: the room's, or a {@link Rejection}. */
export type Incoming<P extends Protocol> = ToClient<P> | Rejection;

/**
 * Why the room refused a client's message:
 * - `binary`: a binary frame (a JSON room takes text);
 * - `not-json`: text that does not parse as JSON;
 * - `not-object`: JSON, but not an object (an array, a string, `null`…);
 * - `no-type`: an object without a string `type`;
 * - `unknown-type`: a `type` the room has no handler for.
 */
export type RejectionReason = 'binary' | 'not-json' | 'not-object' | 'no-type' | 'unknown-type';

/**
 * What the room sends a client whose message it refused (the handler is not called): the
 * reason, as a stable code to match on, and a sentence for people, such as
 * `unknown message type "sya" (this room takes: say, leave)`.
 */
export interface Rejection {
  readonly type: 'error';
  readonly error: RejectionReason;
  readonly message: string;
}
