// Snapshots of WASM rooms with no help from the guest (issue 13, item 6): a room's adapter
// captures its guest's memory and every mutable global — the ones the module does not export
// too — and a fresh adapter of the same module, restored from that image, answers the next
// event exactly as the original would. In every isolation (inline, pool, worker), for real
// guests: a hand-written one whose state is all in unexported globals (NaN payloads
// included), the AssemblyScript counter example built by `stateroom build`, the Rust guest
// built from this repository's source, and one holding 11 MiB. Modules whose rooms cannot be
// captured faithfully are refused with one line naming why, and still run.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import wabt from 'wabt';
import type { ServiceAdapter } from '../src/service/adapter.js';
import type { Context, Payload, Recipient } from '../src/service/types.js';
import { readModule } from '../src/wasm/abi/binary.js';
import { encodeToProcess, type MessageToProcess } from '../src/wasm/abi/codec.js';
import { functionBodies } from '../src/wasm/abi/instructions.js';
import { loadWasmFile } from '../src/wasm/abi/load.js';
import { compileStateroomModule, type StateroomModule } from '../src/wasm/abi/module.js';
import { prepareModule } from '../src/wasm/abi/rewrite.js';
import { IMAGE_MAGIC, captureImage, restoreImage, snapshotPlan, type SnapshotLayout } from '../src/wasm/abi/snapshot.js';
import { wasmAdapterSource, type WasmAdapterSource, type WasmHostOptions, type WasmIsolation } from '../src/wasm/source.js';
import { ROOT, run } from './helpers/cli.js';
import { within } from './helpers/deadline.js';
import { MemoryLogger } from './helpers/logs.js';
import { fixture } from './helpers/wasm.js';

const ISOLATIONS: readonly WasmIsolation[] = ['inline', 'pool', 'worker'];
const RUST_GUEST = path.join(ROOT, 'test/fixtures/rust/guest.wasm');
const BUILD_MS = 60_000;
const CALL_MS = 10_000;

interface Sent {
  readonly to: Recipient;
  readonly payload: Payload;
}

/** One room's adapter, driven directly, and what its guest sent. */
interface Room {
  readonly adapter: ServiceAdapter;
  readonly sent: Sent[];
  /** Disposes the adapter (once; the test's end does it too). */
  dispose(): Promise<void>;
  /** Delivers a text message from client 1 and returns what the guest sent for it. */
  say(text: string): Promise<Sent[]>;
  snapshot(): Promise<Uint8Array>;
}

function source(t: TestContext, module: StateroomModule, options: WasmHostOptions): WasmAdapterSource {
  const made = wasmAdapterSource(module, { poolSize: 2, ...options });
  t.after(() => made.close());
  return made;
}

/** A room of `from`, started fresh (`init`) or from `image`. */
async function room(t: TestContext, from: WasmAdapterSource, image?: Uint8Array, roomId = 'r'): Promise<Room> {
  const sent: Sent[] = [];
  const ctx: Context = { roomId, sendMessage: (to, payload) => sent.push({ to, payload }), setTimer: () => {}, clearTimer: () => {}, close: () => {}, clientInfo: () => undefined };
  const adapter = await within(Promise.resolve(from.createAdapter(roomId, ctx, new MemoryLogger(), () => {})), 'the adapter', CALL_MS);
  let disposed: Promise<void> | undefined;
  const dispose = (): Promise<void> => (disposed ??= Promise.resolve(adapter.dispose?.()));
  t.after(dispose);
  if (image === undefined) await within(calling(() => adapter.init()), 'init', CALL_MS);
  else await within(calling(() => adapter.restore!(image)), 'restore', CALL_MS);
  return {
    adapter,
    sent,
    dispose,
    say: async (text) => {
      const before = sent.length;
      await within(calling(() => adapter.message(1, text)), `the answer to ${text}`, CALL_MS);
      return sent.slice(before);
    },
    snapshot: async () => {
      const image = await within(calling(() => adapter.snapshot!()), 'a snapshot', CALL_MS);
      assert.ok(image instanceof Uint8Array);
      return image;
    },
  };
}

