// Pins the frames the outbox writes (RFC 6455 §5.2: FIN, opcode, unmasked length forms).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { frameOf, type Frame } from './frame.js';

const joined = (frame: Frame): Buffer => (Array.isArray(frame) ? Buffer.concat(frame as readonly Uint8Array[]) : (frame as Buffer));
const head = (frame: Frame, n: number): string => joined(frame).subarray(0, n).toString('hex');

test('text frames: FIN + opcode 1, the length in bytes of the UTF-8, then the UTF-8', () => {
  assert.equal(joined(frameOf('hi')).toString('hex'), '8102' + '6869');
  assert.equal(joined(frameOf('')).toString('hex'), '8100');
  // "é€" is 2 + 3 bytes: the length counts bytes, not UTF-16 units.
  assert.equal(joined(frameOf('é€')).toString('hex'), '8105' + 'c3a9e282ac');
});

test('binary frames: opcode 2, bytes as given', () => {
  assert.equal(joined(frameOf(new Uint8Array([0, 1, 255]))).toString('hex'), '8203' + '0001ff');
  assert.equal(joined(frameOf(new Uint8Array(0))).toString('hex'), '8200');
});

test('the three length forms, at their edges', () => {
  assert.equal(head(frameOf('a'.repeat(125)), 2), '817d');
  assert.equal(head(frameOf('a'.repeat(126)), 4), '817e007e');
  assert.equal(head(frameOf('a'.repeat(65_535)), 4), '817effff');
  assert.equal(head(frameOf('a'.repeat(65_536)), 10), '817f0000000000010000');
  assert.equal(joined(frameOf('a'.repeat(65_536))).length, 10 + 65_536);
});

test('large binary payloads are framed without a copy: header, then the very same bytes', () => {
  const big = new Uint8Array(100_000).fill(7);
  const frame = frameOf(big);
  assert.ok(Array.isArray(frame));
  assert.equal((frame as readonly [Buffer, Uint8Array])[1], big);
  assert.equal(head(frame, 10), '827f00000000000186a0');
});
