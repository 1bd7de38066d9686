// Durable rooms with a native service, in one process: a room outlives its server (restart),
// its timer wakes it while it sleeps or after downtime, and what cannot be restored is set
// aside or skipped — never a crash, never a half-restored room.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import test from 'node:test';
import { serve, type Context, type MaybePromise, type Payload, type RoomStore, type RunningServer, type ServerOptions } from '../src/index.js';
import { decodeImage } from '../src/durability/image.js';
import { createLogger } from '../src/logger.js';
import { LogLines } from './helpers/json-logs.js';
import { until, within } from './helpers/deadline.js';
import { client, closed, refusal } from './helpers/sockets.js';
import { tempDirs } from './helpers/temp-dirs.js';

/** A counter that keeps its value, its alarms and who it saw, through snapshot()/restore(). */
class DurableCounter {
  value = 0;
  fired = 0;
  seen: number[] = [];
  connect(client: number): void {
    this.seen.push(client);
  }
  disconnect(client: number): MaybePromise<void> {
    this.seen = this.seen.filter((c) => c !== client);
  }
  message(client: number, payload: Payload, ctx: Context): void {
    const text = String(payload);
    if (text === 'increment') {
      this.value += 1;
      ctx.sendMessage('broadcast', `new value: ${this.value}`);
    } else if (text.startsWith('alarm ')) {
      ctx.setTimer(Number(text.slice(6)));
      ctx.sendMessage(client, 'armed');
    } else if (text === 'state') {
      ctx.sendMessage(client, `value ${this.value} fired ${this.fired} seen [${this.seen.join(',')}] me ${client}`);
    }
  }
  timer(): void {
    this.fired += 1;
  }
  snapshot(): MaybePromise<string> {
    return JSON.stringify({ value: this.value, fired: this.fired, seen: this.seen });
  }
  restore(data: Payload): void {
    Object.assign(this, JSON.parse(String(data)) as object);
  }
}

const stateDir = tempDirs('stateroom-durable-');

async function start(t: test.TestContext, dir: string, options: ServerOptions = {}, service: typeof DurableCounter = DurableCounter) {
  const logs = new LogLines();
  const server = await serve(service, { port: 0, host: '127.0.0.1', stateDir: dir, logger: createLogger('debug', logs), ...options });
  t.after(() => server.close());
  return { server, logs, url: (room: string) => `ws://127.0.0.1:${server.port}/ws/${encodeURIComponent(room)}` };
}

async function ask(url: string, message: string): Promise<string> {
  const c = await client(url);
  c.ws.send(message);
  const answer = await c.nextText();
  c.ws.close();
  await closed(c.ws);
  return answer;
}


async function status(server: RunningServer): Promise<{ rooms: number; hibernatedRooms?: number; oldestUnsavedChangeSeconds?: number }> {
  const response = await fetch(`http://127.0.0.1:${server.port}/status?format=json`);
  return (await response.json()) as { rooms: number; hibernatedRooms?: number };
}

test('a room outlives its server: the counter at 41 answers 42 after a restart, and client ids go on', async (t) => {
  const dir = stateDir();
  const first = await start(t, dir);
  const c = await client(first.url('lobby'));
  for (let i = 0; i < 41; i++) c.ws.send('increment');
  assert.equal((await c.texts(41)).at(-1), 'new value: 41');
  await first.server.close();

  const second = await start(t, dir);
  const d = await client(second.url('lobby'));
  d.ws.send('increment');
  assert.equal(await d.nextText(), 'new value: 42');
  d.ws.send('state');
  // The client of the first run got its disconnect before the server stopped; the new one is 2.
  assert.equal(await d.nextText(), 'value 42 fired 0 seen [2] me 2');
});

test('a client that comes back with its token after a restart keeps its client id; the image holds a digest of the token, never the token', async (t) => {
  const dir = stateDir();
  const first = await start(t, dir);
  const secret = 'a-secret-resume-token-4711';
  assert.equal(await ask(`${first.url('ids')}?token=${secret}`, 'state'), 'value 0 fired 0 seen [1] me 1');
  assert.equal(await ask(first.url('ids'), 'increment'), 'new value: 1'); // client 2, no token
  await first.server.close();
  for (const file of readdirSync(dir).filter((f) => !f.startsWith('.'))) {
    const image = await decodeImage(readFileSync(path.join(dir, file)), file);
    assert.ok(!Buffer.from(image.body).includes(secret), 'no token in the image');
  }
  const second = await start(t, dir);
  assert.equal(await ask(`${second.url('ids')}?token=${secret}`, 'state'), 'value 1 fired 0 seen [1] me 1', 'the same id as before the restart');
  assert.match(await ask(`${second.url('ids')}?token=someone-new`, 'state'), / me 3$/, 'a new token: the next id');
});

