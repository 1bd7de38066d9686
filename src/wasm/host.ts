/**
 * The WASM host: one instance of a checked module per room, reached through the same
 * {@link ServiceAdapter} seam as native services. Each event is encoded straight into guest
 * memory (malloc, write, recv, free); what the guest sends during `recv` is decoded and
 * applied through the room's context, in order. The host never sees a socket.
 * @module
 */
import { ErrorCode, StateroomError, describeThrown } from '../errors.js';
import type { Logger } from '../logger.js';
import type { ServiceAdapter } from '../service/adapter.js';
import type { ClientId, Context, Payload } from '../service/types.js';
import { CodecError, decodeFromProcess, sizeOfToProcess, writeToProcess, type MessageFromProcess, type MessageToProcess } from './codec.js';
import type { StateroomModule } from './module.js';
import { ProcExit, WASI_MODULE, wasiImports } from './wasi.js';

/** Stderr lines of one call kept for the error message; a chatty guest cannot grow it further. */
const MAX_COMPLAINTS = 8;

interface GuestExports {
  memory: WebAssembly.Memory;
  stateroom_malloc(size: number): number;
  stateroom_free(ptr: number, size: number): void;
  stateroom_recv(ptr: number, length: number): void;
}

/** Limits on one guest instance. */
export interface InstanceLimits {
  /** A guest whose memory grows past this many bytes is poisoned (checked after each call). */
  readonly memoryLimitBytes: number;
}

export const DEFAULT_MEMORY_LIMIT_BYTES = 64 * 1024 * 1024;

/**
 * Starts one room's instance in this thread. A guest that loops forever blocks this thread;
 * `wasmAdapterSource` runs instances on worker threads with a watchdog instead.
 */
export function startInstance(
  module: StateroomModule,
  roomId: string,
  ctx: Context,
  log: Logger,
  limits: InstanceLimits = { memoryLimitBytes: DEFAULT_MEMORY_LIMIT_BYTES },
): Promise<ServiceAdapter> {
  return WasmInstance.start(module, roomId, ctx, log, limits);
}

/** One room's guest instance. After any trap it is poisoned: every later call fails. */
class WasmInstance implements ServiceAdapter {
  private guest!: GuestExports;
  private failure: StateroomError | undefined;
  private readonly wasi: ReturnType<typeof wasiImports>;
  /** What the guest printed to stderr during the current call: its panic message, when it traps. */
  private complaints: string[] = [];

  private constructor(
    private readonly name: string,
    private readonly roomId: string,
    private readonly ctx: Context,
    private readonly log: Logger,
    private readonly limits: InstanceLimits,
  ) {
    this.wasi = wasiImports(
      () => this.guest.memory,
      (stream, line) => this.guestPrinted(stream, line),
    );
  }

  static async start(module: StateroomModule, roomId: string, ctx: Context, log: Logger, limits: InstanceLimits): Promise<WasmInstance> {
    const host = new WasmInstance(module.name, roomId, ctx, log, limits);
    // Synchronous, for the reason given in module.ts; instantiating a compiled module is quick.
    const instance = new WebAssembly.Instance(module.module, {
      env: { stateroom_send: (ptr: number, length: number) => host.received(ptr, length) },
      [WASI_MODULE]: host.wasi.imports,
    });
    host.guest = instance.exports as unknown as GuestExports;
    return host;
  }

  init(): void {
    this.deliver({ type: 'init' });
  }

  connect(client: ClientId): void {
    this.deliver({ type: 'connect', client });
  }

  disconnect(client: ClientId): void {
    this.deliver({ type: 'disconnect', client });
  }

  message(sender: ClientId, payload: Payload): void {
    this.deliver({ type: 'message', sender, payload });
  }

  timer(): void {
    this.deliver({ type: 'timer' });
  }

  dispose(): void {
    this.wasi.flush();
    this.failure ??= new StateroomError(ErrorCode.WASM_EXIT, `room "${this.roomId}": instance disposed`, { roomId: this.roomId });
  }

