/**
 * `stateroom build [dir]`: compiles the service folder's AssemblyScript entry to
 * `dist/server.wasm` (ABI v1, loadable by upstream's server too) and copies the configured
 * static files to `dist/static/`, upstream's layout.
 * @module
 */
import path from 'node:path';
import type { Command } from 'commander';
import { ErrorCode, StateroomError } from '../errors.js';
import { buildDist } from '../project/build.js';
import { loadProjectConfig } from '../project/config.js';

/** Adds the `build` command to `program`. */
export function addBuildCommand(program: Command): void {
  program
    .command('build')
    .description('compile an AssemblyScript service to dist/server.wasm, with its static files in dist/static/')
    .argument('[dir]', 'the service folder (with an optional stateroom.toml)', '.')
    .option('--entry <file>', 'the entry file, instead of stateroom.toml\'s [service] entry or the usual places')
    .action(async (dir: string, flags: { entry?: string }) => {
      const config = await loadProjectConfig(dir, flags.entry);
      const shown = (file: string): string => path.relative(process.cwd(), file) || '.';
      process.stdout.write(`stateroom: building ${shown(config.entry)} …\n`);
      const built = await buildDist(config);
      if (!built.ok) throw new StateroomError(ErrorCode.BUILD_FAILED, `build failed:\n${built.diagnostics}`, { file: config.entry });
      const { wasmFile, wasmBytes, staticFiles, durationMs } = built.result;
      process.stdout.write(
        `stateroom: built ${shown(wasmFile)} (${(wasmBytes / 1024).toFixed(1)} KiB) and ${shown(path.join(path.dirname(wasmFile), 'static'))}/ ` +
          `(${staticFiles} static file${staticFiles === 1 ? '' : 's'}) in ${(durationMs / 1000).toFixed(1)} s\n`,
      );
    });
}
