// A guest built by the real Rust toolchain (test/fixtures/rust/guest.rs, a cdylib for
// wasm32-wasi shaped like what #[stateroom_wasm] generates) runs unchanged on our host:
// clock, randomness, timers, printing and panics, over real sockets.
//
// Where a rustc with the WASI std is found (programs.ts: WASI_RUSTC), the guest is built from
// source once, in `before`, and every test runs the fresh build. Elsewhere the tests run the
// committed build, test/fixtures/rust/guest.wasm (README.md there says how it was built), and
// only the build test skips; under CI a missing rustc fails it, since .ci/run installs one.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test, type TestContext } from 'node:test';
import { promisify } from 'node:util';
import { serve } from '../src/index.js';
import { encodeToProcess } from '../src/wasm/abi/codec.js';
import { wasmAdapterSource } from '../src/wasm/source.js';
import { loadWasmFile } from '../src/wasm/abi/load.js';
import { WASI_MODULE, wasiImports } from '../src/wasm/abi/wasi.js';
import { ROOT } from './helpers/cli.js';
import { MemoryLogger } from './helpers/logs.js';
import { need, WASI_RUSTC } from './helpers/programs.js';
import { client, closed, type Inbox } from './helpers/sockets.js';

const SOURCE = 'test/fixtures/rust/guest.rs';
const COMMITTED = path.join(ROOT, 'test/fixtures/rust/guest.wasm');
const NOTE = path.join(ROOT, 'test/fixtures/rust/README.md');
const BUILD_DEADLINE_MS = 60_000;

const rust = await need(WASI_RUSTC);
/** The module every test runs: a fresh build, or the committed one. */
let wasmFile = COMMITTED;
let buildDir = '';

/** rustc's arguments for the guest: the same as README.md next to the committed build gives. */
function buildArgs(target: string, output: string): string[] {
  return ['--edition', '2021', '--target', target, '--crate-type', 'cdylib', '-C', 'opt-level=2', '-C', 'strip=debuginfo', '-o', output, SOURCE];
}

before(async () => {
  if (rust.value === undefined) {
    console.log(`# no rustc with the wasm32-wasi std here: the Rust guest tests run the committed ${path.relative(ROOT, COMMITTED)}`);
    return;
  }
  const { rustc, target, version } = rust.value;
  buildDir = await mkdtemp(path.join(tmpdir(), 'stateroom-rust-guest-'));
  wasmFile = path.join(buildDir, 'guest.wasm');
  const started = Date.now();
  try {
    // From the repository's root, so the panic locations in the module read test/fixtures/rust/guest.rs.
    await promisify(execFile)(rustc, buildArgs(target, wasmFile), { cwd: ROOT, timeout: BUILD_DEADLINE_MS });
  } catch (cause) {
    const stderr = (cause as { stderr?: string }).stderr ?? '';
    throw new Error(`${rustc} (${version}) could not build ${SOURCE} for ${target}:\n${stderr || String(cause)}`, { cause });
  }
  console.log(`# built ${SOURCE} with ${rustc} (${version}) for ${target} in ${Date.now() - started} ms`);
});

after(() => (buildDir === '' ? undefined : rm(buildDir, { recursive: true, force: true })));

test('rustc builds guest.rs; with the rustc that built the committed guest.wasm, it builds those same bytes', rust.options, async (t) => {
  const { version } = rust.get();
  const fresh = await readFile(wasmFile);
  assert.notEqual(wasmFile, COMMITTED);
  assert.ok(WebAssembly.validate(fresh), 'the fresh build is a valid module');
  // The note records the rustc that built the committed module; another rustc builds other bytes.
  const note = await readFile(NOTE, 'utf8');
  const recorded = /^rustc: (.+)$/m.exec(note)?.[1];
  assert.ok(recorded, `${path.relative(ROOT, NOTE)} has a "rustc: <rustc --version>" line`);
  if (recorded !== version) {
    t.diagnostic(`guest.wasm was built by ${recorded}, this is ${version}: bytes not compared`);
    return;
  }
  const committed = await readFile(COMMITTED);
  assert.ok(
    fresh.equals(committed),
    `${path.relative(ROOT, COMMITTED)} is not what ${SOURCE} builds to: rebuild it with the command in ${path.relative(ROOT, NOTE)}`,
  );
});

