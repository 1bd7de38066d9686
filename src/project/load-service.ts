/**
 * Loads the service given on the command line:
 * - `.ts`/`.mts` (and JavaScript that `dev` reloads) bundled with esbuild in this thread
 *   (esm-bundle.ts), CommonJS TypeScript through tsx's require hook, `.js`/`.mjs`/`.cjs`
 *   with plain `import()` (no build step for the user): the default export must be a
 *   service class or a factory, and an `authorize` export, if any, a function (the
 *   `serve()` option of that name);
 * - `.wasm`/`.wat`: a WebAssembly guest, checked before the first room;
 * - a directory holding `server.wasm` and optionally `static/` (the layout `stateroom build`
 *   writes, as upstream's `dist/`).
 * @module
 */
import { readFile, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ErrorCode, StateroomError, describeThrown } from '../errors.js';
import type { Authorize } from '../options.js';
import type { AdapterSource } from '../service/adapter.js';
import type { ServiceSource } from '../service/types.js';
import { wasmAdapterSource, type WasmHostOptions } from '../wasm/source.js';
import { loadWasmFile } from '../wasm/abi/load.js';
import { canBundleBeside, importBundled } from './esm-bundle.js';
import { tsxImport, tsxRequire } from './typescript.js';

const TYPESCRIPT = new Set(['.ts', '.mts', '.cts']);
const JAVASCRIPT = new Set(['.js', '.mjs', '.cjs']);
const WASM = new Set(['.wasm', '.wat']);

/** What the CLI serves: the service, and the static files that came with it. */
export interface LoadedService {
  readonly service: ServiceSource | AdapterSource;
  /** `static/` beside a built `server.wasm`, when there is one. */
  readonly staticDir?: string;
  /** The module's `authorize` export, when it has one (a WASM guest has none). */
  readonly authorize?: Authorize;
}

/** A JS/TS service module: its default export, and its `authorize` export when it has one. */
export interface LoadedModule {
  readonly service: ServiceSource;
  readonly authorize?: Authorize;
}

/**
 * Loads the service in `file` (a module, a WASM guest, or a built directory).
 * @throws {@link StateroomError} naming the file and what to do.
 */
export async function loadService(file: string, wasm: WasmHostOptions = {}): Promise<LoadedService> {
  const info = await stat(file).catch((cause: unknown) => {
    throw loadError(file, `${file}: no such file (looked for ${path.resolve(file)})`, cause);
  });
  if (info.isDirectory()) return loadBuiltDirectory(file, wasm);
  const extension = path.extname(file).toLowerCase();
  if (WASM.has(extension)) return { service: wasmAdapterSource(await loadWasmFile(file), wasm) };
  if (TYPESCRIPT.has(extension) || JAVASCRIPT.has(extension)) return loadModule(file);
  throw loadError(file, `${file}: not a service; give a .ts, .mts, .js, .mjs, .wasm or .wat file, or a directory holding server.wasm`);
}

async function loadBuiltDirectory(dir: string, wasm: WasmHostOptions): Promise<LoadedService> {
  const wasmFile = path.join(dir, 'server.wasm');
  const found = await stat(wasmFile).then((s) => s.isFile(), () => false);
  if (!found) {
    throw loadError(dir, `${dir} is a directory without server.wasm: give a service file, or run \`stateroom build\` to make ${wasmFile}`);
  }
  const staticDir = path.join(dir, 'static');
  const hasStatic = await stat(staticDir).then((s) => s.isDirectory(), () => false);
  return { service: wasmAdapterSource(await loadWasmFile(wasmFile), wasm), ...(hasStatic ? { staticDir } : {}) };
}

/**
 * Imports a JS/TS module afresh — its whole import graph, not Node's cached copy — for
 * `stateroom dev`, which reloads after every edit.
 */
export function loadModuleFresh(file: string): Promise<LoadedModule> {
  return loadModule(file, true);
}

/**
 * Imports a JS/TS module: its default export must be a class or factory, its `authorize`
 * export (optional) a function.
 */
