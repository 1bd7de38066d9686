// eslint-disable-next-line @typescript-eslint/triple-slash-reference -- global types (no module to import), needed wherever this file is compiled from (bench/ too)
/// <reference path="./atomics.d.ts" />
/**
 * One guest worker thread, seen from the server thread: the rooms it hosts (its tenants),
 * the calls it has yet to answer, the request batch gathered during this event-loop turn,
 * and the watchdog that terminates the thread when a call runs past the call timeout.
 *
 * Requests made during one turn leave together, as one frame of the request ring, when the
 * turn's I/O is done (`setImmediate`). The thread publishes each thing a call does as it
 * does it (see wire.ts); the server reads the reply ring when the thread wakes it (once per
 * batch, through `Atomics.waitAsync`) and, while a call runs long, every
 * {@link STREAM_POLL_MS} — so what a guest sends reaches its clients while its call goes on,
 * as upstream delivers it, and what it sent before the watchdog cut it off is delivered
 * before its room is closed.
 * @module
 */
import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { ErrorCode, StateroomError, type ErrorContext } from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { ClientId } from '../../service/types.js';
import { ByteWriter } from './byte-buffer.js';
import { CallClock, callsAfterOldest } from './call-clock.js';
import type { MessageToProcess } from '../abi/codec.js';
import { Fifo } from './fifo.js';
import type { StateroomModule } from '../abi/module.js';
import { PAGE_BYTES } from '../abi/rewrite.js';
import { threadEntry } from '../../thread-entry.js';
import { ELSEWHERE, EMPTY, HEAD, Ring, TAIL } from './ring.js';
import {
  readReply,
  writeClose,
  writeEvent,
  writeMessage,
  writeOpen,
  writeRestore,
  writeSnapshot,
  type CallFailure,
  type QueuedMessage,
  type ReplyHandler,
  type ThreadSetup,
} from './wire.js';

const THREAD_ENTRY = threadEntry(import.meta.url, 'thread-main');

/** Bytes of each ring (one each way, per thread). Longer frames go by a message port. */
const RING_BYTES = 128 * 1024;
/**
 * While a call is unanswered, the reply ring is read this often, so what a long call sends
 * reaches its clients within about this many ms (the thread wakes the server only when a
 * batch is answered, or when the ring is full).
 */
export const STREAM_POLL_MS = 5;

/** A room whose guest instance lives on a {@link PoolWorker}. */
export interface Tenant {
  readonly roomId: string;
  /** Its running call sent `bytes` (raw bincode, a view valid only during this call). */
  sent(bytes: Uint8Array): void;
  /**
   * One of its calls was answered (everything it sent came first, through `sent`); `last`
   * marks the last call of what the tenant asked for at once. A snapshot's answer carries
   * its `image` (the tenant's to keep).
   */
  replied(failure: CallFailure | undefined, last: boolean, image?: Uint8Array): void;
  /** Its guest printed a line. */
  printed(stream: 'stdout' | 'stderr', line: string): void;
  /** Its instance is gone with the thread (`error` says why); nothing more will be answered. */
  lost(error: StateroomError): void;
}

/**
 * How long an instantiation (a room's `start`) may run before the watchdog takes it for a
 * runaway. Far longer than a call: instantiating can stall while V8 looks for address space,
 * and a slow start fails only its own room (PooledRoom's start timeout) — the thread, with
 * every room on it, goes only for a start function that never returns, which the load-time
 * check has already refused for any module that does so every time.
 */
export const START_RUNAWAY_MS = 30_000;

export interface PoolWorkerOptions {
  /** How long one call may run before the thread is terminated; 0 for no limit. */
  readonly callTimeoutMs: number;
  readonly memoryLimitBytes: number;
  /** Names the thread in logs (`#3`). */
  readonly label: string;
  readonly log: Logger;
  /** Called once, when the thread is gone for whatever reason. */
  readonly onGone: (worker: PoolWorker) => void;
}

/** Calls a tenant asked for at once (one, or a batch of messages), not all answered yet. */
interface PendingCalls {
  readonly tenant: Tenant;
  readonly instance: number;
  /** The callback, for messages: `start`, `init`, `message`, … */
  readonly what: string;
  /** The client of a single call, or the batch of messages (each has its client). */
  readonly clients: ClientId | readonly QueuedMessage[] | undefined;
  /** How many of them are still to be answered. */
  left: number;
}

