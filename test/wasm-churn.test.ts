// Room churn against WebAssembly rooms: connecting to random room ids and leaving at once
// must not hurt a room with a connected client. New rooms past the instance budget are
// refused (503), rooms no client ever spoke in go quickly, and a slow instantiation fails
// only its own room — it never trips the thread watchdog. Real sockets, loopback.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WebSocket } from 'ws';
import { serve } from '../src/index.js';
import type { ClientId, Context, Payload } from '../src/service/types.js';
import { within } from './helpers/deadline.js';
import { MemoryLogger, type Entry } from './helpers/logs.js';
import { DEADLINE_MS } from './helpers/sockets.js';
import { startWasm } from './helpers/wasm.js';

const threadLost = (e: Entry): boolean => e.level === 'warn' && Array.isArray(e.fields.roomIds);

/** Opens a socket to `url` and closes it as soon as it opens: one room of a churn. Resolves with the HTTP status. */
function touchAndGo(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const timer = setTimeout(() => reject(new Error(`${url}: no answer`)), DEADLINE_MS);
    ws.on('open', () => {
      clearTimeout(timer);
      ws.close();
      resolve(101);
    });
    ws.on('unexpected-response', (_req, res) => {
      clearTimeout(timer);
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    ws.on('error', () => {});
  });
}

test('a churn of rooms past the instance budget gets 503; the connected room is untouched and no thread is killed', async (t) => {
  // The default budget is ~6,500 instances; scaled down to 40 here, same mechanism.
  const { join, url, logger } = await startWasm(t, 'counter', { poolSize: 1, maxInstances: 40, callTimeoutMs: 300 }, { untouchedRoomIdleMs: 60_000 });
  const victim = await join('victim');
  victim.ws.send('1');
  assert.deepEqual([...((await victim.next()).data as Buffer)], [1, 0, 0, 0]);
  const statuses: number[] = [];
  // In waves of 20 at once, as an attacker would.
  for (let wave = 0; wave < 4; wave++) {
    statuses.push(...(await Promise.all(Array.from({ length: 20 }, (_, i) => touchAndGo(url(`churn-${wave}-${i}`))))));
  }
  assert.equal(statuses.filter((s) => s === 101).length, 39, 'rooms up to the budget (the victim holds one)');
  assert.equal(statuses.filter((s) => s === 503).length, 41, 'the rest refused at the door');
  victim.ws.send('2');
  assert.deepEqual([...((await victim.next()).data as Buffer)], [2, 0, 0, 0], 'the victim room goes on, its state intact');
  assert.equal(victim.ws.readyState, WebSocket.OPEN);
  assert.equal(logger.entries.filter(threadLost).length, 0, 'no thread was killed');
  assert.equal(logger.entries.filter((e) => e.level === 'info' && /^room (created|disposed)$/.test(e.message)).length, 0, 'room lifecycle lines are debug, not info');
});

test('rooms no client spoke in go after the short idle time; a room spoken in keeps the full one', async (t) => {
  const { join, logger, server } = await startWasm(t, 'counter', { poolSize: 1 }, { untouchedRoomIdleMs: 100, roomIdleMs: 60_000 });
  const spoken = await join('spoken');
  spoken.ws.send('x');
  await spoken.next();
  const silent = await join('silent');
  const gone = logger.waitFor((e) => e.message === 'room disposed' && e.fields.roomId === 'silent', 'the silent room disposed');
  spoken.ws.close();
  silent.ws.close();
  await gone;
  assert.equal(server.roomCount, 1, 'the room spoken in is still there');
  const back = await join('spoken');
  back.ws.send('y');
  assert.deepEqual([...((await back.next()).data as Buffer)], [2, 0, 0, 0], 'and found as it was');
});

test('the idle rule holds for native rooms too', async (t) => {
  const logger = new MemoryLogger();
  class Echo {
    constructor(
      _roomId: string,
      private readonly ctx: Context,
    ) {}
    message(client: ClientId, payload: Payload): void {
      this.ctx.sendMessage(client, payload);
    }
  }
  const server = await serve(Echo, { port: 0, host: '127.0.0.1', logger, untouchedRoomIdleMs: 50 });
  t.after(() => server.close());
  const gone = logger.waitFor((e) => e.message === 'room disposed' && e.fields.roomId === 'drive-by', 'the room disposed');
  assert.equal(await touchAndGo(`ws://127.0.0.1:${server.port}/ws/drive-by`), 101);
  await gone;
  assert.equal(server.roomCount, 0);
});

test('a slow instantiation never trips the watchdog: the rooms on its thread go on', async (t) => {
  // Each start takes a few hundred ms, past the 100 ms call timeout.
  const { join, logger } = await startWasm(t, 'slow-start', { poolSize: 1, callTimeoutMs: 100 });
  const innocent = await join('innocent');
  innocent.ws.send('before');
  // Its own start first: up to ~1 s before V8 tiers the module up, longer on a loaded machine.
  assert.equal(await innocent.nextText(10_000), 'before');
  const newcomer = await join('newcomer');
  innocent.ws.send('meanwhile'); // waits behind the newcomer's start on the one thread
  newcomer.ws.send('hello');
  assert.equal(await innocent.nextText(5_000), 'meanwhile');
  assert.equal(await newcomer.nextText(5_000), 'hello');
  assert.equal(logger.entries.filter(threadLost).length, 0, 'no thread was killed');
  assert.equal(logger.entries.filter((e) => e.level === 'error').length, 0, 'no room failed');
});

test('an instance that does not start in time fails only its own room', async (t) => {
  // One start takes 150-400 ms (it counts to 500 million) — the very first up to ~1 s, before
  // V8 tiers the module's code up, more on a loaded machine: with a 2.5 s start timeout, of
  // twenty-four rooms whose starts queue on one thread the first few start and the last ones
  // are still waiting when their time is up.
  const { join, url, logger } = await startWasm(t, 'slow-start', { poolSize: 1, callTimeoutMs: 100, startTimeoutMs: 2_500 });
  const innocent = await join('innocent');
  innocent.ws.send('started?');
  assert.equal(await innocent.nextText(10_000), 'started?');
  const rooms = await Promise.all(Array.from({ length: 24 }, (_, i) => `q${i}`).map(async (room) => {
    const ws = new WebSocket(url(room));
    t.after(() => ws.terminate());
    const outcome = new Promise<string>((resolve) => {
      ws.on('message', () => resolve('started'));
      ws.on('close', (_code, reason) => resolve(reason.toString()));
    });
    await new Promise((resolve) => ws.once('open', resolve));
    ws.send('ping');
    return within(outcome, `room ${room}`, 15_000);
  }));
  assert.ok(rooms.includes('started'), `some rooms started: ${rooms.join(', ')}`);
  // A room whose service never started closes as any such room does.
  assert.ok(rooms.includes('room service failed to start'), `some did not in time: ${rooms.join(', ')}`);
  const failed = logger.entries.find((e) => e.level === 'error' && /did not start within/.test(e.message));
  assert.match(failed?.message ?? '', /guest instance did not start within 2500 ms \(room "q\d+", .*\); only this room fails$/);
  innocent.ws.send('still here');
  assert.equal(await innocent.nextText(15_000), 'still here');
  assert.equal(logger.entries.filter(threadLost).length, 0, 'no thread was killed');
});
