/**
 * When each changed room is saved: at its own random point of the snapshot interval, rounded
 * up to a shared tick. Rooms that come due on one tick are saved together, so their snapshots
 * share a crossing to the WASM pool and their writes share one batch of the writer thread —
 * one wake-up, one directory fsync, one answer for the group instead of one per room. One
 * timer serves every room (not one each).
 *
 * The saves of a tick still run a few at a time (the keeper's save slots): a tick never
 * snapshots all its rooms in one turn.
 * @module
 */

/** Ticks per snapshot interval: rooms fall due on one of these points, not anywhere. */
const TICKS_PER_INTERVAL = 10;
/**
 * A room falls due in the last fifth of the interval after its first unsaved change: the
 * interval bounds what a crash loses, and saving earlier than needed costs CPU for nothing;
 * the fifth still spreads rooms changed at one moment (a deploy's reconnects) over a second.
 */
const EARLIEST_FRACTION = 0.8;
/** The shortest tick (a tiny interval in tests must not spin the timer). */
const MIN_TICK_MS = 10;

/** Keys (rooms) with a save due, each with since when it has unsaved changes. */
export class SaveSchedule<K> {
  private readonly tickMs: number;
  /** Due keys by tick number (due time / tickMs). */
  private readonly buckets = new Map<number, Map<K, number>>();
  /** Each scheduled key's tick. */
  private readonly tickOf = new Map<K, number>();
  private timer: NodeJS.Timeout | undefined;
  /** The tick the timer is armed for. */
  private armedFor = Infinity;

  /**
   * @param intervalMs - A key added at `t` falls due by `t + intervalMs`.
   * @param due - Called once per key when its tick comes, with since when it had changes.
   */
  constructor(
    private readonly intervalMs: number,
    private readonly due: (key: K, since: number) => void,
  ) {
    this.tickMs = Math.max(MIN_TICK_MS, intervalMs / TICKS_PER_INTERVAL);
  }

  /** Whether `key` has a save scheduled. */
  has(key: K): boolean {
    return this.tickOf.has(key);
  }

  /** How many keys have a save scheduled. */
  get size(): number {
    return this.tickOf.size;
  }

  /**
   * Schedules `key` (unless it is already) at a random point of the interval's last fifth from
   * now, rounded up to a tick that is no later than the interval. Returns when it falls due
   * (`performance.now()` time), or `undefined` when it was scheduled already.
   */
  add(key: K, now = performance.now()): number | undefined {
    if (this.tickOf.has(key)) return undefined;
    const earliest = now + this.intervalMs * EARLIEST_FRACTION;
    const latest = now + this.intervalMs - this.tickMs;
    // An interval under five shortest ticks leaves no room to choose: the last tick within it.
    const tick = latest < earliest ? Math.floor((now + this.intervalMs) / this.tickMs) : Math.ceil((earliest + Math.random() * (latest - earliest)) / this.tickMs);
    let bucket = this.buckets.get(tick);
    if (bucket === undefined) this.buckets.set(tick, (bucket = new Map<K, number>()));
    bucket.set(key, now);
    this.tickOf.set(key, tick);
    if (tick < this.armedFor) this.arm(tick);
    return tick * this.tickMs;
  }

  /** Unschedules `key`; false when it was not scheduled. */
  delete(key: K): boolean {
    const tick = this.tickOf.get(key);
    if (tick === undefined) return false;
    this.tickOf.delete(key);
    const bucket = this.buckets.get(tick)!;
    bucket.delete(key);
    if (bucket.size === 0) this.buckets.delete(tick);
    if (this.tickOf.size === 0) this.disarm();
    return true;
  }

  /** Every scheduled key with since when it had changes. */
  *entries(): IterableIterator<[K, number]> {
    for (const bucket of this.buckets.values()) yield* bucket;
  }

  /** Unschedules every key. */
  clear(): void {
    this.buckets.clear();
    this.tickOf.clear();
    this.disarm();
  }

  private arm(tick: number): void {
    clearTimeout(this.timer);
    this.armedFor = tick;
    this.timer = setTimeout(() => this.fire(), Math.max(0, tick * this.tickMs - performance.now()));
    this.timer.unref();
  }

  private disarm(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.armedFor = Infinity;
  }

  /** Hands over every key whose tick has come, then arms the timer for the next tick with keys. */
  private fire(): void {
    this.timer = undefined;
    this.armedFor = Infinity;
    const now = performance.now();
    const come: Array<[K, number]> = [];
    let next = Infinity;
    for (const [tick, bucket] of this.buckets) {
      if (tick * this.tickMs > now) {
        next = Math.min(next, tick);
        continue;
      }
      this.buckets.delete(tick);
      for (const entry of bucket) {
        this.tickOf.delete(entry[0]);
        come.push(entry);
      }
    }
    if (next !== Infinity) this.arm(next);
    for (const [key, since] of come) this.due(key, since);
  }
}