/** Why a thread is gone, for {@link PoolWorker.die}. */
interface Death {
  /** What happened to the thread (the warn line). */
  readonly why: string;
  /** What the rooms lost with it are told; default "guest lost: `why`". */
  readonly lostWhy?: string;
  /** The room that caused it (a runaway), told its own error. */
  readonly culprit?: { readonly tenant: Tenant; readonly error: StateroomError };
}

/** A request frame waiting for room in the ring, with the images it carries. */
interface Outgoing {
  readonly batch: Uint8Array;
  readonly attachments: readonly Uint8Array[];
}

/** A reply record out of turn: a bug of stateroom, not of a guest. */
class OutOfTurn extends Error {}

/** One guest worker thread and the rooms on it. */
export class PoolWorker {
  /** Settles when the thread has exited, however it ended. */
  readonly exited: Promise<void>;
  private readonly thread: Worker;
  private readonly clock = new CallClock();
  /** Pages of guest memory on the thread (see ThreadSetup.memory). */
  private readonly memoryPages = new Int32Array(new SharedArrayBuffer(4));
  private readonly toThread = Ring.create(RING_BYTES);
  private readonly fromThread = Ring.create(RING_BYTES);
  private readonly port: MessagePort;
  private readonly tenants = new Map<number, Tenant>();
  private readonly pending = new Fifo<PendingCalls>();
  /** How many calls were answered: the oldest pending call is number `answered + 1`. */
  private answered = 0;
  private nextInstance = 1;
  private readonly requests = new ByteWriter();
  /** The images the batch being gathered carries (its `restore` records name them). */
  private attachments: Uint8Array[] = [];
  /** Request batches that found no room in the ring yet, oldest first. */
  private readonly backlog: Outgoing[] = [];
  private flushScheduled = false;
  /** An `Atomics.waitAsync` on the reply ring is pending. */
  private listening = false;
  private polling: NodeJS.Timeout | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  private gone = false;
  private dying = false;
  private readonly flushBound = (): void => this.flush();
  private readonly checkBound = (): void => this.check();
  private readonly wokenBound = (): void => {
    this.listening = false;
    this.drain();
    this.listen();
  };
  private readonly pollBound = (): void => {
    this.polling = undefined;
    this.drain();
    this.listen();
    this.poll();
  };
  private readonly replyHandler: ReplyHandler = {
    sent: (instance, bytes) => this.oldest(instance).tenant.sent(bytes),
    done: (instance) => this.settle(instance, undefined),
    failed: (instance, code, message) => this.settle(instance, { code, message }),
    printed: (instance, stream, line) => this.tenants.get(instance)?.printed(stream, line),
    // An image read from the ring is a view of shared memory the thread will write over.
    image: (instance, image) => this.settle(instance, undefined, image.buffer instanceof SharedArrayBuffer ? image.slice() : image),
  };

  constructor(
    private readonly module: StateroomModule,
    private readonly options: PoolWorkerOptions,
  ) {
    const channel = new MessageChannel();
    this.port = channel.port1;
    const setup: ThreadSetup = {
      module: module.module,
      name: module.name,
      memoryLimitBytes: options.memoryLimitBytes,
      memory: this.memoryPages.buffer,
      clock: this.clock.shared,
      requests: this.toThread.shared,
      replies: this.fromThread.shared,
      port: channel.port2,
      snapshot: module.snapshot,
    };
    this.thread = new Worker(THREAD_ENTRY.entry, {
      workerData: setup,
      transferList: [channel.port2],
      eval: THREAD_ENTRY.eval,
      // Guest memories are not on the JS heap; the heap holds only the host's glue.
      resourceLimits: { maxOldGenerationSizeMb: 64 },
    });
    this.exited = new Promise((resolve) => this.thread.once('exit', () => resolve()));
    this.thread.on('error', (err) => this.die({ why: `the worker thread failed (${err.message})` }));
    this.thread.on('exit', () => this.die({ why: 'the worker thread exited' }));
  }

