import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SharedSync } from './shared-sync.js';

/** A sync whose runs end when the test says, counting how many started. */
function controlled() {
  const runs: Array<{ resolve: () => void; reject: (error: Error) => void }> = [];
  const shared = new SharedSync(() => new Promise<void>((resolve, reject) => runs.push({ resolve, reject })));
  return { shared, runs };
}

const settled = async (promise: Promise<void>): Promise<string> => {
  let state = 'pending';
  promise.then(() => (state = 'resolved'), (err: Error) => (state = `rejected: ${err.message}`));
  for (let i = 0; i < 5; i++) await Promise.resolve();
  return state;
};

test('callers that ask while a sync runs share one later sync; none is answered by a sync that began before it asked', async () => {
  const { shared, runs } = controlled();
  const first = shared.request();
  assert.equal(runs.length, 1);
  const second = shared.request();
  const third = shared.request();
  assert.equal(runs.length, 1, 'the second and third wait for the running sync to end');
  runs[0]!.resolve();
  assert.equal(await settled(first), 'resolved');
  assert.equal(await settled(second), 'pending', 'the sync that ended began before the second asked');
  assert.equal(runs.length, 2, 'one sync for both');
  runs[1]!.resolve();
  assert.equal(await settled(second), 'resolved');
  assert.equal(await settled(third), 'resolved');
  const fourth = shared.request();
  assert.equal(runs.length, 3, 'idle again: a new sync starts at once');
  runs[2]!.resolve();
  assert.equal(await settled(fourth), 'resolved');
});

test('a failed sync fails its callers and those queued behind it (a later fsync may not report the same writeback error); callers after that get a sync of their own', async () => {
  const { shared, runs } = controlled();
  const first = shared.request();
  const second = shared.request();
  runs[0]!.reject(new Error('EIO'));
  assert.equal(await settled(first), 'rejected: EIO');
  assert.equal(await settled(second), 'rejected: EIO', 'queued while the failed sync ran: failed too, its save retries');
  assert.equal(runs.length, 1, 'no sync started for it');
  const third = shared.request();
  assert.equal(runs.length, 2, 'a new caller gets a sync of its own');
  runs[1]!.resolve();
  assert.equal(await settled(third), 'resolved');
});
