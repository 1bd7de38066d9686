// Save slots: no more saves at once than the count, no more snapshot bytes than the budget
// (one save larger than it runs alone), first come first served, and a release admits the next.
import assert from 'node:assert/strict';
import test from 'node:test';
import { SaveSlots, type SaveSlot } from './save-slots.js';

/** Whether `promise` has settled by the end of this turn's microtasks. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  void promise.then(() => (done = true));
  await new Promise((resolve) => setImmediate(resolve));
  return done;
}

test('no more saves at once than the count; a release admits the next', async () => {
  const slots = new SaveSlots(2, 1_000);
  const first = await slots.acquire(1);
  await slots.acquire(1);
  const third = slots.acquire(1);
  assert.equal(await settled(third), false);
  first.release();
  first.release(); // twice is once
  assert.equal(await settled(third), true);
  assert.equal(await settled(slots.acquire(1)), false);
});

test('no more bytes than the budget: the estimate first, then what the snapshot holds; first come, first served', async () => {
  const slots = new SaveSlots(10, 100);
  const big = await slots.acquire(60);
  const next = slots.acquire(60);
  assert.equal(await settled(next), false, '60 + 60 > 100');
  big.holds(50);
  assert.equal(await settled(next), false, '50 + 60 > 100');
  big.holds(30); // the snapshot was smaller than its estimate: room for the next
  const admitted: SaveSlot = await next;
  const small = slots.acquire(20);
  assert.equal(await settled(small), false, '30 + 60 + 20 > 100');
  big.release();
  assert.equal(await settled(small), true);
  admitted.release();
});

test('a save larger than the budget runs, alone', async () => {
  const slots = new SaveSlots(10, 100);
  const huge = await slots.acquire(1_000);
  const other = slots.acquire(1);
  assert.equal(await settled(other), false);
  huge.release();
  assert.equal(await settled(other), true);
});
