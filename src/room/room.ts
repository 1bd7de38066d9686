/**
 * A room: one live instance of a service, the clients in it, its one timer, and the FIFO
 * that runs its events strictly one at a time, in arrival order. A room never touches a
 * socket: it hands payloads to {@link ClientSink}s, whatever carries them.
 * @module
 */
import { ErrorCode, StateroomError, describeThrown, fatalCloseReason } from '../errors.js';
import type { Logger } from '../logger.js';
import { CLOSE_INTERNAL_ERROR, CLOSE_REPLACED, CLOSE_TRY_AGAIN_LATER } from '../protocol.js';
import type { AdapterFactory, ServiceAdapter } from '../service/adapter.js';
import { MAX_CLIENT_ID, isDelay, whyNotAPayload, whyNotARecipient } from '../service/checks.js';
import type { ClientId, Context, Payload, Recipient } from '../service/types.js';
import { MESSAGE_OVERHEAD, Seat, type ClientSink, type Identity } from './seat.js';
import { RoomTimer } from './timer.js';

export type { ClientSink, Identity } from './seat.js';

/** How a room treats clients that drop. */
export interface RoomOptions {
  /** How long a dropped client with a token keeps its seat; 0 turns resume off. */
  readonly resumeGraceMs: number;
  /** How much of each seat's newest traffic is kept for a resume, in bytes. */
  readonly resumeBufferBytes: number;
  /**
   * How many bytes of one client's messages may wait for a busy service; past it the client
   * is closed with 1013. Infinity when not given.
   */
  readonly maxQueuedBytes?: number;
  /** The longest single setTimeout step of the room timer (tests lower it). */
  readonly timerMaxStepMs?: number;
}

/** No resume: a client that drops is gone. */
export const NO_RESUME: RoomOptions = Object.freeze({ resumeGraceMs: 0, resumeBufferBytes: 0 });

/** What a room tells its owner (the registry). */
export interface RoomHooks {
  /** The last client left; the owner decides when to dispose the room. */
  onEmpty(room: Room): void;
  /** The service could not start; the room closed its clients and runs nothing more. */
  onFailed(room: Room): void;
  /** A service call (`init`, `connect`, …) finished after `seconds`; for metrics. */
  onCall?(callback: string, seconds: number): void;
  /** An error was logged (its code); for metrics. */
  onError?(code: string): void;
}

type RoomEvent =
  | { readonly kind: 'init' }
  | { readonly kind: 'connect'; readonly client: ClientId; readonly seat: Seat }
  | { readonly kind: 'disconnect'; readonly client: ClientId }
  | { readonly kind: 'message'; readonly client: ClientId; readonly payload: Payload; readonly seat: Seat }
  | { readonly kind: 'timer'; readonly generation: number }
  | { readonly kind: 'dispose'; readonly done: () => void };


type QueuedMessageEvent = Extract<RoomEvent, { kind: 'message' }>;

/**
 * Bounds on one `messages` call: it should carry what queued up during one crossing, not
 * hold a burst of large payloads in one buffer.
 */
const MAX_BATCHED_MESSAGES = 256;
const MAX_BATCHED_BYTES = 1024 * 1024;


export class Room {
  /** The context handed to the service; valid for the room's whole life. */
  readonly context: Context;
  private adapter: ServiceAdapter | undefined;
  private state: 'live' | 'failed' | 'disposed' = 'live';
  /** Why the room failed: the close reason its clients got. */
  private failReason = '';
  private readonly queue: RoomEvent[] = [];
  private running = false;
  /** Every seat, attached or waiting for its client to come back. */
  private readonly seats = new Map<ClientId, Seat>();
  /** The live seat of each token. */
  private readonly byToken = new Map<string, Seat>();
  /** Each token's client id, for the room's whole life (as upstream 0.2.5+ did). */
  private readonly tokenIds = new Map<string, ClientId>();
  /** Seats whose client dropped, with the timer that gives them up. */
  private readonly grace = new Map<Seat, NodeJS.Timeout>();
  private lastClientId = 0;
  private readonly timer: RoomTimer;
  /** Bumped by each setTimer/clearTimer, so a timer event queued before it is dropped. */
  private timerGeneration = 0;

