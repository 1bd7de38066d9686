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
import { access, rm } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Plugin } from 'esbuild';
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

/** Whether the bundle can be written beside `absolute` (not in a read-only folder). */
export function canBundleBeside(absolute: string): Promise<boolean> {
  return access(path.dirname(absolute), constants.W_OK).then(
    () => true,
    () => false,
  );
}

/**
 * Bundles and imports the ES module `absolute`: a new module graph on each call (a `dev`
 * reload), stack frames naming the source files and lines.
 * @throws what esbuild (a syntax error, an import it cannot find) or the module's evaluation threw.
 */
export async function importBundled(absolute: string): Promise<unknown> {
  const outfile = bundlePath(absolute);
  const esbuild = await importEsbuild();
  try {
    await esbuild.build({
      entryPoints: [absolute],
      outfile,
      bundle: true,
      packages: 'external',
      format: 'esm',
      platform: 'node',
      sourcemap: 'inline',
      sourcesContent: false,
      logLevel: 'silent',
      // Bundled CommonJS code (a package-less .js helper) calls require(): give it Node's.
      banner: { js: `import { createRequire as ${CREATE_REQUIRE} } from 'node:module'; const require = ${CREATE_REQUIRE}(import.meta.url);` },
      plugins: [COMMON_JS_FILES_AS_THEY_ARE],
    });
  } catch (cause) {
    await rm(outfile, { force: true });
    throw cause;
  } finally {
    // Its process would otherwise stay for the server's lifetime; the next build starts another.
    await esbuild.stop();
  }
  // Stack frames then name the .ts file and line, through the bundle's inline source map.
  process.setSourceMapsEnabled(true);
  try {
    return await import(pathToFileURL(outfile).href);
  } finally {
    await rm(outfile, { force: true });
  }
}

/** A name of its own beside the entry: `--workers` processes bundle the same entry at once. */
function bundlePath(absolute: string): string {
  const name = path.basename(absolute, path.extname(absolute));
  return path.join(path.dirname(absolute), `${BUNDLE_PREFIX}${name}-${process.pid}-${randomBytes(4).toString('hex')}.mjs`);
}
