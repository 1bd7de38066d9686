// Pins every byte layout of ABI v1 (../shared/stateroom-wasm-abi.md), examples included.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  CodecError,
  callbackOfToProcess,
  checkFromProcess,
  decodeFromProcess,
  decodeToProcess,
  encodeFromProcess,
  encodeToProcess,
  maxSizeOfToProcess,
  sizeOfToProcess,
  writeToProcess,
  type MessageToProcess,
} from './codec.js';

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
const bytes = (h: string): Uint8Array => new Uint8Array(Buffer.from(h.replace(/\s+/g, ''), 'hex'));

test('MessageToProcess: every variant, as the ABI document spells it', () => {
  const cases: Array<[MessageToProcess, string]> = [
    [{ type: 'init' }, '00000000'],
    [{ type: 'connect', client: 7 }, '01000000 07000000'],
    [{ type: 'disconnect', client: 7 }, '02000000 07000000'],
    [{ type: 'message', sender: 7, payload: 'hi' }, '03000000 07000000 01000000 0200000000000000 6869'],
    [{ type: 'timer' }, '04000000'],
  ];
  for (const [message, expected] of cases) {
    assert.equal(hex(encodeToProcess(message)), expected.replace(/ /g, ''), message.type);
    assert.deepEqual(decodeToProcess(bytes(expected)), message);
  }
});

test('multi-byte client ids are little-endian u32s', () => {
  assert.equal(hex(encodeToProcess({ type: 'connect', client: 0x01020304 })), '0100000004030201');
  assert.equal(hex(encodeToProcess({ type: 'disconnect', client: 2 ** 32 - 1 })), '02000000ffffffff');
});

test('empty text, non-ASCII text and binary payloads', () => {
  assert.equal(hex(encodeToProcess({ type: 'message', sender: 1, payload: '' })), '03000000010000000100000000000000' + '00000000');
  // "é€" is 2 + 3 UTF-8 bytes: the length counts bytes, not characters.
  assert.equal(
    hex(encodeToProcess({ type: 'message', sender: 1, payload: 'é€' })),
    '03000000 01000000 01000000 0500000000000000 c3a9e282ac'.replace(/ /g, ''),
  );
  assert.equal(
    hex(encodeToProcess({ type: 'message', sender: 300, payload: new Uint8Array([0, 255]) })),
    '03000000 2c010000 00000000 0200000000000000 00ff'.replace(/ /g, ''),
  );
});

test('MessageFromProcess: broadcast, one client, everyone except, bytes, and SetTimer', () => {
  assert.deepEqual(decodeFromProcess(bytes('00000000 00000000 01000000 0100000000000000 78')), {
    type: 'message',
    recipient: 'broadcast',
    payload: 'x',
  });
  assert.deepEqual(decodeFromProcess(bytes('00000000 01000000 03000000 01000000 0100000000000000 78')), {
    type: 'message',
    recipient: 3,
    payload: 'x',
  });
  assert.deepEqual(decodeFromProcess(bytes('00000000 02000000 09000000 00000000 0300000000000000 010203')), {
    type: 'message',
    recipient: { except: 9 },
    payload: new Uint8Array([1, 2, 3]),
  });
  assert.deepEqual(decodeFromProcess(bytes('01000000 a00f0000')), { type: 'setTimer', msDelay: 4000 });
  assert.deepEqual(decodeFromProcess(bytes('01000000 ffffffff')), { type: 'setTimer', msDelay: 2 ** 32 - 1 });
});

test('a text that begins with a byte order mark keeps it, byte for byte', () => {
  assert.deepEqual(decodeFromProcess(bytes('00000000 00000000 01000000 0400000000000000 efbbbf41')), {
    type: 'message',
    recipient: 'broadcast',
    payload: '\ufeffA',
  });
});

test('encodeFromProcess is the exact inverse of decodeFromProcess', () => {
  for (const h of ['00000000 02000000 09000000 01000000 0200000000000000 c3a9', '01000000 00000000']) {
    assert.equal(hex(encodeFromProcess(decodeFromProcess(bytes(h)))), h.replace(/ /g, ''));
  }
});