test('a room nobody sent a message to is not saved; arbitrary room ids are', async (t) => {
  const dir = stateDir();
  const first = await start(t, dir);
  const quiet = await client(first.url('quiet'));
  const odd = '../../etc/passwd\u0000 ünï/code ✓';
  await ask(first.url(odd), 'increment');
  quiet.ws.close();
  await first.server.close();
  assert.equal(readdirSync(dir).filter((f) => !f.startsWith('.')).length, 1, `one image: ${readdirSync(dir).join(', ')}`);
  const second = await start(t, dir);
  assert.equal(await ask(second.url(odd), 'increment'), 'new value: 2');
  assert.equal(await ask(second.url('quiet'), 'increment'), 'new value: 1');
});

test('the store holds at most maxSavedRooms rooms: past it a new room id is refused with 503 (every attempt), saved rooms go on, and a room deleted while the server runs makes room', async (t) => {
  const dir = stateDir();
  const first = await start(t, dir, { maxSavedRooms: 2 });
  assert.equal(await ask(first.url('a'), 'increment'), 'new value: 1');
  assert.equal(await ask(first.url('b'), 'increment'), 'new value: 1');
  await first.server.close(); // a and b saved
  const second = await start(t, dir, { maxSavedRooms: 2 });
  const refused = '503 new rooms cannot be created: the server keeps its limit of 2 saved rooms';
  assert.equal(await refusal(second.url('c')), refused);
  assert.equal(await refusal(second.url('c')), refused, 'a second attempt (while the first is still preloaded) too');
  assert.equal(await ask(second.url('a'), 'increment'), 'new value: 2', 'a saved room still joins');
  await second.logs.waitFor((line) => line.code === 'SR_ERR_SAVE_FAILED' && /new room "c" refused: .* holds 2 saved rooms, the most --max-saved-rooms allows \(2\)/.test(String(line.msg)), 'one warning naming the limit');
  // A client making up room ids fills no more than the limit; deleting an image frees a place,
  // also while the server runs (it counts the store again before it refuses).
  rmSync(path.join(dir, readdirSync(dir).find((f) => !f.startsWith('.'))!));
  // Counted again at most every 2 s while full: the next attempts find the place.
  await until(async () => (await refusal(second.url('c')).catch(() => 'admitted')) === 'admitted', 'room c admitted after the delete', 6_000, 250);
});

test('a room idle without clients is saved and freed, and its timer wakes it when due', async (t) => {
  const dir = stateDir();
  const { server, url } = await start(t, dir, { roomIdleMs: 50, untouchedRoomIdleMs: 50 });
  assert.equal(await ask(url('alarm'), 'alarm 400'), 'armed');
  await until(async () => (await status(server)).hibernatedRooms === 1, 'the room to hibernate', 5_000);
  assert.equal(server.roomCount, 0);
  // The timer comes due while it sleeps: it wakes, runs timer(), and sleeps again.
  await until(async () => (await fetch(`http://127.0.0.1:${server.port}/metrics`).then((r) => r.text())).includes('stateroom_room_saves_total{result="ok"} 2'), 'the second save, after the timer ran', 5_000);
  assert.match(await ask(url('alarm'), 'state'), /^value 0 fired 1 /);
});

test('a timer that came due while the server was down fires once, right after the restart', async (t) => {
  const dir = stateDir();
  const first = await start(t, dir);
  assert.equal(await ask(first.url('late'), 'alarm 200'), 'armed');
  const due = Date.now() + 200;
  await first.server.close();
  while (Date.now() <= due) await new Promise((resolve) => setTimeout(resolve, due - Date.now() + 1)); // the downtime itself
  const second = await start(t, dir, { roomIdleMs: 60_000 });
  await until(() => second.server.roomCount === 1, 'the room to wake at start-up', 5_000);
  // Its timer() runs right after the restore; a client may come in before it.
  let state = '';
  await until(async () => /fired 1 /.test((state = await ask(second.url('late'), 'state'))), 'the timer to have fired', 5_000);
  assert.match(state, /^value 0 fired 1 seen \[\d\] me (\d)$/);
  assert.notEqual(state.at(-1), '1', 'client ids go on after the saved ones');
});