/** An adapter call as a promise, whether it throws (inline) or rejects (on a thread). */
const calling = async <T>(call: () => T | Promise<T>): Promise<T> => call();
const texts = (sent: readonly Sent[]): string[] => sent.map((s) => (typeof s.payload === 'string' ? s.payload : `bytes ${Buffer.from(s.payload).toString('hex')}`));
const only = (sent: readonly Sent[]): Uint8Array => {
  assert.equal(sent.length, 1, 'one answer');
  assert.ok(sent[0]!.payload instanceof Uint8Array, 'a bytes answer');
  return sent[0]!.payload;
};

/**
 * The round trip the issue asks for: `n` increments, a snapshot, the room disposed, a fresh
 * adapter restored from the image; its next increment answers `new value: n+1`. The original
 * is kept going alongside (before it is disposed) to check that both answer alike and are left
 * byte for byte the same.
 */
async function counterRoundTrip(t: TestContext, module: StateroomModule, isolation: WasmIsolation, n: number): Promise<void> {
  const from = source(t, module, { isolation });
  const original = await room(t, from);
  for (let i = 1; i <= n; i++) assert.deepEqual(texts(await original.say('increment')), [`new value: ${i}`]);
  const image = await original.snapshot();
  assert.deepEqual([...image.subarray(0, 5)], [...IMAGE_MAGIC, 1], 'the image starts with its format tag and version');
  const restored = await room(t, from, image, 'r2');
  const [was, is] = [await original.say('increment'), await restored.say('increment')];
  assert.deepEqual(texts(is), [`new value: ${n + 1}`], 'the restored room goes on from the saved count');
  assert.deepEqual(is, was, 'to the same recipients');
  assert.deepEqual(await restored.snapshot(), await original.snapshot(), 'after the same event, both guests hold the same bytes');
  await original.dispose();
  assert.deepEqual(texts(await restored.say('decrement')), [`new value: ${n}`], 'the restored room outlives the original');
}

// ---- a guest whose state is all in unexported globals ------------------------------------

describe('a guest whose state is in globals it does not export', () => {
  let module: StateroomModule;
  before(async () => {
    module = await loadWasmFile(fixture('globals'));
  });

  /** What globals.wat answers to its n-th message: count, wide, and its two NaNs' bits. */
  const answer = (n: number): string => {
    const b = Buffer.alloc(24);
    b.writeUInt32LE(n, 0);
    b.writeBigUInt64LE(BigInt(n) * 0x100000001n, 4);
    b.writeUInt32LE((0xff800000 | n) >>> 0, 12);
    b.writeBigUInt64LE(0x7ff0000000000000n | (BigInt(n) << 8n), 16);
    return b.toString('hex');
  };

  test('its four mutable globals (i32, i64, f32, f64) are exported for snapshots; the immutable one is not', () => {
    const prepared = prepareModule(module, 64 * 2 ** 20);
    assert.equal(prepared.durability.refusal, undefined);
    assert.equal(prepared.durability.kind, 'wasm');
    assert.deepEqual(
      prepared.snapshot?.globals.map((g) => [g.index, g.type, g.exportName]),
      [
        [2, 'i32', '__stateroom_global_2'],
        [3, 'i64', '__stateroom_global_3'],
        [4, 'f32', '__stateroom_global_4'],
        [5, 'f64', '__stateroom_global_5'],
      ],
    );
    assert.equal(prepared.durability.moduleHash, createHash('sha256').update(module.bytes!).digest('hex'), 'the hash of the bytes as loaded, before the rewrite');
    assert.notDeepEqual(prepared.bytes, module.bytes);
  });

  for (const isolation of ISOLATIONS) {
    test(`${isolation}: restored from an image, the next message gets the answer the original would give, signalling NaN payloads included`, async (t) => {
      const from = source(t, module, { isolation });
      assert.equal(from.durability?.refusal, undefined);
      const original = await room(t, from);
      for (let n = 1; n <= 5; n++) assert.equal(Buffer.from(only(await original.say('x'))).toString('hex'), answer(n));
      const image = await original.snapshot();
      await original.dispose();
      const restored = await room(t, from, image);
      assert.equal(Buffer.from(only(await restored.say('x'))).toString('hex'), answer(6));
      assert.equal(Buffer.from(only(await restored.say('x'))).toString('hex'), answer(7));
    });
  }

  test('without the exported globals, memory alone would not do: the count would start over', async () => {
    const prepared = prepareModule(module, 64 * 2 ** 20);
    const layout = prepared.snapshot!;
    const memoryOnly: SnapshotLayout = { ...layout, globals: [] };
    const [a, b] = [instantiate(prepared), instantiate(prepared)];
    for (let i = 0; i < 3; i++) a.deliver({ type: 'message', sender: 1, payload: 'x' });
    restoreImage(b.exports, memoryOnly, captureImage(a.exports, memoryOnly), 64 * 2 ** 20);
    b.deliver({ type: 'message', sender: 1, payload: 'x' });
    assert.equal(b.sent.at(-1)?.readUInt32LE(24), 1, 'a memory-only image loses the count');
    const c = instantiate(prepared);
    restoreImage(c.exports, layout, captureImage(a.exports, layout), 64 * 2 ** 20);
    c.deliver({ type: 'message', sender: 1, payload: 'x' });
    assert.equal(c.sent.at(-1)?.subarray(24).toString('hex'), answer(4), 'with the globals it goes on');
  });
});