async function start(t: TestContext) {
  const logger = new MemoryLogger();
  const server = await serve(wasmAdapterSource(await loadWasmFile(wasmFile)), { port: 0, host: '127.0.0.1', logger });
  t.after(() => server.close());
  const join = async (room: string, name?: string): Promise<Inbox> => {
    const inbox = await client(`ws://127.0.0.1:${server.port}/ws/${room}`, name);
    t.after(() => inbox.ws.terminate());
    return inbox;
  };
  return { logger, join };
}

test('the module imports env.stateroom_send and WASI only, and loadWasmFile accepts it', async () => {
  const module = await loadWasmFile(wasmFile);
  assert.equal(module.name, wasmFile);
  const imports = WebAssembly.Module.imports(module.module).map((i) => `${i.module}.${i.name} (${i.kind})`);
  // What Debian 12's rustc 1.63 links in: the print/panic/environ/exit machinery of std,
  // plus the clock (SystemTime::now) and randomness (RandomState) this guest uses.
  const wasi = ['fd_write', 'environ_get', 'environ_sizes_get', 'proc_exit', 'clock_time_get', 'random_get'];
  const expected = ['env.stateroom_send', ...wasi.map((f) => `${WASI_MODULE}.${f}`)];
  for (const want of expected) assert.ok(imports.includes(`${want} (function)`), `imports ${want}; it imports: ${imports.join(', ')}`);
  for (const i of imports) assert.match(i, /^(env\.stateroom_send|wasi_snapshot_preview1\.\w+) \(function\)$/);
  const exports = new Map(WebAssembly.Module.exports(module.module).map((e) => [e.name, e.kind]));
  for (const [name, kind] of [
    ['memory', 'memory'],
    ['stateroom_malloc', 'function'],
    ['stateroom_free', 'function'],
    ['stateroom_recv', 'function'],
    ['STATEROOM_API_VERSION', 'global'],
    ['STATEROOM_API_PROTOCOL', 'global'],
  ] as const) {
    assert.equal(exports.get(name), kind, `exports ${name} (${kind})`);
  }
  assert.ok(!exports.has('_start') && !exports.has('_initialize'), 'a cdylib has neither _start nor _initialize');
});

test('like a serde guest, it runs the constructors on every call, ignores trailing bytes and panics on bytes that do not decode', async () => {
  const { module } = await loadWasmFile(wasmFile);
  // The closures below run only once `instance` is set.
  const memory = (): WebAssembly.Memory => instance.exports.memory as WebAssembly.Memory;
  const printed: string[] = [];
  const wasi = wasiImports(memory, (stream, line) => printed.push(`${stream}: ${line}`));
  let environCalls = 0;
  const sent: string[] = [];
  const instance = await WebAssembly.instantiate(module, {
    env: { stateroom_send: (ptr: number, length: number) => sent.push(Buffer.from(memory().buffer, ptr, length).toString('hex')) },
    [WASI_MODULE]: {
      ...wasi.imports,
      environ_sizes_get: (a: number, b: number) => (environCalls++, wasi.imports.environ_sizes_get(a, b)),
    },
  });
  const guest = instance.exports as {
    stateroom_malloc(size: number): number;
    stateroom_free(ptr: number, size: number): void;
    stateroom_recv(ptr: number, length: number): void;
  };
  const deliver = (bytes: Uint8Array): void => {
    const ptr = guest.stateroom_malloc(bytes.length);
    new Uint8Array(memory().buffer, ptr, bytes.length).set(bytes);
    guest.stateroom_recv(ptr, bytes.length);
    guest.stateroom_free(ptr, bytes.length);
  };
  assert.equal(guest.stateroom_malloc(0), 0, 'malloc(0) is 0');
  assert.equal(environCalls, 1, "the linker's command-export wrapper calls environ_sizes_get on each export call");
  deliver(encodeToProcess({ type: 'init' }));
  deliver(new Uint8Array([...encodeToProcess({ type: 'connect', client: 7 }), 0xde, 0xad]));
  assert.deepEqual(sent, ['00000000' + '01000000' + '07000000' + '01000000' + '0900000000000000' + Buffer.from('welcome 7').toString('hex')]);
  assert.equal(environCalls, 7, 'three calls per event (malloc, recv, free)');
  assert.throws(() => deliver(new Uint8Array([9, 0, 0, 0])), WebAssembly.RuntimeError);
  wasi.flush();
  assert.ok(printed.some((l) => l.startsWith('stderr: ') && l.includes('unknown MessageToProcess tag 9')), printed.join('\n'));
});

