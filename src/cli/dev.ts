/**
 * `stateroom dev [port]`: build and serve a service folder, and rebuild and reload it when
 * its sources change. A failed build is printed and the last good build keeps serving.
 * @module
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { describeThrown } from '../errors.js';
import type { LogLevel } from '../logger.js';
import type { Authorize } from '../options.js';
import type { Builder } from '../project/build.js';
import { CONFIG_FILE, loadProjectConfig, type ProjectConfig } from '../project/config.js';
import { DEFAULT_STATE_DIR, ignoredBy } from '../project/dev-ignore.js';
import type { RunningServer } from '../serve.js';
import type { AdapterSource } from '../service/adapter.js';
import { parseLogLevel, parsePort } from './args.js';
import { stopOnSignals } from './signals.js';

interface DevFlags {
  host: string;
  port?: number;
  /** A folder, or false for `--no-state-dir`. */
  stateDir?: string | false;
  entry?: string;
  dir: string;
  logLevel: LogLevel;
}

/** Changes closer together than this make one rebuild (editors write files in bursts). */
const SETTLE_MS = 100;

/** Adds the `dev` command to `program`. */
export function addDevCommand(program: Command): void {
  program
    .command('dev')
    .description('build and serve the service folder (a Rust crate, AssemblyScript or TypeScript), rebuilding and reloading on every change')
    .argument('[port]', 'TCP port to listen on', parsePort, 8080)
    .option('-p, --port <port>', 'TCP port to listen on (as serve takes it; wins over [port])', parsePort)
    .option('--host <address>', 'interface to listen on', '0.0.0.0')
    .option('--dir <folder>', 'the service folder (with an optional stateroom.toml)', '.')
    .option('--entry <file>', "the entry file, instead of stateroom.toml's [service] entry or the usual places")
    .option('--state-dir <dir>', `save rooms here, so a reload or restart keeps them (default: stateroom.toml's state_dir, else ${DEFAULT_STATE_DIR}/ in the service folder)`)
    .option('--no-state-dir', 'rooms start fresh after every reload')
    .option('--log-level <level>', 'quietest level logged', parseLogLevel, 'info' as LogLevel)
    .action(async (positionalPort: number, flags: DevFlags) => {
      // Imported here, not by every process of the `stateroom` command (a `serve --workers` primary among them).
      const [{ prepareBuild }, { serve }] = await Promise.all([import('../project/build.js'), import('../serve.js')]);
      const port = flags.port ?? positionalPort;
      const config = await loadProjectConfig(flags.dir, flags.entry);
      const say = (line: string): boolean => process.stdout.write(`stateroom dev: ${line}\n`);
      // cargo's progress and diagnostics (file and line) go to stderr as cargo prints them.
      const builder = await prepareBuild(config, { onOutput: (line) => process.stderr.write(`${line}\n`) });
      builder.notes.forEach(say);
      say(`building ${shown(config.entry)} with ${builder.description} …`);
      const first = await builder.build();
      if (first.ok) {
        say(`built ${shown(config.entry)} in ${seconds(first.durationMs)}`);
        first.notes.forEach(say);
      } else {
        say(`build failed:\n${first.diagnostics}`);
      }
      // The client's folder exists from the start, so a client that builds later is served too.
      const clientDir = first.ok ? first.clientDir : builder.clientDir;
      if (clientDir !== undefined) await mkdir(clientDir, { recursive: true });
      const stateDir = flags.stateDir === false ? undefined : path.resolve(flags.stateDir ?? config.stateDir ?? path.join(config.root, DEFAULT_STATE_DIR));
      const gate = new AuthorizeGate(first.ok ? first.authorize : undefined);
      const server = await serve(first.ok ? first.service : noBuildYet(config), {
        port,
        host: flags.host,
        logLevel: flags.logLevel,
        staticDir: config.staticFiles,
        clientDir,
        stateDir,
        authorize: gate.authorize,
      });
      await watchAndReload(config, builder, first.ok ? first.watch : [], server, say, gate, stateDir);
      stopOnSignals(server);
    });
}

/** Rebuilds after each burst of changes; one build at a time, and one more if changes came meanwhile. */
async function watchAndReload(config: ProjectConfig, builder: Builder, learnt: readonly string[], server: RunningServer, say: (line: string) => void, gate: AuthorizeGate, stateDir?: string): Promise<void> {
  const { watch } = await import('chokidar');
  let timer: NodeJS.Timeout | undefined;
  let building = false;
  let again = false;
  const rebuild = async (): Promise<void> => {
    if (building) {
      again = true;
      return;
    }
    building = true;
    try {
      const built = await builder.build();
      if (built.ok) {
        const clients = server.clientCount;
        // Clients reconnecting after the reload meet the new module's authorize (or none).
        gate.current = built.authorize;
        await server.reload(built.service);
        watcher.add([...built.watch]);
        say(`rebuilt in ${seconds(built.durationMs)}; reloaded (${clients} client${clients === 1 ? '' : 's'} closed with 1012 to reconnect)`);
        built.notes.forEach(say);
      } else {
        say(`build failed; still serving the last good build:\n${built.diagnostics}`);
      }
    } catch (thrown) {
      // Whatever went wrong, the next change must still be built.
      say(`reload failed; still watching for changes: ${describeThrown(thrown)}`);
    } finally {
      building = false;
    }
    if (again) {
      again = false;
      void rebuild();
    }
  };
  // A crate is watched where its sources are (src/, Cargo.toml); cargo writes target/ and
  // Cargo.lock itself, which must not trigger builds. Anything else: the whole folder.
  const paths = builder.watch === undefined ? [config.root] : [...new Set([...builder.watch, ...learnt])];
  // stateroom.toml is watched on its own only when it exists outside the watched paths:
  // chokidar announces 'ready' before it has settled a path that does not exist, so a
  // missing one made 'watching … for changes' come early (a write right after it was missed).
  const configFile = path.join(config.root, CONFIG_FILE);
  const configInside = paths.some((p) => configFile.startsWith(p + path.sep));
  const watcher = watch([...paths, ...(configInside || !existsSync(configFile) ? [] : [configFile])], {
    ignoreInitial: true,
    ignored: ignoredBy(config, stateDir),
  });
  watcher.on('all', (_event, file) => {
    if (path.basename(file) === CONFIG_FILE) {
      say(`${CONFIG_FILE} changed: restart stateroom dev to apply it`);
      return;
    }
    clearTimeout(timer);
    timer = setTimeout(() => {
      say(`change in ${shown(file)}; rebuilding …`);
      void rebuild();
    }, SETTLE_MS);
  });
  const watched = builder.watch === undefined ? shown(config.root) : paths.map(shown).join(', ');
  watcher.on('ready', () => say(`watching ${watched} for changes`));
  watcher.on('error', (err) => say(`watching ${config.root} failed: ${String(err)}`));
}

/**
 * The `authorize` of the module being served, swapped with it on every reload: the server's
 * hook stays the same function, and asks the module's (none admits everyone).
 */
class AuthorizeGate {
  constructor(public current: Authorize | undefined) {}
  readonly authorize: Authorize = (request, roomId, requester) => (this.current === undefined ? true : this.current(request, roomId, requester));
}

/** Until a build succeeds, rooms cannot start: clients are closed with 1011 and a log line says why. */
function noBuildYet(config: ProjectConfig): AdapterSource {
  return {
    name: config.entry,
    createAdapter: () => {
      throw new Error(`${shown(config.entry)} has not built yet; fix the error shown by stateroom dev`);
    },
  };
}

const shown = (file: string): string => path.relative(process.cwd(), file) || file;
const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
