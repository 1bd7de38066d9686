// Log floods (issue 12, item 3): what one abusive client can make the server write is bounded.
// A service that throws on bad input gives every client a lever; repeated errors are written
// once per window and summarised.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { createLogger, serve, type ClientId, type Payload } from '../src/index.js';
import { LogThrottle } from '../src/logger.js';
import { within } from './helpers/deadline.js';
import { LogLines } from './helpers/json-logs.js';
import { MemoryLogger } from './helpers/logs.js';
import { closed, open } from './helpers/sockets.js';

const BAD = 2_000;

test(`${BAD} bad messages from one client write a few KiB of log, and a summary says how many were left out`, async (t) => {
  const lines = new LogLines();
  let handled = 0;
  let allHandled!: () => void;
  const done = new Promise<void>((resolve) => (allHandled = resolve));
  const server = await serve(
    () => ({
      message: (_c: ClientId, p: Payload) => {
        handled += 1;
        if (handled === BAD) allHandled();
        JSON.parse(String(p)); // the service's bug: trusts its input
      },
    }),
    { port: 0, host: '127.0.0.1', logger: createLogger('info', lines) },
  );
  let closed = false;
  t.after(() => (closed ? undefined : server.close()));
  const ws = await open(`ws://127.0.0.1:${server.port}/ws/victim`);
  t.after(() => ws.terminate());
  // Half the same bad input, half varied (a parse error quotes its input, so messages differ).
  for (let i = 0; i < BAD; i++) ws.send(i < BAD / 2 ? 'not json' : `not json ${i}`);
  await within(done, `${BAD} messages handled`, 10_000);
  ws.terminate();
  await server.close();
  closed = true;
  const errors = lines.lines.filter((l) => l.entry.level === 50);
  const bytes = errors.reduce((total, l) => total + l.raw.length + 1, 0);
  assert.ok(bytes < 16 * 1024, `error log bytes for ${BAD} bad messages: ${bytes} (${(bytes / BAD).toFixed(1)} per message)`);
  const same = errors.find((l) => /… and 999 more like it in room "victim" in the last 10 s$/.test(String(l.entry.msg)));
  assert.ok(same, `the repeats of one error summarised: ${errors.map((l) => String(l.entry.msg)).join('\n')}`);
  assert.equal(same.entry.repeated, 999);
  assert.equal(same.entry.roomId, 'victim');
  assert.equal(same.entry.err, undefined, 'no stack in a summary');
  const others = errors.find((l) => /more errors of other kinds in room "victim"/.test(String(l.entry.msg)));
  assert.ok(others, 'the varied errors past the per-room share are counted');
  assert.equal(errors.filter((l) => l.entry.err !== undefined).length, 5, 'five full lines (with stacks) for the room in the window');
});

test('many clients closed for their rate write one line of each kind and a summary, not a line each', async (t) => {
  const logger = new MemoryLogger();
  const server = await serve(() => ({}), { port: 0, host: '127.0.0.1', logger, messageRateLimit: 5, rateLimitPersistMs: 200 });
  let stopped = false;
  t.after(() => (stopped ? undefined : server.close()));
  const CLIENTS = 30;
  const sockets = await Promise.all(Array.from({ length: CLIENTS }, (_, i) => open(`ws://127.0.0.1:${server.port}/ws/flood-${i % 3}`)));
  t.after(() => sockets.forEach((ws) => ws.terminate()));
  const shut = Promise.all(sockets.map((ws) => closed(ws, 5_000)));
  const flood = setInterval(() => {
    for (const ws of sockets) for (let i = 0; i < 5 && ws.readyState === ws.OPEN; i++) ws.send('spam');
  }, 20);
  t.after(() => clearInterval(flood));
  assert.deepEqual(new Set((await shut).map(({ code }) => code)), new Set([1008]));
  clearInterval(flood);
  await server.close(); // writes the throttle's summaries
  stopped = true;
  const lines = (pattern: RegExp): string[] => logger.entries.filter((e) => pattern.test(e.message)).map((e) => e.message);
  assert.deepEqual(lines(/rate-limited/), ['client rate-limited: dropping its messages over the limit', `client rate-limited: dropping its messages over the limit … and ${CLIENTS - 1} more like it in clients in the last 10 s`]);
  assert.deepEqual(lines(/1008/), ['client closed with 1008: over its rate limit for too long', `client closed with 1008: over its rate limit for too long … and ${CLIENTS - 1} more like it in clients in the last 10 s`]);
  // The summary counts clients of three rooms: it must not name the first one's room or address.
  const summary = logger.entries.find((e) => /1008.*more like it in clients/.test(e.message));
  assert.deepEqual(summary?.fields, { kind: 'rate-closed', repeated: CLIENTS - 1 });
});