/** A bare instance of a prepared module, for tests below the adapters. */
function instantiate(module: StateroomModule) {
  const sent: Buffer[] = [];
  const instance = new WebAssembly.Instance(module.module, {
    env: { stateroom_send: (ptr: number, length: number) => sent.push(Buffer.from(memory().buffer.slice(ptr, ptr + length))) },
  });
  const memory = (): WebAssembly.Memory => instance.exports.memory as WebAssembly.Memory;
  const call = (name: string, ...args: number[]): number => (instance.exports[name] as (...a: number[]) => number)(...args);
  return {
    exports: instance.exports,
    sent,
    deliver(message: MessageToProcess): void {
      const bytes = encodeToProcess(message);
      const ptr = call('stateroom_malloc', bytes.length);
      new Uint8Array(memory().buffer).set(bytes, ptr);
      call('stateroom_recv', ptr, bytes.length);
      call('stateroom_free', ptr, bytes.length);
    },
  };
}

// ---- the AssemblyScript counter, and the Rust guest --------------------------------------

describe('the AssemblyScript counter example, built with stateroom build', () => {
  let module: StateroomModule;
  let dir = '';
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'stateroom-snapshot-as-'));
    await cp(path.join(ROOT, 'examples/counter/assembly'), path.join(dir, 'assembly'), { recursive: true });
    const built = await run(['build', dir], { ms: BUILD_MS });
    assert.equal(built.code, 0, built.stderr);
    module = await loadWasmFile(path.join(dir, 'dist/server.wasm'));
  });
  after(() => (dir === '' ? undefined : rm(dir, { recursive: true, force: true })));

  test('can be saved: its runtime keeps its state in unexported globals, which the rewrite exports', () => {
    const prepared = prepareModule(module, 64 * 2 ** 20);
    assert.equal(prepared.durability.refusal, undefined);
    assert.ok((prepared.snapshot?.globals.length ?? 0) >= 3, `its mutable globals: ${JSON.stringify(prepared.snapshot?.globals)}`);
    const before = WebAssembly.Module.exports(module.module).filter((e) => e.kind === 'global').map((e) => e.name);
    assert.deepEqual(before.sort(), ['STATEROOM_API_PROTOCOL', 'STATEROOM_API_VERSION'], 'it exports no mutable global of its own');
    const after = new Set(WebAssembly.Module.exports(prepared.module).map((e) => e.name));
    assert.ok(prepared.snapshot!.globals.every((g) => after.has(g.exportName)), 'the rewritten module exports every one');
  });

  for (const isolation of ISOLATIONS) {
    test(`${isolation}: at 41, saved and restored, the next increment answers "new value: 42"`, (t) => counterRoundTrip(t, module, isolation, 41));
  }
});

