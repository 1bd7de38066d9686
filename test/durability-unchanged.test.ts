// A save of a room whose state is what its last image holds writes nothing (a compare instead
// of an encode's write and two fsyncs); any change — a byte of memory, a global alone, the
// clients, the timer — is written. A real server with a real directory store, a WASM guest on
// the pool, and a real WebSocket client.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import test from 'node:test';
import wabt from 'wabt';
import { DirectoryStore } from '../src/durability/dir-store.js';
import { decodeImage, encodeImage, sameSavedRoom, savedRoomDigest, type RoomImage } from '../src/durability/image.js';
import { serve, type RoomStore } from '../src/index.js';
import { createLogger } from '../src/logger.js';
import { compileStateroomModule } from '../src/wasm/abi/module.js';
import { wasmAdapterSource } from '../src/wasm/source.js';
import { until } from './helpers/deadline.js';
import { client } from './helpers/sockets.js';

/**
 * A message whose text starts with `w` adds one to a global and touches nothing else; any other
 * text changes nothing. Each event's bytes (malloc always answers 1024) are zeroed once read, so
 * memory after an event is as before it.
 */
const GLOBAL_ONLY_WAT = String.raw`
(module
  (import "env" "stateroom_send" (func $send (param i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "\01\00\00\00\00\00\00\00")
  (global (export "STATEROOM_API_VERSION") i32 (i32.const 16))
  (global (export "STATEROOM_API_PROTOCOL") i32 (i32.const 20))
  (global $writes (mut i32) (i32.const 0))
  (func (export "stateroom_malloc") (param $size i32) (result i32)
    (if (i32.gt_u (local.get $size) (i32.const 60000)) (then unreachable))
    (i32.const 1024))
  (func (export "stateroom_free") (param i32 i32))
  (func (export "stateroom_recv") (param $ptr i32) (param $len i32)
    ;; Message (3) of a text whose first byte (at 20) is "w"
    (if (i32.and (i32.eq (i32.load (local.get $ptr)) (i32.const 3)) (i32.eq (i32.load8_u offset=20 (local.get $ptr)) (i32.const 0x77)))
      (then (global.set $writes (i32.add (global.get $writes) (i32.const 1)))))
    (memory.fill (local.get $ptr) (i32.const 0) (local.get $len)))
)`;

async function globalOnlySource() {
  const tools = await wabt();
  const parsed = tools.parseWat('global-only.wat', GLOBAL_ONLY_WAT, { bulk_memory: true });
  parsed.validate();
  const bytes = parsed.toBinary({}).buffer;
  parsed.destroy();
  return wasmAdapterSource(await compileStateroomModule(bytes, 'global-only.wat'), { isolation: 'pool', poolSize: 1 });
}

/** A real directory store that keeps every image put, in order. */
function recording(store: DirectoryStore): { store: RoomStore; puts: Uint8Array[] } {
  const puts: Uint8Array[] = [];
  const wrapped: RoomStore = {
    description: store.description,
    get: (roomId) => store.get(roomId),
    put: async (roomId, bytes) => {
      await store.put(roomId, bytes);
      puts.push(bytes);
    },
    delete: (roomId) => store.delete(roomId),
    list: () => store.list(),
    setAside: (roomId, why) => store.setAside(roomId, why),
    where: (roomId) => store.where(roomId),
    timers: () => store.timers(),
  };
  return { store: wrapped, puts };
}

test('sameSavedRoom: images equal but for savedAt are the same room; a byte of the body or the timer is not', async () => {
  const base: RoomImage = { roomId: 'r', kind: 'wasm', moduleHash: 'a'.repeat(64), savedAt: 1_700_000_000_000, timerDueAt: 1_700_000_001_000, body: new Uint8Array(70_000).fill(5, 100, 900) };
  const first = await encodeImage(base);
  assert.ok(sameSavedRoom(first, await encodeImage({ ...base, savedAt: base.savedAt + 5_000 })));
  const body = new Uint8Array(base.body);
  body[69_999] = 1;
  assert.ok(!sameSavedRoom(first, await encodeImage({ ...base, body })), 'the last byte of the body');
  assert.ok(!sameSavedRoom(first, await encodeImage({ ...base, timerDueAt: base.timerDueAt! + 1 })), 'the timer');
  assert.ok(!sameSavedRoom(first, await encodeImage({ ...base, timerDueAt: undefined })), 'no timer');
  assert.ok(!sameSavedRoom(first, await encodeImage({ ...base, roomId: 's' })), 'another room');
  assert.ok(!sameSavedRoom(undefined, first));
  // The keeper remembers a digest of the same comparison, not the image.
  assert.equal(savedRoomDigest(first), savedRoomDigest(await encodeImage({ ...base, savedAt: base.savedAt + 5_000 })));
  assert.notEqual(savedRoomDigest(first), savedRoomDigest(await encodeImage({ ...base, body })));
  assert.notEqual(savedRoomDigest(first), savedRoomDigest(await encodeImage({ ...base, timerDueAt: base.timerDueAt! + 1 })));
});

test('a WASM room on the pool whose events change nothing is not rewritten; a change to one global alone is', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'stateroom-unchanged-'));
  const { store, puts } = recording(await DirectoryStore.open(dir));
  const source = await globalOnlySource();
  const server = await serve(source, { port: 0, host: '127.0.0.1', store, snapshotIntervalMs: 100, logger: createLogger('warn') });
  t.after(async () => {
    await server.close(); // saves the room as it closes: before its directory goes
    await source.close();
    await rm(dir, { recursive: true, force: true });
  });
  const saves = async (result: string): Promise<number> => {
    const text = await fetch(`http://127.0.0.1:${server.port}/metrics`).then((r) => r.text());
    return Number(new RegExp(`stateroom_room_saves_total\\{result="${result}"\\} (\\d+)`).exec(text)?.[1] ?? 0);
  };
  const c = await client(`ws://127.0.0.1:${server.port}/ws/lobby`);

  c.ws.send('write');
  await until(() => puts.length === 1, 'the first save', 5_000);
  // Two saves that find the room unchanged (each after a read that touched it).
  for (const round of [1, 2]) {
    c.ws.send('read');
    await until(async () => (await saves('unchanged')) === round, `unchanged save ${round}`, 5_000);
  }
  assert.equal(puts.length, 1, 'reads changed nothing: nothing was written');

  c.ws.send('write');
  await until(() => puts.length === 2, 'the save of a change to the global alone', 5_000);
  const [before, after] = await Promise.all(puts.map((bytes) => decodeImage(bytes)));
  assert.ok(!Buffer.from(before!.body).equals(Buffer.from(after!.body)), 'the images differ (in the global)');
  assert.equal(await saves('unchanged'), 2);
  c.ws.close();
});
