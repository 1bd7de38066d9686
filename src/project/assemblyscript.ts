/**
 * Compiles an AssemblyScript service to a Stateroom WebAssembly module (ABI v1), for
 * `stateroom build` and `stateroom dev`. The author's entry file imports the guest SDK as
 * `stateroom/assembly` and calls `register(...)`; this module adds the SDK's `abi.ts` as
 * a second entry file (it contributes the ABI's exports) and the flags that keep the
 * module's imports within what a Stateroom host accepts. See assembly/README.md.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** What to run when the AssemblyScript compiler is missing. */
const ASC_INSTALL = 'npm install --save-dev assemblyscript';

/** Options of {@link compileAssemblyScript}. */
export interface CompileOptions {
  /**
   * The directory relative paths (the entry, the output, and the file names in
   * diagnostics) are taken from. Default: `process.cwd()`.
   */
  readonly cwd?: string;
}

/** What {@link compileAssemblyScript} returns; it never throws for a bad service. */
export type CompileResult =
  | {
      readonly ok: true;
      /** The absolute path of the module written. */
      readonly outFile: string;
      /** Wall-clock time of the whole compilation, writing included. */
      readonly durationMs: number;
    }
  | {
      readonly ok: false;
      /** The compiler's messages (`file(line,column)` for each), ready to print. */
      readonly diagnostics: string;
    };

// This package's root: this file is src/project/assemblyscript.ts, or dist/project/assemblyscript.js
// once built, two levels below the root either way.
const packageRoot = fileURLToPath(new URL('../../', import.meta.url));

/**
 * A directory that does not exist: files asked for under `<selfPackages>/stateroom/` are
 * read from this package instead. asc resolves `stateroom/assembly` by looking for a
 * `stateroom/assembly/index.ts` under each `node_modules` above the base directory, then
 * under each `--path`. Inside this repository there is no `node_modules/stateroom`, so
 * this virtual directory, given last as a `--path`, makes the import work here too.
 * In a user's project `node_modules/stateroom` is found first, which is this package anyway.
 */
const selfPackages = path.join(packageRoot, '.stateroom-asc-packages');

/** The SDK's second entry file: it re-exports the ABI exports (see its comment). */
const abiEntry = path.join(packageRoot, 'assembly', 'abi.ts');

/** Internal name (asc's) of the SDK folder, as the `--use` aliases below refer to it. */
const sdk = '~lib/stateroom/assembly';

/**
 * The compiler flags, beyond the inputs and the output.
 *
 * Runtime: `incremental` (asc's default) — TLSF allocator plus an incremental garbage
 * collector that runs by itself as the guest allocates. A room lives as long as the
 * server and may handle millions of events, so garbage must be collected without help:
 * `stub` never frees, and `minimal` collects only when `__collect` is called, which
 * would need an extra export (or a full collection after every event). The price, a few
 * kilobytes of code and a 32 KiB shadow stack, is small for a server.
 *
 * Assertions stay on (no `--noAssert`): a broken invariant should trap the room, which
 * the host turns into a clean close, rather than corrupt its state silently.
 */
function compilerFlags(): string[] {
  return [
    '-O3', // release build, optimised for speed (optimizeLevel 3, shrinkLevel 0)
    '--runtime',
    'incremental',
    // asc's standard library imports `env.abort`, `env.trace`, `env.seed` (for
    // Math.random) and `env.console.*` from a JavaScript host; a Stateroom host refuses
    // unknown imports. Route them to the SDK, which prints through WASI `fd_write` (and
    // seeds from `random_get`), so the only imports left are `env.stateroom_send` and WASI.
    '--use',
    `abort=${sdk}/runtime-hooks/stateroomAbort`,
    '--use',
    `trace=${sdk}/runtime-hooks/stateroomTrace`,
    '--use',
    `seed=${sdk}/runtime-hooks/stateroomSeed`,
    '--use',
    `console=${sdk}/console/console`,
    // Ignore any asconfig.json in the working directory: its options (bindings, another
    // runtime, exported runtime helpers…) could break the ABI. The file named here does
    // not exist, so asc reads no configuration at all.
    '--config',
    path.join(selfPackages, 'asconfig.json'),
    '--noColors',
  ];
}

/**
 * Every `node_modules` directory from the entry's folder up to the file system's root,
 * so that `stateroom/assembly` is found in the author's project even when the working
 * directory lies outside it (asc itself only searches above its base directory).
 */
function nodeModulesAbove(file: string): string[] {
  const found: string[] = [];
  let dir = path.dirname(file);
  for (;;) {
    if (path.basename(dir) !== 'node_modules') found.push(path.join(dir, 'node_modules'));
    const parent = path.dirname(dir);
    if (parent === dir) return found;
    dir = parent;
  }
}

/**
 * Where asc's request for `file` is really served from: a path under
 * `<selfPackages>/stateroom/` maps into this package; any other path under
 * {@link selfPackages} (such as the `--config` file) does not exist (null); every other
 * path is itself.
 */
