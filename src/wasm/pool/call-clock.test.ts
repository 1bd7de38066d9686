import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CallClock, callsAfterOldest } from './call-clock.js';

test('the clock shows the running call and how long it has run; nothing between calls', () => {
  const thread = new CallClock();
  const server = new CallClock(thread.shared);
  assert.equal(server.running(), undefined);
  thread.begin(7);
  const running = server.running();
  assert.equal(running?.seq, 7);
  assert.ok(running.ranMs >= 0 && running.ranMs < 1_000, `ran ${running.ranMs} ms`);
  thread.end();
  assert.equal(server.running(), undefined);
});

test('a call number is found among the pending calls after the int32 the clock stores it in wraps', () => {
  assert.equal(callsAfterOldest(1, 0), 0);
  assert.equal(callsAfterOldest(5, 2), 2);
  assert.equal(callsAfterOldest(2, 2), -1, 'an answered call is behind the oldest');
  // Call number 2^31 + 4 is stored as -2^31 + 4; 2^31 + 1 calls were answered before it.
  const stored = new Int32Array([2 ** 31 + 4])[0]!;
  assert.equal(stored, -(2 ** 31) + 4);
  assert.equal(callsAfterOldest(stored, 2 ** 31 + 1), 2);
  // And after 2^32 calls, where the stored number passes 0.
  assert.equal(callsAfterOldest(new Int32Array([2 ** 32 + 3])[0]!, 2 ** 32), 2);
});