test('a client is welcomed with its id and its text and binary messages are echoed as the same frame kinds', async (t) => {
  const { join } = await start(t);
  const a = await join('echo', 'a');
  assert.equal(await a.nextText(), 'welcome 1');
  a.ws.send('héllo from a socket');
  assert.deepEqual(await a.next(), { data: 'héllo from a socket', binary: false });
  a.ws.send(Buffer.from([0, 1, 2, 254, 255]));
  const echoed = await a.next();
  assert.equal(echoed.binary, true);
  assert.deepEqual([...(echoed.data as Buffer)], [0, 1, 2, 254, 255]);
  // Large enough that Rust's allocator grows memory several times within one event.
  const big = Buffer.alloc(900 * 1024, 0x5a);
  a.ws.send(big);
  const bigEcho = await a.next();
  assert.equal(bigEcho.binary, true);
  assert.ok(big.equals(bigEcho.data as Buffer), 'a 900 KiB message comes back intact');
  const b = await join('echo', 'b');
  assert.equal(await b.nextText(), 'welcome 2');
  assert.equal(a.messages.length, 4, 'a welcome goes only to the new client');
});

test("SystemTime::now() in the guest reads the host's clock (WASI clock_time_get)", async (t) => {
  const { join } = await start(t);
  const a = await join('clock');
  await a.nextText();
  a.ws.send('time');
  const reply = await a.nextText();
  const match = /^time (\d+)$/.exec(reply);
  assert.ok(match, `a time in ms, not ${JSON.stringify(reply)}`);
  assert.ok(Math.abs(Number(match[1]) - Date.now()) < 5_000, `${match[1]} is within 5 s of ${Date.now()}`);
});

test("the guest's RandomState is seeded through WASI random_get: two asks, two different numbers", async (t) => {
  const { join } = await start(t);
  const a = await join('dice');
  await a.nextText();
  const draws: bigint[] = [];
  for (let i = 0; i < 2; i++) {
    a.ws.send('random');
    const match = /^random (\d+)$/.exec(await a.nextText());
    assert.ok(match, 'a random u64');
    draws.push(BigInt(match[1]!));
  }
  assert.notEqual(draws[0], draws[1]);
  assert.ok(draws.every((n) => n < 2n ** 64n));
});

test('SetTimer from Rust fires Timer: after 0 ms and after 50 ms, every client of the room gets the broadcast tick', async (t) => {
  const { join } = await start(t);
  const [a, b, other] = [await join('tock', 'a'), await join('tock', 'b'), await join('elsewhere', 'other')];
  await Promise.all([a.nextText(), b.nextText(), other.nextText()]);
  a.ws.send('timer 0');
  assert.deepEqual(await Promise.all([a.nextText(), b.nextText()]), ['tick', 'tick'], 'a 0 ms timer fires at once; it does not cancel');
  const armed = Date.now();
  b.ws.send('timer 50');
  assert.deepEqual(await Promise.all([a.nextText(), b.nextText()]), ['tick', 'tick']);
  assert.ok(Date.now() - armed >= 45, `the 50 ms timer fired after ${Date.now() - armed} ms`);
  a.ws.send('after the ticks');
  assert.equal(await a.nextText(), 'after the ticks', 'each timer fired once');
  assert.equal(other.messages.length, 1, 'another room hears no tick');
});

