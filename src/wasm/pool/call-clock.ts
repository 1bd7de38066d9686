/**
 * Which guest call a worker thread is running, and since when, in memory both threads
 * share: the worker stamps each call's start and end (two stores, no message, no syscall),
 * and the server thread's watchdog reads them to tell a call that runs too long from a
 * worker that is merely busy with many short ones.
 * @module
 */

const SEQ = 0;
const RUNNING = 1;
const STARTED = 0; // in the Float64 view, which covers bytes 8..16
const BYTES = 16;

/**
 * How far this thread's `performance.now()` (which counts from the thread's own start) is
 * behind the monotonic clock every thread of the process shares, in ms. Read from pairs of
 * clock reads taken back to back, keeping the pair with the least time between its bracketing
 * reads: a thread preempted between two reads (a loaded machine starting a worker) would
 * otherwise be off by as long as it waited, and the watchdog, comparing a start stamped on one
 * thread with a time read on another, would cut a call off that much early.
 */
function offsetToSharedClockMs(): number {
  let bestGap = Infinity;
  let offset = 0;
  for (let i = 0; i < 9; i++) {
    const before = process.hrtime.bigint();
    const now = performance.now();
    const after = process.hrtime.bigint();
    const gap = after - before;
    if (Number(gap) < bestGap) {
      bestGap = Number(gap);
      offset = Number(before + gap / 2n) / 1e6 - now;
    }
  }
  return offset;
}

const offsetMs = offsetToSharedClockMs();
/** Milliseconds on the monotonic clock every thread of the process shares. */
const monotonicMs = (): number => performance.now() + offsetMs;

/** The call a worker runs: its sequence number (calls are numbered from 1, in order) and how long it has run. */
export interface RunningCall {
  readonly seq: number;
  readonly ranMs: number;
}

export class CallClock {
  private readonly ints: Int32Array;
  private readonly times: Float64Array;

  /** Pass the same `shared` buffer to the clock on each side. */
  constructor(readonly shared: SharedArrayBuffer = new SharedArrayBuffer(BYTES)) {
    this.ints = new Int32Array(shared, 0, 2);
    this.times = new Float64Array(shared, 8, 1);
  }

  /** Worker side: call number `seq` starts now. */
  begin(seq: number): void {
    this.times[STARTED] = monotonicMs();
    // Stored after the time, so a reader that sees this seq also sees its start.
    Atomics.store(this.ints, SEQ, seq);
    Atomics.store(this.ints, RUNNING, 1);
  }

  /** Worker side: the call returned (or threw). */
  end(): void {
    Atomics.store(this.ints, RUNNING, 0);
  }

  /** Server side: the call running now, if any. */
  running(): RunningCall | undefined {
    if (Atomics.load(this.ints, RUNNING) === 0) return undefined;
    const seq = Atomics.load(this.ints, SEQ);
    const started = this.times[STARTED]!;
    // A call that began between the two loads has a newer seq and start: read again next time.
    if (Atomics.load(this.ints, SEQ) !== seq) return undefined;
    return { seq, ranMs: Math.max(0, monotonicMs() - started) };
  }
}

/**
 * How far call number `seq` (as the clock stores it: an int32, which wraps after 2^31 calls)
 * is behind the oldest call not yet answered, when `answered` calls were (a count that does
 * not wrap): 0 for that oldest call, negative for one already answered.
 */
export function callsAfterOldest(seq: number, answered: number): number {
  return (seq - answered - 1) | 0;
}
