import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Queue } from './queue.js';

test('a full queue drops its oldest item, returns it, and drains the rest in order', () => {
  const q = new Queue<string>(2);
  assert.equal(q.push('a'), undefined);
  assert.equal(q.push('b'), undefined);
  assert.equal(q.push('c'), 'a');
  assert.equal(q.size, 2);
  assert.deepEqual(q.drain(), ['b', 'c']);
  assert.equal(q.size, 0);
});

test('a queue of limit 0 keeps nothing: every item pushed comes straight back', () => {
  const q = new Queue<string>(0);
  assert.equal(q.push('a'), 'a');
  assert.deepEqual(q.drain(), []);
});
