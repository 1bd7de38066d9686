// The module-rewriting pass, byte for byte: a memory's maximum is set or lowered to the
// limit, every mutable global the module defines gets an export (for snapshots), and every
// other byte stays as it was — the code section always; the rewritten module compiles and
// behaves the same, and memory.grow past the limit fails inside the call.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import wabt from 'wabt';
import { SectionId, readModule } from '../src/wasm/abi/binary.js';
import { rewriteModule } from '../src/wasm/abi/rewrite.js';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const show = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

const PREAMBLE = '0061736d 01000000';
// type section: one type () -> (); a custom section "n" with one byte; an export section
// exporting memory 0 as "m". They must come out unchanged around the memory section.
const TYPE = '01 04 01 60 00 00';
const CUSTOM = '00 03 01 6e ff';
const EXPORT = '07 05 01 01 6d 02 00';

test('a memory without a maximum gets one: the flags, the maximum and the section size change, nothing else', () => {
  const before = hex(`${PREAMBLE} ${TYPE} 05 03 01 00 01 ${CUSTOM} ${EXPORT}`);
  const after = rewriteModule(before, 'm.wasm', { maxMemoryPages: 1024 });
  // 1024 pages = 0x80 0x08 in LEB128; the section grows from 3 to 5 bytes.
  assert.equal(show(after), show(hex(`${PREAMBLE} ${TYPE} 05 05 01 01 01 8008 ${CUSTOM} ${EXPORT}`)));
  assert.ok(WebAssembly.validate(after));
});

test('a higher maximum is lowered; a minimum keeps its own (even padded) encoding', () => {
  // min 2 written as a padded LEB (82 80 00), max 65536 (80 80 04).
  const before = hex(`${PREAMBLE} 05 08 01 01 828000 808004 ${EXPORT}`);
  assert.equal(show(rewriteModule(before, 'm.wasm', { maxMemoryPages: 16 })), show(hex(`${PREAMBLE} 05 06 01 01 828000 10 ${EXPORT}`)));
});

test('a module already within the limit comes back as the same bytes', () => {
  const before = hex(`${PREAMBLE} 05 04 01 01 01 08 ${EXPORT}`);
  assert.equal(rewriteModule(before, 'm.wasm', { maxMemoryPages: 16 }), before);
  const noMemory = hex(`${PREAMBLE} ${TYPE}`);
  assert.equal(rewriteModule(noMemory, 'm.wasm', { maxMemoryPages: 16 }), noMemory);
});

test('a memory that starts over the limit is refused, naming both sizes', () => {
  const before = hex(`${PREAMBLE} 05 04 01 00 8002 ${EXPORT}`); // 256 pages = 16 MiB
  assert.throws(() => rewriteModule(before, 'big.wasm', { maxMemoryPages: 128 }), {
    code: 'SR_ERR_WASM_MEMORY',
    message: 'big.wasm starts with 16 MiB of memory, over the memory limit of 8 MiB (--wasm-memory-limit)',
  });
});

test('a rewritten guest compiles and behaves the same, and memory.grow past the limit returns -1', async () => {
  const tools = await wabt();
  const parsed = tools.parseWat('g.wat', `(module
    (memory (export "memory") 1)
    (global $g (mut i32) (i32.const 7))
    (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
    (func (export "g") (result i32) (global.get $g)))`);
  const before = parsed.toBinary({}).buffer;
  parsed.destroy();
  const after = rewriteModule(before, 'g.wasm', { maxMemoryPages: 4 });
  assert.equal(after.byteLength, before.byteLength + 1, 'the flags byte changes and one byte of maximum is added');
  const info = readModule(after);
  assert.deepEqual(info.memories.map((m) => [m.min, m.max]), [[1n, 4n]]);
  const { exports } = new WebAssembly.Instance(new WebAssembly.Module(after));
  const grow = exports.grow as (pages: number) => number;
  assert.equal((exports.g as () => number)(), 7);
  assert.equal(grow(3), 1, 'up to the limit');
  assert.equal(grow(1), -1, 'past it: fails, no trap');
  assert.equal((exports.memory as WebAssembly.Memory).buffer.byteLength, 4 * 65536);
});

// ---- exporting mutable globals, for snapshots -----------------------------------------

async function assemble(text: string, features: Record<string, boolean> = {}): Promise<Uint8Array> {
  const tools = await wabt();
  const parsed = tools.parseWat('t.wat', text, features);
  try {
    return parsed.toBinary({}).buffer;
  } finally {
    parsed.destroy();
  }
}

/** Each section's bytes (id byte to end), by id; custom sections by their order. */
function sectionBytes(bytes: Uint8Array): Map<number, string> {
  return new Map(readModule(bytes).sections.map((s) => [s.id, show(bytes.subarray(s.contentStart, s.end))]));
}

