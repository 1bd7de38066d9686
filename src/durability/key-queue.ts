/**
 * Operations on one key (a room id) run one at a time, in call order, while different keys
 * run side by side: what a store needs so that two writes of one room never interleave.
 * @module
 */
export class KeyQueue {
  /** The tail of each key's queue; a key leaves the map once its queue is empty. */
  private readonly tails = new Map<string, Promise<unknown>>();

  /** Runs `operation` after every operation on `key` called before it (whether they failed or not). */
  run<T>(key: string, operation: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const result = previous.then(operation, operation);
    const tail = result.catch(() => {});
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }

  /** Resolves once every operation on `key` called so far has finished (never rejects). */
  settled(key: string): Promise<void> {
    return (this.tails.get(key) ?? Promise.resolve()).then(() => undefined);
  }

  /** Resolves once every operation on every key has finished, those called meanwhile included (never rejects). */
  async idle(): Promise<void> {
    while (this.tails.size > 0) await Promise.all(this.tails.values());
  }
}
