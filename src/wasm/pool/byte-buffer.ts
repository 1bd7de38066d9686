/**
 * A growable byte buffer that a request batch is written into during one event-loop turn
 * (then copied into the ring as one frame, see `ring.ts`), and the reader of such a frame.
 * The writer keeps its buffer from batch to batch: a fresh zero-filled buffer per batch is
 * counted by V8 as external memory and answered, on a server's large heap, with major
 * collections.
 * @module
 */

const MIN_CAPACITY = 4_096;
/** Past this size a buffer is dropped once its batch has left: one huge payload must not pin a huge buffer. */
const MAX_KEPT_CAPACITY = 1024 * 1024;
const utf8 = new TextEncoder();
const encodeText = (target: Uint8Array, text: string): number => utf8.encodeInto(text, target).written;
const utf8Decoder = new TextDecoder('utf-8', { ignoreBOM: true }); // a room id may begin with U+FEFF

/** Little-endian fields appended to a buffer that grows as needed. */
export class ByteWriter {
  private bytes = new Uint8Array(MIN_CAPACITY);
  private view = new DataView(this.bytes.buffer);
  private at = 0;

  /** Nothing was written since the last {@link clear}. */
  get empty(): boolean {
    return this.at === 0;
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
    const length = this.at;
    this.u32(0);
    this.ensure(max);
    const written = write(this.bytes.subarray(this.at, this.at + max), a, b);
    this.at += written;
    this.view.setUint32(length, written, true);
  }

  /** What was written since the last {@link clear}: a view, valid until the next write. */
  written(): Uint8Array {
    return this.bytes.subarray(0, this.at);
  }

  /** Starts the next batch in the same buffer (or a smaller one, if this one grew huge). */
  clear(): void {
    this.at = 0;
    if (this.bytes.byteLength <= MAX_KEPT_CAPACITY) return;
    this.bytes = new Uint8Array(MIN_CAPACITY);
    this.view = new DataView(this.bytes.buffer);
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
  private readonly view: DataView;
  private at = 0;

  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get done(): boolean {
    return this.at >= this.bytes.byteLength;
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
