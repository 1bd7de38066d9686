/**
 * One guest instance and the ABI calls into it: an event is copied into guest memory
 * (malloc, write, recv, free), and whatever the guest hands to `stateroom_send` meanwhile
 * goes to its {@link GuestOutput} as raw bytes. Between calls its state can be captured as an
 * image and a fresh instance started from one (snapshot.ts). The guest knows nothing of rooms
 * or threads; the inline adapter (host.ts) and the worker thread (thread-main.ts) both drive
 * one of these.
 * @module
 */
import { ErrorCode, StateroomError, describeThrown } from '../../errors.js';
import { CodecError, callbackOfToProcess, checkFromProcess, sizeOfToProcess, writeToProcess, type MessageToProcess } from './codec.js';
import type { StateroomModule } from './module.js';
import { ImageRefused, captureImage, restoreImage, type InstanceExports, type SnapshotLayout } from './snapshot.js';
import { ProcExit, WASI_MODULE, wasiImports } from './wasi.js';

/** Stderr lines of one call kept for the error message; a chatty guest cannot grow it further. */
const MAX_COMPLAINTS = 8;

export const DEFAULT_MEMORY_LIMIT_BYTES = 64 * 1024 * 1024;

/** Limits on one guest instance. */
export interface InstanceLimits {
  /**
   * The memory one instance may have, in bytes. The module's declared maximum is set to it at
   * load (rewrite.ts), so `memory.grow` past it fails inside the call; a guest whose memory is
   * over it anyway (a module not rewritten) is poisoned after the call.
   */
  readonly memoryLimitBytes: number;
  /** Where the instance adds the memory it holds, for a budget of all instances. */
  readonly tally?: MemoryTally;
}

/** Bytes of guest memory held by a group of instances (a thread's, or a process's). */
export interface MemoryTally {
  bytes: number;
}

/**
 * A trap with the memory this close to its limit is taken for a failed `memory.grow` (the
 * guest's allocator gave up): a grow past the maximum returns -1 and leaves no other trace.
 */
const NEAR_LIMIT = 0.75;
/** What a Rust guest prints when an allocation fails (`handle_alloc_error`), or an AssemblyScript one. */
const OUT_OF_MEMORY_LINE = /memory allocation of \d+ bytes failed|out of memory/i;

/** Where a guest's effects go. */
export interface GuestOutput {
  /**
   * The guest called `stateroom_send` with bytes that decode (already checked). `bytes` is
   * a view of guest memory, valid only until this returns: copy or decode it now.
   */
  sent(bytes: Uint8Array): void;
  /** A line the guest printed (WASI fd 1 or 2). */
  printed(stream: 'stdout' | 'stderr', line: string): void;
}

/** The guest's memory outgrew its limit (thrown inside a call, described by the guest). */
class MemoryLimitExceeded extends Error {}

interface GuestExports {
  memory: WebAssembly.Memory;
  stateroom_malloc(size: number): number;
  stateroom_free(ptr: number, size: number): void;
  stateroom_recv(ptr: number, length: number): void;
}

/** One room's guest instance. After any failure it is poisoned: every later call throws. */
export class Guest {
  private exports!: GuestExports;
  private heap = new Uint8Array(0);
  private failure: StateroomError | undefined;
  private readonly wasi: ReturnType<typeof wasiImports>;
  /** What the guest printed to stderr during the current call: its panic message, when it traps. */
  private complaints: string[] = [];
  /** The memory this instance has added to its tally. */
  private accounted = 0;
  /** All the instance's exports, for snapshots (the rewritten module's globals among them). */
  private all: InstanceExports = {};
  /** A call into the guest is running: no snapshot now. */
  private running = false;
  /** Nothing was delivered or restored yet: a restore may still start it. */
  private fresh = true;

  private constructor(
    private readonly name: string,
    private readonly roomId: string,
    private readonly limits: InstanceLimits,
    private readonly output: GuestOutput,
    private readonly layout: SnapshotLayout | undefined,
  ) {
    this.wasi = wasiImports(
      () => this.exports.memory,
      (stream, line) => this.printed(stream, line),
    );
  }

  /**
   * Instantiates `module` for `roomId`, synchronously (see module.ts: a compiled module
   * instantiates quickly, and an async instantiation holds nothing on the event loop).
   * @throws {@link StateroomError} `SR_ERR_WASM_TRAP` when its start function traps.
   */
  static start(module: StateroomModule, roomId: string, limits: InstanceLimits, output: GuestOutput): Guest {
    const guest = new Guest(module.name, roomId, limits, output, module.snapshot);
    try {
      const instance = new WebAssembly.Instance(module.module, {
        env: { stateroom_send: (ptr: number, length: number) => guest.received(ptr, length) },
        [WASI_MODULE]: guest.wasi.imports,
      });
      guest.all = instance.exports;
      guest.exports = instance.exports as unknown as GuestExports;
      guest.account();
    } catch (thrown) {
      throw guest.poison(thrown, 'start');
    }
    return guest;
  }

