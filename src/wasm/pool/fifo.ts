/**
 * A first-in first-out queue with O(1) shift and indexed access from the head: the calls a
 * worker thread has yet to answer, which it answers in order.
 * @module
 */
export class Fifo<T> {
  private items: T[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
  }

  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head++];
    // Drop the taken prefix now and then, so a queue that never empties does not grow.
    if (this.head >= 1_024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  /** The item `index` places from the head (0 is the next to shift). */
  at(index: number): T | undefined {
    return index < 0 ? undefined : this.items[this.head + index];
  }

  clear(): void {
    this.items = [];
    this.head = 0;
  }
}
