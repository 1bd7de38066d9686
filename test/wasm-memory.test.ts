// WebAssembly memory: the per-instance limit holds inside a call (memory.grow past it fails),
// RSS stays bounded with rooms at the limit, and a per-process budget of memory and of
// instances refuses new rooms (503) rather than harming the rooms that run.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WebSocket } from 'ws';
import { closed, refusal } from './helpers/sockets.js';
import { startWasm } from './helpers/wasm.js';

const MiB = 2 ** 20;

for (const isolation of ['pool', 'inline'] as const) {
  test(`a guest growing past its limit inside one call fails its room with SR_ERR_WASM_MEMORY at the limit (${isolation})`, async (t) => {
    const { join, logger } = await startWasm(t, 'grow-loop', { isolation, poolSize: 1, memoryLimitBytes: 16 * MiB });
    const [hungry, calm] = [await join('hungry'), await join('calm')];
    const gone = closed(hungry.ws);
    hungry.ws.send('grow');
    assert.deepEqual(await gone, { code: 1011, reason: 'room service used too much memory' });
    const entry = await logger.waitFor((e) => e.level === 'error' && e.fields.roomId === 'hungry', 'the failure logged');
    assert.equal(entry.fields.code, 'SR_ERR_WASM_MEMORY');
    assert.match(entry.message, /^guest ran out of memory at 15 MiB of its limit of 16 MiB and trapped \(room "hungry"/);
    calm.ws.send('still here');
    assert.equal(await calm.nextText(), 'still here', 'the room sharing its thread goes on');
  });
}

test('eight rooms growing to the limit at once: RSS grows by about their limits, no more', async (t) => {
  const limit = 16 * MiB;
  const { join } = await startWasm(t, 'grow-loop', { poolSize: 2, memoryLimitBytes: limit });
  const rooms = await Promise.all(Array.from({ length: 8 }, (_, i) => join(`g${i}`)));
  const before = process.memoryUsage.rss();
  const closes = rooms.map((r) => closed(r.ws, 10_000));
  for (const room of rooms) room.ws.send('grow');
  for (const close of await Promise.all(closes)) assert.equal(close.reason, 'room service used too much memory');
  // Measured before the failed instances are collected: the peak is what they held.
  const grown = process.memoryUsage.rss() - before;
  t.diagnostic(`RSS grew by ${(grown / MiB).toFixed(0)} MiB with 8 rooms at a limit of ${limit / MiB} MiB`);
  assert.ok(grown < 8 * limit + 96 * MiB, `RSS grew by ${(grown / MiB).toFixed(0)} MiB`);
});

test('the process memory budget refuses new rooms with 503; rooms already running are untouched', async (t) => {
  // grow.wat grows 16 MiB per call: after connect and one message a room holds 48 MiB.
  const { join, url } = await startWasm(t, 'grow', { poolSize: 2, memoryBudgetBytes: 90 * MiB });
  const first = await join('first');
  first.ws.send('a');
  assert.equal(await first.nextText(), 'a');
  const second = await join('second');
  second.ws.send('b');
  assert.equal(await second.nextText(), 'b');
  assert.equal(await refusal(url('third')), "503 WebAssembly rooms hold the server's memory budget of 90 MiB; try again later");
  const again = await join('first'); // an existing room still takes clients
  t.after(() => again.ws.terminate());
  assert.equal(first.ws.readyState, WebSocket.OPEN);
});

test('the instance budget refuses new rooms with 503, and a room let go makes room for one', async (t) => {
  const { join, url, logger } = await startWasm(t, 'counter', { poolSize: 1, maxInstances: 2 }, { roomIdleMs: 50 });
  const a = await join('a');
  await join('b');
  assert.equal(await refusal(url('c')), '503 the server holds its limit of 2 WebAssembly instances; try again later');
  a.ws.close();
  await logger.waitFor((e) => e.message === 'room disposed' && e.fields.roomId === 'a', 'room a disposed');
  const c = await join('c');
  c.ws.send('x');
  assert.equal((await c.next()).binary, true, 'the new room runs');
});
