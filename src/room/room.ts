/**
 * A room: one live instance of a service, its one timer, and the FIFO that runs its events
 * strictly one at a time, in arrival order; its clients' seats are kept by {@link Seats}.
 * A room never touches a socket: it hands payloads to {@link ClientSink}s, whatever carries
 * them.
 * @module
 */
import { ErrorCode, StateroomError, describeThrown, fatalCloseReason } from '../errors.js';
import { throttleOf, type Logger } from '../logger.js';
import { CLOSE_INTERNAL_ERROR, CLOSE_TRY_AGAIN_LATER } from '../protocol.js';
import type { AdapterFactory, ServiceAdapter } from '../service/adapter.js';
import { isClientId, isDelay, shown, whyNotAClose, whyNotAPayload, whyNotARecipient } from '../service/checks.js';
import type { ClientId, ClientInfo, Context, Payload, Recipient } from '../service/types.js';
import { MESSAGE_OVERHEAD, type ClientSink, type Identity, type Seat } from './seat.js';
import { Seats, type SeatOptions } from './seats.js';
import type { LoadState, RoomState } from './state.js';
import { RoomTimer } from './timer.js';

export type { ClientSink, Identity } from './seat.js';

/** How a room treats its clients. */
export interface RoomOptions extends SeatOptions {
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
  /**
   * Where the room's saved state comes from, when rooms are durable: asked once, before the
   * service starts; a state with a body is restored instead of calling `init()`.
   */
  load?: LoadState;
  /**
   * The room began an event since its last snapshot (its state may change): told once per
   * snapshot, so the owner can schedule the next save.
   */
  onDirty?(room: Room): void;
  /**
   * Optional: asked before each event runs — whether this process may still run the room (a
   * node of a cluster must prove its lease first: a node paused past it must not apply what
   * waited in its sockets). False stops the event; the owner stops the room.
   */
  mayRun?(room: Room): boolean;
}

type RoomEvent =
  | { readonly kind: 'init' }
  | { readonly kind: 'connect'; readonly client: ClientId; readonly seat: Seat; readonly info: ClientInfo | undefined }
  | { readonly kind: 'disconnect'; readonly client: ClientId }
  | { readonly kind: 'message'; readonly client: ClientId; readonly payload: Payload; readonly seat: Seat }
  | { readonly kind: 'timer'; readonly generation: number }
  | { readonly kind: 'snapshot'; readonly taken: (state: RoomState | undefined) => void; readonly failed: (thrown: unknown) => void }
  | { readonly kind: 'dispose'; readonly done: () => void };


type QueuedMessageEvent = Extract<RoomEvent, { kind: 'message' }>;

/**
 * Bounds on one `messages` call: it should carry what queued up during one crossing, not
 * hold a burst of large payloads in one buffer.
 */
const MAX_BATCHED_MESSAGES = 256;
const MAX_BATCHED_BYTES = 1024 * 1024;

/** Failures of a guest itself (as opposed to its thread or the clock) — after a restore, its saved state's doing. */
const GUEST_FAULTS: ReadonlySet<string> = new Set([ErrorCode.WASM_TRAP, ErrorCode.WASM_MEMORY, ErrorCode.WASM_BAD_OUTPUT, ErrorCode.WASM_EXIT]);


