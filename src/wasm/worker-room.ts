/**
 * A room's guest on its own worker thread, with a watchdog: a call that runs past the call
 * timeout terminates the thread and fails the room (its clients get 1011), while every other
 * room keeps answering. The room sees an ordinary {@link ServiceAdapter} whose calls return
 * promises.
 * @module
 */
import { Worker } from 'node:worker_threads';
import { ErrorCode, StateroomError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { ServiceAdapter } from '../service/adapter.js';
import type { ClientId, Context, Payload } from '../service/types.js';
import type { MessageToProcess } from './codec.js';
import type { StateroomModule } from './module.js';
import type { FromWorker, ToWorker, WorkerSetup } from './worker-protocol.js';

export interface WorkerLimits {
  /** How long one call may run before the worker is terminated; 0 for no limit. */
  readonly callTimeoutMs: number;
  readonly memoryLimitBytes: number;
}

// Run from source (tests, tsx) the worker is a .ts file: Node 20 applies no loader hooks to a
// worker's entry module, so a one-line entry imports it through tsx instead.
const FROM_SOURCE = import.meta.url.endsWith('.ts');
const WORKER_ENTRY: string | URL = FROM_SOURCE
  ? `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((tsx) => tsx.tsImport(${JSON.stringify(
      new URL('./worker-main.ts', import.meta.url).href,
    )}, ${JSON.stringify(import.meta.url)}))`
  : new URL('./worker-main.js', import.meta.url);

interface Pending {
  readonly what: string;
  resolve(): void;
  reject(error: StateroomError): void;
}

export class WorkerRoom implements ServiceAdapter {
  private pending: Pending | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  private dead: StateroomError | undefined;
  /** Settles when the thread has exited, however it ended. */
  private readonly exited: Promise<void>;
  private stopping = false;

  private constructor(
    private readonly worker: Worker,
    private readonly module: StateroomModule,
    private readonly roomId: string,
    private readonly ctx: Context,
    private readonly log: Logger,
    private readonly limits: WorkerLimits,
  ) {
    this.exited = new Promise((resolve) => worker.once('exit', () => resolve()));
    worker.on('message', (message: FromWorker) => this.received(message));
    worker.on('error', (err) => this.died(new StateroomError(ErrorCode.WASM_TRAP, this.describe(`worker error: ${err.message}`), this.where())));
    worker.on('exit', () => this.died(new StateroomError(ErrorCode.WASM_EXIT, this.describe('worker exited'), this.where())));
  }

  /** Starts the worker and resolves once its instance is ready. */
  static start(module: StateroomModule, roomId: string, ctx: Context, log: Logger, limits: WorkerLimits): Promise<WorkerRoom> {
    const setup: WorkerSetup = { module: module.module, name: module.name, roomId, memoryLimitBytes: limits.memoryLimitBytes };
    const worker = new Worker(WORKER_ENTRY, {
      workerData: setup,
      eval: FROM_SOURCE,
      // The guest's memory is its own; the worker's JS heap holds only the host's glue.
      resourceLimits: { maxOldGenerationSizeMb: 64 },
    });
    const room = new WorkerRoom(worker, module, roomId, ctx, log, limits);
    return new Promise((resolve, reject) => {
      room.pending = { what: 'start', resolve: () => resolve(room), reject };
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

  timer(): Promise<void> {
    return this.call({ type: 'timer' });
  }

  dispose(): Promise<void> {
    this.dead ??= new StateroomError(ErrorCode.WASM_EXIT, this.describe('disposed'), this.where());
    return this.stop();
  }

  /**
   * Terminates the thread once. (A second `worker.terminate()` while the first is under way
   * can return a promise that never settles, and holds nothing on the event loop.)
   */
  private stop(): Promise<void> {
    if (!this.stopping) {
      this.stopping = true;
      void this.worker.terminate();
    }
    return this.exited;
  }

  private call(event: MessageToProcess): Promise<void> {
    if (this.dead !== undefined) return Promise.reject(this.dead);
    return new Promise((resolve, reject) => {
      this.pending = { what: event.type, resolve, reject };
      if (this.limits.callTimeoutMs > 0) {
        this.watchdog = setTimeout(() => this.timedOut(event.type), this.limits.callTimeoutMs);
      }
      this.worker.postMessage({ type: 'event', event } satisfies ToWorker);
    });
  }

  private received(message: FromWorker): void {
    switch (message.type) {
      case 'send':
        this.ctx.sendMessage(message.recipient, message.payload);
        return;
      case 'setTimer':
        this.ctx.setTimer(message.ms);
        return;
      case 'clearTimer':
        this.ctx.clearTimer();
        return;
      case 'log':
        this.log[message.level](message.fields, message.message);
        return;
      case 'ready':
      case 'done':
        this.settle()?.resolve();
        return;
      case 'failed':
        this.dead = new StateroomError(message.code ?? ErrorCode.WASM_TRAP, message.message, this.where());
        this.settle()?.reject(this.dead);
        void this.stop();
        return;
    }
  }

  private timedOut(what: string): void {
    const error = new StateroomError(
      ErrorCode.WASM_TIMEOUT,
      this.describe(`${what} ran longer than the call timeout of ${this.limits.callTimeoutMs} ms; its worker was terminated`),
      this.where(),
    );
    this.dead = error;
    this.settle()?.reject(error);
    void this.stop();
  }

  private died(error: StateroomError): void {
    this.dead ??= error;
    this.settle()?.reject(this.dead);
  }

  /** Takes the call in flight, stopping its watchdog. */
  private settle(): Pending | undefined {
    clearTimeout(this.watchdog);
    const pending = this.pending;
    this.pending = undefined;
    return pending;
  }

  private describe(what: string): string {
    return `guest ${what} (room "${this.roomId}", ${this.module.name})`;
  }

  private where() {
    return { roomId: this.roomId, file: this.module.name };
  }
}
