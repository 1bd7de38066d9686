// The client's keep of what it sent: bounded, confirmed by a count, renumbered after a loss.
import assert from 'node:assert/strict';
import test from 'node:test';
import { Sent } from './sent.js';

test('keeps the newest messages within its bound; a confirmation forgets what the server has and returns the rest, in order', () => {
  const sent = new Sent<string>(10 * 17); // ten one-character messages
  for (let i = 1; i <= 200; i++) sent.push(String.fromCharCode(0x100 + i));
  assert.equal(sent.count, 200);
  assert.equal(sent.kept, 10);
  const { again, lost } = sent.confirm(195);
  assert.deepEqual(again, [196, 197, 198, 199, 200].map((i) => String.fromCharCode(0x100 + i)));
  assert.equal(lost, 0);
  assert.equal(sent.count, 200);
});

test('a server behind what is still kept: the gap is reported as lost and the count follows the server', () => {
  const sent = new Sent<string>(2 * 17);
  for (const m of 'abcdef') sent.push(m);
  assert.deepEqual(sent.confirm(2), { again: ['e', 'f'], lost: 2 });
  assert.equal(sent.count, 4, 'the server will count e and f as its 3rd and 4th');
  sent.push('g');
  assert.deepEqual(sent.confirm(5), { again: [], lost: 0 });
});

test('a server ahead of the client (another socket with the token) keeps nothing and takes its count', () => {
  const sent = new Sent<string>(1_000);
  sent.push('a');
  assert.deepEqual(sent.confirm(3), { again: [], lost: 0 });
  assert.equal(sent.count, 3);
  sent.reset();
  assert.deepEqual([sent.count, sent.kept], [0, 0]);
});
