// What a WASM guest sends during a long call reaches its clients while the call goes on (as
// upstream's server delivers it), and what it sent before the call timeout cut it off is
// delivered before its room is closed — in `pool` and `worker` isolation alike. Also the log
// lines of a timeout: one per condition, no duplicated keys, no host stack trace.
// Real sockets; every wait has a deadline.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { WebSocket } from 'ws';
import { serve } from '../src/index.js';
import { createLogger, type Logger } from '../src/logger.js';
import { LogLines, duplicateKeys } from './helpers/json-logs.js';
import type { Context, Payload, Recipient } from '../src/service/types.js';
import { loadWasmFile } from '../src/wasm/abi/load.js';
import type { PooledRoom } from '../src/wasm/pool/pooled-room.js';
import { wasmAdapterSource, type WasmHostOptions } from '../src/wasm/source.js';
import { within } from './helpers/deadline.js';
import { MemoryLogger } from './helpers/logs.js';
import { client, type Inbox } from './helpers/sockets.js';

const SEND_SPIN = 'test/fixtures/wasm/send-spin.wat';
const TIMED_OUT = 'room service timed out (call took too long)';

async function start(t: TestContext, host: WasmHostOptions, logger: Logger = new MemoryLogger()) {
  const source = wasmAdapterSource(await loadWasmFile(SEND_SPIN), host);
  t.after(() => source.close());
  const server = await serve(source, { port: 0, host: '127.0.0.1', logger });
  t.after(() => server.close());
  const join = async (room: string, name = room): Promise<Inbox> => {
    const inbox = await client(`ws://127.0.0.1:${server.port}/ws/${room}`, name);
    t.after(() => inbox.ws.terminate());
    return inbox;
  };
  return { join };
}

/** The close, and how many messages the socket had received when it came. */
function whenClosed(inbox: Inbox): Promise<{ code: number; reason: string; receivedBefore: number }> {
  const ws: WebSocket = inbox.ws;
  return new Promise((resolve) =>
    ws.once('close', (code, reason) => resolve({ code, reason: reason.toString(), receivedBefore: inbox.messages.length })),
  );
}

for (const isolation of ['pool', 'worker'] as const) {
  test(`a message sent before a long computation reaches the client while the call still runs, then the timeout closes the room (${isolation})`, async (t) => {
    const callTimeoutMs = 1_500;
    const { join } = await start(t, { isolation, callTimeoutMs });
    const a = await join('hog');
    a.ws.send('b'); // a round trip: the instance is up (a thread start is slow under tsx)
    assert.equal(await a.nextText(), 'before');
    const gone = whenClosed(a);
    const sent = performance.now();
    a.ws.send('s');
    // Well inside the call timeout: the call is still spinning when this arrives.
    assert.equal(await a.nextText(callTimeoutMs / 3), 'before');
    assert.ok(performance.now() - sent < callTimeoutMs, 'delivered before the call could have ended');
    assert.equal(a.ws.readyState, a.ws.OPEN, 'the room is still open: its call goes on');
    const close = await within(gone, 'the room closed at the call timeout', callTimeoutMs * 4);
    assert.deepEqual(close, { code: 1011, reason: TIMED_OUT, receivedBefore: 2 });
    assert.ok(performance.now() - sent >= callTimeoutMs, 'closed no earlier than the timeout');
  });

  test(`what a guest sent up to the moment the timeout cut it off is delivered, in order, before the 1011 close (${isolation})`, async (t) => {
    const { join } = await start(t, { isolation, callTimeoutMs: 300 });
    const a = await join('counting');
    const gone = whenClosed(a);
    a.ws.send('c');
    const close = await within(gone, 'the room closed at the call timeout', 5_000);
    assert.equal(close.code, 1011);
    assert.equal(close.reason, TIMED_OUT);
    const counts = a.messages.map((m) => (m.data as Buffer).readUInt32LE(0));
    assert.ok(counts.length > 0, 'the guest sent before it was cut off');
    assert.equal(close.receivedBefore, counts.length, 'nothing arrived after the close');
    assert.deepEqual(counts, Array.from({ length: counts.length }, (_, k) => k + 1), 'every count, in order, none lost');
  });
}