  /** Hands `message` to the guest, encoded straight into its memory. */
  deliver(message: MessageToProcess): void {
    this.enter();
    const size = sizeOfToProcess(message);
    try {
      const ptr = this.allocate(size);
      writeToProcess(message, this.heap.subarray(ptr, ptr + size));
      this.recv(ptr, size);
    } catch (thrown) {
      throw this.poison(thrown, message.type);
    } finally {
      this.running = false;
    }
  }

  /** Hands the guest a message already encoded (by another thread): `bytes` is copied in. */
  deliverEncoded(bytes: Uint8Array): void {
    this.enter();
    const size = bytes.byteLength;
    try {
      const ptr = this.allocate(size);
      this.heap.set(bytes, ptr);
      this.recv(ptr, size);
    } catch (thrown) {
      throw this.poison(thrown, callbackOfToProcess(bytes));
    } finally {
      this.running = false;
    }
  }

  /**
   * The instance's state now — its memory and every mutable global — as an image that
   * {@link restore} takes (snapshot.ts has the format), preceded by `headroom` free bytes for
   * a caller that frames it. Between calls only; the guest runs nothing, so this costs a copy
   * of its memory.
   * @throws {@link StateroomError} `SR_ERR_NOT_DURABLE` when the module was not prepared for
   *   snapshots, or a call is running; the instance's failure if it failed.
   */
  snapshot(headroom = 0): Uint8Array {
    if (this.failure !== undefined) throw this.failure;
    const layout = this.usable('snapshot');
    try {
      return captureImage(this.all, layout, headroom);
    } catch (thrown) {
      // Reading exports runs no guest code: a failure here is the module's, not the instance's.
      throw new StateroomError(ErrorCode.NOT_DURABLE, `room "${this.roomId}": the guest cannot be saved: ${describeThrown(thrown)} (${this.name})`, this.where(), { cause: thrown });
    }
  }

  /**
   * Starts this fresh instance (its start function has run, nothing was delivered) from
   * `image` instead of `Init`: memory grown to the saved size and written, globals set, the
   * memory tally brought up to date. An instance that could not be restored is poisoned.
   * @throws {@link StateroomError} `SR_ERR_RESTORE_FAILED` when the image is not one of this
   *   module (or is corrupt), or holds more memory than the memory limit.
   */
  restore(image: Uint8Array): void {
    if (this.failure !== undefined) throw this.failure;
    if (!this.fresh) throw new StateroomError(ErrorCode.RESTORE_FAILED, `room "${this.roomId}": a guest can be restored only before its first event (${this.name})`, this.where());
    const layout = this.usable('restore');
    this.fresh = false;
    try {
      restoreImage(this.all, layout, image, this.limits.memoryLimitBytes);
      this.account();
    } catch (thrown) {
      const why = thrown instanceof ImageRefused ? thrown.message : describeThrown(thrown);
      throw this.poison(
        new StateroomError(ErrorCode.RESTORE_FAILED, `room "${this.roomId}": the saved image cannot be restored: ${why} (${this.name})`, this.where(), { cause: thrown }),
        'restore',
      );
    }
  }

  /** The snapshot layout, if snapshots can be taken now. */
  private usable(what: string): SnapshotLayout {
    if (this.running) throw new StateroomError(ErrorCode.NOT_DURABLE, `room "${this.roomId}": no ${what} while a call runs (${this.name})`, this.where());
    if (this.layout === undefined) {
      const code = what === 'restore' ? ErrorCode.RESTORE_FAILED : ErrorCode.NOT_DURABLE;
      throw new StateroomError(code, `room "${this.roomId}": ${this.name} was not prepared for snapshots (its rooms cannot be saved)`, this.where());
    }
    return this.layout;
  }

  /** Emits what the guest printed without a newline; later calls fail. */
  dispose(): void {
    if (this.limits.tally !== undefined) this.limits.tally.bytes -= this.accounted;
    this.accounted = 0;
    this.wasi.flush();
    this.failure ??= new StateroomError(ErrorCode.WASM_EXIT, `room "${this.roomId}": instance disposed`, this.where());
    // Let the instance and its memory go, even while something still holds this Guest.
    this.heap = new Uint8Array(0);
    this.exports = undefined as unknown as GuestExports;
    this.all = {};
  }

  private enter(): void {
    if (this.failure !== undefined) throw this.failure;
    if (this.complaints.length > 0) this.complaints = [];
    this.running = true;
    this.fresh = false;
  }