  constructor(
    readonly id: string,
    private readonly createAdapter: AdapterFactory,
    private readonly hooks: RoomHooks,
    private readonly log: Logger,
    private readonly options: RoomOptions = NO_RESUME,
  ) {
    const generation = (): number => this.timerGeneration;
    this.timer = new RoomTimer(() => this.enqueue({ kind: 'timer', generation: generation() }), options.timerMaxStepMs);
    this.context = Object.freeze({
      roomId: id,
      sendMessage: (recipient: Recipient, payload: Payload) => this.send(recipient, payload),
      setTimer: (ms: number) => this.setTimer(ms),
      clearTimer: () => this.clearTimer(),
    });
    this.enqueue({ kind: 'init' });
  }

  /** How many clients hold a seat (connected, or dropped and within their grace period). */
  get clientCount(): number {
    return this.seats.size;
  }

  /** Whether the room still runs events (it has neither failed nor been disposed). */
  get live(): boolean {
    return this.state === 'live';
  }

  /** Whether a seat is held for `token` (a client with it would take that seat's place). */
  holdsToken(token: string): boolean {
    return this.byToken.has(token);
  }

  /** Whether a client with this identity would resume its seat (rather than take a new one). */
  resumable(identity: Identity): boolean {
    const seat = identity.token === undefined ? undefined : this.byToken.get(identity.token);
    return seat !== undefined && this.options.resumeGraceMs > 0 && identity.received !== undefined && seat.canResumeFrom(identity.received);
  }

  /**
   * Seats a client. With a token whose seat is still held and a `received` count it can be
   * brought up to date from, the client resumes that seat: it gets what it missed and the
   * service sees nothing. Otherwise it gets a new seat and the service a `connect` — with the
   * token's old client id if it had one (the old seat is given up first), else the next id
   * after the last one given out, so ids are never reused while the room lives.
   */
  join(sink: ClientSink, identity: Identity = {}): { client: ClientId; resumed: boolean } {
    if (this.state !== 'live') {
      // The service failed (or the room was disposed) before this client arrived.
      sink.close(CLOSE_INTERNAL_ERROR, this.failReason || 'room closed');
      return { client: 0, resumed: false };
    }
    const { token, received } = identity;
    const held = token === undefined ? undefined : this.byToken.get(token);
    if (held !== undefined) {
      if (held.attached) held.close(CLOSE_REPLACED, 'replaced by a newer connection with the same token');
      if (this.resumable(identity)) {
        this.cancelGrace(held);
        held.resume(sink, received ?? 0);
        return { client: held.client, resumed: true };
      }
      this.giveUp(held);
    }
    const client = (token === undefined ? undefined : this.tokenIds.get(token)) ?? this.nextClientId();
    const keep = token !== undefined && this.options.resumeGraceMs > 0 ? this.options.resumeBufferBytes : 0;
    const seat = new Seat(client, token, sink, keep);
    this.seats.set(client, seat);
    if (token !== undefined) {
      this.byToken.set(token, seat);
      this.tokenIds.set(token, client);
    }
    this.enqueue({ kind: 'connect', client, seat });
    return { client, resumed: false };
  }

  /**
   * Queues a message from `client`, sent on `socket`. A socket that no longer holds the
   * client's seat (it left, or a newer socket took over) is not heard: the service never
   * gets a message after the `disconnect`, or from a replaced socket.
   */
  message(client: ClientId, payload: Payload, socket: ClientSink): void {
    const seat = this.seats.get(client);
    if (seat === undefined || !seat.holds(socket)) return;
    // A client must not pile up unbounded work behind a slow (or async) service.
    seat.queuedBytes += payload.length + MESSAGE_OVERHEAD;
    if (seat.queuedBytes > (this.options.maxQueuedBytes ?? Infinity)) {
      seat.queuedBytes -= payload.length + MESSAGE_OVERHEAD;
      this.log.warn({ roomId: this.id, clientId: client }, 'client closed with 1013: too many of its messages wait for the room');
      seat.close(CLOSE_TRY_AGAIN_LATER, 'too many messages waiting for the room');
      return;
    }
    this.enqueue({ kind: 'message', client, payload, seat });
  }

