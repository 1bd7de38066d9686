// Room images (src/durability/image.ts) and the directory store (src/durability/dir-store.ts):
// real files in a temporary directory, and a real process killed with SIGKILL mid-write.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { once } from 'node:events';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import zlib from 'node:zlib';
import { DirectoryStore, fileNameOf } from '../src/durability/dir-store.js';
import { decodeImage, encodeImage, readImageHeader, imageHeaderBytes, type RoomImage } from '../src/durability/image.js';
import { ErrorCode, StateroomError } from '../src/errors.js';
import { ROOT } from './helpers/cli.js';
import { within } from './helpers/deadline.js';

async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'stateroom-store-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function image(roomId: string, body: Uint8Array = new TextEncoder().encode(`state of ${roomId}`), more: Partial<RoomImage> = {}): RoomImage {
  return { roomId, kind: 'native', moduleHash: '', savedAt: 1_700_000_000_000, timerDueAt: undefined, body, ...more };
}

const WEIRD_IDS = ['../x', 'a/b', 'a\\b', 'nul\0inside', 'x'.repeat(5 * 1024), '🎲 room', 'Lobby', 'lobby', 'caf\u00e9', 'cafe\u0301', '', '.', 'lone \ud800 surrogate', 'CON'];

/** Rejects with SR_ERR_IMAGE_CORRUPT, or fails naming `what`. */
async function refused(promise: Promise<unknown>, what: string): Promise<StateroomError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof StateroomError && err.code === ErrorCode.IMAGE_CORRUPT, `${what}: ${String(err)}`);
    return err;
  }
  assert.fail(`${what}: was accepted`);
}

/** `bytes` with `edit` applied and both CRCs made right again: a crafted image, not a damaged one. */
function forged(bytes: Uint8Array, edit: (b: Buffer) => void): Buffer {
  const b = Buffer.from(bytes);
  edit(b);
  const headerEnd = 14 + b.readUInt32LE(10);
  b.writeUInt32LE(zlib.crc32(b.subarray(0, headerEnd)), headerEnd);
  b.writeUInt32LE(zlib.crc32(b.subarray(0, b.length - 4)), b.length - 4);
  return b;
}
/** Offset of the header's u64 bodyBytes. */
const BODY_BYTES_AT = 14 + 4 + 8 + 8;

test('an image decodes to exactly what was encoded: every field, any room id, compressed or stored bodies', async () => {
  const big = new Uint8Array(3 * 1024 * 1024).fill(7, 1000, 200_000);
  const noise = randomFillSync(new Uint8Array(100_000));
  const cases: RoomImage[] = [
    image('lobby', big, { kind: 'wasm', moduleHash: 'ab'.repeat(32), timerDueAt: 1_700_000_005_000.5 }),
    image('noise', noise),
    image('empty', new Uint8Array(0), { timerDueAt: 0 }),
    ...WEIRD_IDS.map((id) => image(id)),
  ];
  for (const original of cases) {
    const bytes = await encodeImage(original);
    const back = await decodeImage(bytes, 'test');
    assert.deepEqual({ ...back, body: Buffer.from(back.body) }, { ...original, body: Buffer.from(original.body) }, `room ${JSON.stringify(original.roomId.slice(0, 20))}`);
    const header = readImageHeader(bytes);
    assert.equal(header.roomId, original.roomId);
    assert.equal(header.bodyBytes, original.body.length);
    assert.equal(imageHeaderBytes(bytes) + header.storedBytes + 4, bytes.length);
  }
  const compressed = readImageHeader(await encodeImage(cases[0]!));
  assert.ok(compressed.storedBytes < compressed.bodyBytes / 100, `3 MiB, mostly zeros, compresses (${compressed.storedBytes} bytes)`);
  const stored = readImageHeader(await encodeImage(cases[1]!));
  assert.equal(stored.storedBytes, stored.bodyBytes, 'random bytes are stored as they are, not inflated by deflate');
});

