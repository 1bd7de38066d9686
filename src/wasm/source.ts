/**
 * `wasmAdapterSource`: how `serve()` runs a WASM module — one instance per room, by default
 * on a small pool of worker threads shared by all rooms, with a call watchdog and a memory
 * limit per instance.
 * @module
 */
import { ErrorCode, StateroomError } from '../errors.js';
import { MAX_TIMEOUT_MS } from '../protocol.js';
import type { AdapterSource } from '../service/adapter.js';
import { DEFAULT_MEMORY_LIMIT_BYTES, startInstance } from './host.js';
import type { StateroomModule } from './abi/module.js';
import { PooledRoom } from './pool/pooled-room.js';
import { WorkerPool, defaultPoolSize } from './pool/worker-pool.js';

/** Where each room's guest runs. */
export type WasmIsolation = 'pool' | 'worker' | 'inline';

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
  /** Memory one guest instance may grow to, in bytes; past it its room fails. Default 64 MiB. */
  readonly memoryLimitBytes?: number;
}

export const DEFAULT_WASM_HOST_OPTIONS = Object.freeze({
  isolation: 'pool',
  poolSize: defaultPoolSize(),
  callTimeoutMs: 1_000,
  memoryLimitBytes: DEFAULT_MEMORY_LIMIT_BYTES,
});

/** A WASM service for `serve()`; {@link WasmAdapterSource.close} stops its threads. */
export interface WasmAdapterSource extends AdapterSource {
  /**
   * Stops the worker threads (rooms still on them are lost). Threads without rooms let the
   * process exit and stop by themselves after a while; call this to stop them now.
   */
  close(): Promise<void>;
}

/**
 * Serves `module` through `serve()`: each room gets its own instance.
 * @throws {@link StateroomError} `SR_ERR_OPTIONS_INVALID` for an option out of range.
 */
export function wasmAdapterSource(module: StateroomModule, options: WasmHostOptions = {}): WasmAdapterSource {
  const o = { ...DEFAULT_WASM_HOST_OPTIONS, ...options };
  check(o);
  if (o.isolation === 'inline') {
    return {
      name: module.name,
      createAdapter: (roomId, ctx, log) => startInstance(module, roomId, ctx, log, { memoryLimitBytes: o.memoryLimitBytes }),
      close: () => Promise.resolve(),
    };
  }
  const pool = new WorkerPool(module, {
    size: o.poolSize,
    dedicated: o.isolation === 'worker',
    callTimeoutMs: o.callTimeoutMs,
    memoryLimitBytes: o.memoryLimitBytes,
  });
  return {
    name: module.name,
    createAdapter: (roomId, ctx, log, failed) => PooledRoom.start(pool, module, roomId, ctx, log, failed),
    close: () => pool.close(),
  };
}

function check(o: Required<WasmHostOptions>): void {
  if (!Number.isInteger(o.callTimeoutMs) || o.callTimeoutMs < 0 || o.callTimeoutMs > MAX_TIMEOUT_MS) {
    // Past setTimeout's limit Node fires at once, which would time out every call.
    invalid('callTimeoutMs', `must be a whole number of ms from 0 to ${MAX_TIMEOUT_MS}, not ${o.callTimeoutMs}`);
  }
  if (!Number.isInteger(o.poolSize) || o.poolSize < 1) invalid('poolSize', `must be a whole number of threads, 1 or more, not ${o.poolSize}`);
  if (!['pool', 'worker', 'inline'].includes(o.isolation)) invalid('isolation', `must be pool, worker or inline, not ${String(o.isolation)}`);
}

function invalid(option: string, problem: string): never {
  throw new StateroomError(ErrorCode.OPTIONS_INVALID, `${option} ${problem}`, { option });
}
