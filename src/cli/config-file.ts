/**
 * `serve --config <file>` (default `./stateroom.toml`, when there is one): the options of the
 * file's `[cluster]` table fill the flags the command line did not give.
 * @module
 */
import { access } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { ErrorCode, StateroomError } from '../errors.js';
import { parseClusterTable, type ClusterTable } from '../project/cluster-table.js';
import { CONFIG_FILE, readToml } from '../project/config.js';

/** The cluster flags of `serve`, as commander names them. */
interface ClusterFlags {
  config?: string;
  redis?: string;
  nodeUrl?: string;
  clusterSecretFile?: string;
  leaseTtl: number;
}

/**
 * `flags` with the `[cluster]` table of the config file filled in where the command line is
 * silent (a flag the user typed wins).
 * @throws {@link StateroomError} `SR_ERR_CONFIG_INVALID` for a `--config` file that does not exist or a bad table.
 */
export async function withClusterTable<F extends ClusterFlags>(flags: F, command: Command): Promise<F> {
  const file = path.resolve(flags.config ?? CONFIG_FILE);
  if (flags.config !== undefined && !(await exists(file))) {
    throw new StateroomError(ErrorCode.CONFIG_INVALID, `--config ${flags.config}: no such file (looked for ${file})`, { file });
  }
  const table = parseClusterTable(file, (await readToml(file)).cluster);
  const typed = (name: keyof ClusterFlags): boolean => command.getOptionValueSource(name) === 'cli';
  const fill: Partial<Record<keyof ClusterFlags, unknown>> = {};
  const take = <K extends keyof ClusterFlags>(name: K, value: ClusterTable[keyof ClusterTable]): void => {
    if (value !== undefined && !typed(name)) fill[name] = value;
  };
  take('redis', table.redis);
  take('nodeUrl', table.nodeUrl);
  take('clusterSecretFile', table.secretFile);
  take('leaseTtl', table.leaseTtlMs);
  return { ...flags, ...fill };
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(() => true, () => false);
}
