/**
 * Module hooks that hook nothing: registered beside tsx's loader, they run in Node's module
 * hooks thread, where that loader's esbuild service lives, and stop that service when the main
 * thread asks (see typescript.ts). A stopped service starts again on the next transform.
 * @module
 */
import type { MessagePort } from 'node:worker_threads';
import { stop } from 'esbuild';

/** Node calls this once, in the hooks thread, with what `register()` passed as `data`. */
export function initialize({ port }: { port: MessagePort }): void {
  port.on('message', () => {
    void stop().then(() => port.postMessage('stopped'));
  });
  // The hooks thread must not be kept alive by this port alone.
  port.unref();
}