export class Room {
  /** The context handed to the service; valid for the room's whole life. */
  readonly context: Context;
  /** The service; a native one may have a `dispose` hook ({@link ServiceAdapter.beforeDispose}). */
  private adapter: ServiceAdapter | undefined;
  private state: 'live' | 'failed' | 'disposed' = 'live';
  /** Why the room failed: the close reason its clients got. */
  private failReason = '';
  private readonly queue: RoomEvent[] = [];
  private running = false;
  private readonly seats: Seats;
  private readonly timer: RoomTimer;
  /** Bumped by each setTimer/clearTimer, so a timer event queued before it is dropped. */
  private timerGeneration = 0;
  /** Whether the room began an event since its last snapshot. */
  private dirty = false;
  /** Whether a client has sent the room a message (a room nobody spoke to is not worth saving). */
  private spoken = false;
  /** Whether the room started from a saved state. */
  private fromSaved = false;
  /** The saved tokens' client ids were handed over before the first seat (continueClientIds). */
  private tokenIdsRestored = false;
  /** Restored, and no message or timer has succeeded since: a guest fault now may be the saved state's. */
  private unproven = false;
  /** See {@link failedFromSaved}. */
  private blameSaved = false;
  /** The room is about to be let go (the server closes): a sleeping service is not woken for disconnects. */
  private retiring = false;
  /**
   * The clients the service has seen connect and not yet disconnect (what a snapshot lists),
   * with what their connection told of them ({@link Context.clientInfo}).
   */
  private readonly known = new Map<ClientId, ClientInfo | undefined>();
  /** The client whose `disconnect` runs now, and its info: the service may still ask who it was. */
  private leaving: ClientId = 0;
  private leavingInfo: ClientInfo | undefined;

