/**
 * A growable byte buffer to fill and hand to another thread as one transferred
 * `ArrayBuffer` (no structured clone of objects, no copy), and its reader. The first four
 * bytes of a taken buffer hold how many of its bytes are used: a buffer is transferred
 * whole, spare capacity included, rather than copied to its exact length.
 *
 * Buffers circulate rather than being allocated per batch: a thread done reading a batch
 * gives its buffer to its own writer ({@link ByteWriter.recycle}), which fills it next. A
 * fresh zero-filled buffer per batch costs more than the copy it avoids: V8 counts it as
 * external memory and, on a large heap, answers with major collections.
 * @module
 */

const HEADER = 4;
const MIN_CAPACITY = 4_096;
/** Buffers past this size are not kept for reuse: one huge payload must not pin a huge buffer. */
const MAX_RECYCLED_CAPACITY = 1024 * 1024;
/** Buffers kept for reuse; two are in circulation per direction in the steady state. */
const MAX_SPARES = 4;
const utf8 = new TextEncoder();
const encodeText = (target: Uint8Array, text: string): number => utf8.encodeInto(text, target).written;
const utf8Decoder = new TextDecoder();

/** Little-endian fields appended to a buffer that grows as needed. */
export class ByteWriter {
  private bytes = new Uint8Array(MIN_CAPACITY);
  private view = new DataView(this.bytes.buffer);
  private at = HEADER;
  private readonly spares: ArrayBuffer[] = [];

  /** Nothing was written since the last {@link take}. */
  get empty(): boolean {
    return this.at === HEADER;
  }

  u8(value: number): void {
    this.ensure(1);
    this.bytes[this.at++] = value;
  }

  u32(value: number): void {
    this.ensure(4);
    this.view.setUint32(this.at, value, true);
    this.at += 4;
  }

  /** Leaves room for a u32 to {@link patchU32} later; returns where it is. */
  placeholderU32(): number {
    this.u32(0);
    return this.at - 4;
  }

  patchU32(offset: number, value: number): void {
    this.view.setUint32(offset, value, true);
  }

  patchU8(offset: number, value: number): void {
    this.bytes[offset] = value;
  }

  /** Where the next byte goes. */
  get position(): number {
    return this.at;
  }

  /** A u32 length, then `bytes`. */
  lengthPrefixed(bytes: Uint8Array): void {
    this.u32(bytes.byteLength);
    this.ensure(bytes.byteLength);
    this.bytes.set(bytes, this.at);
    this.at += bytes.byteLength;
  }

  /** A u32 length, then `text` as UTF-8. */
  text(text: string): void {
    this.fill(text.length * 3, encodeText, text, undefined);
  }

  /**
   * A u32 length, then what `write(view, a, b)` puts into a view of up to `max` bytes;
   * `write` returns how many it wrote. (A function and its arguments rather than a closure:
   * this runs once per event.)
   */
  fill<A, B>(max: number, write: (target: Uint8Array, a: A, b: B) => number, a: A, b: B): void {
    const length = this.placeholderU32();
    this.ensure(max);
    const written = write(this.bytes.subarray(this.at, this.at + max), a, b);
    this.at += written;
    this.patchU32(length, written);
  }

  /** The buffer written so far, to transfer; the writer goes on in a recycled (or new) one. */
  take(): ArrayBuffer {
    this.view.setUint32(0, this.at, true);
    const { buffer } = this.bytes;
    this.bytes = new Uint8Array(this.spares.pop() ?? new ArrayBuffer(Math.max(MIN_CAPACITY, this.at)));
    this.view = new DataView(this.bytes.buffer);
    this.at = HEADER;
    return buffer;
  }

  /** Keeps `buffer` (one already read) to write into later. Its old contents are overwritten. */
  recycle(buffer: ArrayBuffer): void {
    if (buffer.byteLength <= MAX_RECYCLED_CAPACITY && this.spares.length < MAX_SPARES) this.spares.push(buffer);
  }

  private ensure(count: number): void {
    if (this.at + count <= this.bytes.byteLength) return;
    let capacity = this.bytes.byteLength * 2;
    while (capacity < this.at + count) capacity *= 2;
    const grown = new Uint8Array(capacity);
    grown.set(this.bytes.subarray(0, this.at));
    this.bytes = grown;
    this.view = new DataView(grown.buffer);
  }
}

/** Reads what a {@link ByteWriter} wrote, in the same order. */
export class ByteReader {
  private readonly bytes: Uint8Array;
  private readonly view: DataView;
  private at = HEADER;
  private readonly end: number;

  constructor(buffer: ArrayBuffer) {
    this.bytes = new Uint8Array(buffer);
    this.view = new DataView(buffer);
    this.end = this.view.getUint32(0, true);
  }

  get done(): boolean {
    return this.at >= this.end;
  }

  u8(): number {
    return this.bytes[this.at++]!;
  }

  u32(): number {
    const value = this.view.getUint32(this.at, true);
    this.at += 4;
    return value;
  }

  /** A length-prefixed run of bytes, as a view (not a copy). */
  lengthPrefixed(): Uint8Array {
    const length = this.u32();
    const start = this.at;
    this.at += length;
    return this.bytes.subarray(start, this.at);
  }

  text(): string {
    return utf8Decoder.decode(this.lengthPrefixed());
  }
}
