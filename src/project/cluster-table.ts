/**
 * The `[cluster]` table of `stateroom.toml`: the scale-out options (docs/cluster.md) kept in the
 * file every node of a deployment shares, rather than repeated on each command line. `serve`
 * reads it; a flag given on the command line wins over the file.
 * @module
 */
import path from 'node:path';
import { invalid, optional, subTable } from './toml-values.js';

/** `[cluster]`, as read: every key optional, paths absolute. */
export interface ClusterTable {
  /** `redis`: the Redis URL (`--redis`). */
  readonly redis?: string;
  /** `node_url`: how other nodes reach this one (`--node-url`). */
  readonly nodeUrl?: string;
  /** `secret_file`, resolved against the file's folder (`--cluster-secret-file`). */
  readonly secretFile?: string;
  /** `lease_ttl` in seconds, as milliseconds (`--lease-ttl`). */
  readonly leaseTtlMs?: number;
}

/** The keys of `[cluster]`, and the flag each stands for (as docs/cli.md lists them). */
export const CLUSTER_KEYS: Readonly<Record<string, string>> = {
  redis: '--redis',
  node_url: '--node-url',
  secret_file: '--cluster-secret-file',
  lease_ttl: '--lease-ttl',
};

/**
 * Reads the `[cluster]` table `value` of the TOML file `file` (undefined: no table).
 * @throws {@link StateroomError} `SR_ERR_CONFIG_INVALID` naming the file and the key.
 */
export function parseClusterTable(file: string, value: unknown): ClusterTable {
  const table = subTable(file, 'cluster', value);
  const unknown = Object.keys(table).filter((k) => !Object.hasOwn(CLUSTER_KEYS, k));
  if (unknown.length > 0) throw invalid(file, `unknown key(s) ${unknown.map((k) => `cluster.${k}`).join(', ')}; known: ${Object.keys(CLUSTER_KEYS).map((k) => `cluster.${k}`).join(', ')}`);
  const text = (key: string): string | undefined => {
    const v = table[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || v === '') throw invalid(file, `cluster.${key} must be a non-empty string (as ${CLUSTER_KEYS[key]} takes)`);
    return v;
  };
  const secretFile = text('secret_file');
  const ttl = table.lease_ttl;
  if (ttl !== undefined && (typeof ttl !== 'number' || !(ttl >= 1 && ttl <= 600))) {
    throw invalid(file, `cluster.lease_ttl must be a number of seconds from 1 to 600, e.g. lease_ttl = 10`);
  }
  return {
    ...optional('redis', text('redis')),
    ...optional('nodeUrl', text('node_url')),
    ...optional('secretFile', secretFile === undefined ? undefined : path.resolve(path.dirname(file), secretFile)),
    ...optional('leaseTtlMs', ttl === undefined ? undefined : Math.round(ttl * 1000)),
  };
}
