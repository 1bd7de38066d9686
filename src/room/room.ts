/**
 * A room: one live instance of a service, the clients in it, its one timer, and the FIFO
 * that runs its events strictly one at a time, in arrival order. A room never touches a
 * socket: it hands payloads to {@link ClientSink}s, whatever carries them.
 * @module
 */
import { ErrorCode, StateroomError, describeThrown, fatalCloseReason } from '../errors.js';
import type { Logger } from '../logger.js';
import type { AdapterFactory, ServiceAdapter } from '../service/adapter.js';
import { isDelay, whyNotAPayload, whyNotARecipient } from '../service/checks.js';
import type { ClientId, Context, Payload, Recipient } from '../service/types.js';
import { RoomTimer } from './timer.js';

/** Where a room sends one client's messages: the transport's side of a seat. */
export interface ClientSink {
  send(payload: Payload): void;
  /** Ends the client's connection (e.g. 1011 when the room's service failed). */
  close(code: number, reason: string): void;
}

/** What a room tells its owner (the registry). */
export interface RoomHooks {
  /** The last client left; the owner decides when to dispose the room. */
  onEmpty(room: Room): void;
  /** The service could not start; the room closed its clients and runs nothing more. */
  onFailed(room: Room): void;
}

type RoomEvent =
  | { readonly kind: 'init' }
  | { readonly kind: 'connect'; readonly client: ClientId }
  | { readonly kind: 'disconnect'; readonly client: ClientId }
  | { readonly kind: 'message'; readonly client: ClientId; readonly payload: Payload }
  | { readonly kind: 'timer'; readonly generation: number }
  | { readonly kind: 'dispose'; readonly done: () => void };

const MAX_CLIENT_ID = 2 ** 32 - 1;

/** Close code for "the server hit a condition it could not handle" (RFC 6455). */
export const CLOSE_INTERNAL_ERROR = 1011;

export class Room {
  /** The context handed to the service; valid for the room's whole life. */
  readonly context: Context;
  private adapter: ServiceAdapter | undefined;
  private state: 'live' | 'failed' | 'disposed' = 'live';
  /** Why the room failed: the close reason its clients got. */
  private failReason = '';
  private readonly queue: RoomEvent[] = [];
  private running = false;
  /** Clients whose `connect` has not run yet: they receive nothing until it has. */
  private readonly joining = new Map<ClientId, ClientSink>();
  /** Clients the service knows about and whose connection is open. */
  private readonly members = new Map<ClientId, ClientSink>();
  private lastClientId = 0;
  private readonly timer: RoomTimer;
  /** Bumped by each setTimer/clearTimer, so a timer event queued before it is dropped. */
  private timerGeneration = 0;

  constructor(
    readonly id: string,
    private readonly createAdapter: AdapterFactory,
    private readonly hooks: RoomHooks,
    private readonly log: Logger,
    timerMaxStepMs?: number,
  ) {
    const generation = (): number => this.timerGeneration;
    this.timer = new RoomTimer(() => this.enqueue({ kind: 'timer', generation: generation() }), timerMaxStepMs);
    this.context = Object.freeze({
      roomId: id,
      sendMessage: (recipient: Recipient, payload: Payload) => this.send(recipient, payload),
      setTimer: (ms: number) => this.setTimer(ms),
      clearTimer: () => this.clearTimer(),
    });
    this.enqueue({ kind: 'init' });
  }

  /** How many clients are in the room (joined and not yet left). */
  get clientCount(): number {
    return this.joining.size + this.members.size;
  }

  /** Whether the room still runs events (it has neither failed nor been disposed). */
  get live(): boolean {
    return this.state === 'live';
  }

  /**
   * Seats a new client and queues its `connect`. Returns its id: the next one after the
   * last id given out, so ids are never reused while the room lives.
   */
  join(sink: ClientSink): ClientId {
    if (this.lastClientId >= MAX_CLIENT_ID) {
      throw new StateroomError(
        ErrorCode.CLIENT_IDS_EXHAUSTED,
        `room "${this.id}" has given out all 2^32 - 1 client ids; it must be disposed before more clients can join`,
        { roomId: this.id },
      );
    }
    const client = ++this.lastClientId;
    if (this.state === 'failed') {
      // The service failed before this client arrived; tell it the same as the others.
      sink.close(CLOSE_INTERNAL_ERROR, this.failReason);
      return client;
    }
    this.joining.set(client, sink);
    this.enqueue({ kind: 'connect', client });
    return client;
  }

  /** Queues a message from `client`. */
  message(client: ClientId, payload: Payload): void {
    this.enqueue({ kind: 'message', client, payload });
  }

  /** Removes `client` at once (nothing more is sent to it) and queues its `disconnect`. */
  leave(client: ClientId): void {
    const wasJoining = this.joining.delete(client);
    if (!wasJoining && !this.members.delete(client)) return;
    this.enqueue({ kind: 'disconnect', client });
    if (this.clientCount === 0 && this.state === 'live') this.hooks.onEmpty(this);
  }

