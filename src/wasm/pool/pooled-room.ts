/**
 * A room's guest on a worker thread of a {@link WorkerPool}, as the room sees it: an
 * ordinary {@link ServiceAdapter} whose calls return promises. What the guest sends is
 * applied through the room's context as the thread publishes it — during a long call, while
 * the call still runs — and each call's promise settles only after all of it was applied, so
 * the room's one-event-at-a-time order holds across the thread hop.
 * @module
 */
import { ErrorCode, StateroomError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { AdapterFailed, ServiceAdapter } from '../../service/adapter.js';
import type { ClientId, Context, Payload } from '../../service/types.js';
import { applyFromProcess } from '../abi/apply.js';
import { CodecError, decodeFromProcess, type MessageToProcess } from '../abi/codec.js';
import { logPrinted } from '../abi/printed.js';
import type { StateroomModule } from '../abi/module.js';
import type { Tenant } from './pool-worker.js';
import type { CallFailure, QueuedMessage } from './wire.js';
import type { Lodging, WorkerPool } from './worker-pool.js';

interface Settler {
  /** `image` is a snapshot's answer. */
  resolve(image?: Uint8Array): void;
  reject(error: StateroomError): void;
}

export type { QueuedMessage } from './wire.js';

/** One room's guest instance on a pool thread; see the module comment. */
export class PooledRoom implements ServiceAdapter, Tenant {
  private lodging!: Lodging;
  /** The call (or batch of messages) in flight: a room makes one at a time. */
  private inflight: Settler | undefined;
  /** Why the instance cannot go on; every later call is refused with it. */
  private dead: StateroomError | undefined;

  private constructor(
    private readonly pool: WorkerPool,
    private readonly module: StateroomModule,
    readonly roomId: string,
    private readonly ctx: Context,
    private readonly log: Logger,
    private readonly failed: AdapterFailed,
  ) {}

  /**
   * Places the room's instance on the pool; resolves once the instance has started. One that
   * has not started within `startTimeoutMs` (queued behind other calls on its thread, or slow
   * to instantiate) fails this room alone with `SR_ERR_WASM_START`; the thread goes on, and
   * drops the instance when it is done making it.
   */
  static start(
    pool: WorkerPool,
    module: StateroomModule,
    roomId: string,
    ctx: Context,
    log: Logger,
    failed: AdapterFailed,
    startTimeoutMs = 0,
  ): Promise<PooledRoom> {
    const room = new PooledRoom(pool, module, roomId, ctx, log, failed);
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      // A room whose instance did not start is never disposed (it has no adapter): its
      // lodging is let go here, so the pool's count of instances stays true.
      const notStarted = (error: StateroomError): void => {
        clearTimeout(timer);
        void pool.release(room.lodging);
        reject(error);
      };
      const started = (): void => {
        clearTimeout(timer);
        resolve(room);
      };
      room.inflight = { resolve: started, reject: notStarted };
      room.lodging = pool.place(room, log);
      if (startTimeoutMs > 0) {
        timer = setTimeout(() => {
          room.dead ??= new StateroomError(
            ErrorCode.WASM_START,
            `guest instance did not start within ${startTimeoutMs} ms (room "${roomId}", ${module.name}); only this room fails`,
            room.where(),
          );
          room.take()?.reject(room.dead);
        }, startTimeoutMs);
        // The thread, not this timer, keeps the process alive while the room waits.
        timer.unref();
      }
    });
  }

  init(): Promise<void> {
    return this.call({ type: 'init' });
  }

  connect(client: ClientId): Promise<void> {
    return this.call({ type: 'connect', client });
  }

  disconnect(client: ClientId): Promise<void> {
    return this.call({ type: 'disconnect', client });
  }

  message(sender: ClientId, payload: Payload): Promise<void> {
    return this.call({ type: 'message', sender, payload });
  }

  /**
   * Delivers several messages, in order, as one crossing: the same as calling
   * {@link message} for each in turn, awaiting each. If one fails, the rest are not
   * delivered and the promise rejects with that failure.
   */
  messages(batch: readonly QueuedMessage[]): Promise<void> {
    if (this.dead === undefined && batch.length === 0) return Promise.resolve();
    return this.expect(() => this.lodging.worker.messages(this.lodging.instance, batch));
  }

  timer(): Promise<void> {
    return this.call({ type: 'timer' });
  }

  /**
   * The guest's memory and globals, as an image (`abi/snapshot.ts`), captured on its thread
   * between calls; a long image comes back transferred, not copied. The thread's other rooms
   * wait only for the copy. A failed snapshot leaves the room running.
   */
  snapshot(): Promise<Uint8Array> {
    if (this.dead !== undefined) return Promise.reject(this.dead);
    if (this.inflight !== undefined) {
      return Promise.reject(new StateroomError(ErrorCode.NOT_DURABLE, `no snapshot while a call runs (room "${this.roomId}", ${this.module.name})`, this.where()));
    }
    return new Promise((resolve, reject) => {
      this.inflight = {
        resolve: (image) => {
          if (image !== undefined) resolve(image);
          else reject(new StateroomError(ErrorCode.NOT_DURABLE, `the worker thread answered a snapshot with no image (room "${this.roomId}", ${this.module.name})`, this.where()));
        },
        reject,
      };
      this.lodging.worker.snapshot(this.lodging.instance);
    });
  }

  /** Starts the fresh instance from `image` instead of `init()`; rejects with `SR_ERR_RESTORE_FAILED` when it cannot (the room is then dead). */
  restore(image: Uint8Array): Promise<void> {
    return this.expect(() => this.lodging.worker.restore(this.lodging.instance, image));
  }

  dispose(): Promise<void> {
    this.dead ??= new StateroomError(ErrorCode.WASM_EXIT, `guest disposed (room "${this.roomId}", ${this.module.name})`, this.where());
    return this.pool.release(this.lodging);
  }

  /** {@link Tenant}: the running call sent `bytes`; applied now. */
  sent(bytes: Uint8Array): void {
    if (this.dead !== undefined) return;
    const problem = this.apply(bytes);
    if (problem === undefined) return;
    this.dead = problem;
    this.take()?.reject(problem);
  }

  /** {@link Tenant}: a call ended, after everything it sent was applied: settle it. */
  replied(failure: CallFailure | undefined, last: boolean, image?: Uint8Array): void {
    if (this.dead !== undefined) return;
    if (failure?.code === ErrorCode.NOT_DURABLE) {
      // Only a snapshot fails so, and the guest is as it was: the room goes on.
      this.take()?.reject(new StateroomError(failure.code, failure.message, this.where()));
    } else if (failure !== undefined) {
      this.dead = new StateroomError(failure.code, failure.message, this.where());
      this.take()?.reject(this.dead);
    } else if (last) {
      this.take()?.resolve(image);
    }
  }

  /** {@link Tenant}: a line the guest printed goes to the log, tagged with the room. */
  printed(stream: 'stdout' | 'stderr', line: string): void {
    logPrinted(this.log, { roomId: this.roomId, module: this.module.name, stream }, line);
  }

  /**
   * {@link Tenant}: the thread is gone. A call in flight fails with `error`; an idle room,
   * with no call to fail, is told through `failed`. Either way the room closes its clients
   * as for any failed service.
   */
  lost(error: StateroomError): void {
    if (this.dead !== undefined) return;
    this.dead = error;
    const call = this.take();
    if (call !== undefined) call.reject(error);
    else this.failed(error);
  }

  private call(message: MessageToProcess): Promise<void> {
    return this.expect(() => this.lodging.worker.call(this.lodging.instance, message));
  }

  /** Sends a request with `send`; settles when its (last) reply comes, or at once if the guest is dead. */
  private expect(send: () => void): Promise<void> {
    if (this.dead !== undefined) return Promise.reject(this.dead);
    return new Promise((resolve, reject) => {
      this.inflight = { resolve: () => resolve(), reject };
      send();
    });
  }

  /** Applies one thing the guest sent; returns why it could not, if it could not. */
  private apply(bytes: Uint8Array): StateroomError | undefined {
    try {
      applyFromProcess(decodeFromProcess(bytes), this.ctx);
      return undefined;
    } catch (thrown) {
      if (thrown instanceof StateroomError) return thrown;
      const why = thrown instanceof CodecError ? thrown.message : String(thrown);
      return new StateroomError(ErrorCode.WASM_BAD_OUTPUT, `guest sent bytes that do not decode (room "${this.roomId}", ${this.module.name}): ${why}`, this.where(), { cause: thrown });
    }
  }

  private take(): Settler | undefined {
    const call = this.inflight;
    this.inflight = undefined;
    return call;
  }

  private where() {
    return { roomId: this.roomId, file: this.module.name };
  }
}
