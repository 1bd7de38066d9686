/**
 * Builds a Rust crate with the machine's `cargo`, as upstream's CLI does: `cargo build
 * --release --target <wasi> --message-format json-render-diagnostics [--package p]`, then
 * the one `.wasm` artifact cargo reports. Also the client side of upstream's
 * `[client] package`: the crate built for `wasm32-unknown-unknown` and passed through
 * `wasm-bindgen` into `client-pkg/`.
 *
 * cargo's output is read as a stream: the JSON messages on its stdout are parsed line by
 * line, and its rendered diagnostics (stderr) are handed on as they come; only a bounded
 * tail is kept. Every program run here has a time limit.
 * @module
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { access, readdir } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { ErrorCode, StateroomError } from '../errors.js';

/** WASI preview 1 under its two names, newest first: Rust 1.78 renamed `wasm32-wasi` to `wasm32-wasip1`. */
export const WASI_TARGETS = ['wasm32-wasip1', 'wasm32-wasi'] as const;
/** What upstream builds a `[client] package` for. */
export const CLIENT_TARGET = 'wasm32-unknown-unknown';
/** Where a client's wasm-bindgen output goes, in the service folder (upstream's name). */
export const CLIENT_PKG_DIR = 'client-pkg';
/** A build that runs longer than this is stopped: long enough for a first build with many crates. */
export const DEFAULT_CARGO_TIMEOUT_MS = 10 * 60_000;

/** Asking a program its version or sysroot takes well under this. */
const PROBE_TIMEOUT_MS = 15_000;
/** How much of cargo's diagnostics a failed build keeps, when nobody took them as they came. */
const KEPT_OUTPUT_BYTES = 64 * 1024;
/** A longer line (from cargo, or a build script) is cut: a line is held whole until it ends. */
const MAX_LINE_BYTES = 256 * 1024;

const DEBIAN_WASM = 'apt-get install rustc libstd-rust-dev-wasm32 lld';

/** The Rust toolchain a crate is built with. */
export interface RustToolchain {
  /** The cargo run: `cargo` from PATH. */
  readonly cargo: string;
  /** `cargo --version`. */
  readonly cargoVersion: string;
  /** The rustc cargo uses: `$RUSTC`, else `rustc` from PATH. */
  readonly rustc: string;
  /** `rustc --version`: "rustc 1.63.0". */
  readonly rustcVersion: string;
  /** The rustc's sysroot, where each target's std is. */
  readonly sysroot: string;
  /** The WASI target this toolchain has a std for. */
  readonly wasiTarget: (typeof WASI_TARGETS)[number];
}

/** Runs a short-lived program; its stdout, or undefined when it cannot be run, fails or hangs. */
async function probe(file: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  return new Promise((resolve) => {
    let out = '';
    const child = spawn(file, args, { cwd, env, stdio: ['ignore', 'pipe', 'ignore'] });
    // Our own timer, not spawn's `timeout`: that one is not cleared when the spawn itself
    // fails (no such program), and would keep the process alive for its whole length.
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve(undefined);
    }, PROBE_TIMEOUT_MS);
    const done = (value: string | undefined): void => {
      clearTimeout(timer);
      resolve(value);
    };
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      if (out.length < 64 * 1024) out += d;
    });
    child.on('error', () => done(undefined));
    child.on('close', (code) => done(code === 0 ? out.trim() : undefined));
  });
}

/** Whether `sysroot` holds the standard library for `target`. */
async function hasStd(sysroot: string, target: string): Promise<boolean> {
  const files = await readdir(path.join(sysroot, 'lib/rustlib', target, 'lib')).catch(() => [] as string[]);
  return files.some((f) => f.startsWith('libstd-') && f.endsWith('.rlib'));
}