test('a corrupt image is skipped with a warning naming the room and the file; the room starts fresh', async (t) => {
  const dir = stateDir();
  const first = await start(t, dir);
  await ask(first.url('broken'), 'increment');
  await first.server.close();
  const [file] = readdirSync(dir).filter((f) => !f.startsWith('.'));
  assert.ok(file !== undefined);
  writeFileSync(path.join(dir, file), 'not an image at all');
  const second = await start(t, dir);
  assert.equal(await ask(second.url('broken'), 'increment'), 'new value: 1');
  const warning = await second.logs.waitFor((e) => e.code === 'SR_ERR_IMAGE_CORRUPT', 'the corrupt-image warning');
  assert.equal(warning.roomId, 'broken');
  assert.match(String(warning.msg), /room "broken" starts fresh/);
  assert.ok(String(warning.file).includes(dir), `names the file: ${String(warning.file)}`);
});

test('a restore() that throws fails the room closed (1011), sets the image aside, and the next client starts fresh', async (t) => {
  const dir = stateDir();
  const first = await start(t, dir);
  await ask(first.url('doomed'), 'increment');
  await first.server.close();
  class Refuses extends DurableCounter {
    override restore(): void {
      throw new Error('cannot read this');
    }
  }
  const second = await start(t, dir, {}, Refuses);
  const c = await client(second.url('doomed'));
  const { code } = await closed(c.ws);
  assert.equal(code, 1011);
  const line = await second.logs.waitFor((e) => e.code === 'SR_ERR_RESTORE_FAILED' && /set aside/.test(String(e.msg)), 'the set-aside line');
  assert.equal(line.roomId, 'doomed');
  assert.equal(await ask(second.url('doomed'), 'increment'), 'new value: 1');
});

test('a changed room is saved within the snapshot interval, and status says what is unsaved', async (t) => {
  const dir = stateDir();
  const { server, url } = await start(t, dir, { snapshotIntervalMs: 200 });
  const c = await client(url('busy'));
  c.ws.send('increment');
  await c.nextText();
  await until(async () => readdirSync(dir).some((f) => !f.startsWith('.')), 'the periodic save', 2_000);
  const s = await status(server);
  assert.equal(s.rooms, 1);
  assert.equal(s.hibernatedRooms, 0);
  assert.equal(typeof s.oldestUnsavedChangeSeconds, 'number');
});

test('a service class without snapshot()/restore() methods is said once at start-up; a room of it saves nothing', async (t) => {
  const dir = stateDir();
  class Plain {
    message(_c: number, _p: Payload, ctx: Context): void {
      ctx.sendMessage('broadcast', 'hi');
    }
  }
  const logs = new LogLines();
  const server = await serve(Plain, { port: 0, host: '127.0.0.1', stateDir: dir, logger: createLogger('info', logs), snapshotIntervalMs: 100 });
  t.after(() => server.close());
  await logs.waitFor((e) => /declares no snapshot\(\)\/restore\(\) methods/.test(String(e.msg)), 'the start-up line');
  assert.equal(await ask(`ws://127.0.0.1:${server.port}/ws/plain`, 'x'), 'hi');
  await server.close();
  assert.deepEqual(readdirSync(dir).filter((f) => !f.startsWith('.')), [], 'nothing saved');
});

test('hooks written as class fields are saved and restored like methods', async (t) => {
  const dir = stateDir();
  class Fields {
    value = 0;
    message = (_c: number, payload: Payload, ctx: Context): void => {
      if (payload === 'increment') this.value += 1;
      ctx.sendMessage('broadcast', `value ${this.value}`);
    };
    snapshot = (): string => String(this.value);
    restore = (data: Payload): void => {
      this.value = Number(data);
    };
  }
  const first = await start(t, dir, {}, Fields as unknown as typeof DurableCounter);
  assert.equal(await ask(first.url('f'), 'increment'), 'value 1');
  await first.server.close();
  const second = await start(t, dir, {}, Fields as unknown as typeof DurableCounter);
  assert.equal(await ask(second.url('f'), 'show'), 'value 1', 'restored after the restart');
});

