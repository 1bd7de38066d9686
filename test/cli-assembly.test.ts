// AssemblyScript services through the CLI: `stateroom build` each example into a copy of
// its folder, serve the result, and drive it over real sockets; then the dev loop.
import assert from 'node:assert/strict';
import { cp, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { ROOT, run, startServing } from './helpers/cli.js';
import { client, closed } from './helpers/sockets.js';

const BUILD_MS = 60_000;

/** A copy of an example's AssemblyScript service in a temp folder, as a user's project would be. */
async function copyExample(t: TestContext, name: string): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), `stateroom-as-${name}-`));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await cp(path.join(ROOT, 'examples', name, 'assembly'), path.join(dir, 'assembly'), { recursive: true });
  return dir;
}

async function buildAndServe(t: TestContext, name: string) {
  const dir = await copyExample(t, name);
  const built = await run(['build', dir], { ms: BUILD_MS });
  assert.equal(built.code, 0, built.stderr);
  assert.match(built.stdout, /built .*dist\/server\.wasm \(\d+\.\d KiB\)/);
  return startServing(['serve', path.join(dir, 'dist'), '--port', '0', '--host', '127.0.0.1'], t.after.bind(t));
}

test('the AssemblyScript counter, built and served, broadcasts "new value: <n>"', async (t) => {
  const server = await buildAndServe(t, 'counter');
  const [a, b] = await Promise.all([client(server.ws(), 'a'), client(server.ws(), 'b')]);
  t.after(() => [a, b].forEach((c) => c.ws.terminate()));
  a.ws.send('increment');
  assert.deepEqual(await Promise.all([a.nextText(), b.nextText()]), ['new value: 1', 'new value: 1']);
  b.ws.send('ignored');
  b.ws.send('decrement');
  assert.equal(await a.nextText(), 'new value: 0');
});

test('the AssemblyScript echo speaks exactly like the native one', async (t) => {
  const server = await buildAndServe(t, 'echo');
  const a = await client(server.ws('/ws/e'), 'a');
  assert.equal(await a.nextText(), 'User ClientId(1) connected.');
  const b = await client(server.ws('/ws/e'), 'b');
  t.after(() => [a, b].forEach((c) => c.ws.terminate()));
  assert.equal(await b.nextText(), 'User ClientId(2) connected.');
  b.ws.send('héllo');
  assert.equal(await a.nextText(), "User ClientId(2) sent 'héllo'");
  b.ws.close();
  assert.equal(await a.nextText(), 'User ClientId(2) left.');
});

test('the AssemblyScript clock broadcasts "Timer @ 0" after 4 seconds', async (t) => {
  const server = await buildAndServe(t, 'clock');
  const a = await client(server.ws('/ws/c'));
  t.after(() => a.ws.terminate());
  assert.equal(await a.nextText(6_000), 'Timer @ 0');
});

test('stateroom build copies static_files to dist/static and reports a compile error with its place', async (t) => {
  const dir = await copyExample(t, 'counter');
  await mkdir(path.join(dir, 'public', 'css'), { recursive: true });
  await writeFile(path.join(dir, 'public', 'index.html'), '<p>hi</p>');
  await writeFile(path.join(dir, 'public', 'css', 'site.css'), 'p {}');
  await writeFile(path.join(dir, 'stateroom.toml'), 'static_files = "public"\n\n[service]\nentry = "assembly/service.ts"\n');
  const built = await run(['build', dir], { ms: BUILD_MS });
  assert.equal(built.code, 0, built.stderr);
  assert.match(built.stdout, /\(2 static files\)/);
  assert.deepEqual((await readdir(path.join(dir, 'dist', 'static'), { recursive: true })).sort(), ['css', 'css/site.css', 'index.html']);

  const entry = path.join(dir, 'assembly', 'service.ts');
  await writeFile(entry, (await readFile(entry, 'utf8')).replace('this.value += 1;', 'this.value += "one";'));
  const broken = await run(['build', dir], { ms: BUILD_MS });
  assert.equal(broken.code, 1);
  assert.match(broken.stderr, /build failed/);
  assert.match(broken.stderr, /service\.ts\(\d+,\d+\)/, 'the diagnostic names the file, line and column');
});

test('stateroom dev builds an AssemblyScript service, serves its static files, and reloads it on change', async (t) => {
  const dir = await copyExample(t, 'counter');
  await mkdir(path.join(dir, 'static'));
  await writeFile(path.join(dir, 'static', 'index.html'), '<p>dev</p>');
  await writeFile(path.join(dir, 'stateroom.toml'), 'static_files = "static"\n');
  const server = await startServing(['dev', '0', '--host', '127.0.0.1', '--dir', dir], t.after.bind(t));
  const page = await fetch(`http://127.0.0.1:${server.port}/`, { signal: AbortSignal.timeout(3_000) });
  assert.equal(await page.text(), '<p>dev</p>');
  const a = await client(server.ws());
  a.ws.send('increment');
  assert.equal(await a.nextText(), 'new value: 1');
  await server.printed(/watching .* for changes/, 'the watcher ready');

  const entry = path.join(dir, 'assembly', 'service.ts');
  const reloaded = closed(a.ws, BUILD_MS);
  await writeFile(entry, (await readFile(entry, 'utf8')).replace('"new value: "', '"now: "'));
  assert.equal((await reloaded).code, 1012);
  const b = await client(server.ws());
  t.after(() => b.ws.terminate());
  b.ws.send('increment');
  assert.equal(await b.nextText(), 'now: 1', 'the next connection runs the new build in a fresh room');
});
