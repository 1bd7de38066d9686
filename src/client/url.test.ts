import assert from 'node:assert/strict';
import { test } from 'node:test';
import { randomToken, roomUrl, withIdentity } from './url.js';

test('room adds /ws/<room>, percent-encoded, after any path prefix; http becomes ws', () => {
  assert.equal(roomUrl('ws://h:1', 'lobby'), 'ws://h:1/ws/lobby');
  assert.equal(roomUrl('http://h:1/', 'a/b c'), 'ws://h:1/ws/a%2Fb%20c');
  assert.equal(roomUrl('https://h/app/', 'x'), 'wss://h/app/ws/x');
  assert.equal(roomUrl('ws://h/app?key=1#frag', 'x'), 'ws://h/app/ws/x?key=1', 'query kept, fragment dropped');
});

test('without a room, a URL naming /ws… is used as it is and any other joins /ws (room "1")', () => {
  assert.equal(roomUrl('ws://h/ws/r'), 'ws://h/ws/r');
  assert.equal(roomUrl('ws://h/ws'), 'ws://h/ws');
  assert.equal(roomUrl('http://h:8080'), 'ws://h:8080/ws');
});

test('a relative URL without a page to resolve against is refused', () => {
  assert.throws(() => roomUrl('/ws', 'r'), TypeError);
});

test('the identity goes in the query: token always, received only when resuming', () => {
  assert.equal(withIdentity('ws://h/ws/r?key=1', 'tok en'), 'ws://h/ws/r?key=1&token=tok+en');
  assert.equal(withIdentity('ws://h/ws/r', 't', 0), 'ws://h/ws/r?token=t&received=0');
  assert.equal(withIdentity('ws://h/ws/r?token=old&received=9', 't', 3), 'ws://h/ws/r?token=t&received=3');
});

test('tokens are 32 hex characters and differ', () => {
  const a = randomToken();
  assert.match(a, /^[0-9a-f]{32}$/);
  assert.notEqual(a, randomToken());
});
