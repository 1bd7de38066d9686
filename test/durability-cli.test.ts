// Durable rooms as a user runs them: `stateroom serve … --state-dir` as real processes,
// stopped with SIGTERM or killed with SIGKILL, with the Rust guest built from this
// repository's source (no cooperation from the guest), the native counter example (its
// snapshot()/restore() hooks) and --workers 2.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import test from 'node:test';
import { startServing, type Serving } from './helpers/cli.js';
import { until, within } from './helpers/deadline.js';
import { client, closed } from './helpers/sockets.js';
import { tempDirs } from './helpers/temp-dirs.js';

const RUST_GUEST = 'test/fixtures/rust/guest.wasm';
const COUNTER = 'examples/counter/service.ts';

const stateDir = tempDirs('stateroom-durable-cli-');

/** Sends `increment` `times` times from one client and returns the last answer. */
async function increment(server: Serving, room: string, times: number): Promise<string> {
  const c = await client(server.ws(`/ws/${room}`));
  for (let i = 0; i < times; i++) c.ws.send('increment');
  // The Rust guest says `welcome <id>` first: only the answers count.
  let answers: string[] = [];
  for (let n = times; answers.length < times; n++) answers = (await c.texts(n, 10_000)).filter((m) => m.startsWith('new value'));
  c.ws.close();
  await closed(c.ws);
  return answers.at(-1) ?? '';
}

async function stop(server: Serving, signal: NodeJS.Signals): Promise<number | null> {
  const exited = once(server.child, 'exit');
  server.child.kill(signal);
  const [code] = (await within(exited, `the server to exit on ${signal}`, 20_000)) as [number | null];
  return code;
}


const serveArgs = (file: string, dir: string, ...more: string[]): string[] => ['serve', file, '--port', '0', '--host', '127.0.0.1', '--workers', '1', '--state-dir', dir, ...more];

test('a Rust guest, unchanged, keeps its counter across a SIGTERM restart (saved with no guest cooperation)', async (t) => {
  const dir = stateDir();
  const first = await startServing(serveArgs(RUST_GUEST, dir), t.after.bind(t));
  assert.equal(await increment(first, 'r', 41), 'new value: 41');
  assert.equal(await stop(first, 'SIGTERM'), 0);
  const second = await startServing(serveArgs(RUST_GUEST, dir), t.after.bind(t));
  assert.equal(await increment(second, 'r', 1), 'new value: 42');
});

test('an AssemblyScript guest (the counter example, built with stateroom build) keeps its counter across a SIGTERM restart', async (t) => {
  const { cpSync } = await import('node:fs');
  const { run } = await import('./helpers/cli.js');
  const dir = stateDir();
  cpSync('examples/counter/assembly', path.join(dir, 'assembly'), { recursive: true });
  const built = await run(['build', dir], { ms: 60_000 });
  assert.equal(built.code, 0, built.stderr);
  const state = path.join(dir, 'state');
  const first = await startServing(serveArgs(path.join(dir, 'dist'), state), t.after.bind(t));
  assert.equal(await increment(first, 'as', 41), 'new value: 41');
  assert.equal(await stop(first, 'SIGTERM'), 0);
  const second = await startServing(serveArgs(path.join(dir, 'dist'), state), t.after.bind(t));
  assert.equal(await increment(second, 'as', 1), 'new value: 42');
});

test('kill -9 after the snapshot interval keeps the value (the native counter example with its hooks)', async (t) => {
  const dir = stateDir();
  const first = await startServing(serveArgs(COUNTER, dir, '--snapshot-interval', '0.2'), t.after.bind(t));
  assert.equal(await increment(first, 'k', 5), 'new value: 5');
  const saved = async (): Promise<boolean> => {
    const status = (await (await fetch(`http://127.0.0.1:${first.port}/status?format=json`)).json()) as { oldestUnsavedChangeSeconds?: number };
    return status.oldestUnsavedChangeSeconds === 0 && readdirSync(dir).some((f) => !f.startsWith('.'));
  };
  await until(saved, 'the periodic save', 10_000);
  await stop(first, 'SIGKILL');
  const second = await startServing(serveArgs(COUNTER, dir), t.after.bind(t));
  assert.equal(await increment(second, 'k', 1), 'new value: 6');
});

