// The frames between the server thread and a guest thread: what is written is read back, in
// order; the ring wraps, refuses what does not fit, and frees what was read.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ByteWriter } from './byte-buffer.js';
import { decodeFromProcess, decodeToProcess, encodeFromProcess, type MessageFromProcess } from '../abi/codec.js';
import { ELSEWHERE, EMPTY, Ring } from './ring.js';
import {
  doneRecord,
  failedRecord,
  printedRecord,
  readReply,
  readRequests,
  replyLength,
  sentRecord,
  writeClose,
  writeEvent,
  writeMessage,
  writeOpen,
  writeReply,
  writeRestore,
  writeSnapshot,
  imageFrame,
  unpackRequestFrame,
  REPLY_HEAD_BYTES,
  type ReplyRecord,
} from './wire.js';

test('a request batch reads back as written: open, events (any kind), messages, snapshot, restore (its image attached), close', () => {
  const w = new ByteWriter();
  writeOpen(w, 1, 'room é');
  writeEvent(w, 1, { type: 'init' });
  writeEvent(w, 1, { type: 'connect', client: 9 });
  writeMessage(w, 1, { client: 9, payload: 'héllo' });
  writeMessage(w, 2, { client: 3, payload: new Uint8Array([0, 255]) });
  writeSnapshot(w, 1);
  writeRestore(w, 3, 1);
  writeRestore(w, 4, 0);
  writeClose(w, 2);
  const seen: unknown[] = [];
  const { batch, attachments } = unpackRequestFrame([w.written(), Uint8Array.of(10), Uint8Array.of(11, 12)]);
  readRequests(batch, {
    open: (instance, roomId) => seen.push(['open', instance, roomId]),
    event: (instance, bytes) => seen.push(['event', instance, decodeToProcess(bytes)]),
    snapshot: (instance) => seen.push(['snapshot', instance]),
    restore: (instance, image) => seen.push(['restore', instance, [...image]]),
    close: (instance) => seen.push(['close', instance]),
  }, attachments);
  assert.deepEqual(seen, [
    ['open', 1, 'room é'],
    ['event', 1, { type: 'init' }],
    ['event', 1, { type: 'connect', client: 9 }],
    ['event', 1, { type: 'message', sender: 9, payload: 'héllo' }],
    ['event', 2, { type: 'message', sender: 3, payload: new Uint8Array([0, 255]) }],
    ['snapshot', 1],
    ['restore', 3, [11, 12]],
    ['restore', 4, [10]],
    ['close', 2],
  ]);
  assert.deepEqual(unpackRequestFrame(Uint8Array.of(1)), { batch: Uint8Array.of(1), attachments: [] });
  w.clear();
  assert.equal(w.empty, true);
});

test('reply records read back as written: sends, a failure, printed lines, done', () => {
  const sends: MessageFromProcess[] = [
    { type: 'message', recipient: 'broadcast', payload: 'tick' },
    { type: 'message', recipient: { except: 2 }, payload: new Uint8Array([1]) },
  ];
  const records: ReplyRecord[] = [
    sentRecord(4, encodeFromProcess(sends[0]!)),
    printedRecord(4, 'stderr', 'panicked ✗'),
    doneRecord(4),
    sentRecord(0xfffffffe, encodeFromProcess(sends[1]!)),
    failedRecord(0xfffffffe, { code: 'SR_ERR_WASM_TRAP', message: 'guest trapped\nacross lines' }),
  ];
  const seen: unknown[] = [];
  const frames: Uint8Array[] = records.map((record) => {
    const frame = new Uint8Array(replyLength(record));
    writeReply(frame, 0, record);
    return frame;
  });
  // An image framed in place: the image after the head's free bytes.
  frames.push(imageFrame(Uint8Array.of(...new Array<number>(REPLY_HEAD_BYTES).fill(0), 1, 2, 3), 7));
  for (const frame of frames) {
    readReply(frame, {
      sent: (instance, bytes) => seen.push(['sent', instance, decodeFromProcess(bytes)]),
      done: (instance) => seen.push(['done', instance]),
      failed: (instance, code, message) => seen.push(['failed', instance, code, message]),
      printed: (instance, stream, line) => seen.push(['printed', instance, stream, line]),
      image: (instance, image) => seen.push(['image', instance, [...image]]),
    });
  }
  assert.deepEqual(seen, [
    ['sent', 4, sends[0]],
    ['printed', 4, 'stderr', 'panicked ✗'],
    ['done', 4],
    ['sent', 0xfffffffe, sends[1]],
    ['failed', 0xfffffffe, 'SR_ERR_WASM_TRAP', 'guest trapped\nacross lines'],
    ['image', 7, [1, 2, 3]],
  ]);
});

/** Reads every frame published on `ring` as arrays of numbers (ELSEWHERE as the string). */
function readAll(ring: Ring): Array<number[] | 'elsewhere'> {
  const out: Array<number[] | 'elsewhere'> = [];
  for (let length = ring.read(); length !== EMPTY; length = ring.read()) {
    out.push(length === ELSEWHERE ? 'elsewhere' : [...ring.bytes.subarray(ring.at, ring.at + length)]);
    ring.release();
  }
  return out;
}

test('a ring passes frames in order, wraps around its end, and refuses what does not fit until it is read', () => {
  const producer = Ring.create(64);
  const consumer = new Ring(producer.shared);
  assert.equal(producer.maxFrame, 28);
  assert.equal(consumer.read(), EMPTY);
  const frame = (n: number, length: number): Uint8Array => new Uint8Array(length).fill(n);
  for (let round = 0; round < 20; round++) {
    // 3 frames of 4 + 12 bytes fill 48 of 64; the next one must wait.
    for (let k = 0; k < 3; k++) assert.equal(producer.tryWrite(frame(round * 3 + k, 9)), true, `round ${round}, frame ${k}`);
    assert.equal(producer.tryWrite(frame(99, 20)), false, 'no room for a fourth');
    assert.deepEqual(
      readAll(consumer),
      [0, 1, 2].map((k) => [...frame(round * 3 + k, 9)]),
      `round ${round}`,
    );
  }
  assert.equal(producer.tryWrite(frame(7, 28)), true, 'the longest frame fits an empty ring, wherever it stands');
  assert.equal(producer.reserve(ELSEWHERE), true);
  producer.commit();
  assert.deepEqual(readAll(consumer), [[...frame(7, 28)], 'elsewhere']);
});
