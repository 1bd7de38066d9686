// The package installed into another folder (npm install <clone>), as a user of it would:
// `npx stateroom` runs there and serves a service that imports the package's types. A file of
// its own: the install alone takes a good part of a test file's 60 s on a busy machine.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { promisify } from 'node:util';
import { ROOT, startServing } from './helpers/cli.js';
import { client } from './helpers/sockets.js';

const execFileP = promisify(execFile);

async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'stateroom-cli-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const serveArgs = (file: string, ...more: string[]) => ['serve', file, '--port', '0', '--host', '127.0.0.1', ...more];

test('installed into another folder with npm install <clone>, npx stateroom works there', async (t) => {
  const dir = await tempDir(t);
  await writeFile(path.join(dir, 'package.json'), '{ "name": "app", "private": true, "type": "module" }\n');
  await execFileP('npm', ['install', ROOT, '--no-audit', '--no-fund', '--loglevel=error'], { cwd: dir, timeout: 60_000 });
  const { stdout } = await execFileP('npx', ['--no-install', 'stateroom', '--help'], { cwd: dir, timeout: 20_000 });
  assert.match(stdout, /Usage: stateroom/);
  // A service in that folder that imports the package's types serves as well.
  await writeFile(
    path.join(dir, 'room.ts'),
    "import type { Service, Context, ClientId } from 'stateroom';\n" +
      'export default class implements Service { connect(c: ClientId, ctx: Context) { ctx.sendMessage(c, `hi ${c}`); } }\n',
  );
  const server = await startServing(serveArgs('room.ts'), t.after.bind(t), {
    command: ['npx', '--no-install', 'stateroom'],
    cwd: dir,
  });
  const c = await client(server.ws());
  t.after(() => c.ws.terminate());
  assert.equal(await c.nextText(), 'hi 1');
});
