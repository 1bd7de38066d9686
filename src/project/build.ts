/**
 * Turns a service folder (see `cli/config.ts`) into something to serve, and into upstream's
 * `dist/` layout: `dist/server.wasm` plus `dist/static/`. Used by `stateroom build` (once)
 * and `stateroom dev` (on every change). Never prints: callers report.
 * @module
 */
import { cp, mkdir, readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { loadModuleFresh } from './load-service.js';
import type { ProjectConfig } from './config.js';
import { describeThrown } from '../errors.js';
import type { AdapterSource } from '../service/adapter.js';
import type { ServiceSource } from '../service/types.js';
import { wasmAdapterSource } from '../wasm/source.js';
import { loadWasmFile } from '../wasm/abi/load.js';
import { compileAssemblyScript } from './assemblyscript.js';

export const OUTPUT_DIR = 'dist';
export const SERVER_WASM = 'server.wasm';
export const STATIC_DIR = 'static';

export type BuildResult =
  | { readonly ok: true; readonly service: ServiceSource | AdapterSource; readonly durationMs: number; readonly wasmFile?: string }
  | { readonly ok: false; readonly diagnostics: string };

/**
 * Builds (for AssemblyScript) and loads the service: what `dev` serves. A module is
 * imported afresh, its whole import graph included, so edits to any of its files count.
 */
export async function buildService(config: ProjectConfig): Promise<BuildResult> {
  const started = performance.now();
  try {
    if (config.kind === 'module') {
      return { ok: true, service: await loadModuleFresh(config.entry), durationMs: performance.now() - started };
    }
    const wasmFile = config.kind === 'wasm' ? config.entry : await compileToDist(config);
    if (typeof wasmFile !== 'string') return wasmFile;
    const service = wasmAdapterSource(await loadWasmFile(wasmFile));
    return { ok: true, service, wasmFile, durationMs: performance.now() - started };
  } catch (thrown) {
    return { ok: false, diagnostics: describeThrown(thrown) };
  }
}

/** The `stateroom build` output: `dist/server.wasm` and `dist/static/` (empty unless configured). */
export interface DistResult {
  readonly wasmFile: string;
  readonly wasmBytes: number;
  readonly staticFiles: number;
  readonly durationMs: number;
}

/**
 * Writes upstream's `dist/` layout for an AssemblyScript (or ready `.wasm`/`.wat`) service.
 * The module is checked like `serve` would before `dist/` is touched.
 */
export async function buildDist(config: ProjectConfig): Promise<{ ok: true; result: DistResult } | { ok: false; diagnostics: string }> {
  const started = performance.now();
  const built = await buildService(config);
  if (!built.ok) return built;
  if (built.wasmFile === undefined) {
    return {
      ok: false,
      diagnostics: `${config.entry} is a native TypeScript service: it needs no build; serve it with \`stateroom serve ${path.relative(process.cwd(), config.entry)}\``,
    };
  }
  const dist = path.join(config.root, OUTPUT_DIR);
  const wasmFile = path.join(dist, SERVER_WASM);
  if (built.wasmFile !== wasmFile) {
    await mkdir(dist, { recursive: true });
    await cp(built.wasmFile, wasmFile);
  }
  const staticOut = path.join(dist, STATIC_DIR);
  await rm(staticOut, { recursive: true, force: true });
  await mkdir(staticOut, { recursive: true });
  if (config.staticFiles !== undefined) await cp(config.staticFiles, staticOut, { recursive: true });
  return {
    ok: true,
    result: {
      wasmFile,
      wasmBytes: (await stat(wasmFile)).size,
      staticFiles: config.staticFiles === undefined ? 0 : await countFiles(staticOut),
      durationMs: performance.now() - started,
    },
  };
}

async function compileToDist(config: ProjectConfig): Promise<string | { ok: false; diagnostics: string }> {
  const outFile = path.join(config.root, OUTPUT_DIR, SERVER_WASM);
  await mkdir(path.dirname(outFile), { recursive: true });
  const compiled = await compileAssemblyScript(config.entry, outFile);
  return compiled.ok ? outFile : { ok: false, diagnostics: compiled.diagnostics };
}

async function countFiles(dir: string): Promise<number> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).length;
}
