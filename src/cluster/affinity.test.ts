// Room affinity: a room always maps to the same worker, whatever path spells it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_REQUEST_LINE_BYTES, routeOf, workerOf } from './affinity.js';

const line = (text: string): Buffer => Buffer.from(text, 'latin1');

test('the room comes from the request line, percent-decoded, with /ws as room "1"', () => {
  assert.deepEqual(routeOf(line('GET /ws/lobby?token=a HTTP/1.1\r\nHost: x\r\n')), { kind: 'room', roomId: 'lobby' });
  assert.deepEqual(routeOf(line('GET /ws HTTP/1.1\r\n')), { kind: 'room', roomId: '1' });
  assert.deepEqual(routeOf(line('GET /ws/caf%C3%A9 HTTP/1.1\r\n')), { kind: 'room', roomId: 'café' });
  assert.deepEqual(routeOf(line('\r\n\r\nGET /ws/lobby HTTP/1.1\r\n')), { kind: 'room', roomId: 'lobby' }, 'empty lines first');
  assert.deepEqual(routeOf(line('\r\n')), { kind: 'incomplete' });
});

test('the status JSON and the metrics are added up by the primary; plain /status is any worker\'s', () => {
  assert.deepEqual(routeOf(line('GET /status?format=json HTTP/1.1\r\n')), { kind: 'report', what: 'status' });
  assert.deepEqual(routeOf(line('GET /metrics HTTP/1.1\r\n')), { kind: 'report', what: 'metrics' });
  assert.deepEqual(routeOf(line('POST /metrics HTTP/1.1\r\n')), { kind: 'any' });
});

test('anything that is not a room path may go to any worker', () => {
  for (const request of ['GET / HTTP/1.1\r\n', 'GET /status HTTP/1.1\r\n', 'GET /ws/ HTTP/1.1\r\n', 'GET /ws/%zz HTTP/1.1\r\n', 'garbage\n']) {
    assert.deepEqual(routeOf(line(request)), { kind: 'any' }, JSON.stringify(request));
  }
});

test('an unfinished request line waits for more bytes, up to a limit', () => {
  assert.deepEqual(routeOf(line('GET /ws/lob')), { kind: 'incomplete' });
  assert.deepEqual(routeOf(Buffer.alloc(MAX_REQUEST_LINE_BYTES, 0x61)), { kind: 'too-long' });
  // Empty lines before the request line count towards the limit: a stream of CRLFs is cut off.
  assert.deepEqual(routeOf(Buffer.from('\r\n'.repeat(MAX_REQUEST_LINE_BYTES / 2))), { kind: 'too-long' });
  assert.deepEqual(routeOf(Buffer.from(`${'\r\n'.repeat(MAX_REQUEST_LINE_BYTES / 2 - 4)}GET /ws/lob`)), { kind: 'too-long' });
  assert.deepEqual(routeOf(Buffer.from('\r\n\r\nGET /ws/lob')), { kind: 'incomplete' });
});

test('one room, one worker; rooms spread evenly over workers', () => {
  assert.equal(workerOf('lobby', 4), workerOf('lobby', 4));
  const counts = [0, 0];
  for (let i = 0; i < 400; i++) counts[workerOf(`room-${i}`, 2)]! += 1;
  assert.ok(counts.every((n) => n >= 160 && n <= 240), `400 rooms over 2 workers: ${counts.join(' / ')}`);
});