  /** `stateroom_malloc(size)`, checked to lie inside guest memory (the memory view renewed). */
  private allocate(size: number): number {
    const ptr = this.exports.stateroom_malloc(size) >>> 0;
    if (ptr + size > this.memory().byteLength) throw new RangeError(`stateroom_malloc(${size}) returned ${ptr}, outside its memory`);
    return ptr;
  }

  /** `stateroom_recv` on the event at `ptr`, `stateroom_free` it, then check the memory limit. */
  private recv(ptr: number, size: number): void {
    this.exports.stateroom_recv(ptr, size);
    this.exports.stateroom_free(ptr, size);
    this.account();
    this.checkMemory();
  }

  /** Brings the tally up to the memory the instance holds now. */
  private account(): void {
    const { tally } = this.limits;
    if (tally === undefined) return;
    const bytes = this.exports.memory.buffer.byteLength;
    tally.bytes += bytes - this.accounted;
    this.accounted = bytes;
  }

  /**
   * A view of all guest memory. Memory can grow during any call, which replaces its buffer,
   * so the view is renewed whenever the buffer changed — not allocated per call.
   */
  private memory(): Uint8Array {
    const { buffer } = this.exports.memory;
    if (this.heap.buffer !== buffer) this.heap = new Uint8Array(buffer);
    return this.heap;
  }

  /** `env.stateroom_send`: refuse bytes that do not decode (the guest unwinds), else pass them on. */
  private received(ptr: number, length: number): void {
    const memory = this.memory();
    const start = ptr >>> 0;
    const end = start + (length >>> 0);
    if (end > memory.byteLength) throw new CodecError(`bytes ${start}..+${length >>> 0} are outside its memory`);
    const bytes = memory.subarray(start, end);
    checkFromProcess(bytes);
    this.output.sent(bytes);
  }

  private checkMemory(): void {
    const bytes = this.exports.memory.buffer.byteLength;
    if (bytes <= this.limits.memoryLimitBytes) return;
    // The callback is filled in by poison(), which knows which one this was.
    throw new MemoryLimitExceeded(`guest memory grew to ${mib(bytes)}, over the limit of ${mib(this.limits.memoryLimitBytes)}`);
  }

  /** Records why the instance cannot go on, and returns that error. */
  private poison(thrown: unknown, during: string): StateroomError {
    // The memory stays held until the room lets the instance go.
    if (this.exports !== undefined) this.account();
    this.wasi.flush();
    this.failure = this.describeFailure(thrown, during);
    return this.failure;
  }

  private describeFailure(thrown: unknown, during: string): StateroomError {
    if (thrown instanceof StateroomError) return thrown;
    const where = `room "${this.roomId}", ${this.name}, during ${during}`;
    const context = this.where();
    if (thrown instanceof MemoryLimitExceeded) return new StateroomError(ErrorCode.WASM_MEMORY, `${thrown.message} (${where})`, context);
    if (thrown instanceof ProcExit) {
      return new StateroomError(ErrorCode.WASM_EXIT, `guest called proc_exit(${thrown.exitCode}) (${where})`, context, { cause: thrown });
    }
    if (thrown instanceof CodecError) {
      return new StateroomError(ErrorCode.WASM_BAD_OUTPUT, `guest sent bytes that do not decode (${where}): ${thrown.message}`, context, {
        cause: thrown,
      });
    }
    const said = this.complaints.length === 0 ? '' : ` — it printed: ${this.complaints.join(' / ')}`;
    if (this.outOfMemory()) {
      const { byteLength } = this.exports.memory.buffer;
      return new StateroomError(
        ErrorCode.WASM_MEMORY,
        `guest ran out of memory at ${mib(byteLength)} of its limit of ${mib(this.limits.memoryLimitBytes)} and trapped (${where}): ${describeThrown(thrown)}${said}`,
        context,
        { cause: thrown },
      );
    }
    return new StateroomError(ErrorCode.WASM_TRAP, `guest trapped (${where}): ${describeThrown(thrown)}${said}`, context, { cause: thrown });
  }

  /** Whether a trap looks like a failed allocation: memory near its limit, or the guest said so. */
  private outOfMemory(): boolean {
    if (this.exports === undefined) return false;
    return this.exports.memory.buffer.byteLength >= NEAR_LIMIT * this.limits.memoryLimitBytes || this.complaints.some((line) => OUT_OF_MEMORY_LINE.test(line));
  }

  private printed(stream: 'stdout' | 'stderr', line: string): void {
    // Rust adds a hint about RUST_BACKTRACE after a panic; it says nothing about the failure.
    if (stream === 'stderr' && this.complaints.length < MAX_COMPLAINTS && !line.startsWith('note: run with `RUST_BACKTRACE')) {
      this.complaints.push(line.length > 500 ? `${line.slice(0, 500)}…` : line);
    }
    this.output.printed(stream, line);
  }

  private where() {
    return { roomId: this.roomId, file: this.name };
  }
}

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(0)} MiB`;
}