describe('the Rust guest built from test/fixtures/rust/guest.rs', () => {
  let module: StateroomModule;
  before(async () => {
    module = await loadWasmFile(RUST_GUEST);
  });

  test('can be saved: its one mutable global is __stack_pointer, which it does not export', () => {
    const prepared = prepareModule(module, 64 * 2 ** 20);
    assert.equal(prepared.durability.refusal, undefined);
    assert.deepEqual(prepared.snapshot?.globals.map((g) => [g.index, g.type]), [[0, 'i32']]);
  });

  for (const isolation of ISOLATIONS) {
    test(`${isolation}: after 7 increments, saved and restored, the next answers "new value: 8"`, (t) => counterRoundTrip(t, module, isolation, 7));
  }
});

// ---- large images, and the memory limit ---------------------------------------------------

describe('a guest holding 10 MiB', () => {
  let module: StateroomModule;
  before(async () => {
    module = await loadWasmFile(fixture('big-state'));
  });

  /** Grows a room of big-state.wat to 161 pages, 10 MiB and a page (ten messages), and snapshots it. */
  async function grown(t: TestContext, from: WasmAdapterSource): Promise<{ original: Room; image: Uint8Array }> {
    const original = await room(t, from);
    for (let n = 1; n <= 10; n++) assert.equal(Buffer.from(only(await original.say('g'))).readUInt32LE(4), 1 + 16 * n);
    const image = await original.snapshot();
    return { original, image };
  }

  for (const isolation of ISOLATIONS) {
    test(`${isolation}: its image goes and comes back whole (by the port, on a thread), and the restored room answers as the original`, async (t) => {
      const from = source(t, module, { isolation });
      const { original, image } = await grown(t, from);
      assert.ok(image.byteLength > 10 * 2 ** 20, `an image of ${image.byteLength} bytes`);
      const restored = await room(t, from, image, 'r2');
      assert.deepEqual(only(await restored.say('g')), only(await original.say('g')), 'same count, size and checksum of all memory');
    });
  }

  test('pool: the thread counts the memory of a restored room against the budget', async (t) => {
    // Budget 20 MiB: one room of 10 MiB and a page fits, a second (restored) one reaches it.
    const from = source(t, module, { isolation: 'pool', poolSize: 1, memoryBudgetBytes: 20 * 2 ** 20 });
    const { original, image } = await grown(t, from);
    await original.dispose();
    assert.equal(from.newRoomRefusal?.(), undefined);
    await room(t, from, image, 'r2');
    assert.equal(from.newRoomRefusal?.(), undefined, 'one restored room: 10.06 MiB');
    await room(t, from, image, 'r3');
    assert.match(from.newRoomRefusal?.() ?? '', /memory budget of 20 MiB/, 'two: 20.1 MiB, over the budget');
  });

  for (const isolation of ISOLATIONS) {
    test(`${isolation}: an image larger than the memory limit of the adapter restoring it is refused with a clear error, and that room is done`, async (t) => {
      const { image } = await grown(t, source(t, module, { isolation }));
      const small = source(t, module, { isolation, memoryLimitBytes: 8 * 2 ** 20 });
      const sent: Sent[] = [];
      const ctx: Context = { roomId: 'r', sendMessage: (to, payload) => sent.push({ to, payload }), setTimer: () => {}, clearTimer: () => {}, close: () => {}, clientInfo: () => undefined };
      const adapter = await small.createAdapter('r', ctx, new MemoryLogger(), () => {});
      t.after(() => adapter.dispose?.());
      await assert.rejects(within(calling(() => adapter.restore!(image)), 'the refusal', CALL_MS), (err: Error & { code?: string }) => {
        assert.equal(err.code, 'SR_ERR_RESTORE_FAILED');
        assert.match(err.message, /the image holds 10\.1 MiB of guest memory, over the memory limit of 8 MiB/);
        return true;
      });
      await assert.rejects(calling(() => adapter.message(1, 'g')), 'a room that could not be restored runs nothing');
    });
  }
});

