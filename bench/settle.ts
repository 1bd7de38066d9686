// Waiting for a server's memory to settle, for the idle scenario. RSS right after a burst of
// allocation (process start, thousands of handshakes) is several MiB above where it ends up:
// V8 shrinks its young generation and runs its memory reducer only once allocation has stayed
// low for some seconds, and only at a GC. So RSS is polled, with a GC asked for now and then
// (`poke`) to give V8 those chances, until it has stopped moving for a while — bounded, rather
// than one blind long sleep.

export interface Settled {
  /** The last reading, in KiB. */
  readonly kib: number;
  /** False when `maxMs` passed before the readings agreed: the figure is then less sure. */
  readonly settled: boolean;
  readonly waitedMs: number;
}

export interface SettleOptions {
  /** Never settle before this long: V8 judges "idle" over seconds, not at once. */
  readonly minMs: number;
  /** How long the readings must agree. */
  readonly stableMs: number;
  readonly maxMs: number;
  readonly intervalMs?: number;
  /** How far apart (KiB) agreeing readings may be: allocator noise, not a trend. */
  readonly toleranceKiB?: number;
  /** Run every `everyMs` (first at once): here, a GC of the server's processes. */
  readonly poke?: { readonly everyMs: number; readonly run: () => void };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export async function settledKiB(read: () => number, options: SettleOptions): Promise<Settled> {
  const { minMs, stableMs, maxMs, intervalMs = 250, toleranceKiB = 256, poke } = options;
  const readings = Math.max(2, Math.ceil(stableMs / intervalMs) + 1);
  const started = performance.now();
  const recent: number[] = [];
  let lastPoke = -Infinity;
  for (;;) {
    const waitedMs = performance.now() - started;
    if (poke && waitedMs - lastPoke >= poke.everyMs) {
      poke.run();
      lastPoke = waitedMs;
    }
    recent.push(read());
    if (recent.length > readings) recent.shift();
    const agree = recent.length === readings && Math.max(...recent) - Math.min(...recent) <= toleranceKiB;
    if ((agree && waitedMs >= minMs) || waitedMs >= maxMs) return { kib: recent.at(-1), settled: agree, waitedMs };
    await sleep(intervalMs);
  }
}
