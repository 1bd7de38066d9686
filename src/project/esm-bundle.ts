/**
 * An ES module service (TypeScript, or JavaScript that `dev` reloads) compiled in the main
 * thread with esbuild's API and imported as plain JavaScript.
 *
 * Through tsx's `tsImport` the same load would run tsx's loader in Node 20's module hooks
 * thread: a V8 isolate of its own (~14 MiB of RSS for the server's lifetime, a ~1.2× raw `ws`
 * server becoming ~1.45×). Here the service's own files are bundled into one JavaScript file
 * beside the entry (its packages left as imports, so they resolve from the same folder as
 * before), imported, and removed; esbuild's service process is stopped after each build.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { access, readdir, realpath, rm } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Message, Plugin } from 'esbuild';
import { isRunning } from '../process-alive.js';
import { importEsbuild } from './typescript.js';

/** The bundle's name starts so: a dot-file, which `dev` never watches (dev-ignore.ts). */
export const BUNDLE_PREFIX = '.stateroom-';

/** A name for the banner's import that no service uses (esbuild renames a service's own `require`). */
const CREATE_REQUIRE = '__stateroomCreateRequire';

/**
 * A `.cjs` file of the service's own is imported from where it is, not bundled: Node runs it
 * as before, with its own `__dirname` and `require`.
 */
const COMMON_JS_FILES_AS_THEY_ARE: Plugin = {
  name: 'stateroom-common-js-files',
  setup(build) {
    build.onResolve({ filter: /^\.{0,2}\/.*\.cjs$/ }, ({ path: specifier, resolveDir, kind }) =>
      kind === 'entry-point' ? undefined : { path: pathToFileURL(path.resolve(resolveDir, specifier)).href, external: true },
    );
  },
};

const TYPESCRIPT_FILE = /\.[cm]?tsx?$/;

/**
 * A package is imported from where it is (as Node would) — unless it resolves to TypeScript
 * (a workspace package whose `exports` name `.ts` files, as tsx ran them): Node cannot import
 * that, so it is bundled too. Replaces esbuild's `packages: 'external'`, which cannot tell.
 */
const PACKAGES_AS_NODE_WOULD: Plugin = {
  name: 'stateroom-packages',
  setup(build) {
    build.onResolve({ filter: /^[^./]/ }, async ({ path: specifier, kind, resolveDir, importer, pluginData }) => {
      if (kind === 'entry-point' || (pluginData as { probing?: boolean } | undefined)?.probing === true) return undefined;
      if (specifier.startsWith('node:')) return { path: specifier, external: true };
      const found = await build.resolve(specifier, { kind, resolveDir, importer, pluginData: { probing: true } });
      return found.errors.length === 0 && !found.external && TYPESCRIPT_FILE.test(found.path) ? { path: found.path } : { path: specifier, external: true };
    });
  },
};

/** Builds run one at a time: each stops esbuild's process after it, which would strand a build in flight. */
let builds: Promise<unknown> = Promise.resolve();

/** Whether the bundle can be written beside `absolute` (not in a read-only folder). */
export async function canBundleBeside(absolute: string): Promise<boolean> {
  const real = await realpath(absolute).catch(() => absolute);
  return access(path.dirname(real), constants.W_OK).then(
    () => true,
    () => false,
  );
}

/**
 * Bundles and imports the ES module `absolute`: a new module graph on each call (a `dev`
 * reload), stack frames naming the source files and lines.
 * @throws what esbuild (a syntax error, an import it cannot find) or the module's evaluation threw.
 */
export async function importBundled(entry: string): Promise<unknown> {
  // Beside the file itself, not a symlink to it: its packages resolve from where it really is.
  const absolute = await realpath(entry);
  const outfile = bundlePath(absolute);
  const built = builds.then(() => build(absolute, outfile));
  builds = built.catch(() => undefined);
  await built;
  // Stack frames then name the .ts file and line, through the bundle's inline source map.
  process.setSourceMapsEnabled(true);
  try {
    return await import(pathToFileURL(outfile).href);
  } finally {
    await rm(outfile, { force: true });
  }
}

async function build(absolute: string, outfile: string): Promise<void> {
  await removeStaleBundles(absolute);
  const esbuild = await importEsbuild();
  try {
    await esbuild.build({
      entryPoints: [absolute],
      outfile,
      bundle: true,
      format: 'esm',
      platform: 'node',
      sourcemap: 'inline',
      sourcesContent: false,
      logLevel: 'silent',
      // Bundled CommonJS code (a package-less .js helper) calls require(): give it Node's.
      banner: { js: `import { createRequire as ${CREATE_REQUIRE} } from 'node:module'; const require = ${CREATE_REQUIRE}(import.meta.url);` },
      plugins: [COMMON_JS_FILES_AS_THEY_ARE, PACKAGES_AS_NODE_WOULD],
    });
  } catch (cause) {
    await rm(outfile, { force: true });
    throw buildError(cause);
  } finally {
    // Its process would otherwise stay for the server's lifetime; the next build starts another.
    await esbuild.stop();
  }
}

/** esbuild's "Build failed with N errors:\n…" as one line: the first error's file, line and text. */
function buildError(cause: unknown): unknown {
  const errors = (cause as { errors?: Message[] } | null)?.errors;
  const first = errors?.[0];
  if (first === undefined) return cause;
  const where = first.location === null ? '' : `${path.resolve(first.location.file)}:${first.location.line}:${first.location.column + 1}: `;
  const more = errors!.length > 1 ? ` (and ${errors!.length - 1} more error${errors!.length > 2 ? 's' : ''})` : '';
  return new Error(`${where}${first.text}${more}`, { cause });
}

/** Bundles of this entry left by a process that died before removing them (a kill during the load). */
async function removeStaleBundles(absolute: string): Promise<void> {
  const dir = path.dirname(absolute);
  const prefix = `${BUNDLE_PREFIX}${path.basename(absolute, path.extname(absolute))}-`;
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const name of names) {
    const pid = name.startsWith(prefix) && name.endsWith('.mjs') ? /^(\d+)-[0-9a-f]{8}\.mjs$/.exec(name.slice(prefix.length))?.[1] : undefined;
    if (pid !== undefined && Number(pid) !== process.pid && !isRunning(Number(pid))) await rm(path.join(dir, name), { force: true });
  }
}


/** A name of its own beside the entry: `--workers` processes bundle the same entry at once. */
function bundlePath(absolute: string): string {
  const name = path.basename(absolute, path.extname(absolute));
  return path.join(path.dirname(absolute), `${BUNDLE_PREFIX}${name}-${process.pid}-${randomBytes(4).toString('hex')}.mjs`);
}
