import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseIdentity, parseRoomPath, splitTarget } from './room-path.js';

test('plain /ws is the default room "1"', () => {
  assert.deepEqual(parseRoomPath('/ws'), { ok: true, roomId: '1' });
});

test('/ws/<room> is the room id, percent-decoded, slashes and unicode included', () => {
  assert.deepEqual(parseRoomPath('/ws/lobby'), { ok: true, roomId: 'lobby' });
  assert.deepEqual(parseRoomPath('/ws/caf%C3%A9'), { ok: true, roomId: 'café' });
  assert.deepEqual(parseRoomPath('/ws/a%2Fb'), { ok: true, roomId: 'a/b' });
  assert.deepEqual(parseRoomPath('/ws/a/b'), { ok: true, roomId: 'a/b' });
  assert.deepEqual(parseRoomPath('/ws/%20'), { ok: true, roomId: ' ' });
});

test('an empty, undecodable or over-long room id is refused with a reason', () => {
  assert.match((parseRoomPath('/ws/') as { reason: string }).reason, /empty/);
  assert.match((parseRoomPath('/ws/%E0%A4%A') as { reason: string }).reason, /percent-encoding/);
  assert.deepEqual(parseRoomPath(`/ws/${'x'.repeat(256)}`), { ok: true, roomId: 'x'.repeat(256) });
  // 86 three-byte characters are 258 bytes, over the limit although only 86 characters long.
  assert.match((parseRoomPath(`/ws/${encodeURIComponent('€'.repeat(86))}`) as { reason: string }).reason, /258 bytes/);
});

test('paths that are not WebSocket paths are not rooms', () => {
  assert.equal(parseRoomPath('/'), undefined);
  assert.equal(parseRoomPath('/wss'), undefined);
  assert.equal(parseRoomPath('/status'), undefined);
});

test('the query string is split off the path', () => {
  assert.deepEqual(splitTarget('/ws/a?token=x'), { pathname: '/ws/a', query: 'token=x' });
  assert.deepEqual(splitTarget('/ws'), { pathname: '/ws', query: '' });
});

test('the token and received parameters are read however they are spelled, and only they', () => {
  assert.deepEqual(parseIdentity(''), { ok: true });
  assert.deepEqual(parseIdentity('name=ann&x=1'), { ok: true });
  assert.deepEqual(parseIdentity('token=abc&received=3'), { ok: true, token: 'abc', received: 3 });
  // Percent-encoded names are the same parameters: a query without the word is not skipped unread.
  assert.deepEqual(parseIdentity('%74oken=abc&rec%65ived=2'), { ok: true, token: 'abc', received: 2 });
  assert.match((parseIdentity('to%6Ben=') as { reason: string }).reason, /token must be 1 to 256/);
  assert.match((parseIdentity('received=1') as { reason: string }).reason, /needs a token/);
});
