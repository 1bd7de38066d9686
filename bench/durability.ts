// Durable rooms (issue 13): what saving and restoring one room costs, in time and bytes, for
// the services the issue names — through the real code paths, step by step:
//
//   snapshot     the adapter's snapshot(): a WASM guest's memory and globals copied out (on its
//                pool thread, or inline), or a native service's snapshot() hook
//   encode       the room's state around it (saved-room.ts) and the image (image.ts: brotli
//                quality 1, on libuv's pool, plus two CRC-32s)
//   write        DirectoryStore.put: temporary file, fsync, rename, fsync of the directory (on
//                the store's writer thread)
//   save         DirectoryStore.putImage: encode and write, both on the writer thread — what a
//                keeper's save of the room waits for (instead of encode + write)
//   read+decode  DirectoryStore.get, decodeImage (CRCs, inflate), decodeSavedRoom
//   instance     a fresh adapter of the same source (what a restore starts from)
//   restore      its restore(): memory grown and written, globals set (or the native hook)
//   asleep       what hibernation with clients holds per room instead (hibernation.ts: zlib
//                raw deflate at its default level, of the adapter's bytes)
//
// Each figure is the median of N rounds on one room (the room's state does not change between
// rounds); every restored room is checked to answer as the saved one would.
//
//   node --import tsx bench/durability.ts [rounds]      (default 20; no build needed)
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import wabt from 'wabt';
import SharedCounter from '../examples/counter/service.js';
import { DirectoryStore } from '../src/durability/dir-store.js';
import { decodeImage, encodeImage } from '../src/durability/image.js';
import { decodeSavedRoom, encodeSavedRoom } from '../src/durability/saved-room.js';
import { createLogger } from '../src/logger.js';
import { compileAssemblyScript } from '../src/project/assemblyscript.js';
import type { ImageKind, ServiceAdapter } from '../src/service/adapter.js';
import { nativeAdapterFactory } from '../src/service/native.js';
import type { Context, Payload } from '../src/service/types.js';
import { loadWasmFile } from '../src/wasm/abi/load.js';
import { compileStateroomModule } from '../src/wasm/abi/module.js';
import { wasmAdapterSource, type WasmAdapterSource, type WasmIsolation } from '../src/wasm/source.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const ROUNDS = Number(process.argv[2] ?? 20);
const deflateRaw = promisify(zlib.deflateRaw);
const log = createLogger('warn');

/** One live room of a case, and how to make fresh ones of the same source. */
interface Case {
  readonly name: string;
  readonly kind: ImageKind;
  readonly moduleHash: string;
  readonly live: ServiceAdapter;
  fresh(): Promise<ServiceAdapter>;
  /** Checks that `adapter` (restored) answers its next event as the live room would; then disposes it. */
  check(adapter: ServiceAdapter): Promise<void>;
  close(): Promise<void>;
}

/** What a room's service sent, per room id. */
const sent = new Map<string, Payload[]>();
let rooms = 0;
function context(): Context {
  const roomId = `bench-${(rooms += 1)}`;
  sent.set(roomId, []);
  return { roomId, sendMessage: (_to, payload) => sent.get(roomId)!.push(payload), setTimer: () => {}, clearTimer: () => {}, close: () => {}, clientInfo: () => undefined };
}
const lastSent = (ctx: Context): Payload | undefined => sent.get(ctx.roomId)!.at(-1);
/** An adapter call as a promise, whether it returns, throws or rejects. */
const call = async <T>(run: () => T | Promise<T>): Promise<T> => run();

async function nativeCounter(increments: number): Promise<Case> {
  const factory = nativeAdapterFactory(SharedCounter);
  const make = async (): Promise<{ adapter: ServiceAdapter; ctx: Context }> => {
    const ctx = context();
    return { adapter: await factory(ctx.roomId, ctx), ctx };
  };
  const { adapter: live } = await make();
  await live.init();
  for (let i = 0; i < increments; i++) await live.message(1, 'increment');
  const fresh = new Map<ServiceAdapter, Context>();
  return {
    name: `counter, native (${increments} increments)`,
    kind: 'native',
    moduleHash: '',
    live,
    fresh: async () => {
      const made = await make();
      fresh.set(made.adapter, made.ctx);
      return made.adapter;
    },
    check: async (adapter) => {
      await adapter.message(1, 'increment');
      assert.equal(lastSent(fresh.get(adapter)!), `new value: ${increments + 1}`);
      fresh.delete(adapter);
    },
    close: async () => {},
  };
}

