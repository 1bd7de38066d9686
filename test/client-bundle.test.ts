// The browser client stays a browser client: no Node or server imports, and small.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const CORE = 'src/client/';
/** The Node entry may import ws and node:*; tests are not shipped. */
const coreFiles = readdirSync(CORE).filter((f) => f.endsWith('.ts') && f !== 'node.ts' && !f.endsWith('.test.ts'));

test('the client core imports only its own files: no node:*, no packages, no server code', () => {
  assert.ok(coreFiles.includes('index.ts'));
  for (const file of coreFiles) {
    // Comments may show imports (the module's example does): they are not code.
    const source = readFileSync(CORE + file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
    const specifiers = [...source.matchAll(/\bimport\s*\(?\s*['"]([^'"]+)['"]|\bfrom\s*['"]([^'"]+)['"]/g)].map((m) => m[1] ?? m[2]);
    if (file === 'index.ts') assert.ok(specifiers.includes('./backoff.js'), 'the scan sees imports');
    for (const specifier of specifiers) assert.match(specifier!, /^\.\/[\w-]+\.js$/, `${file} imports ${specifier}`);
  }
});

test('the browser bundle (minified, gzipped) stays under 3 KB', async () => {
  const { outputFiles } = await build({ entryPoints: [`${CORE}index.ts`], bundle: true, minify: true, format: 'esm', platform: 'browser', write: false });
  const bytes = gzipSync(outputFiles[0]!.contents, { level: 9 }).length;
  assert.ok(bytes < 3 * 1024, `${bytes} bytes min+gz`);
});
