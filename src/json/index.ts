/**
 * `stateroom/json`: typed JSON messages for rooms, opt-in. One {@link Protocol} type names
 * what each side sends; {@link route} makes a service's `message` callback from one handler
 * per type (refusing malformed input with a {@link Rejection} to that client), {@link typed}
 * gives any callback typed sends, and {@link jsonClient} wraps a `stateroom/client` client
 * with the same types. Runs in Node and in browsers; re-exports only.
 * @module
 */
export type { Incoming, Message, Protocol, Rejection, RejectionReason, ToClient, ToServer } from './messages.js';
export { route, typed, type Handlers, type JsonContext, type MessageCallback, type RouteOptions } from './route.js';
export { jsonClient, type IncomingOf, type IncomingType, type JsonClient } from './client.js';