test('hibernation with clients: a WASM room with no event frees its instance, keeps its sockets, and answers the next message as before', async (t) => {
  const { startWasm } = await import('./helpers/wasm.js');
  for (const isolation of ['pool', 'inline'] as const) {
    const dir = stateDir();
    const { server, join } = await startWasm(t, 'counter', { isolation }, { stateDir: dir, hibernateAfterMs: 100 });
    const c = await join(`sleepy-${isolation}`);
    c.ws.send('one');
    assert.equal(((await c.next()).data as Buffer).readUInt32LE(0), 1);
    await until(async () => (await status(server)).hibernatedRooms === 1, `the ${isolation} room to hibernate`, 5_000);
    assert.equal(server.roomCount, 1, 'the room itself stays, with its client');
    c.ws.send('two');
    assert.equal(((await c.next()).data as Buffer).readUInt32LE(0), 2);
    assert.equal((await status(server)).hibernatedRooms, 0);
  }
});

test('a store of your own (serve({ store })): a room moves from one server to another through it', async (t) => {
  const { StateroomError } = await import('../src/index.js');
  const bytes = new Map<string, Uint8Array>();
  const store: RoomStore = {
    description: 'a map in this test',
    get: (roomId) => Promise.resolve(bytes.get(roomId)),
    put: (roomId, data) => Promise.resolve(void bytes.set(roomId, data)),
    delete: (roomId) => Promise.resolve(bytes.delete(roomId)),
    list: () => Promise.resolve([...bytes.keys()].sort()),
    setAside: (roomId) => Promise.resolve(bytes.delete(roomId) ? `aside/${roomId}` : undefined),
    where: (roomId) => `map[${roomId}]`,
  };
  const first = await serve(DurableCounter, { port: 0, host: '127.0.0.1', store, logLevel: 'silent' });
  t.after(() => first.close());
  const second = await serve(DurableCounter, { port: 0, host: '127.0.0.1', store, logLevel: 'silent' });
  t.after(() => second.close());
  for (let i = 0; i < 7; i++) await ask(`ws://127.0.0.1:${first.port}/ws/moving`, 'increment');
  await first.close(); // saved into the store as it goes
  assert.equal(await ask(`ws://127.0.0.1:${second.port}/ws/moving`, 'increment'), 'new value: 8');
  await assert.rejects(serve(DurableCounter, { port: 0, store, stateDir: stateDir() }), (err: unknown) => err instanceof StateroomError && /not both/.test(err.message));
});

test('a store that fails: logged once per room, the room goes on, and the save succeeds once the store is back', async (t) => {
  const bytes = new Map<string, Uint8Array>();
  let broken = true;
  let refusals = 0;
  const store: RoomStore = {
    description: 'a flaky store',
    get: (roomId) => Promise.resolve(bytes.get(roomId)),
    put: (roomId, data) => {
      if (broken) {
        refusals += 1;
        return Promise.reject(new Error('ENOSPC: no space left on device'));
      }
      bytes.set(roomId, data);
      return Promise.resolve();
    },
    delete: (roomId) => Promise.resolve(bytes.delete(roomId)),
    list: () => Promise.resolve([...bytes.keys()]),
    setAside: () => Promise.resolve(undefined),
    where: (roomId) => `flaky[${roomId}]`,
  };
  const logs = new LogLines();
  const server = await serve(DurableCounter, { port: 0, host: '127.0.0.1', store, snapshotIntervalMs: 50, logger: createLogger('info', logs) });
  t.after(() => server.close());
  const c = await client(`ws://127.0.0.1:${server.port}/ws/flaky`);
  for (let i = 1; i <= 3; i++) {
    c.ws.send('increment');
    assert.equal(await c.nextText(), `new value: ${i}`, 'the room goes on');
    await until(() => refusals >= i * 2, `save attempt ${i * 2}`, 5_000);
  }
  const failures = logs.entries().filter((e) => e.code === 'SR_ERR_SAVE_FAILED');
  assert.equal(failures.length, 1, 'one line for the room, not one per attempt');
  assert.match(String(failures[0]?.msg), /room "flaky" could not be saved to flaky\[flaky\].*ENOSPC/);
  broken = false;
  await logs.waitFor((e) => e.msg === 'room "flaky" is saved again', 'the recovery line');
  assert.ok(bytes.has('flaky'));
});

