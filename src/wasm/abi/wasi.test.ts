// The WASI slice's fd_write: a guest's output reaches the log as lines of bounded length, however
// much one call writes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { wasiImports } from './wasi.js';

/** Writes `text` to stdout through fd_write (one iov at 1024, the iov record at 0); returns the lines. */
function printed(text: string): string[] {
  const memory = new WebAssembly.Memory({ initial: 4 });
  const lines: string[] = [];
  const wasi = wasiImports(() => memory, (_stream, line) => lines.push(line));
  const bytes = new TextEncoder().encode(text);
  new Uint8Array(memory.buffer).set(bytes, 1024);
  const view = new DataView(memory.buffer);
  view.setUint32(0, 1024, true);
  view.setUint32(4, bytes.length, true);
  assert.equal(wasi.imports.fd_write(1, 0, 1, 16), 0);
  wasi.flush();
  return lines;
}

test('one fd_write of 100,000 characters with a newline at the end is one line of at most 16 KiB, saying what was cut', () => {
  const lines = printed(`${'x'.repeat(100_000)}\n`);
  assert.equal(lines.length, 1);
  assert.ok(lines[0]!.length < 16_500, `a line of ${lines[0]!.length} characters`);
  assert.match(lines[0]!, /… \(83616 more characters\)$/);
});

test('short lines pass as they are', () => {
  assert.deepEqual(printed('a\nb\nc'), ['a', 'b', 'c']);
});
