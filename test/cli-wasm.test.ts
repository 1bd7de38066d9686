// The CLI with WebAssembly services and the dev loop: the built bin as a child process.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import wabt from 'wabt';
import { run, startServing } from './helpers/cli.js';
import { client, closed } from './helpers/sockets.js';

async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'stateroom-wasm-cli-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const serveArgs = (file: string, ...more: string[]) => ['serve', file, '--port', '0', '--host', '127.0.0.1', ...more];

test('stateroom serve runs a .wat guest', async (t) => {
  const server = await startServing(serveArgs('test/fixtures/wasm/guest.wat'), t.after.bind(t));
  const c = await client(server.ws('/ws/x'));
  t.after(() => c.ws.terminate());
  assert.equal((await c.next()).data.toString(), 'hi');
  c.ws.send('via the CLI'); // not t, g, x, o or 0: those make the guest misbehave
  assert.equal(await c.nextText(), 'via the CLI');
});

test('a module that is not a Stateroom module is refused at start with one line', async () => {
  const bad = await run(serveArgs('test/fixtures/wasm/old-interface.wat'));
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /^stateroom: test\/fixtures\/wasm\/old-interface\.wat was built for an older Stateroom interface .*\[SR_ERR_WASM_NOT_STATEROOM\]\n$/);
});

test('a directory with server.wasm and static/ (the dist layout) serves both', async (t) => {
  const dir = await tempDir(t);
  const tools = await wabt();
  const parsed = tools.parseWat('guest.wat', await readFile('test/fixtures/wasm/guest.wat', 'utf8'));
  await writeFile(path.join(dir, 'server.wasm'), parsed.toBinary({}).buffer);
  parsed.destroy();
  await mkdir(path.join(dir, 'static'));
  await writeFile(path.join(dir, 'static', 'index.html'), '<p>built</p>');
  const server = await startServing(serveArgs(dir), t.after.bind(t));
  const page = await fetch(`http://127.0.0.1:${server.port}/`, { signal: AbortSignal.timeout(3_000) });
  assert.equal(await page.text(), '<p>built</p>');
  const c = await client(server.ws());
  t.after(() => c.ws.terminate());
  assert.equal((await c.next()).data.toString(), 'hi');
});

test('stateroom dev reloads a native service on change, and keeps the last good build after an error', async (t) => {
  const dir = await tempDir(t);
  const version = (v: string): string => `export default () => ({ connect: (c: number, ctx: any) => ctx.sendMessage(c, '${v}') });\n`;
  await writeFile(path.join(dir, 'service.ts'), version('v1'));
  const server = await startServing(['dev', '0', '--host', '127.0.0.1', '--dir', dir], t.after.bind(t));
  const first = await client(server.ws('/ws/r'));
  assert.equal(await first.nextText(), 'v1');
  await server.printed(/watching .* for changes/, 'the watcher ready');
  const reloaded = closed(first.ws, 10_000);
  await writeFile(path.join(dir, 'service.ts'), version('v2'));
  assert.equal((await reloaded).code, 1012, 'clients of the old build are told to reconnect');
  const second = await client(server.ws('/ws/r'));
  t.after(() => second.ws.terminate());
  assert.equal(await second.nextText(), 'v2', 'the next connection sees the new behaviour');

  await writeFile(path.join(dir, 'service.ts'), 'export default class {\n'); // a syntax error
  await server.printed(/build failed; still serving the last good build/, 'the failed build reported');
  const third = await client(server.ws('/ws/other'));
  t.after(() => third.ws.terminate());
  assert.equal(await third.nextText(), 'v2', 'the last good build still serves');
});
