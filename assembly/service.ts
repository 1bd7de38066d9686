import { ClientId } from "./client-id";
import { Context } from "./context";
import { Payload } from "./payload";

/**
 * Room logic: extend this class and override the callbacks you need; the others do
 * nothing. One instance runs per room (per WebAssembly instance), and its callbacks are
 * called one at a time, in the order the events arrived. The callbacks are synchronous.
 *
 * @example
 * class SharedCounter extends Service {
 *   private value: i32 = 0;
 *   message(client: ClientId, payload: Payload, ctx: Context): void { ... }
 * }
 * register(() => new SharedCounter());
 */
export class Service {
  /** The room was created; runs before any client connects. */
  init(ctx: Context): void {}

  /** A client joined the room. */
  connect(client: ClientId, ctx: Context): void {}

  /** A client left the room. */
  disconnect(client: ClientId, ctx: Context): void {}

  /** A client sent a text or binary message. */
  message(client: ClientId, payload: Payload, ctx: Context): void {}

  /** The timer armed with {@link Context.setTimer} fired. */
  timer(ctx: Context): void {}
}
