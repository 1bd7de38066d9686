import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isServiceClass, nativeAdapterFactory } from './native.js';
import type { Context } from './types.js';

const ctx: Context = { roomId: 'r', sendMessage: () => {}, setTimer: () => {}, clearTimer: () => {}, close: () => {}, clientInfo: () => undefined };

test('classes and factories are told apart', () => {
  assert.equal(isServiceClass(class {}), true);
  function Legacy(): void {}
  (Legacy.prototype as { message?: () => void }).message = function message(): void {};
  assert.equal(isServiceClass(Legacy as never), true);
  assert.equal(isServiceClass(() => ({})), false);
  assert.equal(isServiceClass(function factory() { return {}; }), false);
});

test('a class is constructed, and a factory called, with the room id and context', async () => {
  const seen: unknown[] = [];
  class S {
    constructor(roomId: string, c: Context) {
      seen.push(['class', roomId, c]);
    }
  }
  await nativeAdapterFactory(S)('a', ctx);
  await nativeAdapterFactory((roomId, c) => (seen.push(['factory', roomId, c]), {}))('b', ctx);
  assert.deepEqual(seen, [['class', 'a', ctx], ['factory', 'b', ctx]]);
});

test('a factory that returns something other than a service is refused with a reason', async () => {
  assert.throws(() => nativeAdapterFactory(() => 42 as never)('a', ctx), /returned number, not an object/);
  await assert.rejects(async () => nativeAdapterFactory(async () => ({ message: 'hi' }) as never)('a', ctx), /"message" is a string/);
});
