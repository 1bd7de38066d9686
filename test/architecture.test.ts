// The folders of src/ import one another only as docs/architecture.md draws it: data flows
// one way, and no piece reaches past its neighbour.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import test from 'node:test';
import { ROOT } from './helpers/cli.js';

const SRC = path.join(ROOT, 'src');
const TOP = 'top';

/** Which area a file of src/ belongs to (the rows of docs/architecture.md's table). */
function areaOf(relative: string): string {
  const parts = relative.split('/');
  if (parts.length === 1) {
    const name = parts[0]!.replace(/\.ts$/, '');
    return name === 'serve' || name === 'index' ? name : TOP;
  }
  if (parts[0] === 'wasm' && parts.length > 2) return `wasm/${parts[1]}`;
  return parts[0]!;
}

/** What each area may import besides itself; `*` is anything. */
const ALLOWED: Record<string, readonly string[]> = {
  [TOP]: [],
  service: [TOP],
  room: ['service', TOP],
  'wasm/abi': ['service', TOP],
  'wasm/pool': ['wasm/abi', 'service', TOP],
  wasm: ['wasm/abi', 'wasm/pool', 'service', TOP],
  durability: ['room', 'service', TOP],
  nodes: ['durability', 'room', 'service', 'transport', TOP],
  transport: ['room', 'service', TOP],
  console: ['transport', TOP],
  serve: ['console', 'durability', 'nodes', 'room', 'service', 'transport', TOP],
  cluster: ['serve', 'transport', TOP],
  project: ['wasm', 'wasm/abi', 'service', TOP],
  cli: ['*'],
  index: ['*'],
  client: [],
  json: ['client', 'service'],
  react: ['client', 'json'],
};

/** The transport sees rooms only through the placement seam and the seat types. */
const TRANSPORT_MAY_USE_OF_ROOM = new Set(['room/placement.ts', 'room/seat.ts']);

function sourceFiles(): string[] {
  return readdirSync(SRC, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') && !e.name.endsWith('.d.ts'))
    .map((e) => path.relative(SRC, path.join(e.parentPath, e.name)));
}

function importsOf(relative: string): string[] {
  const text = readFileSync(path.join(SRC, relative), 'utf8');
  return [...text.matchAll(/^\s*(?:import|export)\s[^;'"]*?from\s*'(\.[^']+)'/gm)].map((m) =>
    path.normalize(path.join(path.dirname(relative), m[1]!)).replace(/\.js$/, '.ts'),
  );
}

test('every import between the folders of src/ follows docs/architecture.md', () => {
  const files = sourceFiles();
  assert.ok(files.length > 50, `read src/ (${files.length} files)`);
  const broken: string[] = [];
  for (const file of files) {
    const from = areaOf(file);
    const allowed = ALLOWED[from];
    assert.ok(allowed !== undefined, `${file}: area "${from}" has no row in ALLOWED (and in docs/architecture.md)`);
    for (const target of importsOf(file)) {
      const to = areaOf(target);
      if (to === from || allowed.includes('*')) continue;
      if (!allowed.includes(to)) broken.push(`${file} (${from}) imports ${target} (${to})`);
      else if (from === 'transport' && to === 'room' && !TRANSPORT_MAY_USE_OF_ROOM.has(target)) broken.push(`${file} reaches into ${target}: the transport sees rooms through the placement`);
    }
  }
  assert.deepEqual(broken, []);
});
