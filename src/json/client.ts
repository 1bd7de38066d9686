/**
 * The client side of a JSON room: {@link jsonClient} wraps a `stateroom/client` {@link Client}
 * with sends and listeners typed by the room's protocol. It imports no client code (it takes
 * the client it wraps), so it adds nothing to the client of an application that does not use it.
 * @module
 */
import type { Client, Data } from '../client/index.js';
import type { Incoming, Protocol, Rejection, ToClient, ToServer } from './messages.js';
import { parseMessage } from './parse.js';

/** The type names a client of protocol `P` may receive: the room's, and `error` (a {@link Rejection}). */
export type IncomingType<P extends Protocol> = (keyof P['toClient'] & string) | 'error';

/** A received message of type `K`. */
export type IncomingOf<P extends Protocol, K extends IncomingType<P>> = K extends 'error' ? Rejection : ToClient<P, K & keyof P['toClient'] & string>;

/** A {@link Client} speaking protocol `P`: JSON text both ways. */
export interface JsonClient<P extends Protocol> {
  /** The client underneath: its state, its connection events (`open`, `close`…), `close()`. */
  readonly client: Client;
  /**
   * Sends `message` as JSON text; queued while not connected, as {@link Client.send} does.
   * @returns `true` if handed to an open socket, `false` if queued.
   */
  send(message: ToServer<P>): boolean;
  /** Calls `listener` with every message of type `type` (`'error'`: the room refused one of ours). Returns a function that removes it. */
  on<K extends IncomingType<P>>(type: K, listener: (message: IncomingOf<P, K>) => void): () => void;
  /** Calls `listener` with every typed message, of any type. Returns a function that removes it. */
  onMessage(listener: (message: Incoming<P>) => void): () => void;
  /** Calls `listener` with every frame that is not a typed message (binary, not JSON, no string `type`). */
  onUntyped(listener: (data: Data) => void): () => void;
  /**
   * Stops listening to the client underneath and drops every listener of this wrapper; the
   * client itself goes on (close it with `client.close()`). For a wrapper made for a while
   * over a client that lives longer.
   */
  detach(): void;
}

type Listener = (value: never) => void;

/**
 * Wraps `client` for protocol `P` (the same type as the server's {@link route}): typed `send`,
 * and each JSON message from the room handed, parsed, to the listeners of its `type`.
 * Message fields are not checked at run time: the type says what the server promises.
 * @example
 * ```ts
 * const chat = jsonClient<Chat>(connect('/', { room: 'lobby' }));
 * chat.on('said', ({ from, text }) => show(from, text));
 * chat.on('error', ({ message }) => console.warn(message));
 * chat.send({ type: 'say', text: 'hello' });
 * ```
 */
export function jsonClient<P extends Protocol>(client: Client): JsonClient<P> {
  const byType = new Map<string, Set<Listener>>();
  const all = new Set<Listener>();
  const untyped = new Set<Listener>();
  const add = (set: Set<Listener>, listener: Listener): (() => void) => {
    set.add(listener);
    return () => void set.delete(listener);
  };
  const off = client.on('message', (data) => {
    const parsed = parseMessage(data);
    if ('rejection' in parsed) return call(untyped, data);
    call(byType.get(parsed.message.type), parsed.message);
    call(all, parsed.message);
  });
  return {
    client,
    send: (message) => client.send(JSON.stringify(message)),
    on: (type, listener) => {
      const set = byType.get(type) ?? new Set();
      byType.set(type, set);
      return add(set, listener);
    },
    onMessage: (listener) => add(all, listener),
    onUntyped: (listener) => add(untyped, listener),
    detach: () => {
      off();
      byType.clear();
      all.clear();
      untyped.clear();
    },
  };
}

function call(listeners: Set<Listener> | undefined, value: unknown): void {
  // A copy: a listener may remove itself (or another) while this runs.
  for (const listener of [...(listeners ?? [])]) (listener as (value: unknown) => void)(value);
}