/** A case of a WASM source: `drive` brings the live room to its state; `answer` is its next event and the answer it expects. */
async function wasmCase(
  name: string,
  source: WasmAdapterSource,
  drive: (adapter: ServiceAdapter) => Promise<void>,
  next: { event: (adapter: ServiceAdapter) => Promise<void>; expect: (payload: Payload | undefined) => void },
): Promise<Case> {
  const contexts = new Map<ServiceAdapter, Context>();
  const make = async (): Promise<ServiceAdapter> => {
    const ctx = context();
    const adapter = await source.createAdapter(ctx.roomId, ctx, log, (error) => console.error(`${name}: ${error.message}`));
    contexts.set(adapter, ctx);
    return adapter;
  };
  const live = await make();
  await call(() => live.init());
  await drive(live);
  const durability = source.durability;
  assert.ok(durability !== undefined && durability.refusal === undefined, `${name}: its rooms can be saved (${durability?.refusal ?? 'no durability'})`);
  return {
    name,
    kind: 'wasm',
    moduleHash: durability.moduleHash,
    live,
    fresh: make,
    check: async (adapter) => {
      await next.event(adapter);
      next.expect(lastSent(contexts.get(adapter)!));
    },
    close: async () => {
      await call(() => live.dispose?.());
      await source.close();
    },
  };
}

const say = (payload: string) => async (adapter: ServiceAdapter) => call(() => adapter.message(1, payload));

async function repeat(times: number, event: (adapter: ServiceAdapter) => Promise<void>, adapter: ServiceAdapter): Promise<void> {
  for (let i = 0; i < times; i++) await event(adapter);
}

async function rustCounter(isolation: WasmIsolation, increments: number): Promise<Case> {
  const source = wasmAdapterSource(await loadWasmFile(path.join(ROOT, 'test/fixtures/rust/guest.wasm')), { isolation, poolSize: 1 });
  return wasmCase(`Rust guest counter (${increments} increments), ${isolation}`, source, (a) => repeat(increments, say('increment'), a), {
    event: say('increment'),
    expect: (payload) => assert.equal(payload, `new value: ${increments + 1}`),
  });
}

async function clock(isolation: WasmIsolation, ticks: number, wasmFile: string): Promise<Case> {
  const source = wasmAdapterSource(await loadWasmFile(wasmFile), { isolation, poolSize: 1 });
  const tick = async (adapter: ServiceAdapter): Promise<void> => call(() => adapter.timer());
  return wasmCase(`clock, AssemblyScript (${ticks} ticks), ${isolation}`, source, (a) => repeat(ticks, tick, a), {
    event: tick,
    expect: (payload) => assert.equal(payload, `Timer @ ${ticks}`),
  });
}

/** test/fixtures/wasm/big-state.wat after ten messages: 10 MiB grown, each MiB one repeated byte. */
async function bigState(isolation: WasmIsolation): Promise<Case> {
  const source = wasmAdapterSource(await loadWasmFile(path.join(ROOT, 'test/fixtures/wasm/big-state.wat')), { isolation, poolSize: 1 });
  return wasmCase(`big-state.wat, 10 MiB (fills), ${isolation}`, source, (a) => repeat(10, say('grow'), a), {
    event: say('grow'),
    expect: (payload) => assert.equal(Buffer.from(payload as Uint8Array).readUInt32LE(0), 11),
  });
}

/**
 * Like big-state.wat, but each MiB is filled with xorshift32 words: 10 MiB that deflate cannot
 * shrink, the worst case for the encode step. Answers its count (4 bytes).
 */
