// `stateroom rooms list|show|delete`: the built bin as a child process, on a state directory
// filled through the store itself.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { DirectoryStore } from '../src/durability/dir-store.js';
import { encodeImage, type RoomImage } from '../src/durability/image.js';
import { run } from './helpers/cli.js';

const HASH = '3f2a9c81d4e5'.padEnd(64, '0');
const EVIL = 'evil\x1b[2J\x07\n\u202eid';
const HOUR = 60 * 60 * 1000;

/** A state directory with a WASM room (timer pending), a native one (timer overdue), an evil id, a torn file, and a write in progress. */
async function stateDir(t: TestContext): Promise<{ store: DirectoryStore; inFlight: string }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'stateroom-rooms-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const store = await DirectoryStore.open(dir);
  const put = async (roomId: string, more: Partial<RoomImage>): Promise<void> =>
    store.put(roomId, await encodeImage({ roomId, kind: 'native', moduleHash: '', savedAt: Date.UTC(2025, 0, 2, 3, 4, 5), timerDueAt: undefined, body: new Uint8Array(64 * 1024).fill(1, 0, 500), ...more }));
  await put('lobby', { kind: 'wasm', moduleHash: HASH, timerDueAt: Date.now() + HOUR });
  await put('sleepy', { timerDueAt: Date.UTC(2025, 0, 1) });
  await put(EVIL, {});
  await writeFile(store.where('torn'), (await readFile(store.where('lobby'))).subarray(0, 100));
  // A running server's write in progress: the tools must leave it alone.
  const inFlight = `${path.basename(store.where('lobby'))}.tmp-${process.pid}-abc123-1`;
  await writeFile(path.join(dir, inFlight), 'half an image');
  return { store, inFlight };
}

/** True when `text` has no control character but newlines: nothing that could drive a terminal. */
const printable = (text: string): boolean =>
  [...text].every((ch) => {
    const code = ch.codePointAt(0)!;
    return ch === '\n' || !(code < 0x20 || (code >= 0x7f && code <= 0x9f) || (code >= 0x202a && code <= 0x202e) || (code >= 0x2066 && code <= 0x2069));
  });

