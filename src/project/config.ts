/**
 * A service folder for `stateroom build` and `stateroom dev`: its optional `stateroom.toml`,
 * read with upstream's meaning (`static_files`; `[service] package`, the Rust crate cargo
 * builds; `[client] package`, the Rust crate built for the browser), plus this tool's
 * `[service] entry` and `[service] language`; and the service's kind (kind.ts).
 * @module
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'smol-toml';
import { describeThrown } from '../errors.js';
import { parseClusterTable } from './cluster-table.js';
import { detectKind, type ServiceKind } from './kind.js';
import { invalid, optional, subTable } from './toml-values.js';

export { ENTRY_CANDIDATES, type ServiceKind } from './kind.js';

export const CONFIG_FILE = 'stateroom.toml';

export interface ProjectConfig {
  /** The service folder: where `stateroom.toml` is (or would be), and `dist/` goes. */
  readonly root: string;
  /**
   * What is built, absolute: the entry file; for a Rust crate its `Cargo.toml` (or the
   * folder, when the manifest is above it or the crate is named by `[service] package`).
   */
  readonly entry: string;
  readonly kind: ServiceKind;
  /** `[service] package`: the crate `cargo build --package` builds (Rust only). */
  readonly servicePackage?: string;
  /** `[client] package`: a crate built for the browser with wasm-bindgen, served at `/client/`. */
  readonly clientPackage?: string;
  /** The static files directory, absolute, when configured. */
  readonly staticFiles?: string;
  /** `state_dir`: where `stateroom dev` saves rooms, absolute, when configured (default `.stateroom/`). */
  readonly stateDir?: string;
  /** `ignore`: globs (relative to the service folder) whose changes `stateroom dev` does not rebuild for. */
  readonly ignore: readonly string[];
  /** Keys of upstream's file this tool reads but does not use (`service_id`, `client.optimization_level`). */
  readonly ignoredKeys: readonly string[];
}

/** Upstream's keys that mean nothing here: its deploy id, and an option upstream itself never used. */
const IGNORED_TOP = new Set(['service_id']);
const IGNORED_CLIENT = new Set(['optimization_level']);
const KNOWN = 'static_files, state_dir, ignore, service_id, [service] package, [service] entry, [service] language, [client] package, [cluster] (for serve)';

/**
 * Reads the service folder `root`.
 * @param entryOverride - An entry given on the command line; wins over the file.
 * @throws {@link StateroomError} `SR_ERR_CONFIG_INVALID` naming the file and key.
 */
export async function loadProjectConfig(root: string, entryOverride?: string): Promise<ProjectConfig> {
  const absoluteRoot = path.resolve(root);
  const configPath = path.join(absoluteRoot, CONFIG_FILE);
  const table = await readToml(configPath);
  const service = subTable(configPath, 'service', table.service);
  const client = table.client === undefined ? undefined : subTable(configPath, 'client', table.client);
  const unknown = [
    ...Object.keys(table).filter((k) => !['static_files', 'state_dir', 'ignore', 'service', 'client', 'cluster'].includes(k) && !IGNORED_TOP.has(k)),
    ...Object.keys(service).filter((k) => !['entry', 'language', 'package'].includes(k)).map((k) => `service.${k}`),
    ...Object.keys(client ?? {}).filter((k) => k !== 'package' && !IGNORED_CLIENT.has(k)).map((k) => `client.${k}`),
  ];
  if (unknown.length > 0) throw invalid(configPath, `unknown key(s) ${unknown.join(', ')}; known: ${KNOWN}`);
  parseClusterTable(configPath, table.cluster); // used by serve, not dev or build; still checked here
  const clientPackage = client === undefined ? undefined : optionalString(configPath, 'client.package', client.package);
  if (client !== undefined && clientPackage === undefined) throw invalid(configPath, '[client] needs package = "<the client crate>", as upstream\'s does');
  const servicePackage = optionalString(configPath, 'service.package', service.package);

  const entryText = entryOverride ?? optionalString(configPath, 'service.entry', service.entry);
  const entry = entryText === undefined ? undefined : path.resolve(entryOverride ? process.cwd() : absoluteRoot, entryText);
  if (entry !== undefined && !(await isFile(entry))) throw invalid(configPath, `the service entry ${entry} does not exist`);
  const detected = await detectKind({
    root: absoluteRoot,
    configPath,
    ...(entry === undefined ? {} : { entry }),
    ...optional('language', optionalString(configPath, 'service.language', service.language)),
    ...optional('servicePackage', servicePackage),
  });

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
  const stateText = optionalString(configPath, 'state_dir', table.state_dir);
  const ignore = table.ignore ?? [];
  if (!Array.isArray(ignore) || ignore.some((g) => typeof g !== 'string' || g === '')) {
    throw invalid(configPath, 'ignore must be a list of globs, e.g. ignore = ["notes/**", "*.log"]');
  }
  return {
    ignore: ignore as string[],
    root: absoluteRoot,
    entry: detected.entry,
    ...optional('stateDir', stateText === undefined ? undefined : path.resolve(absoluteRoot, stateText)),
    kind: detected.kind,
    ...optional('servicePackage', servicePackage),
    ...optional('clientPackage', clientPackage),
    ...optional('staticFiles', staticFiles),
    ignoredKeys: [
      ...Object.keys(table).filter((k) => IGNORED_TOP.has(k)),
      ...Object.keys(client ?? {}).filter((k) => IGNORED_CLIENT.has(k)).map((k) => `client.${k}`),
    ],
  };
}

/** The TOML file `file` as a table; `{}` when it does not exist. @throws `SR_ERR_CONFIG_INVALID` */
export async function readToml(file: string): Promise<Record<string, unknown>> {
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