test('an image of another module, or a corrupt one, is refused (SR_ERR_RESTORE_FAILED), never half-restored into a running room', async (t) => {
  const [globals, counter] = await Promise.all([loadWasmFile(fixture('globals')), loadWasmFile(fixture('counter'))]);
  const other = await (await room(t, source(t, globals, { isolation: 'inline' }))).snapshot();
  const from = source(t, counter, { isolation: 'pool' });
  const own = await (await room(t, from)).snapshot();
  const future = own.slice();
  future[4] = 2;
  const attempts: Array<[Uint8Array, RegExp]> = [
    [other, /holds 4 mutable globals, the module has 1: it is an image of another module/],
    [own.subarray(0, own.byteLength - 1), /the image is \d+ bytes, not the \d+ its header gives: it is truncated or corrupt/],
    [future, /not a stateroom WebAssembly image of format version 1 \(it starts 5352574902000000\)/],
    [Uint8Array.of(1, 2, 3), /not a stateroom WebAssembly image of format version 1 \(it starts 010203\)/],
  ];
  for (const [bytes, why] of attempts) {
    const ctx: Context = { roomId: 'x', sendMessage: () => {}, setTimer: () => {}, clearTimer: () => {}, close: () => {}, clientInfo: () => undefined };
    const adapter = await from.createAdapter('x', ctx, new MemoryLogger(), () => {});
    t.after(() => adapter.dispose?.());
    await assert.rejects(within(calling(() => adapter.restore!(bytes)), 'the refusal', CALL_MS), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'SR_ERR_RESTORE_FAILED');
      assert.match(err.message, why);
      return true;
    });
  }
});

test('an image is the caller\'s: restoring does not take it, and snapshots of a room are independent copies', async (t) => {
  const module = await loadWasmFile(fixture('globals'));
  const from = source(t, module, { isolation: 'pool' });
  const a = await room(t, from);
  await a.say('x');
  const first = await a.snapshot();
  const copy = first.slice();
  await room(t, from, first, 'b');
  assert.deepEqual(first, copy, 'still readable and unchanged after a restore on a thread');
  await a.say('x');
  assert.deepEqual(first, copy, 'unchanged by later events');
  assert.notDeepEqual(await a.snapshot(), first);
});

// ---- what cannot be captured --------------------------------------------------------------

/** A Stateroom ABI v1 guest (so it loads and runs) with `extra` inside its module. */
const guestWith = (extra: string): string => `(module
  (import "env" "stateroom_send" (func $send (param i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "\\01\\00\\00\\00\\00\\00\\00\\00")
  (global (export "STATEROOM_API_VERSION") i32 (i32.const 16))
  (global (export "STATEROOM_API_PROTOCOL") i32 (i32.const 20))
  (func (export "stateroom_malloc") (param i32) (result i32) (i32.const 1024))
  (func (export "stateroom_free") (param i32 i32))
  (func (export "stateroom_recv") (param i32 i32))
  ${extra})`;

async function assemble(text: string): Promise<Uint8Array> {
  const tools = await wabt();
  const parsed = tools.parseWat('t.wat', text, { simd: true, threads: true, exceptions: true, reference_types: true, bulk_memory: true, tail_call: true, multi_value: true });
  try {
    parsed.validate();
    return parsed.toBinary({}).buffer;
  } finally {
    parsed.destroy();
  }
}

