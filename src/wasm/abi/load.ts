/**
 * Reads a guest from disk: a `.wasm` binary, or `.wat` text assembled with wabt (handy for
 * hand-written and test guests). Either way it is compiled and checked before any room.
 *
 * wabt is an optional peer dependency: imported only when a `.wat` file is loaded, and when it
 * is not installed the error says, in one line, how to install it.
 * @module
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type wabt from 'wabt';
import { ErrorCode, StateroomError, describeThrown, isMissingPackage } from '../../errors.js';
import { compileStateroomModule, type CompileOptions, type StateroomModule } from './module.js';

/**
 * Loads, compiles and checks the module in `file`.
 * @throws {@link StateroomError} naming the file: unreadable, not WebAssembly, or not a Stateroom module.
 */
export async function loadWasmFile(file: string, options: CompileOptions = {}): Promise<StateroomModule> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (cause) {
    throw new StateroomError(ErrorCode.SERVICE_LOAD, `${file} cannot be read: ${describeThrown(cause)}`, { file }, { cause });
  }
  if (path.extname(file).toLowerCase() === '.wat') bytes = await assemble(file, bytes);
  return compileStateroomModule(bytes, file, options);
}

/** What to run when wabt is missing: one line, for the error and docs/wasm.md alike. */
export const WABT_INSTALL = 'npm install --save-dev wabt';

/** wabt's own WebAssembly, imported and started once (and only when a `.wat` file is loaded). */
let wabtTools: ReturnType<typeof wabt> | undefined;

async function startWabt(): ReturnType<typeof wabt> {
  const { default: start } = await import('wabt');
  return start();
}


/** Assembles WebAssembly text; its errors name the file, line and column. */
async function assemble(file: string, text: Uint8Array): Promise<Uint8Array> {
  let tools: Awaited<ReturnType<typeof wabt>>;
  try {
    tools = await (wabtTools ??= startWabt());
  } catch (cause) {
    wabtTools = undefined; // installed meanwhile: found next time
    if (!isMissingPackage(cause, 'wabt')) throw cause;
    throw new StateroomError(ErrorCode.SERVICE_LOAD, `${file}: assembling .wat needs wabt, which is not installed: ${WABT_INSTALL}`, { file }, { cause });
  }
  let parsed: ReturnType<typeof tools.parseWat> | undefined;
  try {
    parsed = tools.parseWat(file, text);
    parsed.validate();
    return parsed.toBinary({}).buffer;
  } catch (cause) {
    throw new StateroomError(ErrorCode.WASM_INVALID, `${file} is not valid WebAssembly text: ${describeThrown(cause).trim()}`, { file }, { cause });
  } finally {
    parsed?.destroy();
  }
}
