import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backoffDelay } from './backoff.js';

test('the first attempt waits between min and twice min; the window doubles each attempt up to max', () => {
  const lowest = (attempt: number) => backoffDelay(attempt, 100, 5_000, () => 0);
  const highest = (attempt: number) => backoffDelay(attempt, 100, 5_000, () => 0.999999);
  assert.deepEqual([1, 2, 3, 4, 5, 6, 7].map(lowest), [100, 100, 100, 100, 100, 100, 100]);
  assert.deepEqual([1, 2, 3, 4, 5, 6, 7].map(highest), [200, 400, 800, 1600, 3200, 5000, 5000]);
});

test('delays are always within [min, max], even for huge attempt numbers and equal bounds', () => {
  for (let attempt = 1; attempt < 2_000; attempt += 7) {
    const delay = backoffDelay(attempt, 250, 10_000);
    assert.ok(delay >= 250 && delay <= 10_000, `attempt ${attempt}: ${delay}`);
  }
  assert.equal(backoffDelay(9, 20, 20), 20);
});

test('jitter spreads clients dropped together over the window, at the cap too', () => {
  const at = (attempt: number) => new Set(Array.from({ length: 200 }, () => backoffDelay(attempt, 100, 1_000)));
  assert.ok(at(1).size > 20, 'first attempts spread');
  assert.ok(at(30).size > 50, 'attempts at the cap spread');
});
