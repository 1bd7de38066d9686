/**
 * One sync shared by every caller that asks while none has started yet: what lets several
 * saves landing at once make their renames durable with one fsync of the directory instead of
 * one each. A caller's promise settles with a sync that *started after it asked*, so whatever
 * it did before asking is covered; callers that ask while a sync runs share the next one — or
 * fail with the running one, if it fails.
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
    // A failed sync fails the callers queued behind it too. On Linux a directory's writeback
    // error is reported to one descriptor only: the next sync, on a new one, could succeed
    // though the failed writeback held their renames. Failing them makes their saves retry.
    this.next ??= this.running.then(
      () => this.start(),
      (err: unknown) => {
        this.next = undefined;
        throw err;
      },
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