test('rooms list: a row per room with size, saved at, kind, module and timer, ids escaped, corrupt files with their reason, and a summary', async (t) => {
  const { store, inFlight } = await stateDir(t);
  const listed = await run(['rooms', 'list', '--state-dir', store.dir]);
  assert.equal(listed.code, 0, listed.stderr);
  assert.equal(listed.stderr, '');
  assert.ok(printable(listed.stdout), `no control characters reach the terminal: ${JSON.stringify(listed.stdout)}`);
  const lines = listed.stdout.trimEnd().split('\n');
  assert.match(lines[0]!, /^SIZE +SAVED AT +KIND +MODULE +TIMER +ROOM$/);
  assert.match(lines[1]!, /^\d+ B +2025-01-02T03:04:05\.000Z +native +- +- +evil\\x1b\[2J\\x07\\x0a\\u\{202e\}id$/);
  assert.match(lines[2]!, /^\d+ B +2025-01-02T03:04:05\.000Z +wasm +3f2a9c81d4e5 +\d{4}-\d\d-\d\dT[\d:.]+Z +lobby$/);
  assert.match(lines[3]!, /^\d+ B +2025-01-02T03:04:05\.000Z +native +- +overdue +sleepy$/);
  assert.match(lines[4]!, new RegExp(`^corrupt \\(100 B\\): room image ${store.where('torn')} is unusable: truncated`));
  assert.match(lines[5]!, new RegExp(`^3 rooms, [\\d.]+ (B|KiB) in ${store.dir}; 1 corrupt image \\(skipped by the server`));
  assert.equal(lines.length, 6);
  assert.ok((await readdir(store.dir)).includes(inFlight), 'a write in progress is left alone');

  const json = await run(['rooms', 'list', '--state-dir', store.dir, '--json']);
  assert.equal(json.code, 0, json.stderr);
  const parsed = JSON.parse(json.stdout) as {
    stateDir: string;
    rooms: { roomId: string; kind: string; moduleHash: string; timerDueAt: string | null; timerOverdue: boolean; file: string; bytesOnDisk: number }[];
    corrupt: { file: string; problem: string }[];
    totalBytes: number;
  };
  assert.equal(parsed.stateDir, store.dir);
  assert.deepEqual(parsed.rooms.map((r) => r.roomId), [EVIL, 'lobby', 'sleepy'], 'ids exact in JSON');
  const lobby = parsed.rooms[1]!;
  assert.equal(lobby.kind, 'wasm');
  assert.equal(lobby.moduleHash, HASH);
  assert.equal(lobby.timerOverdue, false);
  assert.equal(parsed.rooms[2]!.timerDueAt, '2025-01-01T00:00:00.000Z');
  assert.equal(parsed.rooms[2]!.timerOverdue, true);
  assert.equal(lobby.bytesOnDisk, (await stat(lobby.file)).size);
  assert.deepEqual(parsed.corrupt.map((c) => c.file), [store.where('torn')]);
  assert.match(parsed.corrupt[0]!.problem, /truncated/);
  let total = 0;
  for (const name of await readdir(store.dir)) if (name.endsWith('.room')) total += (await stat(path.join(store.dir, name))).size;
  assert.equal(parsed.totalBytes, total);
});

test('rooms show: the header, body size, compression ratio and integrity of one room; a damaged one exits 1', async (t) => {
  const { store } = await stateDir(t);
  const shown = await run(['rooms', 'show', 'lobby', '--state-dir', store.dir]);
  assert.equal(shown.code, 0, shown.stderr);
  assert.match(shown.stdout, /^room +lobby$/m);
  assert.match(shown.stdout, new RegExp(`^file +${store.where('lobby')}$`, 'm'));
  assert.match(shown.stdout, /^kind +wasm$/m);
  assert.match(shown.stdout, new RegExp(`^module hash +${HASH}$`, 'm'));
  assert.match(shown.stdout, /^saved at +2025-01-02T03:04:05\.000Z$/m);
  assert.match(shown.stdout, /^body +64\.0 KiB \(65536 bytes\), stored in \d+ B: \d+\.\d:1$/m);
  assert.match(shown.stdout, /^integrity +ok/m);

  const evil = await run(['rooms', 'show', EVIL, '--state-dir', store.dir, '--json']);
  assert.equal(evil.code, 0, evil.stderr);
  const parsed = JSON.parse(evil.stdout) as { roomId: string; timerDueAt: null; bodyBytes: number; compressionRatio: number; intact: boolean };
  assert.equal(parsed.roomId, EVIL);
  assert.equal(parsed.timerDueAt, null);
  assert.equal(parsed.bodyBytes, 65536);
  assert.ok(parsed.compressionRatio > 10, `ratio ${parsed.compressionRatio}`);
  assert.equal(parsed.intact, true);

  // A bit flipped in the body: the header still reads, the checksum does not.
  const bytes = await readFile(store.where('sleepy'));
  bytes[bytes.length - 10]! ^= 1;
  await writeFile(store.where('sleepy'), bytes);
  const damaged = await run(['rooms', 'show', 'sleepy', '--state-dir', store.dir]);
  assert.equal(damaged.code, 1);
  assert.match(damaged.stdout, /^timer +overdue \(was due 2025-01-01T00:00:00\.000Z\)$/m);
  assert.match(damaged.stdout, /^integrity +corrupt: .*checksum does not match/m);

  const torn = await run(['rooms', 'show', 'torn', '--state-dir', store.dir]);
  assert.equal(torn.code, 1);
  assert.match(torn.stderr, /^stateroom: room image .* is unusable: truncated/);

  const none = await run(['rooms', 'show', 'nobody', '--state-dir', store.dir]);
  assert.equal(none.code, 1);
  assert.equal(none.stdout, '');
  assert.match(none.stderr, /^stateroom: no saved room "nobody" in /);
});

test('rooms delete: removes one room and says so; deleting a room that is not there exits 1', async (t) => {
  const { store, inFlight } = await stateDir(t);
  const deleted = await run(['rooms', 'delete', 'sleepy', '--state-dir', store.dir]);
  assert.equal(deleted.code, 0, deleted.stderr);
  assert.equal(deleted.stdout, `deleted room "sleepy" (${store.where('sleepy')})\n`);
  assert.deepEqual(await store.list(), [EVIL, 'lobby']);

  const escaped = await run(['rooms', 'delete', EVIL, '--state-dir', store.dir]);
  assert.equal(escaped.code, 0, escaped.stderr);
  assert.ok(printable(escaped.stdout), escaped.stdout);
  assert.deepEqual(await store.list(), ['lobby']);

  const again = await run(['rooms', 'delete', 'sleepy', '--state-dir', store.dir]);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /^stateroom: no saved room "sleepy" in .*\n$/);
  assert.ok((await readdir(store.dir)).includes(inFlight), 'a write in progress is left alone');
});

test('rooms on a missing directory, or without --state-dir, is one line and exit 1; an empty one lists nothing', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'stateroom-rooms-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const missing = path.join(dir, 'nothing-here');
  for (const command of ['list', 'show x', 'delete x']) {
    const result = await run(['rooms', ...command.split(' '), '--state-dir', missing]);
    assert.equal(result.code, 1, command);
    assert.equal(result.stderr, `stateroom: state directory ${missing} does not exist: check the path, or choose another --state-dir [SR_ERR_STATE_DIR]\n`);
  }
  assert.deepEqual(await readdir(dir), [], 'nothing was created');

  const without = await run(['rooms', 'list']);
  assert.equal(without.code, 1);
  assert.match(without.stderr, /required option '--state-dir <dir>'/);

  const empty = await run(['rooms', 'list', '--state-dir', dir]);
  assert.equal(empty.code, 0, empty.stderr);
  assert.equal(empty.stdout, `0 rooms, 0 B in ${dir}\n`);
});
