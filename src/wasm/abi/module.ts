// eslint-disable-next-line @typescript-eslint/triple-slash-reference -- global types (no module to import), needed wherever this file is compiled from (bench/ too)
/// <reference path="../webassembly.d.ts" />
/**
 * Compiles a guest once and checks, before the first room, that it is a Stateroom ABI v1
 * module: the exports, every import, and the version globals. A module that is not one is
 * refused with one line naming what is wrong — never a stack trace, never a crash later.
 * @module
 */
import { ErrorCode, StateroomError, describeThrown } from '../../errors.js';
import { WASI_FUNCTIONS, WASI_MODULE, wasiImports } from './wasi.js';

/** A compiled, checked guest: instantiate it once per room. */
export interface StateroomModule {
  /** The file it came from, for messages and logs. */
  readonly name: string;
  readonly module: WebAssembly.Module;
}

const REQUIRED_EXPORTS: ReadonlyArray<[string, WebAssembly.ImportExportKind]> = [
  ['memory', 'memory'],
  ['stateroom_malloc', 'function'],
  ['stateroom_free', 'function'],
  ['stateroom_recv', 'function'],
  ['STATEROOM_API_VERSION', 'global'],
  ['STATEROOM_API_PROTOCOL', 'global'],
];
/** Exports of interfaces before 0.4: their version globals read 1/0 too, so names tell them apart. */
const OLD_INTERFACE_EXPORTS = ['JAMSOCKET_API_VERSION', 'jam_malloc'];
const SEND_IMPORT = 'stateroom_send';
const WASI_NAMES: ReadonlySet<string> = new Set(WASI_FUNCTIONS);

/**
 * Compiles and checks `bytes`.
 * @param name - The file the bytes came from; every message names it.
 * @throws {@link StateroomError} `SR_ERR_WASM_INVALID`, `SR_ERR_WASM_NOT_STATEROOM`,
 *   `SR_ERR_WASM_BAD_IMPORT` or `SR_ERR_WASM_BAD_VERSION`.
 */
export async function compileStateroomModule(bytes: Uint8Array, name: string): Promise<StateroomModule> {
  let module: WebAssembly.Module;
  try {
    // Synchronous on purpose: an async compile holds no handle on Node's event loop, so a
    // process with nothing else to do could exit (or a test runner give up) mid-compile.
    // Guests are compiled once, at start or after a rebuild.
    module = new WebAssembly.Module(bytes);
  } catch (cause) {
    throw refused(ErrorCode.WASM_INVALID, `${name} is not a valid WebAssembly module: ${describeThrown(cause)}`, name, cause);
  }
  checkExports(module, name);
  checkImports(module, name);
  checkVersion(module, name);
  return { name, module };
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

function checkImports(module: WebAssembly.Module, name: string): void {
  for (const { module: from, name: what, kind } of WebAssembly.Module.imports(module)) {
    const provided =
      kind === 'function' && ((from === 'env' && what === SEND_IMPORT) || (from === WASI_MODULE && WASI_NAMES.has(what)));
    if (!provided) {
      throw refused(
        ErrorCode.WASM_BAD_IMPORT,
        `${name} imports ${from}.${what} (${kind}), which stateroom does not provide: guests get env.stateroom_send and WASI's ${[...WASI_NAMES].join(', ')} — no filesystem, network or environment`,
        name,
      );
    }
  }
}

/**
 * Reads the version globals from a throwaway instance. They hold addresses (Rust `pub
 * static` exports), so the version is the little-endian u32 stored there.
 */
function checkVersion(module: WebAssembly.Module, name: string): void {
  let instance: WebAssembly.Instance | undefined;
  // A start function may print: give it the module's own memory, and nowhere to print to.
  const wasi = wasiImports(
    () => (instance?.exports.memory as WebAssembly.Memory | undefined) ?? new WebAssembly.Memory({ initial: 0 }),
    () => {},
  );
  try {
    instance = new WebAssembly.Instance(module, {
      env: {
        [SEND_IMPORT]: () => {
          throw new Error('stateroom_send called while the module was being checked');
        },
      },
      [WASI_MODULE]: wasi.imports,
    });
  } catch (cause) {
    throw refused(ErrorCode.WASM_INVALID, `${name} could not be instantiated: ${describeThrown(cause)}`, name, cause);
  }
  const memory = instance.exports.memory as WebAssembly.Memory;
  const version = readPointee(instance, memory, 'STATEROOM_API_VERSION');
  const protocol = readPointee(instance, memory, 'STATEROOM_API_PROTOCOL');
  if (version !== 1 || protocol !== 0) {
    throw refused(
      ErrorCode.WASM_BAD_VERSION,
      `${name} speaks Stateroom API version ${String(version)}, protocol ${String(protocol)}; this host speaks version 1, protocol 0`,
      name,
    );
  }
}

function readPointee(instance: WebAssembly.Instance, memory: WebAssembly.Memory, global: string): number | string {
  const address = Number((instance.exports[global] as WebAssembly.Global).value) >>> 0;
  if (address + 4 > memory.buffer.byteLength) return `(unreadable: ${global} points at ${address}, outside memory)`;
  return new DataView(memory.buffer).getUint32(address, true);
}

function refused(code: ErrorCode, message: string, file: string, cause?: unknown): StateroomError {
  return new StateroomError(code, message, { file }, cause === undefined ? undefined : { cause });
}
