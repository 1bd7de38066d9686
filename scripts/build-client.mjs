// Builds dist/client/browser.js: `stateroom/client` as one ES module with no imports, for a
// page's <script type="module"> (the server serves it at /__stateroom/client.js), for CDNs,
// and for bundlers (`stateroom/client/browser`). Run by `npm run build`, after tsc.
//
// Not minified, and shipped without a source map: the file reads as the source does (comments
// aside), so a browser's debugger needs nothing else, and no map can point at src/, which the
// package does not ship.
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const entry = fileURLToPath(new URL('../src/client/index.ts', import.meta.url));
const outfile = fileURLToPath(new URL('../dist/client/browser.js', import.meta.url));

const result = await build({
  entryPoints: [entry],
  outfile,
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  minify: false,
  sourcemap: false,
  legalComments: 'none',
  charset: 'utf8',
  logLevel: 'warning',
  banner: { js: `// stateroom/client ${version}, browser build (ES module): import { connect } from '/__stateroom/client.js'` },
  metafile: true,
});

// The browser build must stand alone: no import of anything (a package, node:*) left in it.
const [output] = Object.values(result.metafile.outputs);
if (output === undefined || output.imports.length > 0) {
  console.error(`build-client: ${outfile} imports ${JSON.stringify(output?.imports)}: the browser build must stand alone`);
  process.exit(1);
}