  constructor(
    readonly id: string,
    private readonly createAdapter: AdapterFactory,
    private readonly hooks: RoomHooks,
    private readonly log: Logger,
    private readonly options: RoomOptions = NO_RESUME,
  ) {
    this.seats = new Seats(id, options, (seat) => this.released(seat));
    const generation = (): number => this.timerGeneration;
    this.timer = new RoomTimer(() => this.enqueue({ kind: 'timer', generation: generation() }), options.timerMaxStepMs);
    this.context = Object.freeze({
      roomId: id,
      sendMessage: (recipient: Recipient, payload: Payload) => this.send(recipient, payload),
      setTimer: (ms: number) => this.setTimer(ms),
      clearTimer: () => this.clearTimer(),
      close: (client: ClientId, code?: number, reason?: string) => this.closeClient(client, code, reason),
      clientInfo: (client: ClientId) => this.clientInfo(client),
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

  /** Whether a client has sent this room a message. */
  get touched(): boolean {
    return this.spoken;
  }

  /** Whether the room started from a saved state. */
  get restored(): boolean {
    return this.fromSaved;
  }

  /**
   * Whether the room failed because of its saved state (set it aside, start fresh next time):
   * its restore failed, or the guest broke (trapped, ran out of memory, sent garbage, exited)
   * in an event before any message or timer ran after the restore. Not when a client's message
   * made it fail — a client must not be able to wipe a room's history — nor when it was lost
   * with its thread or timed out, which says nothing about its state.
   */
  get failedFromSaved(): boolean {
    return this.state === 'failed' && this.blameSaved;
  }

  /**
   * Captures the room's state between two events: queued behind every event already queued,
   * so it never holds half of one. Resolves `undefined` when the room is not live or its
   * service keeps nothing to save; rejects when the service's snapshot throws (the room goes on).
   */
  snapshot(): Promise<RoomState | undefined> {
    if (this.state !== 'live') return Promise.resolve(undefined);
    return new Promise((taken, failed) => this.enqueue({ kind: 'snapshot', taken, failed }));
  }

  /**
   * Counts the room's changes as dealt with without a snapshot (its owner chose not to save
   * them), so the next event tells the owner again.
   */
  skipSave(): void {
    this.dirty = false;
  }

  /**
   * Gives out client ids after `last` (a saved room's last one): ids are never reused across a
   * restore; and a token of `tokenIds` gets its saved id back. Before the first seat.
   */
  continueClientIds(last: ClientId, tokenIds?: RoomState['tokenIds']): void {
    this.seats.continueFrom(last);
    if (tokenIds === undefined) return;
    this.seats.restoreTokenIds(tokenIds);
    this.tokenIdsRestored = true;
  }

  /** Counts the room as changed again (a save of its last snapshot failed: it must be retried). */
  markDirty(): void {
    if (this.state !== 'live' || this.dirty) return;
    this.dirty = true;
    this.hooks.onDirty?.(this);
  }

  /** Whether a seat is held for `token` (a client with it would take that seat's place). */
  holdsToken(token: string): boolean {
    return this.seats.holdsToken(token);
  }

  /** Whether a client with this identity would resume its seat (rather than take a new one). */
  resumable(identity: Identity): boolean {
    return this.seats.resumable(identity);
  }

  /** Why a client that would resume ({@link resumable}) may not do so now (see {@link Seats.resumeRefusal}), or undefined. */
  resumeRefusal(identity: Identity): string | undefined {
    return this.seats.resumeRefusal(identity);
  }

  /**
   * Seats a client (see {@link Seats.take}). A client that resumes its seat gets what it
   * missed and the service sees nothing; a new seat is the service's `connect`.
   */
  join(sink: ClientSink, identity: Identity = {}): { client: ClientId; resumed: boolean } {
    if (this.state !== 'live') {
      // The service failed (or the room was disposed) before this client arrived.
      sink.close(CLOSE_INTERNAL_ERROR, this.failReason || 'room closed');
      return { client: 0, resumed: false };
    }
    const { seat, resumed } = this.seats.take(sink, identity);
    if (!resumed) this.enqueue({ kind: 'connect', client: seat.client, seat, info: identity.info });
    return { client: seat.client, resumed };
  }

  /**
   * Queues a message from `client`, sent through `sink`. A sink that no longer holds the
   * client's seat (it left, or a newer connection took over) is not heard: the service never
   * gets a message after the `disconnect`, or from a replaced connection.
   */
  message(client: ClientId, payload: Payload, sink: ClientSink): void {
    const seat = this.seats.get(client);
    if (seat === undefined || !seat.holds(sink)) return;
    // A client must not pile up unbounded work behind a slow (or async) service.
    seat.queuedBytes += payload.length + MESSAGE_OVERHEAD;
    if (seat.queuedBytes > (this.options.maxQueuedBytes ?? Infinity)) {
      seat.queuedBytes -= payload.length + MESSAGE_OVERHEAD;
      // Throttled by kind, as the transport's lines about one client are: not a line per client.
      throttleOf(this.log).write('warn', 'clients', 'queue-full', { roomId: this.id, clientId: client }, 'client closed with 1013: too many of its messages wait for the room', { kind: 'queue-full' });
      seat.close(CLOSE_TRY_AGAIN_LATER, 'too many messages waiting for the room');
      // As for any client that left: its socket's close will not find the seat it no longer
      // holds, so the seat is dropped here (held for a resume when it has a token).
      this.seats.drop(seat, this.state === 'live');
      return;
    }
    seat.received += 1;
    this.spoken = true;
    this.enqueue({ kind: 'message', client, payload, seat });
  }

  /**
   * A message from `client` arrived through `sink` but the transport dropped it (over the
   * client's rate limit): the seat counts it as received, so an exact client does not send
   * it again, though the service never sees it.
   */
  skipped(client: ClientId, sink: ClientSink): void {
    const seat = this.seats.get(client);
    if (seat !== undefined && seat.holds(sink)) seat.received += 1;
  }

  /**
   * `sink`, the connection of `client`, is gone. A seat with a token is held for the
   * grace period, unless the client is `leaving` (it closed on purpose); any other is given
   * up at once (nothing more is sent to it, and its `disconnect` is queued). A sink that was
   * replaced is ignored.
   */
  leave(client: ClientId, sink: ClientSink, leaving = false): void {
    const seat = this.seats.get(client);
    if (seat === undefined || !seat.holds(sink)) return;
    this.seats.drop(seat, this.state === 'live' && !leaving);
  }

  /**
   * Runs the events already queued, then releases the service. Resolves when done. Seats held
   * for a resume are given up first, so their `disconnect`s run before the service goes — and
   * before a snapshot asked for after this call.
   */
  dispose(): Promise<void> {
    if (this.state !== 'live') {
      this.stop('disposed');
      return Promise.resolve();
    }
    // Seats held for a resume will not be resumed now: their disconnects come first.
    this.seats.giveUpDetached();
    return new Promise((done) => this.enqueue({ kind: 'dispose', done }));
  }

  /** A seat is gone for good: queue its `disconnect`. */
  private released(seat: Seat): void {
    this.enqueue({ kind: 'disconnect', client: seat.client });
    if (this.seats.size === 0 && this.state === 'live') this.hooks.onEmpty(this);
  }

  /**
   * The room runs nothing more: no timer, no grace periods, and nothing queued — whoever
   * waits for a queued dispose is told it is done.
   */
  private stop(state: 'failed' | 'disposed'): void {
    this.state = state;
    this.timer.clear();
    this.seats.stopGrace();
    for (const event of this.queue.splice(0)) {
      if (event.kind === 'dispose') event.done();
      else if (event.kind === 'snapshot') event.taken(undefined);
    }
  }

  /**
   * Stops the room at once, running nothing more and saving nothing: its clients are closed
   * with `code` and the service released. For a room this process may no longer run (its
   * lease in a cluster was lost): anything it did from now on could clash with its new owner.
   */
  abandon(code: number, reason: string): Promise<void> {
    if (this.state !== 'live') return Promise.resolve();
    this.stop('disposed');
    this.seats.closeAll(code, reason);
    return Promise.resolve()
      .then(() => this.adapter?.dispose?.())
      .catch(() => {});
  }

  /**
   * The room will be let go soon, saved (the server is closing): from now on a sleeping
   * service is not woken to hear its clients leave — they stay in its saved state, and the
   * restore delivers their `disconnect`s.
   */
  expectRetire(): void {
    this.retiring = true;
  }

  /** Gives up the seats held for a resume now (their `disconnect`s are queued). */
  releaseDetached(): void {
    if (this.state === 'live') this.seats.giveUpDetached();
  }

  private enqueue(event: RoomEvent): void {
    if (this.state !== 'live') return;
    // Nothing running or waiting: run it now, without a trip through the queue (an empty
    // array that is pushed to allocates its backing store again, for each event).
    if (!this.running && this.queue.length === 0) return this.drain(event);
    this.queue.push(event);
    if (!this.running) this.drain();
  }

  /**
   * Runs `first`, if given, then queued events until the queue is empty or a callback returns
   * a promise; then the rest waits for that promise. Synchronous services never leave the
   * caller's stack.
   */
  private drain(first?: RoomEvent): void {
    this.running = true;
    let next = first;
    while (this.state === 'live') {
      const event = next ?? this.queue.shift();
      next = undefined;
      if (event === undefined) break;
      if (this.hooks.mayRun !== undefined && event.kind !== 'dispose' && !this.hooks.mayRun(this)) {
        this.queue.unshift(event); // never run; settled (or dropped) when the room stops
        break;
      }
      if (!this.dirty && event.kind !== 'snapshot' && event.kind !== 'dispose') {
        this.dirty = true;
        this.hooks.onDirty?.(this);
      }
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
            this.succeeded(event);
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
      this.succeeded(event);
    }
    this.running = false;
  }

  /**
   * A message or a timer succeeded: a restored room has proven its saved state. (A connect or
   * disconnect touches little of it; a state that is broken shows when it is used.)
   */
  private succeeded(event: RoomEvent): void {
    if (event.kind === 'message' || event.kind === 'timer') this.unproven = false;
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
        this.known.set(event.client, event.info);
        return this.adapter?.connect(event.client);
      case 'disconnect':
        if (this.retiring && this.adapter?.asleep === true) return undefined;
        return this.disconnect(event.client);
      case 'message':
        event.seat.queuedBytes -= event.payload.length + MESSAGE_OVERHEAD;
        return this.adapter?.message(event.client, event.payload);
      case 'timer':
        return event.generation === this.timerGeneration ? this.adapter?.timer() : undefined;
      case 'snapshot':
        return this.capture(event.taken, event.failed);
      case 'dispose':
        return this.finish(event.done);
    }
  }

  /** Runs a client's `disconnect`; while it runs, the service may still ask who the client was. */
  private disconnect(client: ClientId): unknown {
    this.leaving = client;
    this.leavingInfo = this.known.get(client);
    this.known.delete(client);
    let result: unknown;
    try {
      result = this.adapter?.disconnect(client);
    } finally {
      if (!(result instanceof Promise)) this.forgetLeaving();
    }
    return result instanceof Promise ? result.finally(this.forgetLeaving) : result;
  }

  private readonly forgetLeaving = (): void => {
    this.leaving = 0;
    this.leavingInfo = undefined;
  };

  /**
   * Takes the snapshot an event asked for. It never fails the room: a snapshot that throws is
   * the caller's to report, and the room counts as changed, so the next save tries again.
   */
  private capture(taken: (state: RoomState | undefined) => void, failed: (thrown: unknown) => void): unknown {
    this.dirty = false;
    // A timer that came due but whose event still waits in the queue is pending too: saved as due now.
    const fired = this.queue.some((e) => e.kind === 'timer' && e.generation === this.timerGeneration);
    const room = { timerDueAt: this.timer.dueAt ?? (fired ? Date.now() : undefined), lastClientId: this.seats.lastId, clients: [...this.known.keys()], tokenIds: this.seats.savedTokenIds() };
    const fail = (thrown: unknown): void => {
      this.markDirty();
      failed(thrown);
    };
    let body: ReturnType<NonNullable<ServiceAdapter['snapshot']>>;
    try {
      body = this.adapter?.snapshot?.();
    } catch (thrown) {
      fail(thrown);
      return undefined;
    }
    if (!(body instanceof Promise)) {
      taken(body === undefined ? undefined : { body, ...room });
      return undefined;
    }
    return body.then((bytes) => taken(bytes === undefined ? undefined : { body: bytes, ...room }), fail);
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
    const { load } = this.hooks;
    if (load === undefined) {
      const made = this.createAdapter(this.id, this.context, this.log, this.adapterFailed);
      if (made instanceof Promise) return made.then((adapter) => this.started(adapter, undefined));
      return this.started(made, undefined);
    }
    // A durable room reads its saved state while its service is made; the rest of the queue
    // waits, as for any call. Both are asked in this same turn, so both belong to the same
    // service even while `stateroom dev` swaps it.
    const loading = load(this.id);
    const made = this.createAdapter(this.id, this.context, this.log, this.adapterFailed);
    return Promise.all([made, loading]).then(([adapter, saved]) => this.started(adapter, saved));
  }

  private started(adapter: ServiceAdapter, saved: RoomState | undefined): unknown {
    this.adapter = adapter;
    if (saved?.body === undefined || adapter.restore === undefined) return adapter.init();
    this.fromSaved = true;
    this.unproven = true;
    this.seats.continueFrom(saved.lastClientId);
    // Unless known before the first seat (preloaded at admission: see continueClientIds).
    if (!this.tokenIdsRestored) this.seats.restoreTokenIds(saved.tokenIds ?? []);
    let restoring: unknown;
    try {
      restoring = adapter.restore(saved.body);
    } catch (thrown) {
      throw this.restoreFailed(thrown);
    }
    if (restoring instanceof Promise) {
      return restoring.then(
        () => this.resumeSaved(saved),
        (thrown: unknown) => {
          throw this.restoreFailed(thrown);
        },
      );
    }
    this.resumeSaved(saved);
    return undefined;
  }

  /**
   * The service is restored: the clients it knew are gone (their `disconnect`s run before
   * anything queued meanwhile), and its timer is armed again — at once if it came due while
   * the room was saved.
   */
  private resumeSaved(saved: RoomState): void {
    const gone: RoomEvent[] = saved.clients.map((client) => ({ kind: 'disconnect', client }));
    this.queue.unshift(...gone);
    if (saved.timerDueAt !== undefined) {
      this.timerGeneration += 1;
      this.timer.set(Math.max(0, saved.timerDueAt - Date.now()));
    }
  }

  private restoreFailed(thrown: unknown): StateroomError {
    const message = `room "${this.id}" could not be restored from its saved state; it starts fresh on its next connection: ${describeThrown(thrown)}`;
    return new StateroomError(ErrorCode.RESTORE_FAILED, message, { roomId: this.id }, { cause: thrown });
  }

  /**
   * The room is disposed: the service's own `dispose` hook runs first (a native service's; after
   * the room stopped, so nothing it does is queued or sent), then the adapter is released.
   */
  private finish(done: () => void): unknown {
    this.stop('disposed');
    const { adapter } = this;
    // Even an adapter whose dispose throws at once must not leave the disposer waiting.
    return Promise.resolve()
      .then(() => adapter?.beforeDispose?.())
      .catch((thrown: unknown) => this.logThrown('dispose', undefined, thrown))
      .then(() => adapter?.dispose?.())
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
      this.fail(thrown as StateroomError, client, event.kind);
      return;
    }
    this.logThrown(event.kind, client, thrown);
  }

  /** Logs what a service callback threw, as `SR_ERR_SERVICE_THREW`; the room goes on (or goes, for `dispose`). */
  private logThrown(callback: string, client: ClientId | undefined, thrown: unknown): void {
    const where = client === undefined ? `room "${this.id}"` : `room "${this.id}", client ${client}`;
    const error = new StateroomError(
      ErrorCode.SERVICE_THREW,
      `service threw in ${callback}() (${where}); ${callback === 'dispose' ? 'the room is disposed all the same' : 'the room goes on'}: ${describeThrown(thrown)}`,
      { roomId: this.id, ...(client === undefined ? {} : { clientId: client }) },
      { cause: thrown },
    );
    // The service's own error, with its own stack (a bug of the service, to be found); the
    // message already carries its text, so it is not repeated through a cause. Throttled: a
    // client that makes the service throw on every message must not flood the log.
    const key = `${this.id}\0${callback}\0${describeThrown(thrown)}`;
    throttleOf(this.log).error(`room "${this.id}"`, key, { err: thrown, code: error.code, roomId: this.id, clientId: client, callback }, error.message);
    this.hooks.onError?.(error.code);
  }

  /** The service cannot go on: close every client with 1011 and let the owner forget the room. */
  private fail(error: StateroomError, client = error.context.clientId, during?: RoomEvent['kind']): void {
    this.blameSaved = this.unproven && (error.code === ErrorCode.RESTORE_FAILED || (GUEST_FAULTS.has(error.code) && during !== undefined && during !== 'message'));
    this.stop('failed');
    this.failReason = fatalCloseReason(error) ?? 'room service failed';
    // A guest that trapped, exited or timed out is an expected condition, told in one line;
    // a service that could not start shows what it threw (its stack is the service's).
    const cause = error.code === ErrorCode.SERVICE_LOAD ? error.cause : undefined;
    // Throttled too: a client can make room after room fail (a guest that traps on its input).
    const fields = { ...(cause === undefined ? {} : { err: cause }), code: error.code, roomId: this.id, clientId: client, reason: this.failReason };
    throttleOf(this.log).error(`room "${this.id}"`, `${this.id}\0${error.code}`, fields, error.message);
    this.hooks.onError?.(error.code);
    this.seats.closeAll(CLOSE_INTERNAL_ERROR, this.failReason);
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

  /** {@link Context.close}: closes a connected client's socket and gives up its seat at once. */
  private closeClient(client: ClientId, code = 1000, reason = ''): void {
    const problem = (isClientId(client) ? undefined : `${shown(client)} is not a client id`) ?? whyNotAClose(code, reason);
    if (problem !== undefined) {
      throw new StateroomError(ErrorCode.BAD_SEND, `close in room "${this.id}": ${problem}`, { roomId: this.id });
    }
    if (this.state !== 'live') return;
    const seat = this.seats.get(client);
    // Only a client the service has seen connect (a seat whose connect is still queued is not yet its to close).
    if (seat === undefined || !seat.connected) return;
    seat.close(code, reason);
    // Not held for a resume: the service said goodbye. Its disconnect is queued.
    this.seats.giveUp(seat);
  }

  /** {@link Context.clientInfo}: what a client's connection told of it, from its connect to its disconnect. */
  private clientInfo(client: ClientId): ClientInfo | undefined {
    return this.known.get(client) ?? (client === this.leaving && client !== 0 ? this.leavingInfo : undefined);
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