test('a module changed between runs: the room starts fresh, and the warning names both hashes', async (t) => {
  const dir = stateDir();
  const first = await startServing(serveArgs(RUST_GUEST, dir), t.after.bind(t));
  assert.equal(await increment(first, 'm', 3), 'new value: 3');
  assert.equal(await stop(first, 'SIGTERM'), 0);
  const second = await startServing(serveArgs('test/fixtures/wasm/counter.wat', dir), t.after.bind(t));
  // The other module answers with its own count, as 4 bytes: 1, a fresh room.
  const c = await client(second.ws('/ws/m'));
  c.ws.send('increment');
  const answer = await c.next();
  assert.equal((answer.data as Buffer).readUInt32LE(0), 1);
  c.ws.close();
  await second.printed(/starts fresh: its saved state .* comes from module sha256 [0-9a-f]{64}, and this server runs module sha256 [0-9a-f]{64}/, 'the module-changed warning');
});

test('--workers 2: rooms in both workers are saved on SIGTERM and found after the restart', async (t) => {
  const dir = stateDir();
  const args = (): string[] => serveArgs(COUNTER, dir).map((a) => (a === '1' ? '2' : a));
  const first = await startServing(args(), t.after.bind(t));
  const rooms = ['a', 'b', 'c', 'd', 'e', 'f'];
  for (const [i, room] of rooms.entries()) assert.equal(await increment(first, room, i + 1), `new value: ${i + 1}`);
  assert.equal(await stop(first, 'SIGTERM'), 0);
  assert.equal(readdirSync(dir).filter((f) => !f.startsWith('.')).length, rooms.length);
  const second = await startServing(args(), t.after.bind(t));
  for (const [i, room] of rooms.entries()) assert.equal(await increment(second, room, 1), `new value: ${i + 2}`);
});

test('stateroom dev keeps rooms in .stateroom/ across a reload (the new build restores them) and does not rebuild when they are saved', async (t) => {
  const dir = stateDir();
  const service = (step: number): string => `export default class {
  value = 0;
  message(_c: number, p: unknown, ctx: any) { if (p === 'increment') { this.value += ${step}; ctx.sendMessage('broadcast', 'new value: ' + this.value); } }
  snapshot() { return String(this.value); }
  restore(data: string) { this.value = Number(data); }
}
`;
  writeFileSync(path.join(dir, 'service.ts'), service(1));
  const server = await startServing(['dev', '0', '--host', '127.0.0.1', '--dir', dir, '--log-level', 'debug'], t.after.bind(t));
  await server.printed(/watching .* for changes/, 'the watcher ready');
  assert.equal(await increment(server, 'd', 3), 'new value: 3');
  writeFileSync(path.join(dir, 'service.ts'), service(10));
  await server.printed(/rebuilt in .*; reloaded/, 'the reload');
  assert.equal(await increment(server, 'd', 1), 'new value: 13', 'the new build starts from the saved room');
  assert.ok(readdirSync(path.join(dir, '.stateroom')).some((f) => f.endsWith('.room')), 'saved in .stateroom/');
  assert.equal(server.output().match(/rebuilt in/g)?.length, 1, 'saving rooms is not a change to rebuild for');
});

test('an unusable --state-dir stops the server at start-up with one line, exit non-zero', async () => {
  const dir = stateDir();
  const file = path.join(dir, 'a-file');
  writeFileSync(file, 'not a directory');
  const { run } = await import('./helpers/cli.js');
  for (const workers of ['1', '2']) {
    const result = await run(serveArgs(COUNTER, path.join(file, 'state')).map((a) => (a === '1' ? workers : a)));
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /state directory .*a-file\/state .*choose another --state-dir/);
    assert.equal(result.stderr.trim().split('\n').length, 1, `one line with --workers ${workers}: ${result.stderr}`);
  }
});
