/**
 * What kind of service a folder holds — a Rust crate, AssemblyScript, native TypeScript or
 * JavaScript, or a ready module — from what `stateroom.toml` says and, where it says
 * nothing, from the folder's files. A contradiction is refused in one line that says how
 * to settle it.
 * @module
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { ErrorCode, StateroomError } from '../errors.js';

/** How a service is turned into something to serve. */
export type ServiceKind = 'rust' | 'assemblyscript' | 'module' | 'wasm';

/** Where an entry is looked for, in order, when nothing names one. */
export const ENTRY_CANDIDATES = [
  'assembly/index.ts',
  'assembly/service.ts',
  'service.ts',
  'server.ts',
  'index.ts',
  'service.mts',
  'service.js',
  'service.mjs',
] as const;

/** `[service] language` values, and the kind each forces. */
export const LANGUAGES: Readonly<Record<string, 'rust' | 'assemblyscript' | 'module'>> = {
  rust: 'rust',
  assemblyscript: 'assemblyscript',
  typescript: 'module',
  javascript: 'module',
};

/** What the service folder's `stateroom.toml` (and the command line) say about the service. */
export interface KindHints {
  /** The folder. */
  readonly root: string;
  /** The file the hints come from, named in errors. */
  readonly configPath: string;
  /** `[service] language`. */
  readonly language?: string;
  /** `[service] entry` or `--entry`, absolute. */
  readonly entry?: string;
  /** `[service] package` (upstream's key: a Rust crate, for `cargo build --package`). */
  readonly servicePackage?: string;
}

/** The service's kind, and what is built: the entry file, or for a crate its `Cargo.toml` (or the folder). */
export interface DetectedKind {
  readonly kind: ServiceKind;
  readonly entry: string;
}

/**
 * Decides the kind: `[service] language` when given; else `[service] package` means Rust;
 * else an entry's file type (an entry under `assembly/` is AssemblyScript, asc's
 * convention); else a `Cargo.toml` in the folder means Rust, and the first of
 * {@link ENTRY_CANDIDATES} anything else.
 * @throws {@link StateroomError} `SR_ERR_CONFIG_INVALID`, one line, on a contradiction or
 * when nothing is found.
 */
export async function detectKind(hints: KindHints): Promise<DetectedKind> {
  const { root, configPath, entry } = hints;
  const invalid = (message: string): StateroomError => new StateroomError(ErrorCode.CONFIG_INVALID, `${configPath}: ${message}`, { file: configPath });
  let forced: 'rust' | 'assemblyscript' | 'module' | undefined;
  if (hints.language !== undefined) {
    forced = LANGUAGES[hints.language];
    if (forced === undefined) throw invalid(`[service] language = "${hints.language}": use "rust", "assemblyscript" or "typescript"`);
  }
  const manifest = path.join(root, 'Cargo.toml');
  const hasManifest = await isFile(manifest);
  const rustEntry = hasManifest ? manifest : root;

  if (hints.servicePackage !== undefined) {
    if (forced !== undefined && forced !== 'rust') {
      throw invalid(`[service] package = "${hints.servicePackage}" names a Rust crate, but [service] language = "${hints.language}": remove one of them`);
    }
    if (entry !== undefined) throw invalid(`[service] package = "${hints.servicePackage}" (a Rust crate, built by cargo) and an entry file ${entry} are both given: keep one`);
    return { kind: 'rust', entry: rustEntry };
  }
  if (forced === 'rust') {
    if (entry !== undefined) throw invalid(`[service] language = "rust" is built by cargo from Cargo.toml, not from an entry file (${entry}): remove the entry`);
    if (!(await manifestAbove(root))) throw invalid(`[service] language = "rust" but there is no Cargo.toml in ${root} or above it: run cargo init --lib there, or set language to "assemblyscript" or "typescript"`);
    return { kind: 'rust', entry: rustEntry };
  }
  if (entry !== undefined) return { kind: entryKind(invalid, root, entry, forced), entry };

  const found = await firstCandidate(root);
  if (hasManifest && forced === undefined) {
    if (found !== undefined) {
      throw invalid(
        `${root} has both a Cargo.toml (a Rust crate) and ${path.relative(root, found)}: say which to serve with [service] language = "rust", "assemblyscript" or "typescript"`,
      );
    }
    return { kind: 'rust', entry: manifest };
  }
  if (found === undefined) {
    throw new StateroomError(
      ErrorCode.CONFIG_INVALID,
      `no service found in ${root}: create Cargo.toml (a Rust crate), assembly/index.ts (AssemblyScript, built to WebAssembly) or service.ts (native TypeScript), or name the entry in stateroom.toml under [service] entry`,
      { file: root },
    );
  }
  return { kind: entryKind(invalid, root, found, forced), entry: found };
}

/** An entry file's kind, checked against a forced language. */
function entryKind(invalid: (message: string) => StateroomError, root: string, entry: string, forced: 'assemblyscript' | 'module' | undefined): ServiceKind {
  const extension = path.extname(entry).toLowerCase();
  if (extension === '.wasm' || extension === '.wat') return 'wasm';
  if (forced === 'assemblyscript' && extension !== '.ts') {
    throw invalid(`[service] language = "assemblyscript" but the entry ${entry} is not a .ts file: AssemblyScript sources end in .ts`);
  }
  // An `assembly/` folder of the project's own, not one the project happens to sit in.
  const inProject = path.relative(root, path.resolve(root, entry)).split(path.sep);
  return forced ?? (inProject.includes('assembly') ? 'assemblyscript' : 'module');
}

async function firstCandidate(root: string): Promise<string | undefined> {
  for (const candidate of ENTRY_CANDIDATES) {
    const file = path.join(root, candidate);
    if (await isFile(file)) return file;
  }
  return undefined;
}

/** Whether cargo, run in `dir`, finds a manifest: in `dir` or a folder above. */
async function manifestAbove(dir: string): Promise<boolean> {
  for (let current = dir; ; current = path.dirname(current)) {
    if (await isFile(path.join(current, 'Cargo.toml'))) return true;
    if (path.dirname(current) === current) return false;
  }
}

async function isFile(file: string): Promise<boolean> {
  return stat(file).then((s) => s.isFile(), () => false);
}
