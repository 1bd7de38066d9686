// The module-rewriting pass, byte for byte: a memory's maximum is set or lowered to the
// limit, and every other byte stays as it was; the rewritten module compiles, and
// memory.grow past the limit fails inside the call.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import wabt from 'wabt';
import { readModule } from '../src/wasm/abi/binary.js';
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
