// Replacements for the three functions AssemblyScript's standard library imports from the
// JavaScript host (`env.abort`, `env.trace`, `env.seed`). A Stateroom host refuses those
// imports, so the build aliases them to these with `--use abort=…`, `--use trace=…` and
// `--use seed=…` (see src/build/assemblyscript.ts). Their internal names are therefore
// part of the build: rename them there too.

import { fillRandom, STDERR, writeText } from "./wasi";

// Set while an abort is being reported: if reporting fails in turn (say the allocator is
// out of memory), the second abort traps at once instead of recursing.
let aborting = false;

/**
 * Called for a failed `assert`, a thrown error, an out-of-bounds access and the like:
 * prints `abort: <message> at <file>:<line>:<column>` to standard error, then traps. This
 * mirrors a Rust guest, which prints its panic through `fd_write` before `unreachable`.
 */
export function stateroomAbort(
  message: string | null,
  fileName: string | null,
  line: u32,
  column: u32,
): void {
  if (!aborting) {
    aborting = true;
    let text = "abort: " + (message !== null ? message : "(no message)");
    if (fileName !== null) text += " at " + fileName + ":" + line.toString() + ":" + column.toString();
    writeText(STDERR, text + "\n");
  }
  unreachable();
}

/** AssemblyScript's `trace(message, n, a0…a4)`: prints the message and the first `n` numbers to standard error. */
export function stateroomTrace(
  message: string,
  n: i32 = 0,
  a0: f64 = 0,
  a1: f64 = 0,
  a2: f64 = 0,
  a3: f64 = 0,
  a4: f64 = 0,
): void {
  let text = "trace: " + message;
  const values: f64[] = [a0, a1, a2, a3, a4];
  for (let i = 0; i < n && i < values.length; i++) text += " " + values[i].toString();
  writeText(STDERR, text + "\n");
}

/** The seed of `Math.random`: 8 random bytes from WASI's `random_get`. */
export function stateroomSeed(): f64 {
  const bits = memory.data(8, 8);
  fillRandom(bits, 8);
  // Any bit pattern will do as long as it is a finite, non-zero number: keep the
  // exponent of 1.0 and randomise the 52-bit mantissa, giving a value in [1, 2).
  return reinterpret<f64>((load<u64>(bits) & 0x000f_ffff_ffff_ffff) | 0x3ff0_0000_0000_0000);
}
