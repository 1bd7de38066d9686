// WASM rooms end to end: hand-written guests (test/fixtures/wasm) behind serve(), real sockets.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { serve } from '../src/index.js';
import { wasmAdapterSource, type WasmHostOptions } from '../src/wasm/source.js';
import { loadWasmFile } from '../src/wasm/abi/load.js';
import { MemoryLogger } from './helpers/logs.js';
import { client, closed, type Inbox } from './helpers/sockets.js';

const fixture = (name: string): string => `test/fixtures/wasm/${name}.wat`;

async function start(t: TestContext, guest: string, host: WasmHostOptions = {}) {
  const logger = new MemoryLogger();
  const source = wasmAdapterSource(await loadWasmFile(fixture(guest)), host);
  t.after(() => source.close());
  const server = await serve(source, { port: 0, host: '127.0.0.1', logger });
  t.after(() => server.close());
  const join = async (room: string, name?: string): Promise<Inbox> => {
    const inbox = await client(`ws://127.0.0.1:${server.port}/ws/${room}`, name);
    t.after(() => inbox.ws.terminate());
    return inbox;
  };
  return { server, logger, join };
}

/** The guest greets each client with the binary bytes "hi" on Connect. */
async function greeted(inbox: Inbox): Promise<void> {
  const hello = await inbox.next();
  assert.equal(hello.binary, true, 'the greeting is a binary frame');
  assert.equal(hello.data.toString(), 'hi');
}

for (const isolation of ['pool', 'worker', 'inline'] as const) {
  test(`a WASM room (${isolation}) greets, echoes text and bytes as the same frame kinds, and fires timers`, async (t) => {
    const { join } = await start(t, 'guest', { isolation });
    const a = await join('w', 'a');
    await greeted(a);
    a.ws.send('héllo wörld');
    assert.deepEqual(await a.next(), { data: 'héllo wörld', binary: false });
    a.ws.send(Buffer.from([0, 1, 2, 254, 255]));
    const echoed = await a.next();
    assert.equal(echoed.binary, true);
    assert.deepEqual([...(echoed.data as Buffer)], [0, 1, 2, 254, 255]);
    a.ws.send('');
    assert.deepEqual(await a.next(), { data: '', binary: false }, 'an empty text message round-trips');
    const b = await join('w', 'b');
    await greeted(b);
    a.ws.send('0'); // SetTimer { 0 }: Timer arrives right away; the guest broadcasts "tick"
    assert.deepEqual(await Promise.all([a.nextText(), b.nextText()]), ['tick', 'tick']);
  });
}

test('each room has its own instance, and the id of each event is the right client', async (t) => {
  const { join } = await start(t, 'guest');
  const [a, b, c] = [await join('one', 'a'), await join('one', 'b'), await join('two', 'c')];
  await Promise.all([greeted(a), greeted(b), greeted(c)]);
  b.ws.send('from b');
  c.ws.send('from c');
  assert.equal(await b.nextText(), 'from b');
  assert.equal(await c.nextText(), 'from c');
  assert.equal(a.messages.length, 1, 'an echo goes only to its sender');
});

for (const [trigger, what, reason, logged] of [
  ['t', 'a trap', 'room service crashed (WebAssembly trap)', /guest trapped .*room "bad".*panicked at 'boom' here/],
  ['g', 'undecodable bytes', 'room service sent bytes that do not decode', /unknown MessageFromProcess tag 7/],
  ['x', 'proc_exit', 'room service exited (proc_exit)', /proc_exit\(3\)/],
  ['o', 'a send from outside its memory', 'room service sent bytes that do not decode', /outside its memory/],
] as const) {
  test(`${what} poisons only that room: its clients get 1011, the next connection a fresh instance`, async (t) => {
    const { join, logger } = await start(t, 'guest');
    const [victim, bystander, neighbour] = [await join('bad', 'victim'), await join('bad', 'bystander'), await join('good', 'neighbour')];
    await Promise.all([greeted(victim), greeted(bystander), greeted(neighbour)]);
    const closes = [closed(victim.ws), closed(bystander.ws)];
    victim.ws.send(trigger);
    for (const close of await Promise.all(closes)) assert.deepEqual(close, { code: 1011, reason });
    const entry = await logger.waitFor((e) => e.level === 'error' && e.fields.roomId === 'bad', 'the failure logged');
    assert.match(entry.message, logged);
    neighbour.ws.send('still fine?');
    assert.equal(await neighbour.nextText(), 'still fine?', 'another room never noticed');
    const again = await join('bad', 'again');
    await greeted(again);
    again.ws.send('fresh');
    assert.equal(await again.nextText(), 'fresh');
  });
}

