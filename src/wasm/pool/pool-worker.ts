/**
 * One guest worker thread, seen from the server thread: the rooms it hosts (its tenants),
 * the calls it has yet to answer, the request batch gathered during this event-loop turn,
 * and the watchdog that terminates the thread when a call runs past the call timeout.
 *
 * Requests made during one turn leave together, as one transferred buffer, when the turn's
 * I/O is done (`setImmediate`); the thread answers each batch with one buffer. Calls are
 * answered in the order they were made, so a reply needs no id: it belongs to the oldest
 * call not yet answered.
 * @module
 */
import { Worker } from 'node:worker_threads';
import { ErrorCode, StateroomError, type ErrorContext } from '../../errors.js';
import type { Logger } from '../../logger.js';
import { ByteWriter } from './byte-buffer.js';
import { CallClock } from './call-clock.js';
import type { MessageToProcess } from '../abi/codec.js';
import { Fifo } from './fifo.js';
import type { StateroomModule } from '../abi/module.js';
import {
  readReplies,
  writeClose,
  writeEvent,
  writeMessage,
  writeOpen,
  type CallFailure,
  type QueuedMessage,
  type ReplyHandler,
  type ThreadSetup,
} from './wire.js';

// Run from source (tests, tsx) the thread's entry is a .ts file: Node 20 applies no loader
// hooks to a worker's entry module, so a one-line entry imports it through tsx instead.
const FROM_SOURCE = import.meta.url.endsWith('.ts');
const THREAD_ENTRY: string | URL = FROM_SOURCE
  ? `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((tsx) => tsx.tsImport(${JSON.stringify(
      new URL('./thread-main.ts', import.meta.url).href,
    )}, ${JSON.stringify(import.meta.url)}))`
  : new URL('./thread-main.js', import.meta.url);

/** A room whose guest instance lives on a {@link PoolWorker}. */
export interface Tenant {
  readonly roomId: string;
  /**
   * One of its calls was answered: `sent` holds what the guest sent during it (see
   * `forEachSent`); `last` marks the last call of what the tenant asked for at once.
   */
  replied(sent: Uint8Array, failure: CallFailure | undefined, last: boolean): void;
  /** Its guest printed a line. */
  printed(stream: 'stdout' | 'stderr', line: string): void;
  /** Its instance is gone with the thread (`error` says why); nothing more will be answered. */
  lost(error: StateroomError): void;
}

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
  /** How many of them are still to be answered. */
  left: number;
}

/** One guest worker thread and the rooms on it. */
export class PoolWorker {
  /** Settles when the thread has exited, however it ended. */
  readonly exited: Promise<void>;
  private readonly thread: Worker;
  private readonly clock = new CallClock();
  private readonly tenants = new Map<number, Tenant>();
  private readonly pending = new Fifo<PendingCalls>();
  /** How many calls were answered: the oldest pending call is number `answered + 1`. */
  private answered = 0;
  private nextInstance = 1;
  private readonly requests = new ByteWriter();
  private flushScheduled = false;
  private watchdog: NodeJS.Timeout | undefined;
  private gone = false;
  private terminating = false;
  private readonly flushBound = (): void => this.flush();
  private readonly checkBound = (): void => this.check();
  private readonly replyHandler: ReplyHandler = {
    done: (instance, sent) => this.settle(instance, sent, undefined),
    failed: (instance, sent, code, message) => this.settle(instance, sent, { code, message }),
    printed: (instance, stream, line) => this.tenants.get(instance)?.printed(stream, line),
  };

  constructor(
    private readonly module: StateroomModule,
    private readonly options: PoolWorkerOptions,
  ) {
    const setup: ThreadSetup = { module: module.module, name: module.name, memoryLimitBytes: options.memoryLimitBytes, clock: this.clock.shared };
    this.thread = new Worker(THREAD_ENTRY, {
      workerData: setup,
      eval: FROM_SOURCE,
      // Guest memories are not on the JS heap; the heap holds only the host's glue and batches.
      resourceLimits: { maxOldGenerationSizeMb: 64 },
    });
    this.exited = new Promise((resolve) => this.thread.once('exit', () => resolve()));
    this.thread.on('message', (replies: ArrayBuffer) => this.answer(replies));
    this.thread.on('error', (err) => this.die(`the worker thread failed (${err.message})`));
    this.thread.on('exit', () => this.die('the worker thread exited'));
  }

  /** How many rooms it hosts. */
  get load(): number {
    return this.tenants.size;
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
    this.expect({ tenant, instance, what: 'start', left: 1 });
    return instance;
  }

  /** Delivers `message` to an instance. */
  call(instance: number, message: MessageToProcess): void {
    const tenant = this.tenants.get(instance);
    if (tenant === undefined || this.gone) return;
    writeEvent(this.requests, instance, message);
    this.expect({ tenant, instance, what: message.type, left: 1 });
  }

