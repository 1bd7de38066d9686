// The state directory's writer thread (src/durability/image-writer.ts): a write that fails,
// and a thread that dies, each fail the save loudly with the room named — never a save that
// hangs or silently stops — and closing waits for the writes under way.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import path from 'node:path';
import test from 'node:test';
import { serve, type Context, type Payload } from '../src/index.js';
import { DirectoryStore } from '../src/durability/dir-store.js';
import { decodeImage, type RoomImage } from '../src/durability/image.js';
import { ImageWriter } from '../src/durability/image-writer.js';
import { decodeSavedRoom, encodeSavedRoom } from '../src/durability/saved-room.js';
import { StateroomError } from '../src/errors.js';
import { createLogger } from '../src/logger.js';
import { until, within } from './helpers/deadline.js';
import { LogLines } from './helpers/json-logs.js';
import { client } from './helpers/sockets.js';
import { tempDirs } from './helpers/temp-dirs.js';

const tempDir = tempDirs('stateroom-writer-');

const imageOf = (roomId: string, text = 'state'): RoomImage => ({ roomId, kind: 'native', moduleHash: '', savedAt: Date.now(), timerDueAt: undefined, body: new TextEncoder().encode(text) });

/** A counter whose value is its saved state. */
class Counter {
  value = 0;
  message(_client: number, _payload: Payload, ctx: Context): void {
    this.value += 1;
    ctx.sendMessage('broadcast', `value ${this.value}`);
  }
  snapshot(): string {
    return String(this.value);
  }
  restore(data: Payload): void {
    this.value = Number(data);
  }
}