test("println! and eprintln! in the guest reach the log, line by line, tagged with the room and stream", async (t) => {
  const { join, logger } = await start(t);
  const a = await join('chatty');
  await a.nextText();
  a.ws.send('print');
  assert.equal(await a.nextText(), 'printed');
  const out = await logger.waitFor((e) => e.message === 'guest: hello from rust', 'the stdout line');
  assert.equal(out.level, 'info');
  assert.equal(out.fields.roomId, 'chatty');
  assert.equal(out.fields.stream, 'stdout');
  const err = await logger.waitFor((e) => e.message === 'guest: and hello from rust on stderr', 'the stderr line');
  assert.equal(err.level, 'warn');
  assert.equal(err.fields.roomId, 'chatty');
  assert.equal(err.fields.stream, 'stderr');
});

/** Panics the guest of room `doomed`, with one more client there and one in another room. */
async function panicked(t: TestContext) {
  const { join, logger } = await start(t);
  const victim = await join('doomed', 'victim');
  const bystander = await join('doomed', 'bystander');
  const neighbour = await join('fine', 'neighbour');
  await Promise.all([victim.nextText(), bystander.nextText(), neighbour.nextText()]);
  const closes = [closed(victim.ws), closed(bystander.ws)];
  victim.ws.send('panic');
  const error = await logger.waitFor((e) => e.level === 'error' && e.fields.roomId === 'doomed', 'the failure logged');
  return { join, logger, closes, error, neighbour };
}

test("panic! in the guest closes that room's clients with 1011; the panic is logged; other rooms go on; the room id gets a fresh instance", async (t) => {
  const { join, logger, closes, error, neighbour } = await panicked(t);
  for (const close of await Promise.all(closes)) assert.deepEqual(close, { code: 1011, reason: 'room service crashed (WebAssembly trap)' });
  assert.equal(error.fields.code, 'SR_ERR_WASM_TRAP');
  assert.match(error.message, /guest trapped \(room "doomed", .*during message\): RuntimeError: unreachable/);
  // std's panic hook prints through fd_write to fd 2 before the abort traps.
  // Rust 1.63 prints "thread '<unnamed>' panicked at 'boom from rust', guest.rs:L:C";
  // Rust 1.73 and later put the message on a line of its own after "panicked at guest.rs:L:C:".
  const line = await logger.waitFor((e) => e.message.includes('boom from rust'), "the guest's panic message");
  assert.ok(logger.entries.some((e) => /^guest: thread '.*' panicked at .*guest\.rs:\d+:\d+/.test(e.message)), 'where it panicked');
  assert.equal(line.level, 'warn');
  assert.equal(line.fields.roomId, 'doomed');
  assert.equal(line.fields.stream, 'stderr');
  neighbour.ws.send('still fine?');
  assert.equal(await neighbour.nextText(), 'still fine?', 'another room never noticed');
  // The failed room is forgotten: the next client starts a new room, whose ids start over.
  const again = await join('doomed', 'again');
  assert.equal(await again.nextText(), 'welcome 1');
  again.ws.send('fresh');
  assert.equal(await again.nextText(), 'fresh');
});

test("the logged error names a Rust guest's panic message, not std's RUST_BACKTRACE note", async (t) => {
  const { error } = await panicked(t);
  assert.match(error.message, /boom from rust/);
  assert.doesNotMatch(error.message, /RUST_BACKTRACE/);
});
