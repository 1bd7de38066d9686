// Waiting for a server's memory to settle, for the idle scenario: RSS right after the last
// connection opened still moves (pending handshakes, lazily touched pages, a GC), so it is
// polled until it stops moving rather than read once or after a blind long sleep.

export interface Settled {
  /** The last reading, in KiB. */
  readonly kib: number;
  /** False when `maxMs` passed before the readings agreed: the figure is then less sure. */
  readonly settled: boolean;
  readonly waitedMs: number;
}

export interface SettleOptions {
  readonly intervalMs?: number;
  /** How many consecutive readings must agree. */
  readonly readings?: number;
  /** How far apart (KiB) agreeing readings may be: a few pages of allocator noise. */
  readonly toleranceKiB?: number;
  readonly maxMs?: number;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `read` until `readings` consecutive values lie within `toleranceKiB`, or `maxMs` passes. */
export async function settledKiB(read: () => number, options: SettleOptions = {}): Promise<Settled> {
  const { intervalMs = 100, readings = 5, toleranceKiB = 128, maxMs = 5_000 } = options;
  const started = performance.now();
  const recent: number[] = [];
  for (;;) {
    recent.push(read());
    if (recent.length > readings) recent.shift();
    const waitedMs = performance.now() - started;
    const agree = recent.length === readings && Math.max(...recent) - Math.min(...recent) <= toleranceKiB;
    if (agree || waitedMs >= maxMs) return { kib: recent.at(-1)!, settled: agree, waitedMs };
    await sleep(intervalMs);
  }
}
