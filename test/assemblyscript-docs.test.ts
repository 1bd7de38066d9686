// docs/assemblyscript.md's code, as a newcomer copies it: the first service and the clock
// snippet each build with `stateroom build` and answer as the page says.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { ROOT, run, startServing } from './helpers/cli.js';
import { client } from './helpers/sockets.js';

const BUILD_MS = 60_000;

/** The ```ts blocks of docs/assemblyscript.md, dedented. */
async function blocks(): Promise<string[]> {
  const doc = await readFile(path.join(ROOT, 'docs/assemblyscript.md'), 'utf8');
  return [...doc.matchAll(/^( *)```ts\n([\s\S]*?)^ *```$/gm)].map(([, indent = '', code = '']) =>
    code.split('\n').map((line) => line.slice(indent.length)).join('\n'),
  );
}

async function buildAndServe(t: TestContext, source: string) {
  const dir = await mkdtemp(path.join(tmpdir(), 'stateroom-as-docs-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await mkdir(path.join(dir, 'assembly'));
  await writeFile(path.join(dir, 'assembly/index.ts'), source);
  const built = await run(['build', dir], { ms: BUILD_MS });
  assert.equal(built.code, 0, built.stderr);
  return startServing(['serve', path.join(dir, 'dist'), '--port', '0', '--host', '127.0.0.1', '--workers', '1'], t.after.bind(t));
}

test("docs/assemblyscript.md's first service builds and counts", { timeout: BUILD_MS + 15_000 }, async (t) => {
  const first = (await blocks())[0] ?? '';
  assert.ok(first.includes('register(() => new SharedCounter())'), 'the first block is the counter');
  const server = await buildAndServe(t, first);
  const c = await client(server.ws());
  t.after(() => c.ws.terminate());
  c.ws.send('increment');
  assert.equal(await c.nextText(), 'new value: 1');
});

test("docs/assemblyscript.md's clock snippet builds and reads the time of day", { timeout: BUILD_MS + 15_000 }, async (t) => {
  const clock = (await blocks()).find((code) => code.includes('clock_time_get'));
  assert.ok(clock, 'the page has the clock snippet');
  const source = `import { ClientId, Context, Payload, Recipient, Service, register } from "stateroom/assembly";
${clock}
class Clock extends Service {
  message(client: ClientId, _payload: Payload, ctx: Context): void {
    ctx.sendMessage(Recipient.client(client), nowMs().toString());
  }
}
register(() => new Clock());
`;
  const server = await buildAndServe(t, source);
  const c = await client(server.ws());
  t.after(() => c.ws.terminate());
  const before = Date.now();
  c.ws.send('time');
  const now = Number(await c.nextText());
  assert.ok(now >= before - 5 && now <= Date.now() + 5, `${now} is the time of day (${before}…${Date.now()})`);
});
