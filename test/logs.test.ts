// Log lines an operator can trust: JSON with no key twice, a callback's error text once,
// and expected conditions (a guest that traps, a client's bad frame, a refused upgrade) as
// one line with the room, the client and the reason — no host stack trace.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test, type TestContext } from 'node:test';
import { createLogger, loadWasmFile, serve, wasmAdapterSource, type ServiceSource } from '../src/index.js';
import { DEADLINE_MS, client, closed, open } from './helpers/sockets.js';

/** Every JSON line a real pino logger wrote, raw, with a way to wait for one. */
class LogLines extends Writable {
  readonly lines: string[] = [];
  private waiters: Array<() => void> = [];
  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    this.lines.push(...chunk.toString('utf8').split('\n').filter((l) => l !== ''));
    for (const wake of this.waiters.splice(0)) wake();
    done();
  }
  parsed(): Array<Record<string, unknown>> {
    return this.lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  }
  waitFor(match: (entry: Record<string, unknown>) => boolean, what: string): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for a log line: ${what}`)), DEADLINE_MS);
      const check = (): void => {
        const found = this.parsed().find(match);
        if (found === undefined) this.waiters.push(check);
        else {
          clearTimeout(timer);
          resolve(found);
        }
      };
      check();
    });
  }
}

/** The keys that appear more than once in one object of a JSON text (JSON.parse keeps the last silently). */
function duplicateKeys(json: string): string[] {
  const found: string[] = [];
  const stack: Array<Set<string> | undefined> = [];
  let expectKey = false;
  for (let i = 0; i < json.length; i++) {
    const c = json[i];
    if (c === '"') {
      let j = i + 1;
      while (json[j] !== '"') j += json[j] === '\\' ? 2 : 1;
      const text = json.slice(i, j + 1);
      const keys = stack.at(-1);
      if (expectKey && keys !== undefined) {
        const key = JSON.parse(text) as string;
        if (keys.has(key)) found.push(key);
        keys.add(key);
      }
      expectKey = false;
      i = j;
    } else if (c === '{') {
      stack.push(new Set());
      expectKey = true;
    } else if (c === '[') {
      stack.push(undefined);
    } else if (c === '}' || c === ']') {
      stack.pop();
    } else if (c === ',') {
      expectKey = stack.at(-1) !== undefined;
    }
  }
  return found;
}

test('duplicateKeys finds a key given twice, at any depth, and nothing in clean JSON', () => {
  assert.deepEqual(duplicateKeys('{"worker":1,"a":{"b":[{"c":1,"c":2}]},"worker":"#1"}'), ['c', 'worker']);
  assert.deepEqual(duplicateKeys('{"a":"x,\\"a\\":1","b":[1,"a"],"c":{"a":1}}'), []);
});

async function start(t: TestContext, service: Parameters<typeof serve>[0], options: Parameters<typeof serve>[1] = {}) {
  const lines = new LogLines();
  const server = await serve(service, { port: 0, host: '127.0.0.1', logger: createLogger('debug', lines), ...options });
  t.after(() => server.close());
  return { server, lines, url: `ws://127.0.0.1:${server.port}/ws` };
}

function assertClean(lines: LogLines, except: (entry: Record<string, unknown>) => boolean = () => false): void {
  assert.ok(lines.lines.length > 0, 'something was logged');
  for (const line of lines.lines) {
    assert.deepEqual(duplicateKeys(line), [], `no key twice in ${line}`);
    const entry = JSON.parse(line) as Record<string, unknown>;
    if (!except(entry)) assert.doesNotMatch(line, /"stack"/, `no stack trace in ${line}`);
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
  const line = lines.lines.find((l) => l.includes('SR_ERR_SERVICE_THREW'))!;
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
  // A refused upgrade is an HTTP answer, not a stack.
  await assert.rejects(open(`${url}/o`, { headers: { origin: 'http://evil.example' } }), /403/);
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
  assert.equal(lines.lines.filter((l) => l.includes('SR_ERR_WASM_TRAP')).length, 1, 'one line');
  const socketError = lines.parsed().find((e) => e.msg === 'client socket error')!;
  assert.equal(socketError.roomId, 'b');
  assert.match(String(socketError.reason), /opcode/);
  assertClean(lines);
});