  /** Runs the events already queued, then releases the service. Resolves when done. */
  dispose(): Promise<void> {
    if (this.state !== 'live') {
      this.state = 'disposed';
      this.timer.clear();
      return Promise.resolve();
    }
    return new Promise((done) => this.enqueue({ kind: 'dispose', done }));
  }

  private enqueue(event: RoomEvent): void {
    if (this.state !== 'live') return;
    this.queue.push(event);
    if (!this.running) this.drain();
  }

  /**
   * Runs queued events until the queue is empty or a callback returns a promise; then the
   * rest waits for that promise. Synchronous services never leave the caller's stack.
   */
  private drain(): void {
    this.running = true;
    while (this.state === 'live') {
      const event = this.queue.shift();
      if (event === undefined) break;
      let result: unknown;
      try {
        result = this.run(event);
      } catch (thrown) {
        this.reportThrown(event, thrown);
        continue;
      }
      if (result instanceof Promise) {
        result.then(
          () => this.drain(),
          (thrown: unknown) => {
            this.reportThrown(event, thrown);
            this.drain();
          },
        );
        return;
      }
    }
    this.running = false;
  }

  private run(event: RoomEvent): unknown {
    switch (event.kind) {
      case 'init':
        return this.start();
      case 'connect':
        return this.connect(event.client);
      case 'disconnect':
        return this.adapter?.disconnect(event.client);
      case 'message':
        return this.adapter?.message(event.client, event.payload);
      case 'timer':
        return event.generation === this.timerGeneration ? this.adapter?.timer() : undefined;
      case 'dispose':
        return this.finish(event.done);
    }
  }

  private start(): unknown {
    const made = this.createAdapter(this.id, this.context, this.log);
    if (made instanceof Promise) return made.then((adapter) => this.started(adapter));
    return this.started(made);
  }

  private started(adapter: ServiceAdapter): unknown {
    this.adapter = adapter;
    return adapter.init();
  }

  private connect(client: ClientId): unknown {
    const sink = this.joining.get(client);
    if (sink !== undefined) {
      this.joining.delete(client);
      this.members.set(client, sink);
    }
    return this.adapter?.connect(client);
  }

  private finish(done: () => void): unknown {
    this.state = 'disposed';
    this.timer.clear();
    this.queue.length = 0;
    const released = this.adapter?.dispose?.();
    return Promise.resolve(released).finally(done);
  }

  private reportThrown(event: RoomEvent, thrown: unknown): void {
    const client = 'client' in event ? event.client : undefined;
    const where = client === undefined ? `room "${this.id}"` : `room "${this.id}", client ${client}`;
    if (event.kind === 'init' && this.adapter === undefined) {
      const message = `the service could not be created (${where}): ${describeThrown(thrown)}`;
      this.fail(new StateroomError(ErrorCode.SERVICE_LOAD, message, { roomId: this.id }, { cause: thrown }));
      return;
    }
    if (fatalCloseReason(thrown) !== undefined) {
      this.fail(thrown as StateroomError);
      return;
    }
    const callback = event.kind === 'dispose' ? 'dispose' : event.kind;
    const error = new StateroomError(
      ErrorCode.SERVICE_THREW,
      `service threw in ${callback}() (${where}); the room goes on: ${describeThrown(thrown)}`,
      { roomId: this.id, ...(client === undefined ? {} : { clientId: client }) },
      { cause: thrown },
    );
    this.log.error({ err: error, code: error.code, roomId: this.id, clientId: client, callback }, error.message);
  }

  /** The service cannot go on: close every client with 1011 and let the owner forget the room. */
  private fail(error: StateroomError): void {
    this.state = 'failed';
    this.failReason = fatalCloseReason(error) ?? 'room service failed';
    this.timer.clear();
    this.queue.length = 0;
    this.log.error({ err: error, code: error.code, roomId: this.id }, error.message);
    const sinks = [...this.joining.values(), ...this.members.values()];
    this.joining.clear();
    this.members.clear();
    for (const sink of sinks) sink.close(CLOSE_INTERNAL_ERROR, this.failReason);
    void Promise.resolve(this.adapter?.dispose?.()).catch(() => {});
    this.hooks.onFailed(this);
  }

  private send(recipient: Recipient, payload: Payload): void {
    const problem = whyNotARecipient(recipient) ?? whyNotAPayload(payload);
    if (problem !== undefined) {
      throw new StateroomError(ErrorCode.BAD_SEND, `sendMessage in room "${this.id}": ${problem}`, {
        roomId: this.id,
      });
    }
    if (typeof recipient === 'number') {
      this.members.get(recipient)?.send(payload);
      return;
    }
    const except = recipient === 'broadcast' ? undefined : recipient.except;
    for (const [client, sink] of this.members) {
      if (client !== except) sink.send(payload);
    }
  }

  private setTimer(ms: number): void {
    if (!isDelay(ms)) {
      throw new StateroomError(
        ErrorCode.BAD_TIMER,
        `setTimer in room "${this.id}": the delay must be a finite number of milliseconds >= 0, not ${String(ms)}`,
        { roomId: this.id },
      );
    }
    this.timerGeneration += 1;
    if (this.state === 'live') this.timer.set(ms);
  }

  private clearTimer(): void {
    this.timerGeneration += 1;
    this.timer.clear();
  }
}
