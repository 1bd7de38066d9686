/**
 * What the client sent on its seat, kept until the server says it has it: the newest
 * messages, bounded in bytes, so that after a drop it can send again exactly what the
 * server missed.
 * @module
 */

/** What each kept message counts for beyond its payload, so that empty ones are bounded too (as on the server). */
const OVERHEAD = 16;

/** The messages sent on one seat, numbered from 1; the newest are kept, at most `limit` bytes. */
export class Sent<T extends string | Uint8Array> {
  /** Messages sent on this seat, as the server will have counted them once it has them all. */
  count = 0;
  /** The kept messages, from `items[head]`: numbers `count - kept + 1` to `count`. */
  private items: T[] = [];
  private head = 0;
  private bytes = 0;

  /** @param limit - Bytes to keep (strings count by length); 0 keeps nothing. */
  constructor(private readonly limit: number) {}

  /** Messages kept that the server has not confirmed. */
  get kept(): number {
    return this.items.length - this.head;
  }

  /** Numbers and keeps a message handed to the socket (bytes must be the client's own copy). */
  push(data: T): void {
    this.count += 1;
    this.items.push(data);
    this.bytes += data.length + OVERHEAD;
    while (this.bytes > this.limit && this.head < this.items.length) this.bytes -= this.items[this.head++]!.length + OVERHEAD;
    // Drop what was trimmed now and then, not on every message.
    if (this.head > 64 && this.head * 2 > this.items.length) this.trim();
  }

  /**
   * The server has received the first `received` messages of this seat: forgets them, and
   * renumbers so that the rest, sent again, are counted after them.
   * @returns the messages to send again, in order, and how many the server lacks that are no
   *   longer kept (lost: more than `limit` bytes were sent since the server last confirmed).
   */
  confirm(received: number): { again: T[]; lost: number } {
    const first = this.count - this.kept; // the last number no longer kept
    for (let n = first; n < received && this.head < this.items.length; n++) this.bytes -= this.items[this.head++]!.length + OVERHEAD;
    this.trim();
    this.count = received + this.kept;
    return { again: this.items.slice(), lost: Math.max(0, first - received) };
  }

  /** A new seat (or a server that confirms nothing): numbering starts over, nothing is kept. */
  reset(): void {
    this.count = this.head = this.bytes = 0;
    this.items = [];
  }

  private trim(): void {
    this.items = this.items.slice(this.head);
    this.head = 0;
  }
}
