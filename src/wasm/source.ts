/**
 * `wasmAdapterSource`: how `serve()` runs a WASM module — one instance per room, by default
 * on a small pool of worker threads shared by all rooms, with a call watchdog and a memory
 * limit per instance.
 * @module
 */
import { ErrorCode, StateroomError } from '../errors.js';
import { MAX_TIMEOUT_MS } from '../protocol.js';
import type { AdapterSource, ServiceAdapter } from '../service/adapter.js';
import type { MemoryTally } from './abi/guest.js';
import { prepareModule } from './abi/rewrite.js';
import { budgetRefusal, type BudgetUse } from './budget.js';
import { startInstance } from './host.js';
import type { StateroomModule } from './abi/module.js';
import { PooledRoom } from './pool/pooled-room.js';
import { WorkerPool } from './pool/worker-pool.js';
import { DEFAULT_WASM_HOST_OPTIONS, type WasmHostOptions } from './host-options.js';

export { DEFAULT_WASM_HOST_OPTIONS, type WasmHostOptions, type WasmIsolation } from './host-options.js';


/** A WASM service for `serve()`; {@link WasmAdapterSource.close} stops its threads. */
export interface WasmAdapterSource extends AdapterSource {
  /**
   * Stops the worker threads (rooms still on them are lost). Threads without rooms let the
   * process exit and stop by themselves after a while; call this to stop them now.
   */
  close(): Promise<void>;
}

/**
 * Serves `module` through `serve()`: each room gets its own instance. The module is
 * rewritten once here (abi/rewrite.ts): its memory's maximum set to the memory limit and,
 * unless its rooms cannot be saved faithfully, its mutable globals exported so that every
 * room's adapter can `snapshot()` and `restore()`; `durability` says which, with the hash of
 * the module's bytes as loaded.
 * @throws {@link StateroomError} `SR_ERR_OPTIONS_INVALID` for an option out of range.
 */
export function wasmAdapterSource(checked: StateroomModule, options: WasmHostOptions = {}): WasmAdapterSource {
  const o = { ...DEFAULT_WASM_HOST_OPTIONS, ...options };
  check(o);
  const module = prepareModule(checked, o.memoryLimitBytes);
  const { durability } = module;
  const refusal = (use: BudgetUse): string | undefined => budgetRefusal(use, o.maxInstances, o.memoryBudgetBytes);
  if (o.isolation === 'inline') {
    const tally: MemoryTally = { bytes: 0 };
    let instances = 0;
    return {
      name: module.name,
      createAdapter: async (roomId, ctx, log) => {
        instances += 1;
        try {
          const adapter = await startInstance(module, roomId, ctx, log, { memoryLimitBytes: o.memoryLimitBytes, tally });
          return counted(adapter, () => (instances -= 1));
        } catch (err) {
          instances -= 1;
          throw err;
        }
      },
      newRoomRefusal: (reserved = 0) => refusal({ instances: instances + reserved, memoryBytes: tally.bytes }),
      close: () => Promise.resolve(),
      durability,
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
    createAdapter: (roomId, ctx, log, failed) => PooledRoom.start(pool, module, roomId, ctx, log, failed, o.startTimeoutMs),
    newRoomRefusal: (reserved = 0) => refusal({ instances: pool.instances + reserved, memoryBytes: pool.memoryBytes }),
    close: () => pool.close(),
    durability,
  };
}

/** `adapter`, calling `released` once when it is disposed. */
function counted(adapter: ServiceAdapter, released: () => void): ServiceAdapter {
  const dispose = adapter.dispose?.bind(adapter);
  let done = false;
  adapter.dispose = () => {
    if (!done) released();
    done = true;
    return dispose?.();
  };
  return adapter;
}

function check(o: Required<WasmHostOptions>): void {
  if (!Number.isInteger(o.callTimeoutMs) || o.callTimeoutMs < 0 || o.callTimeoutMs > MAX_TIMEOUT_MS) {
    // Past setTimeout's limit Node fires at once, which would time out every call.
    invalid('callTimeoutMs', `must be a whole number of ms from 0 to ${MAX_TIMEOUT_MS}, not ${o.callTimeoutMs}`);
  }
  if (!Number.isInteger(o.startTimeoutMs) || o.startTimeoutMs < 0 || o.startTimeoutMs > MAX_TIMEOUT_MS) {
    invalid('startTimeoutMs', `must be a whole number of ms from 0 to ${MAX_TIMEOUT_MS}, not ${o.startTimeoutMs}`);
  }
  if (!Number.isInteger(o.maxInstances) || o.maxInstances < 0) invalid('maxInstances', `must be a whole number, 0 or more, not ${o.maxInstances}`);
  if (!Number.isInteger(o.memoryBudgetBytes) || o.memoryBudgetBytes < 0) invalid('memoryBudgetBytes', `must be a whole number of bytes, 0 or more, not ${o.memoryBudgetBytes}`);
  if (!Number.isInteger(o.poolSize) || o.poolSize < 1) invalid('poolSize', `must be a whole number of threads, 1 or more, not ${o.poolSize}`);
  if (!['pool', 'worker', 'inline'].includes(o.isolation)) invalid('isolation', `must be pool, worker or inline, not ${String(o.isolation)}`);
}

function invalid(option: string, problem: string): never {
  throw new StateroomError(ErrorCode.OPTIONS_INVALID, `${option} ${problem}`, { option });
}
