/**
 * The thread of the load-time check (start-check.ts): instantiates a module once — running
 * its start function, which may never return — and reads its version globals. The server
 * thread terminates this thread when it takes too long.
 * @module
 */
import { parentPort, workerData } from 'node:worker_threads';
import { describeThrown } from '../../errors.js';
import { WASI_MODULE, wasiImports } from './wasi.js';

/** What the thread is given. */
export interface StartCheckInput {
  readonly module: WebAssembly.Module;
}

/** What it answers: the two versions (or why one cannot be read), or why it did not instantiate. */
export type StartCheckOutput =
  | { readonly ok: true; readonly version: number | string; readonly protocol: number | string }
  | { readonly ok: false; readonly error: string };

function check({ module }: StartCheckInput): StartCheckOutput {
  let instance: WebAssembly.Instance | undefined;
  // A start function may print: give it the module's own memory, and nowhere to print to.
  const wasi = wasiImports(
    () => (instance?.exports.memory as WebAssembly.Memory | undefined) ?? new WebAssembly.Memory({ initial: 0 }),
    () => {},
  );
  try {
    instance = new WebAssembly.Instance(module, {
      env: {
        stateroom_send: () => {
          throw new Error('stateroom_send called while the module was being checked');
        },
      },
      [WASI_MODULE]: wasi.imports,
    });
  } catch (cause) {
    return { ok: false, error: describeThrown(cause) };
  }
  const memory = instance.exports.memory as WebAssembly.Memory;
  const read = (global: string): number | string => {
    const address = Number((instance.exports[global] as WebAssembly.Global).value) >>> 0;
    if (address + 4 > memory.buffer.byteLength) return `(unreadable: ${global} points at ${address}, outside memory)`;
    return new DataView(memory.buffer).getUint32(address, true);
  };
  return { ok: true, version: read('STATEROOM_API_VERSION'), protocol: read('STATEROOM_API_PROTOCOL') };
}

parentPort?.postMessage(check(workerData as StartCheckInput));
