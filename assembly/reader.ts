import { isValidUtf8 } from "./utf8";

/**
 * Reads bincode 1.x values (fixed-width little-endian integers, `u64`-prefixed strings and
 * byte vectors) from a span of linear memory, never past its end. Every failure throws,
 * which in AssemblyScript aborts and therefore traps the instance: the ABI treats a
 * message that does not decode as fatal, as a Rust guest's panic would.
 */
export class ByteReader {
  private offset: usize = 0;

  constructor(
    private readonly address: usize,
    private readonly length: usize,
  ) {}

  /** Reads a `u32` (an enum variant index or a `ClientId`). */
  u32(): u32 {
    this.need(4);
    const value = load<u32>(this.address + this.offset);
    this.offset += 4;
    return value;
  }

  /** Reads a `u64` length prefix and checks that that many bytes follow. */
  length64(): usize {
    this.need(8);
    const value = load<u64>(this.address + this.offset);
    this.offset += 8;
    if (value > <u64>(this.length - this.offset)) {
      throw new Error("stateroom: message truncated (length " + value.toString() + " runs past the end)");
    }
    return <usize>value;
  }

  /** Reads a `Vec<u8>`: a `u64` length, then the bytes, copied out of the host's buffer. */
  bytes(): Uint8Array {
    const length = this.length64();
    const result = new Uint8Array(<i32>length);
    memory.copy(result.dataStart, this.address + this.offset, length);
    this.offset += length;
    return result;
  }

  /**
   * Reads a `String`: a `u64` length, then that many bytes of well-formed UTF-8, copied out
   * of the host's buffer as they are (not decoded).
   */
  utf8(): ArrayBuffer {
    const length = this.length64();
    const start = this.address + this.offset;
    if (!isValidUtf8(start, length)) throw new Error("stateroom: message text is not valid UTF-8");
    const result = new ArrayBuffer(<i32>length);
    memory.copy(changetype<usize>(result), start, length);
    this.offset += length;
    return result;
  }

  private need(count: usize): void {
    if (this.length - this.offset < count) throw new Error("stateroom: message truncated");
  }
}
