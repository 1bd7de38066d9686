/**
 * Writes bincode 1.x values into a new buffer of a size the caller computed beforehand
 * (the codec always knows the exact size, so there is no growing and no bounds check).
 */
export class ByteWriter {
  /** The buffer being filled. Holding it here keeps it alive for the garbage collector. */
  readonly buffer: ArrayBuffer;
  private offset: usize = 0;

  constructor(size: usize) {
    this.buffer = new ArrayBuffer(<i32>size);
  }

  /** Writes a `u32`, little-endian (WebAssembly stores are little-endian). */
  u32(value: u32): void {
    store<u32>(this.cursor, value);
    this.offset += 4;
  }

  /** Writes a `u64` length prefix. */
  length64(value: usize): void {
    store<u64>(this.cursor, <u64>value);
    this.offset += 8;
  }

  /** Copies `length` raw bytes from `source`. */
  raw(source: usize, length: usize): void {
    memory.copy(this.cursor, source, length);
    this.offset += length;
  }

  /** The address where the next value goes, for encoders that write in place. */
  get cursor(): usize {
    return changetype<usize>(this.buffer) + this.offset;
  }

  /** Moves past `count` bytes that were written in place at {@link cursor}. */
  skip(count: usize): void {
    this.offset += count;
  }
}
