// The room's part of an image body: version 2 round-trips the tokens' ids; version 1 still reads.
import assert from 'node:assert/strict';
import test from 'node:test';
import { decodeSavedRoom, encodeSavedRoom } from './saved-room.js';

test('a room state round-trips: last id, clients, token digests with their ids, the adapter bytes', () => {
  const digest = new Uint8Array(16).fill(7);
  const state = { lastClientId: 9, clients: [3, 9], timerDueAt: undefined, tokenIds: [[digest, 3] as const], body: new Uint8Array([1, 2, 3]) };
  const back = decodeSavedRoom(encodeSavedRoom(state), 123, 'here');
  assert.deepEqual({ ...back, body: [...back.body!], tokenIds: back.tokenIds?.map(([d, c]) => [[...d], c]) }, { lastClientId: 9, clients: [3, 9], timerDueAt: 123, tokenIds: [[[...digest], 3]], body: [1, 2, 3] });
});

test('a version 1 body (no token part, as saved before) still reads', () => {
  const v1 = new Uint8Array([1, 5, 0, 0, 0, 1, 0, 0, 0, 4, 0, 0, 0, 0xaa, 0xbb]);
  const back = decodeSavedRoom(v1, undefined, 'old');
  assert.deepEqual({ lastClientId: back.lastClientId, clients: back.clients, body: [...back.body!], tokenIds: back.tokenIds }, { lastClientId: 5, clients: [4], body: [0xaa, 0xbb], tokenIds: undefined });
});

test('a body whose token count runs past its end is refused as corrupt', () => {
  const bytes = encodeSavedRoom({ lastClientId: 1, clients: [], timerDueAt: undefined, body: new Uint8Array() });
  new DataView(bytes.buffer).setUint32(9, 1000, true);
  assert.throws(() => decodeSavedRoom(bytes, undefined, 'f'), /it lists 1000 tokens in 13 bytes/);
});
