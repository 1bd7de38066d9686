// WASM rooms on a pool of worker threads: many rooms per thread, a runaway guest and the
// rooms that share its thread, memory limits per instance, and the batched adapter call.
// Real sockets; every wait has a deadline.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { WebSocket } from 'ws';
import type { Logger } from '../src/logger.js';
import type { Context, Payload, Recipient } from '../src/service/types.js';
import { loadWasmFile } from '../src/wasm/abi/load.js';
import type { PooledRoom } from '../src/wasm/pool/pooled-room.js';
import { wasmAdapterSource } from '../src/wasm/source.js';
import { within } from './helpers/deadline.js';
import type { Entry } from './helpers/logs.js';
import type { Inbox } from './helpers/sockets.js';
import { fixture, startWasm } from './helpers/wasm.js';

const TIMED_OUT = 'room service timed out (call took too long)';
const LOST = 'room service lost with its worker thread';

/** The counter guest's answer: the room's message count so far. */
async function count(inbox: Inbox): Promise<number> {
  const { data, binary } = await inbox.next();
  assert.equal(binary, true, `${inbox.name}: the count is a binary frame`);
  return (data as Buffer).readUInt32LE(0);
}

/** The echo guest (guest.wat) greets each client with the bytes "hi". */
async function greeted(inbox: Inbox): Promise<void> {
  assert.equal((await inbox.next()).data.toString(), 'hi', `${inbox.name} greeted`);
}

/** Resolves with the close code and reason whenever the socket closes (no deadline of its own). */
function whenClosed(ws: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
}

test('fifty rooms on a pool of two threads: each counts only its own messages, in the order they came', async (t) => {
  const { join } = await startWasm(t, 'counter', { poolSize: 2 });
  const perClient = 20;
  const rooms: Array<[Inbox, Inbox]> = [];
  for (let i = 0; i < 50; i++) rooms.push([await join(`r${i}`, `r${i}/a`), await join(`r${i}`, `r${i}/b`)]);
  // Everything at once: rooms on one thread interleave, each room's messages stay in order.
  for (const pair of rooms) for (const inbox of pair) for (let k = 0; k < perClient; k++) inbox.ws.send(`m${k}`);
  for (const [a, b] of rooms) {
    const seen: number[] = [];
    for (const inbox of [a, b]) {
      const counts: number[] = [];
      for (let k = 0; k < perClient; k++) counts.push(await count(inbox));
      assert.deepEqual(counts, [...counts].sort((x, y) => x - y), `${inbox.name} sees its answers in order`);
      seen.push(...counts);
    }
    const all = Array.from({ length: 2 * perClient }, (_, k) => k + 1);
    assert.deepEqual(seen.sort((x, y) => x - y), all, `${a.name}: the room counted its 40 messages, no other room's`);
  }
});