test('a module that changes a table or drops a segment at run time is refused, naming the instruction and its function', async () => {
  const table = '(table $t 2 funcref) (elem $e func 1 2) (data $d "x")';
  const cases: Array<[string, string]> = [
    ['table.set', '(func $f (table.set $t (i32.const 0) (ref.null func)))'],
    ['table.grow', '(func $f (drop (table.grow $t (ref.null func) (i32.const 1))))'],
    ['table.fill', '(func $f (table.fill $t (i32.const 0) (ref.null func) (i32.const 1)))'],
    ['table.copy', '(func $f (table.copy $t $t (i32.const 0) (i32.const 1) (i32.const 1)))'],
    ['table.init', '(func $f (table.init $t $e (i32.const 0) (i32.const 0) (i32.const 1)))'],
    ['elem.drop', '(func $f (elem.drop $e))'],
    ['data.drop', '(func $f (data.drop $d))'],
  ];
  for (const [name, func] of cases) {
    const { refusal, layout } = snapshotPlan(await assemble(guestWith(`${table} (func $pad) ${func}`)));
    assert.equal(layout, undefined);
    // Functions: the import (0), malloc, free, recv (1-3), $pad (4), then the one using it (5).
    assert.match(refusal ?? '', new RegExp(`^function 5 uses ${name.replace('.', '\\.')}, which `), name);
  }
});

test('the refusal names the function by its name when the module has a name section', async () => {
  const tools = await wabt();
  const parsed = tools.parseWat('t.wat', guestWith('(data $d "x") (func $forget_the_data (data.drop $d))'), { bulk_memory: true });
  parsed.resolveNames();
  parsed.generateNames();
  const bytes = parsed.toBinary({ write_debug_names: true }).buffer;
  parsed.destroy();
  assert.match(snapshotPlan(bytes).refusal ?? '', /^function 4 \(\$?forget_the_data\) uses data\.drop/);
});

test('a mutable v128 or reference global, an imported mutable global or memory are refused, naming the global or the import', async () => {
  assert.match(snapshotPlan(await assemble(guestWith('(global (mut v128) (v128.const i64x2 0 0))'))).refusal ?? '', /^global 2 is a mutable v128, which the JS API can neither read nor write$/);
  assert.match(snapshotPlan(await assemble(guestWith('(global (mut externref) (ref.null extern))'))).refusal ?? '', /^global 2 is a mutable externref: a reference has no value/);
  assert.match(
    snapshotPlan(await assemble('(module (import "env" "g" (global (mut i32))) (memory 1))')).refusal ?? '',
    /^it imports the mutable global env\.g, whose value lives outside the module$/,
  );
  assert.match(snapshotPlan(await assemble('(module (import "env" "memory" (memory 1)))')).refusal ?? '', /^it imports its memory \(env\.memory\)/);
  // An immutable imported global is the same in every instance: fine.
  assert.equal(snapshotPlan(await assemble('(module (import "env" "k" (global i32)) (memory (export "memory") 1))')).refusal, undefined);
});

test('an opcode the decoder does not know refuses durability naming its bytes, without failing the load', async () => {
  const bytes = await assemble(guestWith('(func $f nop nop)'));
  // The last body is `nop nop end`: make its second nop 0x27, which no proposal uses, then a GC prefix.
  const at = functionBodies(bytes, readModule(bytes)).at(-1).codeStart + 1;
  assert.equal(bytes[at], 0x01);
  for (const [patch, why] of [
    [[0x27], /^function 4 has an instruction this host does not know \(0x27 at byte 0x[0-9a-f]+\), so its code cannot be checked$/],
    [[0xfb], /^function 4 uses garbage-collection instructions \(0xfb 0x0b at byte 0x[0-9a-f]+\)/],
  ] as const) {
    const patched = bytes.slice();
    patched.set(patch, at);
    assert.match(snapshotPlan(patched).refusal ?? '', why);
  }
});