test('a write the writer thread cannot do fails the save with the room and the file named, and the save is retried once it can', async (t) => {
  const dir = tempDir();
  const stateDir = path.join(dir, 'state');
  const logs = new LogLines();
  const server = await serve(Counter, { port: 0, host: '127.0.0.1', stateDir, snapshotIntervalMs: 50, logger: createLogger('info', logs) });
  t.after(() => server.close());
  const store = await DirectoryStore.openExisting(stateDir);
  const file = store.where('ledger');
  const c = await client(`ws://127.0.0.1:${server.port}/ws/ledger`);
  c.ws.send('+1');
  assert.equal(await c.nextText(), 'value 1');
  await until(() => existsSync(file), 'the first image');

  // The directory goes away under the server: the thread's open of its temporary file fails.
  renameSync(stateDir, path.join(dir, 'moved'));
  c.ws.send('+1');
  assert.equal(await c.nextText(), 'value 2', 'the room goes on');
  const failure = await logs.waitFor((e) => e.code === 'SR_ERR_SAVE_FAILED', 'the failed save, logged');
  assert.match(String(failure.msg), /^room "ledger" could not be saved to .*\.room \(it goes on, and the save is retried\): (?:StateroomError: )?cannot save room image .*\.room of room "ledger" \(ENOENT: no such file or directory, open '.*\.room\.tmp-[^']+'\)/);
  assert.equal(failure.roomId, 'ledger');

  mkdirSync(stateDir);
  await logs.waitFor((e) => e.msg === 'room "ledger" is saved again', 'the retried save');
  const image = await decodeImage((await store.get('ledger'))!, file);
  assert.equal(new TextDecoder().decode(image.body).endsWith('2'), true, 'the image holds the value after the failure');
});

test('a writer thread that dies fails every write it had, naming each room; the next write starts a new thread', async () => {
  const dir = tempDir();
  // A thread that exits at its first request, as one that crashed (out of memory, a bug) would.
  const dying = { entry: `require('node:worker_threads').parentPort.once('message', () => process.exit(3))`, eval: true };
  const writer = new ImageWriter(dir, { entry: dying });
  const write = (roomId: string): Promise<unknown> => writer.writeImage(imageOf(roomId), path.join(dir, `${roomId}.room`), path.join(dir, `${roomId}.tmp`), undefined, false);
  const stopped = (roomId: string) => (err: unknown): boolean => {
    assert.ok(err instanceof StateroomError, String(err));
    assert.equal(err.code, 'SR_ERR_STATE_DIR');
    assert.equal(err.context.roomId, roomId);
    assert.match(err.message, new RegExp(`^the writer thread of the state directory .* stopped \\(it exited \\(exit code 3\\)\\) before room "${roomId}" was saved to .*${roomId}\\.room; a new thread takes the next write$`));
    return true;
  };
  await assert.rejects(within(Promise.all([write('first'), write('second')]), 'the writes to fail'), stopped('first'));
  await assert.rejects(within(write('second'), 'the write to fail, not hang'), stopped('second'));
  await assert.rejects(within(write('third'), 'a write on a third thread to fail'), stopped('third'));
  await within(writer.close(), 'close');
});

test('closing the store waits for its writes under way; a write after it fails, naming the room', async () => {
  const store = await DirectoryStore.open(path.join(tempDir(), 'state'));
  const written = store.putImage(imageOf('last words', 'kept'));
  await within(store.close(), 'close');
  assert.equal((await written).written, true);
  const image = await decodeImage((await store.get('last words'))!, store.where('last words'));
  assert.equal(new TextDecoder().decode(image.body), 'kept');
  await assert.rejects(store.putImage(imageOf('too late')), /room "too late" could not be saved to .*: the state directory .* is closed/);
});

test('an image given twice is written once: the second, with the first one\'s digest, writes nothing', async () => {
  const store = await DirectoryStore.open(path.join(tempDir(), 'state'));
  const first = await store.putImage(imageOf('same'));
  assert.equal(first.written, true);
  const second = await store.putImage({ ...imageOf('same'), savedAt: Date.now() + 1000 }, first.digest);
  assert.deepEqual({ written: second.written, digest: second.digest }, { written: false, digest: first.digest });
  const third = await store.putImage(imageOf('same', 'changed'), first.digest);
  assert.equal(third.written, true);
  await store.close();
});

test('a room saved with its body joined on the writer thread (putRoom) is the image putImage writes of the same state, and its buffer is handed over, not copied', async () => {
  const store = await DirectoryStore.open(path.join(tempDir(), 'state'));
  const state = { lastClientId: 7, clients: [2, 7], timerDueAt: undefined, tokenIds: [[new Uint8Array(16).fill(3), 2] as const], body: new Uint8Array(0) };
  const header = { roomId: 'joined', kind: 'wasm' as const, moduleHash: 'm', savedAt: 1, timerDueAt: undefined };
  const adapterBytes = new TextEncoder().encode('guest memory '.repeat(100));
  // As a pool thread's capture comes: a view past a reply head, in a buffer of its own.
  const frame = new Uint8Array(5 + adapterBytes.length);
  frame.set(adapterBytes, 5);
  const given = await within(store.putRoom(header, { ...state, body: frame.subarray(5) }), 'putRoom');
  assert.equal(frame.buffer.byteLength, 0, 'the capture\'s buffer went to the writer thread (detached here), not a copy');
  const joinedBytes = readFileSync(store.where('joined'));
  const kept = await within(store.putImage({ ...header, body: encodeSavedRoom({ ...state, body: adapterBytes }) }), 'putImage');
  assert.deepEqual({ digest: given.digest, bytes: given.bytes }, { digest: kept.digest, bytes: kept.bytes }, 'the same saved room, byte for byte');
  assert.deepEqual(readFileSync(store.where('joined')), joinedBytes);
  const back = decodeSavedRoom((await decodeImage(joinedBytes, 'joined')).body, undefined, 'joined');
  assert.deepEqual({ clients: back.clients, lastClientId: back.lastClientId, body: new TextDecoder().decode(back.body) }, { clients: [2, 7], lastClientId: 7, body: 'guest memory '.repeat(100) });
  await store.close();
});

test('a writer thread idle for a while stops, giving back its memory; the next write starts another', async () => {
  const dir = tempDir();
  const writer = new ImageWriter(dir, { idleStopMs: 50 });
  const write = (text: string): Promise<unknown> => writer.writeImage(imageOf('napping', text), path.join(dir, 'napping.room'), path.join(dir, `napping.tmp-${text}`), undefined, false);
  assert.equal(writer.running, false, 'no thread before the first write');
  await within(write('one'), 'the first write');
  assert.equal(writer.running, true);
  await until(() => !writer.running, 'the idle thread to stop');
  await within(write('two'), 'a write after it stopped');
  const image = await decodeImage(readFileSync(path.join(dir, 'napping.room')), 'napping.room');
  assert.equal(new TextDecoder().decode(image.body), 'two');
  await within(writer.close(), 'close');
  assert.equal(writer.running, false);
});

test('a write that cannot be handed to the thread fails at once, and close() still finishes', async () => {
  const dir = tempDir();
  const writer = new ImageWriter(dir, { idleStopMs: 60_000 });
  const image = imageOf('handed-twice', 'some bytes');
  const file = path.join(dir, 'r.room');
  await within(writer.writeImage(image, file, path.join(dir, 'r.tmp0'), undefined, true), 'the first write');
  assert.equal(image.body.byteLength, 0, 'the body was handed over');
  // The same image again: its buffer is gone, and nothing may wait for an answer that never comes.
  await within(
    assert.rejects(writer.writeImage(image, file, path.join(dir, 'r.tmp1'), undefined, true), (err: unknown) => err instanceof StateroomError && /handed-twice/.test(err.message)),
    'the second write to fail',
  );
  const uncloneable = { ...imageOf('odd'), extra: () => undefined } as unknown as RoomImage;
  await within(assert.rejects(writer.writeImage(uncloneable, file, path.join(dir, 'r.tmp2'), undefined, false), StateroomError), 'an uncloneable write to fail');
  await within(Promise.all([writer.close(), writer.close()]), 'both close() calls to finish');
  assert.equal(writer.running, false);
});

test('a writer that never answers (a hung disk) is given up at shutdown: its writes fail naming their rooms, and close() returns', async () => {
  const dir = tempDir();
  const hung = { entry: `require('node:worker_threads').parentPort.on('message', () => {})`, eval: true };
  const writer = new ImageWriter(dir, { entry: hung });
  const file = path.join(dir, 'r.room');
  const writes = ['stuck-1', 'stuck-2'].map((room, i) => writer.writeImage(imageOf(room), file, path.join(dir, `r.tmp${i}`), undefined, false));
  const outcomes = Promise.allSettled(writes);
  const closing = writer.close();
  const early = await Promise.race([closing.then(() => 'closed'), new Promise((resolve) => setImmediate(() => resolve('waiting')))]);
  assert.equal(early, 'waiting', 'close() waits for the writes under way');
  assert.deepEqual(writer.abandon(), ['stuck-1', 'stuck-2']);
  await within(closing, 'close() to return once the writes are given up');
  const settled = await within(outcomes, 'the writes to settle');
  for (const [i, outcome] of settled.entries()) {
    assert.ok(outcome.status === 'rejected' && outcome.reason instanceof StateroomError, `write ${i + 1} failed with a StateroomError`);
    assert.match(outcome.reason.message, new RegExp(`stopped waiting.*"stuck-${i + 1}".*the state directory is closed`));
  }
  assert.equal(writer.running, false);
});