function redirectSelf(file: string): string | null {
  const relative = path.relative(selfPackages, file);
  if (relative.startsWith('..') || path.isAbsolute(relative)) return file;
  const [first, ...rest] = relative.split(path.sep);
  return first === 'stateroom' && rest.length > 0 ? path.join(packageRoot, ...rest) : null;
}

/** asc's file reader: the real file system, plus the virtual {@link selfPackages}. */
async function readSource(filename: string, baseDir: string): Promise<string | null> {
  const file = redirectSelf(path.resolve(baseDir, filename));
  if (file === null) return null;
  try {
    return await readFile(file, 'utf8');
  } catch {
    return null; // asc tries several candidates per import; a missing one is normal
  }
}

/**
 * Writes `bytes` to `file` through a temporary file and a rename, so `file` is either
 * the complete new module or left as it was: a crash, a full disk or a dev server
 * reading mid-write never sees a partial module.
 */
async function writeAtomically(file: string, bytes: Uint8Array): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const temporary = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await writeFile(temporary, bytes);
    await rename(temporary, file);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

/** asc's outcome: the module's bytes, or the diagnostics that explain why there are none. */
type AscOutcome = { readonly binary: Uint8Array } | { readonly diagnostics: string };

/** Runs asc in memory: reads through {@link readSource}, hands back the module instead of writing it. */
async function runAsc(args: string[]): Promise<AscOutcome> {
  // Imported on first use, not at load time: asc and Binaryen are about 15 MB of
  // JavaScript, which `stateroom serve` and friends have no reason to parse.
  // An optional peer dependency: a user of native services never installs it. (Checked here,
  // not with errors.ts's isMissingPackage: this file imports no project module, so that its
  // test can run it in a child without tsx.)
  const imported = await import('assemblyscript/asc').catch((cause: unknown) => {
    if ((cause as { code?: unknown }).code === 'ERR_MODULE_NOT_FOUND' && String(cause).includes("'assemblyscript")) return undefined;
    throw cause;
  });
  if (imported === undefined) {
    return { diagnostics: `compiling AssemblyScript needs the assemblyscript package, which is not installed: ${ASC_INSTALL}\n` };
  }
  const { default: asc } = imported;
  const emitted: { binary?: Uint8Array } = {};
  const stdout = asc.createMemoryStream();
  const stderr = asc.createMemoryStream();
  try {
    const { error } = await asc.main(args, {
      stdout,
      stderr,
      readFile: readSource,
      writeFile: (_name, contents) => {
        if (typeof contents !== 'string') emitted.binary = contents;
      },
    });
    if (error !== null) return { diagnostics: stderr.toString() || `${error.message}\n` };
  } catch (error) {
    // asc throws, rather than reports, a few problems (an unreadable config, for one).
    return { diagnostics: `${stderr.toString()}${String(error)}\n` };
  }
  return emitted.binary !== undefined
    ? { binary: emitted.binary }
    : { diagnostics: `${stderr.toString()}asc emitted no module\n` };
}

/**
 * Compiles one AssemblyScript service (`entry`, which imports `stateroom/assembly` and
 * calls `register`) to the WebAssembly module `outFile`, release-optimised.
 *
 * On failure `outFile` is not touched (a previous build stays as it was) and the result
 * carries asc's diagnostics; nothing is printed either way. (One exception is beyond this
 * function's control: if asc itself crashes, it prints a report and exits the process.)
 *
 * @example
 * ```ts
 * const result = await compileAssemblyScript('service.ts', 'dist/service.wasm');
 * if (!result.ok) process.stderr.write(result.diagnostics);
 * ```
 */
export async function compileAssemblyScript(
  entry: string,
  outFile: string,
  options: CompileOptions = {},
): Promise<CompileResult> {
  const started = performance.now();
  const cwd = path.resolve(options.cwd ?? process.cwd());
  const entryFile = path.resolve(cwd, entry);
  const target = path.resolve(cwd, outFile);
  const searchPaths = [...nodeModulesAbove(entryFile), selfPackages].flatMap((dir) => ['--path', dir]);

  // asc "writes" `target` through runAsc's callback, which keeps the bytes in memory:
  // the file is written here, atomically, and only if the compilation succeeded.
  const outcome = await runAsc([
    entryFile,
    abiEntry,
    ...searchPaths,
    ...compilerFlags(),
    '--baseDir',
    cwd,
    '--outFile',
    target,
  ]);
  if ('diagnostics' in outcome) return { ok: false, diagnostics: outcome.diagnostics };

  try {
    await writeAtomically(target, outcome.binary);
  } catch (error) {
    return { ok: false, diagnostics: `cannot write ${target}: ${(error as Error).message}\n` };
  }
  return { ok: true, outFile: target, durationMs: performance.now() - started };
}