// In a pool of two, least-loaded placement puts the two rooms on different threads; with
// `worker` each room has a thread of its own.
for (const host of [{ isolation: 'pool', poolSize: 2 }, { isolation: 'worker' }] as const) {
  test(`a guest stuck in an endless loop is cut off after the call timeout; other rooms keep answering meanwhile (${host.isolation})`, async (t) => {
    const { join, logger } = await start(t, 'guest', { ...host, callTimeoutMs: 1_000 });
    const [stuck, other] = [await join('spin', 'stuck'), await join('calm', 'other')];
    await Promise.all([greeted(stuck), greeted(other)]);
    const gone = closed(stuck.ws, 5_000);
    const started = performance.now();
    stuck.ws.send('l');
    const roundTrips: number[] = [];
    while (performance.now() - started < 800) {
      const sent = performance.now();
      other.ws.send('ping');
      assert.equal(await other.nextText(), 'ping');
      roundTrips.push(performance.now() - sent);
    }
    assert.ok(roundTrips.length > 5, `only ${roundTrips.length} round trips while the other room spun`);
    assert.ok(Math.max(...roundTrips) < 100, `slowest round trip ${Math.max(...roundTrips).toFixed(1)} ms`);
    assert.deepEqual(await gone, { code: 1011, reason: 'room service timed out (call took too long)' });
    const cutAfter = performance.now() - started;
    assert.ok(cutAfter >= 1_000, `cut off no earlier than the timeout (after ${cutAfter.toFixed(1)} ms)`);
    const entry = await logger.waitFor((e) => e.level === 'error' && e.fields.roomId === 'spin', 'the timeout logged');
    assert.match(entry.message, /message ran longer than the call timeout of 1000 ms; its worker was terminated/);
    const again = await join('spin', 'again');
    await greeted(again);
  });
}

test("the guest's panic output reaches the log, tagged with its room", async (t) => {
  const { join, logger } = await start(t, 'guest');
  const a = await join('loud');
  await greeted(a);
  a.ws.send('t');
  const line = await logger.waitFor((e) => e.message.startsWith('guest: '), 'the printed line');
  assert.equal(line.message, "guest: panicked at 'boom' here");
  assert.equal(line.fields.roomId, 'loud');
  assert.equal(line.fields.stream, 'stderr');
});

test('a guest whose memory grows on every call still exchanges messages correctly', async (t) => {
  const { join } = await start(t, 'grow', { memoryLimitBytes: 256 * 2 ** 20 }); // 16 MiB more per call
  const a = await join('g');
  for (const text of ['one', 'two', 'three', 'four']) {
    a.ws.send(text);
    assert.equal(await a.nextText(), text);
  }
});

test('a guest whose memory grows past the limit fails its room only', async (t) => {
  const { join, logger } = await start(t, 'grow', { memoryLimitBytes: 40 * 2 ** 20 });
  const a = await join('hungry'); // init and connect: 1 + 2 × 256 pages, 32 MiB
  const gone = closed(a.ws);
  a.ws.send('one'); // 48 MiB
  assert.deepEqual(await gone, { code: 1011, reason: 'room service used too much memory' });
  const entry = await logger.waitFor((e) => e.level === 'error', 'the failure logged');
  // The limit is the memory's maximum: the grow to 48 MiB fails inside the call, at 32 MiB.
  assert.match(entry.message, /guest ran out of memory at 32 MiB of its limit of 40 MiB and trapped \(room "hungry"/);
});

test('modules that are not Stateroom ABI v1 modules are refused before any room, naming the problem', async () => {
  const cases: Array<[string, string, RegExp]> = [
    ['bad-version', 'SR_ERR_WASM_BAD_VERSION', /speaks Stateroom API version 2, protocol 0; this host speaks version 1/],
    ['missing-export', 'SR_ERR_WASM_NOT_STATEROOM', /lacks the export\(s\) stateroom_recv \(function\)/],
    ['old-interface', 'SR_ERR_WASM_NOT_STATEROOM', /older Stateroom interface \(it exports JAMSOCKET_API_VERSION/],
    ['bad-import', 'SR_ERR_WASM_BAD_IMPORT', /imports env\.abort \(function\), which stateroom does not provide/],
  ];
  for (const [name, code, message] of cases) {
    await assert.rejects(loadWasmFile(fixture(name)), { code, message }, name);
  }
  await assert.rejects(loadWasmFile('package.json'), { code: 'SR_ERR_WASM_INVALID', message: /package\.json is not a valid WebAssembly module/ });
});
