/**
 * TypeScript (and fresh JavaScript) services through tsx — CommonJS ones, and ES modules whose
 * folder takes no bundle (esm-bundle.ts compiles the others) — and esbuild's API for that
 * bundle, without the cost of either left behind.
 *
 * - tsx's APIs and esbuild are imported on first use, so a process that never loads
 *   TypeScript (a WASM service, the `--workers` primary) never loads them.
 * - esbuild answers from a service process that outlives the load (~12 MiB of RSS for the
 *   server's lifetime). After each load it is stopped; the next transform (a `dev` reload)
 *   starts another. tsx has no API for this, so it goes through esbuild's own `stop()`: in the
 *   module hooks thread for `tsImport` (transformer-hooks.ts). For `require`, esbuild's
 *   synchronous transforms run as one-shot processes (`ESBUILD_WORKER_THREADS=0` while tsx,
 *   and so esbuild, is first imported) instead of in a worker thread whose service process
 *   outlives `stop()`.
 * @module
 */
import { register } from 'node:module';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import type * as EsbuildModule from 'esbuild';
import type * as CjsApiModule from 'tsx/cjs/api';
import type * as EsmApiModule from 'tsx/esm/api';

type EsmApi = typeof EsmApiModule;
type CjsApi = typeof CjsApiModule;
type Esbuild = typeof EsbuildModule;

/** esbuild reads it once per thread, when it is first loaded. */
const WORKER_THREADS = 'ESBUILD_WORKER_THREADS';
/** How long a stop of the hooks thread's esbuild may take before the load goes on without it. */
const STOP_TIMEOUT_MS = 5_000;
/** The hooks module, beside this file (a .ts one when this runs from source, as in tests). */
const HOOKS = new URL(`./transformer-hooks${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);

let esmApi: Promise<EsmApi> | undefined;
let cjsApi: Promise<CjsApi> | undefined;
let esbuild: Promise<Esbuild> | undefined;
let hooksPort: MessagePort | undefined;

/**
 * `import()`s `url` (resolved from `parent`) through tsx: a fresh copy of its module graph on
 * each call, TypeScript compiled on the way.
 */
export async function tsxImport(url: string, parent: string): Promise<unknown> {
  const { tsImport } = await tsxEsm();
  try {
    return await tsImport(url, parent);
  } finally {
    await stopHooksThreadService();
  }
}

/** `require()`s the CommonJS TypeScript file `file` through tsx's require hook (stack frames name the .ts lines). */
export async function tsxRequire(file: string, parent: string): Promise<unknown> {
  const { require } = await tsxCjs();
  return require(file, parent);
}

/**
 * Imports a module that loads esbuild (esbuild itself, or tsx) with ESBUILD_WORKER_THREADS=0:
 * esbuild reads it when it is first loaded in a thread, and in this one that is here (unless
 * something loaded it before, as `node --import tsx` does: it then keeps its worker). Only for
 * the import: a worker thread esbuild starts later inherits the environment, and one started
 * with the variable set never answers.
 */
async function withoutEsbuildWorker<T>(load: () => Promise<T>): Promise<T> {
  const previous = process.env[WORKER_THREADS];
  process.env[WORKER_THREADS] = '0';
  try {
    return await load();
  } finally {
    if (previous === undefined) delete process.env[WORKER_THREADS];
    else process.env[WORKER_THREADS] = previous;
  }
}

/** esbuild's API, for esm-bundle.ts: loaded as tsx would have it (no worker thread). */
export function importEsbuild(): Promise<Esbuild> {
  esbuild ??= withoutEsbuildWorker(() => import('esbuild'));
  return esbuild;
}

/** tsx's ESM API, imported once. */
function tsxEsm(): Promise<EsmApi> {
  esmApi ??= withoutEsbuildWorker(() => import('tsx/esm/api'));
  return esmApi;
}

/** tsx's CommonJS API, imported once. */
function tsxCjs(): Promise<CjsApi> {
  cjsApi ??= withoutEsbuildWorker(() => import('tsx/cjs/api'));
  return cjsApi;
}

/** Stops the esbuild service of the hooks thread, where tsx's `tsImport` transforms run. */
async function stopHooksThreadService(): Promise<void> {
  if (hooksPort === undefined) {
    const { port1, port2 } = new MessageChannel();
    register(HOOKS, { data: { port: port2 }, transferList: [port2] });
    port1.unref();
    hooksPort = port1;
  }
  const port = hooksPort;
  await new Promise<void>((resolve) => {
    // Past the timeout the service is left running: it costs memory, not correctness.
    const timer = setTimeout(done, STOP_TIMEOUT_MS);
    function done(): void {
      clearTimeout(timer);
      port.off('message', done);
      resolve();
    }
    port.on('message', done);
    port.postMessage('stop');
  });
}
