/**
 * A single-producer, single-consumer queue of byte frames in a `SharedArrayBuffer`: how the
 * server thread and a guest worker thread talk (one ring each way: `pool-worker.ts` holds the
 * server's ends, `thread-main.ts` the thread's).
 *
 * Why not `postMessage`: a message costs a structured clone (or a transfer), a `MessageEvent`
 * and a wake of the receiver's event loop, which is most of what a lone message paid for its
 * crossing. Here a frame is a copy into shared memory and one atomic store; the receiver is
 * woken only when it sleeps (`Atomics.wait` on the thread, `Atomics.waitAsync` on the
 * server), and — what the streaming of a long call's sends rests on — the consumer can read
 * what the producer has published at any time, without the producer's help.
 *
 * Layout: two int32 counters (bytes written and bytes read, ever; they wrap at 2^32), then
 * the data. A frame is a u32 length and its bytes, padded to 4; a frame never wraps: where
 * one would run past the end, a zero length says "go on at the start". A frame longer than
 * {@link Ring.maxFrame} cannot be written: the sender sends it by its `MessagePort` and
 * writes {@link ELSEWHERE} in its place, so the order holds.
 * @module
 */

/** Index (in the control Int32Array) of the count of bytes written. */
export const HEAD = 0;
/** Index of the count of bytes read. */
export const TAIL = 1;
const CONTROL_BYTES = 8;
const PAD = 0;
/** A frame length meaning: this frame went by the `MessagePort` between the two threads. */
export const ELSEWHERE = 0xffffffff;
/** What {@link Ring.read} returns when nothing is published. */
export const EMPTY = -1;

const align = (n: number): number => (n + 3) & ~3;

export class Ring {
  /** The two counters, for `Atomics.wait`/`notify` on {@link HEAD} and {@link TAIL}. */
  readonly control: Int32Array;
  /** The data area: a frame read with {@link read} is `bytes.subarray(at, at + length)`. */
  readonly bytes: Uint8Array;
  private readonly view: DataView;
  private readonly mask: number;
  /** The producer's count of bytes written (published or being written). */
  private head = 0;
  /** The consumer's count of bytes read, and where the frame it holds ends. */
  private tail = 0;
  private next = 0;
  /** Where the payload of the frame last reserved or read starts. */
  at = 0;

  /** `capacity` is a power of two; pass the other side's {@link shared} to attach to its ring. */
  constructor(readonly shared: SharedArrayBuffer) {
    const capacity = shared.byteLength - CONTROL_BYTES;
    if (capacity < 64 || (capacity & (capacity - 1)) !== 0) throw new RangeError(`ring capacity ${capacity} is not a power of two ≥ 64`);
    this.control = new Int32Array(shared, 0, 2);
    this.bytes = new Uint8Array(shared, CONTROL_BYTES, capacity);
    this.view = new DataView(shared, CONTROL_BYTES, capacity);
    this.mask = capacity - 1;
    this.head = Atomics.load(this.control, HEAD);
    this.tail = Atomics.load(this.control, TAIL);
  }

  static create(capacity: number): Ring {
    return new Ring(new SharedArrayBuffer(CONTROL_BYTES + capacity));
  }

  /** The longest frame that can be written (half the ring: one always fits in an empty ring). */
  get maxFrame(): number {
    return (this.bytes.byteLength >>> 1) - 4;
  }

  /** Producer: the value to `Atomics.wait` on at {@link TAIL} for room to write. */
  get readCount(): number {
    return Atomics.load(this.control, TAIL);
  }

  /** Consumer: the value to wait on at {@link HEAD} for the next frame (what it has read). */
  get seen(): number {
    return this.tail;
  }

  /**
   * Producer: makes room for a frame of `length` bytes (at most {@link maxFrame}, or
   * {@link ELSEWHERE}) and returns true, its payload to be written at {@link at}; false
   * if the consumer has not freed enough yet. {@link commit} publishes it.
   */
  reserve(length: number): boolean {
    const need = 4 + (length === ELSEWHERE ? 0 : align(length));
    let offset = this.head & this.mask;
    const free = this.bytes.byteLength - ((this.head - Atomics.load(this.control, TAIL)) | 0);
    const rest = this.bytes.byteLength - offset;
    const pad = offset + need > this.bytes.byteLength ? rest : 0;
    if (free < pad + need) return false;
    if (pad > 0) {
      this.view.setUint32(offset, PAD, true);
      this.head = (this.head + pad) | 0;
      offset = 0;
    }
    this.view.setUint32(offset, length, true);
    this.at = offset + 4;
    this.next = need;
    return true;
  }

  /** Producer: the frame reserved last is written; the consumer may read it. */
  commit(): void {
    this.head = (this.head + this.next) | 0;
    Atomics.store(this.control, HEAD, this.head);
  }

  /** Producer: writes `frame` (at most {@link maxFrame} bytes) if there is room now. */
  tryWrite(frame: Uint8Array): boolean {
    if (!this.reserve(frame.byteLength)) return false;
    this.bytes.set(frame, this.at);
    this.commit();
    return true;
  }

  /**
   * Consumer: the length of the next published frame (its payload at {@link at}), or
   * {@link EMPTY}, or {@link ELSEWHERE}. The frame stays valid until {@link release}.
   */
  read(): number {
    for (;;) {
      if (Atomics.load(this.control, HEAD) === this.tail) return EMPTY;
      const offset = this.tail & this.mask;
      const length = this.view.getUint32(offset, true);
      if (length === PAD) {
        this.tail = (this.tail + this.bytes.byteLength - offset) | 0;
        continue;
      }
      this.at = offset + 4;
      this.next = 4 + (length === ELSEWHERE ? 0 : align(length));
      return length;
    }
  }

  /** Consumer: done with the frame last read; the producer may write over it. */
  release(): void {
    this.tail = (this.tail + this.next) | 0;
    this.next = 0;
    Atomics.store(this.control, TAIL, this.tail);
  }
}