  /** Delivers client messages to an instance, in order; only the last answer is marked `last`. */
  messages(instance: number, batch: readonly QueuedMessage[]): void {
    const tenant = this.tenants.get(instance);
    if (tenant === undefined || this.gone || batch.length === 0) return;
    for (const message of batch) writeMessage(this.requests, instance, message);
    this.expect({ tenant, instance, what: 'message', left: batch.length });
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
    this.die('its worker thread was stopped');
    return this.exited;
  }

  private expect(calls: PendingCalls): void {
    this.pending.push(calls);
    this.schedule();
  }

  private schedule(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    // After this turn's I/O callbacks: every request of the turn leaves in one message.
    setImmediate(this.flushBound);
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.gone || this.requests.empty) return;
    const batch = this.requests.take();
    this.thread.postMessage(batch, [batch]);
    this.arm();
  }

  private answer(replies: ArrayBuffer): void {
    if (this.gone) return;
    readReplies(replies, this.replyHandler);
    // Nothing refers to it any more: what the guest sent was decoded (copied) as it was applied.
    this.requests.recycle(replies);
  }

  /** The oldest call not yet answered was: hand its answer to its tenant. */
  private settle(instance: number, sent: Uint8Array, failure: CallFailure | undefined): void {
    if (this.gone) return;
    const calls = this.pending.at(0);
    this.answered += 1;
    if (calls?.instance !== instance) {
      this.die(ErrorCode.WASM_TRAP, `the worker thread answered instance ${instance} out of turn (a bug in stateroom)`);
      return;
    }
    calls.left -= 1;
    if (calls.left === 0) this.pending.shift();
    calls.tenant.replied(sent, failure, calls.left === 0);
  }

  /** The calls that call number `seq` (numbered from 1, in order) belongs to. */
  private callsOf(seq: number): PendingCalls | undefined {
    let index = seq - this.answered - 1;
    for (let i = 0; index >= 0; i++) {
      const calls = this.pending.at(i);
      if (calls === undefined || index < calls.left) return calls;
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
    const left = running === undefined ? this.options.callTimeoutMs : this.options.callTimeoutMs - running.ranMs;
    if (running !== undefined && left <= 0) this.timedOut(running.seq);
    else this.arm(Math.max(1, Math.ceil(left)));
  }

  /** Call number `seq` ran too long: the thread goes, and every room on it. */
  private timedOut(seq: number): void {
    const call = this.callsOf(seq);
    const limit = `the call timeout of ${this.options.callTimeoutMs} ms`;
    const what = call === undefined ? 'a call' : `room "${call.tenant.roomId}"'s ${call.what} call`;
    this.die(
      `${what} ran longer than ${limit}`,
      `guest lost: its worker thread ${this.options.label} was terminated because ${what} ran longer than ${limit}, and every instance on that thread went with it`,
      call === undefined ? undefined : { tenant: call.tenant, code: ErrorCode.WASM_TIMEOUT, message: `guest ${call.what} ran longer than ${limit}; its worker was terminated` },
    );
  }

  /**
   * The thread is gone (or going): terminate it once, fail every room still on it, log
   * which, and tell the pool. `why` is what happened to the thread; the room that caused it
   * (a runaway), if any, gets its own error, and every other room `SR_ERR_WASM_WORKER_LOST`
   * with `lostWhy` (default: "guest lost: `why`").
   */
  private die(why: string, lostWhy = `guest lost: ${why}`, culprit?: { tenant: Tenant; code: ErrorCode; message: string }): void {
    if (this.gone) return;
    this.gone = true;
    clearTimeout(this.watchdog);
    if (!this.terminating) {
      this.terminating = true;
      // Once only: a second terminate() while the first is under way may never settle.
      void this.thread.terminate();
    }
    const lost = [...this.tenants.values()];
    this.tenants.clear();
    this.pending.clear();
    if (lost.length > 0) {
      const rooms = lost.map((t) => `"${t.roomId}"`).join(', ');
      const code = culprit?.code ?? ErrorCode.WASM_WORKER_LOST;
      this.options.log.warn({ worker: this.options.label, roomIds: lost.map((t) => t.roomId), code }, `WASM worker thread ${this.options.label}: ${why}; rooms lost with it: ${rooms}`);
    }
    for (const tenant of lost) {
      const [code, message] = tenant === culprit?.tenant ? [culprit.code, culprit.message] : [ErrorCode.WASM_WORKER_LOST, lostWhy];
      tenant.lost(new StateroomError(code, `${message} (room "${tenant.roomId}", ${this.module.name})`, this.where(tenant)));
    }
    this.options.onGone(this);
  }

  private where(tenant: Tenant): ErrorContext {
    return { roomId: tenant.roomId, file: this.module.name };
  }
}
