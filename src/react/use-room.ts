/**
 * `useRoom` and `useJsonRoom`: a React component's connection to one room, made with
 * `stateroom/client` when the component mounts and closed when it unmounts.
 * @module
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import { connect, type Client, type ClientOptions, type ClientState, type Data } from '../client/index.js';
import type { Incoming, Protocol, ToServer } from '../json/messages.js';
import { parseMessage } from '../json/parse.js';

/** Options of {@link useRoom}: the client's ({@link ClientOptions}: `room`, `token`, delays…), and `onMessage`. */
export interface RoomOptions extends ClientOptions {
  /**
   * Called with every message, in order — also those that arrive between two renders, of which
   * `lastMessage` shows only the last. The newest function given is called; changing it does
   * not reconnect.
   */
  onMessage?: ((data: Data) => void) | undefined;
}

/** What {@link useRoom} returns. */
export interface Room {
  /** The client's state: `connecting`, `open`, `reconnecting`, or `closed` (for good). */
  readonly status: ClientState;
  /** The newest message from the room, `undefined` until the first. */
  readonly lastMessage: Data | undefined;
  /**
   * Sends text or bytes; queued while not connected (see the client's `send`). The same
   * function for the component's life.
   * @returns `true` if handed to an open socket, `false` if queued.
   * @throws Error when called before the component mounted or after it unmounted, and once
   *   `status` is `closed` (the client's own error).
   */
  readonly send: (data: Data) => boolean;
}

/** Options of {@link useJsonRoom}: as {@link RoomOptions}, with `onMessage` getting typed messages. */
export interface JsonRoomOptions<P extends Protocol> extends ClientOptions {
  /** Called with every typed message, in order; see {@link RoomOptions.onMessage}. */
  onMessage?: ((message: Incoming<P>) => void) | undefined;
}

/** What {@link useJsonRoom} returns: as {@link Room}, typed by protocol `P`. */
export interface JsonRoom<P extends Protocol> {
  readonly status: ClientState;
  /** The newest typed message (a frame that is not one leaves it as it was); `undefined` until the first. */
  readonly lastMessage: Incoming<P> | undefined;
  /** Sends `message` as JSON text; see {@link Room.send}. */
  readonly send: (message: ToServer<P>) => boolean;
}

/**
 * Connects to a room while the component is mounted: `status` follows the connection,
 * `lastMessage` is the newest message, `send` sends. One client per component: it is made
 * when the component mounts, kept across renders (new option objects with the same values do
 * not reconnect; a new `url`, `room`, `token` or other option value does), and closed when the
 * component unmounts. Under `<StrictMode>`, whose development build runs effects twice, the
 * client of the first run is kept rather than closed and dialled again.
 * @example
 * ```tsx
 * function Counter() {
 *   const { status, lastMessage, send } = useRoom('/', { room: 'counter' });
 *   return <button disabled={status !== 'open'} onClick={() => send('increment')}>{String(lastMessage ?? '…')}</button>;
 * }
 * ```
 * @throws TypeError (from the client, when the component mounts) for an invalid option or URL.
 */
export function useRoom(url: string, options: RoomOptions = {}): Room {
  return useConnection<Data>(url, options, (data) => data);
}

/**
 * {@link useRoom} for a room of protocol `P` (`stateroom/json`): `send` takes typed messages,
 * `lastMessage` and `onMessage` get them parsed — a {@link Rejection} (`type: 'error'`)
 * included, when the room refused one of ours.
 * @example
 * ```tsx
 * const { status, lastMessage, send } = useJsonRoom<Chat>('/', { room: 'lobby' });
 * send({ type: 'say', text: 'hello' });
 * if (lastMessage?.type === 'said') show(lastMessage.text);
 * ```
 */
export function useJsonRoom<P extends Protocol>(url: string, options: JsonRoomOptions<P> = {}): JsonRoom<P> {
  const room = useConnection<Incoming<P>>(url, options, readJson);
  const { send } = room;
  const sendJson = useCallback((message: ToServer<P>) => send(JSON.stringify(message)), [send]);
  return { status: room.status, lastMessage: room.lastMessage, send: sendJson };
}

function readJson<T>(data: Data): T | undefined {
  const parsed = parseMessage(data);
  return 'message' in parsed ? (parsed.message as T) : undefined;
}

/** The client a component holds, with the option values it was made with. */
interface Held {
  readonly key: string;
  /** The `WebSocket` option it was made with (a class: compared by identity, not in `key`). */
  readonly WebSocket: ClientOptions['WebSocket'];
  readonly client: Client;
  /** Set by an effect's cleanup; a re-run of the effect in the same task clears it and keeps the client. */
  releasing: boolean;
}

interface Connection<T> {
  readonly status: ClientState;
  readonly lastMessage: T | undefined;
  readonly send: (data: Data) => boolean;
}

function useConnection<T>(url: string, options: ClientOptions & { onMessage?: ((message: T) => void) | undefined }, read: (data: Data) => T | undefined): Connection<T> {
  const { onMessage, WebSocket, ...values } = options;
  // Options are compared by value: a component passes a new object on every render.
  const key = JSON.stringify([url, values]);
  const holder = useRef<Held | undefined>(undefined);
  const listener = useRef(onMessage);
  const [status, setStatus] = useState<ClientState>('connecting');
  const [lastMessage, setLastMessage] = useState<T | undefined>(undefined);

  useEffect(() => {
    listener.current = onMessage;
  });

  useEffect(() => {
    let held = holder.current;
    if (held?.key === key && held.WebSocket === WebSocket && held.releasing && held.client.state !== 'closed') {
      held.releasing = false; // StrictMode's second run: keep the first run's client
    } else {
      held?.client.close();
      // Forgotten before connect() may throw: send() then says there is no client, not "closed".
      holder.current = undefined;
      held = { key, WebSocket, client: connect(url, { ...values, WebSocket }), releasing: false };
      holder.current = held;
      setLastMessage(undefined);
    }
    const { client } = held;
    const update = (): void => setStatus(client.state);
    update();
    const off = [
      client.on('open', update),
      client.on('close', update),
      client.on('reconnecting', update),
      client.on('message', (data) => {
        const message = read(data);
        if (message === undefined) return;
        listener.current?.(message);
        setLastMessage(() => message);
      }),
    ];
    const mine = held;
    return () => {
      for (const remove of off) remove();
      mine.releasing = true;
      // An unmount, or StrictMode's rehearsal of one: its second run comes in this same task.
      queueMicrotask(() => {
        if (!mine.releasing) return;
        mine.client.close();
        if (holder.current === mine) holder.current = undefined;
      });
    };
    // `key` stands for url and the option values; `read` is each hook's own constant.
  }, [key, WebSocket]);

  const send = useCallback((data: Data): boolean => {
    const held = holder.current;
    if (held === undefined) throw new Error('stateroom/react: send() before the component mounted or after it unmounted: the room has no client then');
    return held.client.send(data);
  }, []);

  return { status, lastMessage, send };
}
