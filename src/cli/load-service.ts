/**
 * Loads a service module given on the command line: `.ts`/`.mts`/`.cts` through tsx (no
 * build step for the user), `.js`/`.mjs`/`.cjs` with plain `import()`. Its default export
 * must be a service class or a factory.
 * @module
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { tsImport } from 'tsx/esm/api';
import { ErrorCode, StateroomError, describeThrown } from '../errors.js';
import type { ServiceSource } from '../service/types.js';

const TYPESCRIPT = new Set(['.ts', '.mts', '.cts']);
const JAVASCRIPT = new Set(['.js', '.mjs', '.cjs']);

/**
 * Imports `file` and returns its default export.
 * @throws {@link StateroomError} `SR_ERR_SERVICE_LOAD`, naming the file and what to do.
 */
export async function loadService(file: string): Promise<ServiceSource> {
  const absolute = path.resolve(file);
  const extension = path.extname(absolute).toLowerCase();
  if (!TYPESCRIPT.has(extension) && !JAVASCRIPT.has(extension)) {
    throw loadError(file, `${file}: not a service module; give a .ts, .mts, .js or .mjs file whose default export is a service`);
  }
  await mustBeFile(file, absolute);
  const url = pathToFileURL(absolute).href;
  let module: { default?: unknown };
  try {
    module = TYPESCRIPT.has(extension) ? await tsImport(url, import.meta.url) : await import(url);
  } catch (cause) {
    throw loadError(file, `${file} could not be loaded: ${describeThrown(cause)}`, cause);
  }
  const exported = defaultExport(module);
  if (typeof exported !== 'function') {
    const what = exported === undefined ? 'has no default export' : `has a default export of type ${typeof exported}`;
    throw loadError(file, `${file} ${what}: write \`export default class MyService { … }\` or \`export default (roomId, ctx) => ({ … })\``);
  }
  return exported as ServiceSource;
}

/**
 * A CommonJS module imported as ESM wraps `module.exports` in `default`; one compiled from
 * ESM syntax (a `.ts` file outside a `"type": "module"` package) marks that object
 * `__esModule` and keeps the real default export one level down.
 */
function defaultExport(module: { default?: unknown }): unknown {
  const first = module.default;
  if (typeof first === 'object' && first !== null && ('default' in first || '__esModule' in first)) {
    return (first as { default?: unknown }).default;
  }
  return first;
}

async function mustBeFile(file: string, absolute: string): Promise<void> {
  try {
    if ((await stat(absolute)).isFile()) return;
  } catch (cause) {
    throw loadError(file, `${file}: no such file (looked for ${absolute})`, cause);
  }
  throw loadError(file, `${file} is not a file`);
}

function loadError(file: string, message: string, cause?: unknown): StateroomError {
  return new StateroomError(ErrorCode.SERVICE_LOAD, message, { file }, cause === undefined ? undefined : { cause });
}
