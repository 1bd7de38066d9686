/**
 * The seam between a room and the service it runs. Native TypeScript services, WASM
 * instances and (later) remote services all meet this interface, so the room loop never
 * asks which kind it runs.
 * @module
 */
import type { Logger } from '../logger.js';
import type { ClientId, Context, MaybePromise, Payload } from './types.js';

/** One room's service, as the room drives it. Every call is made one at a time, in order. */
export interface ServiceAdapter {
  init(): MaybePromise<void>;
  connect(client: ClientId): MaybePromise<void>;
  disconnect(client: ClientId): MaybePromise<void>;
  message(client: ClientId, payload: Payload): MaybePromise<void>;
  timer(): MaybePromise<void>;
  /** Releases what the adapter holds (a WASM instance, a worker); called once, last. */
  dispose?(): MaybePromise<void>;
}

/**
 * Makes one room's adapter; `ctx` is how the service talks back to that room, `log` is the
 * server's logger (a WASM guest's printed output goes there, tagged with the room).
 */
export type AdapterFactory = (roomId: string, ctx: Context, log: Logger) => MaybePromise<ServiceAdapter>;

/**
 * A service reached through an adapter rather than as a native class: what the WASM host
 * (and later other hosts) hand to `serve()`.
 */
export interface AdapterSource {
  /** Shown in logs: the file or module the service came from. */
  readonly name: string;
  readonly createAdapter: AdapterFactory;
}