test('bytes after a complete value are ignored, as bincode::deserialize does', () => {
  assert.deepEqual(decodeFromProcess(bytes('01000000 0a000000 deadbeef')), { type: 'setTimer', msDelay: 10 });
  assert.deepEqual(decodeToProcess(bytes('00000000 ff')), { type: 'init' });
});

test('a decoded binary payload is a copy, safe from later changes to guest memory', () => {
  const memory = bytes('00000000 00000000 00000000 0100000000000000 41');
  const decoded = decodeFromProcess(memory);
  memory[memory.length - 1] = 0x42;
  assert.deepEqual(decoded, { type: 'message', recipient: 'broadcast', payload: new Uint8Array([0x41]) });
});

test('unknown tags, truncation, lying lengths and invalid UTF-8 are CodecErrors', () => {
  const bad: Array<[string, RegExp]> = [
    ['', /truncated/],
    ['010000', /truncated/],
    ['02000000', /unknown MessageFromProcess tag 2/],
    ['00000000 03000000', /unknown MessageRecipient tag 3/],
    ['00000000 00000000 02000000', /unknown MessagePayload tag 2/],
    ['00000000 00000000 01000000 0500000000000000 6869', /claims 5 bytes but only 2 follow/],
    ['00000000 00000000 01000000 0000000001000000', /claims 4294967296 bytes/],
    ['00000000 00000000 01000000 0100000000000000 ff', /not valid UTF-8/],
    ['01000000 0a00', /truncated: SetTimer ms_delay/],
  ];
  for (const [h, message] of bad) {
    assert.throws(() => decodeFromProcess(bytes(h)), (e: unknown) => e instanceof CodecError && message.test(e.message), h);
  }
  assert.throws(() => decodeToProcess(bytes('05000000')), /unknown MessageToProcess tag 5/);
});

test('checkFromProcess refuses exactly what decodeFromProcess refuses', () => {
  const good = [
    encodeFromProcess({ type: 'message', recipient: 'broadcast', payload: 'héllo' }),
    encodeFromProcess({ type: 'message', recipient: 3, payload: new Uint8Array([0, 255]) }),
    encodeFromProcess({ type: 'message', recipient: { except: 2 }, payload: '' }),
    encodeFromProcess({ type: 'setTimer', msDelay: 10 }),
  ];
  const bad = [
    bytes('07000000'),
    bytes('00000000 05000000'),
    bytes('00000000 00000000 09000000'),
    bytes('00000000 00000000 01000000 0400000000000000 6869'),
    bytes('00000000 00000000 01000000 0100000000000000 ff'),
    bytes('0100'),
  ];
  for (const b of good) assert.doesNotThrow(() => checkFromProcess(b), hex(b));
  for (const b of bad) {
    const decoded = (() => {
      try {
        decodeFromProcess(b);
        return 'ok';
      } catch (e) {
        return (e as Error).message;
      }
    })();
    assert.throws(() => checkFromProcess(b), (e: unknown) => e instanceof CodecError && e.message === decoded, hex(b));
  }
});

test('writeToProcess returns its length, within maxSizeOfToProcess; callbackOfToProcess reads the tag', () => {
  const messages: MessageToProcess[] = [{ type: 'init' }, { type: 'connect', client: 1 }, { type: 'message', sender: 2, payload: 'é€x' }, { type: 'message', sender: 2, payload: new Uint8Array(5) }];
  for (const message of messages) {
    const target = new Uint8Array(maxSizeOfToProcess(message));
    const written = writeToProcess(message, target);
    assert.equal(written, sizeOfToProcess(message));
    assert.ok(written <= target.length);
    assert.deepEqual(decodeToProcess(target.subarray(0, written)), message);
    assert.equal(callbackOfToProcess(target), message.type);
  }
  assert.equal(callbackOfToProcess(bytes('09000000')), 'unknown');
});
