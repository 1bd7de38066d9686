// Log lines an operator can trust: JSON with no key twice, a callback's error text once,
// and expected conditions (a guest that traps, a client's bad frame, a refused upgrade) as
// one line with the room, the client and the reason — no host stack trace.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { createLogger, loadWasmFile, serve, wasmAdapterSource, type ServiceSource } from '../src/index.js';
import { LogLines, duplicateKeys } from './helpers/json-logs.js';
import { client, closed, open } from './helpers/sockets.js';

test('duplicateKeys finds a key given twice, at any depth, and nothing in clean JSON', () => {
  assert.deepEqual(duplicateKeys('{"worker":1,"a":{"b":[{"c":1,"c":2}]},"worker":"#1"}'), ['c', 'worker']);
  assert.deepEqual(duplicateKeys('{"a":"x,\\"a\\":1","b":[1,"a"],"c":{"a":1}}'), []);
  assert.deepEqual(duplicateKeys('{"a":{"b":"x,\\"b\\":","b":2},"c":["a","a"]}'), ['b']);
});

async function start(t: TestContext, service: Parameters<typeof serve>[0], options: Parameters<typeof serve>[1] = {}) {
  const lines = new LogLines();
  const server = await serve(service, { port: 0, host: '127.0.0.1', logger: createLogger('debug', lines), ...options });
  t.after(() => server.close());
  return { server, lines, url: `ws://127.0.0.1:${server.port}/ws` };
}

function assertClean(lines: LogLines, except: (entry: Record<string, unknown>) => boolean = () => false): void {
  assert.ok(lines.lines.length > 0, 'something was logged');
  for (const { raw, entry } of lines.lines) {
    assert.deepEqual(duplicateKeys(raw), [], `no key twice in ${raw}`);
    if (!except(entry)) assert.doesNotMatch(raw, /"stack"/, `no stack trace in ${raw}`);
  }
}

test("a service's error is logged once: its own message and stack, not repeated through a cause", async (t) => {
  const Kaboom: ServiceSource = class {
    message(): void {
      throw new Error('kaboom from message');
    }
  };
  const { lines, url } = await start(t, Kaboom);
  const ws = await open(`${url}/k`);
  t.after(() => ws.terminate());
  ws.send('x');
  const entry = await lines.waitFor((e) => e.code === 'SR_ERR_SERVICE_THREW', 'the throw');
  const line = lines.lines.find((l) => l.raw.includes('SR_ERR_SERVICE_THREW'))!.raw;
  assert.equal(line.split('kaboom from message').length - 1, 3, `the text in msg, err.message and err.stack's first line: ${line}`);
  assert.equal((entry.err as { message: string }).message, 'kaboom from message');
  assert.match((entry.err as { stack: string }).stack, /at .*message/, "the service's stack, to find its bug");
  assert.equal(entry.roomId, 'k');
  assert.equal(entry.clientId, 1);
  assertClean(lines, (e) => e.code === 'SR_ERR_SERVICE_THREW');
});

test('expected conditions are one line each with room, client and reason, and no stack', async (t) => {
  const source = wasmAdapterSource(await loadWasmFile('test/fixtures/wasm/guest.wat'), { isolation: 'inline' });
  t.after(() => source.close());
  const { lines, url } = await start(t, source, { allowedOrigins: ['http://good.example'] });
  // A refused upgrade is an HTTP answer and one info line with the reason — once, however often.
  for (let i = 0; i < 20; i++) await assert.rejects(open(`${url}/o`, { headers: { origin: 'http://evil.example' } }), /403/);
  const refusal = await lines.waitFor((e) => e.status === 403, 'the refusal logged');
  assert.equal(refusal.msg, 'upgrade refused with 403: origin http://evil.example is not allowed');
  assert.equal(refusal.level, 30, 'at info');
  assert.equal(lines.lines.filter((l) => l.entry.status === 403).length, 1, 'twenty refusals, one line (the rest are summarised)');
  // A client's bad frame (a reserved opcode) is the client's problem.
  const bad = await open(`${url}/b`);
  bad.on('error', () => {});
  (bad as unknown as { _socket: { write(b: Buffer): void } })._socket.write(Buffer.from([0x83, 0x80, 0, 0, 0, 0]));
  await closed(bad);
  await lines.waitFor((e) => e.msg === 'client socket error', 'the bad frame');
  // A guest that traps ("t" traps in guest.wat) fails its room: 1011 and one line.
  const inbox = await client(`${url}/trap`);
  t.after(() => inbox.ws.terminate());
  await inbox.next(); // the greeting
  inbox.ws.send('t');
  assert.equal((await closed(inbox.ws)).code, 1011);
  const trap = await lines.waitFor((e) => e.code === 'SR_ERR_WASM_TRAP', 'the trap');
  assert.equal(trap.roomId, 'trap');
  assert.equal(trap.clientId, 1, 'the client whose message the guest trapped on');
  assert.equal(trap.reason, 'room service crashed (WebAssembly trap)');
  assert.equal(lines.lines.filter((l) => l.raw.includes('SR_ERR_WASM_TRAP')).length, 1, 'one line');
  const socketError = lines.entries().find((e) => e.msg === 'client socket error')!;
  assert.equal(socketError.roomId, 'b');
  assert.match(String(socketError.reason), /opcode/);
  assertClean(lines);
});
