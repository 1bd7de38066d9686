// `stateroom dev` and `build` as a user runs them: --port like serve, and a failed build that
// never destroys the last good dist/.
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { run, startServing } from './helpers/cli.js';
import { client } from './helpers/sockets.js';

async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'stateroom-dev-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

test('stateroom dev takes --port as serve does', async (t) => {
  const dir = await tempDir(t);
  await writeFile(path.join(dir, 'service.ts'), "export default () => ({ connect: (c: number, ctx: any) => ctx.sendMessage(c, 'hello') });\n");
  const server = await startServing(['dev', '--port', '0', '--host', '127.0.0.1', '--dir', dir, '--no-state-dir'], t.after.bind(t));
  const c = await client(server.ws('/ws/r'));
  t.after(() => c.ws.terminate());
  assert.equal(await c.nextText(), 'hello');
});

test('a failed AssemblyScript build keeps the last good dist/server.wasm byte for byte', async (t) => {
  const dir = await tempDir(t);
  await cp('examples/counter/assembly', path.join(dir, 'assembly'), { recursive: true });
  const first = await run(['build', dir], { ms: 60_000 });
  assert.equal(first.code, 0, first.stderr);
  const good = await readFile(path.join(dir, 'dist', 'server.wasm'));
  const entry = path.join(dir, 'assembly', 'service.ts');
  await writeFile(entry, `${await readFile(entry, 'utf8')}\nexport function broken(): i32 { return "not a number"; }\n`);
  const second = await run(['build', dir], { ms: 60_000 });
  assert.notEqual(second.code, 0, 'the broken build fails');
  assert.deepEqual(await readFile(path.join(dir, 'dist', 'server.wasm')), good, 'the last good build is still there');
});
