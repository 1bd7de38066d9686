/**
 * How many periodic saves run at once, and how many bytes of snapshots they hold. Enough at
 * once that the rooms due on one tick share the writer thread's batches and the WASM pool's
 * crossings; few enough bytes that snapshots waiting for the disk never hold much memory.
 * @module
 */

/** One save's place: its bytes are an estimate until {@link SaveSlot.holds} says. */
export interface SaveSlot {
  /** The snapshot is taken: it holds `bytes` (replacing the estimate it was admitted with). */
  holds(bytes: number): void;
  /** The save is done (written or failed): its place goes to the next. */
  release(): void;
}

/** Saves admitted first come, first served, within a count and a byte budget. */
export class SaveSlots {
  private running = 0;
  private bytes = 0;
  private readonly waiting: Array<{ readonly estimate: number; readonly admit: (slot: SaveSlot) => void }> = [];

  /**
   * @param maxRunning - Saves at once.
   * @param maxBytes - Snapshot bytes held at once: a save that would go past it waits, unless
   *   nothing runs (one room larger than the budget is still saved, alone).
   */
  constructor(
    private readonly maxRunning: number,
    private readonly maxBytes: number,
  ) {}

  /** A place for a save whose snapshot is expected to hold about `estimate` bytes. */
  acquire(estimate: number): Promise<SaveSlot> {
    return new Promise((admit) => {
      this.waiting.push({ estimate, admit });
      this.admitWaiting();
    });
  }

  private fits(estimate: number): boolean {
    return this.running === 0 || (this.running < this.maxRunning && this.bytes + estimate <= this.maxBytes);
  }

  private admitWaiting(): void {
    while (this.waiting.length > 0 && this.fits(this.waiting[0]!.estimate)) {
      const { estimate, admit } = this.waiting.shift()!;
      admit(this.open(estimate));
    }
  }

  private open(estimate: number): SaveSlot {
    let held = estimate;
    let released = false;
    this.running += 1;
    this.bytes += held;
    return {
      holds: (bytes) => {
        if (released) return;
        this.bytes += bytes - held;
        held = bytes;
        this.admitWaiting(); // smaller than its estimate: room for the next
      },
      release: () => {
        if (released) return;
        released = true;
        this.running -= 1;
        this.bytes -= held;
        this.admitWaiting();
      },
    };
  }
}
