// An ES module .ts service is bundled with esbuild in the main thread and imported as
// JavaScript, not through tsx's loader, which runs in a module hooks thread (~14 MiB). So it
// costs a server no thread over a .mjs one; its stack frames still name the .ts file and line;
// the bundle beside the entry is gone once loaded; `dev`'s fresh loads see edits; a .cjs file
// of its own is run by Node as it is.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { loadModuleFresh, loadService } from '../src/project/load-service.js';
import { startServing } from './helpers/cli.js';
import { client } from './helpers/sockets.js';

async function modulePackage(t: TestContext): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'stateroom-esm-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(path.join(dir, 'package.json'), '{ "type": "module" }\n');
  return dir;
}

const ECHO = 'export default class Echo { message(client, payload, ctx) { ctx.sendMessage(client, String(payload)); } }\n';
const ECHO_TS = `import type { ClientId, Context, Payload } from 'stateroom';
export default class Echo { message(client: ClientId, payload: Payload, ctx: Context): void { ctx.sendMessage(client, String(payload)); } }
`;

async function threadsServing(t: TestContext, file: string): Promise<number> {
  const server = await startServing(['serve', file, '--port', '0', '--host', '127.0.0.1', '--workers', '1'], t.after.bind(t));
  const c = await client(server.ws('/ws/r'));
  t.after(() => c.ws.terminate());
  c.ws.send('hi');
  assert.equal(await c.nextText(), 'hi');
  return readdirSync(`/proc/${server.child.pid}/task`).length;
}

test('stateroom serve x.ts runs in as many threads as the same service as .mjs (no module hooks thread)', async (t) => {
  const dir = await modulePackage(t);
  await writeFile(path.join(dir, 'echo.mjs'), ECHO);
  await writeFile(path.join(dir, 'echo.ts'), ECHO_TS);
  const [mjs, ts] = [await threadsServing(t, path.join(dir, 'echo.mjs')), await threadsServing(t, path.join(dir, 'echo.ts'))];
  assert.equal(ts, mjs, `threads of the .ts server (${ts}) against the .mjs one (${mjs})`);
});

// The throw is on line 8, column 35 of the .ts source, in a module of a subfolder.
const THROWER = `import type { ClientId } from 'stateroom';

interface Thing { a: number }

export default class Boom {
  message(_c: ClientId, payload: string): void {
    const t: Thing = { a: 1 };
    if (payload === 'boom') throw new Error(\`boom \${t.a}\`);
  }
}
`;

test('an ES module .ts service: .ts stack frames, its authorize export, no bundle left beside it', async (t) => {
  const dir = await modulePackage(t);
  await mkdir(path.join(dir, 'lib'));
  await writeFile(path.join(dir, 'lib', 'boom.ts'), THROWER);
  const file = path.join(dir, 'service.ts');
  // A .cjs file of its own runs as Node runs it: its own __dirname, require() of a builtin.
  await writeFile(path.join(dir, 'lib', 'where.cjs'), "const path = require('node:path');\nmodule.exports = { where: path.basename(__dirname) };\n");
  await writeFile(file, "import helper from './lib/where.cjs';\nexport { default } from './lib/boom';\nexport const authorize = (): boolean => helper.where === 'lib';\n");
  const loaded = await loadService(file);
  assert.equal(loaded.authorize?.({} as never, 'r', {} as never), true, "authorize sees the .cjs helper's own __dirname");
  const Service = loaded.service as unknown as new () => { message(c: string, p: string): void };
  const thrown = (() => {
    try {
      new Service().message('c', 'boom');
    } catch (err) {
      return err as Error;
    }
    throw new Error('message() did not throw');
  })();
  const boom = path.join(dir, 'lib', 'boom.ts');
  assert.match(thrown.stack?.split('\n')[1] ?? '', new RegExp(`^ {4}at Boom\\.message \\(${boom.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:8:35\\)$`));
  assert.deepEqual((await readdir(dir)).sort(), ['lib', 'package.json', 'service.ts']);
});

test("dev's fresh loads of an ES module .ts service see an edited import", async (t) => {
  const dir = await modulePackage(t);
  const file = path.join(dir, 'service.ts');
  await writeFile(file, "import { label } from './lib';\nexport default class { static label: string = label; }\n");
  const label = async (): Promise<unknown> => ((await loadModuleFresh(file)).service as unknown as { label: unknown }).label;
  await writeFile(path.join(dir, 'lib.ts'), "export const label: string = 'first';\n");
  const first = await label();
  await writeFile(path.join(dir, 'lib.ts'), "export const label: string = 'second';\n");
  assert.deepEqual([first, await label()], ['first', 'second']);
  assert.deepEqual((await readdir(dir)).sort(), ['lib.ts', 'package.json', 'service.ts']);
});

