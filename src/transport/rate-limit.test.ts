import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ClientLimiter, ConnectionRate, TokenBucket } from './rate-limit.js';

test('a token bucket allows a burst of one second, then its rate', () => {
  const bucket = new TokenBucket(10, 0);
  // Takes `count` tokens when the bucket allows it, as ClientLimiter does.
  const take = (count: number, now: number): boolean => bucket.allows(count, now) && (bucket.spend(count), true);
  const taken = Array.from({ length: 12 }, () => take(1, 0)).filter(Boolean).length;
  assert.equal(taken, 10);
  assert.equal(take(1, 50), false, 'half a token after 50 ms');
  assert.equal(take(1, 100), true, 'one token after 100 ms');
});

test('a client over its limit has messages dropped, the first of an episode flagged, then is closed if it persists', () => {
  const limiter = new ClientLimiter({ messagesPerSecond: 5, bytesPerSecond: 0, persistMs: 3_000 }, 0);
  const verdicts = Array.from({ length: 7 }, () => limiter.judge(1, 0));
  assert.deepEqual(verdicts, ['pass', 'pass', 'pass', 'pass', 'pass', 'drop-first', 'drop']);
  // Still flooding: drops at least every second, until the episode is 3 s old.
  for (let t = 500; t < 3_000; t += 100) assert.notEqual(limiter.judge(1, t), 'close');
  let last = limiter.judge(1, 3_000);
  while (last === 'pass') last = limiter.judge(1, 3_000);
  assert.equal(last, 'close');
});

test('a quiet second ends an episode; the byte budget counts too', () => {
  const limiter = new ClientLimiter({ messagesPerSecond: 0, bytesPerSecond: 100, persistMs: 1_000 }, 0);
  assert.equal(limiter.judge(80, 0), 'pass');
  assert.equal(limiter.judge(80, 0), 'drop-first');
  assert.equal(limiter.judge(80, 2_500), 'pass');
  assert.equal(limiter.judge(80, 2_500), 'drop-first', 'a new episode, not a close');
});

test('a message longer than a second of the byte budget passes on a full bucket, then the debt is paid before the next', () => {
  const limiter = new ClientLimiter({ messagesPerSecond: 0, bytesPerSecond: 100, persistMs: 10_000 }, 0);
  assert.equal(limiter.judge(250, 0), 'pass', 'a full bucket lets a 250-byte message through a 100 B/s limit');
  assert.equal(limiter.judge(1, 1_000), 'drop-first', '150 bytes of debt: one second later the bucket is still at -50');
  assert.equal(limiter.judge(1, 1_600), 'pass', 'paid off after 1.5 s');
  assert.equal(limiter.judge(250, 1_600), 'drop', 'a long message waits for a full bucket again');
  assert.equal(limiter.judge(250, 2_600), 'pass');
});

test('a message dropped for its bytes costs no message token', () => {
  const limiter = new ClientLimiter({ messagesPerSecond: 2, bytesPerSecond: 100, persistMs: 10_000 }, 0);
  assert.equal(limiter.judge(100, 0), 'pass');
  assert.equal(limiter.judge(100, 0), 'drop-first', 'out of bytes');
  assert.equal(limiter.judge(100, 0), 'drop');
  assert.equal(limiter.judge(0, 0), 'pass', 'the second message token is still there');
});

test('connection attempts are counted per IP per minute', () => {
  const rate = new ConnectionRate(2);
  assert.deepEqual([rate.allow('a', 0), rate.allow('a', 1), rate.allow('a', 2), rate.allow('b', 3)], [true, true, false, true]);
  assert.equal(rate.allow('a', 60_000), true, 'a new minute');
});