  /** How many rooms it hosts. */
  get load(): number {
    return this.tenants.size;
  }

  /** Bytes of guest memory its instances hold (as of their last calls); 0 once it is gone. */
  get memoryBytes(): number {
    return this.gone ? 0 : Atomics.load(this.memoryPages, 0) * PAGE_BYTES;
  }

  /** Whether the thread still runs (it was neither terminated nor crashed). */
  get alive(): boolean {
    return !this.gone;
  }

  /** Starts an instance for `tenant`; its `replied` says when it is ready. Returns its instance id. */
  open(tenant: Tenant): number {
    const instance = this.nextInstance++;
    this.tenants.set(instance, tenant);
    writeOpen(this.requests, instance, tenant.roomId);
    this.expect({ tenant, instance, what: 'start', clients: undefined, left: 1 });
    return instance;
  }

  /** Delivers `message` to an instance. */
  call(instance: number, message: MessageToProcess): void {
    const tenant = this.tenants.get(instance);
    if (tenant === undefined || this.gone) return;
    writeEvent(this.requests, instance, message);
    const clients = message.type === 'message' ? message.sender : 'client' in message ? message.client : undefined;
    this.expect({ tenant, instance, what: message.type, clients, left: 1 });
  }

  /** Delivers client messages to an instance, in order; only the last answer is marked `last`. */
  messages(instance: number, batch: readonly QueuedMessage[]): void {
    const tenant = this.tenants.get(instance);
    if (tenant === undefined || this.gone || batch.length === 0) return;
    for (const message of batch) writeMessage(this.requests, instance, message);
    this.expect({ tenant, instance, what: 'message', clients: batch, left: batch.length });
  }

  /** Asks an instance for its image; the tenant's `replied` carries it. */
  snapshot(instance: number): void {
    const tenant = this.tenants.get(instance);
    if (tenant === undefined || this.gone) return;
    writeSnapshot(this.requests, instance);
    this.expect({ tenant, instance, what: 'snapshot', clients: undefined, left: 1 });
  }

  /**
   * Starts a fresh instance from `image` (copied once here, then transferred to the thread:
   * the caller keeps its bytes).
   */
  restore(instance: number, image: Uint8Array): void {
    const tenant = this.tenants.get(instance);
    if (tenant === undefined || this.gone) return;
    // A copy with a buffer of its own: a Buffer's slice() is a view, and transferring it would
    // detach the caller's memory (or Node's shared pool of small Buffers).
    this.attachments.push(new Uint8Array(image));
    writeRestore(this.requests, instance, this.attachments.length - 1);
    this.expect({ tenant, instance, what: 'restore', clients: undefined, left: 1 });
  }

  /** Drops an instance; its calls must all have been answered. */
  close(instance: number): void {
    if (!this.tenants.delete(instance) || this.gone) return;
    writeClose(this.requests, instance);
    this.schedule();
  }

  /** Whether the thread keeps the process alive (it should while it hosts rooms). */
  hold(keepAlive: boolean): void {
    if (keepAlive) this.thread.ref();
    else this.thread.unref();
  }

  /** Terminates the thread; rooms still on it are lost. */
  stop(): Promise<void> {
    this.die({ why: 'its worker thread was stopped' });
    return this.exited;
  }

  private expect(calls: PendingCalls): void {
    this.pending.push(calls);
    this.schedule();
  }

