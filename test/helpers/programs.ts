// Programs a test needs that `npm ci` does not bring (a browser, a compiler, a server): found
// where they usually are, or else the test skips with one line naming what to install. Under
// CI (the environment variable CI set, as .ci/run has it) nothing skips: .ci/run installs them,
// so a missing one is a failure that names it.
//
// STATEROOM_TEST_HIDE=chromium,rustc makes the finders of those ids find nothing, as on a bare
// machine: test/bare-machine.test.ts uses it to check the skip and the CI failure.
import { execFile } from 'node:child_process';
import { accessSync, constants, readdirSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

export interface Requirement<T> {
  /** The name STATEROOM_TEST_HIDE knows it by: "chromium". */
  readonly id: string;
  /** What a skip says the test needs: "Chromium". */
  readonly what: string;
  /** How to get it, briefly: "apt-get install chromium, or set CHROME_PATH". */
  readonly install: string;
  /** Looks for it on this machine; undefined when it is not there. */
  find(): T | undefined | Promise<T | undefined>;
}

export interface Found<T> {
  /** What `find` found, or undefined. */
  readonly value: T | undefined;
  /** When it is missing: "needs Chromium — apt-get install chromium, or set CHROME_PATH". */
  readonly missing: string | undefined;
  /** Test options: `{ skip: missing }` when it is missing outside CI, else `{}` (the test runs, and `get()` fails it). */
  readonly options: { skip?: string };
  /** The value; throws naming what is missing and how to install it. */
  get(): T;
}

/** The ids in STATEROOM_TEST_HIDE. */
export function hidden(env: NodeJS.ProcessEnv = process.env): Set<string> {
  return new Set((env.STATEROOM_TEST_HIDE ?? '').split(',').map((s) => s.trim()).filter((s) => s !== ''));
}

/** Looks for `requirement` (nothing, if STATEROOM_TEST_HIDE names it). */
export async function need<T>(requirement: Requirement<T>, env: NodeJS.ProcessEnv = process.env): Promise<Found<T>> {
  const value = hidden(env).has(requirement.id) ? undefined : await requirement.find();
  const missing = value === undefined ? `needs ${requirement.what} — ${requirement.install}` : undefined;
  const ci = env.CI !== undefined && env.CI !== '' && env.CI !== 'false' && env.CI !== '0';
  return {
    value,
    missing,
    options: missing !== undefined && !ci ? { skip: missing } : {},
    get: () => {
      if (value !== undefined) return value;
      // Under CI the test runs instead of skipping, and fails here.
      const why = ci ? ' (under CI a test does not skip for it: .ci/run installs it)' : '';
      throw new Error(`missing ${requirement.what}${why} — ${requirement.install}`);
    },
  };
}

/** Whether `file` is a file this process may execute. */
export function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/** Every executable called `name` in the directories of PATH, in PATH's order. */
export function onPath(name: string, env: NodeJS.ProcessEnv = process.env): string[] {
  return (env.PATH ?? '')
    .split(path.delimiter)
    .filter((dir) => dir !== '')
    .map((dir) => path.join(dir, name))
    .filter(isExecutable);
}

/** A program found on PATH or at one of `paths`, e.g. `executable('redis-server', 'apt-get install redis-server')`. */
export function executable(name: string, install: string, paths: readonly string[] = []): Requirement<string> {
  return { id: name, what: name, install, find: () => [...onPath(name), ...paths].find(isExecutable) };
}

// ---- Chromium ---------------------------------------------------------------------------

/** Directories of `dir` whose names start with `prefix`, highest version first. */
function versionsIn(dir: string, prefix: string): string[] {
  try {
    return readdirSync(dir)
      .filter((name) => name.startsWith(prefix))
      .sort((a, b) => b.localeCompare(a, 'en', { numeric: true }))
      .map((name) => path.join(dir, name));
  } catch {
    return [];
  }
}

/** Chromium or Chrome where Linux and macOS installs, and Playwright's browser cache, put it. */
export function chromiumCandidates(env: NodeJS.ProcessEnv = process.env): string[] {
  const home = os.homedir();
  const caches = env.PLAYWRIGHT_BROWSERS_PATH
    ? [env.PLAYWRIGHT_BROWSERS_PATH]
    : [path.join(home, '.cache/ms-playwright'), path.join(home, 'Library/Caches/ms-playwright')];
  const cached = caches.flatMap((cache) =>
    versionsIn(cache, 'chromium-').flatMap((dir) => [
      path.join(dir, 'chrome-linux/chrome'),
      path.join(dir, 'chrome-linux64/chrome'),
      path.join(dir, 'chrome-mac/Chromium.app/Contents/MacOS/Chromium'),
      path.join(dir, 'chrome-mac-arm64/Chromium.app/Contents/MacOS/Chromium'),
    ]),
  );
  return [
    ...['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable'].flatMap((name) => onPath(name, env)),
    '/usr/bin/chromium',
    '/usr/bin/chromium-browser',
    '/usr/bin/google-chrome',
    '/opt/google/chrome/chrome',
    '/Applications/Chromium.app/Contents/MacOS/Chromium',
    '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome',
    ...cached,
  ];
}

/** Chromium for playwright-core's executablePath: CHROME_PATH when set (and only it), else the usual places. */
export const CHROMIUM: Requirement<string> = {
  id: 'chromium',
  what: 'Chromium',
  install: 'apt-get install chromium, or set CHROME_PATH',
  find: () => {
    const chosen = process.env.CHROME_PATH;
    if (chosen) return isExecutable(chosen) ? chosen : undefined;
    return chromiumCandidates().find(isExecutable);
  },
};

// ---- rustc for WebAssembly ----------------------------------------------------------------

export interface WasiRust {
  readonly rustc: string;
  /** `rustc --version`: "rustc 1.63.0". */
  readonly version: string;
  /** The name this toolchain gives WASI preview 1: wasm32-wasip1 (Rust 1.78 on) or wasm32-wasi. */
  readonly target: string;
}

const run = promisify(execFile);

/** What `rustc` can build for WASI: a target whose std is installed, and a rust-lld to link it. */
async function wasiRust(rustc: string): Promise<WasiRust | undefined> {
  try {
    const sysroot = (await run(rustc, ['--print', 'sysroot'], { timeout: 15_000 })).stdout.trim();
    const rustlib = path.join(sysroot, 'lib/rustlib');
    const target = ['wasm32-wasip1', 'wasm32-wasi'].find((t) => {
      try {
        return readdirSync(path.join(rustlib, t, 'lib')).some((f) => f.startsWith('libstd-') && f.endsWith('.rlib'));
      } catch {
        return false;
      }
    });
    if (target === undefined) return undefined;
    // rustup ships rust-lld in the sysroot; Debian links /usr/bin/rust-lld to lld-14, and a
    // link whose lld is not installed is no linker (isExecutable follows it).
    const hosts = readdirSync(rustlib).map((host) => path.join(rustlib, host, 'bin/rust-lld'));
    if (![...hosts, ...onPath('rust-lld')].some(isExecutable)) return undefined;
    const version = (await run(rustc, ['--version'], { timeout: 15_000 })).stdout.trim();
    return { rustc, version, target };
  } catch {
    return undefined;
  }
}

/** A rustc with the WASI std: $RUSTC, then rustc on PATH, rustup's, Debian's; the first that has it. */
export const WASI_RUSTC: Requirement<WasiRust> = {
  id: 'rustc',
  what: 'rustc with the wasm32-wasi std',
  install: 'apt-get install rustc libstd-rust-dev-wasm32 lld-14, or rustup target add wasm32-wasip1',
  find: async () => {
    const candidates = [process.env.RUSTC, ...onPath('rustc'), path.join(os.homedir(), '.cargo/bin/rustc'), '/usr/bin/rustc'];
    for (const rustc of new Set(candidates)) {
      if (rustc === undefined || !isExecutable(rustc)) continue;
      const found = await wasiRust(rustc);
      if (found) return found;
    }
    return undefined;
  },
};

// ---- cargo for WebAssembly ----------------------------------------------------------------

export interface WasiCargo extends WasiRust {
  readonly cargo: string;
  /** `cargo --version`: "cargo 1.65.0". */
  readonly cargoVersion: string;
  /**
   * The environment a `stateroom dev`/`build` child needs to run this cargo with this rustc:
   * cargo's folder first on PATH, and RUSTC (rustup's cargo in ~/.cargo/bin may come first
   * on PATH and have no WASI std).
   */
  env(base?: NodeJS.ProcessEnv): NodeJS.ProcessEnv;
}

/**
 * A cargo whose rustc has the WASI std and a rust-lld: cargo on PATH, rustup's, Debian's; each
 * paired with the rustc beside it (the one it runs), the first pair that builds for WASI.
 */
export const WASI_CARGO: Requirement<WasiCargo> = {
  id: 'cargo',
  what: 'cargo with a rustc that has the wasm32-wasi std',
  install: 'apt-get install cargo rustc libstd-rust-dev-wasm32 lld-14, or rustup target add wasm32-wasip1',
  find: async () => {
    const candidates = [...onPath('cargo'), path.join(os.homedir(), '.cargo/bin/cargo'), '/usr/bin/cargo'];
    for (const cargo of new Set(candidates)) {
      const rustc = path.join(path.dirname(cargo), 'rustc');
      if (!isExecutable(cargo) || !isExecutable(rustc)) continue;
      const rust = await wasiRust(rustc);
      if (rust === undefined) continue;
      try {
        const cargoVersion = (await run(cargo, ['--version'], { timeout: 15_000 })).stdout.trim();
        return {
          ...rust,
          cargo,
          cargoVersion,
          env: (base = process.env) => ({ ...base, PATH: [path.dirname(cargo), base.PATH ?? ''].join(path.delimiter), RUSTC: rustc }),
        };
      } catch {
        continue;
      }
    }
    return undefined;
  },
};