/** rust-lld, which links WebAssembly: rustup ships it in the sysroot; Debian links /usr/bin/rust-lld to lld. */
async function hasRustLld(sysroot: string, env: NodeJS.ProcessEnv): Promise<boolean> {
  const rustlib = path.join(sysroot, 'lib/rustlib');
  const hosts = await readdir(rustlib).catch(() => [] as string[]);
  const candidates = [
    ...hosts.map((host) => path.join(rustlib, host, 'bin/rust-lld')),
    ...(env.PATH ?? '').split(path.delimiter).filter((d) => d !== '').map((d) => path.join(d, 'rust-lld')),
  ];
  for (const file of candidates) {
    if (!(await access(file, constants.X_OK).then(() => true, () => false))) continue;
    // `--version` through the link: Debian's /usr/bin/rust-lld dangles when lld is not installed.
    if ((await probe(file, ['-flavor', 'wasm', '--version'], sysroot, env)) !== undefined) return true;
  }
  return false;
}

/** "rustc 1.95.0 (59807616e 2026-04-14)" without its commit: "rustc 1.95.0". */
export const short = (version: string): string => version.replace(/ \(.*\)$/, '');

/** Whether the toolchain in `sysroot` is rustup's (so `rustup target add` is the way to add a std). */
const isRustup = (sysroot: string): boolean => sysroot.split(path.sep).includes('toolchains');

/**
 * Finds the toolchain that will build the crate in `cwd`: cargo on PATH and the rustc it
 * uses (run in `cwd`, so that rustup honours a `rust-toolchain.toml`), with a WASI std and
 * a linker for it.
 * @throws {@link StateroomError} `SR_ERR_BUILD_FAILED`, one line saying what is missing and
 * which rustup or Debian step installs it.
 */
export async function findRustToolchain(cwd: string, env: NodeJS.ProcessEnv = process.env): Promise<RustToolchain> {
  const missing = (what: string): StateroomError => new StateroomError(ErrorCode.BUILD_FAILED, what, { file: cwd });
  const cargo = 'cargo';
  const cargoVersion = await probe(cargo, ['--version'], cwd, env);
  if (cargoVersion === undefined) {
    throw missing(`no cargo on the PATH to build the Rust crate in ${cwd}: apt-get install cargo (Debian), or install Rust with rustup (https://rustup.rs)`);
  }
  const rustc = env.RUSTC !== undefined && env.RUSTC !== '' ? env.RUSTC : 'rustc';
  const [rustcVersion, sysroot] = await Promise.all([probe(rustc, ['--version'], cwd, env), probe(rustc, ['--print', 'sysroot'], cwd, env)]);
  if (rustcVersion === undefined || sysroot === undefined) {
    throw missing(`${cargoVersion} is on the PATH but rustc (${rustc}) cannot be run: apt-get install rustc (Debian), or rustup default stable`);
  }
  let wasiTarget: RustToolchain['wasiTarget'] | undefined;
  for (const target of WASI_TARGETS) {
    if (await hasStd(sysroot, target)) {
      wasiTarget = target;
      break;
    }
  }
  if (wasiTarget === undefined) {
    const how = isRustup(sysroot) ? 'rustup target add wasm32-wasip1 (wasm32-wasi before Rust 1.78)' : `${DEBIAN_WASM} (Debian), or rustup target add wasm32-wasip1`;
    throw missing(`${short(rustcVersion)} (the rustc cargo uses, in ${sysroot}) has no standard library for WASI (wasm32-wasip1 or wasm32-wasi): ${how}`);
  }
  if (!(await hasRustLld(sysroot, env))) {
    throw missing(`${short(rustcVersion)} has the ${wasiTarget} std but no rust-lld to link it: ${isRustup(sysroot) ? 'rustup component add rust-std' : 'apt-get install lld'}`);
  }
  return { cargo, cargoVersion, rustc, rustcVersion, sysroot, wasiTarget };
}

/** Whether `toolchain` can build for {@link CLIENT_TARGET}; when not, the one line saying how to add it. */
export async function clientTargetMissing(toolchain: RustToolchain): Promise<string | undefined> {
  if (await hasStd(toolchain.sysroot, CLIENT_TARGET)) return undefined;
  const how = isRustup(toolchain.sysroot) ? `rustup target add ${CLIENT_TARGET}` : `${DEBIAN_WASM} (Debian)`;
  return `${short(toolchain.rustcVersion)} has no standard library for ${CLIENT_TARGET}: ${how}`;
}