test('every truncation of an image is refused, by the full decode and by the header reader', async () => {
  const bytes = await encodeImage(image('short', new TextEncoder().encode('hello hello hello hello hello'), { timerDueAt: 5 }));
  for (let n = 0; n < bytes.length; n++) {
    const cut = bytes.subarray(0, n);
    await refused(decodeImage(cut, 'cut.room'), `cut to ${n} bytes`);
    assert.throws(() => readImageHeader(cut, 'cut.room'), { code: ErrorCode.IMAGE_CORRUPT }, `header of a cut to ${n} bytes`);
  }
  const err = await refused(decodeImage(bytes.subarray(0, bytes.length - 1), '/state/x.room'), 'one byte short');
  assert.match(err.message, /\/state\/x\.room.*truncated/);
  assert.equal(err.context.file, '/state/x.room');
  await refused(decodeImage(Buffer.concat([bytes, Buffer.of(0)])), 'one byte too many');
});

test('every single bit flipped anywhere in an image is refused', async () => {
  const bytes = await encodeImage(image('flips', new TextEncoder().encode('the counter is at 41; '.repeat(4)), { kind: 'wasm', moduleHash: 'c'.repeat(64), timerDueAt: 9 }));
  assert.equal(readImageHeader(bytes).storedBytes < 88, true, 'the body is compressed: flips hit deflate data too');
  for (let bit = 0; bit < bytes.length * 8; bit++) {
    const flipped = Buffer.from(bytes);
    flipped[bit >> 3]! ^= 1 << (bit & 7);
    await refused(decodeImage(flipped), `bit ${bit} flipped`);
  }
});

test('a bit flipped in the body of a large image is refused; its header still reads, for a listing', async () => {
  const bytes = await encodeImage(image('large', randomFillSync(new Uint8Array(1024 * 1024))));
  for (const at of [imageHeaderBytes(bytes), bytes.length >> 1, bytes.length - 5]) {
    const flipped = Buffer.from(bytes);
    flipped[at]! ^= 0x10;
    const err = await refused(decodeImage(flipped, 'large.room'), `byte ${at}`);
    assert.match(err.message, /checksum/);
    assert.equal(readImageHeader(flipped).roomId, 'large');
  }
});

