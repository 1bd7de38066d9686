// Modules that are not Stateroom modules are refused at load, with one line: exports and
// imports of the wrong function type, an imported memory, a start function that never
// returns. The modules are written here (or in test/fixtures/wasm) by hand.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import wabt from 'wabt';
import { compileStateroomModule } from '../src/wasm/abi/module.js';
import { loadWasmFile } from '../src/wasm/abi/load.js';
import { within } from './helpers/deadline.js';
import { run } from './helpers/cli.js';

const tools = await wabt();

/** Assembles WebAssembly text (features the fixtures need are on by default in wabt). */
function assemble(text: string): Uint8Array {
  const parsed = tools.parseWat('inline.wat', text);
  try {
    return parsed.toBinary({}).buffer;
  } finally {
    parsed.destroy();
  }
}

/** A complete ABI v1 guest, with parts replaced. */
function guest({ malloc = '(param i32) (result i32) (i32.const 1024)', free = '(param i32 i32)', recv = '(param i32 i32)', imports = '', version = 'i32' } = {}): string {
  return `(module
    ${imports}
    (memory (export "memory") 1)
    (data (i32.const 16) "\\01\\00\\00\\00\\00\\00\\00\\00")
    (global (export "STATEROOM_API_VERSION") ${version} (${version}.const 16))
    (global (export "STATEROOM_API_PROTOCOL") i32 (i32.const 20))
    (func (export "stateroom_malloc") ${malloc})
    (func (export "stateroom_free") ${free})
    (func (export "stateroom_recv") ${recv}))`;
}

test('a guest with the ABI types loads', async () => {
  await compileStateroomModule(assemble(guest({ imports: '(import "env" "stateroom_send" (func (param i32 i32)))' })), 'ok.wasm');
});

for (const [recv, shown] of [
  ['(param i64 i64)', '(i64, i64) -> ()'],
  ['(param i32)', '(i32) -> ()'],
  ['(param f64 f64)', '(f64, f64) -> ()'],
  ['(param i32 i32) (result i32) (i32.const 0)', '(i32, i32) -> i32'],
] as const) {
  test(`stateroom_recv of type ${shown} is refused at load with one line`, async () => {
    await assert.rejects(within(compileStateroomModule(assemble(guest({ recv })), 'x.wasm'), 'the check'), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'SR_ERR_WASM_NOT_STATEROOM');
      assert.equal(err.message, `x.wasm is not a Stateroom module: stateroom_recv is ${shown}, not (i32, i32) -> () (Stateroom ABI v1)`);
      return true;
    });
  });
}

test('every ABI export is checked: malloc, free and the version globals', async () => {
  const cases = [
    [{ malloc: '(param i32)' }, /stateroom_malloc is \(i32\) -> \(\), not \(i32\) -> i32/],
    [{ free: '(param i32 i32) (result i32) (i32.const 0)' }, /stateroom_free is \(i32, i32\) -> i32, not \(i32, i32\) -> \(\)/],
    [{ version: 'i64' }, /STATEROOM_API_VERSION is a global of type i64, not i32/],
  ] as const;
  for (const [parts, message] of cases) {
    await assert.rejects(compileStateroomModule(assemble(guest(parts)), 'x.wasm'), { code: 'SR_ERR_WASM_NOT_STATEROOM', message });
  }
});

test('imports of the wrong type, and an imported memory, are refused with one line', async () => {
  const cases = [
    ['(import "env" "stateroom_send" (func (param i64)))', /imports env\.stateroom_send as \(i64\) -> \(\), but stateroom provides it as \(i32, i32\) -> \(\)$/],
    ['(import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32)))', /imports wasi_snapshot_preview1\.fd_write as \(i32, i32\) -> \(\), but stateroom provides it as \(i32, i32, i32, i32\) -> i32$/],
    ['(import "env" "memory" (memory 1))', /imports its memory \(env\.memory\); a Stateroom guest defines and exports its own memory/],
  ] as const;
  for (const [imports, message] of cases) {
    // An imported memory needs the guest's own memory gone: a module has one memory.
    const text = imports.includes('memory 1') ? guest({ imports }).replace('(memory (export "memory") 1)', '(export "memory" (memory 0))') : guest({ imports });
    await assert.rejects(compileStateroomModule(assemble(text), 'x.wasm'), { code: 'SR_ERR_WASM_BAD_IMPORT', message });
  }
});

test('a start function that never returns is refused once its time is up', async () => {
  const started = performance.now();
  await assert.rejects(within(loadWasmFile('test/fixtures/wasm/start-spin.wat', { startTimeoutMs: 300 }), 'the refusal'), {
    code: 'SR_ERR_WASM_START',
    message: 'test/fixtures/wasm/start-spin.wat did not finish instantiating within 300 ms: its start function runs too long or never returns',
  });
  assert.ok(performance.now() - started < 2_500, 'refused soon after the limit');
});

test('stateroom serve refuses a never-returning start function and a wrong signature with one line each, and exits', async () => {
  const spin = await run(['serve', 'test/fixtures/wasm/start-spin.wat', '--port', '0', '--host', '127.0.0.1'], { ms: 15_000 });
  assert.equal(spin.code, 1);
  assert.match(spin.stderr, /^stateroom: test\/fixtures\/wasm\/start-spin\.wat did not finish instantiating within 5000 ms: .*\[SR_ERR_WASM_START\]\n$/);
  const i64 = await run(['serve', 'test/fixtures/wasm/recv-i64.wat', '--port', '0', '--host', '127.0.0.1']);
  assert.equal(i64.code, 1);
  assert.match(i64.stderr, /^stateroom: test\/fixtures\/wasm\/recv-i64\.wat is not a Stateroom module: stateroom_recv is \(i64, i64\) -> \(\), not \(i32, i32\) -> \(\) .*\[SR_ERR_WASM_NOT_STATEROOM\]\n$/);
});
