// eslint-disable-next-line @typescript-eslint/triple-slash-reference -- global types (no module to import), needed wherever this file is compiled from (bench/ too)
/// <reference path="../webassembly.d.ts" />
/**
 * Compiles a guest once and checks, before the first room, that it is a Stateroom ABI v1
 * module: the exports, every import, and the version globals. A module that is not one is
 * refused with one line naming what is wrong — never a stack trace, never a crash later.
 * @module
 */
import { Worker } from 'node:worker_threads';
import { ErrorCode, StateroomError, describeThrown } from '../../errors.js';
import { BinaryFormatError, readModule, showFuncType, type FuncType, type ModuleInfo } from './binary.js';
import type { SnapshotLayout } from './snapshot.js';
import type { StartCheckInput, StartCheckOutput } from './start-thread.js';
import { threadEntry } from '../../thread-entry.js';
import { WASI_FUNCTIONS, WASI_MODULE } from './wasi.js';

/** A compiled, checked guest: instantiate it once per room. */
export interface StateroomModule {
  /** The file it came from, for messages and logs. */
  readonly name: string;
  /** The compiled module, instantiated once per room (and sent to pool threads as is). */
  readonly module: WebAssembly.Module;
  /** The bytes it was compiled from (rewritten at load for the memory limit; see rewrite.ts). */
  readonly bytes?: Uint8Array;
  /**
   * What a snapshot of an instance reads and writes, when the module was rewritten for
   * snapshots (rewrite.ts, `prepareModule`); `undefined` when its instances cannot be saved.
   */
  readonly snapshot?: SnapshotLayout | undefined;
}

/** Options of {@link compileStateroomModule}. */
export interface CompileOptions {
  /**
   * How long the load-time instantiation (the module's start function, if it has one) may
   * run, in ms, before the module is refused. Default {@link LOAD_START_TIMEOUT_MS}.
   */
  readonly startTimeoutMs?: number;
}

/**
 * How long a module's start function may run at load. A real guest instantiates in
 * milliseconds (Rust guests have no start function); this only catches one that never returns.
 */
export const LOAD_START_TIMEOUT_MS = 5_000;

const REQUIRED_EXPORTS: ReadonlyArray<[string, WebAssembly.ImportExportKind]> = [
  ['memory', 'memory'],
  ['stateroom_malloc', 'function'],
  ['stateroom_free', 'function'],
  ['stateroom_recv', 'function'],
  ['STATEROOM_API_VERSION', 'global'],
  ['STATEROOM_API_PROTOCOL', 'global'],
];
const fn = (params: string[], results: string[] = []): FuncType => ({ params, results });
const I32 = 'i32';
/** The ABI's function types (stateroom-wasm-abi.md). */
const EXPORT_TYPES: Readonly<Record<string, FuncType>> = {
  stateroom_malloc: fn([I32], [I32]),
  stateroom_free: fn([I32, I32]),
  stateroom_recv: fn([I32, I32]),
};
/** WASI preview1's types of the functions the host provides. */
const WASI_TYPES: Readonly<Record<(typeof WASI_FUNCTIONS)[number], FuncType>> = {
  fd_write: fn([I32, I32, I32, I32], [I32]),
  proc_exit: fn([I32]),
  clock_time_get: fn([I32, 'i64', I32], [I32]),
  clock_res_get: fn([I32, I32], [I32]),
  random_get: fn([I32, I32], [I32]),
  environ_get: fn([I32, I32], [I32]),
  environ_sizes_get: fn([I32, I32], [I32]),
  args_get: fn([I32, I32], [I32]),
  args_sizes_get: fn([I32, I32], [I32]),
  sched_yield: fn([], [I32]),
};
const SEND_TYPE = fn([I32, I32]);
/** Exports of interfaces before 0.4: their version globals read 1/0 too, so names tell them apart. */
const OLD_INTERFACE_EXPORTS = ['JAMSOCKET_API_VERSION', 'jam_malloc'];
const SEND_IMPORT = 'stateroom_send';
const WASI_NAMES: ReadonlySet<string> = new Set(WASI_FUNCTIONS);
const START_THREAD = threadEntry(import.meta.url, 'start-thread');