test('what Node resolves, still resolves: a workspace package whose exports are .ts is bundled, and a symlinked entry finds the packages of its real folder', async (t) => {
  const root = await mkdtemp(path.join(tmpdir(), 'stateroom-esm-ws-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  // A workspace: app/ imports @me/lib, a symlink to ../lib whose main is TypeScript.
  await mkdir(path.join(root, 'lib'));
  await writeFile(path.join(root, 'lib', 'package.json'), '{ "name": "@me/lib", "type": "module", "main": "index.ts" }\n');
  await writeFile(path.join(root, 'lib', 'index.ts'), 'export const greeting: string = "from a .ts package";\n');
  await mkdir(path.join(root, 'app', 'node_modules', '@me'), { recursive: true });
  await symlink(path.join(root, 'lib'), path.join(root, 'app', 'node_modules', '@me', 'lib'));
  // ...and a plain JavaScript package, which stays an import.
  await mkdir(path.join(root, 'app', 'node_modules', 'plain'));
  await writeFile(path.join(root, 'app', 'node_modules', 'plain', 'package.json'), '{ "name": "plain", "type": "module", "main": "index.js" }\n');
  await writeFile(path.join(root, 'app', 'node_modules', 'plain', 'index.js'), 'export const word = "plain";\n');
  await writeFile(path.join(root, 'app', 'package.json'), '{ "type": "module" }\n');
  await writeFile(
    path.join(root, 'app', 'room.ts'),
    "import { greeting } from '@me/lib';\nimport { word } from 'plain';\nexport default class Room { connect(c: number, ctx: { sendMessage(c: number, p: string): void }): void { ctx.sendMessage(c, `${greeting}, ${word}`); } }\n",
  );
  // The entry reached through a symlink in another folder, which has no node_modules.
  await mkdir(path.join(root, 'elsewhere'));
  await writeFile(path.join(root, 'elsewhere', 'package.json'), '{ "type": "module" }\n');
  await symlink(path.join(root, 'app', 'room.ts'), path.join(root, 'elsewhere', 'room.ts'));
  for (const entry of [path.join(root, 'app', 'room.ts'), path.join(root, 'elsewhere', 'room.ts')]) {
    const server = await startServing(['serve', entry, '--port', '0', '--host', '127.0.0.1', '--workers', '1'], t.after.bind(t));
    const c = await client(server.ws('/ws/r'));
    t.after(() => c.ws.terminate());
    assert.equal(await c.nextText(), 'from a .ts package, plain', entry);
  }
  assert.deepEqual((await readdir(path.join(root, 'app'))).filter((f) => f.startsWith('.stateroom-')), [], 'no bundle left');
});

test('a bundle left by a process that died is removed at the next load; a build error is one line with the file, line and text', async (t) => {
  const dir = await modulePackage(t);
  await writeFile(path.join(dir, 'echo.ts'), ECHO_TS);
  await writeFile(path.join(dir, '.stateroom-echo-999999-0a1b2c3d.mjs'), 'export default 1;\n'); // pid 999999 is not running
  await loadService(path.join(dir, 'echo.ts'));
  assert.deepEqual((await readdir(dir)).filter((f) => f.startsWith('.stateroom-')), []);
  await writeFile(path.join(dir, 'bad.ts'), 'export default class {\n  x = ;\n}\n');
  await assert.rejects(loadService(path.join(dir, 'bad.ts')), (err: Error) => {
    assert.match(err.message, new RegExp(`bad\\.ts could not be loaded: Error: ${path.join(dir, 'bad.ts').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:2:7: Unexpected ";"`));
    assert.doesNotMatch(err.message, /\n/);
    return true;
  });
});

test("tsconfig paths still resolve: a service importing '@lib/…' mapped by its tsconfig.json", async (t) => {
  const dir = await modulePackage(t);
  await writeFile(path.join(dir, 'tsconfig.json'), '{ "compilerOptions": { "baseUrl": ".", "paths": { "@lib/*": ["src/lib/*"] } } }\n');
  await mkdir(path.join(dir, 'src', 'lib'), { recursive: true });
  await writeFile(path.join(dir, 'src', 'lib', 'words.ts'), 'export const hello: string = "mapped by paths";\n');
  await writeFile(path.join(dir, 'room.ts'), "import { hello } from '@lib/words';\nexport default class Room { connect(c: number, ctx: { sendMessage(c: number, p: string): void }): void { ctx.sendMessage(c, hello); } }\n");
  const server = await startServing(['serve', path.join(dir, 'room.ts'), '--port', '0', '--host', '127.0.0.1', '--workers', '1'], t.after.bind(t));
  const c = await client(server.ws('/ws/r'));
  t.after(() => c.ws.terminate());
  assert.equal(await c.nextText(), 'mapped by paths');
});