  private schedule(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    // After this turn's I/O callbacks: every request of the turn leaves in one frame.
    setImmediate(this.flushBound);
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.gone || this.requests.empty) return;
    const outgoing = { batch: this.requests.written(), attachments: this.attachments };
    if (this.backlog.length > 0 || !this.write(outgoing)) this.backlog.push({ ...outgoing, batch: outgoing.batch.slice() });
    this.requests.clear();
    if (this.attachments.length > 0) this.attachments = [];
    Atomics.notify(this.toThread.control, HEAD);
    this.listen();
    this.poll();
    this.arm();
  }

  /**
   * Writes one request frame (by the port if it is too long for the ring or carries images:
   * transferred, so an image is not copied again); false if the ring is full.
   */
  private write({ batch, attachments }: Outgoing): boolean {
    if (attachments.length === 0 && batch.byteLength <= this.toThread.maxFrame) return this.toThread.tryWrite(batch);
    if (!this.toThread.reserve(ELSEWHERE)) return false;
    const copy = batch.slice();
    if (attachments.length === 0) this.port.postMessage(copy, [copy.buffer]);
    else this.port.postMessage([copy, ...attachments], [copy.buffer, ...attachments.map((a) => a.buffer as ArrayBuffer)]);
    this.toThread.commit();
    return true;
  }

  /** Moves what waits in the backlog into the ring, as far as it has room. */
  private sendBacklog(): void {
    let sent = false;
    while (this.backlog.length > 0 && this.write(this.backlog[0]!)) {
      this.backlog.shift();
      sent = true;
    }
    if (sent) Atomics.notify(this.toThread.control, HEAD);
  }

  /** Sleeps on the reply ring (without blocking) while calls are unanswered. */
  private listen(): void {
    while (!this.listening && !this.gone && this.pending.length > 0) {
      const wait = Atomics.waitAsync(this.fromThread.control, HEAD, this.fromThread.seen);
      if (wait.async) {
        this.listening = true;
        void wait.value.then(this.wokenBound);
        return;
      }
      this.drain(); // published meanwhile
    }
  }

  /** Reads the replies while calls are unanswered, for a long call's sends. */
  private poll(): void {
    if (this.polling !== undefined || this.gone || this.pending.length === 0) return;
    this.polling = setTimeout(this.pollBound, STREAM_POLL_MS);
    this.polling.unref();
  }

  /** Handles every record the thread has published, in order. */
  private drain(): void {
    if (this.gone) return;
    const ring = this.fromThread;
    try {
      for (let length = ring.read(); length !== EMPTY && !this.gone; length = ring.read()) {
        readReply(length === ELSEWHERE ? this.elsewhere() : ring.bytes.subarray(ring.at, ring.at + length), this.replyHandler);
        ring.release();
      }
    } catch (thrown) {
      if (!(thrown instanceof OutOfTurn)) throw thrown;
      this.die({ why: `${thrown.message} (a bug in stateroom)` });
      return;
    }
    // A thread that waits for room to write.
    Atomics.notify(ring.control, TAIL);
    this.sendBacklog();
  }

  private elsewhere(): Uint8Array {
    const received = receiveMessageOnPort(this.port);
    if (received === undefined) throw new OutOfTurn('a reply frame said it went by the port, and the port is empty');
    return received.message as Uint8Array;
  }

  /** The oldest unanswered calls, which a record of `instance` must belong to. */
  private oldest(instance: number): PendingCalls {
    const calls = this.pending.at(0);
    if (calls?.instance !== instance) throw new OutOfTurn(`the worker thread answered instance ${instance} out of turn`);
    return calls;
  }

  /** The oldest call not yet answered was: hand its answer to its tenant. */
  private settle(instance: number, failure: CallFailure | undefined, image?: Uint8Array): void {
    const calls = this.oldest(instance);
    this.answered += 1;
    calls.left -= 1;
    if (calls.left === 0) this.pending.shift();
    calls.tenant.replied(failure, calls.left === 0, image);
  }

  /** The calls that call number `seq` (numbered from 1, in order) belongs to, and its client. */
  private callOf(seq: number): { calls: PendingCalls; client: ClientId | undefined } | undefined {
    let index = callsAfterOldest(seq, this.answered);
    for (let i = 0; index >= 0; i++) {
      const calls = this.pending.at(i);
      if (calls === undefined) return undefined;
      if (index < calls.left) {
        const { clients } = calls;
        // A batch's answered messages are gone from the count, not from the batch.
        const client = typeof clients === 'object' ? clients[clients.length - calls.left + index]?.client : clients;
        return { calls, client };
      }
      index -= calls.left;
    }
    return undefined;
  }

  /** Arms the watchdog unless it is armed already (or there is no call timeout). */
  private arm(delayMs = this.options.callTimeoutMs): void {
    if (this.options.callTimeoutMs === 0 || this.watchdog !== undefined || this.gone) return;
    this.watchdog = setTimeout(this.checkBound, delayMs);
    // The thread, not its watchdog, keeps the process alive while rooms wait for it.
    this.watchdog.unref();
  }

  /**
   * The watchdog fired: terminate the thread if its current call has run for the call
   * timeout; otherwise look again when it would have.
   */
  private check(): void {
    this.watchdog = undefined;
    if (this.gone || this.pending.length === 0) return;
    const running = this.clock.running();
    const limit = running !== undefined && this.callOf(running.seq)?.calls.what === 'start' ? Math.max(START_RUNAWAY_MS, this.options.callTimeoutMs) : this.options.callTimeoutMs;
    const left = running === undefined ? this.options.callTimeoutMs : limit - running.ranMs;
    if (running !== undefined && left <= 0) this.timedOut(running.seq);
    // While a start runs, look again after a call timeout, not after the start's long limit:
    // the call that follows it must still be cut off in time.
    else this.arm(Math.max(1, Math.ceil(Math.min(left, this.options.callTimeoutMs))));
  }

  /** Call number `seq` ran too long: the thread goes, and every room on it. */
  private timedOut(seq: number): void {
    // What the calls before it answered, and what it sent before it was cut off, is not lost.
    this.drain();
    if (this.gone) return;
    const call = this.callOf(seq);
    const limit = `the call timeout of ${this.options.callTimeoutMs} ms`;
    if (call === undefined) {
      this.die({ why: `a call ran longer than ${limit}` });
      return;
    }
    const { tenant, what } = call.calls;
    const { client } = call;
    const culprit = `room "${tenant.roomId}"'s ${what} call`;
    const error = new StateroomError(
      ErrorCode.WASM_TIMEOUT,
      `guest ${what} ran longer than ${limit}; its worker was terminated (room "${tenant.roomId}"${client === undefined ? '' : `, client ${client}`}, ${this.module.name})`,
      { ...this.where(tenant), ...(client === undefined ? {} : { clientId: client }) },
    );
    this.die({
      why: `${culprit} ran longer than ${limit}`,
      lostWhy: `guest lost: its worker thread ${this.options.label} was terminated because ${culprit} ran longer than ${limit}, and every instance on that thread went with it`,
      culprit: { tenant, error },
    });
  }

  /**
   * The thread is gone (or going): hand on what it published, terminate it once, fail every
   * room still on it, log which (when rooms other than the culprit went with it), and tell
   * the pool.
   */
  private die({ why, lostWhy = `guest lost: ${why}`, culprit }: Death): void {
    if (this.gone || this.dying) return;
    this.dying = true;
    // Records already published — a co-tenant's finished call, sends — still count.
    this.drain();
    this.gone = true;
    // Settle a pending waitAsync on the replies: unwoken, V8 keeps it, and through its
    // callback this worker and its rings, alive for good.
    Atomics.notify(this.fromThread.control, HEAD);
    clearTimeout(this.watchdog);
    clearTimeout(this.polling);
    // Once only: a second terminate() while the first is under way may never settle.
    void this.thread.terminate();
    this.port.close();
    const lost = [...this.tenants.values()];
    this.tenants.clear();
    this.pending.clear();
    this.backlog.length = 0;
    this.attachments = [];
    const others = lost.filter((tenant) => tenant !== culprit?.tenant);
    if (others.length > 0 || (lost.length > 0 && culprit === undefined)) {
      const rooms = lost.map((t) => `"${t.roomId}"`).join(', ');
      const code = culprit?.error.code ?? ErrorCode.WASM_WORKER_LOST;
      // `thread`, not `worker`: a `--workers N` process logs as `worker`.
      this.options.log.warn({ thread: this.options.label, roomIds: lost.map((t) => t.roomId), code }, `WASM worker thread ${this.options.label}: ${why}; rooms lost with it: ${rooms}`);
    }
    for (const tenant of lost) {
      const error =
        tenant === culprit?.tenant
          ? culprit.error
          : new StateroomError(ErrorCode.WASM_WORKER_LOST, `${lostWhy} (room "${tenant.roomId}", ${this.module.name})`, this.where(tenant));
      tenant.lost(error);
    }
    this.options.onGone(this);
  }

  private where(tenant: Tenant): ErrorContext {
    return { roomId: tenant.roomId, file: this.module.name };
  }
}
