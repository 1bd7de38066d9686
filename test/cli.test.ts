// The `stateroom` command as a user runs it: the built bin as a child process, real sockets.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { within } from './helpers/deadline.js';
import { run, startServing } from './helpers/cli.js';
import { client, closed } from './helpers/sockets.js';

async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'stateroom-cli-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const serveArgs = (file: string, ...more: string[]) => ['serve', file, '--port', '0', '--host', '127.0.0.1', ...more];

test('stateroom --help and serve --help explain the commands and every flag', async () => {
  const top = await run(['--help']);
  assert.equal(top.code, 0);
  assert.match(top.stdout, /Usage: stateroom/);
  assert.match(top.stdout, /serve \[options\] <service>/);
  const serve = await run(['serve', '--help']);
  assert.equal(serve.code, 0);
  for (const flag of ['--port', '--host', '--heartbeat-interval', '--heartbeat-timeout', '--static', '--client', '--log-level', '--room-idle-timeout']) {
    assert.match(serve.stdout, new RegExp(flag), `serve --help mentions ${flag}`);
  }
  assert.match(serve.stdout, /default: 8080/);
});

test('npm start serves the counter example', async (t) => {
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const server = await startServing(['--', '--port', '0', '--host', '127.0.0.1'], t.after.bind(t), {
    command: [npm, 'start', '--silent'],
  });
  const [a, b] = await Promise.all([client(server.ws(), 'a'), client(server.ws(), 'b')]);
  t.after(() => [a, b].forEach((c) => c.ws.terminate()));
  a.ws.send('increment');
  assert.deepEqual(await Promise.all([a.nextText(), b.nextText()]), ['new value: 1', 'new value: 1']);
});

test('examples/echo greets, echoes to everyone and says goodbye, in upstream\'s words', async (t) => {
  const server = await startServing(serveArgs('examples/echo/service.ts'), t.after.bind(t));
  const a = await client(server.ws('/ws/e'), 'a');
  assert.equal(await a.nextText(), 'User ClientId(1) connected.');
  const b = await client(server.ws('/ws/e'), 'b');
  t.after(() => [a, b].forEach((c) => c.ws.terminate()));
  assert.equal(await b.nextText(), 'User ClientId(2) connected.');
  b.ws.send('hi there');
  assert.equal(await a.nextText(), "User ClientId(2) sent 'hi there'");
  b.ws.close();
  assert.equal(await a.nextText(), 'User ClientId(2) left.');
});

test('examples/chat names clients and renames them with /nick', async (t) => {
  const server = await startServing(serveArgs('examples/chat/service.ts'), t.after.bind(t));
  const a = await client(server.ws('/ws/c'), 'a');
  t.after(() => a.ws.terminate());
  assert.deepEqual(await a.texts(2), [
    'Welcome to the chat! Your name is client1. Send /nick <username> to change it.',
    'client1 has joined the chat',
  ]);
  a.ws.send('/nick ada');
  a.ws.send('hello');
  assert.deepEqual((await a.texts(4)).slice(2), ['client1 is now known as ada', 'ada: hello']);
});

test('examples/clock broadcasts "Timer @ <n>" every 4 seconds', async (t) => {
  const server = await startServing(serveArgs('examples/clock/service.ts'), t.after.bind(t));
  const a = await client(server.ws('/ws/clock'), 'a');
  t.after(() => a.ws.terminate());
  const first = await a.nextText(6_000);
  assert.equal(first, 'Timer @ 0');
});

test('a .mjs factory and a CommonJS .js class are served too', async (t) => {
  const dir = await tempDir(t);
  await writeFile(
    path.join(dir, 'shout.mjs'),
    'export default (roomId, ctx) => ({ message: (c, p) => ctx.sendMessage(c, `${roomId}: ${String(p).toUpperCase()}`) });\n',
  );
  await writeFile(
    path.join(dir, 'whisper.js'),
    'module.exports = class { message(c, p, ctx) { ctx.sendMessage(c, String(p).toLowerCase()); } };\n',
  );
  for (const [file, expected] of [['shout.mjs', 'r: HELLO'], ['whisper.js', 'hello']] as const) {
    const server = await startServing(serveArgs(path.join(dir, file)), t.after.bind(t));
    const c = await client(server.ws('/ws/r'));
    c.ws.send('Hello');
    assert.equal(await c.nextText(), expected, file);
    c.ws.terminate();
  }
});

test('a missing file, a module without a service, and a bad flag each fail with one clear line', async (t) => {
  const dir = await tempDir(t);
  const missing = await run(serveArgs('nope/missing.ts'));
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /^stateroom: nope\/missing\.ts: no such file \(looked for .*\) \[SR_ERR_SERVICE_LOAD\]\n$/);

  await writeFile(path.join(dir, 'empty.ts'), 'export const x = 1;\n');
  const empty = await run(serveArgs(path.join(dir, 'empty.ts')));
  assert.equal(empty.code, 1);
  assert.match(empty.stderr, /has no default export: write `export default class/);

  await writeFile(path.join(dir, 'broken.ts'), 'export default class {\n');
  const broken = await run(serveArgs(path.join(dir, 'broken.ts')));
  assert.equal(broken.code, 1);
  assert.match(broken.stderr, /broken\.ts could not be loaded/);
  assert.doesNotMatch(broken.stderr, /^\s+at /m, 'no stack trace');

  const badPort = await run(['serve', 'examples/counter/service.ts', '--port', 'eighty']);
  assert.notEqual(badPort.code, 0);
  assert.match(badPort.stderr, /--port.*a port is a whole number/);

  const badHeartbeat = await run([...serveArgs('examples/counter/service.ts'), '--heartbeat-interval', '10', '--heartbeat-timeout', '5']);
  assert.equal(badHeartbeat.code, 1);
  assert.match(badHeartbeat.stderr, /--heartbeat-timeout \(5 s\) must be greater than --heartbeat-interval \(10 s\)/);
});

test('SIGTERM closes clients with 1001, delivers disconnect, and exits 0', async (t) => {
  const server = await startServing(serveArgs('examples/echo/service.ts'), t.after.bind(t));
  const a = await client(server.ws());
  await a.nextText();
  const gone = closed(a.ws);
  const exited = once(server.child, 'exit');
  server.child.kill('SIGTERM');
  assert.equal((await gone).code, 1001);
  const [code] = (await within(exited, 'the server to exit')) as [number];
  assert.equal(code, 0);
  assert.match(server.output(), /server closed/);
});
