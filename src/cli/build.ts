/**
 * `stateroom build [dir]`: builds the service folder — a Rust crate with cargo, or an
 * AssemblyScript entry with asc — to `dist/server.wasm` (ABI v1, loadable by upstream's
 * server too) and copies the configured static files to `dist/static/` (and a
 * `[client] package` to `dist/static/client/`), upstream's layout.
 * @module
 */
import path from 'node:path';
import type { Command } from 'commander';
import { ErrorCode, StateroomError } from '../errors.js';
import { loadProjectConfig } from '../project/config.js';

/** Adds the `build` command to `program`. */
export function addBuildCommand(program: Command): void {
  program
    .command('build')
    .description('build a Rust crate (cargo) or an AssemblyScript service to dist/server.wasm, with its static files in dist/static/')
    .argument('[dir]', 'the service folder (with an optional stateroom.toml)', '.')
    .option('--entry <file>', 'the entry file, instead of stateroom.toml\'s [service] entry or the usual places')
    .action(async (dir: string, flags: { entry?: string }) => {
      // Imported here, not by every process of the `stateroom` command.
      const { buildDist, prepareBuild } = await import('../project/build.js');
      const config = await loadProjectConfig(dir, flags.entry);
      const shown = (file: string): string => path.relative(process.cwd(), file) || '.';
      // cargo's progress and diagnostics go to stderr as they come, as cargo prints them itself.
      const builder = await prepareBuild(config, { onOutput: (line) => process.stderr.write(`${line}\n`) });
      for (const note of builder.notes) process.stdout.write(`stateroom: ${note}\n`);
      process.stdout.write(`stateroom: building ${shown(config.entry)} with ${builder.description} …\n`);
      const built = await buildDist(config, builder);
      if (!built.ok) throw new StateroomError(ErrorCode.BUILD_FAILED, `build failed:\n${built.diagnostics}`, { file: config.entry });
      for (const note of built.notes) process.stdout.write(`stateroom: ${note}\n`);
      const { wasmFile, wasmBytes, staticFiles, durationMs } = built.result;
      process.stdout.write(
        `stateroom: built ${shown(wasmFile)} (${(wasmBytes / 1024).toFixed(1)} KiB) and ${shown(path.join(path.dirname(wasmFile), 'static'))}/ ` +
          `(${staticFiles} static file${staticFiles === 1 ? '' : 's'}) in ${(durationMs / 1000).toFixed(1)} s\n`,
      );
    });
}