test('a WASM module that changes a table at run time: one warning at start-up naming the instruction, and it runs as without a state directory', async (t) => {
  const { readFileSync } = await import('node:fs');
  const { loadWasmFile } = await import('../src/wasm/abi/load.js');
  const { wasmAdapterSource } = await import('../src/wasm/source.js');
  const dir = stateDir();
  const counter = readFileSync('test/fixtures/wasm/counter.wat', 'utf8').trimEnd();
  const file = path.join(dir, 'tables.wat');
  writeFileSync(file, `${counter.slice(0, -1)}\n  (table 1 funcref)\n  (func (export "swap") (table.set 0 (i32.const 0) (ref.null func)))\n)\n`);
  const source = wasmAdapterSource(await loadWasmFile(file), { isolation: 'inline' });
  const logs = new LogLines();
  const server = await serve(source, { port: 0, host: '127.0.0.1', stateDir: path.join(dir, 'state'), logger: createLogger('info', logs) });
  t.after(() => server.close());
  const warning = await logs.waitFor((e) => e.code === 'SR_ERR_NOT_DURABLE', 'the refusal line');
  assert.match(String(warning.msg), /table\.set/);
  assert.equal(logs.entries().filter((e) => e.code === 'SR_ERR_NOT_DURABLE').length, 1);
  const c = await client(`ws://127.0.0.1:${server.port}/ws/t`);
  c.ws.send('x');
  assert.equal(((await c.next()).data as Buffer).readUInt32LE(0), 1, 'it runs');
  assert.equal((await status(server)).hibernatedRooms, undefined, 'not durable: no durability in its status');
});

/** A store in a Map, for the keeper's own ordering (the directory and Redis stores have their own tests). */
function mapStore(): { bytes: Map<string, Uint8Array>; store: RoomStore } {
  const bytes = new Map<string, Uint8Array>();
  const store: RoomStore = {
    description: 'a map',
    get: (roomId) => Promise.resolve(bytes.get(roomId)),
    put: (roomId, data) => Promise.resolve(void bytes.set(roomId, data)),
    delete: (roomId) => Promise.resolve(bytes.delete(roomId)),
    list: () => Promise.resolve([...bytes.keys()]),
    setAside: () => Promise.resolve(undefined),
    where: (roomId) => `map[${roomId}]`,
  };
  return { bytes, store };
}

test('a saved room whose timer is due while another node runs it is not read here: a join after its owner let it go reads the newest image', async () => {
  const { DurableRooms } = await import('../src/durability/durable-rooms.js');
  const { encodeImage } = await import('../src/durability/image.js');
  const { encodeSavedRoom } = await import('../src/durability/saved-room.js');
  const { MemoryLogger } = await import('./helpers/logs.js');
  const { bytes, store } = mapStore();
  const saved = async (value: string): Promise<Uint8Array> => {
    const body = encodeSavedRoom({ body: new TextEncoder().encode(value), timerDueAt: undefined, lastClientId: 1, clients: [], tokenIds: [] });
    return encodeImage({ roomId: 'x', kind: 'native', moduleHash: '', savedAt: Date.now(), timerDueAt: Date.now() - 1_000, body });
  };
  bytes.set('x', await saved('S1'));
  const keeper = new DurableRooms(store, { kind: 'native', moduleHash: '' }, { snapshotIntervalMs: 60_000 }, new MemoryLogger());
  let asked = (): void => {};
  const wakeAsked = new Promise<void>((resolve) => (asked = resolve));
  // Its overdue timer wakes it, but another node holds its lease: that node runs it, so the
  // placement answers without starting it here (nor reading it).
  await keeper.start({ wake: () => (asked(), true), isLive: () => false });
  await within(wakeAsked, 'the overdue timer to wake the room');
  await new Promise((resolve) => setImmediate(resolve));
  // Its owner saves once more as it lets the room go; its clients come here.
  bytes.set('x', await saved('S2'));
  assert.equal(await keeper.preload('x'), undefined);
  const state = await keeper.load('x');
  assert.equal(new TextDecoder().decode(state?.body), 'S2', 'the image its owner saved last, not one read before');
});

test('a room being let go: its next instance reads the state it was left in, never an older save', async () => {
  const { DurableRooms } = await import('../src/durability/durable-rooms.js');
  const { Room } = await import('../src/room/room.js');
  const { nativeAdapterFactory } = await import('../src/service/native.js');
  const { MemoryLogger } = await import('./helpers/logs.js');
  const { store } = mapStore();
  const log = new MemoryLogger();
  const keeper = new DurableRooms(store, { kind: 'native', moduleHash: '' }, { snapshotIntervalMs: 60_000 }, log);
  await keeper.start({ wake: () => false, isLive: () => false });
  let release = (): void => {};
  const gate = new Promise<void>((resolve) => (release = resolve));
  class SlowToSave extends DurableCounter {
    override async snapshot(): Promise<string> {
      await gate;
      return JSON.stringify({ value: this.value, fired: this.fired, seen: this.seen });
    }
  }
  const hooks = { onEmpty: () => {}, onFailed: () => {}, load: keeper.load };
  const room = new Room('back', nativeAdapterFactory(SlowToSave), hooks, log);
  const sink = { send: () => {}, close: () => {} };
  const { client: id } = room.join(sink);
  room.message(id, 'increment', sink);
  room.leave(id, sink);
  const retired = keeper.retire(room);
  let loaded: unknown = 'not yet';
  const next = keeper.load('back').then((state) => (loaded = state));
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(loaded, 'not yet', 'the next instance waits for the last save');
  release();
  await within(retired, 'the room let go');
  const state = await within(next, 'the load');
  assert.equal((JSON.parse(Buffer.from(state?.body ?? []).subarray(1).toString()) as { value: number }).value, 1);
});

