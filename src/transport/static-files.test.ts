// The Range header's arithmetic (RFC 9110 §14): one range or none, never an impossible one.
import assert from 'node:assert/strict';
import test from 'node:test';
import { byteRange } from './static-files.js';

test('byteRange: a-b, a- and -n within the file; past the end or a suffix of an empty file is unsatisfiable', () => {
  assert.deepEqual(byteRange('bytes=2-5', 10), { start: 2, end: 5 });
  assert.deepEqual(byteRange('bytes=7-', 10), { start: 7, end: 9 });
  assert.deepEqual(byteRange('bytes=-3', 10), { start: 7, end: 9 });
  assert.deepEqual(byteRange('bytes=-30', 10), { start: 0, end: 9 });
  assert.deepEqual(byteRange('bytes=5-100', 10), { start: 5, end: 9 });
  assert.equal(byteRange('bytes=10-', 10), 'unsatisfiable');
  assert.equal(byteRange('bytes=-0', 10), 'unsatisfiable');
  assert.equal(byteRange('bytes=-5', 0), 'unsatisfiable', 'an empty file has no last bytes (was 206 with "bytes 0--1/0")');
  assert.equal(byteRange('bytes=0-', 0), 'unsatisfiable');
  assert.equal(byteRange(undefined, 10), undefined);
  assert.equal(byteRange('bytes=0-1,4-5', 10), undefined, 'several ranges: the whole file');
  assert.equal(byteRange('items=0-1', 10), undefined);
  assert.equal(byteRange('bytes=5-2', 10), undefined);
});