  /**
   * `socket`, the connection of `client`, is gone. A seat with a token is held for the
   * grace period; any other is given up at once (nothing more is sent to it, and its
   * `disconnect` is queued). A socket that was replaced is ignored.
   */
  leave(client: ClientId, socket: ClientSink): void {
    const seat = this.seats.get(client);
    if (seat === undefined || !seat.holds(socket)) return;
    if (seat.token !== undefined && this.options.resumeGraceMs > 0 && this.state === 'live') {
      seat.detach();
      const timer = setTimeout(() => this.giveUp(seat), this.options.resumeGraceMs);
      timer.unref();
      this.grace.set(seat, timer);
      return;
    }
    this.giveUp(seat);
  }

  /** Runs the events already queued, then releases the service. Resolves when done. */
  dispose(): Promise<void> {
    if (this.state !== 'live') {
      this.stop('disposed');
      return Promise.resolve();
    }
    // Seats held for a resume will not be resumed now: their disconnects come first.
    for (const seat of [...this.seats.values()]) if (!seat.attached) this.giveUp(seat);
    return new Promise((done) => this.enqueue({ kind: 'dispose', done }));
  }

  private nextClientId(): ClientId {
    if (this.lastClientId >= MAX_CLIENT_ID) {
      throw new StateroomError(
        ErrorCode.CLIENT_IDS_EXHAUSTED,
        `room "${this.id}" has given out all 2^32 - 1 client ids; it must be disposed before more clients can join`,
        { roomId: this.id },
      );
    }
    return ++this.lastClientId;
  }

  /** The seat is gone for good: forget it and queue its `disconnect`. */
  private giveUp(seat: Seat): void {
    this.cancelGrace(seat);
    if (this.seats.get(seat.client) !== seat) return;
    this.seats.delete(seat.client);
    if (seat.token !== undefined && this.byToken.get(seat.token) === seat) this.byToken.delete(seat.token);
    seat.connected = false;
    this.enqueue({ kind: 'disconnect', client: seat.client });
    if (this.seats.size === 0 && this.state === 'live') this.hooks.onEmpty(this);
  }

  private cancelGrace(seat: Seat): void {
    const timer = this.grace.get(seat);
    if (timer === undefined) return;
    clearTimeout(timer);
    this.grace.delete(seat);
  }

  /**
   * The room runs nothing more: no timer, no grace periods, and nothing queued — whoever
   * waits for a queued dispose is told it is done.
   */
  private stop(state: 'failed' | 'disposed'): void {
    this.state = state;
    this.timer.clear();
    this.clearGrace();
    for (const event of this.queue.splice(0)) if (event.kind === 'dispose') event.done();
  }

