/**
 * One sync shared by every caller that asks while none has started yet: what lets several
 * saves landing at once make their renames durable with one fsync of the directory instead of
 * one each. A caller's promise settles with a sync that *started after it asked*, so whatever
 * it did before asking is covered; callers that ask while a sync runs share the next one.
 * @module
 */
export class SharedSync {
  /** The sync running now. */
  private running: Promise<void> | undefined;
  /** The sync that starts once the running one ends, shared by everyone who asked meanwhile. */
  private next: Promise<void> | undefined;

  constructor(private readonly sync: () => Promise<void>) {}

  /** Resolves after a sync that started after this call; rejects with that sync's error. */
  request(): Promise<void> {
    if (this.running === undefined) return this.start();
    // Settled either way: a failed sync fails its own callers, not the next ones.
    this.next ??= this.running.then(
      () => this.start(),
      () => this.start(),
    );
    return this.next;
  }

  private start(): Promise<void> {
    this.next = undefined;
    const run = this.sync().finally(() => {
      if (this.running === run) this.running = undefined;
    });
    this.running = run;
    return run;
  }
}