/**
 * Compiles and checks `bytes`: its exports and imports (their function types included), and,
 * on a thread of its own with a time limit, that it instantiates and its version globals read
 * 1 and 0.
 * @param name - The file the bytes came from; every message names it.
 * @throws {@link StateroomError} `SR_ERR_WASM_INVALID`, `SR_ERR_WASM_NOT_STATEROOM`,
 *   `SR_ERR_WASM_BAD_IMPORT`, `SR_ERR_WASM_BAD_VERSION` or `SR_ERR_WASM_START`.
 */
export async function compileStateroomModule(bytes: Uint8Array, name: string, options: CompileOptions = {}): Promise<StateroomModule> {
  const module = compile(bytes, name);
  let info: ModuleInfo;
  try {
    info = readModule(bytes);
  } catch (cause) {
    if (!(cause instanceof BinaryFormatError)) throw cause;
    throw refused(ErrorCode.WASM_INVALID, `${name} uses WebAssembly this host cannot read: ${cause.message}`, name, cause);
  }
  checkExports(module, name);
  checkExportTypes(info, name);
  checkImports(info, name);
  await checkStart(module, name, options.startTimeoutMs ?? LOAD_START_TIMEOUT_MS);
  return { name, module, bytes };
}

/**
 * Compiles `bytes`, synchronously on purpose: an async compile holds no handle on Node's
 * event loop, so a process with nothing else to do could exit (or a test runner give up)
 * mid-compile. Guests are compiled once, at start or after a rebuild.
 * @throws {@link StateroomError} `SR_ERR_WASM_INVALID`.
 */
export function compile(bytes: Uint8Array, name: string): WebAssembly.Module {
  try {
    return new WebAssembly.Module(bytes);
  } catch (cause) {
    throw refused(ErrorCode.WASM_INVALID, `${name} is not a valid WebAssembly module: ${describeThrown(cause)}`, name, cause);
  }
}

function checkExports(module: WebAssembly.Module, name: string): void {
  const exports = new Map(WebAssembly.Module.exports(module).map((e) => [e.name, e.kind]));
  const old = OLD_INTERFACE_EXPORTS.find((e) => exports.has(e));
  if (old !== undefined && !exports.has('stateroom_recv')) {
    throw refused(
      ErrorCode.WASM_NOT_STATEROOM,
      `${name} was built for an older Stateroom interface (it exports ${old}, not stateroom_recv): rebuild it with stateroom-wasm 0.4 or this package's AssemblyScript SDK`,
      name,
    );
  }
  const missing = REQUIRED_EXPORTS.filter(([export_, kind]) => exports.get(export_) !== kind);
  if (missing.length > 0) {
    const list = missing.map(([export_, kind]) => `${export_} (${kind})`).join(', ');
    throw refused(
      ErrorCode.WASM_NOT_STATEROOM,
      `${name} is not a Stateroom module: it lacks the export(s) ${list}; build it with #[stateroom_wasm] or the AssemblyScript SDK`,
      name,
    );
  }
}

/**
 * The JS API calls an export of any type (converting, or throwing on i64), so a
 * `stateroom_recv(i64, i64)` would load and misbehave later: every ABI export's type is
 * checked here. The version globals must be i32 (addresses).
 */
function checkExportTypes(info: ModuleInfo, name: string): void {
  const wrong: string[] = [];
  for (const { name: export_, kind, index } of info.exports) {
    const expected = EXPORT_TYPES[export_];
    if (expected !== undefined && kind === 'function') {
      const actual = typeOf(info, index);
      if (actual === undefined || !sameType(actual, expected)) {
        wrong.push(`${export_} is ${actual === undefined ? 'of an unknown type' : showFuncType(actual)}, not ${showFuncType(expected)}`);
      }
    }
    if ((export_ === 'STATEROOM_API_VERSION' || export_ === 'STATEROOM_API_PROTOCOL') && kind === 'global' && info.globals[index] !== I32) {
      wrong.push(`${export_} is a global of type ${info.globals[index] ?? 'unknown'}, not i32 (an address)`);
    }
  }
  if (wrong.length > 0) {
    throw refused(ErrorCode.WASM_NOT_STATEROOM, `${name} is not a Stateroom module: ${wrong.join('; ')} (Stateroom ABI v1)`, name);
  }
}

