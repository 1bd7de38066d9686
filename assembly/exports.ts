// The WebAssembly exports of ABI v1, besides `memory` (which asc exports by default).
// Build tools add `abi.ts` (which re-exports this file) as a second entry file, so the
// author's file does not list them; see README.md.

import { decodeEvent } from "./codec";
import { deliver } from "./room";
// Not used here, but loaded so that the build's `--use abort=…`, `--use console=…` (and so
// on) aliases find them.
import "./console";
import "./runtime-hooks";

/**
 * The address of an i32 reading 1: the ABI version. The globals hold addresses, not the
 * numbers themselves, because Rust guests export `pub static`s, which wasm-ld exports
 * as the address of the data.
 */
export const STATEROOM_API_VERSION: usize = memory.data<u32>([1]);

/** The address of an i32 reading 0: the ABI protocol. */
export const STATEROOM_API_PROTOCOL: usize = memory.data<u32>([0]);

/**
 * Allocates `size` bytes for the host to write a message into; 0 for 0 bytes. The
 * memory is raw (not garbage-collected), so it stays put until `stateroom_free`.
 */
export function stateroom_malloc(size: usize): usize {
  return size == 0 ? 0 : heap.alloc(size);
}

/** Frees what `stateroom_malloc` returned. A size of 0 (address 0) frees nothing. */
export function stateroom_free(address: usize, size: usize): void {
  if (address != 0 && size != 0) heap.free(address);
}

/** Decodes one `MessageToProcess` and runs the service's callback for it. */
export function stateroom_recv(address: usize, length: usize): void {
  const event = decodeEvent(address, length);
  deliver(event);
  // The event object is kept for the next one: it must not keep this message alive.
  event.fill(event.kind, 0, null);
}
