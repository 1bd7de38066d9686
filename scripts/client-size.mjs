// Prints the size of the browser client as an application ships it: dist/client/index.js
// bundled and minified by esbuild, then gzipped. Run `npm run build` first.
import { build } from 'esbuild';
import { existsSync } from 'node:fs';
import { gzipSync } from 'node:zlib';

const entry = 'dist/client/index.js';
if (!existsSync(entry)) {
  console.error(`${entry} is missing: run npm run build first`);
  process.exit(1);
}
const result = await build({ entryPoints: [entry], bundle: true, minify: true, format: 'esm', platform: 'browser', write: false });
const minified = result.outputFiles[0].contents;
const gzipped = gzipSync(minified, { level: 9 });
console.log(`stateroom/client: ${minified.length} bytes minified, ${gzipped.length} bytes min+gz`);