async function loadModule(file: string, fresh = false): Promise<LoadedModule> {
  const absolute = path.resolve(file);
  const extension = path.extname(absolute).toLowerCase();
  const url = pathToFileURL(absolute).href;
  let module: { default?: unknown };
  const typescript = TYPESCRIPT.has(extension);
  const commonJs = await isCommonJs(absolute);
  try {
    if (typescript && commonJs) {
      // TypeScript that Node would run as CommonJS (.cts, or .ts outside a "type": "module"
      // package) goes through tsx's require hook: through tsImport its stack frames would
      // point into a data: URL instead of the .ts file and line.
      module = { default: await requireTypeScript(absolute, fresh) };
    } else if ((typescript || fresh) && !commonJs && (await canBundleBeside(absolute))) {
      // Compiled in this thread: tsx's loader would run in a module hooks thread (~14 MiB).
      module = (await importBundled(absolute)) as { default?: unknown };
    } else {
      // tsImport evaluates a new copy of the module graph on each call; import() caches.
      module = (fresh || typescript ? await tsxImport(url, import.meta.url) : await import(url)) as { default?: unknown };
    }
  } catch (cause) {
    // ESM-only syntax (top-level await) in a file run as CommonJS: say how to make it a module.
    const esmOnly = /top-level await|"cjs" output format|ERR_REQUIRE_(ESM|ASYNC_MODULE)/i.test(describeThrown(cause));
    const hint = commonJs && extension === '.ts' && esmOnly ? ` (${file} runs as CommonJS: to load it as an ES module, set "type": "module" in its package.json, or name it .mts)` : '';
    throw loadError(file, `${file} could not be loaded: ${describeThrown(cause)}${hint}`, cause);
  }
  const exported = defaultExport(module);
  if (typeof exported !== 'function') {
    const what = exported === undefined ? 'has no default export' : `has a default export of type ${typeof exported}`;
    throw loadError(file, `${file} ${what}: write \`export default class MyService { … }\` or \`export default (roomId, ctx) => ({ … })\``);
  }
  const authorize = namedExport(module, 'authorize');
  if (authorize !== undefined && typeof authorize !== 'function') {
    throw loadError(file, `${file} exports authorize as ${authorize === null ? 'null' : `${typeof authorize === 'object' ? 'an' : 'a'} ${typeof authorize}`}: it must be a function (request, roomId) => true | false | { status, reason } | { user }, as serve()'s authorize option takes`);
  }
  return { service: exported as ServiceSource, ...(authorize === undefined ? {} : { authorize: authorize as Authorize }) };
}

/**
 * Whether Node runs the file `absolute` as CommonJS: `.cts`/`.cjs`, or `.ts`/`.js` whose
 * nearest package.json is not `"type": "module"`.
 */
async function isCommonJs(absolute: string): Promise<boolean> {
  const extension = path.extname(absolute).toLowerCase();
  if (extension !== '.ts' && extension !== '.js') return extension === '.cts' || extension === '.cjs';
  for (let dir = path.dirname(absolute); ; dir = path.dirname(dir)) {
    const text = await readFile(path.join(dir, 'package.json'), 'utf8').catch(() => undefined);
    if (text !== undefined) {
      try {
        return (JSON.parse(text) as { type?: unknown }).type !== 'module';
      } catch {
        return true; // Node refuses such a package.json itself; tsx's require says why.
      }
    }
    if (path.dirname(dir) === dir) return true;
  }
}

/** Node's CommonJS module cache, which tsx's `require` fills. */
const requireCache = createRequire(import.meta.url).cache;

/**
 * `require()`s a CommonJS TypeScript file with tsx's hooks (source maps on: stack frames name
 * the .ts file and line). `fresh`: the project's own modules tsx loaded before (outside
 * `node_modules`) are dropped from the cache first, so its whole graph is evaluated anew.
 */
function requireTypeScript(absolute: string, fresh: boolean): Promise<unknown> {
  if (fresh) {
    for (const key of Object.keys(requireCache)) {
      if (key.includes('?namespace=') && !key.includes(`${path.sep}node_modules${path.sep}`)) delete requireCache[key];
    }
  }
  return tsxRequire(absolute, import.meta.url);
}

/**
 * A CommonJS module imported as ESM wraps `module.exports` in `default`; one compiled from
 * ESM syntax (a `.ts` file outside a `"type": "module"` package) marks that object
 * `__esModule` and keeps the real default export one level down.
 */
function defaultExport(module: { default?: unknown }): unknown {
  const first = module.default;
  if (typeof first === 'object' && first !== null && ('default' in first || '__esModule' in first)) {
    return (first as { default?: unknown }).default;
  }
  return first;
}

/**
 * A named export: on the module namespace, or — for CommonJS, and TypeScript compiled to it —
 * on the `module.exports` object that namespace wraps (see {@link defaultExport}).
 */
function namedExport(module: { default?: unknown }, name: string): unknown {
  const direct = (module as Record<string, unknown>)[name];
  if (direct !== undefined) return direct;
  const first = module.default;
  if (typeof first === 'object' && first !== null && ('default' in first || '__esModule' in first)) return (first as Record<string, unknown>)[name];
  return undefined;
}

function loadError(file: string, message: string, cause?: unknown): StateroomError {
  return new StateroomError(ErrorCode.SERVICE_LOAD, message, { file }, cause === undefined ? undefined : { cause });
}
