/**
 * Turns a service folder (see `config.ts`) into something to serve, and into upstream's
 * `dist/` layout: `dist/server.wasm` plus `dist/static/`. Used by `stateroom build` (once)
 * and `stateroom dev` (on every change). Never prints: callers report, and are handed a
 * compiler's own output (cargo's) line by line through {@link BuildOptions.onOutput}.
 * @module
 */
import { access, cp, mkdir, readFile, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { loadModuleFresh } from './load-service.js';
import type { ProjectConfig } from './config.js';
import { describeThrown } from '../errors.js';
import type { Authorize } from '../options.js';
import type { AdapterSource } from '../service/adapter.js';
import type { ServiceSource } from '../service/types.js';
import { wasmAdapterSource } from '../wasm/source.js';
import { loadWasmFile } from '../wasm/abi/load.js';
import { compileStateroomModule, type StateroomModule } from '../wasm/abi/module.js';
import { compileAssemblyScript } from './assemblyscript.js';
import {
  CLIENT_PKG_DIR,
  CLIENT_TARGET,
  cargoBuild,
  clientTargetMissing,
  findRustToolchain,
  short,
  wasmBindgen,
  wasmBindgenMissing,
  type RustToolchain,
} from './cargo.js';

export const OUTPUT_DIR = 'dist';
export const SERVER_WASM = 'server.wasm';
export const STATIC_DIR = 'static';
/** Where `build` puts a `[client] package`'s wasm-bindgen output: `dist/static/client/`, as upstream. */
export const CLIENT_DIR = 'client';

export type BuildResult =
  | {
      readonly ok: true;
      readonly service: ServiceSource | AdapterSource;
      /** A native module's `authorize` export, when it has one: `dev` admits clients through it. */
      readonly authorize?: Authorize;
      readonly durationMs: number;
      readonly wasmFile?: string;
      /** A `[client] package`'s wasm-bindgen output, served at `/client/`, when it was built. */
      readonly clientDir?: string;
      /** What the user should know about this build (a client that did not build, say). */
      readonly notes: readonly string[];
      /** Files and folders whose changes call for a rebuild, learnt from this build (each crate's `src/` and `Cargo.toml`). */
      readonly watch: readonly string[];
    }
  | { readonly ok: false; readonly diagnostics: string };

/** Options of {@link prepareBuild}. */
export interface BuildOptions {
  /** A compiler's own output as it comes, line by line: cargo's progress, warnings and errors. */
  readonly onOutput?: (line: string) => void;
  /** The environment cargo and wasm-bindgen run in. Default: `process.env`. */
  readonly env?: NodeJS.ProcessEnv;
  /** How long one cargo build may take. Default: cargo.ts's `DEFAULT_CARGO_TIMEOUT_MS`. */
  readonly cargoTimeoutMs?: number;
}

/** A service folder ready to build, as often as asked. */
export interface Builder {
  /** What builds it, for the user: "cargo 1.65.0 with rustc 1.63.0 for wasm32-wasi". */
  readonly description: string;
  /** Lines to show once, before the first build: what is ignored, and a client that cannot be built. */
  readonly notes: readonly string[];
  /** What `dev` watches: for a crate, its `src/` and `Cargo.toml`; otherwise the whole folder (undefined). */
  readonly watch?: readonly string[];
  /** Where a `[client] package`'s wasm-bindgen output goes, when the client can be built. */
  readonly clientDir?: string;
  build(): Promise<BuildResult>;
}

/**
 * Looks for what building `config` needs (for a Rust crate, cargo and a WASI std) and
 * returns its builder.
 * @throws {@link StateroomError} `SR_ERR_BUILD_FAILED` in one line when a needed program or
 * target is missing, saying how to install it.
 */
export async function prepareBuild(config: ProjectConfig, options: BuildOptions = {}): Promise<Builder> {
  const env = options.env ?? process.env;
  const ignored = config.ignoredKeys.map((k) => `stateroom.toml: ${k} is one of upstream's keys this tool does not use; ignored`);
  const toolchain = config.kind === 'rust' ? await findRustToolchain(config.root, env) : undefined;
  const client = await prepareClient(config, options, toolchain);
  const notes = [...ignored, ...(client.note === undefined ? [] : [client.note])];
  const clientDir = client.build === undefined ? {} : { clientDir: path.join(config.root, CLIENT_PKG_DIR) };
  if (config.kind !== 'rust' || toolchain === undefined) {
    const description = { assemblyscript: 'AssemblyScript (asc)', module: 'tsx (no build)', wasm: 'no build (a ready module)', rust: '' }[config.kind];
    return { description, notes, ...clientDir, build: () => buildWithClient(() => buildService(config), client.build) };
  }
  const cargoDescription = `${short(toolchain.cargoVersion)} with ${short(toolchain.rustcVersion)} for ${toolchain.wasiTarget}`;
  const root = config.root;
  const buildCrate = async (): Promise<BuildResult> => {
    const started = performance.now();
    const built = await cargoBuild({
      cwd: root,
      target: toolchain.wasiTarget,
      env,
      ...(config.servicePackage === undefined ? {} : { package: config.servicePackage }),
      ...(options.onOutput === undefined ? {} : { onOutput: options.onOutput }),
      ...(options.cargoTimeoutMs === undefined ? {} : { timeoutMs: options.cargoTimeoutMs }),
    });
    if (!built.ok) return built;
    try {
      const service = wasmAdapterSource(await loadWasmFile(built.wasmFile));
      return { ok: true, service, wasmFile: built.wasmFile, durationMs: performance.now() - started, notes: [], watch: crateSources(built.manifestPath) };
    } catch (thrown) {
      return { ok: false, diagnostics: `${built.wasmFile}: ${describeThrown(thrown)}` };
    }
  };
  return {
    description: cargoDescription,
    notes,
    ...clientDir,
    watch: crateSources(path.join(root, 'Cargo.toml')),
    build: () => buildWithClient(buildCrate, client.build),
  };
}

/** Builds the service, then the client (whose failure is a note: the service still runs). */
async function buildWithClient(service: () => Promise<BuildResult>, client: (() => Promise<ClientOutcome>) | undefined): Promise<BuildResult> {
  const built = await service();
  if (!built.ok || client === undefined) return built;
  const started = performance.now();
  const outcome = await client();
  return {
    ...built,
    durationMs: built.durationMs + (performance.now() - started),
    notes: [...built.notes, ...(outcome.note === undefined ? [] : [outcome.note])],
    watch: [...built.watch, ...outcome.watch],
    ...(outcome.dir === undefined ? {} : { clientDir: outcome.dir }),
  };
}

interface ClientOutcome {
  readonly dir?: string;
  readonly note?: string;
  readonly watch: readonly string[];
}

/**
 * Upstream's `[client] package`: built for wasm32-unknown-unknown and run through
 * wasm-bindgen into `client-pkg/`. Whatever is missing for it is one note; the service
 * is built and served all the same.
 */
async function prepareClient(
  config: ProjectConfig,
  options: BuildOptions,
  serviceToolchain: RustToolchain | undefined,
): Promise<{ note?: string; build?: () => Promise<ClientOutcome> }> {
  const pkg = config.clientPackage;
  if (pkg === undefined) return {};
  const env = options.env ?? process.env;
  const skipped = (why: string): { note: string } => ({ note: `[client] package = "${pkg}" is not built (the service is): ${why}` });
  let toolchain = serviceToolchain;
  if (toolchain === undefined) {
    try {
      toolchain = await findRustToolchain(config.root, env);
    } catch (thrown) {
      return skipped(describeThrown(thrown));
    }
  }
  const missing = (await clientTargetMissing(toolchain)) ?? (await wasmBindgenMissing(config.root, env));
  if (missing !== undefined) return skipped(missing);
  const outDir = path.join(config.root, CLIENT_PKG_DIR);
  return {
    build: async () => {
      const built = await cargoBuild({
        cwd: config.root,
        target: CLIENT_TARGET,
        package: pkg,
        env,
        ...(options.onOutput === undefined ? {} : { onOutput: options.onOutput }),
        ...(options.cargoTimeoutMs === undefined ? {} : { timeoutMs: options.cargoTimeoutMs }),
      });
      const existing = await access(outDir).then(() => ({ dir: outDir }), () => ({}));
      if (!built.ok) return { ...existing, note: `[client] package = "${pkg}" did not build: ${built.diagnostics}`, watch: [] };
      const watch = crateSources(built.manifestPath);
      const failed = await wasmBindgen({ wasmFile: built.wasmFile, outDir, cwd: config.root, env, onOutput: options.onOutput ?? (() => {}) });
      return failed === undefined ? { dir: outDir, watch } : { ...existing, note: `[client] package = "${pkg}": ${failed}`, watch };
    },
  };
}

/** A crate's sources as `dev` watches them: its `src/` and its `Cargo.toml`. */
function crateSources(manifestPath: string): string[] {
  return manifestPath === '' ? [] : [path.join(path.dirname(manifestPath), 'src'), manifestPath];
}

/**
 * Builds (AssemblyScript; a Rust crate through {@link prepareBuild}) and loads the service:
 * what `dev` serves. A module is imported afresh, its whole import graph included, so edits
 * to any of its files count.
 */
export async function buildService(config: ProjectConfig, options: BuildOptions = {}): Promise<BuildResult> {
  const started = performance.now();
  try {
    if (config.kind === 'rust') return await (await prepareBuild(config, options)).build();
    if (config.kind === 'module') {
      const loaded = await loadModuleFresh(config.entry);
      const notes = loaded.authorize === undefined ? [] : [`clients are admitted by the authorize ${path.basename(config.entry)} exports`];
      return { ok: true, ...loaded, durationMs: performance.now() - started, notes, watch: [] };
    }
    const compiled = config.kind === 'wasm' ? { wasmFile: config.entry, module: await loadWasmFile(config.entry) } : await compileToDist(config);
    if ('ok' in compiled) return compiled;
    const service = wasmAdapterSource(compiled.module);
    return { ok: true, service, wasmFile: compiled.wasmFile, durationMs: performance.now() - started, notes: [], watch: [] };
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
 * Writes upstream's `dist/` layout for a Rust crate, an AssemblyScript service or a ready
 * `.wasm`/`.wat` module, with a `[client] package`'s output in `dist/static/client/`. The
 * module is checked like `serve` would before `dist/` is touched.
 * @param builder - From {@link prepareBuild}; made here when not given.
 */
export async function buildDist(
  config: ProjectConfig,
  builder?: Builder,
): Promise<{ ok: true; result: DistResult; notes: readonly string[] } | { ok: false; diagnostics: string }> {
  const started = performance.now();
  const built = await (builder ?? (await prepareBuild(config))).build();
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
  if (built.clientDir !== undefined) await cp(built.clientDir, path.join(staticOut, CLIENT_DIR), { recursive: true });
  return {
    ok: true,
    notes: built.notes,
    result: {
      wasmFile,
      wasmBytes: (await stat(wasmFile)).size,
      staticFiles: await countFiles(staticOut),
      durationMs: performance.now() - started,
    },
  };
}

/**
 * Compiles an AssemblyScript service into `dist/server.wasm` — through a temporary file that
 * replaces the last good build only once it compiled and loads as a Stateroom module, so a
 * failed build never destroys what is being served.
 */
async function compileToDist(config: ProjectConfig): Promise<{ wasmFile: string; module: StateroomModule } | { ok: false; diagnostics: string }> {
  const outFile = path.join(config.root, OUTPUT_DIR, SERVER_WASM);
  const building = path.join(config.root, OUTPUT_DIR, `.${SERVER_WASM}.building-${process.pid}`);
  await mkdir(path.dirname(outFile), { recursive: true });
  try {
    const compiled = await compileAssemblyScript(config.entry, building);
    if (!compiled.ok) return { ok: false, diagnostics: compiled.diagnostics };
    const module = await compileStateroomModule(await readFile(building), outFile);
    await rename(building, outFile);
    return { wasmFile: outFile, module };
  } finally {
    await rm(building, { force: true });
  }
}

async function countFiles(dir: string): Promise<number> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).length;
}
