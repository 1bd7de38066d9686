/** Messages up to this size are encoded into one buffer kept for the next message. */
const KEPT_BYTES: usize = 64 * 1024;

/**
 * Writes bincode 1.x values into a buffer of a size the caller computed beforehand (the
 * codec always knows the exact size, so there is no growing and no bounds check).
 *
 * There is one writer, started anew for each message: the host copies a message before
 * `stateroom_send` returns, so the buffer of the last one can take the next one — no
 * allocation per message. A message longer than {@link KEPT_BYTES} gets a buffer of its own,
 * let go once it is sent, so one large message does not stay in the room's memory.
 */
export class ByteWriter {
  /** The buffer being filled. Holding it here keeps it alive for the garbage collector. */
  private buffer: ArrayBuffer = new ArrayBuffer(256);
  private kept: ArrayBuffer = this.buffer;
  private offset: usize = 0;

  /** The writer, emptied, with room for `size` bytes. */
  static start(size: usize): ByteWriter {
    const writer = WRITER;
    writer.offset = 0;
    if (size <= <usize>writer.kept.byteLength) {
      writer.buffer = writer.kept;
    } else if (size <= KEPT_BYTES) {
      writer.kept = new ArrayBuffer(<i32>min(max(size, <usize>writer.kept.byteLength * 2), KEPT_BYTES));
      writer.buffer = writer.kept;
    } else {
      writer.buffer = new ArrayBuffer(<i32>size);
    }
    return writer;
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

  /** Where what was written starts. */
  get start(): usize {
    return changetype<usize>(this.buffer);
  }

  /** The message is sent: a buffer of its own (a long message) is let go now. */
  sent(): void {
    this.buffer = this.kept;
  }

  /** How many bytes were written. */
  get length(): usize {
    return this.offset;
  }
}

const WRITER = new ByteWriter();
