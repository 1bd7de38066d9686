/**
 * A service folder for `stateroom build` and `stateroom dev`: its optional `stateroom.toml`
 * (upstream's keys: `static_files`, and a `[service]` table, here naming the `entry`) and,
 * when that names none, the entry found by convention.
 * @module
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'smol-toml';
import { ErrorCode, StateroomError, describeThrown } from '../errors.js';

export const CONFIG_FILE = 'stateroom.toml';

/** How a service is turned into something to serve. */
export type ServiceKind = 'assemblyscript' | 'module' | 'wasm';

export interface ProjectConfig {
  /** The service folder: where `stateroom.toml` is (or would be), and `dist/` goes. */
  readonly root: string;
  /** The entry file, absolute. */
  readonly entry: string;
  readonly kind: ServiceKind;
  /** The static files directory, absolute, when configured. */
  readonly staticFiles?: string;
  /** Keys of upstream's file this tool reads but does not use (e.g. `service_id`). */
  readonly ignoredKeys: readonly string[];
}

/** Where an entry is looked for, in order, when `stateroom.toml` names none. */
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

const UPSTREAM_ONLY_KEYS = new Set(['service_id', 'client']);
const LANGUAGES: Record<string, ServiceKind> = { assemblyscript: 'assemblyscript', typescript: 'module', javascript: 'module' };

/**
 * Reads the service folder `root`.
 * @param entryOverride - An entry given on the command line; wins over the file.
 * @throws {@link StateroomError} `SR_ERR_CONFIG_INVALID` naming the file and key.
 */
export async function loadProjectConfig(root: string, entryOverride?: string): Promise<ProjectConfig> {
  const absoluteRoot = path.resolve(root);
  const configPath = path.join(absoluteRoot, CONFIG_FILE);
  const table = await readToml(configPath);
  const service = table.service ?? {};
  if (typeof service !== 'object' || Array.isArray(service)) throw invalid(configPath, '[service] must be a table');
  const serviceTable = service as Record<string, unknown>;
  const unknown = Object.keys(table).filter((k) => k !== 'static_files' && k !== 'service' && !UPSTREAM_ONLY_KEYS.has(k));
  const unknownService = Object.keys(serviceTable).filter((k) => k !== 'entry' && k !== 'language');
  if ('package' in serviceTable) {
    throw invalid(configPath, '[service] package names a Rust crate; stateroom for TypeScript builds AssemblyScript: set [service] entry = "assembly/index.ts"');
  }
  if (unknown.length + unknownService.length > 0) {
    const keys = [...unknown, ...unknownService.map((k) => `service.${k}`)].join(', ');
    throw invalid(configPath, `unknown key(s) ${keys}; known: static_files, [service] entry, [service] language`);
  }
  const entryText = entryOverride ?? optionalString(configPath, 'service.entry', serviceTable.entry);
  const entry = entryText === undefined ? await findEntry(absoluteRoot) : path.resolve(entryOverride ? process.cwd() : absoluteRoot, entryText);
  if (!(await isFile(entry))) throw invalid(configPath, `the service entry ${entry} does not exist`);
  const staticText = optionalString(configPath, 'static_files', table.static_files);
  const staticFiles = staticText === undefined ? undefined : path.resolve(absoluteRoot, staticText);
  if (staticFiles !== undefined && !(await stat(staticFiles).then((s) => s.isDirectory(), () => false))) {
    throw invalid(configPath, `static_files = "${staticText}" is not a directory (looked for ${staticFiles})`);
  }
  const dist = path.join(absoluteRoot, 'dist');
  if (staticFiles !== undefined && (isWithin(staticFiles, dist) || isWithin(dist, staticFiles))) {
    // build empties dist/static and copies static_files into it: the two must not overlap.
    throw invalid(configPath, `static_files = "${staticText}" overlaps dist/, which build rewrites; keep static files outside dist/`);
  }
  return {
    root: absoluteRoot,
    entry,
    kind: kindOf(configPath, entry, optionalString(configPath, 'service.language', serviceTable.language)),
    ...(staticFiles === undefined ? {} : { staticFiles }),
    ignoredKeys: Object.keys(table).filter((k) => UPSTREAM_ONLY_KEYS.has(k)),
  };
}

/** AssemblyScript when said so or when the entry sits in an `assembly/` folder (asc's convention). */
function kindOf(configPath: string, entry: string, language: string | undefined): ServiceKind {
  const extension = path.extname(entry).toLowerCase();
  if (extension === '.wasm' || extension === '.wat') return 'wasm';
  if (language !== undefined) {
    const kind = LANGUAGES[language];
    if (kind === undefined) throw invalid(configPath, `[service] language = "${language}": use "assemblyscript" or "typescript"`);
    return kind;
  }
  return entry.split(path.sep).includes('assembly') ? 'assemblyscript' : 'module';
}

async function findEntry(root: string): Promise<string> {
  for (const candidate of ENTRY_CANDIDATES) {
    const file = path.join(root, candidate);
    if (await isFile(file)) return file;
  }
  throw new StateroomError(
    ErrorCode.CONFIG_INVALID,
    `no service found in ${root}: create assembly/index.ts (AssemblyScript, built to WebAssembly) or service.ts (native TypeScript), or name the entry in ${CONFIG_FILE} under [service] entry`,
    { file: root },
  );
}

async function readToml(file: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw invalid(file, `cannot be read: ${describeThrown(cause)}`, cause);
  }
  try {
    return parse(text);
  } catch (cause) {
    throw invalid(file, `is not valid TOML: ${describeThrown(cause)}`, cause);
  }
}

function optionalString(file: string, key: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '') throw invalid(file, `${key} must be a non-empty string`);
  return value;
}

function isWithin(inner: string, outer: string): boolean {
  const relative = path.relative(outer, inner);
  return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
}

async function isFile(file: string): Promise<boolean> {
  return stat(file).then((s) => s.isFile(), () => false);
}

function invalid(file: string, message: string, cause?: unknown): StateroomError {
  return new StateroomError(ErrorCode.CONFIG_INVALID, `${file}: ${message}`, { file }, cause === undefined ? undefined : { cause });
}