function checkImports(info: ModuleInfo, name: string): void {
  for (const { module: from, name: what, desc } of info.imports) {
    if (desc.kind === 'memory') {
      throw refused(
        ErrorCode.WASM_BAD_IMPORT,
        `${name} imports its memory (${from}.${what}); a Stateroom guest defines and exports its own memory (for Rust, do not link with --import-memory)`,
        name,
      );
    }
    const expected =
      desc.kind !== 'function'
        ? undefined
        : from === 'env' && what === SEND_IMPORT
          ? SEND_TYPE
          : from === WASI_MODULE && WASI_NAMES.has(what)
            ? WASI_TYPES[what as keyof typeof WASI_TYPES]
            : undefined;
    if (expected === undefined) {
      throw refused(
        ErrorCode.WASM_BAD_IMPORT,
        `${name} imports ${from}.${what} (${desc.kind}), which stateroom does not provide: guests get env.stateroom_send and WASI's ${[...WASI_NAMES].join(', ')} — no filesystem, network or environment`,
        name,
      );
    }
    const actual = desc.kind === 'function' ? info.types[desc.type] : undefined;
    if (actual === undefined || !sameType(actual, expected)) {
      throw refused(
        ErrorCode.WASM_BAD_IMPORT,
        `${name} imports ${from}.${what} as ${actual === undefined ? 'an unknown type' : showFuncType(actual)}, but stateroom provides it as ${showFuncType(expected)}`,
        name,
      );
    }
  }
}

function typeOf(info: ModuleInfo, functionIndex: number): FuncType | undefined {
  const type = info.functions[functionIndex];
  return type === undefined ? undefined : info.types[type];
}

function sameType(a: FuncType, b: FuncType): boolean {
  return a.params.join() === b.params.join() && a.results.join() === b.results.join();
}

/**
 * Instantiates the module once on a thread of its own — a start function that never returns
 * cannot be interrupted on this thread — and reads its version globals there. They hold
 * addresses (Rust `pub static` exports), so the version is the little-endian u32 stored there.
 */
async function checkStart(module: WebAssembly.Module, name: string, timeoutMs: number): Promise<void> {
  const input: StartCheckInput = { module };
  const thread = new Worker(START_THREAD.entry, { workerData: input, eval: START_THREAD.eval, resourceLimits: { maxOldGenerationSizeMb: 64 } });
  let timer: NodeJS.Timeout | undefined;
  const outcome = await new Promise<StartCheckOutput | 'late' | Error>((resolve) => {
    timer = setTimeout(() => resolve('late'), timeoutMs);
    thread.once('message', (output: StartCheckOutput) => resolve(output));
    thread.once('error', (err) => resolve(err));
    thread.once('exit', () => resolve(new Error('the check thread exited without an answer')));
  }).finally(() => {
    clearTimeout(timer);
    void thread.terminate();
  });
  if (outcome === 'late') {
    throw refused(
      ErrorCode.WASM_START,
      `${name} did not finish instantiating within ${timeoutMs} ms: its start function runs too long or never returns`,
      name,
    );
  }
  if (outcome instanceof Error) throw refused(ErrorCode.WASM_INVALID, `${name} could not be checked: ${describeThrown(outcome)}`, name, outcome);
  if (!outcome.ok) throw refused(ErrorCode.WASM_INVALID, `${name} could not be instantiated: ${outcome.error}`, name);
  const { version, protocol } = outcome;
  if (version !== 1 || protocol !== 0) {
    throw refused(
      ErrorCode.WASM_BAD_VERSION,
      `${name} speaks Stateroom API version ${String(version)}, protocol ${String(protocol)}; this host speaks version 1, protocol 0`,
      name,
    );
  }
}

function refused(code: ErrorCode, message: string, file: string, cause?: unknown): StateroomError {
  return new StateroomError(code, message, { file }, cause === undefined ? undefined : { cause });
}
