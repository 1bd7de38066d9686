/**
 * The options of the WASM host and their defaults, apart from the host itself: the CLI reads
 * them to define its flags in every process, the `--workers` primary included, which never
 * runs a guest and so never loads the host.
 * @module
 */
import { availableParallelism } from 'node:os';
import { DEFAULT_MEMORY_LIMIT_BYTES } from './abi/guest.js';
import { defaultMaxInstances, defaultMemoryBudgetBytes } from './budget.js';

/** Threads in a pool unless told otherwise: one per core, and at least two. */
export function defaultPoolSize(): number {
  return Math.max(2, availableParallelism());
}

/** Where each room's guest runs. */
export type WasmIsolation = 'pool' | 'worker' | 'inline';

/** How WebAssembly services are hosted: isolation, pool size, call timeout, memory limits and budgets (docs/wasm.md). */
export interface WasmHostOptions {
  /**
   * `pool` (default): guests run on `poolSize` worker threads shared by all rooms; a call
   * running past `callTimeoutMs` terminates its thread, failing its room and every other
   * room on that thread, which the pool replaces. `worker`: each room on a thread of its
   * own, so a runaway guest fails only its room — at ~7 MiB and ~70 ms of thread start per
   * room. `inline`: guests on the server's thread — cheapest, but a guest that loops
   * blocks every room; for trusted modules only.
   */
  readonly isolation?: WasmIsolation;
  /** Threads in the pool (isolation `pool`). Default: the number of cores, at least 2. */
  readonly poolSize?: number;
  /** How long one guest call may run, in ms (`pool` and `worker`); 0 for no limit. Default 1000. */
  readonly callTimeoutMs?: number;
  /**
   * How long a room's instance may take to start, in ms (`pool` and `worker`), counted from
   * when the room asked for it: past it that room alone fails with `SR_ERR_WASM_START` (its
   * clients get 1011) and its thread goes on. 0 for no limit. Default 5000.
   */
  readonly startTimeoutMs?: number;
  /**
   * Memory one guest instance may grow to, in bytes. The module's memory maximum is set to it
   * at load, so `memory.grow` past it fails inside the call; a guest that then traps fails
   * its room with `SR_ERR_WASM_MEMORY`. Default 64 MiB.
   */
  readonly memoryLimitBytes?: number;
  /**
   * Most instances (rooms) at once in this process; a new room past it is refused with HTTP
   * 503. 0 for no limit. Default: half of what the process's address space holds at V8's
   * ~10 GiB reservation per WebAssembly memory (6,553 on 64-bit Linux).
   */
  readonly maxInstances?: number;
  /**
   * Guest memory all instances of this process may hold, in bytes; while they hold it, new
   * rooms are refused with HTTP 503. 0 for no limit. Default: half of the machine's (or
   * container's) memory.
   */
  readonly memoryBudgetBytes?: number;
}

/** What a {@link WasmHostOptions} left out is. */
export const DEFAULT_WASM_HOST_OPTIONS = Object.freeze({
  isolation: 'pool',
  poolSize: defaultPoolSize(),
  callTimeoutMs: 1_000,
  startTimeoutMs: 5_000,
  memoryLimitBytes: DEFAULT_MEMORY_LIMIT_BYTES,
  maxInstances: defaultMaxInstances(),
  memoryBudgetBytes: defaultMemoryBudgetBytes(),
});
