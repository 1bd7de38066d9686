/**
 * Where WASM rooms run: a few worker threads shared by every room (a new room goes to the
 * thread hosting the fewest), or — `dedicated` — a thread of its own for each room. A thread
 * the watchdog terminated (or that crashed) leaves its slot empty; the next room placed there
 * starts a new one.
 * @module
 */
import { ErrorCode, StateroomError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { StateroomModule } from '../abi/module.js';
import { PoolWorker, type Tenant } from './pool-worker.js';

/**
 * How long a shared thread with no rooms is kept (not holding the process open) before it is
 * stopped: rooms that come and go should not pay a thread start (~70 ms) each time.
 */
export const IDLE_THREAD_MS = 10_000;

export interface PoolOptions {
  /** How many threads all rooms share (ignored when `dedicated`). */
  readonly size: number;
  /** Each room on a thread of its own, stopped with the room. */
  readonly dedicated: boolean;
  /** How long one call may run before its thread is terminated; 0 for no limit. */
  readonly callTimeoutMs: number;
  readonly memoryLimitBytes: number;
}

/**
 * Where a room's guest instance lodges: which thread, and the instance's id there. (Not the
 * room registry's `Placement`, which decides where a room runs.)
 */
export interface Lodging {
  readonly worker: PoolWorker;
  readonly instance: number;
}

/** The worker threads of one WASM module, and which room runs where. */
export class WorkerPool {
  private readonly slots: Array<PoolWorker | undefined>;
  /** Every live thread, dedicated ones included. */
  private readonly threads = new Set<PoolWorker>();
  /** Shared threads with no rooms, and the timer that stops each. */
  private readonly resting = new Map<PoolWorker, NodeJS.Timeout>();
  private started = 0;
  private closed = false;
  private placed = 0;

  constructor(
    private readonly module: StateroomModule,
    private readonly options: PoolOptions,
  ) {
    this.slots = new Array<PoolWorker | undefined>(options.dedicated ? 0 : options.size).fill(undefined);
  }

  /**
   * Starts `tenant`'s instance on the least-loaded thread (or its own, when dedicated).
   * @throws {@link StateroomError} `SR_ERR_SERVICE_LOAD` once the pool is closed.
   */
  place(tenant: Tenant, log: Logger): Lodging {
    if (this.closed) {
      throw new StateroomError(ErrorCode.SERVICE_LOAD, `room "${tenant.roomId}": the WASM worker pool of ${this.module.name} is closed`, {
        roomId: tenant.roomId,
        file: this.module.name,
      });
    }
    const worker = this.options.dedicated ? this.spawn(log) : this.leastLoaded(log);
    this.wake(worker);
    this.placed += 1;
    return { worker, instance: worker.open(tenant) };
  }

  /** How many rooms' instances were placed and not yet released. */
  get instances(): number {
    return this.placed;
  }

  /** Bytes of guest memory on all threads, as of each instance's last call. */
  get memoryBytes(): number {
    let bytes = 0;
    for (const worker of this.threads) bytes += worker.memoryBytes;
    return bytes;
  }

  /**
   * Drops a room's instance (once per lodging); resolves once what it held is released (a
   * dedicated thread has exited).
   */
  release({ worker, instance }: Lodging): Promise<void> {
    this.placed -= 1;
    worker.close(instance);
    if (this.options.dedicated) return worker.stop();
    if (worker.alive && worker.load === 0) this.rest(worker);
    return Promise.resolve();
  }

  /** Stops every thread, and places no more rooms; rooms still on them are lost. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.threads].map((worker) => worker.stop()));
  }

  private leastLoaded(log: Logger): PoolWorker {
    let best = 0;
    for (let slot = 1; slot < this.slots.length; slot++) {
      if ((this.slots[slot]?.load ?? 0) < (this.slots[best]?.load ?? 0)) best = slot;
    }
    return (this.slots[best] ??= this.spawn(log));
  }

  private spawn(log: Logger): PoolWorker {
    const worker = new PoolWorker(this.module, {
      callTimeoutMs: this.options.callTimeoutMs,
      memoryLimitBytes: this.options.memoryLimitBytes,
      label: `#${++this.started}`,
      log,
      onGone: (gone) => this.forget(gone),
    });
    this.threads.add(worker);
    return worker;
  }

  /** A thread is gone: free its slot, so the next room placed there starts a new one. */
  private forget(worker: PoolWorker): void {
    this.threads.delete(worker);
    clearTimeout(this.resting.get(worker));
    this.resting.delete(worker);
    const slot = this.slots.indexOf(worker);
    if (slot >= 0) this.slots[slot] = undefined;
  }

  /** A shared thread has no rooms left: let the process exit without it, and stop it if none come. */
  private rest(worker: PoolWorker): void {
    worker.hold(false);
    clearTimeout(this.resting.get(worker));
    const timer = setTimeout(() => void worker.stop(), IDLE_THREAD_MS);
    timer.unref();
    this.resting.set(worker, timer);
  }

  private wake(worker: PoolWorker): void {
    clearTimeout(this.resting.get(worker));
    this.resting.delete(worker);
    worker.hold(true);
  }
}