/** Options of {@link cargoBuild}. */
export interface CargoBuildOptions {
  /** Where cargo runs: the service folder (cargo finds the manifest there or above). */
  readonly cwd: string;
  readonly target: string;
  /** `--package`: upstream's `[service] package` or `[client] package`. */
  readonly package?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Default {@link DEFAULT_CARGO_TIMEOUT_MS}. */
  readonly timeoutMs?: number;
  /**
   * Each line of cargo's rendered output (progress, warnings, errors with file and line), as
   * it comes. Without it the last 64 KiB are kept and returned with a failure.
   */
  readonly onOutput?: (line: string) => void;
}

/** What {@link cargoBuild} returns; it never throws for a crate that does not build. */
export type CargoBuildResult =
  | {
      readonly ok: true;
      /** The one `.wasm` file cargo reported. */
      readonly wasmFile: string;
      /** The `Cargo.toml` of the crate that produced it. */
      readonly manifestPath: string;
      readonly durationMs: number;
    }
  | {
      readonly ok: false;
      /**
       * Why: one line when cargo's messages went to `onOutput`; otherwise that line and the
       * last of cargo's messages.
       */
      readonly diagnostics: string;
    };

/** The fields of cargo's JSON messages read here. */
interface CargoMessage {
  readonly reason?: string;
  readonly filenames?: readonly string[];
  readonly manifest_path?: string;
  readonly success?: boolean;
  readonly message?: { readonly rendered?: string };
}

/**
 * Runs `cargo build --release` for `target` in `cwd`, as upstream's CLI does, and finds the
 * one `.wasm` artifact it reports.
 */
export async function cargoBuild(options: CargoBuildOptions): Promise<CargoBuildResult> {
  const started = performance.now();
  const args = ['build', '--release', '--target', options.target, '--message-format', 'json-render-diagnostics'];
  if (options.package !== undefined) args.push('--package', options.package);
  const kept = new Tail(KEPT_OUTPUT_BYTES);
  const output = options.onOutput ?? ((line: string) => kept.push(line));
  const artifacts: { wasmFile: string; manifestPath: string }[] = [];
  let finished: boolean | undefined;

  const child = spawn('cargo', args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  const spawnFailed = new Promise<string>((resolve) => child.on('error', (err) => resolve(`cargo could not be run: ${err.message}`)));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  forEachLine(child.stderr, output);
  forEachLine(child.stdout, (line) => {
    let message: CargoMessage;
    try {
      message = JSON.parse(line) as CargoMessage;
    } catch {
      output(line); // not JSON: pass it on as it is
      return;
    }
    if (message.reason === 'compiler-artifact') {
      for (const file of message.filenames ?? []) {
        if (file.toLowerCase().endsWith('.wasm')) artifacts.push({ wasmFile: file, manifestPath: message.manifest_path ?? '' });
      }
    } else if (message.reason === 'compiler-message' && message.message?.rendered !== undefined) {
      for (const rendered of message.message.rendered.trimEnd().split('\n')) output(rendered);
    } else if (message.reason === 'build-finished') {
      finished = message.success === true;
    }
  });

  const timeoutMs = options.timeoutMs ?? DEFAULT_CARGO_TIMEOUT_MS;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), timeoutMs)));
  const outcome = await Promise.race([exited, spawnFailed, late]).finally(() => clearTimeout(timer));
  const fail = (line: string): CargoBuildResult => ({
    ok: false,
    diagnostics: options.onOutput === undefined && kept.text() !== '' ? `${kept.text()}\n${line}` : line,
  });
  const command = `cargo ${args.join(' ')}`;
  if (outcome === 'late') {
    stop(child);
    return fail(`${command} ran longer than ${Math.round(timeoutMs / 1000)} s and was stopped`);
  }
  if (typeof outcome === 'string') return fail(outcome);
  if (outcome !== 0 || finished === false) return fail(`${command} failed (exit code ${outcome})${options.onOutput ? ': cargo says why above' : ''}`);
  if (artifacts.length === 0) {
    return fail(`${command} built no .wasm file: a Stateroom service is a library with crate-type = ["cdylib"] in its Cargo.toml`);
  }
  if (artifacts.length > 1) {
    const names = artifacts.map((a) => path.basename(a.wasmFile)).join(', ');
    return fail(`${command} built ${artifacts.length} .wasm files (${names}): name the service's crate with [service] package in stateroom.toml`);
  }
  const [artifact] = artifacts as [{ wasmFile: string; manifestPath: string }];
  return { ok: true, ...artifact, durationMs: performance.now() - started };
}