test('a runaway guest fails its room and the rooms sharing its thread, cleanly; the pool replaces the thread', async (t) => {
  const timeoutMs = 300;
  const { join, logger } = await startWasm(t, 'guest', { poolSize: 2, callTimeoutMs: timeoutMs });
  const names = Array.from({ length: 10 }, (_, i) => `t${i}`);
  const inboxes = new Map<string, Inbox>();
  const closes = new Map<string, Promise<{ code: number; reason: string }>>();
  for (const name of names) {
    const inbox = await join(name);
    await greeted(inbox);
    inboxes.set(name, inbox);
    closes.set(name, whenClosed(inbox.ws));
  }
  inboxes.get('t0')!.ws.send('l'); // loops forever
  // Some rooms have a call waiting (maybe behind the spinning one), the others are idle.
  for (const name of names.slice(1, 5)) inboxes.get(name)!.ws.send('ping');

  const death = await logger.waitFor((e) => e.level === 'warn' && Array.isArray(e.fields.roomIds), 'the thread death logged', 5_000);
  const lost = death.fields.roomIds as string[];
  assert.match(death.message, /WASM worker thread #\d+: room "t0"'s message call ran longer than the call timeout of 300 ms; rooms lost with it: "t0"/);
  assert.ok(lost.includes('t0') && lost.length > 1, `the runaway shared its thread: ${lost.join(', ')}`);
  const survivors = names.filter((name) => !lost.includes(name));
  assert.ok(survivors.length > 0, 'least-loaded placement put rooms on the other thread');

  for (const name of lost) {
    const reason = name === 't0' ? TIMED_OUT : LOST;
    assert.deepEqual(await within(closes.get(name)!, `${name} closed`), { code: 1011, reason }, name);
    const failed = await logger.waitFor((e: Entry) => e.level === 'error' && e.fields.roomId === name, `${name}'s failure logged`);
    assert.match(
      failed.message,
      name === 't0'
        ? /guest message ran longer than the call timeout of 300 ms; its worker was terminated \(room "t0"/
        : /guest lost: its worker thread #\d+ was terminated because room "t0"'s message call ran longer than the call timeout of 300 ms/,
      name,
    );
  }
  for (const name of survivors) {
    const inbox = inboxes.get(name)!;
    if (names.slice(1, 5).includes(name)) assert.equal(await inbox.nextText(), 'ping', `${name} answered meanwhile`);
    inbox.ws.send('still here?');
    assert.equal(await inbox.nextText(), 'still here?', `${name} never noticed`);
  }
  for (const name of lost) {
    const again = await join(name, `${name} again`);
    await greeted(again);
    again.ws.send('fresh');
    assert.equal(await again.nextText(), 'fresh', `${name} has a fresh instance`);
  }
});

test('the memory limit is per instance: rooms sharing one thread fail or go on by their own memory', async (t) => {
  // grow.wat grows 16 MiB per call: init and connect make 32 MiB, each message 16 more.
  const { join, logger } = await startWasm(t, 'grow', { poolSize: 1, memoryLimitBytes: 56 * 2 ** 20 });
  const [hungry, calm] = [await join('hungry'), await join('calm')];
  const gone = whenClosed(hungry.ws);
  hungry.ws.send('one'); // 48 MiB
  assert.equal(await hungry.nextText(), 'one');
  hungry.ws.send('two'); // 64 MiB: over, so memory.grow fails inside the call and the guest traps
  assert.deepEqual(await within(gone, 'the hungry room closed'), { code: 1011, reason: 'room service used too much memory' });
  const entry = await logger.waitFor((e) => e.level === 'error' && e.fields.roomId === 'hungry', 'the failure logged');
  assert.match(entry.message, /guest ran out of memory at 48 MiB of its limit of 56 MiB and trapped \(room "hungry"/);
  calm.ws.send('one'); // 48 MiB of its own, on the same thread
  assert.equal(await calm.nextText(), 'one', 'the other room on that thread goes on');
});

/** A room context that records what the guest sent, in order. */
function recordingContext(roomId: string) {
  const sent: Array<[Recipient, Payload]> = [];
  const ctx: Context = { roomId, sendMessage: (to, payload) => sent.push([to, payload]), setTimer: () => {}, clearTimer: () => {}, close: () => {}, clientInfo: () => undefined };
  return { ctx, sent };
}

const quiet: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {}, child: () => quiet };
const unexpectedFailure = (error: Error): never => assert.fail(`the adapter reported a failure between calls: ${error.message}`);

test('messages(batch): several messages in one crossing, in order, their sends applied before it resolves', async (t) => {
  const source = wasmAdapterSource(await loadWasmFile(fixture('counter')), { poolSize: 1 });
  t.after(() => source.close());
  const { ctx, sent } = recordingContext('batch');
  const room = (await source.createAdapter('batch', ctx, quiet, unexpectedFailure)) as PooledRoom;
  await within(room.init(), 'init');
  await within(room.messages([1, 2, 3, 2, 1].map((client, k) => ({ client, payload: `m${k}` }))), 'the batch');
  assert.deepEqual(
    sent.map(([to, payload]) => [to, Buffer.from(payload as Uint8Array).readUInt32LE(0)]),
    [[1, 1], [2, 2], [3, 3], [2, 4], [1, 5]],
  );
  await within(room.dispose(), 'dispose');
});

test('messages(batch): a failure stops the batch there and rejects it; later calls are refused', async (t) => {
  const source = wasmAdapterSource(await loadWasmFile(fixture('guest')), { poolSize: 1 });
  t.after(() => source.close());
  const { ctx, sent } = recordingContext('trap');
  const room = (await source.createAdapter('trap', ctx, quiet, unexpectedFailure)) as PooledRoom;
  await within(room.init(), 'init');
  // guest.wat acts on a message's first letter: t traps; a and b are echoed.
  const batch = ['a', 'b', 't', 'a again'].map((payload) => ({ client: 7, payload }));
  await assert.rejects(within(room.messages(batch), 'the batch'), { code: 'SR_ERR_WASM_TRAP', message: /guest trapped \(room "trap"/ });
  assert.deepEqual(sent, [[7, 'a'], [7, 'b']], 'the sends before the failure were applied, none after');
  await assert.rejects(within(room.message(7, 'b again'), 'a later call'), { code: 'SR_ERR_WASM_TRAP' });
});

test('pool options are checked', async () => {
  const module = await loadWasmFile(fixture('guest'));
  for (const poolSize of [0, 1.5, -2]) {
    assert.throws(() => wasmAdapterSource(module, { poolSize }), { code: 'SR_ERR_OPTIONS_INVALID', message: /^poolSize must be a whole number of threads/ });
  }
  assert.throws(() => wasmAdapterSource(module, { isolation: 'threads' as 'pool' }), { code: 'SR_ERR_OPTIONS_INVALID', message: /isolation must be pool, worker or inline/ });
});

test('close() stops the threads: rooms on them are lost, and no new room starts', async (t) => {
  const { join, logger, close } = await startWasm(t, 'guest', { poolSize: 2 });
  const a = await join('before');
  await greeted(a);
  const gone = whenClosed(a.ws);
  await within(close(), 'the pool closed');
  assert.equal((await within(gone, 'the room on it closed')).code, 1011);
  const b = await join('after');
  assert.deepEqual(await within(whenClosed(b.ws), 'the new room refused'), { code: 1011, reason: 'room service failed to start' });
  const entry = await logger.waitFor((e) => e.level === 'error' && e.fields.roomId === 'after', 'the refusal logged');
  assert.match(entry.message, /the WASM worker pool of test\/fixtures\/wasm\/guest\.wat is closed/);
});

test('a thread cut off by the watchdog is let go: twelve runaways later, no ring of theirs is still held', async (t) => {
  // The rings of a dead thread must not stay reachable (a pending Atomics.waitAsync keeps its
  // callback, and so its PoolWorker, alive until it is woken). Each PoolWorker holds two
  // 128 KiB shared rings, counted in process.memoryUsage().arrayBuffers.
  v8.setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const collected = async (): Promise<number> => {
    for (let i = 0; i < 3; i++) {
      await new Promise((resolve) => setImmediate(resolve));
      gc();
    }
    return process.memoryUsage().arrayBuffers;
  };
  const { join } = await startWasm(t, 'guest', { poolSize: 1, callTimeoutMs: 100 });
  await greeted(await join('calm'));
  const before = await collected();
  const runaways = 12;
  for (let i = 0; i < runaways; i++) {
    const inbox = await join(`loop${i}`);
    await greeted(inbox);
    const closed = whenClosed(inbox.ws);
    inbox.ws.send('l'); // loops forever: the watchdog terminates the thread
    assert.equal((await within(closed, `loop${i} closed`)).code, 1011);
  }
  const grown = (await collected()) - before;
  // Leaked, the twelve dead threads' rings alone would be 3 MiB.
  assert.ok(grown < 1024 * 1024, `array buffers grew by ${(grown / 1024).toFixed(0)} KiB over ${runaways} dead threads`);
});