/** A room context that records what the guest sent, in order. */
function recordingContext(roomId: string) {
  const sent: Array<[Recipient, Payload]> = [];
  const ctx: Context = { roomId, sendMessage: (to, payload) => sent.push([to, payload]), setTimer: () => {}, clearTimer: () => {}, close: () => {}, clientInfo: () => undefined };
  return { ctx, sent };
}

test('a room sharing a thread with a runaway: its call in the same batch settles, its sends applied, while the runaway spins', async (t) => {
  const source = wasmAdapterSource(await loadWasmFile(SEND_SPIN), { poolSize: 1, callTimeoutMs: 2_000 });
  t.after(() => source.close());
  const quiet = new MemoryLogger();
  const calm = recordingContext('calm');
  const hog = recordingContext('hog');
  const failures: Error[] = [];
  const rooms = [
    (await source.createAdapter('calm', calm.ctx, quiet, (e) => failures.push(e))) as PooledRoom,
    (await source.createAdapter('hog', hog.ctx, quiet, (e) => failures.push(e))) as PooledRoom,
  ];
  await within(Promise.all(rooms.map((room) => room.init())), 'init');
  // Both in one turn: one batch, the calm room's call first, the runaway's right behind it.
  const calmCall = rooms[0]!.message(7, 'b');
  const hogCall = rooms[1]!.message(9, 's');
  hogCall.catch(() => {}); // it fails at the timeout, after this test has what it wants
  await within(calmCall, "the calm room's call, answered in the runaway's batch", 1_000);
  assert.deepEqual(calm.sent, [[7, 'before']]);
  const deadline = performance.now() + 1_000;
  // The runaway's own send arrives while it spins (read every few ms).
  while (hog.sent.length === 0 && performance.now() < deadline) await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(hog.sent, [[9, 'before']], "the runaway's send, while its call still runs");
  assert.deepEqual(failures, []);
});


test('a timeout is logged with the room, the client and the reason: no duplicated key (the thread is `thread`, a --workers process `worker`), no stack', async (t) => {
  const lines = new LogLines();
  // As `stateroom serve --workers N` logs in each worker process.
  const logger = createLogger('info', lines).child({ worker: 1 });
  const { join } = await start(t, { poolSize: 1, callTimeoutMs: 300 }, logger);
  const [hog, calm] = [await join('hog'), await join('calm')];
  const gone = [whenClosed(hog), whenClosed(calm)];
  hog.ws.send('s');
  assert.equal(await hog.nextText(), 'before');
  await within(Promise.all(gone), 'both rooms on the thread closed', 5_000);
  const failed = await lines.waitFor((e) => e.roomId === 'hog' && e.level === 50, "the runaway's error line");
  assert.match(String(failed.msg), /guest message ran longer than the call timeout of 300 ms; its worker was terminated \(room "hog", client 1, /);
  assert.equal(failed.code, 'SR_ERR_WASM_TIMEOUT');
  const thread = await lines.waitFor((e) => Array.isArray(e.roomIds), 'the thread line');
  assert.equal(thread.worker, 1, 'the process field is kept');
  assert.match(String(thread.thread), /^#\d+$/);
  assert.deepEqual(thread.roomIds, ['hog', 'calm']);
  await lines.waitFor((e) => e.roomId === 'calm' && e.level === 50, "the co-tenant's error line");
  for (const { raw } of lines.lines) {
    assert.deepEqual(duplicateKeys(raw), [], `no key twice in ${raw}`);
    if (/SR_ERR_WASM_(TIMEOUT|WORKER_LOST)/.test(raw)) assert.doesNotMatch(raw, /"stack"|\\n\s+at /, `no stack trace in ${raw}`);
  }
});