test('the decoder reads every immediate: bytes of refused opcodes inside constants, offsets, lanes and masks are not instructions', async () => {
  // 0x26 is table.set, 0xfc 0x09 data.drop, 0xfc 0x0d elem.drop: here only as immediates.
  const { refusal, layout } = snapshotPlan(
    await assemble(
      guestWith(`(table 1 funcref) (tag $oops (param i32))
      (func $tricky (param $x i32) (result i32)
        (local $v v128) (local $w i64)
        (local.set $w (i64.const 0x09fc26260dfc09fc))
        (drop (f64.const 0x1.fc0926p+38))
        (drop (f32.const 0x1.260cp-3))
        (local.set $v (v128.const i8x16 0x26 0xfc 0x09 0xfc 0x0d 0x26 0 1 2 3 4 5 6 7 8 9))
        (local.set $v (i8x16.shuffle 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 (local.get $v) (local.get $v)))
        (local.set $v (v128.load8_lane offset=38 9 (i32.const 0) (local.get $v)))
        (drop (i8x16.extract_lane_u 15 (local.get $v)))
        (drop (i32.atomic.rmw.add offset=0x9fc (i32.const 0) (i32.const 0x26)))
        (atomic.fence)
        (try (do (throw $oops (i32.const 0x26))) (catch $oops (drop)))
        (block $a (block $b (br_table $a $b $a (local.get $x))))
        (drop (select (result i64) (local.get $w) (i64.const 0x26) (local.get $x)))
        (drop (i32.load offset=0x26fc09 align=1 (i32.const 0)))
        (memory.fill (i32.const 0x26) (i32.const 0xfc) (i32.const 9))
        (drop (call_indirect (param i32) (result i32) (i32.const 0x26) (i32.const 0)))
        (return_call $tricky (i32.const 0x0dfc)))`),
    ),
  );
  assert.equal(refusal, undefined);
  assert.ok(layout);
});

test('a module that cannot be saved still runs as before; its source says why, and a snapshot is refused (SR_ERR_NOT_DURABLE) while the room goes on', async (t) => {
  const bytes = await assemble(
    guestWith('(data $d "x") (func $cleanup (data.drop $d))').replace(
      '(func (export "stateroom_recv") (param i32 i32))',
      `(func (export "stateroom_recv") (param i32 i32)
        (if (i32.ne (i32.load (local.get 0)) (i32.const 3)) (then (return)))
        (i64.store (i32.const 64) (i64.const 0))
        (i32.store (i32.const 72) (i32.const 1))
        (i64.store (i32.const 76) (i64.const 1))
        (i32.store8 (i32.const 84) (i32.const 0x6b))
        (call $send (i32.const 64) (i32.const 21)))`,
    ),
  );
  const module = await compileStateroomModule(bytes, 'refused.wasm');
  for (const isolation of ISOLATIONS) {
    const from = source(t, module, { isolation });
    assert.equal(from.durability?.kind, 'wasm');
    assert.equal(from.durability?.moduleHash, createHash('sha256').update(bytes).digest('hex'));
    assert.match(from.durability?.refusal ?? '', /^function 4 uses data\.drop, which drops a data segment at run time/);
    const r = await room(t, from);
    assert.deepEqual(texts(await r.say('hi')), ['k'], `${isolation}: it runs`);
    await assert.rejects(async () => r.adapter.snapshot!(), { code: 'SR_ERR_NOT_DURABLE' });
    assert.deepEqual(texts(await r.say('hi')), ['k'], `${isolation}: and goes on after a refused snapshot`);
  }
});

test('a module whose bytes are not known cannot be saved: the source says so', async (t) => {
  const loaded = await loadWasmFile(fixture('counter'));
  const from = source(t, { name: loaded.name, module: loaded.module }, { isolation: 'inline' });
  assert.deepEqual(from.durability, { kind: 'wasm', moduleHash: '', refusal: 'its bytes are not known (it was compiled elsewhere), so it cannot be checked' });
});