const RANDOM_STATE_WAT = String.raw`
(module
  (import "env" "stateroom_send" (func $send (param i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "\01\00\00\00\00\00\00\00")
  (data (i32.const 64) "\00\00\00\00\01\00\00\00\00\00\00\00\00\00\00\00\04\00\00\00\00\00\00\00\00\00\00\00")
  (global (export "STATEROOM_API_VERSION") i32 (i32.const 16))
  (global (export "STATEROOM_API_PROTOCOL") i32 (i32.const 20))
  (global $count (mut i32) (i32.const 0))
  (global $x (mut i32) (i32.const 0x9e3779b9))
  (func (export "stateroom_malloc") (param $size i32) (result i32)
    (if (i32.gt_u (local.get $size) (i32.const 60000)) (then unreachable))
    (i32.const 1024))
  (func (export "stateroom_free") (param i32 i32))
  (func (export "stateroom_recv") (param $ptr i32) (param $len i32)
    (local $at i32) (local $end i32) (local $x i32)
    (if (i32.ne (i32.load (local.get $ptr)) (i32.const 3)) (then (return)))
    (i32.store (i32.const 72) (i32.load offset=4 (local.get $ptr)))
    (global.set $count (i32.add (global.get $count) (i32.const 1)))
    (local.set $at (memory.grow (i32.const 16)))
    (if (i32.eq (local.get $at) (i32.const -1)) (then unreachable))
    (local.set $at (i32.mul (local.get $at) (i32.const 65536)))
    (local.set $end (i32.add (local.get $at) (i32.const 1048576)))
    (local.set $x (global.get $x))
    (loop $words
      (local.set $x (i32.xor (local.get $x) (i32.shl (local.get $x) (i32.const 13))))
      (local.set $x (i32.xor (local.get $x) (i32.shr_u (local.get $x) (i32.const 17))))
      (local.set $x (i32.xor (local.get $x) (i32.shl (local.get $x) (i32.const 5))))
      (i32.store (local.get $at) (local.get $x))
      (local.set $at (i32.add (local.get $at) (i32.const 4)))
      (br_if $words (i32.lt_u (local.get $at) (local.get $end))))
    (global.set $x (local.get $x))
    (i32.store (i32.const 88) (global.get $count))
    (call $send (i32.const 64) (i32.const 28)))
)`;

async function randomState(isolation: WasmIsolation): Promise<Case> {
  const tools = await wabt();
  const parsed = tools.parseWat('random-state.wat', RANDOM_STATE_WAT);
  parsed.validate();
  const bytes = parsed.toBinary({}).buffer;
  parsed.destroy();
  const source = wasmAdapterSource(await compileStateroomModule(bytes, 'random-state.wat'), { isolation, poolSize: 1 });
  return wasmCase(`random-state (bench), 10 MiB (random), ${isolation}`, source, (a) => repeat(10, say('grow'), a), {
    event: say('grow'),
    expect: (payload) => assert.equal(Buffer.from(payload as Uint8Array).readUInt32LE(0), 11),
  });
}

