// Every package the code imports is declared in package.json: the server's own code only
// through `dependencies` (what `npm install stateroom` brings), tests, benchmarks and scripts
// through `dependencies` or `devDependencies`. A package that merely arrives with another
// (esbuild with tsx, say) can vanish with that package's next release.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import test from 'node:test';
import { ROOT } from './helpers/cli.js';

const manifest = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  name: string;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
};

const SOURCE = /\.(ts|mts|mjs|js)$/;
// Static imports and re-exports (which may span lines), side-effect imports, and
// import()/require() of a string literal.
const SPECIFIER = /(?:^\s*(?:import|export)\s[^;'"]*?from\s*|^\s*import\s*|\bimport\s*\(\s*|\brequire\s*\(\s*)['"]([^'"]+)['"]/gm;

function filesUnder(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && SOURCE.test(e.name) && !e.parentPath.includes('node_modules') && !e.parentPath.includes(`${path.sep}dist`))
    .map((e) => path.join(e.parentPath, e.name));
}

/** The package a bare specifier names (`@scope/name/sub` → `@scope/name`), or undefined for a relative or built-in one. */
function packageOf(specifier: string): string | undefined {
  if (specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('node:') || builtinModules.includes(specifier)) return undefined;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

function undeclared(files: string[], declared: Set<string>): string[] {
  const missing: string[] = [];
  for (const file of files) {
    for (const [, specifier] of readFileSync(file, 'utf8').matchAll(SPECIFIER)) {
      const name = packageOf(specifier!);
      if (name !== undefined && name !== manifest.name && !declared.has(name)) missing.push(`${path.relative(ROOT, file)}: ${name}`);
    }
  }
  return missing;
}

const runtime = new Set([...Object.keys(manifest.dependencies ?? {}), ...Object.keys(manifest.optionalDependencies ?? {}), ...Object.keys(manifest.peerDependencies ?? {})]);
const everything = new Set([...runtime, ...Object.keys(manifest.devDependencies ?? {})]);

test("the server's code imports only packages in dependencies", () => {
  const files = filesUnder('src').filter((f) => !/\.test\.ts$/.test(f));
  assert.ok(files.length > 50, `read src/ (${files.length} files)`);
  assert.deepEqual(undeclared(files, runtime), []);
});

test('tests, benchmarks, scripts and examples import only declared packages', () => {
  const files = [...filesUnder('src').filter((f) => /\.test\.ts$/.test(f)), ...filesUnder('test'), ...filesUnder('bench'), ...filesUnder('scripts'), ...filesUnder('examples')];
  assert.deepEqual(undeclared(files, everything), []);
});
