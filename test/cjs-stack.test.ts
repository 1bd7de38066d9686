// A .ts service in a CommonJS package (no "type": "module"): its stack frames point to the .ts
// file and line, `dev`'s fresh loads still see edits, and ESM-only syntax says what to set.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { loadModuleFresh, loadService } from '../src/project/load-service.js';
import { startServing } from './helpers/cli.js';
import { client } from './helpers/sockets.js';

async function commonJsPackage(t: TestContext): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'stateroom-cjs-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(path.join(dir, 'package.json'), '{ "name": "cjs-app", "private": true }\n');
  return dir;
}

// The throw is on line 8, column 35 of the .ts source (types and an interface above it, so
// the emitted JavaScript's line differs).
const SERVICE = `import type { ClientId } from 'stateroom';

interface Thing { a: number }

export default class Boom {
  message(_c: ClientId, payload: string): void {
    const t: Thing = { a: 1 };
    if (payload === 'boom') throw new Error(\`boom \${t.a}\`);
  }
}
`;

test('a throw in a .ts service of a CommonJS package is logged with the .ts file and line', async (t) => {
  const dir = await commonJsPackage(t);
  const file = path.join(dir, 'service.ts');
  await writeFile(file, SERVICE);
  const server = await startServing(['serve', file, '--port', '0', '--host', '127.0.0.1', '--workers', '1'], t.after.bind(t));
  const c = await client(server.ws('/ws/r'));
  c.ws.send('boom');
  await server.printed(/"stack":"Error: boom 1/, 'the error log with its stack');
  const line = server.output().split('\n').find((l) => l.includes('"stack":"Error: boom 1')) ?? '';
  const stack = String((JSON.parse(line) as { err: { stack: string } }).err.stack);
  assert.match(stack.split('\n')[1] ?? '', new RegExp(`^ {4}at Boom\\.message \\(${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:8:35\\)$`));
  assert.doesNotMatch(stack, /data:text\/javascript/);
  c.ws.terminate();
});

test("dev's fresh loads of a CommonJS .ts service see an edited import, with the .ts line", async (t) => {
  const dir = await commonJsPackage(t);
  const file = path.join(dir, 'service.ts');
  await writeFile(file, "import { label } from './lib';\nexport default class { message(): void { throw new Error(label); } }\n");
  const thrown = async (): Promise<Error> => {
    const Service = (await loadModuleFresh(file)).service as unknown as new () => { message(): void };
    try {
      new Service().message();
    } catch (err) {
      return err as Error;
    }
    throw new Error('message() did not throw');
  };
  await writeFile(path.join(dir, 'lib.ts'), "export const label: string = 'first';\n");
  const first = await thrown();
  await writeFile(path.join(dir, 'lib.ts'), "export const label: string = 'second';\n");
  const second = await thrown();
  assert.deepEqual([first.message, second.message], ['first', 'second']);
  assert.match(second.stack ?? '', new RegExp(`\\(${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:2:\\d+\\)`));
});

test('top-level await in a .ts file run as CommonJS: the load error says to set "type": "module"', async (t) => {
  const dir = await commonJsPackage(t);
  const file = path.join(dir, 'service.ts');
  await writeFile(file, 'const n = await Promise.resolve(1);\nexport default class { message(): void { void n; } }\n');
  await assert.rejects(loadService(file), (err: Error) => {
    assert.match(err.message, /could not be loaded: .*[Tt]op-level await/s);
    assert.match(err.message, /runs as CommonJS: to load it as an ES module, set "type": "module" in its package\.json, or name it \.mts\)$/);
    return true;
  });
});
