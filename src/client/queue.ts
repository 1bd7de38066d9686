/**
 * The bounded queue that holds what the application sends while the client is not
 * connected, until the next connection opens.
 * @module
 */

/** A first-in first-out queue of at most `limit` items: pushing onto a full one drops the oldest. */
export class Queue<T> {
  private items: T[] = [];

  constructor(private readonly limit: number) {}

  get size(): number {
    return this.items.length;
  }

  /** Adds `item`; returns the item dropped to make room (the oldest, or `item` itself when `limit` is 0). */
  push(item: T): T | undefined {
    this.items.push(item);
    return this.items.length > this.limit ? this.items.shift() : undefined;
  }

  /** Removes and returns every item, oldest first. */
  drain(): T[] {
    return this.items.splice(0);
  }
}