test("a summary of refused upgrades does not name the first one's address", () => {
  const log = new MemoryLogger();
  const throttle = new LogThrottle(log, { windowMs: 60_000, perScope: 2, maxKeys: 3, perWindow: 100 });
  for (const ip of ['10.0.0.1', '10.0.0.2', '10.0.0.3']) throttle.write('info', 'refused upgrades', '403', { status: 403, ip, reason: 'origin x is not allowed' }, 'upgrade refused with 403: origin x is not allowed');
  throttle.flush();
  assert.deepEqual(log.entries[0]?.fields, { status: 403, ip: '10.0.0.1', reason: 'origin x is not allowed' }, 'the first line in full');
  assert.deepEqual(log.entries[1]?.fields, { status: 403, reason: 'origin x is not allowed', repeated: 2 });
});

test('the throttle writes each kind once per window, bounds what it remembers, and starts afresh after a flush', () => {
  const log = new MemoryLogger();
  const throttle = new LogThrottle(log, { windowMs: 60_000, perScope: 2, maxKeys: 3, perWindow: 100 });
  for (let i = 0; i < 10; i++) throttle.error('room "a"', 'a:x', { roomId: 'a' }, 'boom');
  throttle.error('room "a"', 'a:y', {}, 'other');
  throttle.error('room "a"', 'a:z', {}, 'third kind');
  throttle.error('room "b"', 'b:x', {}, 'in b');
  throttle.error('room "c"', 'c:x', {}, 'in c: past maxKeys');
  assert.deepEqual(log.entries.map((e) => e.message), ['boom', 'other', 'in b']);
  throttle.flush();
  assert.deepEqual(log.entries.slice(3).map((e) => e.message), [
    'boom … and 9 more like it in room "a" in the last 60 s',
    '… and 1 more errors of other kinds in room "a" in the last 60 s',
    '… and 1 more errors in the last 60 s',
  ]);
  throttle.error('room "a"', 'a:x', {}, 'boom');
  assert.equal(log.entries.at(-1)?.message, 'boom', 'a new window writes it again');
  throttle.flush();
});

test('the throttle writes at most perWindow full lines in all, however many rooms (scopes) fail once each', () => {
  const log = new MemoryLogger();
  const throttle = new LogThrottle(log, { windowMs: 60_000, perScope: 5, maxKeys: 1_000, perWindow: 10 });
  for (let i = 0; i < 500; i++) throttle.write('warn', `room "r${i}"`, `r${i}:panic`, { roomId: `r${i}` }, `guest: panicked in r${i}`);
  assert.equal(log.entries.length, 10, 'ten full lines, not one per room');
  assert.ok(log.entries.every((e) => e.level === 'warn'), 'at the level asked for');
  throttle.flush();
  // The summary counts warnings, at warn: not an error line that would page an operator.
  assert.equal(log.entries.at(-1)?.message, '… and 490 more warnings in the last 60 s');
  assert.equal(log.entries.at(-1)?.level, 'warn');
});

test('a throttled line carries at most 4 KiB of message, however long the error a client caused', () => {
  const log = new MemoryLogger();
  const throttle = new LogThrottle(log, { windowMs: 60_000, perScope: 5, maxKeys: 1_000, perWindow: 100 });
  const huge = `bad input: ${'x'.repeat(1_000_000)}`;
  throttle.error('room "a"', `a\0message\0${huge}`, {}, huge);
  throttle.error('room "a"', `a\0message\0${huge}`, {}, huge);
  assert.equal(log.entries.length, 1, 'the second is the same kind, counted');
  assert.ok(log.entries[0]!.message.length < 4_200, `a line of ${log.entries[0]!.message.length} characters`);
  assert.match(log.entries[0]!.message, /… \(995915 more characters\)$/);
  throttle.flush();
});

test('pretty (terminal) lines cannot be forged: control characters in any field are escaped', async (t) => {
  let text = '';
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString();
      done();
    },
  });
  const server = await serve(
    () => ({
      message: () => {
        throw new Error('bad\n00:00:00.000 INFO: forged from a message');
      },
    }),
    { port: 0, host: '127.0.0.1', logger: createLogger('debug', sink, 'pretty') },
  );
  t.after(() => server.close());
  const forged = 'x\n00:00:00.000 INFO: all good\u001b[2J\u2028';
  const ws = await open(`ws://127.0.0.1:${server.port}/ws/${encodeURIComponent(forged)}`);
  t.after(() => ws.terminate());
  ws.send('boom');
  await within(
    (async () => {
      while (!text.includes('forged from a message')) await new Promise((r) => setTimeout(r, 10));
    })(),
    'the error line',
  );
  for (const line of text.split('\n').filter((l) => l !== '')) {
    assert.doesNotMatch(line, /^\s*00:00:00\.000 INFO/, `no forged line: ${JSON.stringify(line)}`);
    // eslint-disable-next-line no-control-regex -- looking for control characters is the point
    assert.doesNotMatch(line.replace(/\u001b\[[0-9;]*m/g, ''), /[\u0000-\u001f\u2028]/, `no raw control characters: ${JSON.stringify(line)}`);
  }
  assert.match(text, /x\\n00:00:00\.000 INFO: all good\\u001b\[2J\\u2028/, 'the room id printed escaped');
  assert.match(text, /bad\\n00:00:00\.000 INFO: forged from a message/, 'the message escaped');
});