  /**
   * Hands one event to the guest. Memory can grow during malloc or recv, which replaces its
   * buffer, so a view is taken only right before it is used.
   */
  private deliver(message: MessageToProcess): void {
    if (this.failure !== undefined) throw this.failure;
    this.complaints = [];
    const size = sizeOfToProcess(message);
    try {
      const ptr = this.guest.stateroom_malloc(size) >>> 0;
      writeToProcess(message, new Uint8Array(this.guest.memory.buffer, ptr, size));
      this.guest.stateroom_recv(ptr, size);
      this.guest.stateroom_free(ptr, size);
      this.checkMemory(message.type);
    } catch (thrown) {
      this.wasi.flush();
      this.failure = this.poisoned(thrown, message.type);
      throw this.failure;
    }
  }

  /** `env.stateroom_send`: copy and decode the guest's bytes before returning, then apply them. */
  private received(ptr: number, length: number): void {
    let decoded: MessageFromProcess;
    try {
      decoded = decodeFromProcess(new Uint8Array(this.guest.memory.buffer, ptr >>> 0, length >>> 0));
    } catch (cause) {
      const why = cause instanceof CodecError ? cause.message : `bytes ${ptr >>> 0}..+${length >>> 0} are outside its memory`;
      throw new CodecError(why);
    }
    if (decoded.type === 'setTimer') {
      this.ctx.setTimer(decoded.msDelay);
      return;
    }
    const { recipient, payload } = decoded;
    // Id 0 names no client: a message to it is dropped, and "everyone except 0" is everyone.
    if (recipient === 0) return;
    if (typeof recipient === 'object' && recipient.except === 0) this.ctx.sendMessage('broadcast', payload);
    else this.ctx.sendMessage(recipient, payload);
  }

  private checkMemory(during: string): void {
    const bytes = this.guest.memory.buffer.byteLength;
    if (bytes <= this.limits.memoryLimitBytes) return;
    const mib = (n: number): string => `${(n / 2 ** 20).toFixed(0)} MiB`;
    throw new StateroomError(
      ErrorCode.WASM_MEMORY,
      `guest memory grew to ${mib(bytes)}, over the limit of ${mib(this.limits.memoryLimitBytes)} (room "${this.roomId}", ${this.name}, during ${during})`,
      { roomId: this.roomId, file: this.name },
    );
  }

  private poisoned(thrown: unknown, during: string): StateroomError {
    if (thrown instanceof StateroomError) return thrown;
    const where = `room "${this.roomId}", ${this.name}, during ${during}`;
    const context = { roomId: this.roomId, file: this.name };
    if (thrown instanceof ProcExit) {
      return new StateroomError(ErrorCode.WASM_EXIT, `guest called proc_exit(${thrown.exitCode}) (${where})`, context, { cause: thrown });
    }
    if (thrown instanceof CodecError) {
      return new StateroomError(ErrorCode.WASM_BAD_OUTPUT, `guest sent bytes that do not decode (${where}): ${thrown.message}`, context, {
        cause: thrown,
      });
    }
    const said = this.complaints.length === 0 ? '' : ` — it printed: ${this.complaints.join(' / ')}`;
    return new StateroomError(ErrorCode.WASM_TRAP, `guest trapped (${where}): ${describeThrown(thrown)}${said}`, context, { cause: thrown });
  }

  private guestPrinted(stream: 'stdout' | 'stderr', line: string): void {
    const fields = { roomId: this.roomId, stream, module: this.name };
    if (stream === 'stderr') {
      // Rust adds a hint about RUST_BACKTRACE after a panic; it says nothing about the failure.
      if (this.complaints.length < MAX_COMPLAINTS && !line.startsWith('note: run with `RUST_BACKTRACE')) {
        this.complaints.push(line.length > 500 ? `${line.slice(0, 500)}…` : line);
      }
      this.log.warn(fields, `guest: ${line}`);
    } else {
      this.log.info(fields, `guest: ${line}`);
    }
  }
}
