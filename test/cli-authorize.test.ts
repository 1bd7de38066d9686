// A service module's `authorize` export, as the CLI uses it: `serve` (ES modules and CommonJS
// alike), `dev` (swapped with the module on every reload), and one clear line for a wrong one.
// (examples/jwt and test/jwt-example.test.ts cover `serve` and `--workers 2` with real tokens.)
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { run, startServing } from './helpers/cli.js';
import { client, refusal } from './helpers/sockets.js';

async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'stateroom-authorize-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A module admitting `?key=<key>` as user `{ key }`, refusing anything else with 401; its rooms greet the user. */
const keyed = (key: string): string => `
export function authorize(request: { url?: string }) {
  const key = new URL(request.url ?? '/', 'http://localhost').searchParams.get('key');
  return key === ${JSON.stringify(key)} ? { user: { key } } : { status: 401, reason: 'wrong key' };
}
export default (_roomId: string, ctx: any) => ({ connect: (c: number) => ctx.sendMessage(c, 'welcome ' + JSON.stringify(ctx.clientInfo(c).user)) });
`;

test('stateroom serve: the authorize of a CommonJS module (.cts, plain .cjs) is used too', { timeout: 30_000 }, async (t) => {
  const dir = await tempDir(t);
  const files = {
    'service.cts': "export function authorize() { return { status: 401, reason: 'cts says no' }; }\nexport default class {}\n",
    'service.cjs': "module.exports = class {};\nmodule.exports.authorize = () => ({ status: 401, reason: 'cjs says no' });\n",
  };
  for (const [name, text] of Object.entries(files)) {
    await writeFile(path.join(dir, name), text);
    const server = await startServing(['serve', path.join(dir, name), '--port', '0', '--host', '127.0.0.1', '--workers', '1'], t.after.bind(t));
    assert.equal(await refusal(server.ws('/ws/r')), `401 ${name.slice(-3)} says no`);
    server.child.kill('SIGTERM');
  }
});

test('stateroom serve: an authorize export that is not a function is one line naming the file, before anything listens', { timeout: 30_000 }, async (t) => {
  const dir = await tempDir(t);
  const file = path.join(dir, 'service.ts');
  await writeFile(file, "export const authorize = { user: 'everyone' };\nexport default class {}\n");
  for (const workers of ['1', '2']) {
    const out = await run(['serve', file, '--port', '0', '--host', '127.0.0.1', '--workers', workers]);
    assert.equal(out.code, 1, out.stderr);
    assert.equal(
      out.stderr.trim(),
      `stateroom: ${file} exports authorize as an object: it must be a function (request, roomId) => true | false | { status, reason } | { user }, as serve()'s authorize option takes [SR_ERR_SERVICE_LOAD]`,
      `--workers ${workers}`,
    );
    assert.doesNotMatch(out.stdout, /listening/);
  }
});

test('stateroom dev admits through the module’s authorize, and a reload brings the edited one', { timeout: 30_000 }, async (t) => {
  const dir = await tempDir(t);
  const file = path.join(dir, 'service.ts');
  await writeFile(file, keyed('one'));
  const server = await startServing(['dev', '--port', '0', '--host', '127.0.0.1', '--dir', dir, '--no-state-dir'], t.after.bind(t));
  await server.printed(/clients are admitted by the authorize service\.ts exports/, 'the note that authorize is used');
  await server.printed(/watching .* for changes/, 'the watcher');
  const first = await client(server.ws('/ws/r?key=one'), 'first');
  t.after(() => first.ws.terminate());
  assert.equal(await first.nextText(), 'welcome {"key":"one"}');
  assert.equal(await refusal(server.ws('/ws/r?key=two')), '401 wrong key');

  await writeFile(file, keyed('two'));
  await server.printed(/rebuilt in .*; reloaded/, 'the reload');
  assert.equal(await refusal(server.ws('/ws/r?key=one')), '401 wrong key', 'the old key is refused after the reload');
  const second = await client(server.ws('/ws/r?key=two'), 'second');
  t.after(() => second.ws.terminate());
  assert.equal(await second.nextText(), 'welcome {"key":"two"}');

  // A module that no longer exports authorize admits everyone.
  await writeFile(file, "export default (_r: string, ctx: any) => ({ connect: (c: number) => ctx.sendMessage(c, 'open') });\n");
  await server.printed(/rebuilt in [^\n]*\n[\s\S]*rebuilt in /, 'the second reload');
  const anyone = await client(server.ws('/ws/r'), 'anyone');
  t.after(() => anyone.ws.terminate());
  assert.equal(await anyone.nextText(), 'open');
});
