/**
 * `wasmAdapterSource`: how `serve()` runs a WASM module — one instance per room, by default
 * each on its own worker thread with a call watchdog and a memory limit.
 * @module
 */
import { ErrorCode, StateroomError } from '../errors.js';
import { MAX_TIMEOUT_MS } from '../room/timer.js';
import type { AdapterSource } from '../service/adapter.js';
import { DEFAULT_MEMORY_LIMIT_BYTES, startInstance } from './host.js';
import type { StateroomModule } from './module.js';
import { WorkerRoom } from './worker-room.js';

export interface WasmHostOptions {
  /**
   * `worker` (default): each room's guest on its own thread; a call running past
   * `callTimeoutMs` terminates it and only its room fails. `inline`: guests run on the
   * server's thread — cheaper per event, but a guest that loops blocks every room.
   */
  readonly isolation?: 'worker' | 'inline';
  /** How long one guest call may run, in ms (worker isolation); 0 for no limit. Default 1000. */
  readonly callTimeoutMs?: number;
  /** Memory a guest may grow to, in bytes; past it its room fails. Default 64 MiB. */
  readonly memoryLimitBytes?: number;
}

export const DEFAULT_WASM_HOST_OPTIONS = Object.freeze({
  isolation: 'worker',
  callTimeoutMs: 1_000,
  memoryLimitBytes: DEFAULT_MEMORY_LIMIT_BYTES,
} as const);

/** Serves `module` through `serve()`: each room gets its own instance. */
export function wasmAdapterSource(module: StateroomModule, options: WasmHostOptions = {}): AdapterSource {
  const o = { ...DEFAULT_WASM_HOST_OPTIONS, ...options };
  if (!Number.isInteger(o.callTimeoutMs) || o.callTimeoutMs < 0 || o.callTimeoutMs > MAX_TIMEOUT_MS) {
    // Past setTimeout's limit Node fires at once, which would time out every call.
    throw new StateroomError(
      ErrorCode.OPTIONS_INVALID,
      `callTimeoutMs must be a whole number of ms from 0 to ${MAX_TIMEOUT_MS}, not ${o.callTimeoutMs}`,
      { option: 'callTimeoutMs' },
    );
  }
  return {
    name: module.name,
    createAdapter:
      o.isolation === 'inline'
        ? (roomId, ctx, log) => startInstance(module, roomId, ctx, log, { memoryLimitBytes: o.memoryLimitBytes })
        : (roomId, ctx, log) => WorkerRoom.start(module, roomId, ctx, log, o),
  };
}