// Two mutable globals the module does not export (one of them i64), one it does, one
// immutable, and an export already named as the rewrite would name global 1.
const STATEFUL = `(module
  (memory (export "memory") 1 2)
  (global $a (mut i32) (i32.const 5))
  (global $b (mut i64) (i64.const -3))
  (global $c (export "c") (mut f64) (f64.const 0.5))
  (global $k i32 (i32.const 9))
  (table 2 funcref)
  (elem (i32.const 0) $bump $read)
  (func $bump (export "bump") (global.set $a (i32.add (global.get $a) (global.get $k)))
    (global.set $b (i64.mul (global.get $b) (i64.const 7)))
    (global.set $c (f64.add (global.get $c) (f64.const 1))))
  (func $read (export "__stateroom_global_1") (result i32) (global.get $a))
  (func (export "indirect") (param i32) (result i32) (call_indirect (result i32) (local.get 0)))
  (func (export "wide") (result i64) (global.get $b))
  (data (i32.const 8) "hello"))`;

test('every mutable global the module defines gets an export, a taken name gets a _; the code section and all but the export section stay byte for byte', async () => {
  const before = await assemble(STATEFUL);
  const after = rewriteModule(before, 'g.wasm', { exportMutableGlobals: true });
  assert.ok(WebAssembly.validate(after), 'the rewritten module validates');
  const added = readModule(after).exports.filter((e) => e.name.startsWith('__stateroom_global_') && e.kind === 'global');
  assert.deepEqual(
    added.map((e) => [e.name, e.index]),
    [
      ['__stateroom_global_0', 0],
      ['__stateroom_global_1_', 1],
      ['__stateroom_global_2', 2],
    ],
    'globals 0, 1 and 2 (2 is exported already, as "c": it gets ours too); not the immutable 3',
  );
  const [was, is] = [sectionBytes(before), sectionBytes(after)];
  for (const [id, content] of was) {
    if (id !== SectionId.export) assert.equal(is.get(id), content, `section ${id} is unchanged`);
  }
  // After the count (one byte here), the old exports' bytes come first, as they were.
  assert.equal(is.get(SectionId.export)!.slice(2, was.get(SectionId.export)!.length), was.get(SectionId.export)!.slice(2));
});

test('a rewritten module behaves as the original, and its new exports read the globals the code changes', async () => {
  const before = await assemble(STATEFUL);
  const after = rewriteModule(before, 'g.wasm', { exportMutableGlobals: true, maxMemoryPages: 1 });
  const [a, b] = [before, after].map((bytes) => new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports);
  for (const e of [a!, b!]) {
    (e.bump as () => void)();
    (e.bump as () => void)();
  }
  for (const name of ['__stateroom_global_1', 'wide']) assert.equal((b![name] as () => unknown)(), (a![name] as () => unknown)(), name);
  assert.equal((b!.indirect as (i: number) => number)(1), (a!.indirect as (i: number) => number)(1));
  const global = (name: string): unknown => (b![name] as WebAssembly.Global).value;
  assert.equal(global('__stateroom_global_0'), 5 + 9 + 9);
  assert.equal(global('__stateroom_global_1_'), -3n * 49n);
  assert.equal(global('__stateroom_global_2'), 2.5);
  assert.equal(global('c'), 2.5);
  assert.deepEqual(readModule(after).memories.map((m) => [m.min, m.max]), [[1n, 1n]], 'and the memory limit applied in the same pass');
});

test('a module without an export section gets one, in its place among the sections', async () => {
  const before = await assemble(`(module (memory 1) (global $g (mut i32) (i32.const 1)) (func (global.set $g (i32.const 2))) (start 0))`);
  assert.equal(readModule(before).sections.some((s) => s.id === SectionId.export), false);
  const after = rewriteModule(before, 'g.wasm', { exportMutableGlobals: true });
  assert.ok(WebAssembly.validate(after));
  assert.deepEqual(readModule(after).sections.map((s) => s.id), [1, 3, 5, 6, 7, 8, 10]);
  const g = new WebAssembly.Instance(new WebAssembly.Module(after)).exports.__stateroom_global_0 as WebAssembly.Global;
  assert.equal(g.value, 2, 'the start function ran and set it');
});

test('a module with no mutable global, within the limit, comes back as the same bytes', async () => {
  const before = await assemble(`(module (memory (export "memory") 1 1) (global i32 (i32.const 1)) (func (export "f")))`);
  assert.equal(rewriteModule(before, 'g.wasm', { exportMutableGlobals: true, maxMemoryPages: 4 }), before);
});
