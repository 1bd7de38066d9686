/**
 * The server side of a JSON room: {@link route} turns one handler per message type into a
 * service's `message` callback, and {@link typed} gives any callback typed sends.
 * @module
 */
import type { ClientId, Context, MaybePromise, Payload, Recipient } from '../service/types.js';
import type { Protocol, Rejection, ToClient, ToServer } from './messages.js';
import { parseMessage } from './parse.js';

/** A room's {@link Context}, with sends typed by protocol `P`. */
export interface JsonContext<P extends Protocol> extends Context {
  /** Sends `message` (as JSON text) to `recipient`: a client id, `'broadcast'` or `{ except: id }`. */
  send(recipient: Recipient, message: ToClient<P>): void;
  /** Sends `message` (as JSON text) to every client in the room. */
  broadcast(message: ToClient<P>): void;
}

/** One handler per message type a client may send: each gets that type's message. */
export type Handlers<P extends Protocol> = {
  readonly [K in keyof P['toServer'] & string]: (client: ClientId, message: ToServer<P, K>, ctx: JsonContext<P>) => MaybePromise<void>;
};

/** Options of {@link route}. */
export interface RouteOptions<P extends Protocol> {
  /**
   * Called after a client was sent a {@link Rejection} (its message was refused), to count or
   * close clients that keep sending what the room does not take: `ctx.close(client, 4000)`.
   */
  readonly rejected?: (client: ClientId, rejection: Rejection, ctx: JsonContext<P>) => MaybePromise<void>;
}

/** The message callback {@link route} makes, as a service's `message`. */
export type MessageCallback = (client: ClientId, payload: Payload, ctx: Context) => MaybePromise<void>;

/** Each room's typed context, made once per room (a room has one context for its life). */
const contexts = new WeakMap<Context, JsonContext<Protocol>>();

/**
 * A room's context with typed `send` and `broadcast`: for callbacks other than the handlers
 * of {@link route} (`connect`, `timer`…). The same object for every call with the same room.
 * @example
 * ```ts
 * connect(client: ClientId, ctx: Context) {
 *   typed<Chat>(ctx).send(client, { type: 'said', from: 0, text: 'welcome' });
 * }
 * ```
 */
export function typed<P extends Protocol>(ctx: Context): JsonContext<P> {
  let json = contexts.get(ctx);
  if (json === undefined) {
    json = Object.freeze({
      ...ctx,
      send: (recipient: Recipient, message: object) => ctx.sendMessage(recipient, JSON.stringify(message)),
      broadcast: (message: object) => ctx.sendMessage('broadcast', JSON.stringify(message)),
    });
    contexts.set(ctx, json);
  }
  return json;
}

/**
 * A service's `message` callback for protocol `P`: each text frame is parsed as JSON and
 * handed to the handler of its `type`. A frame that is not a JSON object with a `type` the
 * handlers know — binary, not JSON, no string `type`, an unknown one — calls no handler:
 * that client alone is sent a {@link Rejection} (`{"type":"error","error":…,"message":…}`)
 * and the room goes on. Message fields are not checked at run time: a handler that needs to
 * trust them checks them (with any validator).
 * @example
 * ```ts
 * export default class ChatRoom implements Service {
 *   message = route<Chat>({
 *     say: (client, { text }, ctx) => ctx.broadcast({ type: 'said', from: client, text }),
 *     leave: (client, _message, ctx) => ctx.close(client),
 *   });
 * }
 * ```
 * @throws TypeError when a handler is not a function.
 */
export function route<P extends Protocol>(handlers: Handlers<P>, options: RouteOptions<P> = {}): MessageCallback {
  // Own, function-valued names only: a type such as "toString" or "__proto__" is not a handler.
  const table = new Map<string, (client: ClientId, message: never, ctx: JsonContext<P>) => MaybePromise<void>>();
  for (const [type, handler] of Object.entries(handlers as Record<string, unknown>)) {
    if (typeof handler !== 'function') throw new TypeError(`stateroom/json route(): the handler for "${type}" is a ${typeof handler}, not a function`);
    table.set(type, handler as (client: ClientId, message: never, ctx: JsonContext<P>) => MaybePromise<void>);
  }
  const known: ReadonlySet<string> = new Set(table.keys());
  const { rejected } = options;
  return (client, payload, ctx) => {
    const json = typed<P>(ctx);
    const parsed = parseMessage(payload, known);
    if ('rejection' in parsed) {
      ctx.sendMessage(client, JSON.stringify(parsed.rejection));
      return rejected?.(client, parsed.rejection, json);
    }
    return table.get(parsed.message.type)!(client, parsed.message as never, json);
  };
}
