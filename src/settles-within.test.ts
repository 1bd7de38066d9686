// settlesWithin: true for work done in time, false for work still under way at the deadline
// (which it does not wait for), and the work's own rejection passed on.
import assert from 'node:assert/strict';
import test from 'node:test';
import { settlesWithin } from './settles-within.js';

test('work done in time, work still under way, and work that fails', async () => {
  assert.equal(await settlesWithin(Promise.resolve('done'), 1_000), true);
  const started = performance.now();
  assert.equal(await settlesWithin(new Promise(() => {}), 50), false);
  assert.ok(performance.now() - started < 1_000, 'answered at its deadline');
  await assert.rejects(settlesWithin(Promise.reject(new Error('disk gone')), 1_000), /disk gone/);
});