test('a client whose first message makes a restored guest trap cannot wipe the room: 1011, and the next client finds the saved state again', async (t) => {
  const { loadWasmFile } = await import('../src/wasm/abi/load.js');
  const { wasmAdapterSource } = await import('../src/wasm/source.js');
  const dir = stateDir();
  const module = await loadWasmFile('test/fixtures/rust/guest.wasm');
  const run = async () => {
    const source = wasmAdapterSource(module, { isolation: 'pool', poolSize: 1 });
    const logs = new LogLines();
    const server = await serve(source, { port: 0, host: '127.0.0.1', stateDir: dir, logger: createLogger('info', logs) });
    t.after(() => server.close().then(() => source.close()));
    return { server, logs, url: `ws://127.0.0.1:${server.port}/ws/trap` };
  };
  const answer = async (c: Awaited<ReturnType<typeof client>>, message: string): Promise<string> => {
    c.ws.send(message);
    for (;;) {
      const text = await c.nextText();
      if (text.startsWith('new value')) return text;
    }
  };
  const first = await run();
  const a = await client(first.url);
  assert.equal(await answer(a, 'increment'), 'new value: 1');
  assert.equal(await answer(a, 'increment'), 'new value: 2');
  a.ws.close();
  await first.server.close();

  const second = await run();
  const b = await client(second.url);
  b.ws.send('panic'); // the first message after the restore makes the guest trap
  assert.equal((await closed(b.ws, 5_000)).code, 1011);
  const c = await client(second.url);
  assert.equal(await answer(c, 'increment'), 'new value: 3', 'restored again from the image, which was kept');
  c.ws.close();
  assert.equal(second.logs.entries().filter((e) => e.code === 'SR_ERR_RESTORE_FAILED').length, 0, 'nothing set aside');
});

test('a timer that comes due while the last events before a shutdown still run is saved as due, and fires after the restart', async (t) => {
  class SlowGoodbye extends DurableCounter {
    override async disconnect(client: number): Promise<void> {
      await new Promise((resolve) => setTimeout(resolve, 300));
      void super.disconnect(client);
    }
  }
  const dir = stateDir();
  const first = await start(t, dir, {}, SlowGoodbye);
  const c = await client(first.url('slow'));
  c.ws.send('alarm 100');
  assert.equal(await c.nextText(), 'armed');
  await first.server.close(); // the disconnect runs 300 ms; the timer comes due meanwhile
  const second = await start(t, dir);
  let state = '';
  await until(async () => /fired 1 /.test((state = await ask(second.url('slow'), 'state'))), 'the timer to fire after the restart', 5_000);
  assert.match(state, /^value 0 fired 1 /);
});

test('an upgrade that never joins does not cancel the wake-up of a saved room', async (t) => {
  const net = await import('node:net');
  const dir = stateDir();
  const { server, url } = await start(t, dir, { roomIdleMs: 30, untouchedRoomIdleMs: 30 });
  assert.equal(await ask(url('alarm2'), 'alarm 600'), 'armed');
  await until(async () => (await status(server)).hibernatedRooms === 1, 'the room to sleep', 5_000);
  // An upgrade request for the room, abandoned before the answer: admitted, never joined.
  const socket = net.connect(server.port, '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
  socket.end('GET /ws/alarm2 HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n');
  socket.destroy();
  await until(async () => (await fetch(`http://127.0.0.1:${server.port}/metrics`).then((r) => r.text())).includes('stateroom_room_saves_total{result="ok"} 2'), 'the wake-up, its timer() and the save after it', 5_000);
  assert.match(await ask(url('alarm2'), 'state'), /^value 0 fired 1 /);
});