  private clearGrace(): void {
    for (const timer of this.grace.values()) clearTimeout(timer);
    this.grace.clear();
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
      const started = performance.now();
      try {
        result = event.kind === 'message' && this.adapter?.messages !== undefined ? this.runMessages(event) : this.run(event);
      } catch (thrown) {
        this.timed(event, started);
        this.reportThrown(event, thrown);
        continue;
      }
      if (result instanceof Promise) {
        result.then(
          () => {
            this.timed(event, started);
            this.drain();
          },
          (thrown: unknown) => {
            this.timed(event, started);
            this.reportThrown(event, thrown);
            this.drain();
          },
        );
        return;
      }
      this.timed(event, started);
    }
    this.running = false;
  }

  private timed(event: RoomEvent, started: number): void {
    this.hooks.onCall?.(event.kind, (performance.now() - started) / 1000);
  }

  private run(event: RoomEvent): unknown {
    switch (event.kind) {
      case 'init':
        return this.start();
      case 'connect':
        // Only now does the client become a recipient (unless it already left).
        if (this.seats.get(event.client) === event.seat) event.seat.connected = true;
        return this.adapter?.connect(event.client);
      case 'disconnect':
        return this.adapter?.disconnect(event.client);
      case 'message':
        event.seat.queuedBytes -= event.payload.length + MESSAGE_OVERHEAD;
        return this.adapter?.message(event.client, event.payload);
      case 'timer':
        return event.generation === this.timerGeneration ? this.adapter?.timer() : undefined;
      case 'dispose':
        return this.finish(event.done);
    }
  }

  /**
   * A message and the messages queued right behind it, as one adapter call (for adapters
   * that take them so: see `ServiceAdapter.messages`). Only a run of messages goes together:
   * a connect, disconnect or timer changes who receives what, so each still runs alone.
   */
  private runMessages(first: QueuedMessageEvent): unknown {
    const batch = [first];
    let bytes = first.payload.length;
    for (let next = this.queue[0]; next?.kind === 'message' && batch.length < MAX_BATCHED_MESSAGES && bytes < MAX_BATCHED_BYTES; next = this.queue[0]) {
      batch.push(next);
      bytes += next.payload.length;
      this.queue.shift();
    }
    for (const event of batch) event.seat.queuedBytes -= event.payload.length + MESSAGE_OVERHEAD;
    return this.adapter?.messages?.(batch);
  }

  /** {@link AdapterFailed}: the service cannot go on, though no call failed. */
  private readonly adapterFailed = (error: StateroomError): void => {
    if (this.state === 'live') this.fail(error);
  };

  private start(): unknown {
    const made = this.createAdapter(this.id, this.context, this.log, this.adapterFailed);
    if (made instanceof Promise) return made.then((adapter) => this.started(adapter));
    return this.started(made);
  }

  private started(adapter: ServiceAdapter): unknown {
    this.adapter = adapter;
    return adapter.init();
  }

  private finish(done: () => void): unknown {
    this.stop('disposed');
    // Even an adapter whose dispose throws at once must not leave the disposer waiting.
    return Promise.resolve()
      .then(() => this.adapter?.dispose?.())
      .finally(done);
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
    const callback = event.kind;
    const error = new StateroomError(
      ErrorCode.SERVICE_THREW,
      `service threw in ${callback}() (${where}); the room goes on: ${describeThrown(thrown)}`,
      { roomId: this.id, ...(client === undefined ? {} : { clientId: client }) },
      { cause: thrown },
    );
    this.log.error({ err: error, code: error.code, roomId: this.id, clientId: client, callback }, error.message);
    this.hooks.onError?.(error.code);
  }

  /** The service cannot go on: close every client with 1011 and let the owner forget the room. */
  private fail(error: StateroomError): void {
    this.stop('failed');
    this.failReason = fatalCloseReason(error) ?? 'room service failed';
    this.log.error({ err: error, code: error.code, roomId: this.id }, error.message);
    this.hooks.onError?.(error.code);
    const seats = [...this.seats.values()];
    this.seats.clear();
    this.byToken.clear();
    for (const seat of seats) seat.close(CLOSE_INTERNAL_ERROR, this.failReason);
    void Promise.resolve()
      .then(() => this.adapter?.dispose?.())
      .catch(() => {});
    this.hooks.onFailed(this);
  }

  private send(recipient: Recipient, payload: Payload): void {
    const problem = whyNotARecipient(recipient) ?? whyNotAPayload(payload);
    if (problem !== undefined) {
      throw new StateroomError(ErrorCode.BAD_SEND, `sendMessage in room "${this.id}": ${problem}`, {
        roomId: this.id,
      });
    }
    // Bytes are the server's once sent: a service may reuse its buffer for the next message,
    // while these may still wait in sockets and resume buffers (and are framed once for all).
    const owned = typeof payload === 'string' ? payload : Buffer.from(payload);
    if (typeof recipient === 'number') {
      const seat = this.seats.get(recipient);
      if (seat?.connected) seat.send(owned);
      return;
    }
    const except = recipient === 'broadcast' ? undefined : recipient.except;
    for (const seat of this.seats.values()) {
      if (seat.connected && seat.client !== except) seat.send(owned);
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