test('an empty file, a foreign file and an image of an unknown format version are refused, each saying so', async () => {
  assert.match((await refused(decodeImage(new Uint8Array(0), 'e.room'), 'empty')).message, /e\.room.*empty/);
  assert.match((await refused(decodeImage(Buffer.from('{"value": 41}\n'), 'f.room'), 'JSON')).message, /not a room image \(it starts with 7b 22/);
  assert.match((await refused(decodeImage(Buffer.from('\x89PNG\r\n\x1a\n0000000000000000'), 'p.room'), 'PNG')).message, /not a room image/);
  const next = forged(await encodeImage(image('v3')), (b) => b.writeUInt16LE(3, 8));
  assert.match((await refused(decodeImage(next), 'version 3')).message, /format version 3; this stateroom reads versions 1 to 2/);
  assert.match((await refused(decodeImage(forged(next, (b) => b.writeUInt16LE(0, 8))), 'version 0')).message, /format version 0;/);
});

// Written by stateroom before format version 2 (deflate), byte for byte: a wasm room with a
// timer, and a native one whose body is stored.
const VERSION_1_IMAGES = [
  'iVNSSU1HDQoBALwAAAABAQEAAACAVv68eEIAgLhX/rx4QlgAAAAAAAAAGwAAAAAAAAAQAAAAbABvAGIAYgB5ACAAPNiy34AAAABjAGMAYwBjAGMAYwBjAGMAYwBjAGMAYwBjAGMAYwBjAGMAYwBjAGMAYwBjAGMAYwBjAGMAYwBjAGMAYwBjAGMAYwBjAGMAYwBjAGMAYwBjAGMAYwBjAGMAYwBjAGMAYwBjAGMAYwBjAGMAYwBjAGMAYwBjAGMAYwBjAGMAYwBjADfHBiQryUhVSM4vzStJLVLILFZILFEwMbRWKKFYFACndHmr',
  'iVNSSU1HDQoBADYAAAACAAAAAACAVv68eEIAAAAAAAAAAAIAAAAAAAAAAgAAAAAAAAAKAAAAcABsAGEAaQBuAAAAAAAmQoazNDFuUjZb',
].map((base64) => Buffer.from(base64, 'base64'));

test('images of format version 1 (deflate) still decode; brotli bodies are version 2 only', async () => {
  const [wasm, native] = await Promise.all(VERSION_1_IMAGES.map((bytes) => decodeImage(bytes, 'v1.room')));
  assert.deepEqual({ ...wasm!, body: Buffer.from(wasm!.body).toString() }, {
    roomId: 'lobby 🎲',
    kind: 'wasm',
    moduleHash: 'c'.repeat(64),
    savedAt: 1_700_000_000_000,
    timerDueAt: 1_700_000_005_000,
    body: 'the counter is at 41; '.repeat(4),
  });
  assert.equal(Buffer.from(native!.body).toString(), '41');
  assert.equal(readImageHeader(VERSION_1_IMAGES[1]!).roomId, 'plain');

  // What this code writes: version 2 with brotli, or on request version 1 with deflate, the same bytes as before.
  const body = new TextEncoder().encode('the counter is at 41; '.repeat(4));
  const fields = { roomId: 'lobby 🎲', kind: 'wasm', moduleHash: 'c'.repeat(64), savedAt: 1_700_000_000_000, timerDueAt: 1_700_000_005_000, body } as const;
  const current = Buffer.from(await encodeImage(fields));
  assert.deepEqual([current.readUInt16LE(8), current[14 + 1]], [2, 2], 'version 2, compression 2 (brotli)');
  assert.equal(Buffer.from((await decodeImage(current)).body).toString(), 'the counter is at 41; '.repeat(4));
  assert.deepEqual(Buffer.from(await encodeImage(fields, { compression: 'deflate' })), VERSION_1_IMAGES[0]);

  // A version 1 image cannot claim brotli (no stateroom wrote one), nor any image an unknown compression.
  const claimsBrotli = forged(VERSION_1_IMAGES[0]!, (b) => (b[14 + 1] = 2));
  assert.match((await refused(decodeImage(claimsBrotli, 'v1.room'), 'brotli in v1')).message, /unknown compression 2 in a version 1 image/);
  assert.match((await refused(decodeImage(forged(current, (b) => (b[14 + 1] = 3))), 'compression 3')).message, /unknown compression 3 in a version 2 image/);
});

for (const compression of ['brotli', 'deflate'] as const) test(`a zip bomb (${compression}) is bounded: an oversized declared body is refused before inflating, and a lying one is cut off`, async () => {
  const zeros = await encodeImage(image('bomb', new Uint8Array(64 * 1024 * 1024)), { compression });
  assert.ok(zeros.length < 1024 * 1024, `64 MiB of zeros deflate to ${zeros.length} bytes`);
  const tooBig = await refused(decodeImage(zeros, 'bomb.room', { maxBodyBytes: 1024 * 1024 }), 'over the limit');
  assert.match(tooBig.message, /67108864 bytes uncompressed, over the limit of 1048576/);

  // Declares 1 KiB, inflates to 64 MiB: inflating stops at 1 KiB + 1 (zlib's maxOutputLength)
  // instead of allocating 64 MiB and noticing afterwards ("inflates to 67108864 bytes").
  const liar = forged(zeros, (b) => b.writeBigUInt64LE(1024n, BODY_BYTES_AT));
  const err = await refused(decodeImage(liar, 'liar.room'), 'lying size');
  assert.match(err.message, /liar\.room is unusable: its body does not inflate \(.*1025 bytes\)/);
});

test('the directory store puts, gets, lists, deletes and sets aside images of any room id, each in its own hashed file', async (t) => {
  const dir = await tempDir(t);
  const store = await DirectoryStore.open(path.join(dir, 'state', 'nested'));
  assert.equal(store.description, `directory ${path.join(dir, 'state', 'nested')}`);
  assert.deepEqual(await store.list(), []);
  assert.equal(await store.get('nothing'), undefined);

  for (const id of WEIRD_IDS) await store.put(id, await encodeImage(image(id)));
  const files = await readdir(store.dir);
  assert.equal(files.length, WEIRD_IDS.length, 'one file per id: ids differing in case or normalisation do not collide');
  for (const file of files) assert.match(file, /^[0-9a-f]{64}\.room$/);
  assert.deepEqual(await store.list(), [...WEIRD_IDS].sort());
  for (const id of WEIRD_IDS) {
    assert.equal(store.where(id), path.join(store.dir, fileNameOf(id)));
    const back = await decodeImage((await store.get(id))!, store.where(id));
    assert.equal(back.roomId, id);
    assert.deepEqual(Buffer.from(back.body), Buffer.from(new TextEncoder().encode(`state of ${id}`)));
  }

  await store.put('Lobby', await encodeImage(image('Lobby', new TextEncoder().encode('newer'))));
  assert.equal(new TextDecoder().decode((await decodeImage((await store.get('Lobby'))!)).body), 'newer');
  assert.equal(new TextDecoder().decode((await decodeImage((await store.get('lobby'))!)).body), 'state of lobby');

  assert.equal(await store.delete('a/b'), true);
  assert.equal(await store.delete('a/b'), false, 'nothing left to delete');
  assert.equal(await store.get('a/b'), undefined);

  const aside = await store.setAside('../x', 'restore() threw: TypeError: bad state');
  assert.ok(aside !== undefined && path.dirname(aside) === store.dir && path.basename(aside).startsWith(`${fileNameOf('../x')}.bad-`), String(aside));
  assert.equal(await store.get('../x'), undefined, 'the next get finds none');
  assert.match(await readFile(`${aside}.why`, 'utf8'), /restore\(\) threw/);
  assert.equal(await store.setAside('../x', 'again'), undefined, 'nothing left to set aside');
  assert.deepEqual(await store.list(), WEIRD_IDS.filter((id) => id !== 'a/b' && id !== '../x').sort());
  const scan = await store.scan();
  assert.deepEqual(scan.setAside, [path.basename(aside)]);

  await assert.rejects(store.put('x', await encodeImage(image('y'))), TypeError, 'an image put under another room id');
  await assert.rejects(store.put('x', new Uint8Array(10)), TypeError, 'bytes that are not an image');
});

test('concurrent puts of one room never interleave: the last one called wins, whole', async (t) => {
  const store = await DirectoryStore.open(await tempDir(t));
  const bodies = Array.from({ length: 12 }, () => randomFillSync(new Uint8Array(512 * 1024)));
  const images = await Promise.all(bodies.map((body) => encodeImage(image('busy', body))));
  await Promise.all(images.map((bytes) => store.put('busy', bytes)));
  const back = await decodeImage((await store.get('busy'))!);
  assert.deepEqual(Buffer.from(back.body), Buffer.from(bodies[bodies.length - 1]!));
  assert.deepEqual(await readdir(store.dir), [fileNameOf('busy')], 'no temporary file left behind');
  const twice = await Promise.all([DirectoryStore.open(store.dir), DirectoryStore.open(store.dir)]);
  assert.equal(twice.length, 2, 'two stores opening one directory at once do not trip over each other\'s probe');

  // A delete queued behind puts takes effect after them; a put after it brings the room back.
  const deleted = store.delete('busy');
  const last = store.put('busy', images[0]!);
  assert.equal(await deleted, true);
  await last;
  assert.deepEqual(Buffer.from((await decodeImage((await store.get('busy'))!)).body), Buffer.from(bodies[0]!));
});

test('a corrupt or misplaced file is listed as such by scan, left out of list, and get names the mismatch', async (t) => {
  const store = await DirectoryStore.open(await tempDir(t));
  await store.put('good', await encodeImage(image('good')));
  await writeFile(store.where('torn'), (await encodeImage(image('torn'))).subarray(0, 40));
  await writeFile(store.where('empty'), '');
  await writeFile(store.where('copied'), await encodeImage(image('original')));
  await writeFile(path.join(store.dir, 'notes.txt'), 'not an image: ignored');

  assert.deepEqual(await store.list(), ['good']);
  const { images } = await store.scan();
  const problems = Object.fromEntries(images.flatMap((i) => (i.ok ? [] : [[path.basename(i.file), i.problem]])));
  assert.equal(Object.keys(problems).length, 3);
  assert.match(problems[fileNameOf('torn')]!, /truncated/);
  assert.match(problems[fileNameOf('empty')]!, /empty/);
  assert.match(problems[fileNameOf('copied')]!, /holds room "original"/);
  await assert.rejects(store.get('copied'), { code: ErrorCode.IMAGE_CORRUPT, message: /holds room "original", not "copied"/ });
  await refused(decodeImage((await store.get('torn'))!, store.where('torn')), 'the torn file');
});

test('temporary files left by a crash are ignored by get and list, and removed at open once their writer is gone', async (t) => {
  const dir = await tempDir(t);
  const store = await DirectoryStore.open(dir);
  await store.put('kept', await encodeImage(image('kept')));
  const name = fileNameOf('kept');
  const deadWriter = `${name}.tmp-99999999-abcdef-1`; // no such pid
  const liveWriter = `${name}.tmp-${process.ppid}-abcdef-2`; // a running process, writing now
  const oldLiveWriter = `${name}.tmp-${process.ppid}-abcdef-3`; // a pid reused since: too old to be a write
  const deadProbe = '.probe-99999999-abcdef';
  for (const f of [deadWriter, liveWriter, oldLiveWriter, deadProbe]) await writeFile(path.join(dir, f), 'partial');
  const hourAgo = new Date(Date.now() - 2 * 60 * 60 * 1000);
  await utimes(path.join(dir, oldLiveWriter), hourAgo, hourAgo);

  assert.deepEqual(await store.list(), ['kept']);
  assert.equal((await decodeImage((await store.get('kept'))!)).roomId, 'kept');
  await DirectoryStore.openExisting(dir);
  assert.equal((await readdir(dir)).length, 5, 'openExisting (tools) removes nothing');
  await DirectoryStore.open(dir);
  assert.deepEqual((await readdir(dir)).sort(), [liveWriter, name].sort());
});

test('a state directory that cannot be used fails open with one line naming it, the OS error and what to do', async (t) => {
  const dir = await tempDir(t);
  const file = path.join(dir, 'a-file');
  await writeFile(file, '');
  for (const target of [file, path.join(file, 'below')]) {
    await assert.rejects(DirectoryStore.open(target), (err: unknown) => {
      assert.ok(err instanceof StateroomError && err.code === ErrorCode.STATE_DIR, String(err));
      assert.match(err.message, new RegExp(`^state directory ${file}.* \\((?:E[A-Z]+: .*)?\\)?.*: .*choose another --state-dir$`));
      assert.doesNotMatch(err.message, /\n/);
      return true;
    });
  }
  await assert.rejects(DirectoryStore.openExisting(path.join(dir, 'missing')), {
    code: ErrorCode.STATE_DIR,
    message: `state directory ${path.join(dir, 'missing')} does not exist: check the path, or choose another --state-dir`,
  });

  const readOnly = path.join(dir, 'read-only');
  await mkdir(readOnly, { mode: 0o500 });
  await chmod(readOnly, 0o500);
  if (process.getuid?.() === 0) {
    t.diagnostic('running as root, which ignores file modes: the unwritable-directory check is skipped');
    return;
  }
  await assert.rejects(DirectoryStore.open(readOnly), {
    code: ErrorCode.STATE_DIR,
    message: new RegExp(`^state directory ${readOnly} is not writable \\(EACCES: permission denied, .*\\): fix its permissions or choose another --state-dir$`),
  });
  await assert.rejects(DirectoryStore.open(path.join(readOnly, 'sub')), { code: ErrorCode.STATE_DIR, message: /cannot be created \(EACCES/ });
});

test('kill -9 while an image is being written leaves the previous image usable', async (t) => {
  const dir = await tempDir(t);
  const roomId = 'crash room';
  const bodyBytes = 16 * 1024 * 1024;
  let leftovers = 0;
  for (const [run, killAt] of [2, 3, 4, 5, 6].entries()) {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'test/helpers/store-writer.ts'), dir, roomId, String(bodyBytes)], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    t.after(() => child.kill('SIGKILL'));
    let output = '';
    const started = new Promise<void>((resolve) => {
      child.stdout.on('data', (d: Buffer) => {
        output += d.toString();
        if (output.includes(`mid-write ${killAt}\n`)) resolve();
      });
    });
    await within(started, `run ${run}: the writer to be writing put ${killAt}`, 30_000);
    child.kill('SIGKILL');
    await within(once(child, 'exit'), `run ${run}: the writer to die`, 5_000);
    const finished = [...output.matchAll(/^wrote (\d+)$/gm)].map((m) => Number(m[1])).at(-1);
    assert.ok(finished !== undefined && finished >= killAt - 1, `run ${run}: put ${killAt - 1} had finished (${output.trim().split('\n').at(-1)})`);
    if ((await readdir(dir)).some((f) => f.includes('.tmp-'))) leftovers++;

    const store = await DirectoryStore.open(dir);
    assert.deepEqual(await readdir(dir), [fileNameOf(roomId)], `run ${run}: only the image is left once the store is opened`);
    assert.deepEqual(await store.list(), [roomId]);
    const back = await decodeImage((await store.get(roomId))!, store.where(roomId));
    assert.equal(back.roomId, roomId);
    assert.equal(back.body.length, bodyBytes, `run ${run}: a whole image`);
  }
  t.diagnostic(`${leftovers} of 5 kills landed mid-write (a temporary file was left)`);
});
