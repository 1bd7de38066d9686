// The batches between the server thread and a guest thread: what is written is read back,
// in order, and buffers are reused rather than reallocated.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ByteWriter } from './byte-buffer.js';
import { decodeFromProcess, decodeToProcess, encodeFromProcess, type MessageFromProcess } from '../abi/codec.js';
import {
  beginCallReply,
  endCallReply,
  forEachSent,
  readReplies,
  readRequests,
  writeClose,
  writeEvent,
  writeMessage,
  writeOpen,
  writePrinted,
  writeSent,
} from './wire.js';

test('a request batch reads back as written: open, events (any kind), messages, close', () => {
  const w = new ByteWriter();
  writeOpen(w, 1, 'room é');
  writeEvent(w, 1, { type: 'init' });
  writeEvent(w, 1, { type: 'connect', client: 9 });
  writeMessage(w, 1, { client: 9, payload: 'héllo' });
  writeMessage(w, 2, { client: 3, payload: new Uint8Array([0, 255]) });
  writeClose(w, 2);
  const seen: unknown[] = [];
  readRequests(w.take(), {
    open: (instance, roomId) => seen.push(['open', instance, roomId]),
    event: (instance, bytes) => seen.push(['event', instance, decodeToProcess(bytes)]),
    close: (instance) => seen.push(['close', instance]),
  });
  assert.deepEqual(seen, [
    ['open', 1, 'room é'],
    ['event', 1, { type: 'init' }],
    ['event', 1, { type: 'connect', client: 9 }],
    ['event', 1, { type: 'message', sender: 9, payload: 'héllo' }],
    ['event', 2, { type: 'message', sender: 3, payload: new Uint8Array([0, 255]) }],
    ['close', 2],
  ]);
});

test('a reply batch carries each call’s sends, a failure after partial sends, and printed lines', () => {
  const sends: MessageFromProcess[] = [
    { type: 'message', recipient: 'broadcast', payload: 'tick' },
    { type: 'setTimer', msDelay: 5 },
    { type: 'message', recipient: { except: 2 }, payload: new Uint8Array([1]) },
  ];
  const w = new ByteWriter();
  let record = beginCallReply(w, 4);
  writeSent(w, encodeFromProcess(sends[0]!));
  writeSent(w, encodeFromProcess(sends[1]!));
  endCallReply(w, record, undefined);
  writePrinted(w, 4, 'stderr', 'panicked');
  record = beginCallReply(w, 5);
  writeSent(w, encodeFromProcess(sends[2]!));
  endCallReply(w, record, { code: 'SR_ERR_WASM_TRAP', message: 'guest trapped' });
  record = beginCallReply(w, 6);
  endCallReply(w, record, undefined);

  const seen: unknown[] = [];
  const decoded = (sent: Uint8Array): MessageFromProcess[] => {
    const out: MessageFromProcess[] = [];
    forEachSent(sent, (bytes, into) => into.push(decodeFromProcess(bytes)), out);
    return out;
  };
  readReplies(w.take(), {
    done: (instance, sent) => seen.push(['done', instance, decoded(sent)]),
    failed: (instance, sent, code, message) => seen.push(['failed', instance, decoded(sent), code, message]),
    printed: (instance, stream, line) => seen.push(['printed', instance, stream, line]),
  });
  assert.deepEqual(seen, [
    ['done', 4, sends.slice(0, 2)],
    ['printed', 4, 'stderr', 'panicked'],
    ['failed', 5, [sends[2]], 'SR_ERR_WASM_TRAP', 'guest trapped'],
    ['done', 6, []],
  ]);
});

test('a writer grows for a large batch, and writes the next batch into a recycled buffer', () => {
  const w = new ByteWriter();
  assert.equal(w.empty, true);
  const big = 'x'.repeat(100_000);
  writeMessage(w, 1, { client: 1, payload: big });
  const first = w.take();
  assert.ok(first.byteLength >= 100_020);
  let payload: unknown;
  readRequests(first, { open: () => {}, close: () => {}, event: (_, bytes) => (payload = (decodeToProcess(bytes) as { payload: string }).payload) });
  assert.equal(payload, big);
  w.recycle(first);
  w.take(); // empty: the buffer the writer held; the recycled one is next
  writeOpen(w, 2, 'again');
  const second = w.take();
  assert.equal(second, first, 'the recycled buffer was reused');
  readRequests(second, { open: (i, room) => assert.deepEqual([i, room], [2, 'again']), event: () => assert.fail(), close: () => assert.fail() });
});
