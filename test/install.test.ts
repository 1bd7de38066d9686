// A lean install: the package as npm publishes it (npm pack), installed into an empty folder,
// brings no WebAssembly toolchain (assemblyscript and wabt are optional peers) nor React (the
// optional peer of stateroom/react), stays under 25 MB of node_modules, serves a native .ts
// service, and says in one line what to install for a .wat.
//
// Offline: npm 11 resolves a new dependency from full registry documents, which `npm ci` does
// not cache, so the folder gets a lockfile instead — the entries of this repository's lockfile
// that a production install has (those not marked dev) — and `npm ci --offline` installs
// exactly that tree from the tarballs in the npm cache. The same tree as `npm install
// stateroom` with this lockfile's versions (which, checked by hand with npm 11.19, installs no
// optional peer: see docs/wasm.md).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { ROOT, finish, startServing } from './helpers/cli.js';
import { client } from './helpers/sockets.js';

const execFileP = promisify(execFile);
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const npx = process.platform === 'win32' ? 'npx.cmd' : 'npx';

/** The target of issue 14: `npm install stateroom` into an empty project. */
const LIMIT_KIB = 25 * 1024;

interface LockEntry {
  dev?: boolean;
  [key: string]: unknown;
}

test('npm pack, installed into an empty folder: no WASM toolchain, ≤ 25 MB, serves a .ts service, and a .wat says what to install', { timeout: 60_000 }, async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'stateroom-install-'));
  t.after(() => rm(dir, { recursive: true, force: true }));

  // The tarball npm would publish (dist/ is built: npm test builds before it runs the tests).
  const { stdout: packed } = await execFileP(npm, ['pack', ROOT, '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: dir, timeout: 30_000 });
  const [tarball] = JSON.parse(packed) as [{ filename: string; integrity: string }];
  assert.ok(tarball !== undefined, packed);
  const manifest = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as Record<string, unknown> & { version: string };
  assert.deepEqual(Object.keys(manifest.dependencies as object).filter((name) => name === 'assemblyscript' || name === 'wabt'), [], 'the WASM toolchain is not a dependency');

  const spec = `file:${tarball.filename}`;
  const lock = JSON.parse(readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
  const production = Object.entries(lock.packages).filter(([where, entry]) => where !== '' && entry.dev !== true);
  const pick = (...keys: string[]) => Object.fromEntries(keys.filter((k) => manifest[k] !== undefined).map((k) => [k, manifest[k]]));
  await writeFile(path.join(dir, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module', dependencies: { stateroom: spec } }, null, 2));
  await writeFile(
    path.join(dir, 'package-lock.json'),
    JSON.stringify({
      name: 'app',
      lockfileVersion: 3,
      requires: true,
      packages: {
        '': { name: 'app', dependencies: { stateroom: spec } },
        'node_modules/stateroom': {
          version: manifest.version,
          resolved: spec,
          integrity: tarball.integrity,
          ...pick('license', 'dependencies', 'peerDependencies', 'peerDependenciesMeta', 'bin', 'engines'),
        },
        ...Object.fromEntries(production),
      },
    }, null, 2),
  );
  const installed = await execFileP(npm, ['ci', '--offline', '--no-audit', '--no-fund'], { cwd: dir, timeout: 45_000 });
  // npm 11 runs no dependency's install script unless the project allows it, and lists the
  // skipped ones. None is needed: bufferutil loads its prebuilt binary, esbuild (tsx's) finds its
  // platform package, and stateroom's `prepare` builds only a git checkout. The service below runs without them.
  const skipped = [...installed.stderr.matchAll(/^npm warn install-scripts\s+(@?[^@\s]+)@/gm)].map((m) => m[1]!);
  assert.deepEqual(skipped.filter((name) => !['bufferutil', 'esbuild', 'stateroom'].includes(name)), [], installed.stderr);

  const modules = path.join(dir, 'node_modules');
  const names = await readdir(modules);
  for (const toolchain of ['assemblyscript', 'wabt', 'binaryen']) assert.ok(!names.includes(toolchain), `${toolchain} is not installed`);
  // stateroom/react needs React, an optional peer: an application that uses the hooks has it already.
  for (const peer of ['react', 'react-dom']) assert.ok(!names.includes(peer), `${peer} is not installed`);
  const { stdout: du } = await execFileP('du', ['-sk', modules], { timeout: 10_000 });
  const kib = Number(du.split('\t')[0]);
  t.diagnostic(`node_modules: ${(kib / 1024).toFixed(1)} MiB (du -sk: ${kib} KiB), ${names.length} top-level entries`);
  assert.ok(kib <= LIMIT_KIB, `node_modules is ${kib} KiB, over ${LIMIT_KIB}`);

  // A native TypeScript service, served by the installed bin.
  await writeFile(
    path.join(dir, 'service.ts'),
    "import type { ClientId, Context, Payload, Service } from 'stateroom';\n" +
      'export default class Shout implements Service {\n' +
      '  message(client: ClientId, payload: Payload, ctx: Context): void { ctx.sendMessage(client, String(payload).toUpperCase()); }\n' +
      '}\n',
  );
  const server = await startServing(['serve', 'service.ts', '--port', '0', '--host', '127.0.0.1'], t.after.bind(t), { command: [npx, '--no-install', 'stateroom'], cwd: dir });
  const c = await client(server.ws('/ws/lobby'));
  t.after(() => c.ws.terminate());
  c.ws.send('hello');
  assert.equal(await c.nextText(), 'HELLO');

  // A .wat needs wabt, which is not there: one line that says what to install.
  await writeFile(path.join(dir, 'service.wat'), '(module)\n');
  const wat = await finish(spawn(npx, ['--no-install', 'stateroom', 'serve', 'service.wat', '--port', '0', '--host', '127.0.0.1'], { cwd: dir }), 'serving a .wat without wabt');
  assert.equal(wat.code, 1, wat.stderr);
  assert.match(wat.stderr, /^stateroom: service\.wat: assembling \.wat needs wabt, which is not installed: npm install --save-dev wabt \[SR_ERR_SERVICE_LOAD\]\n$/);

  // So does building AssemblyScript without its compiler.
  const project = path.join(dir, 'as-project');
  await mkdir(path.join(project, 'assembly'), { recursive: true });
  await writeFile(path.join(project, 'assembly', 'index.ts'), 'export function f(): void {}\n');
  const build = await finish(spawn(npx, ['--no-install', 'stateroom', 'build', project], { cwd: dir }), 'building AssemblyScript without assemblyscript');
  assert.notEqual(build.code, 0, build.stderr);
  assert.match(build.stdout + build.stderr, /needs the assemblyscript package, which is not installed: npm install --save-dev assemblyscript/);
});