/** Options of {@link wasmBindgen}. */
export interface WasmBindgenOptions {
  readonly wasmFile: string;
  readonly outDir: string;
  readonly cwd: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly onOutput: (line: string) => void;
  readonly timeoutMs?: number;
}

/** Whether `wasm-bindgen` can be run; when not, the one line saying what is missing. */
export async function wasmBindgenMissing(cwd: string, env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  if ((await probe('wasm-bindgen', ['--version'], cwd, env)) !== undefined) return undefined;
  return 'wasm-bindgen is not on the PATH: cargo install wasm-bindgen-cli (the version of the client crate\'s wasm-bindgen dependency)';
}

/**
 * Runs `wasm-bindgen --target web --typescript` on a client module into `outDir`, as
 * upstream does (its web bindings, with TypeScript declarations). Returns why it failed, or
 * undefined.
 */
export async function wasmBindgen(options: WasmBindgenOptions): Promise<string | undefined> {
  const args = [options.wasmFile, '--out-dir', options.outDir, '--target', 'web', '--typescript'];
  const child = spawn('wasm-bindgen', args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  forEachLine(child.stdout, options.onOutput);
  forEachLine(child.stderr, options.onOutput);
  const timeoutMs = options.timeoutMs ?? 120_000;
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    new Promise<number | string | null>((resolve) => {
      child.on('error', (err) => resolve(err.message));
      child.on('close', (code) => resolve(code));
    }),
    new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), timeoutMs))),
  ]).finally(() => clearTimeout(timer));
  if (outcome === 0) return undefined;
  if (outcome === 'late') {
    stop(child);
    return `wasm-bindgen ran longer than ${Math.round(timeoutMs / 1000)} s and was stopped`;
  }
  return typeof outcome === 'string' ? `wasm-bindgen could not be run: ${outcome}` : `wasm-bindgen failed (exit code ${outcome})`;
}

/** Calls `each` with every line of `stream` (a line over {@link MAX_LINE_BYTES} is cut there). */
function forEachLine(stream: Readable, each: (line: string) => void): void {
  let partial = '';
  let cut = false;
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (!cut) each(line.replace(/\r$/, ''));
      cut = false;
    }
    if (partial.length > MAX_LINE_BYTES) {
      if (!cut) each(`${partial.slice(0, MAX_LINE_BYTES)} …(line cut)`);
      cut = true; // the rest of this line is dropped
      partial = '';
    }
  });
  stream.on('end', () => {
    if (partial !== '' && !cut) each(partial);
  });
}

/** The last `limit` bytes (or so) of the lines pushed, whole lines only. */
class Tail {
  private readonly lines: string[] = [];
  private size = 0;
  constructor(private readonly limit: number) {}
  push(line: string): void {
    this.lines.push(line);
    this.size += line.length + 1;
    while (this.size > this.limit && this.lines.length > 1) this.size -= (this.lines.shift() ?? '').length + 1;
  }
  text(): string {
    return this.lines.join('\n');
  }
}

/** Stops a child that ran too long: SIGTERM, then SIGKILL if it lingers. */
function stop(child: ReturnType<typeof spawn>): void {
  child.kill('SIGTERM');
  const force = setTimeout(() => child.kill('SIGKILL'), 5_000);
  force.unref();
  child.once('close', () => clearTimeout(force));
}
