// The starter (packages/create-stateroom, issue 14 item 1): `node index.mjs my-app` writes a
// project; installed with this clone as its `stateroom` (npm install <clone>, as
// test/cli-installed.test.ts does), `npx stateroom dev` serves it, and two Chromium pages in one room see
// each other arrive, rename and chat. The AssemblyScript template is only checked for its files
// (building it in a fresh install would fetch and run asc: slow).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { promisify } from 'node:util';
import type { Page } from 'playwright-core';
import { launchBrowser } from './helpers/browser.js';
import { ROOT, startServing } from './helpers/cli.js';
import { CHROMIUM, need } from './helpers/programs.js';

const execFileP = promisify(execFile);
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const npx = process.platform === 'win32' ? 'npx.cmd' : 'npx';
const CREATE = path.join(ROOT, 'packages/create-stateroom/index.mjs');
const chromium = await need(CHROMIUM);
const VERSION = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'stateroom-create-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Runs the starter in `cwd`; never rejects (a refusal is an exit code to check). */
async function create(cwd: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileP(process.execPath, [CREATE, ...args], { cwd, timeout: 10_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** Every file under `dir`, relative, sorted (node_modules left out). */
async function filesIn(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
    .filter((f) => !f.startsWith('node_modules'))
    .sort();
}

test('the create-stateroom package: its own package.json with a bin, no dependencies, the same version as stateroom', async () => {
  const manifest = JSON.parse(await readFile(path.join(ROOT, 'packages/create-stateroom/package.json'), 'utf8')) as Record<string, unknown>;
  assert.equal(manifest.name, 'create-stateroom');
  assert.equal(manifest.version, VERSION);
  assert.deepEqual(manifest.bin, { 'create-stateroom': './index.mjs' });
  assert.equal(manifest.dependencies, undefined);
  assert.match(readFileSync(CREATE, 'utf8'), /^#!\/usr\/bin\/env node\n/);
});

test('native template: npm install <clone>, npx stateroom dev, and two pages in one room see each other and chat', { ...chromium.options, timeout: 60_000 }, async (t) => {
  const dir = await tempDir(t);
  const made = await create(dir, 'my-app');
  assert.equal(made.code, 0, made.stderr);
  assert.match(made.stdout, /cd my-app\n {2}npm install\n {2}npm run dev/);
  const app = path.join(dir, 'my-app');
  assert.deepEqual(await filesIn(app), [
    '.gitignore',
    'README.md',
    'package.json',
    'service.ts',
    'stateroom.toml',
    'static/app.js',
    'static/index.html',
    'static/style.css',
    'tsconfig.json',
  ]);
  const manifest = JSON.parse(await readFile(path.join(app, 'package.json'), 'utf8')) as {
    name: string;
    type: string;
    scripts: Record<string, string>;
    dependencies: Record<string, string>;
  };
  assert.equal(manifest.name, 'my-app');
  assert.equal(manifest.type, 'module');
  assert.deepEqual(manifest.dependencies, { stateroom: `^${VERSION}` });
  assert.equal(manifest.scripts.dev, 'stateroom dev');
  assert.match(manifest.scripts.start ?? '', /^stateroom serve service\.ts /);
  const tsconfig = JSON.parse(await readFile(path.join(app, 'tsconfig.json'), 'utf8')) as { compilerOptions: { strict?: boolean } };
  assert.equal(tsconfig.compilerOptions.strict, true);
  assert.match(await readFile(path.join(app, 'static/app.js'), 'utf8'), /import \{ connect \} from '\/__stateroom\/client\.js'/);
  assert.deepEqual((await readFile(path.join(app, '.gitignore'), 'utf8')).split('\n').filter(Boolean), ['node_modules/', 'dist/', '.stateroom/', '.stateroom-*.mjs']);

  // This clone as its stateroom (a link, as npm installs a folder; dist/ is built: npm test
  // builds before the tests, and --ignore-scripts keeps npm from rebuilding it under others).
  await execFileP(npm, ['install', ROOT, '--no-audit', '--no-fund', '--offline', '--ignore-scripts', '--loglevel=error'], { cwd: app, timeout: 30_000 });
  // The service type-checks under the project's strict tsconfig, against the package's types.
  await execFileP(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', app], { timeout: 30_000 });

  const server = await startServing(['dev', '--port', '0', '--host', '127.0.0.1', '--no-state-dir'], t.after.bind(t), {
    command: [npx, '--no-install', 'stateroom'],
    cwd: app,
  });
  const browser = await launchBrowser(chromium.get());
  t.after(() => browser.close());
  const open = async (): Promise<Page> => {
    const page = await browser.context.newPage();
    await page.goto(`http://127.0.0.1:${server.port}/?room=starter`);
    await page.locator('#status', { hasText: 'connected' }).waitFor();
    return page;
  };
  const rename = async (page: Page, name: string): Promise<void> => {
    await page.fill('#name', name);
    await page.click('#name-form button');
  };

  const alice = await open();
  await rename(alice, 'alice');
  await alice.locator('#people li.me', { hasText: 'alice' }).waitFor();
  const bob = await open();
  await rename(bob, 'bob');
  // Each sees both: presence reaches the page that was there first, and the newcomer.
  for (const page of [alice, bob]) {
    await page.locator('#people li', { hasText: 'alice' }).waitFor();
    await page.locator('#people li', { hasText: 'bob' }).waitFor();
  }
  await bob.fill('#text', 'hello from bob');
  await bob.click('#chat-form button');
  await alice.locator('#log li', { hasText: 'bob: hello from bob' }).waitFor();
  // A page that joins later gets the chat so far in its welcome.
  const carol = await open();
  await carol.locator('#log li', { hasText: 'bob: hello from bob' }).waitFor();
  await alice.locator('#people li', { hasText: 'guest' }).waitFor();
  // One leaves (its page calls client.close() on pagehide): the others see it go at once.
  await bob.goto('about:blank');
  await alice.locator('#people li', { hasText: 'bob' }).waitFor({ state: 'detached' });
  assert.deepEqual(await alice.locator('#people li').allTextContents(), ['alice', 'guest 3']);
});

test('assemblyscript template (--template as): its files, scripts and devDependency; a non-empty folder is refused', async (t) => {
  const dir = await tempDir(t);
  const made = await create(dir, 'wasm-app', '--template', 'as');
  assert.equal(made.code, 0, made.stderr);
  const app = path.join(dir, 'wasm-app');
  assert.deepEqual(await filesIn(app), [
    '.gitignore',
    'README.md',
    'assembly/index.ts',
    'assembly/tsconfig.json',
    'package.json',
    'stateroom.toml',
    'static/app.js',
    'static/index.html',
    'static/style.css',
  ]);
  const manifest = JSON.parse(await readFile(path.join(app, 'package.json'), 'utf8')) as {
    type: string;
    scripts: Record<string, string>;
    dependencies: Record<string, string>;
    devDependencies: Record<string, string>;
  };
  assert.equal(manifest.type, 'module');
  assert.deepEqual(manifest.scripts, { dev: 'stateroom dev', build: 'stateroom build', start: 'stateroom serve dist/ --state-dir .stateroom' });
  assert.deepEqual(manifest.dependencies, { stateroom: `^${VERSION}` });
  assert.ok(manifest.devDependencies.assemblyscript !== undefined);
  assert.match(await readFile(path.join(app, 'assembly/index.ts'), 'utf8'), /from "stateroom\/assembly"/);
  assert.match(await readFile(path.join(app, 'stateroom.toml'), 'utf8'), /entry = "assembly\/index\.ts"/);

  // The folder is no longer empty: one line, exit 1, nothing written.
  const before = await filesIn(app);
  const again = await create(dir, 'wasm-app');
  assert.equal(again.code, 1);
  assert.equal(again.stderr, 'create-stateroom: wasm-app is not empty: choose a new folder, or empty this one\n');
  assert.deepEqual(await filesIn(app), before);
  // An empty folder that exists is fine; an unknown template is refused.
  const empty = path.join(dir, 'empty');
  await mkdir(empty);
  assert.equal((await create(dir, 'empty', '-t', 'assemblyscript')).code, 0);
  const unknown = await create(dir, 'other', '--template', 'rust');
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /^create-stateroom: unknown template "rust"/);
  await writeFile(path.join(dir, 'a-file'), '');
  assert.equal((await create(dir, 'a-file')).code, 1);
});