interface Figures {
  readonly name: string;
  readonly kind: ImageKind;
  readonly snapshotMs: number;
  readonly encodeMs: number;
  readonly writeMs: number;
  readonly saveMs: number;
  readonly rawBytes: number;
  readonly diskBytes: number;
  readonly readMs: number;
  readonly instanceMs: number;
  readonly restoreMs: number;
  readonly asleepBytes: number;
  readonly asleepMs: number;
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

async function measure(c: Case, store: DirectoryStore): Promise<Figures> {
  const columns = { snapshot: [], encode: [], write: [], save: [], read: [], instance: [], restore: [], asleep: [] } as Record<string, number[]>;
  let rawBytes = 0;
  let diskBytes = 0;
  let asleepBytes = 0;
  const roomId = `room ${c.name}`;
  for (let round = 0; round < ROUNDS; round++) {
    let t = performance.now();
    const lap = (column: string): void => {
      const now = performance.now();
      columns[column]!.push(now - t);
      t = now;
    };
    const body = await call(() => c.live.snapshot!());
    assert.ok(body !== undefined, `${c.name}: a snapshot`);
    lap('snapshot');
    const state = { body, timerDueAt: undefined, lastClientId: 1, clients: [1] };
    const saved = { roomId, kind: c.kind, moduleHash: c.moduleHash, savedAt: Date.now(), timerDueAt: undefined, body: encodeSavedRoom(state) };
    const bytes = await encodeImage(saved);
    lap('encode');
    await store.put(roomId, bytes);
    lap('write');
    await store.putImage(saved);
    lap('save');
    const read = await store.get(roomId);
    assert.ok(read !== undefined);
    const image = await decodeImage(read, store.where(roomId));
    const restoredState = decodeSavedRoom(image.body, image.timerDueAt, store.where(roomId));
    lap('read');
    // Read before the restore: a pool restore transfers a Buffer's memory away (see bench/README.md).
    rawBytes = image.body.byteLength;
    const adapter = await c.fresh();
    lap('instance');
    await call(() => adapter.restore!(restoredState.body!));
    lap('restore');
    const asleep = await deflateRaw(body);
    lap('asleep');
    diskBytes = bytes.byteLength;
    asleepBytes = asleep.byteLength;
    if (round === 0) await c.check(adapter);
    await call(() => adapter.dispose?.());
  }
  const m = (column: string): number => median(columns[column]!);
  return {
    name: c.name,
    kind: c.kind,
    snapshotMs: m('snapshot'),
    encodeMs: m('encode'),
    writeMs: m('write'),
    saveMs: m('save'),
    rawBytes,
    diskBytes,
    readMs: m('read'),
    instanceMs: m('instance'),
    restoreMs: m('restore'),
    asleepBytes,
    asleepMs: m('asleep'),
  };
}

const ms = (value: number): string => (value < 10 ? value.toFixed(2) : value.toFixed(1));
function bytes(value: number): string {
  if (value < 10 * 1024) return `${value} B`;
  if (value < 10 * 1024 * 1024) return `${(value / 1024).toFixed(1)} KiB`;
  return `${(value / 1024 / 1024).toFixed(2)} MiB`;
}

function table(rows: readonly Figures[]): string {
  const head = ['room', 'snapshot ms', 'encode ms', 'write ms', 'save ms', 'raw', 'on disk (ratio)', 'read+decode ms', 'instance ms', 'restore ms', 'asleep (held)', 'asleep deflate ms'];
  const body = rows.map((r) => [
    r.name,
    ms(r.snapshotMs),
    ms(r.encodeMs),
    ms(r.writeMs),
    ms(r.saveMs),
    bytes(r.rawBytes),
    `${bytes(r.diskBytes)} (${(r.rawBytes / r.diskBytes).toFixed(r.rawBytes / r.diskBytes < 10 ? 2 : 0)}×)`,
    ms(r.readMs),
    ms(r.instanceMs),
    ms(r.restoreMs),
    r.kind === 'wasm' ? bytes(r.asleepBytes) : '—',
    r.kind === 'wasm' ? ms(r.asleepMs) : '—',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: readonly string[]): string => `| ${cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join(' | ')} |`;
  return [line(head), `|${widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`, ...body.map(line)].join('\n');
}

const dir = await mkdtemp(path.join(tmpdir(), 'stateroom-bench-durability-'));
try {
  const clockWasm = path.join(dir, 'clock.wasm');
  const compiled = await compileAssemblyScript(path.join(ROOT, 'examples/clock/assembly/service.ts'), clockWasm);
  if (!compiled.ok) throw new Error(`examples/clock/assembly did not compile:\n${compiled.diagnostics}`);
  const store = await DirectoryStore.open(path.join(dir, 'state'));
  const makers: Array<() => Promise<Case>> = [
    () => nativeCounter(1000),
    () => clock('pool', 100, clockWasm),
    () => clock('inline', 100, clockWasm),
    () => rustCounter('pool', 100),
    () => rustCounter('inline', 100),
    () => bigState('pool'),
    () => bigState('inline'),
    () => randomState('pool'),
    () => randomState('inline'),
  ];
  const rows: Figures[] = [];
  for (const make of makers) {
    const c = await make();
    try {
      rows.push(await measure(c, store));
      process.stderr.write(`measured ${c.name}\n`);
    } finally {
      await c.close();
    }
  }
  await store.close();
  console.log(`Median of ${ROUNDS} rounds per room; Node ${process.version}.`);
  console.log(table(rows));
} finally {
  await rm(dir, { recursive: true, force: true });
}
