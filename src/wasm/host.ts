/**
 * The WASM host, inline: one instance of a checked module per room, on the server's own
 * thread, reached through the same {@link ServiceAdapter} seam as native services. What the
 * guest sends during a call is decoded and applied through the room's context at once, in
 * order. The host never sees a socket.
 * @module
 */
import type { Logger } from '../logger.js';
import type { ServiceAdapter } from '../service/adapter.js';
import type { ClientId, Context, Payload } from '../service/types.js';
import { applyFromProcess } from './abi/apply.js';
import { decodeFromProcess } from './abi/codec.js';
import { DEFAULT_MEMORY_LIMIT_BYTES, Guest, type InstanceLimits } from './abi/guest.js';
import type { StateroomModule } from './abi/module.js';
import { logPrinted } from './abi/printed.js';

export { DEFAULT_MEMORY_LIMIT_BYTES, type InstanceLimits } from './abi/guest.js';

/**
 * Starts one room's instance in this thread. A guest that loops forever blocks this thread;
 * `wasmAdapterSource` runs instances on worker threads with a watchdog instead.
 */
export async function startInstance(
  module: StateroomModule,
  roomId: string,
  ctx: Context,
  log: Logger,
  limits: InstanceLimits = { memoryLimitBytes: DEFAULT_MEMORY_LIMIT_BYTES },
): Promise<ServiceAdapter> {
  // async: a failed start is a rejection, as for the other adapters.
  return new WasmInstance(module, roomId, ctx, log, limits);
}

/** One room's guest instance on this thread. After any failure every later call throws. */
class WasmInstance implements ServiceAdapter {
  private readonly guest: Guest;

  constructor(module: StateroomModule, roomId: string, ctx: Context, log: Logger, limits: InstanceLimits) {
    const fields = { roomId, module: module.name };
    this.guest = Guest.start(module, roomId, limits, {
      sent: (bytes) => applyFromProcess(decodeFromProcess(bytes), ctx),
      printed: (stream, line) => logPrinted(log, { ...fields, stream }, line),
    });
  }

  init(): void {
    this.guest.deliver({ type: 'init' });
  }

  connect(client: ClientId): void {
    this.guest.deliver({ type: 'connect', client });
  }

  disconnect(client: ClientId): void {
    this.guest.deliver({ type: 'disconnect', client });
  }

  message(sender: ClientId, payload: Payload): void {
    this.guest.deliver({ type: 'message', sender, payload });
  }

  timer(): void {
    this.guest.deliver({ type: 'timer' });
  }

  /** The guest's memory and globals, as an image (`abi/snapshot.ts`); between calls only. */
  snapshot(): Uint8Array {
    return this.guest.snapshot();
  }

  /** Starts from `image` instead of `init()`; throws `SR_ERR_RESTORE_FAILED` when it cannot. */
  restore(image: Uint8Array): void {
    this.guest.restore(image);
  }

  dispose(): void {
    this.guest.dispose();
  }
}
